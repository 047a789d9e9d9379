// Attention sinks and StreamingLLM: first-token mass against the cached pattern, the uniform-attention value at
// initialisation, a planted sink head, the k′ slot of attn_kv_bias models, cache eviction with key re-rotation
// against freshly computed keys, and no-eviction equality with a plain forward pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { createModel } from '../../src/model/init.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { attentionSinks, datasetWindows, evictSlot, PhenomenaError, streamingEval, recomputeEval, streamingComparison, formatSinkTable } from '../../src/phenomena/index.ts';
import { trainTiny } from './fixture.ts';

const be = new RefBackend();
const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const tokens = Array.from({ length: 400 }, (_, i) => (i * 31 + ((i * i) % 7)) % 64);

test('first-token mass equals the mean of the cached attention pattern; uniform at initialisation', () => {
  const cfg = resolveConfig({ n_layer: 2, n_head: 3, d_model: 24, ctx: 32, vocab: 64, positions: 'rotary', init_std: 0.002 });
  const m = createModel(be, cfg, 1);
  const seqs = datasetWindows(tokens, 3, 32);
  const r = attentionSinks(m, seqs, { batch: 2 });
  for (let l = 0; l < 2; l++)
    for (let h = 0; h < 3; h++) {
      let s = 0, n = 0;
      for (const seq of seqs) {
        const { cache } = m.runWithCache((x) => x === `blocks.${l}.attn.hook_pattern`, () => m.forward(seq, 1, 32));
        const att = cache.get(`blocks.${l}.attn.hook_pattern`)!;
        for (let t = 1; t < 32; t++) { s += att[(h * 32 + t) * 32]!; n++; }
      }
      close(r.firstTokenMass[l]![h]!, s / n, 1e-9, `mass layer ${l} head ${h}`);
    }
  // with tiny weights attention is nearly uniform: query t gives 1/(t+1) to token 0
  let u = 0;
  for (let t = 1; t < 32; t++) u += 1 / (t + 1);
  close(r.meanMass, u / 31, 2e-3, 'uniform-attention first-token mass');
  assert.equal(r.sinkRate, 0, 'no sink heads at initialisation');
  assert.equal(r.biasMass, null, 'no k′ slot without attn_kv_bias');
  assert.ok(formatSinkTable(r).includes('sink rate'), 'table renders');
});

test('a planted sink head (all attention on token 0) and the k′ slot of an attn_kv_bias model', () => {
  const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, ctx: 24, vocab: 64, attn_kv_bias: true });
  const m = createModel(be, cfg, 2);
  const seqs = datasetWindows(tokens, 2, 24);
  // the k′ slot: mass at column T, and the rows still sum to 1
  const r0 = attentionSinks(m, seqs);
  assert.ok(r0.biasMass !== null && r0.biasRate !== null, 'k′ mass reported');
  let bias = 0, n = 0;
  for (const seq of seqs) {
    const { cache } = m.runWithCache((x) => x === 'blocks.0.attn.hook_pattern', () => m.forward(seq, 1, 24));
    const att = cache.get('blocks.0.attn.hook_pattern')!;
    for (let t = 1; t < 24; t++) {
      let row = 0;
      for (let k = 0; k <= 24; k++) row += att[t * 25 + k]!;
      close(row, 1, 1e-5, `row ${t} sums to 1 with the k′ slot`);
      bias += att[t * 25 + 24]!;
      n++;
    }
  }
  close(r0.biasMass![0]![0]!, bias / n, 1e-9, 'k′-slot mass of layer 0 head 0');
  // plant: layer 1 head 1 puts all its mass on token 0 (a model hook; the analysis hook runs after it)
  m.addHook('blocks.1.attn.hook_pattern', (a, ctx) => {
    const [B, H, T, W] = ctx.shape as [number, number, number, number];
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const o = ((b * H + 1) * T + t) * W;
      for (let k = 0; k < W; k++) a[o + k] = k === 0 ? 1 : 0;
    }
    return a;
  });
  const r = attentionSinks(m, seqs);
  m.clearHooks();
  assert.equal(r.firstTokenMass[1]![1], 1, 'planted head has mass 1 on token 0');
  assert.equal(r.sinkRate, 1 / 4, 'one sink head of four');
  assert.deepEqual(r.topKey[1]![1], { position: 0, mass: 1 }, 'top key of the planted head');
  assert.equal(r.biasMass![1]![1], 0, 'planted head gives nothing to k′');
});

test('eviction re-rotates cached keys: layer-0 keys and values equal those computed fresh at the new positions', () => {
  for (const extra of [{}, { n_kv_head: 1, rotary_fraction: 0.5 }]) {
    const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, ctx: 16, vocab: 64, positions: 'rotary', ...extra });
    const m = createModel(be, cfg, 5);
    const ids = tokens.slice(0, 10);
    const a = m.newCache(1, 10);
    m.decode(Int32Array.from(ids), 10, a);
    evictSlot(m, a, 3);
    assert.equal(a.pos, 9, 'one slot freed');
    const kept = [...ids.slice(0, 3), ...ids.slice(4)];
    const b = m.newCache(1, 10);
    m.decode(Int32Array.from(kept), 9, b);
    const D = cfg.d_head, KV = cfg.n_kv_head;
    for (let h = 0; h < KV; h++)
      for (let s = 0; s < 9; s++)
        for (let d = 0; d < D; d++) {
          const i = (h * 10 + s) * D + d;
          close(a.k[0]![i]!, b.k[0]![i]!, 1e-5, `layer-0 key head ${h} slot ${s} dim ${d}`);
          close(a.v[0]![i]!, b.v[0]![i]!, 1e-6, `layer-0 value head ${h} slot ${s} dim ${d}`);
        }
    // deeper layers differ (their keys were computed with the evicted token in context)
    let diff = 0;
    for (let i = 4 * D; i < 9 * D; i++) diff = Math.max(diff, Math.abs(a.k[1]![i]! - b.k[1]![i]!));
    assert.ok(diff > 1e-6, `layer-1 keys keep their original context (max diff ${diff})`);
  }
});

test('without eviction streaming equals a plain forward pass; learned positions are refused', () => {
  const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, ctx: 64, vocab: 64, positions: 'rotary', attn_kv_bias: true });
  const m = createModel(be, cfg, 9);
  const text = tokens.slice(0, 41);
  const s = streamingEval(m, text, { sinks: 4, window: 100 });
  const x = Int32Array.from(text.slice(0, 40)), y = Int32Array.from(text.slice(1, 41));
  const loss = m.forward(x, 1, 40, y);
  assert.equal(s.mode, 'dense', 'no eviction');
  close(s.loss, loss, 1e-5, 'cache decode = forward');
  const rc = recomputeEval(m, text, { window: 100 });
  close(rc.loss, loss, 1e-5, 'recompute with a window longer than the text = forward');
  const lm = createModel(be, resolveConfig({ n_layer: 1, n_head: 2, d_model: 16, ctx: 32, vocab: 64 }), 1);
  assert.throws(() => streamingEval(lm, tokens.slice(0, 100), { sinks: 4, window: 16 }), PhenomenaError);
});

test('StreamingLLM on a trained rotary model: every mode runs; eviction counts; window and streaming share the cache size', async () => {
  const tr = await trainTiny({ steps: 120 });
  const text = tr.evalBytes.subarray(0, 600);
  const rows = streamingComparison(tr.model, text, { sinks: 4, window: 28, recompute: true, chunk: 32 });
  assert.deepEqual(rows.map((r) => r.mode), ['dense', 'window', 'streaming', 'recompute'], 'modes');
  assert.equal(rows[1]!.evictions, 599 - 32, 'window cache of 32 evicts once per token past 32');
  assert.equal(rows[2]!.evictions, 599 - 32, 'streaming cache of 4 + 28 evicts as often');
  for (const r of rows) assert.ok(Number.isFinite(r.perplexity) && r.perplexity > 1 && r.chunkLoss.length === 19, `${r.mode}: ppl ${r.perplexity}`);
  // the first 32 predictions are identical in every cached mode (no eviction yet), and differ afterwards
  close(rows[1]!.chunkLoss[0]!, rows[0]!.chunkLoss[0]!, 1e-6, 'window = dense before any eviction');
  close(rows[2]!.chunkLoss[0]!, rows[0]!.chunkLoss[0]!, 1e-6, 'streaming = dense before any eviction');
  assert.notEqual(rows[1]!.loss, rows[2]!.loss, 'window and streaming differ once tokens are evicted');
});
