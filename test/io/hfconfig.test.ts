// HF config.json normalisation: the three shared fixtures (expected values written out from the configs
// and the fixture README: GPT-2 tied/learned/gelu_new, NeoX parallel/25% rotary/exact GELU, Llama GQA
// 4/2 heads), published configs of real checkpoints (GPT-2 small, Pythia-160m, TinyLlama-1.1B), and a
// clear error for each unsupported or malformed field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfConfigError, parseHfConfig, readHfConfig, type HfModelConfig } from '../../src/io/hfconfig.ts';

const FIX = new URL('../../../shared/fixtures/', import.meta.url).pathname;

test('fixture configs normalise to the documented architectures', () => {
  assert.deepEqual({ ...readHfConfig(FIX + 'gpt2-tiny') }, {
    arch: 'gpt2', n_layer: 2, n_head: 4, n_kv_head: 4, d_model: 32, d_head: 8, d_ff: 128, vocab: 96, ctx: 16,
    norm: 'layernorm', norm_eps: 1e-5, activation: 'gelu_tanh', positions: 'learned', rotary_fraction: 0, rotary_dim: 0,
    rope_base: null, parallel_residual: false, tied_embeddings: true, biases: true, torch_dtype: 'float32',
  } satisfies HfModelConfig);
  assert.deepEqual({ ...readHfConfig(FIX + 'neox-tiny/config.json') }, {
    arch: 'gpt_neox', n_layer: 2, n_head: 4, n_kv_head: 4, d_model: 32, d_head: 8, d_ff: 128, vocab: 80, ctx: 32,
    norm: 'layernorm', norm_eps: 1e-5, activation: 'gelu', positions: 'rotary', rotary_fraction: 0.25, rotary_dim: 2,
    rope_base: 10000, parallel_residual: true, tied_embeddings: false, biases: true, torch_dtype: 'float32',
  } satisfies HfModelConfig);
  assert.deepEqual({ ...readHfConfig(FIX + 'llama-tiny') }, {
    arch: 'llama', n_layer: 2, n_head: 4, n_kv_head: 2, d_model: 32, d_head: 8, d_ff: 88, vocab: 72, ctx: 32,
    norm: 'rmsnorm', norm_eps: 1e-6, activation: 'swiglu', positions: 'rotary', rotary_fraction: 1, rotary_dim: 8,
    rope_base: 10000, parallel_residual: false, tied_embeddings: false, biases: false, torch_dtype: 'bfloat16',
  } satisfies HfModelConfig);
});

// Published configs (trimmed to the fields that matter, values as on the Hugging Face hub).
const GPT2_SMALL = { model_type: 'gpt2', activation_function: 'gelu_new', n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, layer_norm_epsilon: 1e-5, vocab_size: 50257, scale_attn_weights: true, reorder_and_upcast_attn: false };
const PYTHIA_160M = { model_type: 'gpt_neox', hidden_act: 'gelu', hidden_size: 768, intermediate_size: 3072, layer_norm_eps: 1e-5, max_position_embeddings: 2048, num_attention_heads: 12, num_hidden_layers: 12, rotary_emb_base: 10000, rotary_pct: 0.25, tie_word_embeddings: false, torch_dtype: 'float16', use_parallel_residual: true, vocab_size: 50304 };
const TINYLLAMA = { model_type: 'llama', hidden_act: 'silu', hidden_size: 2048, intermediate_size: 5632, max_position_embeddings: 2048, num_attention_heads: 32, num_hidden_layers: 22, num_key_value_heads: 4, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: false, torch_dtype: 'bfloat16', vocab_size: 32000 };

test('published configs: GPT-2 small, Pythia-160m, TinyLlama-1.1B', () => {
  const g = parseHfConfig(GPT2_SMALL);
  assert.equal(g.d_ff, 3072); // n_inner absent → 4 × n_embd
  assert.equal(g.tied_embeddings, true); // GPT-2 default
  assert.equal(g.d_head, 64);
  const p = parseHfConfig(PYTHIA_160M);
  assert.equal(p.rotary_dim, 16); // 64 × 0.25
  assert.equal(p.parallel_residual, true);
  assert.equal(p.torch_dtype, 'float16');
  const t = parseHfConfig(TINYLLAMA);
  assert.deepEqual([t.n_layer, t.n_head, t.n_kv_head, t.d_head, t.d_ff, t.vocab, t.norm_eps], [22, 32, 4, 64, 5632, 32000, 1e-5]);
  // defaults of the transformers config classes when fields are absent
  const bare = parseHfConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 1, vocab_size: 10 });
  assert.deepEqual([bare.n_kv_head, bare.ctx, bare.norm_eps, bare.rope_base, bare.tied_embeddings, bare.biases], [4, 2048, 1e-6, 10000, false, false]);
  assert.equal(parseHfConfig({ ...PYTHIA_160M, rotary_pct: undefined, rotary_emb_base: undefined, use_parallel_residual: undefined }).rotary_dim, 16);
  assert.equal(parseHfConfig({ ...TINYLLAMA, rope_scaling: { rope_type: 'default' } }).rope_base, 10000);
  assert.equal(parseHfConfig({ ...TINYLLAMA, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }).rope_base, 500000);
  assert.equal(parseHfConfig({ ...GPT2_SMALL, activation_function: 'gelu' }).activation, 'gelu');
  assert.equal(parseHfConfig({ ...TINYLLAMA, attention_bias: true, mlp_bias: true }).biases, true);
});

function rejects(cfg: unknown, field: string | null, re: RegExp) {
  assert.throws(() => parseHfConfig(cfg, 'x/config.json'), (e: unknown) => {
    assert.ok(e instanceof HfConfigError, String(e));
    assert.equal(e.field, field, e.message);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith('x/config.json: '));
    return true;
  });
}

test('unsupported or malformed configs give HfConfigError naming file and field', () => {
  rejects([], null, /JSON object/);
  rejects({ n_embd: 3 }, 'model_type', /missing/);
  rejects({ ...GPT2_SMALL, model_type: 'mistral' }, 'model_type', /"mistral" is not supported/);
  rejects({ ...GPT2_SMALL, activation_function: 'relu' }, 'activation_function', /"relu" is not supported/);
  rejects({ ...GPT2_SMALL, n_layer: 0 }, 'n_layer', /positive integer/);
  rejects({ ...GPT2_SMALL, n_head: 12.5 }, 'n_head', /positive integer/);
  rejects({ ...GPT2_SMALL, n_head: '12' }, 'n_head', /positive integer/);
  rejects({ ...GPT2_SMALL, n_head: 7 }, null, /not divisible by the 7/);
  rejects({ ...GPT2_SMALL, vocab_size: undefined }, 'vocab_size', /missing/);
  rejects({ ...GPT2_SMALL, layer_norm_epsilon: -1 }, 'layer_norm_epsilon', /positive number/);
  rejects({ ...GPT2_SMALL, scale_attn_by_inverse_layer_idx: true }, 'scale_attn_by_inverse_layer_idx', /not supported/);
  rejects({ ...GPT2_SMALL, add_cross_attention: true }, 'add_cross_attention', /cross-attention/);
  rejects({ ...GPT2_SMALL, tie_word_embeddings: 'yes' }, 'tie_word_embeddings', /true or false/);
  rejects({ ...PYTHIA_160M, rotary_pct: 1.5 }, 'rotary_pct', /above 1/);
  rejects({ ...PYTHIA_160M, rotary_pct: 0.01 }, null, /rotary dimension 0/);
  rejects({ ...PYTHIA_160M, hidden_act: 'gelu_10' }, 'hidden_act', /not supported/);
  rejects({ ...PYTHIA_160M, attention_bias: false }, 'attention_bias', /not supported/);
  rejects({ ...TINYLLAMA, hidden_act: 'gelu' }, 'hidden_act', /SwiGLU/);
  rejects({ ...TINYLLAMA, num_key_value_heads: 5 }, null, /multiple of the 5/);
  rejects({ ...TINYLLAMA, head_dim: 128 }, 'head_dim', /differs/);
  rejects({ ...TINYLLAMA, attention_bias: true }, 'attention_bias', /all linear layers or none/);
  // Llama 3.x style rope scaling
  rejects({ ...TINYLLAMA, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' } }, 'rope_scaling', /not supported \(only plain RoPE\)/);
  rejects({ ...TINYLLAMA, rope_scaling: 'linear' }, 'rope_scaling', /object or null/);
});

test('readHfConfig rejects duplicate keys and unreadable files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-cfg-'));
  try {
    const p = join(dir, 'config.json');
    writeFileSync(p, JSON.stringify(TINYLLAMA).replace('"hidden_size":2048', '"hidden_size":2048,"hidden_size":4096'));
    assert.throws(() => readHfConfig(dir), (e: unknown) => e instanceof HfConfigError && /duplicate JSON key "hidden_size"/.test(e.message) && e.message.startsWith(p));
    writeFileSync(p, '{"model_type": "llama",');
    assert.throws(() => readHfConfig(p), /invalid JSON/);
    assert.throws(() => readHfConfig(join(dir, 'nope')), /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
