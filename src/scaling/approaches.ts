/**
 * Chinchilla approaches 1 and 2 (Hoffmann et al. 2022 §3.1-3.2).
 *
 * Approach 1 — lower envelope of training curves: every run (a model size N trained over a range of
 * compute) gives loss as a function of C; at each of a log-spaced set of FLOP values the run with the
 * lowest (interpolated, linear in log C) loss is compute-optimal there. Power laws N_opt = k_N C^a and
 * D_opt = k_D C^b are fitted by least squares in log-log space through the envelope points, with
 * D = C / (6N).
 *
 * Approach 2 — IsoFLOP profiles: points are grouped by budget (C values within `budgetTolDex` of each
 * other in log10), a parabola in log N is fitted to loss at each budget (optionally only to the `window`
 * points on each side of the observed minimum), its vertex gives N_opt(C) and L_opt(C), and power laws
 * are fitted through the minima.
 *
 * Intervals: OLS t-intervals on the exponents, and with `bootstrap` K > 0 percentile intervals from
 * resampling runs (approach 1) or points within each budget (approach 2), seeded.
 * Validation: leave the largest budget (approach 2) / the top of the compute range (approach 1) out,
 * refit, predict its N_opt and compare.
 */
import { ScalingInputError, FitNotConvergedError } from './errors.ts';
import type { Points } from './data.ts';
import { Rng } from './rng.ts';
import { linearRegression, percentileInterval, std, studentTQuantile, type Interval } from './stats.ts';

export interface PowerLaw {
  /** y = coef · C^exponent */
  coef: number;
  exponent: number;
  /** OLS t-interval on the exponent. */
  ci: Interval;
  r2Log: number;
  residuals: number[];
}

function powerLaw(C: number[], y: number[], level: number): PowerLaw {
  const lx = C.map(Math.log);
  const ly = y.map(Math.log);
  const lr = linearRegression(lx, ly);
  const t = C.length > 2 ? studentTQuantile(1 - (1 - level) / 2, C.length - 2) : NaN;
  return {
    coef: Math.exp(lr.intercept),
    exponent: lr.slope,
    ci: { lo: lr.slope - t * lr.slopeSE, hi: lr.slope + t * lr.slopeSE, se: lr.slopeSE },
    r2Log: lr.r2,
    residuals: lr.residuals,
  };
}

export interface OptimumPoint {
  C: number;
  N: number;
  D: number;
  loss: number;
}

export interface ApproachValidation {
  rule: string;
  /** Predicted and observed N_opt at the held-out compute. */
  heldOut: { C: number; observedN: number; predictedN: number; ratio: number }[];
  note?: string;
}

export interface ApproachFit {
  form: 'approach1' | 'approach2';
  /** N_opt(C) and D_opt(C) power laws. */
  N: PowerLaw;
  D: PowerLaw;
  level: number;
  optima: OptimumPoint[];
  /** Per-budget diagnostics (approach 2). */
  budgets?: BudgetFit[];
  bootstrap: { resamples: number; converged: number; seed: number; a: Interval; b: Interval; kN: Interval } | null;
  validation: ApproachValidation | null;
  notes: string[];
}

function requireNC(p: Points, form: string): { N: Float64Array; C: Float64Array } {
  if (p.N === null) throw new ScalingInputError(`${p.source}: ${form} needs a parameter-count column N`);
  const C = p.C ?? (p.D ? Float64Array.from(p.N, (v, i) => 6 * v * p.D![i]!) : null);
  if (C === null) throw new ScalingInputError(`${p.source}: ${form} needs a compute column C (or D to derive C = 6ND)`);
  return { N: p.N, C };
}

function fitPair(optima: OptimumPoint[], level: number): { N: PowerLaw; D: PowerLaw } {
  const C = optima.map((o) => o.C);
  return { N: powerLaw(C, optima.map((o) => o.N), level), D: powerLaw(C, optima.map((o) => o.D), level) };
}

// ---------------------------------------------------------------------------------------------
// Approach 1

export interface Approach1Options {
  /** Number of log-spaced FLOP values for the envelope (default 200). */
  gridPoints?: number;
  level?: number;
  bootstrap?: number;
  seed?: number;
  /** Fraction of the log-C range at the top held out for validation (default 0.2; 0 = none). */
  holdoutFraction?: number;
}

interface Curve {
  key: string;
  N: number;
  lc: number[];
  loss: number[];
}

function curvesOf(p: Points): Curve[] {
  const { N, C } = requireNC(p, 'approach 1');
  const by = new Map<string, Curve>();
  for (let i = 0; i < N.length; i++) {
    const key = p.run ? p.run[i]! : String(N[i]);
    let c = by.get(key);
    if (!c) {
      c = { key, N: N[i]!, lc: [], loss: [] };
      by.set(key, c);
    } else if (c.N !== N[i]) {
      throw new ScalingInputError(`${p.source} line ${p.lines[i]}: run '${key}' has two parameter counts (${c.N} and ${N[i]})`);
    }
    c.lc.push(Math.log(C[i]!));
    c.loss.push(p.loss[i]!);
  }
  for (const c of by.values()) {
    const order = c.lc.map((_, i) => i).sort((a, b) => c.lc[a]! - c.lc[b]!);
    c.lc = order.map((i) => c.lc[i]!);
    c.loss = order.map((i) => c.loss[i]!);
  }
  return [...by.values()];
}

function envelope(curves: Curve[], gridPoints: number): OptimumPoint[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of curves) {
    lo = Math.min(lo, c.lc[0]!);
    hi = Math.max(hi, c.lc[c.lc.length - 1]!);
  }
  const evalAt: number[] = [];
  for (let k = 0; k < gridPoints; k++) evalAt.push(gridPoints === 1 ? lo : lo + ((hi - lo) * k) / (gridPoints - 1));
  for (const c of curves) if (c.lc.length === 1) evalAt.push(c.lc[0]!);
  evalAt.sort((a, b) => a - b);
  const out: OptimumPoint[] = [];
  for (const x of evalAt) {
    let best = Infinity;
    let bestN = NaN;
    for (const c of curves) {
      const n = c.lc.length;
      let v = NaN;
      if (n === 1) {
        if (Math.abs(c.lc[0]! - x) < 1e-12) v = c.loss[0]!;
      } else if (x >= c.lc[0]! && x <= c.lc[n - 1]!) {
        let j = 1;
        while (j < n - 1 && c.lc[j]! < x) j++;
        const x0 = c.lc[j - 1]!;
        const x1 = c.lc[j]!;
        v = x1 === x0 ? Math.min(c.loss[j - 1]!, c.loss[j]!) : c.loss[j - 1]! + ((x - x0) / (x1 - x0)) * (c.loss[j]! - c.loss[j - 1]!);
      }
      if (v < best) {
        best = v;
        bestN = c.N;
      }
    }
    if (Number.isFinite(best)) out.push({ C: Math.exp(x), N: bestN, D: Math.exp(x) / (6 * bestN), loss: best });
  }
  return out;
}

export function fitApproach1(p: Points, opts: Approach1Options = {}): ApproachFit {
  const level = opts.level ?? 0.95;
  const gridPoints = opts.gridPoints ?? 200;
  const curves = curvesOf(p);
  if (curves.length < 2) throw new ScalingInputError(`${p.source}: approach 1 needs at least 2 runs (model sizes), got ${curves.length}`);
  const optima = envelope(curves, gridPoints);
  const distinctN = new Set(optima.map((o) => o.N)).size;
  if (distinctN < 2) throw new FitNotConvergedError(`approach 1 on ${p.source}: the envelope contains a single model size (${optima[0]?.N}); no power law can be fitted`);
  const { N, D } = fitPair(optima, level);
  const notes = [`envelope over ${gridPoints} log-spaced FLOP values (+ single-point runs) from ${curves.length} runs; ${distinctN} distinct model sizes on the envelope`];

  let bootstrap: ApproachFit['bootstrap'] = null;
  const K = opts.bootstrap ?? 0;
  if (K > 0) {
    const rng = new Rng(opts.seed ?? 0);
    const a: number[] = [];
    const b: number[] = [];
    const kN: number[] = [];
    for (let k = 0; k < K; k++) {
      const sample = curves.map(() => curves[rng.int(curves.length)]!);
      const env = envelope(sample, gridPoints);
      if (new Set(env.map((o) => o.N)).size < 2) continue;
      const f = fitPair(env, level);
      a.push(f.N.exponent);
      b.push(f.D.exponent);
      kN.push(f.N.coef);
    }
    bootstrap = { resamples: K, converged: a.length, seed: opts.seed ?? 0, a: iv(a, level), b: iv(b, level), kN: iv(kN, level) };
    if (a.length < K) notes.push(`${K - a.length} bootstrap resample(s) had a single model size on the envelope and were skipped`);
  }

  let validation: ApproachValidation | null = null;
  const frac = opts.holdoutFraction ?? 0.2;
  if (frac > 0) {
    const lcs = optima.map((o) => Math.log(o.C));
    const lo = Math.min(...lcs);
    const hi = Math.max(...lcs);
    const cut = hi - frac * (hi - lo);
    const train = optima.filter((o) => Math.log(o.C) < cut);
    const test = optima.filter((o) => Math.log(o.C) >= cut);
    const rule = `fit the envelope below the top ${Math.round(frac * 100)}% of the log-C range, predict N_opt above it`;
    if (new Set(train.map((o) => o.N)).size < 2) validation = { rule, heldOut: [], note: 'a single model size below the cut; no refit' };
    else {
      const f = fitPair(train, level);
      const pick = [test[0]!, test[Math.floor(test.length / 2)]!, test[test.length - 1]!];
      validation = {
        rule,
        heldOut: pick.map((o) => {
          const pn = f.N.coef * o.C ** f.N.exponent;
          return { C: o.C, observedN: o.N, predictedN: pn, ratio: pn / o.N };
        }),
      };
    }
  }
  return { form: 'approach1', N, D, level, optima, bootstrap, validation, notes };
}

// ---------------------------------------------------------------------------------------------
// Approach 2

export interface Approach2Options {
  /** Points whose log10 C differ by less than this belong to the same budget (default 0.05 dex). */
  budgetTolDex?: number;
  /** Fit the parabola only to the `window` points on each side of the lowest loss (default: all). */
  window?: number;
  level?: number;
  bootstrap?: number;
  seed?: number;
  /** Leave the largest budget out and predict its N_opt (default true). */
  validate?: boolean;
}

export interface BudgetFit {
  C: number;
  points: number;
  /** Points used by the parabola. */
  used: number;
  /** loss ≈ c0 + c1 (lnN − m) + c2 (lnN − m)², m the mean ln N of the used points. */
  parabola: [number, number, number] | null;
  optimum: OptimumPoint | null;
  /** Why the budget gave no optimum, or that its vertex is outside the sampled N range. */
  note?: string;
}

interface BudgetGroup {
  C: number;
  lnN: number[];
  loss: number[];
}

function groupBudgets(p: Points, tolDex: number): BudgetGroup[] {
  const { N, C } = requireNC(p, 'approach 2');
  const order = Array.from(C, (_, i) => i).sort((a, b) => C[a]! - C[b]!);
  const groups: { idx: number[] }[] = [];
  let prev = -Infinity;
  for (const i of order) {
    const l = Math.log10(C[i]!);
    if (l - prev > tolDex) groups.push({ idx: [] });
    groups[groups.length - 1]!.idx.push(i);
    prev = l;
  }
  return groups.map((g) => {
    const ord = [...g.idx].sort((a, b) => N[a]! - N[b]!);
    const lc = ord.reduce((s, i) => s + Math.log(C[i]!), 0) / ord.length;
    return { C: Math.exp(lc), lnN: ord.map((i) => Math.log(N[i]!)), loss: ord.map((i) => p.loss[i]!) };
  });
}

function fitBudget(g: BudgetGroup, window: number | undefined): BudgetFit {
  const n = g.lnN.length;
  let lo = 0;
  let hi = n;
  if (window !== undefined) {
    let im = 0;
    for (let i = 1; i < n; i++) if (g.loss[i]! < g.loss[im]!) im = i;
    lo = Math.max(0, im - window);
    hi = Math.min(n, im + window + 1);
  }
  const x = g.lnN.slice(lo, hi);
  const y = g.loss.slice(lo, hi);
  const used = x.length;
  const base: BudgetFit = { C: g.C, points: n, used, parabola: null, optimum: null };
  if (new Set(x).size < 3) return { ...base, note: `fewer than 3 distinct model sizes${window !== undefined ? ' in the window' : ''}` };
  const m = x.reduce((s, v) => s + v, 0) / used;
  // normal equations for y = c0 + c1 u + c2 u², u = x − m
  const S = [0, 0, 0, 0, 0];
  const T = [0, 0, 0];
  for (let i = 0; i < used; i++) {
    const u = x[i]! - m;
    let pw = 1;
    for (let k = 0; k < 5; k++) {
      S[k] = S[k]! + pw;
      if (k < 3) T[k] = T[k]! + pw * y[i]!;
      pw *= u;
    }
  }
  const c = solve3([
    [S[0]!, S[1]!, S[2]!],
    [S[1]!, S[2]!, S[3]!],
    [S[2]!, S[3]!, S[4]!],
  ], T);
  if (!c) return { ...base, note: 'singular parabola fit' };
  const [c0, c1, c2] = c as [number, number, number];
  if (!(c2 > 0)) return { ...base, parabola: [c0, c1, c2], note: 'parabola opens downward: no minimum' };
  const u = -c1 / (2 * c2);
  const lnNopt = m + u;
  const Nopt = Math.exp(lnNopt);
  const opt: OptimumPoint = { C: g.C, N: Nopt, D: g.C / (6 * Nopt), loss: c0 + c1 * u + c2 * u * u };
  const note = lnNopt < Math.min(...x) || lnNopt > Math.max(...x) ? 'vertex outside the sampled model sizes (extrapolated)' : undefined;
  return { ...base, parabola: [c0, c1, c2], optimum: opt, ...(note ? { note } : {}) };
}

function solve3(A: number[][], b: number[]): number[] | null {
  const M = A.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-300) return null;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k < 4; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]!;
    }
  }
  return [M[0]![3]! / M[0]![0]!, M[1]![3]! / M[1]![1]!, M[2]![3]! / M[2]![2]!];
}

export function fitApproach2(p: Points, opts: Approach2Options = {}): ApproachFit {
  const level = opts.level ?? 0.95;
  const tol = opts.budgetTolDex ?? 0.05;
  if (opts.window !== undefined && !(Number.isInteger(opts.window) && opts.window >= 1)) throw new ScalingInputError(`--window must be a positive integer, got ${opts.window}`);
  const groups = groupBudgets(p, tol);
  const budgets = groups.map((g) => fitBudget(g, opts.window));
  const optima = budgets.filter((b) => b.optimum !== null).map((b) => b.optimum!);
  const notes: string[] = [`${groups.length} budget(s) found (log10 C gap > ${tol} starts a new budget); ${optima.length} with a parabola minimum`];
  for (const b of budgets) if (b.note) notes.push(`budget C=${b.C.toPrecision(3)}: ${b.note}`);
  if (optima.length < 2) throw new FitNotConvergedError(`approach 2 on ${p.source}: only ${optima.length} budget(s) gave a parabola minimum; need at least 2 to fit N_opt(C)`, { budgets });
  const { N, D } = fitPair(optima, level);

  let bootstrap: ApproachFit['bootstrap'] = null;
  const K = opts.bootstrap ?? 0;
  if (K > 0) {
    const rng = new Rng(opts.seed ?? 0);
    const a: number[] = [];
    const b: number[] = [];
    const kN: number[] = [];
    for (let k = 0; k < K; k++) {
      const opt: OptimumPoint[] = [];
      for (const g of groups) {
        const n = g.lnN.length;
        const idx = Array.from({ length: n }, () => rng.int(n)).sort((x, y) => g.lnN[x]! - g.lnN[y]! || x - y);
        const r = fitBudget({ C: g.C, lnN: idx.map((i) => g.lnN[i]!), loss: idx.map((i) => g.loss[i]!) }, opts.window);
        if (r.optimum) opt.push(r.optimum);
      }
      if (opt.length < 2) continue;
      const f = fitPair(opt, level);
      a.push(f.N.exponent);
      b.push(f.D.exponent);
      kN.push(f.N.coef);
    }
    bootstrap = { resamples: K, converged: a.length, seed: opts.seed ?? 0, a: iv(a, level), b: iv(b, level), kN: iv(kN, level) };
  }

  let validation: ApproachValidation | null = null;
  if (opts.validate ?? true) {
    const rule = 'leave the largest budget out, fit N_opt(C) on the others, predict its N_opt';
    const last = optima[optima.length - 1]!;
    const train = optima.slice(0, -1);
    if (train.length < 2) validation = { rule, heldOut: [], note: 'fewer than 2 other budgets' };
    else {
      const f = fitPair(train, level);
      const pn = f.N.coef * last.C ** f.N.exponent;
      validation = { rule, heldOut: [{ C: last.C, observedN: last.N, predictedN: pn, ratio: pn / last.N }] };
    }
  }
  return { form: 'approach2', N, D, level, optima, budgets, bootstrap, validation, notes };
}

function iv(v: number[], level: number): Interval {
  if (v.length === 0) return { lo: NaN, hi: NaN, se: NaN };
  const [lo, hi] = percentileInterval(v, level);
  return { lo, hi, se: v.length > 1 ? std(v) : NaN };
}
