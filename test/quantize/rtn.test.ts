// Round-to-nearest asymmetric quantization against DOMAIN.md §5 and torch: Δ = (max − min)/(2^bits − 1),
// q = round((x − min)/Δ) with round half to even, x̂ = Δ·q + min. Expected values below were produced with
// torch 1.13 (float64): torch.round(t), and d = (mx − mn)/(2**bits − 1); q = torch.round((x − mn)/d).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuantizeError, quantStep, quantizeTensor, quantizeVector, roundHalfEven, unbiased } from '../../src/quantize/rtn.ts';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('round half to even matches torch.round', () => {
  const xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999, 2.5000001];
  const torch = [0, 2, 2, -0, -2, -2, 4, 0, 3];
  xs.forEach((x, i) => assert.equal(roundHalfEven(x) + 0, torch[i]! + 0, `round(${x})`));
  assert.equal(roundHalfEven(7), 7, 'integers unchanged');
});

test('quantization step and codes on small vectors (torch values)', () => {
  // exact halves: (2.5 − 0)/1 → 2, (3.5 − 0)/1 → 4
  let r = quantizeVector([0, 2.5, 3.5, 7], 3);
  assert.equal(r.step, 1, 'Δ = 7/7');
  assert.deepEqual([...r.q], [0, 2, 4, 7], 'codes with ties to even');
  assert.deepEqual([...r.xhat], [0, 2, 4, 7], 'x̂');
  r = quantizeVector([-1, 0, 0.5, 2], 2);
  assert.equal(r.step, 1, 'Δ = 3/3');
  assert.equal(r.min, -1, 'min');
  assert.deepEqual([...r.q], [0, 1, 2, 3], '1.5 → 2 (even)');
  assert.deepEqual([...r.xhat], [-1, 0, 1, 2], 'x̂');
  r = quantizeVector([-0.3, 0.1, 0.25, 0.9, -0.05, 0.4, 0.6, 0.0], 4);
  close(r.step, 0.08, 1e-15, 'Δ 4 bits');
  assert.deepEqual([...r.q], [0, 5, 7, 15, 3, 9, 11, 4], 'codes 4 bits');
  const xh = [-0.3, 0.10000000000000003, 0.26000000000000006, 0.8999999999999999, -0.06, 0.42, 0.5800000000000001, 0.020000000000000018];
  xh.forEach((v, i) => close(r.xhat[i]!, v, 1e-15, `x̂[${i}]`));
  const x = [0.12, -0.7, 0.33, 1.9, -0.05, 0.41, -0.26, 0.88, 0.07, -1.3, 0.5, 0.2];
  r = quantizeVector(x, 3);
  close(r.step, 0.4571428571428572, 1e-15, 'Δ 3 bits');
  assert.deepEqual([...r.q], [3, 1, 4, 7, 3, 4, 2, 5, 3, 0, 4, 3], 'codes 3 bits');
  close(quantStep(-1.3, 1.9, 8), 3.2 / 255, 1e-15, 'Δ 8 bits');
});

test('degenerate range: Δ = 0, x̂ = min; invalid bits are refused', () => {
  const r = quantizeVector([0.7, 0.7, 0.7], 4);
  assert.equal(r.step, 0, 'Δ');
  assert.deepEqual([...r.xhat], [0.7, 0.7, 0.7], 'x̂');
  assert.throws(() => quantStep(0, 1, 0), QuantizeError);
  assert.throws(() => quantizeTensor([1, 2], 1, 2, { bits: 2.5, block: 0 }), QuantizeError);
});

test('unbiased standard deviation (torch.std) for z-scores', () => {
  const x = [0.12, -0.7, 0.33, 1.9, -0.05, 0.41, -0.26, 0.88, 0.07, -1.3, 0.5, 0.2];
  const s = unbiased(x);
  close(s.mean, 0.17499999999999996, 1e-15, 'mean');
  close(s.std, 0.7893207666894826, 1e-14, 'torch.std (unbiased)');
});

/** Deterministic pseudo-random weights. */
function weights(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.5) * 0.2;
  }
  return out;
}

test('block-wise quantization equals quantizing each row block on its own (block not dividing the row)', () => {
  const rows = 3, cols = 10, block = 4, bits = 3;
  const w = weights(rows * cols);
  const r = quantizeTensor(w, rows, cols, { bits, block });
  assert.equal(r.blocks.length, rows * 3, 'blocks of 4, 4, 2 per row');
  let sse = 0;
  for (let row = 0; row < rows; row++)
    for (let s = 0; s < cols; s += block) {
      const a = row * cols + s, b = row * cols + Math.min(cols, s + block);
      const v = quantizeVector(w.subarray(a, b), bits);
      for (let i = a; i < b; i++) {
        close(r.xhat[i]!, v.xhat[i - a]!, 1e-6, `x̂[${i}]`);
        assert.equal(r.q[i], v.q[i - a], `q[${i}]`);
        sse += (v.xhat[i - a]! - w[i]!) ** 2;
      }
    }
  close(r.sse, sse, 1e-9, 'sum of squared errors');
  assert.equal(r.bits, rows * cols * bits + 32 * r.blocks.length, 'storage: codes + fp16 Δ and min per block');
  // per tensor: one block
  const t = quantizeTensor(w, rows, cols, { bits, block: 0 });
  assert.equal(t.blocks.length, 1, 'per-tensor has one block');
  const v = quantizeVector(w, bits);
  for (let i = 0; i < w.length; i++) close(t.xhat[i]!, v.xhat[i]!, 1e-6, `per-tensor x̂[${i}]`);
});

test('an outlier held out is excluded from the range and restored exactly', () => {
  const rows = 2, cols = 16;
  const w = weights(rows * cols, 7);
  w[5] = 3.25; // outlier in block 0 of row 0
  const naive = quantizeTensor(w, rows, cols, { bits: 4, block: 8 });
  const aware = quantizeTensor(w, rows, cols, { bits: 4, block: 8, holdOut: [5] });
  assert.equal(aware.xhat[5], w[5], 'outlier kept in full precision');
  assert.deepEqual(aware.heldOut, [5], 'held-out list');
  const others = [0, 1, 2, 3, 4, 6, 7].map((i) => w[i]!);
  const v = quantizeVector(others, 4);
  close(aware.blocks[0]!.step, v.step, 1e-7, 'Δ of the block without the outlier');
  [0, 1, 2, 3, 4, 6, 7].forEach((i, k) => close(aware.xhat[i]!, v.xhat[k]!, 1e-6, `x̂[${i}]`));
  assert.ok(naive.sse > 20 * aware.sse, `holding out the outlier cuts the error (naive ${naive.sse}, aware ${aware.sse})`);
  assert.equal(aware.bits, naive.bits + 64, 'a held-out entry costs 64 bits');
  // z-score outliers (unbiased std per block) find the same entry
  const z = quantizeTensor(w, rows, cols, { bits: 4, block: 8, zOutlier: 2.4 });
  assert.deepEqual(z.heldOut, [5], `|z| > 2.4 holds out the outlier only (got ${z.heldOut})`);
});

test('z-score clipping: range μ ± z·s with the unbiased std; clipping search never increases the error', () => {
  const w = weights(64, 3);
  w[10] = 1.5;
  const zc = quantizeTensor(w, 1, 64, { bits: 3, block: 0, clip: { kind: 'zscore', z: 2 } });
  const s = unbiased(Array.from(w));
  let lo = Infinity, hi = -Infinity;
  for (const x of w) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  close(zc.blocks[0]!.min, Math.max(lo, s.mean - 2 * s.std), 1e-7, 'clipped min');
  close(zc.blocks[0]!.step * 7 + zc.blocks[0]!.min, Math.min(hi, s.mean + 2 * s.std), 1e-7, 'clipped max');
  const naive = quantizeTensor(w, 1, 64, { bits: 3, block: 0 });
  const search = quantizeTensor(w, 1, 64, { bits: 3, block: 0, clip: { kind: 'search' } });
  assert.ok(search.sse <= naive.sse + 1e-12, `search ${search.sse} ≤ naive ${naive.sse}`);
  const only1 = quantizeTensor(w, 1, 64, { bits: 3, block: 0, clip: { kind: 'search', grid: [1] } });
  close(only1.sse, naive.sse, 1e-12, 'a grid of [1] is naive');
});
