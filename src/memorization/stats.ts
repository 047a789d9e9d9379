/** Special functions used by the memorization analyses (normal CDF in log space, log-gamma). */

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** log erfc(y) for y ≥ 0, accurate in relative terms far into the tail. */
function logErfcPos(y: number): number {
  if (y < 2) {
    // erf(y) = 2/√π · e^{−y²} · Σ_{k≥0} 2^k y^{2k+1} / (1·3·…·(2k+1))  (all terms positive: no cancellation)
    let term = y;
    let sum = y;
    for (let k = 1; k < 200; k++) {
      term *= (2 * y * y) / (2 * k + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-y * y) * sum;
    return Math.log1p(-erf);
  }
  // continued fraction erfc(y) = e^{−y²}/√π · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + …)))) by modified Lentz
  const tiny = 1e-300;
  let f = y;
  let C = y;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = y + a * D;
    D = Math.abs(D) < tiny ? 1 / tiny : 1 / D;
    C = y + a / C;
    if (Math.abs(C) < tiny) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -y * y - LOG_SQRT_PI - Math.log(f);
}

/** log Φ(x) of the standard normal, accurate for very negative x. */
export function logNormCdf(x: number): number {
  if (x === Infinity) return 0;
  if (x === -Infinity) return -Infinity;
  if (x < 0) return Math.log(0.5) + logErfcPos(-x / SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfcPos(x / SQRT2)));
}

/** Φ(x), the standard normal CDF. */
export function normCdf(x: number): number {
  return x < 0 ? Math.exp(logNormCdf(x)) : 1 - 0.5 * Math.exp(logErfcPos(x / SQRT2));
}

/** log φ(x), the standard normal log density. */
export function logNormPdf(x: number): number {
  return -0.5 * x * x - LOG_SQRT_2PI;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7; ~1e-15 relative). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return LOG_SQRT_2PI + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}
