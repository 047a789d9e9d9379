/**
 * Interventions on activations (Sun et al. 2024 §3.2): set chosen entries of a hidden state to zero or to
 * their dataset mean through hooks, and compare perplexity, next-token accuracy and task accuracy before and
 * after. (LLaMA2-7B: zeroing the massive activations → perplexity inf; setting them to their mean → unchanged.)
 *
 * A target is (layer, dim) of a stream hook (default resid_post), at a fixed token position, or — position
 * omitted — at every position where |h[dim]| ≥ minAbs (massive activations that sit on variable tokens, e.g.
 * the first delimiter). The dataset mean of a target is the mean of h over the entries it selects.
 */
import type { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import type { ActivationReport } from './activations.ts';
import { PhenomenaError, forBatches, scoreTokens, streamHookName, withHooks, type LMScore, type StreamHook } from './common.ts';
import { mcAccuracy, type MCItem } from './tasks.ts';

export interface InterventionTarget {
  layer: number;
  dim: number;
  /** token position; omitted = every position where |h[dim]| ≥ minAbs */
  position?: number;
  /** detection threshold when position is omitted */
  minAbs?: number;
}

export type InterventionMode = 'zero' | 'mean';

const keyOf = (t: InterventionTarget): string => `${t.layer}:${t.dim}:${t.position ?? '*'}`;

function check(model: GPT, targets: readonly InterventionTarget[]): void {
  const c = model.config;
  for (const t of targets) {
    if (!(t.layer >= 0 && t.layer < c.n_layer)) throw new PhenomenaError(`target ${keyOf(t)}: layer must be in [0, ${c.n_layer})`);
    if (!(t.dim >= 0 && t.dim < c.d_model)) throw new PhenomenaError(`target ${keyOf(t)}: dim must be in [0, ${c.d_model})`);
    if (t.position === undefined && !(t.minAbs !== undefined && t.minAbs > 0)) throw new PhenomenaError(`target ${keyOf(t)}: without a position, minAbs (> 0) selects the entries`);
  }
}

/** Visit the entries each target selects in one hidden state act[B, T, C]: fn(target index, flat index). */
function visit(act: ArrayLike<number>, B: number, T: number, C: number, targets: readonly InterventionTarget[], fn: (ti: number, idx: number) => void): void {
  targets.forEach((t, ti) => {
    for (let b = 0; b < B; b++) {
      if (t.position !== undefined) {
        if (t.position < T) fn(ti, (b * T + t.position) * C + t.dim);
      } else {
        for (let p = 0; p < T; p++) {
          const idx = (b * T + p) * C + t.dim;
          if (Math.abs(act[idx]!) >= t.minAbs!) fn(ti, idx);
        }
      }
    }
  });
}

/** Dataset mean of each target's entries over the windows (NaN where a target selected nothing). */
export function targetMeans(model: GPT, seqs: readonly Int32Array[], targets: readonly InterventionTarget[], hook: StreamHook = 'resid_post'): number[] {
  check(model, targets);
  const sum = new Float64Array(targets.length), cnt = new Float64Array(targets.length);
  const hooks = new Map<string, HookFn>();
  const C = model.config.d_model;
  for (const layer of new Set(targets.map((t) => t.layer))) {
    const mine = targets.map((t, i) => ({ t, i })).filter((x) => x.t.layer === layer);
    hooks.set(streamHookName(hook, layer), (act, ctx) => {
      const [B, T] = ctx.shape as [number, number, number];
      visit(act, B, T, C, mine.map((m) => m.t), (ti, idx) => {
        const i = mine[ti]!.i;
        sum[i]! += act[idx]!;
        cnt[i]!++;
      });
    });
  }
  withHooks(model, hooks, () => forBatches(seqs, 4, (ids, B, T) => model.forward(ids, B, T)));
  return Array.from(sum, (s, i) => (cnt[i]! > 0 ? s / cnt[i]! : NaN));
}

/** Hooks that set each target's entries to 0 or to its mean (values[i]). Counts replacements in `stats`. */
export function interventionHooks(model: GPT, targets: readonly InterventionTarget[], mode: InterventionMode, means: readonly number[] | null, hook: StreamHook = 'resid_post', stats = { replaced: 0 }): Map<string, HookFn> {
  check(model, targets);
  if (mode === 'mean' && (!means || means.length !== targets.length)) throw new PhenomenaError('mean intervention: one dataset mean per target is needed');
  const C = model.config.d_model, hooks = new Map<string, HookFn>();
  for (const layer of new Set(targets.map((t) => t.layer))) {
    const mine = targets.map((t, i) => ({ t, i })).filter((x) => x.t.layer === layer);
    hooks.set(streamHookName(hook, layer), (act, ctx) => {
      const [B, T] = ctx.shape as [number, number, number];
      const edits: [number, number][] = [];
      visit(act, B, T, C, mine.map((m) => m.t), (ti, idx) => {
        const v = mode === 'zero' ? 0 : means![mine[ti]!.i]!;
        edits.push([idx, Number.isFinite(v) ? v : act[idx]!]);
      });
      // apply after visiting, so detection reads the original values
      for (const [idx, v] of edits) act[idx] = v;
      stats.replaced += edits.length;
      return act;
    });
  }
  return hooks;
}

export interface InterventionScore extends LMScore {
  label: string;
  /** multiple-choice task accuracy (null without task items) */
  taskAccuracy: number | null;
  /** entries replaced during the perplexity evaluation */
  replaced: number;
}

export interface InterventionResult {
  hook: StreamHook;
  targets: (InterventionTarget & { mean: number })[];
  rows: InterventionScore[];
}

/**
 * Perplexity, next-token accuracy (windows of T over evalTokens) and task accuracy of the model as is, with
 * the targets zeroed, and with the targets set to their dataset mean (means from `meanSeqs`).
 */
export function interventionExperiment(
  model: GPT, targets: readonly InterventionTarget[],
  o: { evalTokens: ArrayLike<number>; T: number; meanSeqs: readonly Int32Array[]; task?: readonly MCItem[]; hook?: StreamHook; modes?: InterventionMode[] },
): InterventionResult {
  if (targets.length === 0) throw new PhenomenaError('intervention: no targets');
  const hook = o.hook ?? 'resid_post';
  const means = targetMeans(model, o.meanSeqs, targets, hook);
  const run = (label: string, hooks: Map<string, HookFn>, stats: { replaced: number }): InterventionScore =>
    withHooks(model, hooks, () => {
      const s = scoreTokens(model, o.evalTokens, o.T);
      const replaced = stats.replaced;
      return { label, ...s, taskAccuracy: o.task && o.task.length ? mcAccuracy(model, o.task).accuracy : null, replaced };
    });
  const rows = [run('original', new Map(), { replaced: 0 })];
  for (const mode of o.modes ?? ['zero', 'mean']) {
    const stats = { replaced: 0 };
    rows.push(run(mode === 'zero' ? 'set to zero' : 'set to dataset mean', interventionHooks(model, targets, mode, means, hook, stats), stats));
  }
  return { hook, targets: targets.map((t, i) => ({ ...t, mean: means[i]! })), rows };
}

/**
 * Intervention targets from an activation report:
 * - 'absolute' / 'relative': the onsets (first layer of each flagged (position, dim)); a dim flagged at a
 *   single position becomes a fixed-position target, otherwise a detection target (minAbs = half the smallest
 *   flagged |h| of that layer and dim);
 * - 'top': at the layer with the largest top-1/median ratio, the `n` dims that most often host a sequence's
 *   top-1 entry (for models where nothing passes a criterion): a fixed-position target when that dim's top-1
 *   entries all sit at one position, else a detection target (minAbs = half the smallest of those |h|).
 */
export function targetsFromReport(r: ActivationReport, criterion: 'absolute' | 'relative' | 'top', n = 4): InterventionTarget[] {
  if (criterion === 'top') {
    let best = r.layers[0]!;
    for (const l of r.layers) if (l.ratio > best.ratio) best = l;
    const byDim = new Map<number, { positions: Set<number>; values: number[] }>();
    for (const e of best.top1) {
      const v = byDim.get(e.dim) ?? { positions: new Set<number>(), values: [] };
      v.positions.add(e.position);
      v.values.push(Math.abs(e.value));
      byDim.set(e.dim, v);
    }
    return [...byDim].sort((a, b) => b[1].values.length - a[1].values.length || a[0] - b[0]).slice(0, n).map(([dim, v]) =>
      v.positions.size === 1 ? { layer: best.layer, dim, position: [...v.positions][0]! } : { layer: best.layer, dim, minAbs: 0.5 * Math.min(...v.values) });
  }
  const onsets = r.onsets.filter((o) => o.criterion === criterion);
  const byLayerDim = new Map<string, typeof onsets>();
  for (const o of onsets) {
    const k = `${o.layer}:${o.dim}`;
    byLayerDim.set(k, [...(byLayerDim.get(k) ?? []), o]);
  }
  const out: InterventionTarget[] = [];
  for (const group of byLayerDim.values()) {
    const { layer, dim } = group[0]!;
    if (group.length === 1) out.push({ layer, dim, position: group[0]!.position });
    else {
      const layerStats = r.layers[layer]!;
      const list = criterion === 'absolute' ? layerStats.absolute.entries : layerStats.relative?.entries ?? [];
      const vals = list.filter((e) => e.dim === dim).map((e) => Math.abs(e.value));
      const minAbs = 0.5 * (vals.length ? Math.min(...vals) : Math.min(...group.map((g) => g.maxAbs)));
      out.push({ layer, dim, minAbs });
    }
  }
  return out.slice(0, Math.max(n, 1) * 4);
}

/** Parse "L:dim[:pos]" target specs (comma-separated), e.g. "1:37:0,2:5". A missing position needs minAbs. */
export function parseTargets(spec: string, minAbs?: number): InterventionTarget[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const parts = s.split(':').map((x) => Number(x));
    if (parts.length < 2 || parts.length > 3 || parts.some((x) => !Number.isInteger(x) || x < 0)) {
      throw new PhenomenaError(`--targets: '${s}' is not layer:dim[:position] with non-negative integers`);
    }
    return parts.length === 3 ? { layer: parts[0]!, dim: parts[1]!, position: parts[2]! } : { layer: parts[0]!, dim: parts[1]!, minAbs };
  });
}
