import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MarkovSource } from '../../src/data/synthetic.ts';
import { Rng } from '../../src/data/rng.ts';

const H2 = (p: number) => (p <= 0 || p >= 1 ? 0 : -p * Math.log2(p) - (1 - p) * Math.log2(1 - p));

test('first-order binary chain: entropy rate and stationary law match the closed form', () => {
  for (const seed of [1, 2, 3]) {
    const src = new MarkovSource({ order: 1, alphabet: ['0', '1'], concentration: 0.7 }, new Rng(seed));
    const p = src.P[1]!; // P(0 → 1)
    const q = src.P[2]!; // P(1 → 0)
    const pi0 = q / (p + q);
    assert.ok(Math.abs(src.stationary[0]! - pi0) < 1e-12);
    const h = pi0 * H2(p) + (1 - pi0) * H2(q);
    assert.ok(Math.abs(src.entropyRateBits - h) < 1e-12, `${src.entropyRateBits} vs ${h}`);
    assert.ok(Math.abs(src.initialEntropyBits - H2(pi0)) < 1e-12);
  }
});

test('higher order: π is stationary and the realised surprisal per symbol converges to the entropy rate', () => {
  const src = new MarkovSource({ order: 2, alphabet: ['a', 'b', 'c', 'd'], concentration: 0.5 }, new Rng(7));
  const A = 4, S = 16;
  // Balance: π(s') = Σ_s π(s) P(s → x) for s' = (s·A + x) mod S.
  const next = new Float64Array(S);
  for (let s = 0; s < S; s++) for (let x = 0; x < A; x++) next[(s * A + x) % S]! += src.stationary[s]! * src.P[s * A + x]!;
  for (let s = 0; s < S; s++) assert.ok(Math.abs(next[s]! - src.stationary[s]!) < 1e-12);
  // Empirical check (law of large numbers): 100 documents of 4000 symbols.
  const rng = new Rng(8);
  let bits = 0, n = 0;
  for (let d = 0; d < 100; d++) {
    const doc = src.generate(rng, 4000);
    bits += doc.surprisalBits;
    n += 4000;
    // Surprisal recomputed independently from the table.
    if (d === 0) {
      let b = -Math.log2(src.stationary[doc.symbols[0]! * A + doc.symbols[1]!]!);
      for (let i = 2; i < doc.symbols.length; i++) b -= Math.log2(src.P[(doc.symbols[i - 2]! * A + doc.symbols[i - 1]!) * A + doc.symbols[i]!]!);
      assert.ok(Math.abs(b - doc.surprisalBits) < 1e-6);
    }
  }
  const perSymbol = bits / n;
  const expected = src.expectedDocBits(4000) / 4000;
  assert.ok(Math.abs(perSymbol - expected) / expected < 0.01, `${perSymbol} vs ${expected}`);
  assert.ok(Math.abs(expected - src.entropyRateBits) < 0.01);
});

test('order 0 with a huge concentration is uniform: log2(A) bits', () => {
  const src = new MarkovSource({ order: 0, alphabet: [...'abcdefgh'], concentration: 1e7 }, new Rng(1));
  assert.ok(Math.abs(src.entropyRateBits - 3) < 1e-4);
  assert.equal(src.initialEntropyBits, 0);
  const doc = src.generate(new Rng(2), 10);
  assert.equal(doc.symbols.length, 10);
});

test('deterministic given the rng; bad parameters rejected', () => {
  const a = new MarkovSource({ order: 2, alphabet: ['x', 'y', 'z'], concentration: 0.3 }, new Rng(5));
  const b = new MarkovSource({ order: 2, alphabet: ['x', 'y', 'z'], concentration: 0.3 }, new Rng(5));
  assert.deepEqual(a.P, b.P);
  assert.deepEqual(a.generate(new Rng(9), 50).symbols, b.generate(new Rng(9), 50).symbols);
  assert.throws(() => new MarkovSource({ order: 1, alphabet: ['x'], concentration: 1 }, new Rng(1)), /at least 2/);
  assert.throws(() => new MarkovSource({ order: 12, alphabet: [...'abcdefgh'], concentration: 1 }, new Rng(1)), /table entries/);
  assert.throws(() => a.generate(new Rng(1), 1), /shorter than the order/);
});
