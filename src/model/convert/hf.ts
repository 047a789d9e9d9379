/**
 * Hugging Face checkpoints (GPT-2, GPT-NeoX / Pythia, Llama) → lmlab's canonical layout.
 *
 * - gpt2: Conv1D weights [in, out] are transposed to [out, in]; lm_head tied to wte.
 * - gpt_neox: query_key_value rows are interleaved per head ([q_h | k_h | v_h] for each head h) and are
 *   regrouped into [all q | all k | all v]; partial rotary; parallel residual; untied embed_out.
 * - llama: q/k/v projections concatenated into qkv; gate/up/down SwiGLU; RMSNorm; grouped-query heads.
 * Known non-parameter buffers are ignored; any other unexpected tensor is refused by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../engine/backend.ts';
import { openSafetensorsDir } from '../../io/safetensors.ts';
import { resolveConfig, type GPTConfig } from '../config.ts';
import { GPT, ModelError } from '../gpt.ts';
import { loadGpt2, type TensorSource } from './gpt2.ts';
import { HfConfigError, parseHfConfig, type HfModelConfig } from '../../io/hfconfig.ts';

export type HFArch = 'gpt2' | 'gpt_neox' | 'llama';

/**
 * Normalise any supported HF config.json (parsed and validated by io/hfconfig.ts) into a GPTConfig.
 */
export function hfConfig(hf: unknown, source = 'config.json'): { arch: HFArch; config: GPTConfig } {
  let n: HfModelConfig;
  try {
    n = parseHfConfig(hf, source);
  } catch (e) {
    if (e instanceof HfConfigError) throw new ModelError(e.message);
    throw e;
  }
  const config = resolveConfig({
    n_layer: n.n_layer, n_head: n.n_head, n_kv_head: n.n_kv_head, d_model: n.d_model, d_ff: n.d_ff, vocab: n.vocab, ctx: n.ctx,
    norm: n.norm, norm_eps: n.norm_eps, activation: n.activation, positions: n.positions,
    rotary_fraction: n.positions === 'rotary' ? n.rotary_fraction : 1, rope_base: n.rope_base ?? 10000,
    parallel_residual: n.parallel_residual, tied_embeddings: n.tied_embeddings, biases: n.biases,
  }, source);
  return { arch: n.arch, config };
}

/** Copies named HF tensors into the model, checking shapes, and refuses unexpected tensors. */
class Importer {
  private used = new Set<string>();
  constructor(private readonly model: GPT, private readonly src: TensorSource, private readonly source: string) {}

  get(hf: string, shape: readonly number[]): Float32Array {
    if (!this.src.has(hf)) throw new ModelError(`${this.source}: missing tensor '${hf}'`);
    const s = this.src.shape(hf);
    if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) throw new ModelError(`${this.source}: tensor '${hf}' has shape [${s}], expected [${shape}]`);
    this.used.add(hf);
    return this.src.readF32(hf);
  }

  copy(name: string, hf: string): void {
    const spec = this.model.spec(name);
    this.model.p(name).set(this.get(hf, spec.shape));
  }

  finish(ignored: RegExp): void {
    for (const n of this.src.names()) {
      if (!this.used.has(n) && !ignored.test(n)) throw new ModelError(`${this.source}: unexpected tensor '${n}'`);
    }
  }
}

/** Load GPT-NeoX weights. */
export function loadNeox(backend: Backend, c: GPTConfig, src: TensorSource, source = 'model.safetensors'): GPT {
  const m = new GPT(backend, c), im = new Importer(m, src, source);
  const C = c.d_model, H = c.n_head, D = c.d_head;
  im.copy('wte', 'gpt_neox.embed_in.weight');
  for (let l = 0; l < c.n_layer; l++) {
    const h = `gpt_neox.layers.${l}.`, p = `blocks.${l}.`;
    im.copy(p + 'ln1.w', h + 'input_layernorm.weight');
    im.copy(p + 'ln1.b', h + 'input_layernorm.bias');
    im.copy(p + 'ln2.w', h + 'post_attention_layernorm.weight');
    im.copy(p + 'ln2.b', h + 'post_attention_layernorm.bias');
    // per-head interleaved [q_h; k_h; v_h] rows → [q heads; k heads; v heads]
    const w = im.get(h + 'attention.query_key_value.weight', [3 * C, C]);
    const b = im.get(h + 'attention.query_key_value.bias', [3 * C]);
    const qw = m.p(p + 'attn.qkv.w'), qb = m.p(p + 'attn.qkv.b');
    for (let head = 0; head < H; head++)
      for (let part = 0; part < 3; part++)
        for (let d = 0; d < D; d++) {
          const from = head * 3 * D + part * D + d, to = part * H * D + head * D + d;
          qw.set(w.subarray(from * C, (from + 1) * C), to * C);
          qb[to] = b[from]!;
        }
    im.copy(p + 'attn.proj.w', h + 'attention.dense.weight');
    im.copy(p + 'attn.proj.b', h + 'attention.dense.bias');
    im.copy(p + 'mlp.fc.w', h + 'mlp.dense_h_to_4h.weight');
    im.copy(p + 'mlp.fc.b', h + 'mlp.dense_h_to_4h.bias');
    im.copy(p + 'mlp.proj.w', h + 'mlp.dense_4h_to_h.weight');
    im.copy(p + 'mlp.proj.b', h + 'mlp.dense_4h_to_h.bias');
  }
  im.copy('lnf.w', 'gpt_neox.final_layer_norm.weight');
  im.copy('lnf.b', 'gpt_neox.final_layer_norm.bias');
  if (!c.tied_embeddings) im.copy('lm_head', 'embed_out.weight');
  im.finish(/\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/);
  return m;
}

/** Load Llama weights. */
export function loadLlama(backend: Backend, c: GPTConfig, src: TensorSource, source = 'model.safetensors'): GPT {
  const m = new GPT(backend, c), im = new Importer(m, src, source);
  const C = c.d_model, H = c.n_head, KV = c.n_kv_head, D = c.d_head;
  im.copy('wte', 'model.embed_tokens.weight');
  for (let l = 0; l < c.n_layer; l++) {
    const h = `model.layers.${l}.`, p = `blocks.${l}.`;
    im.copy(p + 'ln1.w', h + 'input_layernorm.weight');
    im.copy(p + 'ln2.w', h + 'post_attention_layernorm.weight');
    const qkv = m.p(p + 'attn.qkv.w');
    qkv.set(im.get(h + 'self_attn.q_proj.weight', [H * D, C]), 0);
    qkv.set(im.get(h + 'self_attn.k_proj.weight', [KV * D, C]), H * D * C);
    qkv.set(im.get(h + 'self_attn.v_proj.weight', [KV * D, C]), (H + KV) * D * C);
    im.copy(p + 'attn.proj.w', h + 'self_attn.o_proj.weight');
    im.copy(p + 'mlp.gate.w', h + 'mlp.gate_proj.weight');
    im.copy(p + 'mlp.up.w', h + 'mlp.up_proj.weight');
    im.copy(p + 'mlp.down.w', h + 'mlp.down_proj.weight');
  }
  im.copy('lnf.w', 'model.norm.weight');
  if (!c.tied_embeddings) im.copy('lm_head', 'lm_head.weight');
  im.finish(/\.rotary_emb\.inv_freq$/);
  return m;
}

/** Load an HF model directory (config.json + model.safetensors or a sharded index). */
export function loadHFModel(backend: Backend, dir: string): { model: GPT; arch: HFArch } {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new ModelError(`${dir}: no config.json (expected a Hugging Face model directory)`);
  let hf: unknown;
  try {
    hf = JSON.parse(readFileSync(cfgPath, 'utf8')) as unknown;
  } catch (e) {
    throw new ModelError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  const { arch, config } = hfConfig(hf, cfgPath);
  const f = openSafetensorsDir(dir);
  try {
    const src: TensorSource = { has: (n) => f.tensors.has(n), shape: (n) => f.tensors.get(n)!.shape, readF32: (n) => f.readF32(n), names: () => f.tensors.keys() };
    const label = join(dir, 'model.safetensors');
    const model = arch === 'gpt2' ? loadGpt2(backend, config, src, label) : arch === 'gpt_neox' ? loadNeox(backend, config, src, label) : loadLlama(backend, config, src, label);
    return { model, arch };
  } finally {
    f.close();
  }
}
