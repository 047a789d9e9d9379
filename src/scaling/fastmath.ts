/**
 * A table-driven exp for the inner loop of the 4500-start Chinchilla fit, where V8's Math.exp call
 * dominates the cost. Accuracy: relative error below 4e-16 over [−700, 700] (tested against Math.exp
 * in test/scaling/fastmath.test.ts); outside that range it defers to Math.exp.
 *
 * exp(x) = 2^q · 2^(j/64) · exp(r) with k = rint(x·64/ln2), q = ⌊k/64⌋, j = k mod 64,
 * r = x − k·ln2/64 (Cody–Waite two-part reduction, |r| ≤ ln2/128), exp(r) by a degree-6 Taylor
 * polynomial (truncation error < r⁷/5040 ≈ 3e-20).
 */

const N = 64;
const INV_L = N / Math.LN2;
// ln2/64 in two parts (fdlibm's ln2_hi / ln2_lo divided by 64): ln2_hi has 21 trailing zero bits, so
// k·L_HI is exact for |k| < 2^21
const L_HI = 6.93147180369123816490e-1 / N;
const L_LO = 1.90821492927058770002e-10 / N;

/** 2^(j/64), j = 0..63, correctly rounded via Math.pow. */
const T = new Float64Array(N);
for (let j = 0; j < N; j++) T[j] = 2 ** (j / N);
/** 2^q for q = −1100..1100, offset 1100 (exact powers of two, subnormals included). */
const P2_OFF = 1100;
const P2 = new Float64Array(2 * P2_OFF + 1);
for (let q = -P2_OFF; q <= P2_OFF; q++) P2[q + P2_OFF] = 2 ** q;

/** 1.5·2^52: adding and subtracting it rounds a double of magnitude < 2^51 to the nearest integer. */
const SHIFT = 6755399441055744.0;

export function fastExp(x: number): number {
  if (!(x > -700 && x < 700)) return Math.exp(x);
  const kd = x * INV_L + SHIFT - SHIFT;
  const r = x - kd * L_HI - kd * L_LO;
  const k = kd | 0;
  const j = k & (N - 1);
  const q = (k - j) >> 6;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  return P2[q + P2_OFF]! * T[j]! * p;
}
