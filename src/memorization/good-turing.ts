/**
 * Good-Turing estimation and extrapolation of the number of unique memorized sequences.
 *
 * - Missing mass (Good 1953): p0 = N1 / n, the probability that the next draw is a species never seen.
 * - Simple Good-Turing (Gale & Sampson 1995): Z_r = 2 n_r / (r_next − r_prev) (r_prev = 0 for the first row,
 *   r_next = 2r − r_prev for the last), least-squares fit log Z_r = a + b log r, r* from the Turing estimate
 *   (r+1) n_{r+1}/n_r until it is no longer significantly different (|x − y| ≤ CONF · sd) from the smoothed
 *   (r+1) S(r+1)/S(r), then the smoothed one for all larger r; probabilities renormalised to sum to 1 − P0.
 *   CONF = 1.96 as in Sampson's C code (default), 1.65 as in the paper's S code.
 * - Extrapolation (Nasr et al. 2023, Fig. 4 style): expected unique items after m ≥ n draws. See
 *   extrapolateUniques for the two methods and their assumptions.
 */
import { logGamma } from './stats.ts';

export class GoodTuringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoodTuringError';
  }
}

/** Frequency of frequencies: rows (r, n_r) sorted by r, from the count of each observed species. */
export function frequencyOfFrequencies(counts: Iterable<number>): { r: number[]; n: number[] } {
  const m = new Map<number, number>();
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 1) throw new GoodTuringError(`species count ${c} is not a positive integer`);
    m.set(c, (m.get(c) ?? 0) + 1);
  }
  const r = Array.from(m.keys()).sort((a, b) => a - b);
  return { r, n: r.map((x) => m.get(x)!) };
}

function checkTable(r: readonly number[], n: readonly number[]): void {
  if (r.length !== n.length) throw new GoodTuringError(`r has ${r.length} rows but n has ${n.length}`);
  if (r.length === 0) throw new GoodTuringError('empty frequency table');
  for (let i = 0; i < r.length; i++) {
    if (!Number.isInteger(r[i]) || r[i]! < 1) throw new GoodTuringError(`r[${i}] = ${r[i]} is not a positive integer`);
    if (!Number.isInteger(n[i]) || n[i]! < 1) throw new GoodTuringError(`n[${i}] = ${n[i]} is not a positive integer`);
    if (i > 0 && r[i]! <= r[i - 1]!) throw new GoodTuringError(`r must be strictly increasing (r[${i - 1}] = ${r[i - 1]}, r[${i}] = ${r[i]})`);
  }
}

/** Good-Turing missing mass p0 = N1 / n (n = total draws = Σ r n_r). */
export function missingMass(r: readonly number[], n: readonly number[]): number {
  checkTable(r, n);
  let N = 0;
  for (let i = 0; i < r.length; i++) N += r[i]! * n[i]!;
  const i1 = r.indexOf(1);
  return i1 < 0 ? 0 : n[i1]! / N;
}

export interface SgtOptions {
  /** Confidence factor for switching from Turing to smoothed estimates: 1.96 (default, Sampson's C) or 1.65. */
  conf?: number;
}

export interface SgtResult {
  /** Total draws N = Σ r n_r. */
  N: number;
  /** Estimated total probability of unseen species, N1/N. */
  P0: number;
  slope: number;
  intercept: number;
  conf: number;
  r: number[];
  n: number[];
  /** Adjusted counts r* before renormalisation. */
  rStar: number[];
  /** Probability of each single species seen r times (renormalised: P0 + Σ n_r p_r = 1). */
  p: number[];
  /** Renormalised adjusted counts p_r · N (Gale & Sampson's tables print these). */
  rStarRenormalised: number[];
  /** First r at which the smoothed estimate was used. */
  switchAt: number;
}

/** Simple Good-Turing (Gale & Sampson 1995), following Sampson's SGT.c. */
export function simpleGoodTuring(r: readonly number[], n: readonly number[], opts: SgtOptions = {}): SgtResult {
  checkTable(r, n);
  const conf = opts.conf ?? 1.96;
  if (!(conf > 0)) throw new GoodTuringError(`conf must be positive, got ${conf}`);
  const rows = r.length;
  if (rows < 2) throw new GoodTuringError('Simple Good-Turing needs at least two distinct frequencies to fit the log-log line');
  let N = 0;
  for (let j = 0; j < rows; j++) N += r[j]! * n[j]!;
  const row = new Map<number, number>();
  r.forEach((x, j) => row.set(x, j));
  const P0 = row.has(1) ? n[row.get(1)!]! / N : 0;

  const logR: number[] = [];
  const logZ: number[] = [];
  for (let j = 0; j < rows; j++) {
    const i = j === 0 ? 0 : r[j - 1]!;
    const k = j === rows - 1 ? 2 * r[j]! - i : r[j + 1]!;
    logR.push(Math.log(r[j]!));
    logZ.push(Math.log((2 * n[j]!) / (k - i)));
  }
  const mx = logR.reduce((a, b) => a + b, 0) / rows;
  const my = logZ.reduce((a, b) => a + b, 0) / rows;
  let xy = 0, xx = 0;
  for (let j = 0; j < rows; j++) { xy += (logR[j]! - mx) * (logZ[j]! - my); xx += (logR[j]! - mx) ** 2; }
  const slope = xy / xx;
  const intercept = my - slope * mx;
  const smoothed = (x: number) => Math.exp(intercept + slope * Math.log(x));

  const rStar: number[] = new Array(rows);
  let indiff = false;
  let switchAt = r[rows - 1]!;
  for (let j = 0; j < rows; j++) {
    const rj = r[j]!;
    const y = ((rj + 1) * smoothed(rj + 1)) / smoothed(rj);
    if (!row.has(rj + 1)) { if (!indiff) switchAt = rj; indiff = true; }
    if (!indiff) {
      const nextN = n[row.get(rj + 1)!]!;
      const nj = n[j]!;
      const x = ((rj + 1) * nextN) / nj;
      const sd = Math.sqrt(((rj + 1) ** 2 * nextN) / (nj * nj) * (1 + nextN / nj));
      if (Math.abs(x - y) <= conf * sd) { indiff = true; switchAt = rj; }
      else rStar[j] = x;
    }
    if (indiff) rStar[j] = y;
  }
  let Nprime = 0;
  for (let j = 0; j < rows; j++) Nprime += n[j]! * rStar[j]!;
  const p = rStar.map((x) => ((1 - P0) * x) / Nprime);
  return {
    N, P0, slope, intercept, conf, r: [...r], n: [...n], rStar, p,
    rStarRenormalised: p.map((x) => x * N), switchAt,
  };
}

export type ExtrapolationMethod = 'sgt-power' | 'smoothed-good-toulmin';

export interface ExtrapolationPoint {
  /** Number of draws. */
  m: number;
  /** Expected number of unique species after m draws. */
  expected: number;
}

/**
 * Expected number of distinct species among m draws, given the species counts observed in n draws.
 *
 * For m ≤ n: exact rarefaction (sampling m of the n draws without replacement),
 *   E[U(m)] = Σ_r N_r · (1 − C(n − r, m) / C(n, m)).
 * For m > n, one of:
 * - 'smoothed-good-toulmin' (default; Orlitsky, Suresh & Wu 2016, PNAS): new species in t·n more draws,
 *   U_L(t) = −Σ_i (−t)^i P(L ≥ i) N_i with L ~ Binomial(k, q), q = 2/(t+2), k = ⌈½ log₃(n t²/(t−1))⌉ for
 *   t > 1 (plain Good-Toulmin, L = ∞, for t ≤ 1). Reliable up to t ≈ log n. Its slope at m = n is the
 *   Good-Turing discovery rate N1/n.
 * - 'sgt-power': Simple Good-Turing's log-log fit Z_r ∝ r^b is the frequency spectrum of a population
 *   whose species probabilities have density ∝ p^b; under Poisson sampling such a population's unique count
 *   grows as n^γ with γ = −1 − b (Heaps' law). We anchor the curve at the observed U(n) with slope equal to
 *   the Good-Turing discovery rate p0 = N1/n:  U(m) = U(n) + (N1/γ)·((m/n)^γ − 1).  Requires −2 < b < −1
 *   (0 < γ < 1); otherwise a GoodTuringError suggests the other method. It assumes an unbounded power-law
 *   population; on a finite Zipf population (test/memorization/good-turing.test.ts) it is within 3% up to
 *   m = 2n but ~10% high at m = 4n, where smoothed Good-Toulmin stays within 1%.
 */
export function extrapolateUniques(counts: Iterable<number>, targets: readonly number[], opts: { method?: ExtrapolationMethod; conf?: number } = {}): ExtrapolationPoint[] {
  const { r, n } = frequencyOfFrequencies(counts);
  let N = 0, U = 0;
  for (let j = 0; j < r.length; j++) { N += r[j]! * n[j]!; U += n[j]!; }
  if (N === 0) throw new GoodTuringError('no observations to extrapolate from');
  const method = opts.method ?? 'smoothed-good-toulmin';
  const N1 = r[0] === 1 ? n[0]! : 0;
  let gamma = NaN;
  if (method === 'sgt-power' && targets.some((m) => m > N)) {
    const sgt = simpleGoodTuring(r, n, opts.conf !== undefined ? { conf: opts.conf } : {});
    gamma = -1 - sgt.slope;
    if (!(gamma > 0 && gamma < 1)) {
      throw new GoodTuringError(`sgt-power extrapolation needs an SGT slope in (−2, −1), got ${sgt.slope.toFixed(4)}; use method 'smoothed-good-toulmin'`);
    }
  }
  const logC = (a: number, b: number) => logGamma(a + 1) - logGamma(b + 1) - logGamma(a - b + 1);
  return targets.map((m) => {
    if (!(m >= 0)) throw new GoodTuringError(`target draw count ${m} must be ≥ 0`);
    if (m <= N) {
      if (m === N) return { m, expected: U };
      let e = 0;
      for (let j = 0; j < r.length; j++) {
        const rr = r[j]!;
        const miss = N - rr >= m ? Math.exp(logC(N - rr, m) - logC(N, m)) : 0;
        e += n[j]! * (1 - miss);
      }
      return { m, expected: e };
    }
    if (method === 'sgt-power') return { m, expected: U + (N1 / gamma) * (Math.pow(m / N, gamma) - 1) };
    const t = (m - N) / N;
    return { m, expected: U + smoothedGoodToulmin(r, n, N, t) };
  });
}

/** Orlitsky et al. (2016) estimate of new species in t·n further draws (binomial smoothing, q = 2/(t+2)). */
export function smoothedGoodToulmin(r: readonly number[], n: readonly number[], N: number, t: number): number {
  let tailP: (i: number) => number;
  if (t <= 1) tailP = () => 1;
  else {
    const k = Math.ceil(0.5 * (Math.log((N * t * t) / (t - 1)) / Math.log(3)));
    const q = 2 / (t + 2);
    // P(L ≥ i) for L ~ Bin(k, q)
    const pmf: number[] = [];
    for (let i = 0; i <= k; i++) pmf.push(Math.exp(logGamma(k + 1) - logGamma(i + 1) - logGamma(k - i + 1) + i * Math.log(q) + (k - i) * Math.log1p(-q)));
    const tail: number[] = new Array(k + 2).fill(0);
    for (let i = k; i >= 0; i--) tail[i] = tail[i + 1]! + pmf[i]!;
    tailP = (i) => (i > k ? 0 : tail[i]!);
  }
  let s = 0;
  for (let j = 0; j < r.length; j++) {
    const i = r[j]!;
    const w = tailP(i);
    if (w === 0) continue;
    s -= Math.pow(-t, i) * w * n[j]!;
  }
  return s;
}

/**
 * Nasr et al. (2023) Fig. 4: unique memorized k-grams versus number of generations. `counts` are the emission
 * counts of each unique memorized k-gram observed over `generations` generations; targets are generation
 * counts. Draws are assumed proportional to generations (the observed emissions per generation, n/G, stays
 * constant), so a target of G' generations is m = n·G'/G draws.
 */
export function uniquesVersusGenerations(counts: readonly number[], generations: number, targetGenerations: readonly number[], opts: { method?: ExtrapolationMethod; conf?: number } = {}): { generations: number; expected: number }[] {
  if (!(generations > 0)) throw new GoodTuringError(`generations must be positive, got ${generations}`);
  const n = counts.reduce((a, b) => a + b, 0);
  const pts = extrapolateUniques(counts, targetGenerations.map((g) => (n * g) / generations), opts);
  return pts.map((p, i) => ({ generations: targetGenerations[i]!, expected: p.expected }));
}
