/**
 * Attention sinks (Xiao et al. 2024, "Efficient Streaming Language Models with Attention Sinks"; sink rate as
 * in Gu et al. 2025, "When Attention Sink Emerges in Language Models").
 *
 * From the attention probabilities (hook `blocks.{l}.attn.hook_pattern`, [B, H, T, T (+1 k′ slot)]):
 * - first-token mass of head (l, h): mean over sequences and over query positions t ≥ minQuery (default 1:
 *   query 0 can only attend to token 0, so it says nothing) of att[t, 0];
 * - sink rate: the share of all heads (layers × heads) whose first-token mass exceeds `threshold` (0.3);
 * - any-token sink rate: the share of heads for which SOME key position k has mean attention above the
 *   threshold, the mean taken over the same queries with causally masked entries (t < k) counted as 0;
 * - with the explicit attention bias (GPTConfig.attn_kv_bias) the mass on the k′ slot (column T) per head,
 *   and its own rate.
 */
import type { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import { PhenomenaError, forBatches, withHooks } from './common.ts';

export interface SinkOptions {
  /** head counts as a sink head above this mean attention (default 0.3) */
  threshold?: number;
  /** first query position averaged (default 1) */
  minQuery?: number;
  /** sequences per forward (default 4) */
  batch?: number;
}

export interface SinkReport {
  sequences: number;
  T: number;
  threshold: number;
  minQuery: number;
  /** [layer][head] mean attention on the first token (heat-map data) */
  firstTokenMass: number[][];
  /** [layer] mean over heads */
  layerMean: number[];
  /** mean over all heads */
  meanMass: number;
  /** share of heads with first-token mass > threshold */
  sinkRate: number;
  /** [layer][head] the key position with the largest mean attention, and that mass */
  topKey: { position: number; mass: number }[][];
  /** share of heads with some key position above the threshold */
  sinkRateAny: number;
  /** [layer][head] mean attention on the k′ slot (null without attn_kv_bias) */
  biasMass: number[][] | null;
  /** share of heads with k′-slot mass > threshold (null without attn_kv_bias) */
  biasRate: number | null;
}

/** Measure attention sinks over token windows of one length. */
export function attentionSinks(model: GPT, seqs: readonly Int32Array[], o: SinkOptions = {}): SinkReport {
  const threshold = o.threshold ?? 0.3, minQuery = o.minQuery ?? 1, batch = o.batch ?? 4;
  const c = model.config, L = c.n_layer, H = c.n_head;
  const T = seqs[0]?.length ?? 0;
  if (T <= minQuery) throw new PhenomenaError(`seq-len ${T} must exceed minQuery ${minQuery}`);
  const e = c.attn_kv_bias ? 1 : 0, W = T + e;
  // keyMass[l][h][k]: sum over sequences and queries t ≥ minQuery of att[t, k]; bias[l][h]: sum of att[t, T]
  const keyMass = Array.from({ length: L }, () => Array.from({ length: H }, () => new Float64Array(T)));
  const biasSum = Array.from({ length: L }, () => new Float64Array(H));
  let rows = 0;
  const hooks = new Map<string, HookFn>();
  for (let l = 0; l < L; l++) {
    hooks.set(`blocks.${l}.attn.hook_pattern`, (act, ctx) => {
      const B = ctx.shape[0]!;
      if (l === 0) rows += B * (T - minQuery);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) {
          const km = keyMass[l]![h]!;
          for (let t = minQuery; t < T; t++) {
            const off = ((b * H + h) * T + t) * W;
            for (let k = 0; k <= t; k++) km[k]! += act[off + k]!;
            if (e) biasSum[l]![h]! += act[off + T]!;
          }
        }
    });
  }
  withHooks(model, hooks, () => forBatches(seqs, batch, (ids, B, TT) => model.forward(ids, B, TT)));
  const firstTokenMass = keyMass.map((lh) => lh.map((km) => km[0]! / rows));
  const topKey = keyMass.map((lh) => lh.map((km) => {
    let best = 0;
    for (let k = 1; k < T; k++) if (km[k]! > km[best]!) best = k;
    return { position: best, mass: km[best]! / rows };
  }));
  const all = firstTokenMass.flat();
  const biasMass = e ? biasSum.map((bh) => Array.from(bh, (s) => s / rows)) : null;
  return {
    sequences: seqs.length, T, threshold, minQuery,
    firstTokenMass,
    layerMean: firstTokenMass.map((hs) => hs.reduce((a, b) => a + b, 0) / H),
    meanMass: all.reduce((a, b) => a + b, 0) / all.length,
    sinkRate: all.filter((m) => m > threshold).length / all.length,
    topKey,
    sinkRateAny: topKey.flat().filter((t) => t.mass > threshold).length / all.length,
    biasMass,
    biasRate: biasMass ? biasMass.flat().filter((m) => m > threshold).length / all.length : null,
  };
}

/** Heat map of first-token mass as text (rows = layers, columns = heads). */
export function formatSinkTable(r: SinkReport, label = ''): string {
  const H = r.firstTokenMass[0]?.length ?? 0;
  const lines = [`${label ? label + ': ' : ''}attention mass on the first token (queries t ≥ ${r.minQuery}, ${r.sequences} sequences of ${r.T})`];
  lines.push(['layer', ...Array.from({ length: H }, (_, h) => `h${h}`), 'mean', ...(r.biasMass ? ['k′ mean'] : [])].map((s) => s.padStart(6)).join(' '));
  r.firstTokenMass.forEach((hs, l) => {
    const cells = [String(l), ...hs.map((m) => m.toFixed(3)), r.layerMean[l]!.toFixed(3)];
    if (r.biasMass) cells.push((r.biasMass[l]!.reduce((a, b) => a + b, 0) / H).toFixed(3));
    lines.push(cells.map((s) => s.padStart(6)).join(' '));
  });
  lines.push(`sink rate (first token, > ${r.threshold}): ${r.sinkRate.toFixed(3)}; any token: ${r.sinkRateAny.toFixed(3)}; mean first-token mass ${r.meanMass.toFixed(3)}` +
    (r.biasRate !== null ? `; k′-slot rate ${r.biasRate.toFixed(3)}` : ''));
  return lines.join('\n') + '\n';
}
