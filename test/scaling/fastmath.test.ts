import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastExp } from '../../src/scaling/fastmath.ts';
import { Rng } from '../../src/scaling/rng.ts';

test('fastExp agrees with Math.exp to < 4.5e-16 relative over [-700, 700]', () => {
  const rng = new Rng(1);
  let worst = 0;
  for (let i = 0; i < 400000; i++) {
    const x = (rng.next() * 2 - 1) * (i % 3 === 0 ? 700 : i % 3 === 1 ? 40 : 1);
    const e = Math.abs(fastExp(x) - Math.exp(x)) / Math.exp(x);
    if (e > worst) worst = e;
  }
  assert.ok(worst < 4.5e-16, `worst relative error ${worst}`);
  for (const x of [0, 1, -1, Math.LN2, 64 * Math.LN2, -745.2, 709.5, -Infinity, Infinity]) {
    const a = fastExp(x);
    const b = Math.exp(x);
    assert.ok(a === b || Math.abs(a - b) / b < 4.5e-16, `x=${x}: ${a} vs ${b}`);
  }
  assert.ok(Number.isNaN(fastExp(NaN)));
});

test('Rng: deterministic, uniform ints without bias in a chi-square sense', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
  const r = new Rng(7);
  const k = 10;
  const counts = new Array(k).fill(0);
  const n = 100000;
  for (let i = 0; i < n; i++) counts[r.int(k)]++;
  const chi2 = counts.reduce((s, c) => s + (c - n / k) ** 2 / (n / k), 0);
  assert.ok(chi2 < 27.9, `chi2 = ${chi2} (9 dof, p = 0.001 critical value 27.9)`);
  let m = 0;
  for (let i = 0; i < n; i++) m += r.next();
  assert.ok(Math.abs(m / n - 0.5) < 0.005);
});
