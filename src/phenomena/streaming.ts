/**
 * StreamingLLM (Xiao et al. 2024): generate over text longer than the cache by keeping the first `sinks`
 * tokens (attention sinks) plus a window of the most recent tokens in the KV cache. Positions are assigned
 * by place in the cache, not in the text: when a token is evicted, every later cached key moves one slot left
 * and, with rotary positions, is re-rotated to its new position (rotation by −1 step: R(p) = R(−1)·R(p+1)).
 * A plain window cache is the same with sinks = 0.
 *
 * Scope: rotary models only. With learned absolute positions the position embedding is added at the input,
 * so a cached key/value cannot be moved to another position without recomputing it (PhenomenaError).
 *
 * Compared on long text, per token: dense (one cache over the whole text, no eviction), window (sinks 0),
 * streaming (sinks + window) and, as the slow reference, sliding window with re-computation (each token
 * predicted from a fresh forward pass over the preceding `window` tokens).
 */
import type { Arr } from '../engine/backend.ts';
import type { GPT, KVCache } from '../model/gpt.ts';
import type { GPTConfig } from '../model/config.ts';
import { PhenomenaError, logSoftmaxRow } from './common.ts';

export interface StreamingResult {
  mode: 'dense' | 'window' | 'streaming' | 'recompute';
  sinks: number;
  window: number;
  /** tokens scored */
  tokens: number;
  loss: number;
  perplexity: number;
  /** cache evictions performed */
  evictions: number;
  /** mean loss per chunk of `chunk` consecutive predictions (curve data) */
  chunkLoss: number[];
  chunk: number;
}

/**
 * Rotate keys in place by `delta` positions: kCache[B, KV, Tmax, D], slots [from, to) of every row and head.
 * Same convention as the backends' rotary (HF rotate_half on the first cfg.rot_dims dims).
 */
export function rerotateKeys(k: Arr, cfg: Pick<GPTConfig, 'rot_dims' | 'rope_base' | 'd_head' | 'n_kv_head'>, B: number, Tmax: number, from: number, to: number, delta: number): void {
  const D = cfg.d_head, half = cfg.rot_dims / 2, KV = cfg.n_kv_head;
  if (half === 0 || delta === 0) return;
  const cos = new Float64Array(half), sin = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    const a = delta * Math.pow(cfg.rope_base, (-2 * i) / cfg.rot_dims);
    cos[i] = Math.cos(a);
    sin[i] = Math.sin(a);
  }
  for (let b = 0; b < B; b++)
    for (let h = 0; h < KV; h++)
      for (let s = from; s < to; s++) {
        const o = ((b * KV + h) * Tmax + s) * D;
        for (let i = 0; i < half; i++) {
          const x1 = k[o + i]!, x2 = k[o + i + half]!;
          k[o + i] = x1 * cos[i]! - x2 * sin[i]!;
          k[o + i + half] = x2 * cos[i]! + x1 * sin[i]!;
        }
      }
}

/**
 * Evict the cache slot `slot` (every row): later slots move one to the left and their keys are re-rotated by
 * −1 position; cache.pos decreases by one.
 */
export function evictSlot(model: GPT, cache: KVCache, slot: number): void {
  const c = model.config, D = c.d_head, KV = c.n_kv_head, Tmax = cache.Tmax, pos = cache.pos;
  if (slot < 0 || slot >= pos) throw new PhenomenaError(`evict: slot ${slot} is outside the filled cache [0, ${pos})`);
  for (let l = 0; l < c.n_layer; l++) {
    for (const buf of [cache.k[l]!, cache.v[l]!]) {
      for (let b = 0; b < cache.B; b++)
        for (let h = 0; h < KV; h++) {
          const base = ((b * KV + h) * Tmax) * D;
          buf.copyWithin(base + slot * D, base + (slot + 1) * D, base + pos * D);
        }
    }
    if (c.positions === 'rotary') rerotateKeys(cache.k[l]!, c, cache.B, Tmax, slot, pos - 1, -1);
  }
  cache.pos = pos - 1;
}

function finish(mode: StreamingResult['mode'], sinks: number, window: number, nll: number[], evictions: number, chunk: number): StreamingResult {
  const sum = nll.reduce((a, b) => a + b, 0), loss = sum / nll.length;
  const chunkLoss: number[] = [];
  for (let s = 0; s < nll.length; s += chunk) {
    const part = nll.slice(s, s + chunk);
    chunkLoss.push(part.reduce((a, b) => a + b, 0) / part.length);
  }
  return { mode, sinks, window, tokens: nll.length, loss, perplexity: Math.exp(loss), evictions, chunkLoss, chunk };
}

/**
 * Score tokens[1..] one token at a time through a KV cache of sinks + window slots. sinks = 0 is the plain
 * window cache. window = Infinity (or ≥ the text) never evicts: that is the dense baseline.
 */
export function streamingEval(model: GPT, tokens: ArrayLike<number>, o: { sinks: number; window: number; chunk?: number }): StreamingResult {
  const c = model.config, V = c.vocab, n = tokens.length - 1, chunk = o.chunk ?? 256;
  if (n < 1) throw new PhenomenaError('streaming: need at least 2 tokens');
  if (!(o.sinks >= 0 && Number.isInteger(o.sinks))) throw new PhenomenaError(`sinks: expected an integer ≥ 0, got ${o.sinks}`);
  if (!(o.window >= 1)) throw new PhenomenaError(`window: expected ≥ 1, got ${o.window}`);
  const dense = !Number.isFinite(o.window) || o.sinks + o.window >= n;
  const cap = dense ? n : o.sinks + o.window;
  if (c.positions !== 'rotary' && (!dense || cap > c.ctx)) {
    throw new PhenomenaError(`StreamingLLM needs rotary positions: with learned positions (this model) a cached key cannot move to another position without recomputation${dense ? ` (and the dense cache of ${cap} tokens exceeds ctx ${c.ctx})` : ''}`);
  }
  const cache = model.newCache(1, cap);
  const lp = new Float64Array(V), nll: number[] = [];
  const id = new Int32Array(1);
  let evictions = 0;
  for (let i = 0; i < n; i++) {
    if (cache.pos === cap) {
      evictSlot(model, cache, o.sinks);
      evictions++;
    }
    id[0] = tokens[i]!;
    const logits = model.decode(id, 1, cache);
    logSoftmaxRow(logits, 0, V, lp);
    nll.push(-lp[tokens[i + 1]!]!);
  }
  const mode = dense ? 'dense' : o.sinks > 0 ? 'streaming' : 'window';
  return finish(mode, o.sinks, dense ? n : o.window, nll, evictions, chunk);
}

/**
 * Sliding window with re-computation: token i+1 is predicted from a fresh forward pass over tokens
 * max(0, i−window+1) … i (positions 0 … within the window). Slow (n forward passes) but free of cache effects.
 */
export function recomputeEval(model: GPT, tokens: ArrayLike<number>, o: { window: number; chunk?: number }): StreamingResult {
  const V = model.config.vocab, n = tokens.length - 1, chunk = o.chunk ?? 256, W = o.window;
  if (W > model.config.ctx && model.config.positions === 'learned') throw new PhenomenaError(`window ${W} exceeds ctx ${model.config.ctx} (learned positions)`);
  const lp = new Float64Array(V), nll: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.max(0, i - W + 1), T = i - s + 1;
    const x = new Int32Array(T);
    for (let t = 0; t < T; t++) x[t] = tokens[s + t]!;
    model.forward(x, 1, T);
    logSoftmaxRow(model.logits(), (T - 1) * V, V, lp);
    nll.push(-lp[tokens[i + 1]!]!);
  }
  return finish('recompute', 0, W, nll, 0, chunk);
}

/** The StreamingLLM comparison on one text: dense, window, streaming (and optionally recompute). */
export function streamingComparison(model: GPT, tokens: ArrayLike<number>, o: { sinks?: number; window: number; chunk?: number; recompute?: boolean; dense?: boolean }): StreamingResult[] {
  const sinks = o.sinks ?? 4, chunk = o.chunk;
  const out: StreamingResult[] = [];
  if (o.dense ?? true) out.push(streamingEval(model, tokens, { sinks: 0, window: Infinity, chunk }));
  out.push(streamingEval(model, tokens, { sinks: 0, window: o.window + sinks, chunk }));
  out.push(streamingEval(model, tokens, { sinks, window: o.window, chunk }));
  if (o.recompute) out.push(recomputeEval(model, tokens, { window: o.window + sinks, chunk }));
  return out;
}
