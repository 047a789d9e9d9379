/**
 * Power-law fits:
 *  - fitLogLinear: y = k·x^s by least squares in log-log space (approaches 1/2 and N*(C) exponents);
 *  - Kaplan forms L(N) = (N_c/N)^α_N, L(D) = (D_c/D)^α_D (log-log regression) and the joint
 *    L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (nonlinear least squares in log L, L-BFGS, multi-start);
 *  - fitOffsetPowerLaw: L(x) = E + A·x^(−α) (log L̂ = LSE(log A − α log x, log E), least squares in log L,
 *    L-BFGS from a grid of starts) with a delta-method prediction interval for a held-out larger run,
 *    GPT-4-report style.
 * Every fit reports residuals and R² in log space and a leave-largest-out check.
 */
import { LbfgsSolver, isConverged, type Objective } from './lbfgs.ts';
import { FitNotConvergedError, ScalingInputError } from './errors.ts';
import { Rng } from './rng.ts';
import { invert, linearRegression, percentileInterval, rSquared, std, studentTQuantile, type Interval } from './stats.ts';

export interface Goodness {
  residuals: number[];
  r2Log: number;
  rmseLog: number;
}

function goodness(obsLog: ArrayLike<number>, predLog: ArrayLike<number>): Goodness {
  const residuals: number[] = [];
  let sq = 0;
  for (let i = 0; i < obsLog.length; i++) {
    const r = obsLog[i]! - predLog[i]!;
    residuals.push(r);
    sq += r * r;
  }
  return { residuals, r2Log: rSquared(obsLog, predLog), rmseLog: Math.sqrt(sq / obsLog.length) };
}

function checkXY(x: ArrayLike<number>, y: ArrayLike<number>, p: number, what: string): void {
  if (x.length !== y.length) throw new ScalingInputError(`${what}: x has ${x.length} values, y has ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!(Number.isFinite(x[i]!) && x[i]! > 0)) throw new ScalingInputError(`${what}: x[${i}] = ${x[i]} must be a finite number > 0`);
    if (!(Number.isFinite(y[i]!) && y[i]! > 0)) throw new ScalingInputError(`${what}: y[${i}] = ${y[i]} must be a finite number > 0`);
  }
  if (x.length <= p) throw new ScalingInputError(`${what}: ${x.length} points for ${p} parameters; need more points than parameters`);
}

export interface HoldoutCheck {
  rule: string;
  heldOut: { x: number; y: number; predicted: number; relError: number; pi?: [number, number] }[];
  meanAbsLogError: number;
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// y = k x^s in log-log space

export interface LogLinearFit {
  /** y = coef · x^exponent */
  coef: number;
  exponent: number;
  /** t-based interval on the exponent (OLS standard error, n − 2 dof). */
  exponentCI: Interval;
  level: number;
  n: number;
  goodness: Goodness;
  bootstrap: { resamples: number; seed: number; exponent: Interval; coef: Interval } | null;
  validation: HoldoutCheck | null;
}

export interface LogLinearOptions {
  level?: number;
  bootstrap?: number;
  seed?: number;
  /** Hold out points with x ≥ x_max / holdoutFactor and predict them (default 1.25; 0 = no check). */
  holdoutFactor?: number;
}

export function fitLogLinear(x: ArrayLike<number>, y: ArrayLike<number>, opts: LogLinearOptions = {}): LogLinearFit {
  checkXY(x, y, 2, 'power-law fit');
  const lx = Array.from(x, Math.log);
  const ly = Array.from(y, Math.log);
  const level = opts.level ?? 0.95;
  const lr = linearRegression(lx, ly);
  const t = x.length > 2 ? studentTQuantile(1 - (1 - level) / 2, x.length - 2) : NaN;
  const pred = lx.map((v) => lr.intercept + lr.slope * v);
  let bootstrap: LogLinearFit['bootstrap'] = null;
  const K = opts.bootstrap ?? 0;
  if (K > 0) {
    const rng = new Rng(opts.seed ?? 0);
    const ex: number[] = [];
    const co: number[] = [];
    const n = lx.length;
    for (let k = 0; k < K; k++) {
      const bx: number[] = [];
      const by: number[] = [];
      for (let i = 0; i < n; i++) {
        const j = rng.int(n);
        bx.push(lx[j]!);
        by.push(ly[j]!);
      }
      if (new Set(bx).size < 2) continue;
      const f = linearRegression(bx, by);
      ex.push(f.slope);
      co.push(Math.exp(f.intercept));
    }
    const [elo, ehi] = percentileInterval(ex, level);
    const [clo, chi] = percentileInterval(co, level);
    bootstrap = { resamples: ex.length, seed: opts.seed ?? 0, exponent: { lo: elo, hi: ehi, se: std(ex) }, coef: { lo: clo, hi: chi, se: std(co) } };
  }
  let validation: HoldoutCheck | null = null;
  const hf = opts.holdoutFactor ?? 1.25;
  if (hf > 0) {
    const xmax = Math.max(...Array.from(x));
    const held = Array.from(x, (v, i) => (v >= xmax / hf ? i : -1)).filter((i) => i >= 0);
    const keep = Array.from(x, (v, i) => (v < xmax / hf ? i : -1)).filter((i) => i >= 0);
    const rule = `hold out points with x >= x_max/${hf}`;
    if (keep.length < 3 || new Set(keep.map((i) => lx[i])).size < 2) validation = { rule, heldOut: [], meanAbsLogError: NaN, note: 'too few points left to refit' };
    else {
      const f = linearRegression(keep.map((i) => lx[i]!), keep.map((i) => ly[i]!));
      let s = 0;
      const heldOut = held.map((i) => {
        const p = Math.exp(f.intercept + f.slope * lx[i]!);
        s += Math.abs(Math.log(p) - ly[i]!);
        return { x: x[i]!, y: y[i]!, predicted: p, relError: (p - y[i]!) / y[i]! };
      });
      validation = { rule, heldOut, meanAbsLogError: s / held.length };
    }
  }
  return {
    coef: Math.exp(lr.intercept),
    exponent: lr.slope,
    exponentCI: { lo: lr.slope - t * lr.slopeSE, hi: lr.slope + t * lr.slopeSE, se: lr.slopeSE },
    level,
    n: x.length,
    goodness: goodness(ly, pred),
    bootstrap,
    validation,
  };
}

// ---------------------------------------------------------------------------------------------
// Kaplan one-variable forms: L(X) = (X_c / X)^α  ⇔  log L = α log X_c − α log X

export interface KaplanOneFit {
  form: 'kaplan-N' | 'kaplan-D';
  /** X_c (N_c or D_c) and α. */
  Xc: number;
  alpha: number;
  alphaCI: Interval;
  /** Delta-method interval on X_c (from the OLS covariance of intercept and slope). */
  XcCI: Interval;
  level: number;
  n: number;
  goodness: Goodness;
  validation: HoldoutCheck | null;
  bootstrap: { resamples: number; seed: number } | null;
}

export function fitKaplanOne(which: 'N' | 'D', X: ArrayLike<number>, L: ArrayLike<number>, opts: LogLinearOptions = {}): KaplanOneFit {
  const f = fitLogLinear(X, L, opts);
  const alpha = -f.exponent;
  // log L = c + s log X with s = −α, c = α log X_c  ⇒  X_c = exp(−c/s)
  const Xc = Math.exp(Math.log(f.coef) / alpha);
  let XcCI: Interval;
  {
    // delta method on log X_c = −c/s with (c, s) from OLS
    const lx = Array.from(X, Math.log);
    const ly = Array.from(L, Math.log);
    const lr = linearRegression(lx, ly);
    const c = lr.intercept;
    const s = lr.slope;
    const dc = -1 / s;
    const ds = c / (s * s);
    const varLog = dc * dc * lr.interceptSE ** 2 + ds * ds * lr.slopeSE ** 2 + 2 * dc * ds * lr.cov;
    const t = lx.length > 2 ? studentTQuantile(1 - (1 - f.level) / 2, lx.length - 2) : NaN;
    const se = Math.sqrt(varLog);
    XcCI = { lo: Xc * Math.exp(-t * se), hi: Xc * Math.exp(t * se), se: Xc * se };
  }
  return {
    form: which === 'N' ? 'kaplan-N' : 'kaplan-D',
    Xc,
    alpha,
    alphaCI: f.bootstrap ? { lo: -f.bootstrap.exponent.hi, hi: -f.bootstrap.exponent.lo, se: f.bootstrap.exponent.se } : { lo: -f.exponentCI.hi, hi: -f.exponentCI.lo, se: f.exponentCI.se },
    XcCI,
    level: f.level,
    n: f.n,
    goodness: f.goodness,
    validation: f.validation,
    bootstrap: f.bootstrap ? { resamples: f.bootstrap.resamples, seed: f.bootstrap.seed } : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Nonlinear least squares in log space with L-BFGS multi-start (shared by the joint Kaplan form and
// the offset power law).

interface NlsModel {
  p: number;
  /** log-prediction and its gradient (length p) for point i at θ. */
  predict(theta: Float64Array, i: number, grad: Float64Array | null): number;
  starts: number[][];
}

interface NlsResult {
  theta: Float64Array;
  sse: number;
  starts: number;
  converged: number;
  iterations: number;
}

function nlsFit(model: NlsModel, ly: Float64Array, w: Float64Array | null): NlsResult | null {
  const { p } = model;
  const n = ly.length;
  const gi = new Float64Array(p);
  const fg: Objective = (th, g) => {
    g.fill(0);
    let f = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i]! : 1;
      if (wi === 0) continue;
      const pr = model.predict(th, i, gi);
      const r = ly[i]! - pr;
      f += 0.5 * wi * r * r;
      for (let k = 0; k < p; k++) g[k] = g[k]! - wi * r * gi[k]!;
    }
    return Number.isFinite(f) ? f : Infinity;
  };
  // Tight tolerances: the least-squares objective of a good fit is tiny, so SciPy's default relative-
  // reduction test (Δf ≤ 2.2e-9·max(|f|, 1)) would stop long before the optimum. A run ending in a
  // line-search failure is accepted when its gradient is negligible (rounding next to the optimum).
  const solver = new LbfgsSolver(p, { factr: 10, pgtol: 1e-12 });
  let best = Infinity;
  let bestTheta: Float64Array | null = null;
  let converged = 0;
  let iterations = 0;
  for (const s of model.starts) {
    const st = solver.minimize(fg, s);
    iterations += solver.iterations;
    const ok = isConverged(st) || (st === 'line-search-failed' && solver.gnorm <= 1e-8);
    if (!ok || !Number.isFinite(solver.f)) continue;
    converged++;
    if (solver.f < best) {
      best = solver.f;
      bestTheta = Float64Array.from(solver.x);
    }
  }
  if (bestTheta === null) return null;
  return { theta: bestTheta, sse: 2 * best, starts: model.starts.length, converged, iterations };
}

// ---------------------------------------------------------------------------------------------
// Kaplan joint L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D
// θ = [log N_c, log D_c, α_N, α_D]; log L̂ = α_D · LSE((α_N/α_D)(log N_c − log N), log D_c − log D)

export interface KaplanJointFit {
  form: 'kaplan-ND';
  Nc: number;
  Dc: number;
  alphaN: number;
  alphaD: number;
  n: number;
  optimizer: { starts: number; converged: number; iterations: number };
  goodness: Goodness;
  bootstrap: { resamples: number; converged: number; seed: number; level: number; intervals: Record<'Nc' | 'Dc' | 'alphaN' | 'alphaD', Interval> } | null;
  validation: HoldoutCheck | null;
}

function kaplanJointModel(lnN: Float64Array, lnD: Float64Array): NlsModel {
  const starts: number[][] = [];
  for (const lnc of [Math.log(1e12), Math.log(1e14), Math.log(1e16)])
    for (const ldc of [Math.log(1e12), Math.log(1e14), Math.log(1e16)])
      for (const an of [0.05, 0.1, 0.3]) for (const ad of [0.05, 0.1, 0.3]) starts.push([lnc, ldc, an, ad]);
  return {
    p: 4,
    starts,
    predict(th, i, g) {
      const lnc = th[0]!, ldc = th[1]!, an = th[2]!, ad = th[3]!;
      if (!(ad > 1e-8)) return NaN;
      const k = an / ad;
      const u = k * (lnc - lnN[i]!);
      const v = ldc - lnD[i]!;
      const m = Math.max(u, v);
      const eu = Math.exp(u - m);
      const ev = Math.exp(v - m);
      const S = m + Math.log(eu + ev);
      const pu = eu / (eu + ev);
      const pv = 1 - pu;
      if (g) {
        g[0] = pu * an;
        g[1] = ad * pv;
        g[2] = pu * (lnc - lnN[i]!);
        g[3] = S - pu * u;
      }
      return ad * S;
    },
  };
}

export function fitKaplanJoint(N: ArrayLike<number>, D: ArrayLike<number>, L: ArrayLike<number>, opts: LogLinearOptions = {}): KaplanJointFit {
  checkXY(N, L, 4, 'kaplan L(N,D) fit');
  checkXY(D, L, 4, 'kaplan L(N,D) fit');
  const n = L.length;
  const lnN = Float64Array.from(N, Math.log);
  const lnD = Float64Array.from(D, Math.log);
  const lnL = Float64Array.from(L, Math.log);
  const model = kaplanJointModel(lnN, lnD);
  const res = nlsFit(model, lnL, null);
  if (res === null) throw new FitNotConvergedError(`kaplan L(N,D) fit: L-BFGS did not converge from any of the ${model.starts.length} starts; no parameters reported`);
  const th = res.theta;
  const pred = Array.from({ length: n }, (_, i) => model.predict(th, i, null));
  const level = opts.level ?? 0.95;
  let bootstrap: KaplanJointFit['bootstrap'] = null;
  const K = opts.bootstrap ?? 0;
  if (K > 0) {
    const rng = new Rng(opts.seed ?? 0);
    const w = new Float64Array(n);
    const s: Record<'Nc' | 'Dc' | 'alphaN' | 'alphaD', number[]> = { Nc: [], Dc: [], alphaN: [], alphaD: [] };
    const m1: NlsModel = { ...model, starts: [Array.from(th)] };
    for (let k = 0; k < K; k++) {
      w.fill(0);
      for (let i = 0; i < n; i++) w[rng.int(n)]! += 1;
      const r = nlsFit(m1, lnL, w);
      if (!r) continue;
      s.Nc.push(Math.exp(r.theta[0]!));
      s.Dc.push(Math.exp(r.theta[1]!));
      s.alphaN.push(r.theta[2]!);
      s.alphaD.push(r.theta[3]!);
    }
    const iv = (v: number[]): Interval => {
      const [lo, hi] = percentileInterval(v, level);
      return { lo, hi, se: std(v) };
    };
    bootstrap = { resamples: K, converged: s.Nc.length, seed: opts.seed ?? 0, level, intervals: { Nc: iv(s.Nc), Dc: iv(s.Dc), alphaN: iv(s.alphaN), alphaD: iv(s.alphaD) } };
  }
  // leave-largest-out on C = 6ND
  let validation: HoldoutCheck | null = null;
  const hf = opts.holdoutFactor ?? 1.25;
  if (hf > 0) {
    const C = Array.from({ length: n }, (_, i) => 6 * N[i]! * D[i]!);
    const cmax = Math.max(...C);
    const rule = `hold out points with C = 6ND >= C_max/${hf}`;
    const w = Float64Array.from(C, (c) => (c >= cmax / hf ? 0 : 1));
    const kept = w.reduce((a, b) => a + b, 0);
    if (kept <= 4) validation = { rule, heldOut: [], meanAbsLogError: NaN, note: 'too few points left to refit' };
    else {
      const r = nlsFit(model, lnL, w);
      if (!r) validation = { rule, heldOut: [], meanAbsLogError: NaN, note: 'refit without the held-out points did not converge' };
      else {
        let s = 0;
        const heldOut: HoldoutCheck['heldOut'] = [];
        for (let i = 0; i < n; i++) {
          if (w[i] !== 0) continue;
          const p = Math.exp(model.predict(r.theta, i, null));
          s += Math.abs(Math.log(p) - lnL[i]!);
          heldOut.push({ x: C[i]!, y: L[i]!, predicted: p, relError: (p - L[i]!) / L[i]! });
        }
        validation = { rule, heldOut, meanAbsLogError: s / heldOut.length };
      }
    }
  }
  return {
    form: 'kaplan-ND',
    Nc: Math.exp(th[0]!),
    Dc: Math.exp(th[1]!),
    alphaN: th[2]!,
    alphaD: th[3]!,
    n,
    optimizer: { starts: res.starts, converged: res.converged, iterations: res.iterations },
    goodness: goodness(lnL, pred),
    bootstrap,
    validation,
  };
}

// ---------------------------------------------------------------------------------------------
// L(x) = E + A x^(−α);  θ = [a = log A, α, e = log E];  log L̂ = LSE(a − α log x, e)

export interface OffsetPowerFit {
  form: 'power';
  A: number;
  alpha: number;
  E: number;
  n: number;
  optimizer: { starts: number; converged: number; iterations: number };
  goodness: Goodness;
  /** Parameter standard errors from the delta method (Gauss–Newton covariance σ²(JᵀJ)⁻¹ in θ). */
  paramSE: { logA: number; alpha: number; logE: number } | null;
  /** Notes on the inference (e.g. E at the boundary). */
  notes: string[];
  level: number;
  prediction: OffsetPrediction[];
  bootstrap: { resamples: number; converged: number; seed: number; intervals: Record<'A' | 'alpha' | 'E', Interval> } | null;
  validation: HoldoutCheck | null;
}

export interface OffsetPrediction {
  x: number;
  predicted: number;
  /** Confidence interval of the fitted curve at x. */
  ci: [number, number];
  /** Prediction interval for a new observation at x (adds the residual scatter). */
  pi: [number, number];
  /** Observed value at x when the point was held out of the fit. */
  observed?: number;
}

function offsetModel(lx: Float64Array): NlsModel {
  const starts: number[][] = [];
  // Porian et al.'s grid for the saturating power law (a ∈ {0,…,25}, e ∈ {−1,…,1}, α ∈ {0,…,0.3}), widened in α
  for (const al of [0, 0.1, 0.2, 0.3, 0.5]) for (const e of [-1, -0.5, 0, 0.5, 1]) for (const a of [0, 5, 10, 15, 20, 25]) starts.push([a, al, e]);
  return {
    p: 3,
    starts,
    predict(th, i, g) {
      const t1 = th[0]! - th[1]! * lx[i]!;
      const e = th[2]!;
      const m = Math.max(t1, e);
      const w1 = Math.exp(t1 - m);
      const w2 = Math.exp(e - m);
      const s = w1 + w2;
      if (g) {
        g[0] = w1 / s;
        g[1] = (-w1 / s) * lx[i]!;
        g[2] = w2 / s;
      }
      return m + Math.log(s);
    },
  };
}

export interface OffsetOptions extends LogLinearOptions {
  /** x values at which to predict with intervals. */
  predictAt?: number[];
}

export function fitOffsetPowerLaw(x: ArrayLike<number>, L: ArrayLike<number>, opts: OffsetOptions = {}): OffsetPowerFit {
  checkXY(x, L, 3, 'power-law fit L = E + A x^-alpha');
  const n = L.length;
  const lx = Float64Array.from(x, Math.log);
  const lL = Float64Array.from(L, Math.log);
  const model = offsetModel(lx);
  const res = nlsFit(model, lL, null);
  if (res === null) throw new FitNotConvergedError(`power-law fit L = E + A x^-alpha: L-BFGS did not converge from any of the ${model.starts.length} starts; no parameters reported`);
  const level = opts.level ?? 0.95;
  const th = res.theta;
  const pred = Array.from({ length: n }, (_, i) => model.predict(th, i, null));
  const inf = offsetInference(model, th, lL, null, level);
  const predictAt = opts.predictAt ?? [];
  const prediction = predictAt.map((xv) => predictOffset(th, xv, inf));

  let bootstrap: OffsetPowerFit['bootstrap'] = null;
  const K = opts.bootstrap ?? 0;
  if (K > 0) {
    const rng = new Rng(opts.seed ?? 0);
    const w = new Float64Array(n);
    const s: Record<'A' | 'alpha' | 'E', number[]> = { A: [], alpha: [], E: [] };
    const m1: NlsModel = { ...model, starts: [Array.from(th)] };
    for (let k = 0; k < K; k++) {
      w.fill(0);
      for (let i = 0; i < n; i++) w[rng.int(n)]! += 1;
      const r = nlsFit(m1, lL, w);
      if (!r) continue;
      s.A.push(Math.exp(r.theta[0]!));
      s.alpha.push(r.theta[1]!);
      s.E.push(Math.exp(r.theta[2]!));
    }
    const iv = (v: number[]): Interval => {
      const [lo, hi] = percentileInterval(v, level);
      return { lo, hi, se: std(v) };
    };
    bootstrap = { resamples: K, converged: s.A.length, seed: opts.seed ?? 0, intervals: { A: iv(s.A), alpha: iv(s.alpha), E: iv(s.E) } };
  }

  // leave-largest-out: refit on the smaller runs, predict the largest with a prediction interval
  let validation: HoldoutCheck | null = null;
  const hf = opts.holdoutFactor ?? 1.25;
  if (hf > 0) {
    const xmax = Math.max(...Array.from(x));
    const w = Float64Array.from(x, (v) => (v >= xmax / hf ? 0 : 1));
    const kept = w.reduce((a, b) => a + b, 0);
    const rule = `hold out points with x >= x_max/${hf}; refit on the rest and predict them`;
    if (kept <= 3) validation = { rule, heldOut: [], meanAbsLogError: NaN, note: 'too few points left to refit (need more than 3)' };
    else {
      const r = nlsFit(model, lL, w);
      if (!r) validation = { rule, heldOut: [], meanAbsLogError: NaN, note: 'refit without the held-out points did not converge' };
      else {
        const inf2 = offsetInference(model, r.theta, lL, w, level);
        let s = 0;
        const heldOut: HoldoutCheck['heldOut'] = [];
        for (let i = 0; i < n; i++) {
          if (w[i] !== 0) continue;
          const pr = predictOffset(r.theta, x[i]!, inf2);
          s += Math.abs(Math.log(pr.predicted) - lL[i]!);
          heldOut.push({ x: x[i]!, y: L[i]!, predicted: pr.predicted, relError: (pr.predicted - L[i]!) / L[i]!, pi: pr.pi });
        }
        validation = { rule, heldOut, meanAbsLogError: s / heldOut.length };
      }
    }
  }
  return {
    form: 'power',
    A: Math.exp(th[0]!),
    alpha: th[1]!,
    E: Math.exp(th[2]!),
    n,
    optimizer: { starts: res.starts, converged: res.converged, iterations: res.iterations },
    goodness: goodness(lL, pred),
    paramSE: inf.cov ? { logA: Math.sqrt(inf.cov[0]![0]!), alpha: Math.sqrt(inf.cov[1]![1]!), logE: Math.sqrt(inf.cov[2]![2]!) } : null,
    notes: inf.conditional ? [inf.conditional] : inf.cov ? [] : ['covariance singular: no delta-method intervals'],
    level,
    prediction,
    bootstrap,
    validation,
  };
}

interface Inference {
  /** Covariance of θ = [log A, α, log E] (rows/columns of fixed parameters are zero). */
  cov: number[][] | null;
  sigma2: number;
  t: number;
  /** Set when E sits at the boundary (E → 0, its column of J vanishes): intervals are conditional on E. */
  conditional?: string;
}

function offsetInference(model: NlsModel, th: Float64Array, lL: Float64Array, w: Float64Array | null, level: number): Inference {
  const n = lL.length;
  const J: number[][] = [];
  const g = new Float64Array(3);
  let sse = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (w && w[i] === 0) continue;
    const p = model.predict(th, i, g);
    sse += (lL[i]! - p) ** 2;
    J.push(Array.from(g));
    m++;
  }
  const tryCols = (cols: number[]): { cov: number[][]; dof: number } | null => {
    const dof = m - cols.length;
    if (dof <= 0) return null;
    const sigma2 = sse / dof;
    const JtJ = cols.map((a) => cols.map((b) => J.reduce((s, row) => s + row[a]! * row[b]!, 0)));
    const inv = invert(JtJ);
    if (!inv) return null;
    const cov = [0, 1, 2].map(() => [0, 0, 0]);
    cols.forEach((a, i) => cols.forEach((b, j) => (cov[a]![b] = inv[i]![j]! * sigma2)));
    return { cov, dof };
  };
  let r = tryCols([0, 1, 2]);
  let conditional: string | undefined;
  if (!r) {
    // E at the boundary: its column of J is ~0; give intervals for the power-law part with E fixed
    r = tryCols([0, 1]);
    if (r) conditional = 'E is at the boundary (not identified by these points); intervals are conditional on E';
  }
  if (!r) return { cov: null, sigma2: NaN, t: NaN };
  return { cov: r.cov, sigma2: sse / r.dof, t: studentTQuantile(1 - (1 - level) / 2, r.dof), ...(conditional ? { conditional } : {}) };
}

function predictOffset(th: Float64Array, xv: number, inf: Inference): OffsetPrediction {
  const lx = Math.log(xv);
  const t1 = th[0]! - th[1]! * lx;
  const e = th[2]!;
  const m = Math.max(t1, e);
  const w1 = Math.exp(t1 - m);
  const w2 = Math.exp(e - m);
  const s = w1 + w2;
  const lp = m + Math.log(s);
  const j = [w1 / s, (-w1 / s) * lx, w2 / s];
  if (!inf.cov) return { x: xv, predicted: Math.exp(lp), ci: [NaN, NaN], pi: [NaN, NaN] };
  let v = 0;
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) v += j[a]! * inf.cov[a]![b]! * j[b]!;
  const seMean = Math.sqrt(Math.max(v, 0));
  const sePred = Math.sqrt(Math.max(v, 0) + inf.sigma2);
  return {
    x: xv,
    predicted: Math.exp(lp),
    ci: [Math.exp(lp - inf.t * seMean), Math.exp(lp + inf.t * seMean)],
    pi: [Math.exp(lp - inf.t * sePred), Math.exp(lp + inf.t * sePred)],
  };
}

