// Whole-model gradient check in float64 on the reference backend: every architecture option's backward
// agrees with central finite differences of the loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { resolveConfig, type GPTConfigInput } from '../../src/model/config.ts';
import { GPT } from '../../src/model/gpt.ts';

const variants: Record<string, GPTConfigInput> = {
  'gpt2 (layernorm, gelu_tanh, learned, tied, biases)': {},
  'llama (rmsnorm, swiglu, rotary, GQA, untied, no biases)': { norm: 'rmsnorm', activation: 'swiglu', positions: 'rotary', n_kv_head: 2, tied_embeddings: false, biases: false },
  'neox (parallel residual, erf gelu, partial rotary)': { parallel_residual: true, activation: 'gelu', positions: 'rotary', rotary_fraction: 0.5 },
  'k′/v′ attention bias': { attn_kv_bias: true, n_kv_head: 1 },
};

for (const [name, over] of Object.entries(variants)) {
  test(`model gradient check: ${name}`, () => {
    const be = new RefBackend('f64');
    const cfg = resolveConfig({ n_layer: 2, n_head: 4, d_model: 16, d_ff: 24, vocab: 11, ctx: 8, init_std: 0.3, ...over });
    const m = new GPT(be, cfg);
    const rng = new Rng(42);
    for (let i = 0; i < m.params.length; i++) m.params[i] = rng.normal() * 0.3;
    for (const s of m.layout.specs) if (/\.w$/.test(s.name) && s.shape.length === 1) for (let i = 0; i < s.size; i++) m.params[s.offset + i] = 1 + rng.normal() * 0.2;
    const B = 2, T = 5;
    const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab));
    const tg = Int32Array.from({ length: B * T }, (_, i) => (i === 3 ? -1 : rng.int(cfg.vocab)));
    m.zeroGrads();
    m.forward(ids, B, T, tg);
    m.backward();
    const g = Float64Array.from(m.grads!);
    const h = 1e-5;
    for (const s of m.layout.specs) {
      for (let k = 0; k < 4; k++) {
        const i = s.offset + rng.int(s.size);
        const p0 = m.params[i]!;
        m.params[i] = p0 + h;
        const lp = m.forward(ids, B, T, tg);
        m.params[i] = p0 - h;
        const lm = m.forward(ids, B, T, tg);
        m.params[i] = p0;
        const fd = (lp - lm) / (2 * h);
        const err = Math.abs(fd - g[i]!) / Math.max(1e-4, Math.abs(fd) + Math.abs(g[i]!));
        assert.ok(err < 1e-5, `${s.name}[${i - s.offset}]: analytic ${g[i]} vs numeric ${fd} (rel ${err})`);
      }
    }
  });
}

test('KV-cache decode matches the full forward pass', () => {
  for (const over of Object.values(variants)) {
    const be = new RefBackend('f64');
    const cfg = resolveConfig({ n_layer: 2, n_head: 4, d_model: 16, vocab: 11, ctx: 8, init_std: 0.3, ...over });
    const m = new GPT(be, cfg);
    const rng = new Rng(7);
    for (let i = 0; i < m.params.length; i++) m.params[i] = rng.normal() * 0.3;
    const B = 2, T = 7;
    const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab));
    m.forward(ids, B, T);
    const full = Float64Array.from(m.logits());
    const cache = m.newCache(B, 8);
    // prefill 3 tokens, then one at a time
    const rows = (t0: number, n: number) => Int32Array.from({ length: B * n }, (_, i) => ids[Math.floor(i / n) * T + t0 + (i % n)]!);
    const check = (logits: ArrayLike<number>, t0: number, n: number) => {
      for (let b = 0; b < B; b++) for (let t = 0; t < n; t++) for (let v = 0; v < cfg.vocab; v++) {
        const a = logits[(b * n + t) * cfg.vocab + v]!, e = full[(b * T + t0 + t) * cfg.vocab + v]!;
        assert.ok(Math.abs(a - e) < 1e-9, `decode logits differ at b=${b} t=${t0 + t}: ${a} vs ${e}`);
      }
    };
    check(m.decode(rows(0, 3), 3, cache), 0, 3);
    for (let t = 3; t < T; t++) check(m.decode(rows(t, 1), 1, cache), t, 1);
  }
});

test('hooks read and replace activations; runWithCache records them', () => {
  const be = new RefBackend('f32');
  const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 8, vocab: 11, ctx: 8 });
  const m = new GPT(be, cfg);
  const rng = new Rng(3);
  for (let i = 0; i < m.params.length; i++) m.params[i] = rng.normal() * 0.2;
  const ids = Int32Array.from([1, 2, 3, 4]);
  const { cache } = m.runWithCache((n) => n.endsWith('hook_resid_post') || n.endsWith('hook_pattern'), () => m.forward(ids, 1, 4));
  assert.equal(cache.size, 4);
  assert.equal(cache.get('blocks.1.attn.hook_pattern')!.length, 2 * 4 * 4);
  const before = Float32Array.from(m.logits());
  // zeroing the last block's output makes logits depend only on lnf biases
  m.addHook('blocks.1.hook_resid_post', (a) => new Float32Array(a.length));
  m.forward(ids, 1, 4);
  const z = m.logits();
  for (let t = 1; t < 4; t++) for (let v = 0; v < 11; v++) assert.ok(Math.abs(z[t * 11 + v]! - z[v]!) < 1e-6);
  assert.notDeepEqual(Array.from(z), Array.from(before));
  m.clearHooks();
  assert.throws(() => m.addHook('blocks.9.hook_nope', () => {}), /unknown hook point/);
  // replacing the pattern with uniform attention over the prefix changes the output as computed by hand
  m.addHook('blocks.0.attn.hook_pattern', (a, ctx) => {
    const [, H, T, W] = ctx.shape as number[];
    const out = new Float32Array(a.length);
    for (let h = 0; h < H!; h++) for (let t = 0; t < T!; t++) for (let j = 0; j <= t; j++) out[(h * T! + t) * W! + j] = 1 / (t + 1);
    return out;
  });
  const { cache: c2 } = m.runWithCache((n) => n === 'blocks.0.attn.hook_pattern', () => m.forward(ids, 1, 4));
  assert.ok(Math.abs(c2.get('blocks.0.attn.hook_pattern')![4 + 0]! - 0.5) < 1e-7);
});
