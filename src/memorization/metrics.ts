/**
 * Memorization and extraction metrics that need only token arrays and per-token log-probabilities.
 *
 * - Discoverable memorization (Carlini et al. 2022; Biderman et al. 2023): prompt with a k-token prefix,
 *   greedy-decode l tokens, compare position-wise with the true continuation.
 * - Extraction ranking (Carlini et al. 2021): perplexity, reference-model ratio, zlib ratio, lowercase ratio,
 *   sliding-window minimum perplexity; candidates are deduplicated, ranked, verified; precision@k.
 * Log-probabilities are natural logs of p(token | prefix), one per scored token.
 */
import pako from 'pako';

export class MetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricError';
  }
}

/**
 * Biderman et al. (2023) memorization score: fraction of the l = target.length continuation tokens that the
 * generation matches position-wise (missing generated tokens count as mismatches). Pythia uses k = l = 32.
 */
export function bidermanScore(target: ArrayLike<number>, generated: ArrayLike<number>): number {
  const l = target.length;
  if (l === 0) throw new MetricError('bidermanScore: target continuation is empty');
  let hit = 0;
  for (let j = 0; j < l; j++) if (j < generated.length && generated[j] === target[j]) hit++;
  return hit / l;
}

/** Memorized iff the score is exactly 1 (all l tokens reproduced). */
export function isExactlyMemorized(target: ArrayLike<number>, generated: ArrayLike<number>): boolean {
  return bidermanScore(target, generated) === 1;
}

export interface PrecisionRecall {
  tp: number; fp: number; fn: number; tn: number;
  /** P(large memorized | small memorized); NaN when the small model memorized nothing. */
  precision: number;
  /** P(small memorized | large memorized); NaN when the large model memorized nothing. */
  recall: number;
}

/**
 * Biderman et al. (2023): does "memorized by the small model" predict "memorized by the large model"?
 * Both arrays are per-sequence memorization flags over the same sequences.
 */
export function memorizationPrecisionRecall(smallMemorized: ArrayLike<boolean>, largeMemorized: ArrayLike<boolean>): PrecisionRecall {
  if (smallMemorized.length !== largeMemorized.length) {
    throw new MetricError(`memorizationPrecisionRecall: ${smallMemorized.length} small-model flags vs ${largeMemorized.length} large-model flags`);
  }
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < smallMemorized.length; i++) {
    const s = smallMemorized[i]!; const l = largeMemorized[i]!;
    if (s && l) tp++; else if (s) fp++; else if (l) fn++; else tn++;
  }
  return { tp, fp, fn, tn, precision: tp + fp ? tp / (tp + fp) : NaN, recall: tp + fn ? tp / (tp + fn) : NaN };
}

function checkLogprobs(lp: ArrayLike<number>, what: string): void {
  if (lp.length === 0) throw new MetricError(`${what}: no log-probabilities`);
  for (let i = 0; i < lp.length; i++) {
    const v = lp[i]!;
    if (!(v <= 0) || Number.isNaN(v)) throw new MetricError(`${what}: log-probability #${i} = ${v} is not ≤ 0`);
  }
}

/** log perplexity = −mean log p (natural log). */
export function logPerplexity(logprobs: ArrayLike<number>): number {
  checkLogprobs(logprobs, 'logPerplexity');
  let s = 0;
  for (let i = 0; i < logprobs.length; i++) s += logprobs[i]!;
  return -s / logprobs.length;
}

/** Perplexity = exp(−mean log p). Low perplexity ranks a candidate as likely memorized. */
export function perplexity(logprobs: ArrayLike<number>): number {
  return Math.exp(logPerplexity(logprobs));
}

/**
 * Reference-model ratio (Carlini 2021 "Small"/"Medium"): log ppl_ref / log ppl_target. High values: the target
 * model is unusually confident relative to the reference — rank descending.
 */
export function referenceRatio(logprobs: ArrayLike<number>, refLogprobs: ArrayLike<number>): number {
  return logPerplexity(refLogprobs) / logPerplexity(logprobs);
}

/**
 * zlib entropy of a text: byte length of its zlib stream from pako.deflate at level 6 (window 15, memLevel 8,
 * default strategy — zlib's defaults, matching Python's zlib.compress). Strings are UTF-8 encoded. The length is
 * pinned to this library: other deflate implementations can differ by a few bytes.
 */
export function zlibEntropy(text: string | Uint8Array): number {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return pako.deflate(bytes, { level: 6 }).length;
}

/** zlib ratio = zlib entropy (bytes) / log perplexity; high values rank a candidate as likely memorized. */
export function zlibRatio(logprobs: ArrayLike<number>, text: string | Uint8Array): number {
  return zlibEntropy(text) / logPerplexity(logprobs);
}

/**
 * Lowercase ratio (Carlini 2021): log ppl(lowercased text) / log ppl(text) under the same model; the caller
 * scores the lowercased text. High values rank as likely memorized.
 */
export function lowercaseRatio(logprobs: ArrayLike<number>, lowercasedLogprobs: ArrayLike<number>): number {
  return logPerplexity(lowercasedLogprobs) / logPerplexity(logprobs);
}

/**
 * Minimum perplexity over all windows of `window` consecutive tokens (Carlini 2021 used 50); a sequence
 * shorter than the window is one window. Low values rank as likely memorized.
 */
export function minWindowPerplexity(logprobs: ArrayLike<number>, window = 50): number {
  checkLogprobs(logprobs, 'minWindowPerplexity');
  if (!Number.isInteger(window) || window < 1) throw new MetricError(`minWindowPerplexity: window must be a positive integer, got ${window}`);
  const n = logprobs.length;
  const w = Math.min(window, n);
  let s = 0;
  for (let i = 0; i < w; i++) s += logprobs[i]!;
  let best = s;
  for (let i = w; i < n; i++) {
    s += logprobs[i]! - logprobs[i - w]!;
    if (s > best) best = s;
  }
  return Math.exp(-best / w);
}

export interface TemperatureSchedule { start: number; end: number; steps: number }
/** lmlab's decaying-temperature convention for Carlini 2021: T(t) = 10 − 9(t−1)/19 for t ≤ 20, then 1. */
export const CARLINI_TEMPERATURE: TemperatureSchedule = { start: 10, end: 1, steps: 20 };

/**
 * Temperature for the t-th generated token (t = 1, 2, …): linear from `start` at t = 1 to `end` at t = steps,
 * then `end`. With the default schedule T(1) = 10, T(20) = 1, T(t > 20) = 1.
 */
export function decayingTemperature(t: number, s: TemperatureSchedule = CARLINI_TEMPERATURE): number {
  if (!Number.isInteger(t) || t < 1) throw new MetricError(`decayingTemperature: token index t must be an integer ≥ 1, got ${t}`);
  if (s.steps < 2) return s.end;
  if (t >= s.steps) return s.end;
  return s.start - ((s.start - s.end) * (t - 1)) / (s.steps - 1);
}

/** Metric names and their ranking direction (true: higher value = more likely memorized). */
export const RANK_DIRECTION = {
  perplexity: false,
  referenceRatio: true,
  zlibRatio: true,
  lowercaseRatio: true,
  minWindowPerplexity: false,
} as const;

/**
 * Indices of candidates ordered from most to least likely memorized. Ties keep input order (stable); NaN
 * scores go last.
 */
export function rankByScore(scores: ArrayLike<number>, higherIsBetter: boolean): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  const key = (i: number) => { const v = scores[i]!; return Number.isNaN(v) ? -Infinity : higherIsBetter ? v : -v; };
  return idx.sort((a, b) => key(b) - key(a) || a - b);
}

/**
 * precision@k: the fraction of the top-k ranked candidates whose verification label is true (k is clipped
 * to the number of candidates).
 */
export function precisionAtK(scores: ArrayLike<number>, labels: ArrayLike<boolean>, k: number, higherIsBetter: boolean): number {
  if (scores.length !== labels.length) throw new MetricError(`precisionAtK: ${scores.length} scores vs ${labels.length} labels`);
  if (!Number.isInteger(k) || k < 1) throw new MetricError(`precisionAtK: k must be a positive integer, got ${k}`);
  const order = rankByScore(scores, higherIsBetter);
  const kk = Math.min(k, order.length);
  if (kk === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < kk; i++) if (labels[order[i]!]) hit++;
  return hit / kk;
}

export interface DedupOptions {
  /** 'exact': identical token sequences; 'trigram': Carlini 2021 near-duplicates (see below). */
  mode?: 'exact' | 'trigram';
  /** trigram mode: duplicates when |tri(a) ∩ tri(b)| ≥ threshold · min(|tri(a)|, |tri(b)|) (multisets). */
  threshold?: number;
}

/**
 * Deduplicate candidate generations, keeping the first of each group (so pass them in ranking order if the
 * best-ranked representative should survive). Returns the kept indices. In 'trigram' mode two candidates are
 * duplicates when their token-trigram multisets overlap in at least `threshold` (default 0.5) of the smaller
 * one — the symmetric form of Carlini et al. (2021)'s |tri(s1) ∩ tri(s2)| ≥ |tri(s1)|/2. Sequences shorter
 * than 3 tokens fall back to exact comparison.
 */
export function dedupeCandidates(candidates: readonly ArrayLike<number>[], opts: DedupOptions = {}): number[] {
  const mode = opts.mode ?? 'exact';
  const threshold = opts.threshold ?? 0.5;
  const seen = new Set<string>();
  const kept: number[] = [];
  if (mode === 'exact') {
    candidates.forEach((c, i) => { const k = Array.from(c).join(','); if (!seen.has(k)) { seen.add(k); kept.push(i); } });
    return kept;
  }
  const triCounts = (c: ArrayLike<number>) => {
    const m = new Map<string, number>();
    for (let i = 0; i + 2 < c.length; i++) { const k = `${c[i]},${c[i + 1]},${c[i + 2]}`; m.set(k, (m.get(k) ?? 0) + 1); }
    return m;
  };
  const keptTri: { m: Map<string, number>; size: number }[] = [];
  const inverted = new Map<string, number[]>(); // trigram -> kept slots containing it
  candidates.forEach((c, i) => {
    const exact = Array.from(c).join(',');
    if (c.length < 3) {
      if (!seen.has(exact)) { seen.add(exact); kept.push(i); }
      return;
    }
    const m = triCounts(c);
    const size = c.length - 2;
    const overlap = new Map<number, number>();
    for (const [t, cnt] of m) {
      for (const slot of inverted.get(t) ?? []) overlap.set(slot, (overlap.get(slot) ?? 0) + Math.min(cnt, keptTri[slot]!.m.get(t)!));
    }
    let dup = seen.has(exact);
    for (const [slot, ov] of overlap) if (ov >= threshold * Math.min(size, keptTri[slot]!.size)) { dup = true; break; }
    if (dup) return;
    seen.add(exact);
    const slot = keptTri.length;
    keptTri.push({ m, size });
    for (const t of m.keys()) { const l = inverted.get(t); if (l) l.push(slot); else inverted.set(t, [slot]); }
    kept.push(i);
  });
  return kept;
}
