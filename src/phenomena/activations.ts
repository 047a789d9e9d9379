/**
 * Massive activations (Sun et al. 2024, "Massive Activations in Large Language Models").
 *
 * For every layer, the hidden state h (default: the residual-stream output of the block, hook_resid_post) of
 * each input sequence [T, d_model] is summarised by the statistics of |h| that Sun et al. tabulate:
 * the 1st … K-th largest, the top 1% and top 10% values (the k-th largest with k = ceil(p·n)), and the median
 * (torch.median: the lower middle value). Statistics are computed per sequence, then reported as the mean
 * over sequences with their standard deviation (variation across inputs). Locations — token position, token
 * id and feature dimension — of each sequence's top-K entries are counted.
 *
 * Criteria (DOMAIN.md §5):
 * - absolute (Sun et al.): an entry is massive when |h| > absThreshold (100) and |h| ≥ absRatio (1000) × the
 *   median |h| of the same layer and sequence;
 * - relative (for small models, which rarely pass the absolute test): with a baseline model (the same model at
 *   step 0), ρ_l = mean over sequences of top-1/median at layer l of the baseline on the same inputs; an entry
 *   is relatively massive when |h| / median ≥ relFactor × ρ_l. The per-layer gain (top-1/median now over ρ_l)
 *   is reported either way.
 */
import type { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import {
  PhenomenaError, STREAM_HOOKS, forBatches, lowerMedianSorted, meanStd, streamHookName, topShareValue, withHooks,
  type StreamHook,
} from './common.ts';

export interface ActivationOptions {
  /** which hidden state (default resid_post: the block output, as Sun et al.) */
  hook?: StreamHook;
  /** how many largest values to tabulate (default 5) */
  topK?: number;
  /** absolute criterion: |h| > absThreshold … (default 100) */
  absThreshold?: number;
  /** … and |h| ≥ absRatio × median (default 1000) */
  absRatio?: number;
  /** relative criterion factor over the baseline's top-1/median ratio (default 10) */
  relFactor?: number;
  /** the same model at step 0 (same config): enables the relative criterion */
  baseline?: GPT | null;
  /** sequences per forward pass (default 4) */
  batch?: number;
  /** most entries listed per layer and criterion (default 20; counts are always complete) */
  maxEntries?: number;
}

/** One activation entry. */
export interface ActEntry {
  /** index of the input sequence */
  seq: number;
  /** token position within the sequence */
  position: number;
  /** feature dimension */
  dim: number;
  /** token id at that position */
  token: number;
  /** signed value of h */
  value: number;
  /** |h| / median |h| of the layer and sequence */
  ratio: number;
}

export interface CriterionResult {
  /** entries passing, over all sequences */
  count: number;
  /** sequences with at least one passing entry */
  sequences: number;
  /** the largest passing entries (at most maxEntries) */
  entries: ActEntry[];
}

export interface Count {
  key: number;
  count: number;
}

export interface LayerActivationStats {
  layer: number;
  /** mean over sequences of the 1st … K-th largest |h| */
  top: number[];
  /** standard deviation over sequences of the same */
  topStd: number[];
  top1pct: number;
  top10pct: number;
  /** mean over sequences of median |h| (torch.median) */
  median: number;
  medianStd: number;
  /** mean over sequences of top-1 / median */
  ratio: number;
  ratioStd: number;
  /** largest top-1 / median of any sequence */
  ratioMax: number;
  /** largest |h| of any sequence */
  maxAbs: number;
  /** how often each feature dimension hosts one of a sequence's top-K entries (descending) */
  dims: Count[];
  /** how often each token position hosts one of a sequence's top-K entries (descending) */
  positions: Count[];
  /** how often each token id hosts one of a sequence's top-K entries (descending) */
  tokens: Count[];
  /** the top-1 entry of each sequence */
  top1: ActEntry[];
  absolute: CriterionResult;
  /** null without a baseline */
  relative: (CriterionResult & { baselineRatio: number; gain: number; threshold: number }) | null;
  /** max |h| per feature dimension over all tokens and sequences (figure data) */
  dimMax: number[];
}

/** Where a flagged (position, dim) first appears going up the layers. */
export interface Onset {
  criterion: 'absolute' | 'relative';
  layer: number;
  position: number;
  dim: number;
  /** sequences in which it is flagged at that layer */
  sequences: number;
  /** largest |h| there */
  maxAbs: number;
}

export interface ActivationReport {
  hook: StreamHook;
  sequences: number;
  T: number;
  d_model: number;
  options: { topK: number; absThreshold: number; absRatio: number; relFactor: number };
  layers: LayerActivationStats[];
  /** baseline per-layer summary (null without a baseline) */
  baseline: { layer: number; top1: number; median: number; ratio: number }[] | null;
  /** layers with at least one entry passing the absolute criterion */
  massiveLayers: number[];
  /** layers with at least one entry passing the relative criterion */
  relativeLayers: number[];
  /** first layer of each flagged (position, dim), sorted by layer then size */
  onsets: Onset[];
}

interface Acc {
  tops: number[][]; p1: number[]; p10: number[]; med: number[]; ratio: number[]; maxAbs: number;
  dims: Map<number, number>; positions: Map<number, number>; tokens: Map<number, number>;
  top1: ActEntry[];
  abs: { count: number; seqs: Set<number>; entries: ActEntry[] };
  rel: { count: number; seqs: Set<number>; entries: ActEntry[] };
  dimMax: Float64Array;
  onsetKeys: Map<string, { crit: 'absolute' | 'relative'; position: number; dim: number; seqs: Set<number>; maxAbs: number }>;
}

const inc = (m: Map<number, number>, k: number): void => void m.set(k, (m.get(k) ?? 0) + 1);
const sortedCounts = (m: Map<number, number>): Count[] => [...m].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key - b.key);

/** Per-layer top-1/median ratio of a model on the given windows (the quantity the relative criterion uses). */
export function layerRatios(model: GPT, seqs: readonly Int32Array[], hook: StreamHook = 'resid_post', batch = 4): { top1: number; median: number; ratio: number }[] {
  const L = model.config.n_layer, C = model.config.d_model;
  const acc = Array.from({ length: L }, () => ({ top1: [] as number[], med: [] as number[], ratio: [] as number[] }));
  const hooks = new Map<string, HookFn>();
  for (let l = 0; l < L; l++) {
    hooks.set(streamHookName(hook, l), (act, ctx) => {
      const [B, T] = ctx.shape as [number, number, number];
      for (let b = 0; b < B; b++) {
        const abs = new Float32Array(T * C);
        for (let i = 0; i < T * C; i++) abs[i] = Math.abs(act[b * T * C + i]!);
        abs.sort();
        const top1 = abs[abs.length - 1]!, med = lowerMedianSorted(abs);
        acc[l]!.top1.push(top1);
        acc[l]!.med.push(med);
        acc[l]!.ratio.push(top1 / med);
      }
    });
  }
  withHooks(model, hooks, () => forBatches(seqs, batch, (ids, B, T) => model.forward(ids, B, T)));
  return acc.map((a) => ({ top1: meanStd(a.top1).mean, median: meanStd(a.med).mean, ratio: meanStd(a.ratio).mean }));
}

/** Per-layer statistics of |h| over the windows `seqs` (each a token window of one length). */
export function activationStats(model: GPT, seqs: readonly Int32Array[], o: ActivationOptions = {}): ActivationReport {
  const hook = o.hook ?? 'resid_post';
  if (!STREAM_HOOKS.includes(hook)) throw new PhenomenaError(`hook: '${hook}' is not one of ${STREAM_HOOKS.join(', ')}`);
  if (hook === 'resid_mid' && model.config.parallel_residual) throw new PhenomenaError('hook: resid_mid does not exist in parallel-residual models');
  const K = o.topK ?? 5, absThreshold = o.absThreshold ?? 100, absRatio = o.absRatio ?? 1000, relFactor = o.relFactor ?? 10;
  const batch = o.batch ?? 4, maxEntries = o.maxEntries ?? 20;
  if (!(K >= 1 && Number.isInteger(K))) throw new PhenomenaError(`topK: expected an integer ≥ 1, got ${K}`);
  const L = model.config.n_layer, C = model.config.d_model;
  let baseline: ActivationReport['baseline'] = null;
  if (o.baseline) {
    const bc = o.baseline.config;
    if (bc.n_layer !== L || bc.d_model !== C) throw new PhenomenaError(`baseline: shape (${bc.n_layer} layers, d_model ${bc.d_model}) differs from the model (${L}, ${C})`);
    baseline = layerRatios(o.baseline, seqs, hook, batch).map((r, layer) => ({ layer, ...r }));
  }
  const accs: Acc[] = Array.from({ length: L }, () => ({
    tops: Array.from({ length: K }, () => []), p1: [], p10: [], med: [], ratio: [], maxAbs: 0,
    dims: new Map(), positions: new Map(), tokens: new Map(), top1: [],
    abs: { count: 0, seqs: new Set(), entries: [] }, rel: { count: 0, seqs: new Set(), entries: [] },
    dimMax: new Float64Array(C), onsetKeys: new Map(),
  }));
  let curIds: Int32Array | null = null, curFirst = 0;
  const keep = (list: ActEntry[], e: ActEntry): void => {
    list.push(e);
    if (list.length > 4 * maxEntries) {
      list.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
      list.length = maxEntries;
    }
  };
  const hooks = new Map<string, HookFn>();
  for (let l = 0; l < L; l++) {
    const a = accs[l]!;
    const relRatio = baseline ? relFactor * baseline[l]!.ratio : Infinity;
    hooks.set(streamHookName(hook, l), (act, ctx) => {
      const [B, T] = ctx.shape as [number, number, number];
      const n = T * C;
      const abs = new Float32Array(n);
      for (let b = 0; b < B; b++) {
        const seq = curFirst + b, base = b * n;
        for (let i = 0; i < n; i++) {
          const v = Math.abs(act[base + i]!);
          abs[i] = v;
          const d = i % C;
          if (v > a.dimMax[d]!) a.dimMax[d] = v;
        }
        const sorted = Float32Array.from(abs).sort();
        const med = lowerMedianSorted(sorted);
        const desc = sorted.reverse();
        for (let k = 0; k < K; k++) a.tops[k]!.push(desc[Math.min(k, n - 1)]!);
        a.p1.push(topShareValue(desc, 0.01));
        a.p10.push(topShareValue(desc, 0.1));
        a.med.push(med);
        a.ratio.push(desc[0]! / med);
        a.maxAbs = Math.max(a.maxAbs, desc[0]!);
        // locations of the top-K entries (ties broken by index)
        const kth = desc[Math.min(K, n) - 1]!;
        const cand: number[] = [];
        for (let i = 0; i < n; i++) if (abs[i]! >= kth) cand.push(i);
        cand.sort((x, y) => abs[y]! - abs[x]! || x - y);
        const entry = (i: number): ActEntry => {
          const position = Math.floor(i / C), dim = i % C;
          return { seq, position, dim, token: curIds![b * T + position]!, value: act[base + i]!, ratio: abs[i]! / med };
        };
        cand.slice(0, K).forEach((i, r) => {
          const e = entry(i);
          inc(a.dims, e.dim);
          inc(a.positions, e.position);
          inc(a.tokens, e.token);
          if (r === 0) a.top1.push(e);
        });
        // criteria
        const relCut = relRatio * med;
        for (let i = 0; i < n; i++) {
          const v = abs[i]!;
          const isAbs = v > absThreshold && v >= absRatio * med;
          const isRel = v >= relCut;
          if (!isAbs && !isRel) continue;
          const e = entry(i);
          if (isAbs) {
            a.abs.count++;
            a.abs.seqs.add(seq);
            keep(a.abs.entries, e);
          }
          if (isRel) {
            a.rel.count++;
            a.rel.seqs.add(seq);
            keep(a.rel.entries, e);
          }
          for (const crit of [isAbs ? 'absolute' : null, isRel ? 'relative' : null] as const) {
            if (!crit) continue;
            const key = `${crit}:${e.position}:${e.dim}`;
            let o2 = a.onsetKeys.get(key);
            if (!o2) a.onsetKeys.set(key, (o2 = { crit, position: e.position, dim: e.dim, seqs: new Set(), maxAbs: 0 }));
            o2.seqs.add(seq);
            o2.maxAbs = Math.max(o2.maxAbs, v);
          }
        }
      }
    });
  }
  withHooks(model, hooks, () =>
    forBatches(seqs, batch, (ids, B, T, first) => {
      curIds = ids;
      curFirst = first;
      model.forward(ids, B, T);
    }),
  );
  const finish = (r: { count: number; seqs: Set<number>; entries: ActEntry[] }): CriterionResult => ({
    count: r.count, sequences: r.seqs.size,
    entries: r.entries.sort((x, y) => Math.abs(y.value) - Math.abs(x.value)).slice(0, maxEntries),
  });
  const layers: LayerActivationStats[] = accs.map((a, layer) => {
    const ratio = meanStd(a.ratio), med = meanStd(a.med);
    const tops = a.tops.map((t) => meanStd(t));
    return {
      layer,
      top: tops.map((t) => t.mean), topStd: tops.map((t) => t.std),
      top1pct: meanStd(a.p1).mean, top10pct: meanStd(a.p10).mean,
      median: med.mean, medianStd: med.std,
      ratio: ratio.mean, ratioStd: ratio.std, ratioMax: Math.max(...a.ratio), maxAbs: a.maxAbs,
      dims: sortedCounts(a.dims).slice(0, 16), positions: sortedCounts(a.positions).slice(0, 16), tokens: sortedCounts(a.tokens).slice(0, 16),
      top1: a.top1,
      absolute: finish(a.abs),
      relative: baseline ? { ...finish(a.rel), baselineRatio: baseline[layer]!.ratio, gain: ratio.mean / baseline[layer]!.ratio, threshold: relFactor * baseline[layer]!.ratio } : null,
      dimMax: Array.from(a.dimMax),
    };
  });
  // onsets: the first layer where each (criterion, position, dim) is flagged
  const seen = new Set<string>();
  const onsets: Onset[] = [];
  accs.forEach((a, layer) => {
    const here: Onset[] = [];
    for (const [key, v] of a.onsetKeys) {
      if (seen.has(key)) continue;
      seen.add(key);
      here.push({ criterion: v.crit, layer, position: v.position, dim: v.dim, sequences: v.seqs.size, maxAbs: v.maxAbs });
    }
    here.sort((x, y) => y.maxAbs - x.maxAbs);
    onsets.push(...here);
  });
  return {
    hook, sequences: seqs.length, T: seqs[0]!.length, d_model: C,
    options: { topK: K, absThreshold, absRatio, relFactor },
    layers, baseline,
    massiveLayers: layers.filter((l) => l.absolute.count > 0).map((l) => l.layer),
    relativeLayers: layers.filter((l) => (l.relative?.count ?? 0) > 0).map((l) => l.layer),
    onsets: onsets.slice(0, 200),
  };
}

/** Sun et al.'s table as text: one row per layer. */
export function formatActivationTable(r: ActivationReport): string {
  const f = (v: number): string => (Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(Math.abs(v) >= 10 ? 1 : 3));
  const K = r.options.topK;
  const head = ['layer', ...Array.from({ length: K }, (_, k) => `top${k + 1}`), 'top1%', 'top10%', 'median', 'top1/med', r.baseline ? 'gain' : '', 'top-1 at (pos, dim)', 'abs', r.baseline ? 'rel' : ''];
  const rows = r.layers.map((l) => {
    const loc = l.top1.length ? `${mode(l.top1.map((e) => e.position))}, ${mode(l.top1.map((e) => e.dim))}` : '';
    return [String(l.layer), ...l.top.map(f), f(l.top1pct), f(l.top10pct), f(l.median), `${f(l.ratio)}±${f(l.ratioStd)}`,
      l.relative ? f(l.relative.gain) : '', loc, String(l.absolute.count), l.relative ? String(l.relative.count) : ''];
  });
  const all = [head, ...rows].map((r2) => r2.filter((_, i) => head[i] !== ''));
  const w = all[0]!.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((c, i) => c.padStart(w[i]!)).join('  ')).join('\n') + '\n';
}

/** The most frequent value (ties: the smallest). */
export function mode(xs: readonly number[]): number {
  const m = new Map<number, number>();
  for (const x of xs) inc(m, x);
  return sortedCounts(m)[0]?.key ?? NaN;
}
