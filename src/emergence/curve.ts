/**
 * Scaling-curve analysis: a metric y measured at several points of a scale axis x (parameters N,
 * FLOPs, training step, tokens — or validation loss, where smaller means more scale).
 *
 * - breakthroughness: BIG-bench's B (Srivastava et al. 2022; Schaeffer et al. 2023's "emergence score").
 * - lmlab_linearity: lmlab's own measure (BIG-bench's linearity formula could not be recovered): R² of an
 *   ordinary least-squares fit of y on log10 x.
 * - emergence point: where y crosses halfway between floor and ceiling, log-interpolated, with the
 *   bracketing pair of measured scales and an optional parametric-bootstrap interval.
 * - shape label: flat | U-shaped | inverse | uncorrelated | emergent | smooth, by the rules in
 *   `classifyShape` (thresholds in SHAPE_THRESHOLDS, documented in docs/emergence.md).
 *
 * Points are always put in order of increasing scale first (ascending x for axis 'scale', descending x
 * for axis 'loss'), so "before" and "after" below mean smaller and larger scale.
 */
import { normal, Rng, uniform } from './rng.ts';

export class CurveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CurveError';
  }
}

export interface CurvePoint {
  x: number;
  y: number;
  /** Standard error of y (for the bootstrap). */
  se?: number;
  /** Number of eval examples behind y, when y is a proportion (for the binomial bootstrap). */
  count?: number;
}

/** 'scale': larger x = more scale (N, FLOPs, step). 'loss': smaller x = more scale (validation loss). */
export type Axis = 'scale' | 'loss';

/** Validate and sort points in order of increasing scale. Duplicate x values are rejected. */
export function orderByScale(points: readonly CurvePoint[], axis: Axis = 'scale'): CurvePoint[] {
  points.forEach((p, i) => {
    if (!Number.isFinite(p.x)) throw new CurveError(`point ${i}: x must be finite, got ${p.x}`);
    if (!Number.isFinite(p.y)) throw new CurveError(`point ${i}: y must be finite, got ${p.y}`);
  });
  const out = points.slice().sort((a, b) => (axis === 'scale' ? a.x - b.x : b.x - a.x));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.x === out[i - 1]!.x) throw new CurveError(`duplicate x = ${out[i]!.x}: average repeated measurements first`);
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// --------------------------------------------------------------------------------------------------
// Breakthroughness

export interface Breakthroughness {
  /** B, or the floored value when the denominator was floored. */
  value: number;
  /** sign(argmax − argmin): +1 when the maximum comes after the minimum (at larger scale). */
  sign: number;
  range: number;
  /** median of the squared consecutive differences (numpy median: mean of the two middle values for even counts). */
  medianSquaredStep: number;
  /** Denominator actually used. */
  denominator: number;
  /** True when sqrt(median) was below the floor and the floor was used instead. */
  floored: boolean;
  /** True when the raw score is infinite (median squared step exactly 0 with a non-zero range). */
  infinite: boolean;
}

export interface BreakthroughnessOptions {
  /** Absolute floor of the denominator; default 1e-3 · (max − min), so a floored |B| is 1000. */
  denominatorFloor?: number;
}

/**
 * BIG-bench breakthroughness of scores y (already in order of increasing scale):
 *   B = sign(argmax − argmin) · (max − min) / sqrt(median((y_i − y_{i−1})²)).
 * y = [0, .25, .5, .75, 1] → 4; [0, .01, .02, .03, 1] → 100. A constant curve gives B = 0.
 * Zero (or tiny) median step: the denominator is floored (see options) and `floored`/`infinite` say so.
 */
export function breakthroughness(y: readonly number[], opts: BreakthroughnessOptions = {}): Breakthroughness {
  if (y.length < 2) throw new CurveError(`breakthroughness needs at least 2 points, got ${y.length}`);
  let iMax = 0, iMin = 0;
  for (let i = 1; i < y.length; i++) {
    if (y[i]! > y[iMax]!) iMax = i;
    if (y[i]! < y[iMin]!) iMin = i;
  }
  const range = y[iMax]! - y[iMin]!;
  const sign = Math.sign(iMax - iMin);
  const sq: number[] = [];
  for (let i = 1; i < y.length; i++) sq.push((y[i]! - y[i - 1]!) ** 2);
  const med = median(sq);
  const raw = Math.sqrt(med);
  if (range === 0) return { value: 0, sign: 0, range, medianSquaredStep: med, denominator: raw, floored: false, infinite: false };
  const floor = opts.denominatorFloor ?? 1e-3 * range;
  if (!(floor > 0)) throw new CurveError(`breakthroughness: denominatorFloor must be > 0, got ${floor}`);
  const floored = raw < floor;
  const denominator = floored ? floor : raw;
  return { value: (sign * range) / denominator, sign, range, medianSquaredStep: med, denominator, floored, infinite: raw === 0 };
}

// --------------------------------------------------------------------------------------------------
// lmlab_linearity

export interface Linearity {
  /** lmlab_linearity: R² of the OLS fit y = a + b·t, t = log10 x (or x when some x ≤ 0); null when undefined. */
  lmlab_linearity: number | null;
  slope: number;
  intercept: number;
  xTransform: 'log10' | 'identity';
}

/**
 * lmlab_linearity = coefficient of determination R² = 1 − SS_res/SS_tot of the least-squares line of y
 * on log10 x. 1 = y is exactly linear in log-scale; near 0 = no linear trend (noise, U shape, or a
 * step concentrated at one end). Undefined (null) with fewer than 3 points or constant y.
 * Not BIG-bench's linearity score (whose formula lmlab could not recover): a different, named measure.
 */
export function lmlabLinearity(points: readonly CurvePoint[]): Linearity {
  const logOk = points.every((p) => p.x > 0);
  const t = points.map((p) => (logOk ? Math.log10(p.x) : p.x));
  const y = points.map((p) => p.y);
  const n = points.length;
  const xTransform = logOk ? 'log10' : 'identity';
  if (n < 2) return { lmlab_linearity: null, slope: NaN, intercept: NaN, xTransform };
  const mt = t.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let stt = 0, sty = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    stt += (t[i]! - mt) ** 2;
    sty += (t[i]! - mt) * (y[i]! - my);
    syy += (y[i]! - my) ** 2;
  }
  if (stt === 0) throw new CurveError('lmlabLinearity: all x are equal');
  const slope = sty / stt;
  const intercept = my - slope * mt;
  if (n < 3 || syy === 0) return { lmlab_linearity: null, slope, intercept, xTransform };
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (y[i]! - intercept - slope * t[i]!) ** 2;
  return { lmlab_linearity: Math.max(0, 1 - ssRes / syy), slope, intercept, xTransform };
}

// --------------------------------------------------------------------------------------------------
// Emergence point

export interface EmergencePointOptions {
  axis?: Axis;
  /** Floor (e.g. chance accuracy); default: the smallest y (or largest for direction 'down'). */
  floor?: number;
  /** Ceiling (e.g. 1); default: the largest y (or smallest for direction 'down'). */
  ceiling?: number;
  /** Fraction of the way from floor to ceiling (default 0.5). */
  level?: number;
  /** 'up': the metric rises with scale; 'down': it falls; 'auto' (default): sign of breakthroughness. */
  direction?: 'up' | 'down' | 'auto';
  /** Parametric-bootstrap replicates (default 1000 when every point has se or count, else 0). */
  bootstrap?: number;
  seed?: number | string;
  /** Central interval probability (default 0.95). */
  confidence?: number;
}

export interface EmergencePoint {
  /** Scale at the crossing (log-interpolated between the bracketing points), or null when y never crosses. */
  x: number | null;
  /** y value that defines the crossing: floor + level · (ceiling − floor). */
  threshold: number;
  floor: number;
  ceiling: number;
  direction: 'up' | 'down';
  /** The two measured x values around the crossing (ascending), or null. */
  bracket: [number, number] | null;
  interpolation: 'log' | 'linear';
  /** Percentile bootstrap interval of the crossing (geometric when log-interpolated), if computed. */
  interval?: [number, number];
  bootstrapReplicates?: number;
  /** Replicates in which the resampled curve never crossed (left out of the interval). */
  bootstrapNoCrossing?: number;
  /** Why x is null. */
  note?: string;
}

interface Crossing {
  x: number | null;
  i: number;
  note?: string;
}

/** First crossing of `h` in scale order; 'up' = first i with y_i < h ≤ y_{i+1}. */
function findCrossing(xs: readonly number[], ys: readonly number[], h: number, dir: 'up' | 'down', log: boolean): Crossing {
  const s = dir === 'up' ? 1 : -1;
  if (s * ys[0]! >= s * h) return { x: null, i: -1, note: 'already at or past the threshold at the smallest scale' };
  for (let i = 0; i + 1 < ys.length; i++) {
    const a = s * ys[i]!, b = s * ys[i + 1]!;
    if (a < s * h && b >= s * h) {
      const f = (s * h - a) / (b - a);
      const x = log ? Math.exp(Math.log(xs[i]!) + f * (Math.log(xs[i + 1]!) - Math.log(xs[i]!))) : xs[i]! + f * (xs[i + 1]! - xs[i]!);
      return { x, i };
    }
  }
  return { x: null, i: -1, note: 'never reaches the threshold' };
}

function binomialDraw(rng: Rng, n: number, p: number): number {
  if (n <= 2000) {
    let k = 0;
    for (let i = 0; i < n; i++) if (uniform(rng) < p) k++;
    return k;
  }
  const v = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(rng));
  return Math.min(n, Math.max(0, v));
}

/** Where the metric crosses halfway (by default) between floor and ceiling. */
export function emergencePoint(points: readonly CurvePoint[], opts: EmergencePointOptions = {}): EmergencePoint {
  const pts = orderByScale(points, opts.axis ?? 'scale');
  if (pts.length < 2) throw new CurveError(`emergencePoint needs at least 2 points, got ${pts.length}`);
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  const level = opts.level ?? 0.5;
  if (!(level > 0 && level < 1)) throw new CurveError(`emergencePoint: level must be in (0, 1), got ${level}`);
  let dir: 'up' | 'down';
  if (opts.direction === 'up' || opts.direction === 'down') dir = opts.direction;
  else dir = breakthroughness(ys).sign < 0 ? 'down' : 'up';
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const floorOf = (y: number[]): number => opts.floor ?? (dir === 'up' ? Math.min(...y) : Math.max(...y));
  const ceilOf = (y: number[]): number => opts.ceiling ?? (dir === 'up' ? Math.max(...y) : Math.min(...y));
  const floor = floorOf(ys), ceiling = ceilOf(ys);
  const threshold = floor + level * (ceiling - floor);
  const log = xs.every((x) => x > 0);
  const res: EmergencePoint = { x: null, threshold, floor, ceiling, direction: dir, bracket: null, interpolation: log ? 'log' : 'linear' };
  if (lo === hi) {
    res.note = 'constant curve';
    return res;
  }
  const c = findCrossing(xs, ys, threshold, dir, log);
  res.x = c.x;
  if (c.x === null) res.note = c.note;
  else res.bracket = [Math.min(xs[c.i]!, xs[c.i + 1]!), Math.max(xs[c.i]!, xs[c.i + 1]!)];

  const canBoot = pts.every((p) => (p.se !== undefined && p.se >= 0) || (p.count !== undefined && p.count > 0));
  const B = opts.bootstrap ?? (canBoot ? 1000 : 0);
  if (B > 0) {
    if (!canBoot) throw new CurveError('emergencePoint: bootstrap needs se or count on every point');
    const rng = new Rng(opts.seed ?? 0);
    const found: number[] = [];
    let none = 0;
    for (let b = 0; b < B; b++) {
      const yb = pts.map((p) =>
        p.se !== undefined ? p.y + p.se * normal(rng) : binomialDraw(rng, p.count!, Math.min(1, Math.max(0, p.y))) / p.count!,
      );
      const fb = floorOf(yb), cb = ceilOf(yb);
      const hb = fb + level * (cb - fb);
      const cr = fb === cb ? null : findCrossing(xs, yb, hb, dir, log).x;
      if (cr === null) none++;
      else found.push(log ? Math.log(cr) : cr);
    }
    res.bootstrapReplicates = B;
    res.bootstrapNoCrossing = none;
    if (found.length > 0) {
      found.sort((a, b) => a - b);
      const conf = opts.confidence ?? 0.95;
      const q = (p: number): number => {
        const pos = p * (found.length - 1);
        const i = Math.floor(pos), f = pos - i;
        return found[i]! + (i + 1 < found.length ? f * (found[i + 1]! - found[i]!) : 0);
      };
      const a = q((1 - conf) / 2), z = q(1 - (1 - conf) / 2);
      res.interval = log ? [Math.exp(a), Math.exp(z)] : [a, z];
    }
  }
  return res;
}

// --------------------------------------------------------------------------------------------------
// Shape label

export type ShapeLabel = 'flat' | 'U-shaped' | 'inverse' | 'uncorrelated' | 'emergent' | 'smooth';

export const SHAPE_THRESHOLDS = {
  /** flat: (max − min) < flatRange · metricSpan. */
  flatRange: 0.05,
  /**
   * monotone trend: the better of the increasing and the decreasing isotonic (monotone least-squares)
   * fits explains ≥ trendR2 of the variance. Isotonic R² handles plateaus and exact zeros (a curve
   * that is 0 everywhere but the last point is perfectly monotone) where rank correlations do not.
   * Below it (and not U-shaped): uncorrelated. With fewer than ~8 points pure noise passes this test
   * often (95th percentile of isotonic R² for iid noise: 0.93 at n = 6, 0.83 at n = 8, 0.71 at n = 10).
   */
  trendR2: 0.8,
  /** U shape: the interior extremum lies ≥ uDepth · range below (U) / above (inverted U) BOTH end points… */
  uDepth: 0.3,
  /** …each arm with ≥ 3 points has Spearman ρ of the right sign with |ρ| ≥ armRho… */
  armRho: 0.6,
  /** …and a quadratic in (log) scale explains ≥ uQuadR2 of the variance (R²). */
  uQuadR2: 0.6,
  /** emergent: some window of the log-scale axis no wider than windowFraction of the span (or one step) … */
  windowFraction: 0.3,
  /** … holds ≥ jumpShare of the total rise (max − min) … */
  jumpShare: 0.6,
  /** … and starts from near the floor: y at the window start − min ≤ floorBand · range, with at least one point before it. */
  floorBand: 0.2,
} as const;

export interface ShapeOptions {
  axis?: Axis;
  /** Orientation: true (default) for accuracy-like metrics, false for loss / edit distance. */
  higherIsBetter?: boolean;
  /** Natural span of the metric for the flat test; default 1 when all y ∈ [0, 1], else max |y|. */
  metricSpan?: number;
  thresholds?: Partial<typeof SHAPE_THRESHOLDS>;
}

export interface ShapeResult {
  label: ShapeLabel;
  /** For U-shaped: 'U' (worse then better) or 'inverted-U' (better then worse), in the oriented metric. */
  orientation?: 'U' | 'inverted-U';
  reasons: string[];
  stats: {
    n: number;
    range: number;
    relativeRange: number;
    spearman: number;
    /** R² of the best increasing isotonic fit (oriented metric). */
    isotonicR2Up: number;
    /** R² of the best decreasing isotonic fit (oriented metric). */
    isotonicR2Down: number;
    /** R² of the quadratic fit in (log) scale. */
    quadraticR2: number | null;
    /** Largest share of the rise inside one window (emergence test). */
    jumpShare: number;
    /** Index (scale order) where the steepest window starts. */
    jumpStart: number;
    /** Oriented y at the window start, relative to the range above the minimum. */
    jumpStartLevel: number;
  };
  thresholds: typeof SHAPE_THRESHOLDS;
}

/** Average ranks (1-based), ties averaged. */
function ranks(v: readonly number[]): number[] {
  const idx = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation of y with its position (0, 1, 2, …); 0 for a constant y. */
export function spearmanWithOrder(y: readonly number[]): number {
  const n = y.length;
  if (n < 2) return 0;
  const ry = ranks(y);
  const rx = y.map((_, i) => i + 1);
  const m = (n + 1) / 2;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - m) * (ry[i]! - m);
    sxx += (rx[i]! - m) ** 2;
    syy += (ry[i]! - m) ** 2;
  }
  return syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/**
 * Label the shape of a scaling curve. Rules, applied in order on the oriented metric
 * y' = y (higherIsBetter) or −y, in order of increasing scale:
 *  1. flat: range < flatRange · metricSpan.
 *  2. U-shaped: an interior minimum (U) or maximum (inverted-U) at least uDepth · range away from both
 *     end points, each arm with ≥ 3 points monotone in the right direction (|ρ| ≥ armRho), and a
 *     quadratic in (log) scale with R² ≥ uQuadR2.
 *  3. uncorrelated: neither an increasing nor a decreasing isotonic fit reaches R² ≥ trendR2.
 *  4. inverse: the decreasing isotonic fit is the better one (the metric gets worse with scale).
 *  5. emergent (increasing): a window of the (log) scale axis of width ≤ windowFraction of the span,
 *     or a single step, holds ≥ jumpShare of the rise, and starts near the floor (≤ floorBand · range
 *     above the minimum) after at least one measured point.
 *  6. smooth: otherwise (a monotone, gradual improvement).
 */
export function classifyShape(points: readonly CurvePoint[], opts: ShapeOptions = {}): ShapeResult {
  const T = { ...SHAPE_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const pts = orderByScale(points, opts.axis ?? 'scale');
  const n = pts.length;
  if (n < 3) throw new CurveError(`classifyShape needs at least 3 points, got ${n}`);
  const sgn = opts.higherIsBetter === false ? -1 : 1;
  const y = pts.map((p) => sgn * p.y);
  const raw = pts.map((p) => p.y);
  const span = opts.metricSpan ?? (raw.every((v) => v >= 0 && v <= 1) ? 1 : Math.max(...raw.map(Math.abs)));
  const lo = Math.min(...y), hi = Math.max(...y);
  const range = hi - lo;
  const rho = spearmanWithOrder(y);
  const log = pts.every((p) => p.x > 0);
  const t = pts.map((p) => (log ? Math.log(p.x) : p.x));
  const tspan = Math.abs(t[n - 1]! - t[0]!);

  // steepest window: the largest rise y[j] − y[i] over windows (i, j) that are one step or no wider
  // than windowFraction of the axis span; its start is then moved past points still at floor level.
  let best = -Infinity, bestStart = 0, bestEnd = 1;
  for (let i = 0; i + 1 < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j > i + 1 && Math.abs(t[j]! - t[i]!) > T.windowFraction * tspan) break;
      const rise = y[j]! - y[i]!;
      if (rise > best) {
        best = rise;
        bestStart = i;
        bestEnd = j;
      }
    }
  }
  while (bestStart + 1 < bestEnd && y[bestStart + 1]! - lo <= T.floorBand * range) bestStart++;
  const jumpShare = range > 0 ? best / range : 0;
  const jumpStartLevel = range > 0 ? (y[bestStart]! - lo) / range : 0;
  const isotonicR2Up = isotonicR2(y, 'up');
  const isotonicR2Down = isotonicR2(y, 'down');
  const quadraticR2 = quadraticFitR2(t, y);
  const stats = {
    n,
    range,
    relativeRange: span > 0 ? range / span : Infinity,
    spearman: rho,
    isotonicR2Up,
    isotonicR2Down,
    quadraticR2,
    jumpShare,
    jumpStart: bestStart,
    jumpStartLevel,
  };
  const out = (label: ShapeLabel, reasons: string[], orientation?: 'U' | 'inverted-U'): ShapeResult => {
    const r: ShapeResult = { label, reasons, stats, thresholds: T };
    if (orientation) r.orientation = orientation;
    return r;
  };

  if (!(range >= T.flatRange * span)) {
    return out('flat', [`range ${fmt(range)} < flatRange ${T.flatRange} × metric span ${fmt(span)}`]);
  }
  // U / inverted U
  for (const orient of ['U', 'inverted-U'] as const) {
    const s = orient === 'U' ? 1 : -1; // for U look at the minimum of y, for ∩ at the minimum of −y
    const z = y.map((v) => s * v);
    let m = 0;
    for (let i = 1; i < n; i++) if (z[i]! < z[m]!) m = i;
    if (m === 0 || m === n - 1) continue;
    const dl = z[0]! - z[m]!, dr = z[n - 1]! - z[m]!;
    if (dl < T.uDepth * range || dr < T.uDepth * range) continue;
    const left = z.slice(0, m + 1), right = z.slice(m);
    if (left.length >= 3 && spearmanWithOrder(left) > -T.armRho) continue;
    if (right.length >= 3 && spearmanWithOrder(right) < T.armRho) continue;
    if (quadraticR2 === null || quadraticR2 < T.uQuadR2) continue;
    return out(
      'U-shaped',
      [
        `interior ${orient === 'U' ? 'minimum' : 'maximum'} at point ${m}: ${fmt(dl / range)} and ${fmt(dr / range)} of the range away from the ends (≥ uDepth ${T.uDepth})`,
        `arms monotone (|ρ| ≥ ${T.armRho}), quadratic R² = ${fmt(quadraticR2)} ≥ ${T.uQuadR2}`,
      ],
      orient,
    );
  }
  if (Math.max(isotonicR2Up, isotonicR2Down) < T.trendR2) {
    return out('uncorrelated', [
      `no monotone trend: isotonic R² ${fmt(isotonicR2Up)} (up) / ${fmt(isotonicR2Down)} (down) < ${T.trendR2}, and no U shape`,
    ]);
  }
  if (isotonicR2Down > isotonicR2Up) {
    return out('inverse', [`decreasing isotonic fit R² = ${fmt(isotonicR2Down)} ≥ ${T.trendR2} (Spearman ρ = ${fmt(rho)}): worse with scale`]);
  }
  if (jumpShare >= T.jumpShare && bestStart >= 1 && jumpStartLevel <= T.floorBand) {
    return out('emergent', [
      `a window starting at point ${bestStart} holds ${fmt(jumpShare)} of the rise (≥ ${T.jumpShare})`,
      `it starts ${fmt(jumpStartLevel)} of the range above the floor (≤ ${T.floorBand}) after ${bestStart} point(s) near the floor`,
    ]);
  }
  const why: string[] = [`increasing isotonic fit R² = ${fmt(isotonicR2Up)} ≥ ${T.trendR2} (Spearman ρ = ${fmt(rho)})`];
  if (jumpShare < T.jumpShare) why.push(`steepest window holds ${fmt(jumpShare)} of the rise (< ${T.jumpShare})`);
  else if (bestStart < 1) why.push('the steepest rise starts at the first point (no floor region observed)');
  else why.push(`the steepest rise starts ${fmt(jumpStartLevel)} of the range above the floor (> ${T.floorBand})`);
  return out('smooth', why);
}

/** Pool-adjacent-violators: least-squares non-decreasing fit of y (equal weights). */
export function isotonicFit(y: readonly number[]): number[] {
  const val: number[] = [], cnt: number[] = [];
  for (const v of y) {
    val.push(v);
    cnt.push(1);
    while (val.length > 1 && val[val.length - 2]! > val[val.length - 1]!) {
      const c = cnt.pop()!, v2 = val.pop()!;
      const c1 = cnt[cnt.length - 1]!, v1 = val[val.length - 1]!;
      val[val.length - 1] = (v1 * c1 + v2 * c) / (c1 + c);
      cnt[cnt.length - 1] = c1 + c;
    }
  }
  const out: number[] = [];
  val.forEach((v, i) => {
    for (let k = 0; k < cnt[i]!; k++) out.push(v);
  });
  return out;
}

/** R² of the isotonic (monotone) least-squares fit, increasing or decreasing; 0 for constant y. */
export function isotonicR2(y: readonly number[], dir: 'up' | 'down'): number {
  const s = dir === 'up' ? 1 : -1;
  const fit = isotonicFit(y.map((v) => s * v)).map((v) => s * v);
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let ssTot = 0, ssRes = 0;
  for (let i = 0; i < y.length; i++) {
    ssTot += (y[i]! - my) ** 2;
    ssRes += (y[i]! - fit[i]!) ** 2;
  }
  return ssTot === 0 ? 0 : 1 - ssRes / ssTot;
}

/** R² of the least-squares quadratic y = a + b·t + c·t²; null when y is constant or n < 4. */
export function quadraticFitR2(t: readonly number[], y: readonly number[]): number | null {
  const n = t.length;
  if (n < 4) return null;
  const mt = t.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(t.reduce((a, b) => a + (b - mt) ** 2, 0) / n) || 1;
  const u = t.map((v) => (v - mt) / sd); // centred and scaled for conditioning
  // normal equations for [1, u, u²]
  const S = [0, 0, 0, 0, 0];
  const R = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    let p = 1;
    for (let k = 0; k < 5; k++) {
      S[k]! += p;
      if (k < 3) R[k]! += p * y[i]!;
      p *= u[i]!;
    }
  }
  const A = [
    [S[0]!, S[1]!, S[2]!, R[0]!],
    [S[1]!, S[2]!, S[3]!, R[1]!],
    [S[2]!, S[3]!, S[4]!, R[2]!],
  ];
  for (let c = 0; c < 3; c++) {
    let piv = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    if (Math.abs(A[c]![c]!) < 1e-12) return null;
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 4; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const coef = [A[0]![3]! / A[0]![0]!, A[1]![3]! / A[1]![1]!, A[2]![3]! / A[2]![2]!];
  const my = y.reduce((a, b) => a + b, 0) / n;
  let ssTot = 0, ssRes = 0;
  for (let i = 0; i < n; i++) {
    ssTot += (y[i]! - my) ** 2;
    ssRes += (y[i]! - coef[0]! - coef[1]! * u[i]! - coef[2]! * u[i]! ** 2) ** 2;
  }
  return ssTot === 0 ? null : Math.max(0, 1 - ssRes / ssTot);
}

function fmt(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v);
}

// --------------------------------------------------------------------------------------------------
// Everything at once

export interface CurveAnalysisOptions extends EmergencePointOptions, Omit<ShapeOptions, 'axis'> {
  breakthroughness?: BreakthroughnessOptions;
}

export interface CurveAnalysis {
  n: number;
  axis: Axis;
  points: CurvePoint[];
  breakthroughness: Breakthroughness;
  linearity: Linearity;
  emergencePoint: EmergencePoint;
  shape: ShapeResult;
}

/** Breakthroughness, lmlab_linearity, emergence point and shape label of one curve. */
export function analyzeCurve(points: readonly CurvePoint[], opts: CurveAnalysisOptions = {}): CurveAnalysis {
  const axis = opts.axis ?? 'scale';
  const pts = orderByScale(points, axis);
  return {
    n: pts.length,
    axis,
    points: pts,
    breakthroughness: breakthroughness(pts.map((p) => p.y), opts.breakthroughness),
    linearity: lmlabLinearity(pts),
    emergencePoint: emergencePoint(pts, opts),
    shape: classifyShape(pts, opts),
  };
}

// --------------------------------------------------------------------------------------------------
// CSV input

export interface CsvColumns {
  x?: string;
  y?: string;
  se?: string;
  count?: string;
}

/** Parse a small CSV (header row; '#' comment lines; optional double quotes; no embedded commas). */
export function parseCsv(text: string, source = 'csv'): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (lines.length === 0) throw new CurveError(`${source}: empty file`);
  const split = (l: string): string[] => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const header = split(lines[0]!);
  const rows = lines.slice(1).map(split);
  rows.forEach((r, i) => {
    if (r.length !== header.length) throw new CurveError(`${source}: row ${i + 2} has ${r.length} fields, the header has ${header.length}`);
  });
  return { header, rows };
}

/** Curve points from CSV text; x defaults to the first column, y to the second. */
export function curveFromCsv(text: string, cols: CsvColumns = {}, source = 'csv'): CurvePoint[] {
  const { header, rows } = parseCsv(text, source);
  const col = (name: string | undefined, fallback: number | null, role: string): number | null => {
    if (name === undefined) {
      if (fallback === null) return null;
      if (fallback >= header.length) throw new CurveError(`${source}: no column ${fallback + 1} for ${role} (header: ${header.join(', ')})`);
      return fallback;
    }
    const i = header.indexOf(name);
    if (i < 0) throw new CurveError(`${source}: no column '${name}' for ${role} (header: ${header.join(', ')})`);
    return i;
  };
  const xi = col(cols.x, 0, 'x')!, yi = col(cols.y, 1, 'y')!;
  const si = col(cols.se, null, 'se'), ci = col(cols.count, null, 'count');
  const num = (r: string[], i: number, row: number): number => {
    const v = Number(r[i]);
    if (r[i] === '' || !Number.isFinite(v)) throw new CurveError(`${source}: row ${row}, column '${header[i]}': '${r[i]}' is not a finite number`);
    return v;
  };
  return rows.map((r, k) => {
    const p: CurvePoint = { x: num(r, xi, k + 2), y: num(r, yi, k + 2) };
    if (si !== null) p.se = num(r, si, k + 2);
    if (ci !== null) p.count = num(r, ci, k + 2);
    return p;
  });
}
