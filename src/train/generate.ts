/**
 * Inference: batched sampling with a KV cache (greedy, temperature, top-k, top-p; seeded), per-token
 * log-probabilities, and scoring of given continuations — the log-likelihood API every analysis uses.
 */
import type { Arr } from '../engine/backend.ts';
import { Rng } from '../engine/rng.ts';
import { GPT, ModelError } from '../model/gpt.ts';

export interface SampleOptions {
  /** new tokens per row */
  maxNewTokens: number;
  /** 0 = greedy (argmax); otherwise softmax temperature. A function gives a per-step schedule (1-based step). */
  temperature?: number | ((step: number) => number);
  /** keep the k most likely tokens (0 = off) */
  topK?: number;
  /** keep the smallest set with cumulative probability ≥ p (1 = off) */
  topP?: number;
  seed?: number;
  /** stop a row when it emits this token (it is kept in the output) */
  stopToken?: number;
}

export interface Generation {
  /** generated tokens per row (without the prompt) */
  tokens: number[][];
  /** log-probability of each generated token under the model's (untempered) distribution */
  logprobs: number[][];
}

/** Log-softmax of one row into out (double precision). */
export function logSoftmaxRow(logits: Arr, off: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[off + v]! - max);
  const lse = max + Math.log(s);
  for (let v = 0; v < V; v++) out[v] = logits[off + v]! - lse;
}

/** Draw one token from log-probabilities with temperature / top-k / top-p. */
export function sampleToken(lp: Float64Array, rng: Rng, temperature: number, topK = 0, topP = 1): number {
  const V = lp.length;
  if (temperature <= 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (lp[v]! > lp[best]!) best = v;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 || topP < 1) idx.sort((a, b) => lp[b]! - lp[a]! || a - b);
  if (topK > 0 && topK < V) idx = idx.slice(0, topK);
  const w = idx.map((i) => lp[i]! / temperature);
  const m = Math.max(...w);
  let p = w.map((x) => Math.exp(x - m));
  let z = p.reduce((a, b) => a + b, 0);
  p = p.map((x) => x / z);
  if (topP < 1) {
    let cum = 0, keep = 0;
    while (keep < p.length && cum < topP) cum += p[keep++]!;
    idx = idx.slice(0, keep);
    p = p.slice(0, keep);
    z = p.reduce((a, b) => a + b, 0);
    p = p.map((x) => x / z);
  }
  let r = rng.next();
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r < 0) return idx[i]!;
  }
  return idx[idx.length - 1]!;
}

/**
 * Continue each prompt (all rows batched through one KV cache). Prompts may differ in length: rows are
 * fed token by token until every prompt is consumed, then generation is batched.
 */
export function generate(model: GPT, prompts: readonly (readonly number[])[], o: SampleOptions): Generation {
  const B = prompts.length, V = model.config.vocab;
  if (B === 0) return { tokens: [], logprobs: [] };
  if (prompts.some((p) => p.length === 0)) throw new ModelError('generate: every prompt needs at least one token (use a BOS/EOS token for unconditional sampling)');
  const maxLen = Math.max(...prompts.map((p) => p.length));
  const total = maxLen + o.maxNewTokens;
  if (model.config.positions === 'learned' && total > model.config.ctx) {
    throw new ModelError(`generate: prompt (${maxLen}) + new tokens (${o.maxNewTokens}) exceeds ctx ${model.config.ctx}`);
  }
  const rng = new Rng(o.seed ?? 0);
  const cache = model.newCache(B, Math.max(total, 1));
  const tokens: number[][] = prompts.map(() => []), logprobs: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const minLen = Math.min(...prompts.map((p) => p.length));
  const lp = new Float64Array(V);
  // prefill the common prefix length in one call
  let logits: Arr = model.decode(Int32Array.from(prompts.flatMap((p) => p.slice(0, minLen))), minLen, cache);
  let lastRow = minLen - 1; // row offset within the last decode call
  let width = minLen;
  let newCount = 0;
  for (let pos = minLen; newCount < o.maxNewTokens; pos++) {
    const next = new Int32Array(B);
    let anyGenerated = false;
    for (let b = 0; b < B; b++) {
      const p = prompts[b]!;
      if (pos < p.length) {
        next[b] = p[pos]!; // still reading this row's prompt
        continue;
      }
      logSoftmaxRow(logits, (b * width + lastRow) * V, V, lp);
      if (done[b]) {
        next[b] = tokens[b]![tokens[b]!.length - 1] ?? 0;
        continue;
      }
      const step = tokens[b]!.length + 1;
      const temp = typeof o.temperature === 'function' ? o.temperature(step) : (o.temperature ?? 0);
      const t = sampleToken(lp, rng, temp, o.topK ?? 0, o.topP ?? 1);
      tokens[b]!.push(t);
      logprobs[b]!.push(lp[t]!);
      next[b] = t;
      anyGenerated = true;
      if (o.stopToken !== undefined && t === o.stopToken) done[b] = true;
    }
    if (anyGenerated) newCount = Math.min(...tokens.map((t, b) => (done[b] ? o.maxNewTokens : t.length)));
    if (newCount >= o.maxNewTokens || done.every(Boolean)) break;
    logits = model.decode(next, 1, cache);
    lastRow = 0;
    width = 1;
  }
  for (let b = 0; b < B; b++) {
    tokens[b] = tokens[b]!.slice(0, o.maxNewTokens);
    logprobs[b] = logprobs[b]!.slice(0, o.maxNewTokens);
  }
  return { tokens, logprobs };
}

/**
 * Score continuations: for each (context, continuation) pair, the log-probability of every continuation
 * token given everything before it, in one batched forward pass per group of equal total length (pairs are
 * padded to the longest in the batch; padding is masked out). Long inputs keep their last ctx tokens.
 */
export function scoreContinuations(model: GPT, pairs: readonly { context: readonly number[]; continuation: readonly number[] }[], batchSize = 16): number[][] {
  const out: number[][] = new Array(pairs.length);
  const ctx = model.config.ctx, V = model.config.vocab;
  const lp = new Float64Array(V);
  for (let s = 0; s < pairs.length; s += batchSize) {
    const group = pairs.slice(s, s + batchSize);
    const seqs = group.map(({ context, continuation }) => {
      if (continuation.length === 0) return { toks: [...context], start: context.length };
      const all = [...context, ...continuation].slice(-(ctx + 1));
      if (all.length - continuation.length < 1) throw new ModelError(`scoreContinuations: continuation of ${continuation.length} tokens needs at least one context token within ctx ${ctx}`);
      return { toks: all, start: all.length - continuation.length };
    });
    const T = Math.max(1, ...seqs.map((q) => q.toks.length - 1));
    const B = group.length;
    const x = new Int32Array(B * T);
    seqs.forEach((q, b) => { for (let t = 0; t < q.toks.length - 1; t++) x[b * T + t] = q.toks[t]!; });
    model.forward(x, B, T);
    const logits = model.logits();
    seqs.forEach((q, b) => {
      const r: number[] = [];
      for (let i = q.start; i < q.toks.length; i++) {
        logSoftmaxRow(logits, (b * T + i - 1) * V, V, lp);
        r.push(lp[q.toks[i]!]!);
      }
      out[s + b] = r;
    });
  }
  return out;
}

/** Per-token log-probabilities of a token sequence (each token given the ones before it; the first gets none). */
export function tokenLogprobs(model: GPT, tokens: readonly number[]): number[] {
  if (tokens.length < 2) return [];
  return scoreContinuations(model, [{ context: tokens.slice(0, 1), continuation: tokens.slice(1) }])[0]!;
}
