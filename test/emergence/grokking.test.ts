import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inductionBatch, modularAdditionDataset, TokenDataError } from '../../src/emergence/grokking.ts';
import { Rng } from '../../src/emergence/rng.ts';

test('modular addition: all p² pairs exactly once, disjoint train/test, Nanda token format', () => {
  const p = 97;
  const d = modularAdditionDataset({ p, trainFraction: 0.3, seed: 1 });
  assert.equal(d.vocabSize, 98);
  assert.equal(d.eqToken, 97);
  assert.equal(d.train.n, Math.round(0.3 * p * p));
  assert.equal(d.train.n + d.test.n, p * p);
  const seen = new Set<number>();
  for (const s of [d.train, d.test]) {
    for (let i = 0; i < s.n; i++) {
      const a = s.inputs[3 * i]!, b = s.inputs[3 * i + 1]!;
      assert.equal(s.inputs[3 * i + 2], p);
      assert.equal(s.labels[i], (a + b) % p);
      assert.equal(s.targets[3 * i], -1);
      assert.equal(s.targets[3 * i + 1], -1);
      assert.equal(s.targets[3 * i + 2], s.labels[i]);
      const key = a * p + b;
      assert.ok(!seen.has(key), `pair ${a},${b} twice`);
      seen.add(key);
    }
  }
  assert.equal(seen.size, p * p);
});

test('modular dataset: seeded split is deterministic and differs across seeds; other ops', () => {
  const a = modularAdditionDataset({ p: 13, seed: 5 }), b = modularAdditionDataset({ p: 13, seed: 5 }), c = modularAdditionDataset({ p: 13, seed: 6 });
  assert.deepEqual(a.train.inputs, b.train.inputs);
  assert.notDeepEqual(a.train.inputs, c.train.inputs);
  assert.equal(a.p, 13);
  assert.equal(modularAdditionDataset().p, 113);
  const sub = modularAdditionDataset({ p: 11, op: 'sub', trainFraction: 0.5 });
  for (let i = 0; i < sub.train.n; i++) {
    const x = sub.train.inputs[3 * i]!, y = sub.train.inputs[3 * i + 1]!;
    assert.equal(sub.train.labels[i], (((x - y) % 11) + 11) % 11);
  }
  const mul = modularAdditionDataset({ p: 11, op: 'mul', trainFraction: 0.5 });
  for (let i = 0; i < mul.test.n; i++) assert.equal(mul.test.labels[i], (mul.test.inputs[3 * i]! * mul.test.inputs[3 * i + 1]!) % 11);
  assert.throws(() => modularAdditionDataset({ p: 1 }), TokenDataError);
  assert.throws(() => modularAdditionDataset({ trainFraction: 1 }), /trainFraction/);
});

test('induction batch: second half repeats the first; targets only where induction predicts', () => {
  const L = 7;
  const { inputs, targets, seqLen } = inductionBatch({ vocabSize: 50, halfLength: L, batch: 4, rng: new Rng(1), minToken: 1 });
  assert.equal(seqLen, 14);
  for (let r = 0; r < 4; r++) {
    for (let i = 0; i < L; i++) {
      assert.equal(inputs[r * 14 + i], inputs[r * 14 + L + i]);
      assert.ok(inputs[r * 14 + i]! >= 1 && inputs[r * 14 + i]! < 50);
    }
    for (let t = 0; t < 14; t++) {
      const want = t >= L && t < 13 ? inputs[r * 14 + t + 1] : -1;
      assert.equal(targets[r * 14 + t], want, `row ${r} pos ${t}`);
    }
  }
});
