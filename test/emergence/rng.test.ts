import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash32, hashUnit, normal, randInt, randRange, Rng, sample, shuffle, uniform } from '../../src/emergence/rng.ts';

test('sfc32 matches an independent BigInt implementation of the reference algorithm', () => {
  // reference sfc32 written with BigInt arithmetic mod 2^32, seeded with the same state words
  const r = new Rng(12345);
  const st = r.getState().s.map(BigInt);
  let [a, b, c, d] = st as [bigint, bigint, bigint, bigint];
  const M = 0xffffffffn;
  const ref = (): number => {
    const t = (a + b + d) & M;
    d = (d + 1n) & M;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & M;
    c = ((c << 21n) | (c >> 11n)) & M;
    c = (c + t) & M;
    return Number(t);
  };
  for (let i = 0; i < 1000; i++) assert.equal(r.nextU32(), ref());
});

test('seeding: deterministic, distinct seeds differ, strings accepted, state round-trips', () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8), s = new Rng('seed'), s2 = new Rng('seed');
  const xs = Array.from({ length: 20 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 20 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 20 }, () => c.nextU32()), xs);
  assert.equal(s.nextU32(), s2.nextU32());
  const st = a.getState();
  const next = Array.from({ length: 10 }, () => a.nextU32());
  const restored = new Rng(st);
  assert.deepEqual(Array.from({ length: 10 }, () => restored.nextU32()), next);
  assert.throws(() => new Rng(NaN), /finite/);
});

test('randInt is unbiased (chi-square over 7 bins) and within range', () => {
  const r = new Rng(1);
  const k = 7, n = 70000;
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) {
    const v = randInt(r, k);
    assert.ok(v >= 0 && v < k);
    counts[v]++;
  }
  const e = n / k;
  const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 22.5, `chi2 = ${chi2} (6 dof, p=0.001 critical 22.46)`);
  for (let i = 0; i < 1000; i++) {
    const v = randRange(r, -3, 3);
    assert.ok(v >= -3 && v <= 3 && Number.isInteger(v));
  }
});

test('uniform in [0,1) with mean 1/2; normal has mean 0, variance 1', () => {
  const r = new Rng(3);
  let s = 0, s2 = 0, m = 0;
  const n = 50000;
  for (let i = 0; i < n; i++) {
    const u = uniform(r);
    assert.ok(u >= 0 && u < 1);
    m += u;
    const z = normal(r);
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(m / n - 0.5) < 0.01);
  assert.ok(Math.abs(s / n) < 0.02);
  assert.ok(Math.abs(s2 / n - 1) < 0.03);
});

test('shuffle is a permutation; sample draws distinct elements', () => {
  const r = new Rng(4);
  const a = shuffle(r, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a.slice().sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  const s = sample(r, ['a', 'b', 'c', 'd', 'e'], 3);
  assert.equal(new Set(s).size, 3);
  assert.throws(() => sample(r, [1, 2], 3), /cannot draw/);
});

test('hash32 is FNV-1a + fmix32 (known FNV-1a value), hashUnit in [0,1)', () => {
  // FNV-1a 32 of "a" is 0xe40c292c; apply the murmur3 finalizer independently
  let h = 0xe40c292c;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  assert.equal(hash32('a'), h >>> 0);
  const u = hashUnit('hello');
  assert.ok(u >= 0 && u < 1);
});

test('generators with u32() (src/data/rng.ts style) drive the tasks like nextU32() ones', async () => {
  const { getTask } = await import('../../src/emergence/tasks/index.ts');
  const { toRandomSource } = await import('../../src/emergence/rng.ts');
  const a = new Rng(5), b = new Rng(5);
  const wrapped = { u32: () => b.nextU32() };
  const ea = getTask('addition').generate(a, 'eval', 5);
  const eb = getTask('addition').generate(wrapped, 'eval', 5);
  assert.deepEqual(ea, eb);
  assert.throws(() => toRandomSource({} as never), /nextU32\(\) or u32\(\)/);
});
