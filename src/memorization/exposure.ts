/**
 * Canary exposure (Carlini et al. 2019, "The Secret Sharer").
 *
 * exposure = log2 |R| − log2 rank(canary), where rank 1 is the candidate the model finds most likely (lowest
 * score, e.g. log-perplexity) among the |R| candidates of the canary's format. When R can be enumerated the rank
 * is exact; otherwise exposure ≈ −log2 F(score(canary)), where F is the CDF of candidate scores, estimated by
 * fitting a skew-normal distribution to the scores of sampled candidates (Carlini et al. §4.3).
 */
import { logAddExp, logNormCdf, logNormPdf } from './stats.ts';

export class ExposureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExposureError';
  }
}

/** How ties with the canary's score count towards its rank. */
export type TieRule = 'optimistic' | 'pessimistic' | 'mid';

/** exposure = log2(size) − log2(rank), rank in [1, size]. */
export function exposureFromRank(rank: number, size: number): number {
  if (!(size >= 1)) throw new ExposureError(`candidate space size must be ≥ 1, got ${size}`);
  if (!(rank >= 1 && rank <= size)) throw new ExposureError(`rank must lie in [1, ${size}], got ${rank}`);
  return Math.log2(size) - Math.log2(rank);
}

/**
 * Rank of a canary score among candidate scores (lower score = more likely = better rank). The candidates
 * must include the canary itself. 'optimistic' (default): 1 + #(strictly lower); 'pessimistic':
 * #(lower or equal); 'mid': the average of the two.
 */
export function rankOf(canaryScore: number, scores: Iterable<number>, ties: TieRule = 'optimistic'): number {
  let lower = 0, equal = 0;
  for (const s of scores) { if (s < canaryScore) lower++; else if (s === canaryScore) equal++; }
  if (equal === 0) throw new ExposureError('the candidate scores must include the canary\'s own score');
  return ties === 'optimistic' ? lower + 1 : ties === 'pessimistic' ? lower + equal : lower + (1 + equal) / 2;
}

export interface ExactExposureInput {
  /** |R|: candidates are indexed 0..size−1 (e.g. every 9-digit number for "my PIN is ___"). */
  size: number;
  /** Score of candidate i (lower = more likely; typically log-perplexity of the filled-in format). */
  score: (i: number) => number;
  /** Index of the inserted canary. */
  canaryIndex: number;
  ties?: TieRule;
}

/** Exact exposure by enumerating and scoring the whole candidate space. Cost: `size` calls of `score`. */
export function exposureExact(inp: ExactExposureInput): { rank: number; exposure: number; canaryScore: number } {
  const { size, score, canaryIndex } = inp;
  if (!Number.isInteger(size) || size < 1) throw new ExposureError(`size must be a positive integer, got ${size}`);
  if (!Number.isInteger(canaryIndex) || canaryIndex < 0 || canaryIndex >= size) throw new ExposureError(`canaryIndex ${canaryIndex} is outside [0, ${size})`);
  const canaryScore = score(canaryIndex);
  let lower = 0, equal = 0;
  for (let i = 0; i < size; i++) {
    const s = i === canaryIndex ? canaryScore : score(i);
    if (s < canaryScore) lower++; else if (s === canaryScore) equal++;
  }
  const ties = inp.ties ?? 'optimistic';
  const rank = ties === 'optimistic' ? lower + 1 : ties === 'pessimistic' ? lower + equal : lower + (1 + equal) / 2;
  return { rank, exposure: exposureFromRank(rank, size), canaryScore };
}

/** Skew-normal SN(ξ, ω, α): density 2/ω · φ(z) · Φ(αz), z = (x − ξ)/ω. */
export interface SkewNormal { xi: number; omega: number; alpha: number }

export function skewNormalLogPdf(x: number, d: SkewNormal): number {
  const z = (x - d.xi) / d.omega;
  return Math.LN2 - Math.log(d.omega) + logNormPdf(z) + logNormCdf(d.alpha * z);
}

export function skewNormalPdf(x: number, d: SkewNormal): number {
  return Math.exp(skewNormalLogPdf(x, d));
}

// 16-point Gauss–Legendre nodes and weights on [−1, 1]
const GL_X = [0.0950125098376374, 0.2816035507792589, 0.4580167776572274, 0.6178762444026438, 0.7554044083550030, 0.8656312023878318, 0.9445750230732326, 0.9894009349916499];
const GL_W = [0.1894506104550685, 0.1826034150449236, 0.1691565193950025, 0.1495959888165767, 0.1246289712555339, 0.0951585116824928, 0.0622535239386479, 0.0271524594117541];

/** log ∫ of the standardised density over the half-line beyond z (dir = −1: (−∞, z]; dir = +1: [z, ∞)). */
function logTail(z: number, alpha: number, dir: -1 | 1): number {
  const h = Math.min(0.25, 0.25 / Math.max(1, Math.abs(alpha)));
  const logf = (t: number) => Math.LN2 + logNormPdf(t) + logNormCdf(alpha * t);
  let acc = -Infinity;
  for (let k = 0; k < 200_000; k++) {
    const a = z + dir * k * h;
    const b = a + dir * h;
    const mid = (a + b) / 2;
    let panel = -Infinity;
    for (let g = 0; g < 8; g++) {
      panel = logAddExp(panel, Math.log((GL_W[g]! * h) / 2) + logf(mid - (GL_X[g]! * h) / 2));
      panel = logAddExp(panel, Math.log((GL_W[g]! * h) / 2) + logf(mid + (GL_X[g]! * h) / 2));
    }
    acc = logAddExp(acc, panel);
    // the density is unimodal: once it decreases in the direction of travel and the panels are negligible, stop
    if (k >= 4 && logf(b) <= logf(a) && (panel < acc - 45 || panel === -Infinity)) break;
  }
  return acc;
}

/** log CDF of the skew-normal, accurate deep into both tails (numerical integration in log space). */
export function skewNormalLogCdf(x: number, d: SkewNormal): number {
  if (!(d.omega > 0)) throw new ExposureError(`skew-normal scale omega must be positive, got ${d.omega}`);
  const z = (x - d.xi) / d.omega;
  if (z === -Infinity) return -Infinity;
  if (z === Infinity) return 0;
  if (z <= 0) {
    const left = logTail(z, d.alpha, -1);
    return left < Math.log(0.5) ? left : Math.log1p(-Math.exp(logTail(z, d.alpha, 1)));
  }
  const right = logTail(z, d.alpha, 1);
  return right < Math.log(0.5) ? Math.log1p(-Math.exp(right)) : logTail(z, d.alpha, -1);
}

export function skewNormalCdf(x: number, d: SkewNormal): number {
  return Math.exp(skewNormalLogCdf(x, d));
}

/** Largest |skewness| a skew-normal can have (α → ∞); moment fits clamp to just inside it. */
export const SKEWNORMAL_MAX_SKEW = 0.9952717464311565;

function moments(xs: ArrayLike<number>): { mean: number; variance: number; skew: number } {
  const n = xs.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i]!;
  m /= n;
  let m2 = 0, m3 = 0;
  for (let i = 0; i < n; i++) { const d = xs[i]! - m; m2 += d * d; m3 += d * d * d; }
  m2 /= n; m3 /= n;
  return { mean: m, variance: (m2 * n) / (n - 1), skew: m2 > 0 ? m3 / Math.pow(m2, 1.5) : 0 };
}

/** Method-of-moments skew-normal fit (sample skewness clamped to ±0.99). */
export function fitSkewNormalMoments(xs: ArrayLike<number>): SkewNormal {
  if (xs.length < 3) throw new ExposureError(`skew-normal fit needs at least 3 samples, got ${xs.length}`);
  const { mean, variance, skew } = moments(xs);
  if (!(variance > 0)) throw new ExposureError('skew-normal fit: the sampled scores have zero variance');
  const g = Math.max(-0.99, Math.min(0.99, skew));
  const g23 = Math.pow(Math.abs(g), 2 / 3);
  const c = Math.pow((4 - Math.PI) / 2, 2 / 3);
  const delta = Math.sign(g) * Math.sqrt((Math.PI / 2) * g23 / (g23 + c));
  const alpha = delta / Math.sqrt(1 - delta * delta);
  const omega = Math.sqrt(variance / (1 - (2 * delta * delta) / Math.PI));
  const xi = mean - omega * delta * Math.sqrt(2 / Math.PI);
  return { xi, omega, alpha };
}

/** Maximum-likelihood skew-normal fit (Nelder–Mead on ξ, log ω, α, started from the moment fit). */
export function fitSkewNormalMLE(xs: ArrayLike<number>, opts: { maxIter?: number; tol?: number } = {}): SkewNormal {
  const start = fitSkewNormalMoments(xs);
  const nll = (v: number[]): number => {
    const d: SkewNormal = { xi: v[0]!, omega: Math.exp(v[1]!), alpha: v[2]! };
    let s = 0;
    for (let i = 0; i < xs.length; i++) s -= skewNormalLogPdf(xs[i]!, d);
    return Number.isFinite(s) ? s : Infinity;
  };
  const best = nelderMead(nll, [start.xi, Math.log(start.omega), start.alpha], [0.1 * start.omega, 0.1, 0.5], opts.maxIter ?? 2000, opts.tol ?? 1e-10);
  return { xi: best[0]!, omega: Math.exp(best[1]!), alpha: best[2]! };
}

function nelderMead(f: (v: number[]) => number, x0: number[], step: number[], maxIter: number, tol: number): number[] {
  const dim = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step[i]! : v)))];
  let vals = simplex.map(f);
  for (let it = 0; it < maxIter; it++) {
    const order = vals.map((v, i) => i).sort((a, b) => vals[a]! - vals[b]!);
    simplex = order.map((i) => simplex[i]!);
    vals = order.map((i) => vals[i]!);
    if (Math.abs(vals[dim]! - vals[0]!) <= tol * (Math.abs(vals[0]!) + tol)) break;
    const centroid = x0.map((_, j) => simplex.slice(0, dim).reduce((s, p) => s + p[j]!, 0) / dim);
    const at = (c: number) => centroid.map((v, j) => v + c * (simplex[dim]![j]! - v));
    const xr = at(-1); const fr = f(xr);
    if (fr < vals[0]!) {
      const xe = at(-2); const fe = f(xe);
      if (fe < fr) { simplex[dim] = xe; vals[dim] = fe; } else { simplex[dim] = xr; vals[dim] = fr; }
    } else if (fr < vals[dim - 1]!) {
      simplex[dim] = xr; vals[dim] = fr;
    } else {
      const xc = fr < vals[dim]! ? at(-0.5) : at(0.5);
      const fc = f(xc);
      if (fc < Math.min(fr, vals[dim]!)) { simplex[dim] = xc; vals[dim] = fc; }
      else {
        for (let i = 1; i <= dim; i++) { simplex[i] = simplex[i]!.map((v, j) => simplex[0]![j]! + 0.5 * (v - simplex[0]![j]!)); vals[i] = f(simplex[i]!); }
      }
    }
  }
  const iBest = vals.indexOf(Math.min(...vals));
  return simplex[iBest]!;
}

export interface EstimatedExposure {
  exposure: number;
  /** log2 of the estimated fraction of candidates scoring at most the canary. */
  log2Cdf: number;
  fit: SkewNormal;
  method: 'moments' | 'mle';
}

/**
 * Exposure estimated from sampled candidate scores: fit a skew-normal to the samples (drawn uniformly from R,
 * not including the canary), then exposure ≈ −log2 F(canaryScore). Capped below at 0 (F ≤ 1).
 */
export function exposureSkewNormal(canaryScore: number, sampleScores: ArrayLike<number>, opts: { method?: 'moments' | 'mle' } = {}): EstimatedExposure {
  const method = opts.method ?? 'mle';
  const fit = method === 'mle' ? fitSkewNormalMLE(sampleScores) : fitSkewNormalMoments(sampleScores);
  const lc = skewNormalLogCdf(canaryScore, fit);
  return { exposure: Math.max(0, -lc / Math.LN2), log2Cdf: lc / Math.LN2, fit, method };
}
