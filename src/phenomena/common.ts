/**
 * Shared pieces of the phenomena analyses: the error type, read-only hook collection, deterministic
 * dataset windows, order statistics (torch.median convention), opening a model (a run directory, a
 * checkpoint directory or a Hugging Face directory) with its text codec, and windowed evaluation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arr, Backend } from '../engine/backend.ts';
import { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import { loadHFModel } from '../model/convert/hf.ts';
import { createModel } from '../model/init.ts';
import { loadRun, bytesCodec, openTrainingData, hfModelCodec, encodeInput, type TextCodec } from '../train/runs.ts';
import type { ResolvedTrainConfig } from '../train/config.ts';

/** Raised for invalid analysis inputs; the message names the option or file and what was expected. */
export class PhenomenaError extends Error {
  override name = 'PhenomenaError';
}

/** The residual-stream (and branch-output) hook points an analysis may read, without the `blocks.{l}.` prefix. */
export const STREAM_HOOKS = ['resid_post', 'resid_pre', 'resid_mid', 'attn_out', 'mlp_out'] as const;
export type StreamHook = (typeof STREAM_HOOKS)[number];

/** Full hook name of a stream hook at layer l. */
export function streamHookName(hook: StreamHook, l: number): string {
  return `blocks.${l}.hook_${hook}`;
}

/**
 * Run `fn` with temporary hooks (name → hook); the model's own hooks are saved and restored afterwards,
 * also when fn throws. Where the model already has a hook of the same name, it runs first and the temporary
 * hook sees (and may further replace) its result — so analyses compose with interventions.
 */
export function withHooks<R>(model: GPT, hooks: ReadonlyMap<string, HookFn>, fn: () => R): R {
  const saved = new Map(model.hooks);
  for (const [name, h] of hooks) {
    const inner = saved.get(name);
    if (!inner) {
      model.addHook(name, h);
      continue;
    }
    model.addHook(name, (act, ctx) => {
      const r = inner(act, ctx);
      if (r && r !== act) act.set(r);
      const r2 = h(act, ctx);
      return r2 ?? (r ? act : undefined);
    });
  }
  try {
    return fn();
  } finally {
    model.clearHooks();
    for (const [k, v] of saved) model.hooks.set(k, v);
  }
}

/** A copy of a model sharing nothing with it (same backend and config, parameters copied). */
export function cloneModel(model: GPT): GPT {
  const p = model.backend.alloc(model.layout.total);
  p.set(model.params);
  return new GPT(model.backend, model.config, p);
}

/**
 * n windows of T tokens taken at evenly spaced starts over `tokens` (deterministic; windows overlap when the
 * text is shorter than n·T). Needs at least T tokens.
 */
export function datasetWindows(tokens: ArrayLike<number>, n: number, T: number): Int32Array[] {
  if (!(n >= 1 && Number.isInteger(n))) throw new PhenomenaError(`sequences: expected an integer ≥ 1, got ${n}`);
  if (!(T >= 1 && Number.isInteger(T))) throw new PhenomenaError(`seq-len: expected an integer ≥ 1, got ${T}`);
  if (tokens.length < T) throw new PhenomenaError(`data: ${tokens.length} tokens is fewer than one window of ${T}`);
  const span = tokens.length - T;
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = n === 1 ? 0 : Math.floor((i * span) / (n - 1));
    const w = new Int32Array(T);
    for (let t = 0; t < T; t++) w[t] = tokens[s + t]!;
    out.push(w);
  }
  return out;
}

/** Concatenate windows into one [B*T] id array. */
export function stack(seqs: readonly Int32Array[]): Int32Array {
  const T = seqs[0]!.length, out = new Int32Array(seqs.length * T);
  seqs.forEach((s, b) => {
    if (s.length !== T) throw new PhenomenaError(`sequences must share one length (${T}); sequence ${b} has ${s.length}`);
    out.set(s, b * T);
  });
  return out;
}

/** Iterate over the windows in batches of at most `batch`: fn(ids[B*T], B, T, first index). */
export function forBatches(seqs: readonly Int32Array[], batch: number, fn: (ids: Int32Array, B: number, T: number, first: number) => void): void {
  if (seqs.length === 0) throw new PhenomenaError('no sequences to analyse');
  for (let s = 0; s < seqs.length; s += batch) {
    const group = seqs.slice(s, s + batch);
    fn(stack(group), group.length, group[0]!.length, s);
  }
}

/** torch.median: the lower of the two middle values of a sorted array (sorted ascending). */
export function lowerMedianSorted(sortedAsc: ArrayLike<number>): number {
  const n = sortedAsc.length;
  if (n === 0) return NaN;
  return sortedAsc[Math.floor((n - 1) / 2)]!;
}

/** torch.median of arbitrary values (copies and sorts). */
export function lowerMedian(values: ArrayLike<number>): number {
  const a = Float64Array.from(values as ArrayLike<number>).sort();
  return lowerMedianSorted(a);
}

/**
 * The "top p" value of a descending-sorted array: the k-th largest value with k = max(1, ceil(p·n)), i.e. the
 * smallest value among the largest p share of the entries (top 1% → p = 0.01).
 */
export function topShareValue(sortedDesc: ArrayLike<number>, p: number): number {
  const n = sortedDesc.length;
  if (n === 0) return NaN;
  const k = Math.min(n, Math.max(1, Math.ceil(p * n - 1e-9)));
  return sortedDesc[k - 1]!;
}

/** Mean and (population) standard deviation. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length;
  return { mean: m, std: Math.sqrt(v) };
}

export { logSoftmaxRow } from '../train/generate.ts';

/** Loss, perplexity and next-token accuracy over a token sequence. */
export interface LMScore {
  tokens: number;
  /** mean cross-entropy, nats per token */
  loss: number;
  perplexity: number;
  /** share of positions where the argmax prediction is the next token */
  accuracy: number;
}

/**
 * Score tokens[1..] in non-overlapping windows of T tokens (each window starts fresh, as evaluateTokens in
 * train/evaluate.ts), batches of B windows. Hooks on the model fire (this is how interventions are evaluated).
 * `beforeBatch(ids, B, T)` runs before each batch's forward (used to capture reference activations).
 */
export function scoreTokens(model: GPT, tokens: ArrayLike<number>, T: number, B = 8, beforeBatch?: (ids: Int32Array, B: number, T: number) => void): LMScore {
  const n = tokens.length - 1;
  if (n < 1) throw new PhenomenaError('evaluation: need at least 2 tokens');
  const V = model.config.vocab;
  let sum = 0, count = 0, correct = 0;
  const starts: number[] = [];
  for (let s = 0; s < n; s += T) starts.push(s);
  for (let w = 0; w < starts.length; w += B) {
    const group = starts.slice(w, w + B), bs = group.length;
    const x = new Int32Array(bs * T), y = new Int32Array(bs * T).fill(-1);
    group.forEach((s, b) => {
      for (let t = 0; t < T && s + t < n; t++) {
        x[b * T + t] = tokens[s + t]!;
        y[b * T + t] = tokens[s + t + 1]!;
      }
    });
    beforeBatch?.(x, bs, T);
    model.forward(x, bs, T, y);
    const losses = model.losses(), logits = model.logits();
    for (let i = 0; i < y.length; i++) {
      if (y[i]! < 0) continue;
      sum += losses[i]!;
      count++;
      let best = 0;
      const off = i * V;
      for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + best]!) best = v;
      if (best === y[i]) correct++;
    }
  }
  const loss = sum / count;
  return { tokens: count, loss, perplexity: Math.exp(loss), accuracy: correct / count };
}

/** A model opened for analysis, with where it came from and how to turn text into its tokens. */
export interface OpenedModel {
  model: GPT;
  codec: TextCodec;
  kind: 'run' | 'hf';
  /** the path given */
  source: string;
  /** the training config when the model is one of our runs */
  run: ResolvedTrainConfig | null;
  /** the checkpoint directory loaded (runs) */
  checkpoint: string | null;
}

/**
 * Open a run directory (latest checkpoint), a checkpoint directory, or a Hugging Face model directory
 * (config.json + safetensors; its tokenizer.json when present, else raw bytes when the vocabulary has at least
 * 256 entries).
 */
export function openModel(backend: Backend, path: string): OpenedModel {
  if (!existsSync(path)) throw new PhenomenaError(`--model: '${path}' does not exist (expected a run directory, a checkpoint directory or a Hugging Face model directory)`);
  const isRun = existsSync(join(path, 'model.safetensors')) && existsSync(join(path, 'state.json')) || existsSync(join(path, 'checkpoints'));
  if (isRun) {
    const r = loadRun(backend, path);
    return { model: r.model, codec: r.codec, kind: 'run', source: path, run: r.cfg, checkpoint: r.checkpoint };
  }
  if (existsSync(join(path, 'config.json'))) {
    const { model } = loadHFModel(backend, path);
    const tokPath = join(path, 'tokenizer.json');
    let codec: TextCodec;
    if (existsSync(tokPath)) {
      codec = hfModelCodec(path, model.config.vocab);
    } else if (model.config.vocab >= 256) {
      codec = bytesCodec;
    } else {
      const refuse = (): never => {
        throw new PhenomenaError(`${path}: no tokenizer.json and a vocabulary of ${model.config.vocab} (< 256), so text cannot be encoded`);
      };
      codec = { name: 'none', encode: refuse, decode: refuse };
    }
    return { model, codec, kind: 'hf', source: path, run: null, checkpoint: null };
  }
  throw new PhenomenaError(`--model: '${path}' is neither a run directory (config.json + checkpoints/), a checkpoint directory (model.safetensors + state.json) nor a Hugging Face directory (config.json + model.safetensors)`);
}

/**
 * The evaluation tokens for an opened model: the given text file encoded with the model's codec, else the
 * run's validation split. HF directories need a text file.
 */
export function analysisTokens(m: OpenedModel, dataPath?: string): ArrayLike<number> {
  if (dataPath) {
    if (!existsSync(dataPath)) throw new PhenomenaError(`--data: '${dataPath}' does not exist`);
    return encodeInput(m.codec, readFileSync(dataPath, 'utf8'));
  }
  if (m.run) return openTrainingData(m.run).valTokensArray();
  throw new PhenomenaError(`--data is required for a Hugging Face model directory (${m.source}): give a text file`);
}

/**
 * The model at step 0 of a run: the trainer initialises with createModel(cfg.model, cfg.seed), which is
 * deterministic, so re-initialising reproduces the run's step-0 weights exactly. For other models, a fresh
 * initialisation of the same config with seed 0 stands in (and is labelled so).
 */
export function stepZeroModel(m: OpenedModel): { model: GPT; label: string } {
  if (m.run) return { model: createModel(m.model.backend, m.model.config, m.run.seed), label: `step 0 of the run (init seed ${m.run.seed})` };
  return { model: createModel(m.model.backend, m.model.config, 0), label: 'a fresh initialisation of the same config (seed 0; not this model\'s own step 0)' };
}
