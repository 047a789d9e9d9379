/**
 * Chinchilla approach 3 (Hoffmann et al. 2022) fitted exactly as Epoch AI did (Besiroglu et al. 2024):
 *
 *   log L̂ = LSE(a − α log N, b − β log D, e),   A = eᵃ, B = eᵇ, E = eᵉ
 *   objective = Σᵢ Huber_δ(log Lᵢ − log L̂ᵢ), δ = 1e-3  (SUMMED, not averaged)
 *   L-BFGS (SciPy L-BFGS-B defaults) from every point of the 4500-point grid
 *   α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}; keep the best converged result.
 *
 * One difference from Epoch's notebook: the gradient is analytic (Epoch called minimize() without jac,
 * so SciPy used finite differences); both reach the same optimum (bench/fit_scipy.py times both).
 *
 * The objective and its analytic gradient are one allocation-free loop over Float64Arrays; bootstrap
 * resamples are expressed as integer multiplicities (weights) so no data is copied per resample.
 */
import { LbfgsSolver, isConverged, type LbfgsOptions, type LbfgsStatus, type Objective } from './lbfgs.ts';
import { FitNotConvergedError, ScalingInputError } from './errors.ts';
import type { Points } from './data.ts';
import { Rng } from './rng.ts';
import { fastExp } from './fastmath.ts';
import { nativeChinchillaObjective } from '../engine/native/index.ts';
import { percentileInterval, quantile, rSquared, std, type Interval } from './stats.ts';

export interface ChinchillaParams {
  A: number;
  B: number;
  E: number;
  alpha: number;
  beta: number;
}

/** Raw optimisation variables: [a, b, e, α, β] with A = eᵃ, B = eᵇ, E = eᵉ. */
export type RawParams = [number, number, number, number, number];

export interface Grid {
  alpha: number[];
  beta: number[];
  e: number[];
  a: number[];
  b: number[];
}

const range = (lo: number, hi: number, step: number): number[] => {
  const out: number[] = [];
  for (let k = 0; lo + k * step <= hi + 1e-12; k++) out.push(lo + k * step);
  return out;
};

/** Epoch AI's grid of initial values (5·5·5·6·6 = 4500 starts). */
export const EPOCH_GRID: Grid = {
  alpha: range(0, 2, 0.5),
  beta: range(0, 2, 0.5),
  e: range(-1, 1, 0.5),
  a: range(0, 25, 5),
  b: range(0, 25, 5),
};

/** Starts in Epoch's iteration order: product(alpha, beta, e, a, b), each as [a, b, e, α, β]. */
export function gridStarts(grid: Grid = EPOCH_GRID): Float64Array[] {
  const out: Float64Array[] = [];
  for (const al of grid.alpha) for (const be of grid.beta) for (const e of grid.e) for (const a of grid.a) for (const b of grid.b) out.push(Float64Array.of(a, b, e, al, be));
  return out;
}

/** Log-space data for the objective. */
export interface LogData {
  lnN: Float64Array;
  lnD: Float64Array;
  lnL: Float64Array;
  /** Multiplicity of each point (1 for a plain fit, bootstrap counts for a resample). */
  w: Float64Array;
}

export function toLogData(N: ArrayLike<number>, D: ArrayLike<number>, L: ArrayLike<number>): LogData {
  const n = L.length;
  const lnN = new Float64Array(n);
  const lnD = new Float64Array(n);
  const lnL = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lnN[i] = Math.log(N[i]!);
    lnD[i] = Math.log(D[i]!);
    lnL[i] = Math.log(L[i]!);
  }
  return { lnN, lnD, lnL, w: new Float64Array(n).fill(1) };
}

/**
 * Reference implementation of Σ w·Huber_δ(log L − LSE(a − α lnN, b − β lnD, e)) and its gradient in
 * x = [a, b, e, α, β]: a max-shifted log-sum-exp per point (3 exp + 1 log). Kept simple as the oracle
 * that the fast objective below is tested against.
 */
export function chinchillaObjectiveReference(data: LogData, delta = 1e-3): Objective {
  const { lnN, lnD, lnL, w } = data;
  const n = lnL.length;
  const halfDelta = 0.5 * delta;
  return (x: Float64Array, g: Float64Array): number => {
    const a = x[0]!, b = x[1]!, e = x[2]!, al = x[3]!, be = x[4]!;
    let f = 0, ga = 0, gb = 0, ge = 0, gal = 0, gbe = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      if (wi === 0) continue;
      const ln = lnN[i]!;
      const ld = lnD[i]!;
      const t1 = a - al * ln;
      const t2 = b - be * ld;
      let m = t1 > t2 ? t1 : t2;
      if (e > m) m = e;
      const w1 = Math.exp(t1 - m);
      const w2 = Math.exp(t2 - m);
      const w3 = Math.exp(e - m);
      const s = w1 + w2 + w3;
      const r = lnL[i]! - (m + Math.log(s));
      let psi: number;
      if (r > delta) {
        f += wi * delta * (r - halfDelta);
        psi = delta;
      } else if (r < -delta) {
        f += wi * delta * (-r - halfDelta);
        psi = -delta;
      } else {
        f += wi * 0.5 * r * r;
        psi = r;
      }
      const c = (wi * psi) / s;
      const c1 = c * w1;
      const c2 = c * w2;
      ga -= c1;
      gb -= c2;
      ge -= c * w3;
      gal += c1 * ln;
      gbe += c2 * ld;
    }
    g[0] = ga; g[1] = gb; g[2] = ge; g[3] = gal; g[4] = gbe;
    return f;
  };
}

/**
 * Fast Σ w·Huber_δ(log L − log L̂) with gradient — the same function as chinchillaObjectiveReference,
 * arranged to call few transcendental functions (they dominate the 4500-start fit):
 *  - exponentials by fastExp (table-driven, < 4e-16 relative error; V8's Math.exp call is the cost);
 *  - L̂ᵢ = e^(a − α lnNᵢ) + e^(b − β lnDᵢ) + eᵉ; the first term is computed once per distinct N
 *    (the Chinchilla grid has ~140 distinct model sizes for 240 points), eᵉ once per evaluation;
 *  - the Huber region is decided by comparing L̂ᵢ with Lᵢe^(∓δ) (no log). In the linear regions only
 *    Σ ∓ log L̂ᵢ is needed: it is accumulated as a product Q of L̂ᵢ^(±1), folded into a log every 16
 *    points (|log L̂ᵢ| < 41.5 on this path, so Q stays inside 1e±300), so ~15 logs per evaluation
 *    instead of one per point; only points inside the quadratic region (|r| ≤ δ) take a log each;
 *  - a point whose L̂ is outside [1e-18, 1e18] (far from any sensible fit, e.g. a wild line-search
 *    trial) falls back to the max-shifted log-sum-exp of the reference.
 */
export function chinchillaObjective(data: LogData, delta = 1e-3): Objective {
  return (useNativeFit() && chinchillaObjectiveNative(data, delta)) || chinchillaObjectiveJs(data, delta);
}

/** Whether fits use the native objective when the addon is built (LMLAB_FIT_NATIVE=0 turns it off). */
export function useNativeFit(): boolean {
  return process.env.LMLAB_FIT_NATIVE !== '0';
}

/**
 * The objective computed by the native addon (native/fit.c: AVX2, 4 points per step, vector exp and log), or
 * null when the addon is not built. Same function as chinchillaObjectiveReference to ~1e-15 relative; the
 * weights are read from `data.w` at every evaluation, so callers may change them between evaluations.
 */
export function chinchillaObjectiveNative(data: LogData, delta = 1e-3): Objective | null {
  const kernel = nativeChinchillaObjective();
  if (kernel === null) return null;
  const { lnN, lnD, lnL, w } = data;
  const n = lnL.length;
  const packed = new Float64Array(3 * n);
  packed.set(lnN, 0);
  packed.set(lnD, n);
  packed.set(lnL, 2 * n);
  return (x: Float64Array, g: Float64Array): number => kernel(packed, w, n, delta, x, g);
}

/** The TypeScript fast path (used when the native addon is absent); see chinchillaObjective. */
export function chinchillaObjectiveJs(data: LogData, delta = 1e-3): Objective {
  const { lnN, lnD, lnL, w } = data;
  const n = lnL.length;
  const halfDelta = 0.5 * delta;
  // distinct values of ln N
  const uniq = new Map<number, number>();
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let j = uniq.get(lnN[i]!);
    if (j === undefined) {
      j = uniq.size;
      uniq.set(lnN[i]!, j);
    }
    idx[i] = j;
  }
  const lnNu = Float64Array.from(uniq.keys());
  const nu = lnNu.length;
  const termN = new Float64Array(nu);
  const lo = new Float64Array(n); // L e^(−δ): below it r > δ
  const hi = new Float64Array(n); // L e^(+δ): above it r < −δ
  for (let i = 0; i < n; i++) {
    lo[i] = Math.exp(lnL[i]! - delta);
    hi[i] = Math.exp(lnL[i]! + delta);
  }
  const SMALL = 1e-18;
  const BIG = 1e18;
  return (x: Float64Array, g: Float64Array): number => {
    const a = x[0]!, b = x[1]!, e = x[2]!, al = x[3]!, be = x[4]!;
    for (let j = 0; j < nu; j++) termN[j] = fastExp(a - al * lnNu[j]!);
    const u3 = fastExp(e);
    let f = 0, ga = 0, gb = 0, ge = 0, gal = 0, gbe = 0;
    // Q = Π_{r<−δ} L̂ · Π_{r>δ} 1/L̂ (with multiplicity); the linear-region part of f is δ·log Q
    let Q = 1;
    let logQ = 0;
    let unit = true;
    for (let i = 0; i < n; i++) if (w[i] !== 1) unit = false;
    if (unit) {
      // all weights 1 (the main fit): the same computation without the multiplicity bookkeeping
      let lin = 0; // Σ over linear-region points of ±lnL (δ and the δ²/2 terms applied at the end)
      let nlin = 0;
      for (let i = 0; i < n; i++) {
        const ln = lnN[i]!;
        const ld = lnD[i]!;
        const v1 = termN[idx[i]!]!;
        const v2 = fastExp(b - be * ld);
        const s = v1 + v2 + u3;
        if (!(s > SMALL && s < BIG)) return objectiveAt(x, g, data, delta); // far from any fit: reference path
        const inv = 1 / s;
        let psi: number;
        if (s < lo[i]!) {
          lin += lnL[i]!;
          nlin++;
          Q *= inv;
          psi = delta;
        } else if (s > hi[i]!) {
          lin -= lnL[i]!;
          nlin++;
          Q *= s;
          psi = -delta;
        } else {
          const r = lnL[i]! - Math.log(s);
          f += 0.5 * r * r;
          psi = r;
        }
        if ((i & 15) === 15) {
          logQ += Math.log(Q);
          Q = 1;
        }
        const c = psi * inv;
        const c1 = c * v1;
        const c2 = c * v2;
        ga -= c1;
        gb -= c2;
        ge -= c * u3;
        gal += c1 * ln;
        gbe += c2 * ld;
      }
      f += delta * (lin - nlin * halfDelta + logQ + Math.log(Q));
      g[0] = ga; g[1] = gb; g[2] = ge; g[3] = gal; g[4] = gbe;
      return f;
    }
    let since = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      if (wi === 0) continue;
      const ln = lnN[i]!;
      const ld = lnD[i]!;
      let v1 = termN[idx[i]!]!;
      let v2 = fastExp(b - be * ld);
      let v3 = u3;
      const s = v1 + v2 + v3;
      let psi: number;
      let inv: number;
      if (s > SMALL && s < BIG) {
        inv = 1 / s;
        if (s < lo[i]!) {
          // r = lnL − log s > δ
          f += wi * delta * (lnL[i]! - halfDelta);
          psi = delta;
          if (wi === 1) Q *= inv;
          else if (wi <= 6) for (let k = 0; k < wi; k++) Q *= inv;
          else logQ -= wi * Math.log(s);
        } else if (s > hi[i]!) {
          f -= wi * delta * (lnL[i]! + halfDelta);
          psi = -delta;
          if (wi === 1) Q *= s;
          else if (wi <= 6) for (let k = 0; k < wi; k++) Q *= s;
          else logQ += wi * Math.log(s);
        } else {
          const r = lnL[i]! - Math.log(s);
          f += wi * 0.5 * r * r;
          psi = r;
        }
        if (++since === 16 || wi > 1) {
          logQ += Math.log(Q);
          Q = 1;
          since = 0;
        }
      } else {
        // overflow / underflow: stable log-sum-exp for this point
        const t1 = a - al * ln;
        const t2 = b - be * ld;
        let m = t1 > t2 ? t1 : t2;
        if (e > m) m = e;
        v1 = Math.exp(t1 - m);
        v2 = Math.exp(t2 - m);
        v3 = Math.exp(e - m);
        const ss = v1 + v2 + v3;
        inv = 1 / ss;
        const r = lnL[i]! - (m + Math.log(ss));
        if (r > delta) {
          f += wi * delta * (r - halfDelta);
          psi = delta;
        } else if (r < -delta) {
          f += wi * delta * (-r - halfDelta);
          psi = -delta;
        } else {
          f += wi * 0.5 * r * r;
          psi = r;
        }
      }
      const c = wi * psi * inv;
      const c1 = c * v1;
      const c2 = c * v2;
      ga -= c1;
      gb -= c2;
      ge -= c * v3;
      gal += c1 * ln;
      gbe += c2 * ld;
    }
    f += delta * (logQ + Math.log(Q));
    g[0] = ga; g[1] = gb; g[2] = ge; g[3] = gal; g[4] = gbe;
    return f;
  };
}

/** One evaluation of the reference objective (the fast path's fallback for far-off parameters). */
function objectiveAt(x: Float64Array, g: Float64Array, data: LogData, delta: number): number {
  let ref = REFERENCE.get(data);
  if (!ref || ref.delta !== delta) {
    ref = { delta, fg: chinchillaObjectiveReference(data, delta) };
    REFERENCE.set(data, ref);
  }
  return ref.fg(x, g);
}
const REFERENCE = new WeakMap<LogData, { delta: number; fg: Objective }>();

export function rawToParams(x: ArrayLike<number>): ChinchillaParams {
  return { A: Math.exp(x[0]!), B: Math.exp(x[1]!), E: Math.exp(x[2]!), alpha: x[3]!, beta: x[4]! };
}

/** L̂(N, D) = E + A/N^α + B/D^β. */
export function chinchillaLoss(p: ChinchillaParams, N: number, D: number): number {
  return p.E + p.A / N ** p.alpha + p.B / D ** p.beta;
}

/** Compute-optimal exponents and coefficient with C = 6ND: N* = G (C/6)^a, D* = (C/6)^b / G. */
export function chinchillaAllocation(p: ChinchillaParams): { a: number; b: number; G: number } {
  const s = p.alpha + p.beta;
  return { a: p.beta / s, b: p.alpha / s, G: ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / s) };
}

export interface MultiStartResult {
  x: RawParams;
  objective: number;
  starts: number;
  converged: number;
  statuses: Partial<Record<LbfgsStatus, number>>;
  iterations: number;
  evaluations: number;
  /** Index of the winning start in the start list, and the start itself. */
  bestStart: number;
  start: RawParams;
}

/**
 * Run L-BFGS from every start; keep the lowest objective among converged runs (Epoch: `result.success`).
 * Always returns the statistics; when no start converged, bestStart is −1, objective +∞ and x NaN.
 */
export function multiStartAll(
  fg: Objective,
  starts: ArrayLike<number>[],
  lbfgsOpts: LbfgsOptions = {},
  solver = new LbfgsSolver(5, lbfgsOpts),
  /** Also accept a run that ended in a line-search failure with ‖g‖∞ at most this (default: never). */
  acceptGradient = -1,
): MultiStartResult {
  let best = Infinity;
  let bestIdx = -1;
  const bestX = new Float64Array(solver.n).fill(NaN);
  let converged = 0;
  let iterations = 0;
  let evaluations = 0;
  const statuses: Partial<Record<LbfgsStatus, number>> = {};
  for (let k = 0; k < starts.length; k++) {
    const st = solver.minimize(fg, starts[k]!);
    iterations += solver.iterations;
    evaluations += solver.evaluations;
    statuses[st] = (statuses[st] ?? 0) + 1;
    if (!isConverged(st) && !(st === 'line-search-failed' && solver.gnorm <= acceptGradient)) continue;
    converged++;
    if (solver.f < best) {
      best = solver.f;
      bestIdx = k;
      bestX.set(solver.x);
    }
  }
  return {
    x: Array.from(bestX) as RawParams,
    objective: best,
    starts: starts.length,
    converged,
    statuses,
    iterations,
    evaluations,
    bestStart: bestIdx,
    start: bestIdx >= 0 ? (Array.from(starts[bestIdx]!) as RawParams) : [NaN, NaN, NaN, NaN, NaN],
  };
}

/** multiStartAll, or null when no start converged. */
export function multiStart(fg: Objective, starts: ArrayLike<number>[], lbfgsOpts: LbfgsOptions = {}, solver = new LbfgsSolver(5, lbfgsOpts)): MultiStartResult | null {
  const r = multiStartAll(fg, starts, lbfgsOpts, solver);
  return r.bestStart < 0 ? null : r;
}

export interface HoldoutReport {
  /** Rule used to choose the held-out points. */
  rule: string;
  heldOut: number;
  trainedOn: number;
  points: { N: number; D: number; C: number; loss: number; predicted: number; relError: number }[];
  /** Mean |log L − log L̂| over held-out points. */
  meanAbsLogError: number;
  /** Parameters refitted without the held-out points. */
  refit: ChinchillaParams | null;
  note?: string;
}

export interface ChinchillaFit {
  form: 'chinchilla';
  params: ChinchillaParams;
  raw: RawParams;
  /** a = β/(α+β) (N* ∝ C^a), b = α/(α+β), G (N* = G (C/6)^a). */
  allocation: { a: number; b: number; G: number };
  objective: number;
  delta: number;
  points: number;
  optimizer: Omit<MultiStartResult, 'x' | 'objective'>;
  goodness: { residuals: number[]; r2Log: number; rmseLog: number; maxAbsResidualLog: number };
  validation: HoldoutReport | null;
  bootstrap: ChinchillaBootstrap | null;
  timings: { fitMs: number; validationMs: number; bootstrapMs: number };
}

export interface ChinchillaBootstrap {
  resamples: number;
  converged: number;
  seed: number;
  level: number;
  starts: 'best' | 'grid';
  /** How the accepted refits ended (a 'line-search-failed' here had ‖g‖∞ ≤ 1e-5; see WARM_START_LBFGS). */
  statuses: Partial<Record<LbfgsStatus, number>>;
  intervals: Record<'A' | 'B' | 'E' | 'alpha' | 'beta' | 'a' | 'b' | 'G', Interval>;
  /** Median of each bootstrap distribution. */
  median: Record<'A' | 'B' | 'E' | 'alpha' | 'beta' | 'a' | 'b' | 'G', number>;
}

export interface ChinchillaFitOptions {
  delta?: number;
  grid?: Grid;
  lbfgs?: LbfgsOptions;
  /** Bootstrap resamples (0 = none). */
  bootstrap?: number;
  seed?: number;
  level?: number;
  /**
   * Starts for each bootstrap refit: the full-data optimum run to convergence ('best', default; see
   * WARM_START_LBFGS) or the full 4500-point grid with SciPy's default tolerances ('grid', ~4500× slower).
   */
  bootstrapStarts?: 'best' | 'grid';
  /** Leave-largest-out validation (default true). */
  validate?: boolean;
  /** Starts for the validation refit (default 'grid'). */
  validationStarts?: 'best' | 'grid';
  /** Points with C ≥ C_max / holdoutFactor are held out (default 1.25). */
  holdoutFactor?: number;
}

/** One multi-start problem: the data weights (null = all 1), the starts, optional solver settings. */
export interface Job {
  w: Float64Array | null;
  starts: Float64Array[];
  /** L-BFGS settings for this job (default: the fit's `lbfgs` option, i.e. SciPy's defaults). */
  lbfgs?: LbfgsOptions;
  /** Accept a line-search failure whose final ‖g‖∞ is at most this (warm-started refits only). */
  acceptGradient?: number;
}

/**
 * Settings for bootstrap refits warm-started from the full-data optimum: SciPy's default relative-
 * reduction test (factr 1e7, i.e. Δf ≤ 2.2e-9 on an objective of ~1e-3) stops such a refit after a few
 * iterations, still next to the starting point, which would fake narrow intervals. These refits are
 * run to convergence instead (factr 10, ‖g‖∞ ≤ 1e-8); on the Chinchilla data they land on the same
 * optimum as a full 4500-start grid refit (test/scaling/chinchilla.test.ts). A refit that stops in a
 * line-search failure (rounding, next to the optimum) is accepted when ‖g‖∞ ≤ 1e-5, SciPy's default
 * convergence threshold.
 */
export const WARM_START_LBFGS: LbfgsOptions = { factr: 10, pgtol: 1e-8 };
export const WARM_START_ACCEPT_GRADIENT = 1e-5;

/** Solve jobs on the shared log data; results in job order (null = no start converged). */
export type Solve = (jobs: Job[]) => (MultiStartResult | null)[];
export type SolveAsync = (jobs: Job[]) => Promise<(MultiStartResult | null)[]>;

/** The in-thread solver used by fitChinchilla (results with statistics even when nothing converged). */
export function localSolverAll(data: LogData, delta: number, lbfgs: LbfgsOptions = {}): (jobs: Job[]) => MultiStartResult[] {
  const solvers = new Map<string, LbfgsSolver>();
  const work: LogData = { ...data, w: new Float64Array(data.lnL.length) };
  const fg = chinchillaObjective(work, delta);
  return (jobs) =>
    jobs.map((job) => {
      if (job.w) work.w.set(job.w);
      else work.w.fill(1);
      const o = { ...lbfgs, ...(job.lbfgs ?? {}) };
      const key = JSON.stringify(o);
      let solver = solvers.get(key);
      if (!solver) {
        solver = new LbfgsSolver(5, o);
        solvers.set(key, solver);
      }
      return multiStartAll(fg, job.starts, o, solver, job.acceptGradient ?? -1);
    });
}

export function localSolver(data: LogData, delta: number, lbfgs: LbfgsOptions = {}): Solve {
  const all = localSolverAll(data, delta, lbfgs);
  return (jobs) => all(jobs).map((r) => (r.bestStart < 0 ? null : r));
}

/** Shared, validated inputs of a chinchilla fit. */
export interface ChinchillaProblem {
  pts: Points;
  data: LogData;
  delta: number;
  grid: Float64Array[];
  opts: ChinchillaFitOptions;
}

export function prepareChinchilla(pts: Points, opts: ChinchillaFitOptions = {}): ChinchillaProblem {
  if (pts.N === null || pts.D === null) throw new ScalingInputError(`${pts.source}: the chinchilla form needs N and D (or C) columns`);
  const n = pts.loss.length;
  if (n <= 5) throw new ScalingInputError(`${pts.source}: ${n} points for the 5-parameter chinchilla form; need more points than parameters (at least 6)`);
  for (let i = 0; i < n; i++) {
    for (const [name, arr] of [['N', pts.N], ['D', pts.D], ['loss', pts.loss]] as const) {
      const v = arr[i]!;
      if (!(Number.isFinite(v) && v > 0)) throw new ScalingInputError(`${pts.source} line ${pts.lines[i] ?? i}: ${name} = ${v} must be a finite number > 0`);
    }
  }
  return { pts, data: toLogData(pts.N, pts.D, pts.loss), delta: opts.delta ?? 1e-3, grid: gridStarts(opts.grid ?? EPOCH_GRID), opts };
}

function mainResult(prob: ChinchillaProblem, res: MultiStartResult | null, fitMs: number): Omit<ChinchillaFit, 'validation' | 'bootstrap' | 'timings'> & { fitMs: number } {
  const { pts, data } = prob;
  if (res === null) {
    throw new FitNotConvergedError(`chinchilla fit on ${pts.source}: L-BFGS did not converge from any of the ${prob.grid.length} starts; no parameters reported`, {
      starts: prob.grid.length,
    });
  }
  const n = data.lnL.length;
  const params = rawToParams(res.x);
  const pred = new Float64Array(n);
  const residuals: number[] = [];
  let sq = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    pred[i] = Math.log(chinchillaLoss(params, pts.N![i]!, pts.D![i]!));
    const r = data.lnL[i]! - pred[i]!;
    residuals.push(r);
    sq += r * r;
    maxAbs = Math.max(maxAbs, Math.abs(r));
  }
  const { x: _x, objective, ...optimizer } = res;
  void _x;
  return {
    form: 'chinchilla',
    params,
    raw: res.x,
    allocation: chinchillaAllocation(params),
    objective,
    delta: prob.delta,
    points: n,
    optimizer,
    goodness: { residuals, r2Log: rSquared(data.lnL, pred), rmseLog: Math.sqrt(sq / n), maxAbsResidualLog: maxAbs },
    fitMs,
  };
}

/** Indices of the largest-compute points: C ≥ C_max / factor. */
export function largestComputeIndices(C: ArrayLike<number>, factor = 1.25): number[] {
  let mx = 0;
  for (let i = 0; i < C.length; i++) mx = Math.max(mx, C[i]!);
  const out: number[] = [];
  for (let i = 0; i < C.length; i++) if (C[i]! >= mx / factor) out.push(i);
  return out;
}

interface HoldoutPlan {
  rule: string;
  held: number[];
  job: Job | null;
  note?: string;
}

function holdoutPlan(prob: ChinchillaProblem, best: RawParams): HoldoutPlan {
  const { pts, opts } = prob;
  const N = pts.N!;
  const D = pts.D!;
  const n = N.length;
  const C = pts.C ?? Float64Array.from(N, (v, i) => 6 * v * D[i]!);
  const factor = opts.holdoutFactor ?? 1.25;
  const held = largestComputeIndices(C, factor);
  const rule = `hold out points with C >= C_max/${factor} (C = 6ND where not given); refit on the rest`;
  if (n - held.length <= 5) return { rule, held, job: null, note: 'too few points left to refit' };
  const w = new Float64Array(n).fill(1);
  for (const i of held) w[i] = 0;
  const starts = (opts.validationStarts ?? 'grid') === 'grid' ? prob.grid : [Float64Array.from(best)];
  return { rule, held, job: { w, starts } };
}

function holdoutReport(prob: ChinchillaProblem, plan: HoldoutPlan, res: MultiStartResult | null): HoldoutReport {
  const { pts } = prob;
  const N = pts.N!;
  const D = pts.D!;
  const n = N.length;
  const C = pts.C ?? Float64Array.from(N, (v, i) => 6 * v * D[i]!);
  const base = { rule: plan.rule, heldOut: plan.held.length, trainedOn: n - plan.held.length, points: [], meanAbsLogError: NaN, refit: null };
  if (plan.job === null) return { ...base, note: plan.note };
  if (res === null) return { ...base, note: 'refit without the held-out points did not converge' };
  const p = rawToParams(res.x);
  let s = 0;
  const points = plan.held.map((i) => {
    const predicted = chinchillaLoss(p, N[i]!, D[i]!);
    s += Math.abs(Math.log(pts.loss[i]!) - Math.log(predicted));
    return { N: N[i]!, D: D[i]!, C: C[i]!, loss: pts.loss[i]!, predicted, relError: (predicted - pts.loss[i]!) / pts.loss[i]! };
  });
  return { ...base, points, meanAbsLogError: s / plan.held.length, refit: p };
}

/** Bootstrap jobs: multiplicities drawn from the seeded PRNG up front (results do not depend on threads). */
function bootstrapJobs(prob: ChinchillaProblem, best: RawParams): Job[] {
  const K = prob.opts.bootstrap ?? 0;
  const n = prob.data.lnL.length;
  const rng = new Rng(prob.opts.seed ?? 0);
  const warm = (prob.opts.bootstrapStarts ?? 'best') === 'best';
  const starts = warm ? [Float64Array.from(best)] : prob.grid;
  const jobs: Job[] = [];
  for (let k = 0; k < K; k++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[rng.int(n)]! += 1;
    jobs.push(warm ? { w, starts, lbfgs: WARM_START_LBFGS, acceptGradient: WARM_START_ACCEPT_GRADIENT } : { w, starts });
  }
  return jobs;
}

function bootstrapReport(prob: ChinchillaProblem, results: (MultiStartResult | null)[]): ChinchillaBootstrap {
  const K = results.length;
  const keys = ['A', 'B', 'E', 'alpha', 'beta', 'a', 'b', 'G'] as const;
  const samples: Record<(typeof keys)[number], number[]> = { A: [], B: [], E: [], alpha: [], beta: [], a: [], b: [], G: [] };
  let converged = 0;
  const statuses: Partial<Record<LbfgsStatus, number>> = {};
  for (const res of results) {
    if (res === null) continue;
    converged++;
    if (res.starts === 1) for (const [k, v] of Object.entries(res.statuses)) statuses[k as LbfgsStatus] = (statuses[k as LbfgsStatus] ?? 0) + (v ?? 0);
    const p = rawToParams(res.x);
    const al = chinchillaAllocation(p);
    samples.A.push(p.A);
    samples.B.push(p.B);
    samples.E.push(p.E);
    samples.alpha.push(p.alpha);
    samples.beta.push(p.beta);
    samples.a.push(al.a);
    samples.b.push(al.b);
    samples.G.push(al.G);
  }
  if (converged === 0) throw new FitNotConvergedError(`chinchilla bootstrap: none of the ${K} resample fits converged`);
  const level = prob.opts.level ?? 0.95;
  const intervals = {} as ChinchillaBootstrap['intervals'];
  const median = {} as ChinchillaBootstrap['median'];
  for (const key of keys) {
    const [lo, hi] = percentileInterval(samples[key], level);
    intervals[key] = { lo, hi, se: samples[key].length > 1 ? std(samples[key]) : NaN };
    median[key] = quantile(samples[key], 0.5);
  }
  return { resamples: K, converged, seed: prob.opts.seed ?? 0, level, starts: prob.opts.bootstrapStarts ?? 'best', statuses, intervals, median };
}

/** Fit approach 3 to points with N, D and loss, in this thread. Throws FitNotConvergedError if no start converges. */
export function fitChinchilla(pts: Points, opts: ChinchillaFitOptions = {}): ChinchillaFit {
  const prob = prepareChinchilla(pts, opts);
  const solve = localSolver(prob.data, prob.delta, opts.lbfgs);
  const t0 = performance.now();
  const main = mainResult(prob, solve([{ w: null, starts: prob.grid }])[0]!, 0);
  main.fitMs = performance.now() - t0;
  const t1 = performance.now();
  let validation: HoldoutReport | null = null;
  if (opts.validate ?? true) {
    const plan = holdoutPlan(prob, main.raw);
    validation = holdoutReport(prob, plan, plan.job ? solve([plan.job])[0]! : null);
  }
  const validationMs = performance.now() - t1;
  const t2 = performance.now();
  const jobs = bootstrapJobs(prob, main.raw);
  const bootstrap = jobs.length > 0 ? bootstrapReport(prob, solve(jobs)) : null;
  const bootstrapMs = performance.now() - t2;
  const { fitMs, ...rest } = main;
  return { ...rest, validation, bootstrap, timings: { fitMs, validationMs, bootstrapMs } };
}

/**
 * The same fit with a caller-supplied asynchronous solver (e.g. a worker-thread pool from
 * ./parallel.ts). Results are identical to fitChinchilla: the merge keeps the lowest objective and, on
 * ties, the earliest start, as the sequential loop does; bootstrap weights are drawn up front.
 */
export async function fitChinchillaWith(pts: Points, opts: ChinchillaFitOptions, solve: SolveAsync): Promise<ChinchillaFit> {
  const prob = prepareChinchilla(pts, opts);
  const t0 = performance.now();
  const main = mainResult(prob, (await solve([{ w: null, starts: prob.grid }]))[0]!, 0);
  main.fitMs = performance.now() - t0;
  const t1 = performance.now();
  let validation: HoldoutReport | null = null;
  if (opts.validate ?? true) {
    const plan = holdoutPlan(prob, main.raw);
    validation = holdoutReport(prob, plan, plan.job ? (await solve([plan.job]))[0]! : null);
  }
  const validationMs = performance.now() - t1;
  const t2 = performance.now();
  const jobs = bootstrapJobs(prob, main.raw);
  const bootstrap = jobs.length > 0 ? bootstrapReport(prob, await solve(jobs)) : null;
  const bootstrapMs = performance.now() - t2;
  const { fitMs, ...rest } = main;
  return { ...rest, validation, bootstrap, timings: { fitMs, validationMs, bootstrapMs } };
}
