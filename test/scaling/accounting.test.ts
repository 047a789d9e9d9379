import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countParams, flopsPerToken, shapeFromHfConfig, toShape, type ModelShape } from '../../src/scaling/accounting.ts';
import { ConfigError } from '../../src/scaling/errors.ts';

const FIX = new URL('../../../shared/fixtures/', import.meta.url);

/** Sum of tensor sizes in a safetensors header: an independent parameter count. */
function safetensorsParams(path: URL): number {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  let total = 0;
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') total += v.shape.reduce((a, b) => a * b, 1);
  return total;
}

const gpt2small: ModelShape = { n_layer: 12, d_model: 768, n_head: 12, d_ff: 3072, vocab: 50257, ctx: 1024, tied: true, activation: 'gelu_tanh', biases: true, positions: 'learned' };

test('GPT-2 small shape: Kaplan N = 12·n_layer·d² = 84,934,656', () => {
  const c = countParams(gpt2small);
  assert.equal(c.kaplan, 84_934_656);
  assert.equal(c.matmulWeights, 84_934_656); // d_attn = d, d_ff = 4d: the approximation is exact for the weights
});

test('GPT-2 124M without biases, tied: 124,337,664 = nanoGPT get_num_params(non_embedding=False)', () => {
  const c = countParams({ ...gpt2small, biases: false });
  assert.equal(c.total, 124_337_664);
  // nanoGPT's default get_num_params() subtracts only wpe
  assert.equal(c.nanogptNonEmbedding, 124_337_664 - 1024 * 768);
  assert.equal(c.unembedding, 0);
});

test('published totals: HF GPT-2 124,439,808; Pythia-160M 162,322,944; Llama-2-7B 6,738,415,616', () => {
  assert.equal(countParams(shapeFromHfConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 })).total, 124_439_808);
  assert.equal(
    countParams(shapeFromHfConfig({ model_type: 'gpt_neox', num_hidden_layers: 12, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 50304, max_position_embeddings: 2048, tie_word_embeddings: false })).total,
    162_322_944,
  );
  const llama7 = shapeFromHfConfig({ model_type: 'llama', num_hidden_layers: 32, hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 32, intermediate_size: 11008, vocab_size: 32000, max_position_embeddings: 4096, hidden_act: 'silu' });
  assert.equal(countParams(llama7).total, 6_738_415_616);
});

test('HF fixtures: counts from config.json equal the tensor sizes in model.safetensors', () => {
  for (const name of ['gpt2-tiny', 'neox-tiny', 'llama-tiny']) {
    const cfg = JSON.parse(readFileSync(new URL(`${name}/config.json`, FIX), 'utf8')) as Record<string, unknown>;
    const fromConfig = countParams(toShape(cfg, name)).total;
    assert.equal(fromConfig, safetensorsParams(new URL(`${name}/model.safetensors`, FIX)), name);
  }
});

test('non-embedding counts: embeddings excluded, the unembedding counted only in the "with head" variant', () => {
  const untied: ModelShape = { ...gpt2small, tied: false, positions: 'rotary' };
  const c = countParams(untied);
  assert.equal(c.unembedding, 50257 * 768);
  assert.equal(c.nonEmbedding, c.total - c.tokenEmbedding - c.unembedding);
  assert.equal(c.nonEmbeddingWithHead, c.nonEmbedding + 50257 * 768);
  const t = countParams(gpt2small);
  assert.equal(t.nonEmbeddingWithHead - t.nonEmbedding, 50257 * 768); // head FLOPs are spent even when tied
});

test('Chinchilla Table A4: FLOPs/(6ND) = 1.03, 1.10, 1.08, 1.04, 1.03, 0.99 with embeddings and logits excluded', () => {
  // Table A4 shapes (layers, d_model, ffw, heads, kv size); vocab 32,000, sequence 2048; N counts relative
  // attention parameters and the unembedding but not the input embedding (Gopher/Chinchilla convention)
  const rows: [number, number, number, number, number, number][] = [
    [10, 640, 2560, 10, 64, 1.03],
    [20, 1024, 4096, 16, 64, 1.1],
    [24, 1280, 5120, 10, 128, 1.08],
    [26, 1792, 7168, 14, 128, 1.04],
    [28, 2048, 8192, 16, 128, 1.03],
    [40, 3584, 14336, 28, 128, 0.99],
  ];
  for (const [L, d, f, H, k, published] of rows) {
    const s: ModelShape = { n_layer: L, d_model: d, n_head: H, d_head: k, d_ff: f, vocab: 32000, ctx: 2048, tied: false, activation: 'gelu', biases: true, positions: 'relative' };
    const N = countParams(s).nonEmbeddingWithHead;
    const excl = flopsPerToken(s, { convention: 'chinchilla' }).training / (6 * N);
    assert.equal(Math.round(excl * 100) / 100, published, `L=${L} d=${d}: ${excl}`);
    const incl = flopsPerToken(s, { convention: 'chinchilla', includeEmbeddings: true, includeLogits: true }).training / (6 * N);
    assert.ok(Math.abs(incl - published) > 0.02, `with embeddings and logits the ratio ${incl} should not match ${published}`);
  }
  // the published parameter counts (73M, 305M, 552M, 1.1B, 1.6B, 6.8B)
  const s0: ModelShape = { n_layer: 10, d_model: 640, n_head: 10, d_head: 64, d_ff: 2560, vocab: 32000, ctx: 2048, tied: false, activation: 'gelu', biases: true, positions: 'relative' };
  assert.equal(Math.round(countParams(s0).nonEmbeddingWithHead / 1e6), 74);
});

test('Kaplan and PaLM FLOP conventions', () => {
  const c = countParams(gpt2small);
  const k = flopsPerToken(gpt2small, { convention: 'kaplan' });
  assert.equal(k.forward, 2 * c.matmulWeights + 2 * 12 * 1024 * 768);
  assert.equal(k.training, 3 * k.forward);
  const kh = flopsPerToken(gpt2small, { convention: 'kaplan', includeLogits: true });
  assert.equal(kh.forward - k.forward, 2 * 50257 * 768);
  const p = flopsPerToken(gpt2small, { convention: 'palm', seqLen: 2048 });
  assert.equal(p.training, 6 * c.matmulWeights + 12 * 12 * 768 * 2048);
  const approx = flopsPerToken(gpt2small, { convention: 'kaplan', n: 'approx' });
  assert.equal(approx.N, 84_934_656);
  // SwiGLU and GQA enter the Chinchilla count through the matrix shapes
  const llama = shapeFromHfConfig({ model_type: 'llama', num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 176, vocab_size: 100, max_position_embeddings: 16 });
  const ch = flopsPerToken(llama, { convention: 'chinchilla' });
  const T = 16;
  const perLayer = 2 * 64 * (64 + 2 * 32) + 2 * T * 64 + 3 * 4 * T + 2 * T * 64 + 2 * 64 * 64 + 2 * 3 * 64 * 176;
  assert.equal(ch.forward, 2 * perLayer);
});

test('bad shapes and configs give ConfigError naming the field', () => {
  assert.throws(() => countParams({ ...gpt2small, n_head: 7 }), (e: Error) => e instanceof ConfigError && /n_head/.test(e.message));
  assert.throws(() => countParams({ ...gpt2small, vocab: 0 }), (e: Error) => e instanceof ConfigError && /vocab/.test(e.message));
  assert.throws(() => shapeFromHfConfig({ model_type: 'bert' }), (e: Error) => e instanceof ConfigError && /bert/.test(e.message));
  assert.throws(() => shapeFromHfConfig({ model_type: 'gpt2', n_embd: 768 }), (e: Error) => e instanceof ConfigError && /n_layer/.test(e.message));
  assert.throws(() => shapeFromHfConfig({ model_type: 'llama', num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, intermediate_size: 8, vocab_size: 4, max_position_embeddings: 4, hidden_act: 'gelu' }), /SwiGLU/);
});
