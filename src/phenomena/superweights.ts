/**
 * Super weights (Yu et al. 2024, "The Super Weight in Large Language Models").
 *
 * Detection: hook the MLP down-projection's input (blocks.{l}.mlp.hook_pre, [B, T, d_ff]) and output
 * (blocks.{l}.hook_mlp_out, [B, T, d_model]) of every layer on a few inputs. A layer spikes when both its
 * largest |input| and largest |output| spike; the super weight is then the down-projection weight
 * W[row, column] with row = the output channel of the largest |output| and column = the input channel of the
 * largest |input| (Linear weights are [out, in], as in Yu et al.). Zero it and repeat until no layer spikes.
 *
 * Spike rules (named options):
 * - absolute (Yu et al., 7B models): max |input| > threshold and max |output| > threshold (50);
 * - relative (lmlab, for small models whose activations never reach 50): channel dominance — the largest
 *   |activation| of the argmax channel divided by the largest |activation| of any OTHER channel — is
 *   ≥ factor (default 5) for the input AND for the output.
 *
 * Pruning experiments: perplexity with the super weight(s) zeroed, versus zeroing the same number of the
 * largest-magnitude other down-projection weights, versus zeroing the top-K largest other down-projection
 * weights (Yu et al.: 7,000), and with the super weight zeroed but the super activation restored (the
 * original down-projection output of the super weight's row, written back at the token positions where its
 * magnitude is at least restoreFrac × the super activation found at detection).
 */
import type { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import { PhenomenaError, scoreTokens, withHooks } from './common.ts';
import { mcAccuracy, stopwordProbabilities, type MCItem } from './tasks.ts';
import type { TextCodec } from '../train/runs.ts';

export type SpikeRule = { kind: 'absolute'; threshold: number } | { kind: 'relative'; factor: number };

/** The rule by name: 'absolute' (threshold 50) or 'relative' (factor 5), with an optional value. */
export function spikeRule(kind: 'absolute' | 'relative', value?: number): SpikeRule {
  return kind === 'absolute' ? { kind, threshold: value ?? 50 } : { kind, factor: value ?? 5 };
}

/** Name of the down-projection weight of layer l. */
export function downProjName(model: GPT, l: number): string {
  return `blocks.${l}.${model.config.activation === 'swiglu' ? 'mlp.down.w' : 'mlp.proj.w'}`;
}

/** Largest |x| of a [N, width] activation, its channel and row, and the dominance over other channels. */
interface ChannelMax { max: number; channel: number; row: number; dominance: number }

function channelMax(act: ArrayLike<number>, N: number, width: number): ChannelMax {
  const cm = new Float64Array(width), cr = new Int32Array(width);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < width; j++) {
      const v = Math.abs(act[n * width + j]!);
      if (v > cm[j]!) {
        cm[j] = v;
        cr[j] = n;
      }
    }
  let ch = 0;
  for (let j = 1; j < width; j++) if (cm[j]! > cm[ch]!) ch = j;
  let second = 0;
  for (let j = 0; j < width; j++) if (j !== ch && cm[j]! > second) second = cm[j]!;
  return { max: cm[ch]!, channel: ch, row: cr[ch]!, dominance: second > 0 ? cm[ch]! / second : Infinity };
}

export interface LayerSpike {
  layer: number;
  /** max |down-projection input| and where (input channel = column, token position) */
  maxIn: number; inChannel: number; inPosition: number; inSeq: number; inDominance: number;
  /** max |down-projection output| and where (output channel = row, token position) */
  maxOut: number; outChannel: number; outPosition: number; outSeq: number; outDominance: number;
  spike: boolean;
}

/** Down-projection input/output spikes of every layer on ids[B*T]. */
export function scanDownProj(model: GPT, ids: Int32Array, B: number, T: number, rule: SpikeRule): LayerSpike[] {
  const c = model.config, L = c.n_layer;
  const ins: ChannelMax[] = [], outs: ChannelMax[] = [];
  const hooks = new Map<string, HookFn>();
  for (let l = 0; l < L; l++) {
    hooks.set(`blocks.${l}.mlp.hook_pre`, (act) => void (ins[l] = channelMax(act, B * T, c.d_ff)));
    hooks.set(`blocks.${l}.hook_mlp_out`, (act) => void (outs[l] = channelMax(act, B * T, c.d_model)));
  }
  withHooks(model, hooks, () => model.forward(ids, B, T));
  return ins.map((i, layer) => {
    const o = outs[layer]!;
    const spike = rule.kind === 'absolute'
      ? i.max > rule.threshold && o.max > rule.threshold
      : i.dominance >= rule.factor && o.dominance >= rule.factor;
    return {
      layer,
      maxIn: i.max, inChannel: i.channel, inPosition: i.row % T, inSeq: Math.floor(i.row / T), inDominance: i.dominance,
      maxOut: o.max, outChannel: o.channel, outPosition: o.row % T, outSeq: Math.floor(o.row / T), outDominance: o.dominance,
      spike,
    };
  });
}

export interface SuperWeight {
  layer: number;
  /** parameter name of the down projection */
  tensor: string;
  /** output channel */
  row: number;
  /** input channel */
  column: number;
  /** the weight's value */
  value: number;
  /** detection round (0-based) */
  round: number;
  /** the spikes that identified it (the super activation is maxOut at outPosition) */
  maxIn: number;
  maxOut: number;
  inDominance: number;
  outDominance: number;
  position: number;
}

export interface SuperWeightSearch {
  rule: SpikeRule;
  weights: SuperWeight[];
  /** the layer scans of every round (the last one has no spike, unless maxRounds was reached) */
  rounds: LayerSpike[][];
}

/**
 * Yu et al.'s iterative search on ids[B*T]: scan, take the spiking layer with the strongest output spike
 * (largest dominance for the relative rule, largest |output| for the absolute one), record W[row, column],
 * zero it, repeat (at most maxRounds). The model's weights are restored before returning.
 */
export function findSuperWeights(model: GPT, ids: Int32Array, B: number, T: number, o: { rule?: SpikeRule; maxRounds?: number } = {}): SuperWeightSearch {
  const rule = o.rule ?? spikeRule('relative'), maxRounds = o.maxRounds ?? 5;
  const F = model.config.d_ff;
  const weights: SuperWeight[] = [], rounds: LayerSpike[][] = [];
  const zeroed: { view: Float32Array | Float64Array; idx: number; value: number }[] = [];
  try {
    for (let round = 0; round < maxRounds; round++) {
      const scan = scanDownProj(model, ids, B, T, rule);
      rounds.push(scan);
      const spiking = scan.filter((s) => s.spike);
      if (spiking.length === 0) break;
      const key = (s: LayerSpike): number => (rule.kind === 'relative' ? s.outDominance : s.maxOut);
      const s = spiking.reduce((a, b) => (key(b) > key(a) ? b : a));
      const tensor = downProjName(model, s.layer), w = model.p(tensor);
      const idx = s.outChannel * F + s.inChannel;
      if (weights.some((x) => x.layer === s.layer && x.row === s.outChannel && x.column === s.inChannel)) break; // already zeroed: no progress
      weights.push({
        layer: s.layer, tensor, row: s.outChannel, column: s.inChannel, value: w[idx]!, round,
        maxIn: s.maxIn, maxOut: s.maxOut, inDominance: s.inDominance, outDominance: s.outDominance, position: s.outPosition,
      });
      zeroed.push({ view: w, idx, value: w[idx]! });
      w[idx] = 0;
    }
  } finally {
    for (const z of zeroed.reverse()) z.view[z.idx] = z.value;
  }
  return { rule, weights, rounds };
}

/**
 * Plant a super weight in a model (for tests and demonstrations): W_down[row, column] of `layer` is set to
 * `value`, and the rows of the up-projection feeding input channel `column` (fc.w and fc.b for GELU models,
 * up.w and up.b for SwiGLU) are multiplied by `inputGain`, so the channel carries a large activation — the
 * pairing of a large input with a large weight that makes a super weight.
 */
export function plantSuperWeight(model: GPT, p: { layer: number; row: number; column: number; value: number; inputGain: number }): void {
  const c = model.config;
  if (!(p.layer >= 0 && p.layer < c.n_layer)) throw new PhenomenaError(`plant: layer must be in [0, ${c.n_layer})`);
  if (!(p.row >= 0 && p.row < c.d_model && p.column >= 0 && p.column < c.d_ff)) throw new PhenomenaError(`plant: [row, column] must be within [${c.d_model}, ${c.d_ff}]`);
  model.p(downProjName(model, p.layer))[p.row * c.d_ff + p.column] = p.value;
  const up = c.activation === 'swiglu' ? 'mlp.up' : 'mlp.fc';
  const w = model.p(`blocks.${p.layer}.${up}.w`);
  for (let j = 0; j < c.d_model; j++) w[p.column * c.d_model + j]! *= p.inputGain;
  if (model.layout.byName.has(`blocks.${p.layer}.${up}.b`)) model.p(`blocks.${p.layer}.${up}.b`)[p.column]! *= p.inputGain;
}

/** Flat (tensor, index) coordinates of the `k` largest-|w| down-projection weights, excluding `exclude`. */
export function largestDownProjWeights(model: GPT, k: number, exclude: readonly SuperWeight[]): { tensor: string; index: number; value: number }[] {
  const F = model.config.d_ff;
  const ex = new Set(exclude.map((s) => `${s.tensor}:${s.row * F + s.column}`));
  const all: { tensor: string; index: number; value: number }[] = [];
  for (let l = 0; l < model.config.n_layer; l++) {
    const name = downProjName(model, l), w = model.p(name);
    // keep only candidates that can make the top k (threshold from a partial sort of this tensor)
    const abs = Float32Array.from(w, Math.abs).sort();
    const cut = abs[Math.max(0, abs.length - k - ex.size)]!;
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) >= cut && !ex.has(`${name}:${i}`)) all.push({ tensor: name, index: i, value: w[i]! });
  }
  all.sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || (a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : a.index - b.index));
  return all.slice(0, k);
}

/** Run fn with the given weights set to zero (restored afterwards). */
export function withZeroed<R>(model: GPT, coords: readonly { tensor: string; index: number }[], fn: () => R): R {
  const saved = coords.map((c) => ({ v: model.p(c.tensor), i: c.index, x: model.p(c.tensor)[c.index]! }));
  for (const s of saved) s.v[s.i] = 0;
  try {
    return fn();
  } finally {
    for (const s of saved.reverse()) s.v[s.i] = s.x;
  }
}

const coordsOf = (model: GPT, sws: readonly SuperWeight[]): { tensor: string; index: number }[] =>
  sws.map((s) => ({ tensor: s.tensor, index: s.row * model.config.d_ff + s.column }));

export interface PruneRow {
  label: string;
  /** weights set to zero */
  zeroed: number;
  loss: number;
  perplexity: number;
  accuracy: number;
  taskAccuracy: number | null;
  /** super-activation entries written back (restore row only) */
  restored?: number;
}

/**
 * The pruning table: original, super weights zeroed, the same number of largest other down-projection
 * weights zeroed, the top-K largest other down-projection weights zeroed, and super weights zeroed with the
 * super activation restored.
 */
export function pruningExperiment(
  model: GPT, sws: readonly SuperWeight[],
  o: { evalTokens: ArrayLike<number>; T: number; topK?: number; restoreFrac?: number; task?: readonly MCItem[] },
): PruneRow[] {
  if (sws.length === 0) throw new PhenomenaError('pruning: no super weights to prune (the search found none)');
  const topK = o.topK ?? 7000, restoreFrac = o.restoreFrac ?? 0.5;
  const score = (label: string, zeroed: number, extra: Partial<PruneRow> = {}): PruneRow => {
    const s = scoreTokens(model, o.evalTokens, o.T);
    return { label, zeroed, loss: s.loss, perplexity: s.perplexity, accuracy: s.accuracy, taskAccuracy: o.task?.length ? mcAccuracy(model, o.task).accuracy : null, ...extra };
  };
  const rows: PruneRow[] = [score('original', 0)];
  const swCoords = coordsOf(model, sws);
  rows.push(withZeroed(model, swCoords, () => score(`prune super weight${sws.length > 1 ? 's' : ''}`, sws.length)));
  const same = largestDownProjWeights(model, sws.length, sws);
  rows.push(withZeroed(model, same, () => score(`prune the ${sws.length} largest other down-proj weight${sws.length > 1 ? 's' : ''}`, same.length)));
  const top = largestDownProjWeights(model, topK, sws);
  rows.push(withZeroed(model, top, () => score(`prune the top-${top.length} largest other down-proj weights`, top.length)));
  // super weight zeroed, super activation restored: capture the original output row, write it back where large
  let capturing = false, restored = 0;
  const captured = new Map<number, Float32Array>();
  const hooks = new Map<string, HookFn>();
  const C = model.config.d_model;
  for (const layer of new Set(sws.map((s) => s.layer))) {
    const mine = sws.filter((s) => s.layer === layer);
    hooks.set(`blocks.${layer}.hook_mlp_out`, (act, ctx) => {
      const N = ctx.shape[0]! * ctx.shape[1]!;
      for (const s of mine) {
        const k = sws.indexOf(s);
        if (capturing) {
          const col = new Float32Array(N);
          for (let n = 0; n < N; n++) col[n] = act[n * C + s.row]!;
          captured.set(k, col);
        } else {
          const col = captured.get(k)!, thr = restoreFrac * s.maxOut;
          for (let n = 0; n < N; n++) if (Math.abs(col[n]!) >= thr) {
            act[n * C + s.row] = col[n]!;
            restored++;
          }
        }
      }
      return capturing ? undefined : act;
    });
  }
  const zeroSaved = swCoords.map((c) => ({ v: model.p(c.tensor), i: c.index, x: model.p(c.tensor)[c.index]! }));
  const setSW = (on: boolean): void => { for (const z of zeroSaved) z.v[z.i] = on ? z.x : 0; };
  try {
    setSW(false);
    const row = withHooks(model, hooks, () => {
      const s = scoreTokens(model, o.evalTokens, o.T, 8, (ids, B, T) => {
        capturing = true;
        setSW(true);
        model.forward(ids, B, T);
        setSW(false);
        capturing = false;
      });
      return s;
    });
    rows.push({ label: 'prune super weight + restore super activation', zeroed: sws.length, loss: row.loss, perplexity: row.perplexity, accuracy: row.accuracy, taskAccuracy: null, restored });
  } finally {
    setSW(true);
  }
  return rows;
}

export interface StopwordShift {
  words: { word: string; before: number; after: number; ratio: number }[];
  /** geometric mean of after/before over the words */
  geoMeanRatio: number;
  /** sum of the words' probabilities before and after */
  totalBefore: number;
  totalAfter: number;
}

/** Stopword probabilities (see tasks.ts for the definition) with and without the super weights. */
export function stopwordShift(model: GPT, sws: readonly SuperWeight[], codec: TextCodec, contexts: readonly number[][], words: readonly string[]): StopwordShift {
  const before = stopwordProbabilities(model, codec, contexts, words);
  const after = withZeroed(model, coordsOf(model, sws), () => stopwordProbabilities(model, codec, contexts, words));
  const rows = before.map((b, i) => ({ word: b.word, before: b.prob, after: after[i]!.prob, ratio: after[i]!.prob / b.prob }));
  const logs = rows.filter((r) => r.before > 0 && r.after > 0).map((r) => Math.log(r.ratio));
  return {
    words: rows,
    geoMeanRatio: Math.exp(logs.reduce((a, b) => a + b, 0) / Math.max(1, logs.length)),
    totalBefore: rows.reduce((a, r) => a + r.before, 0),
    totalAfter: rows.reduce((a, r) => a + r.after, 0),
  };
}
