/**
 * Hugging Face `config.json` → one normalised description of a decoder-only transformer, for the three
 * architectures lmlab imports: GPT-2 (`model_type: "gpt2"`), GPT-NeoX / Pythia (`"gpt_neox"`) and Llama
 * (`"llama"`). Only what changes the forward pass is kept; anything lmlab does not implement (other
 * activations, rope scaling, cross-attention, mixed bias settings, a head_dim that is not
 * hidden_size / heads, …) is an HfConfigError naming the file and field, never a silent default.
 * Defaults for absent fields are those of the transformers config classes.
 *
 * This module only reads the config; parameter names and layouts are the model converters' business.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JsonParseError, parseJsonStrict } from './json.ts';

export type HfArch = 'gpt2' | 'gpt_neox' | 'llama';
export const HF_ARCHS: readonly HfArch[] = ['gpt2', 'gpt_neox', 'llama'];

/** The normalised architecture description. */
export interface HfModelConfig {
  arch: HfArch;
  n_layer: number;
  /** query heads */
  n_head: number;
  /** key/value heads (= n_head unless grouped-query attention) */
  n_kv_head: number;
  d_model: number;
  /** d_model / n_head */
  d_head: number;
  /** MLP hidden width (for SwiGLU: the width of gate and up) */
  d_ff: number;
  vocab: number;
  /** maximum context (n_positions / max_position_embeddings) */
  ctx: number;
  norm: 'layernorm' | 'rmsnorm';
  norm_eps: number;
  /** gelu = exact erf GELU; gelu_tanh = tanh approximation (gelu_new); swiglu = SiLU-gated MLP */
  activation: 'gelu' | 'gelu_tanh' | 'swiglu';
  positions: 'learned' | 'rotary';
  /** fraction of each head's dimensions rotated (0 for learned positions) */
  rotary_fraction: number;
  /** rotated dimensions per head: floor(d_head × rotary_fraction), even (0 for learned positions) */
  rotary_dim: number;
  /** RoPE base θ (null for learned positions) */
  rope_base: number | null;
  /** attention and MLP read the same input and are summed (GPT-NeoX use_parallel_residual) */
  parallel_residual: boolean;
  /** lm_head shares the token-embedding matrix */
  tied_embeddings: boolean;
  /** linear layers (and LayerNorms, for gpt2 / gpt_neox) carry biases */
  biases: boolean;
  /** torch_dtype as declared (e.g. "float32", "bfloat16"), or null */
  torch_dtype: string | null;
}

/** A config that is malformed or asks for something lmlab does not implement. */
export class HfConfigError extends Error {
  override readonly name = 'HfConfigError';
  constructor(
    readonly file: string,
    readonly field: string | null,
    detail: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

type Obj = Record<string, unknown>;

class Fields {
  constructor(readonly o: Obj, readonly file: string) {}
  err(field: string | null, detail: string): HfConfigError {
    return new HfConfigError(this.file, field, detail);
  }
  has(k: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.o, k) && this.o[k] !== null && this.o[k] !== undefined;
  }
  show(v: unknown): string {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 80) + '…' : s;
  }
  /** positive integer, required unless def given (null in the file counts as absent) */
  int(k: string, def?: number): number {
    if (!this.has(k)) {
      if (def === undefined) throw this.err(k, 'missing (a positive integer is required)');
      return def;
    }
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw this.err(k, `expected a positive integer, got ${this.show(v)}`);
    return v;
  }
  /** positive finite number */
  pos(k: string, def: number): number {
    if (!this.has(k)) return def;
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.err(k, `expected a positive number, got ${this.show(v)}`);
    return v;
  }
  bool(k: string, def: boolean): boolean {
    if (!this.has(k)) return def;
    const v = this.o[k];
    if (typeof v !== 'boolean') throw this.err(k, `expected true or false, got ${this.show(v)}`);
    return v;
  }
  str(k: string, def: string): string {
    if (!this.has(k)) return def;
    const v = this.o[k];
    if (typeof v !== 'string') throw this.err(k, `expected a string, got ${this.show(v)}`);
    return v;
  }
  /** a field that must be absent/null or equal to `ok` */
  only(k: string, ok: unknown, why: string): void {
    if (this.has(k) && this.o[k] !== ok) throw this.err(k, `${this.show(this.o[k])} is not supported (${why})`);
  }
}

const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

function activationOf(f: Fields, k: string, def: string): 'gelu' | 'gelu_tanh' {
  const a = f.str(k, def);
  if (a === 'gelu') return 'gelu';
  if (GELU_TANH.includes(a)) return 'gelu_tanh';
  throw f.err(k, `activation ${JSON.stringify(a)} is not supported (lmlab has gelu (exact erf) and ${GELU_TANH.join(' / ')} (tanh approximation))`);
}

/** RoPE θ, allowing the newer `rope_parameters` / `rope_scaling` forms only when they mean plain RoPE. */
function ropeBase(f: Fields, key: string, def: number): number {
  for (const k of ['rope_scaling', 'rope_parameters']) {
    if (!f.has(k)) continue;
    const v = f.o[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw f.err(k, `expected an object or null, got ${f.show(v)}`);
    const type = (v as Obj).rope_type ?? (v as Obj).type;
    if (type !== 'default') throw f.err(k, `rope scaling ${f.show(v)} is not supported (only plain RoPE)`);
    const theta = (v as Obj).rope_theta;
    if (theta !== undefined) {
      if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) throw f.err(`${k}.rope_theta`, `expected a positive number, got ${f.show(theta)}`);
      if (f.has(key) && f.o[key] !== theta) throw f.err(k, `rope_theta ${theta} disagrees with ${key} ${f.show(f.o[key])}`);
      return theta;
    }
  }
  return f.pos(key, def);
}

function check(f: Fields, c: HfModelConfig): HfModelConfig {
  if (c.d_model % c.n_head !== 0) throw f.err(null, `hidden size ${c.d_model} is not divisible by the ${c.n_head} attention heads`);
  if (c.n_head % c.n_kv_head !== 0) throw f.err(null, `${c.n_head} attention heads are not a multiple of the ${c.n_kv_head} key/value heads`);
  if (c.positions === 'rotary') {
    if (!(c.rotary_fraction > 0 && c.rotary_fraction <= 1)) throw f.err(null, `rotary fraction ${c.rotary_fraction} must be in (0, 1]`);
    if (c.rotary_dim < 2 || c.rotary_dim % 2 !== 0) throw f.err(null, `rotary dimension ${c.rotary_dim} (head size ${c.d_head} × ${c.rotary_fraction}) must be even and ≥ 2`);
  }
  return c;
}

/** Normalise a parsed config.json object. `file` names it in errors. */
export function parseHfConfig(json: unknown, file = 'config.json'): HfModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HfConfigError(file, null, 'expected a JSON object');
  const f = new Fields(json as Obj, file);
  const mt = f.has('model_type') ? f.o.model_type : undefined;
  if (typeof mt !== 'string') throw f.err('model_type', `missing or not a string (lmlab reads ${HF_ARCHS.join(', ')})`);
  const torch_dtype = f.has('torch_dtype') ? f.str('torch_dtype', '') : f.has('dtype') ? f.str('dtype', '') : null;
  f.only('is_encoder_decoder', false, 'decoder-only models only');
  f.only('add_cross_attention', false, 'no cross-attention');

  if (mt === 'gpt2') {
    const d = f.int('n_embd');
    const H = f.int('n_head');
    f.only('scale_attn_weights', true, 'attention scores are always scaled by 1/sqrt(d_head)');
    f.only('scale_attn_by_inverse_layer_idx', false, 'no per-layer attention scaling');
    return check(f, {
      arch: 'gpt2', n_layer: f.int('n_layer'), n_head: H, n_kv_head: H, d_model: d, d_head: d / H,
      d_ff: f.int('n_inner', 4 * d), vocab: f.int('vocab_size'), ctx: f.int('n_positions'),
      norm: 'layernorm', norm_eps: f.pos('layer_norm_epsilon', 1e-5), activation: activationOf(f, 'activation_function', 'gelu_new'),
      positions: 'learned', rotary_fraction: 0, rotary_dim: 0, rope_base: null, parallel_residual: false,
      tied_embeddings: f.bool('tie_word_embeddings', true), biases: true, torch_dtype,
    });
  }
  if (mt === 'gpt_neox') {
    const d = f.int('hidden_size');
    const H = f.int('num_attention_heads');
    const frac = f.pos(f.has('rotary_pct') || !f.has('partial_rotary_factor') ? 'rotary_pct' : 'partial_rotary_factor', 0.25);
    if (frac > 1) throw f.err('rotary_pct', `${frac} is above 1`);
    f.only('attention_bias', true, 'GPT-NeoX without attention biases (its MLP keeps them) is not supported');
    return check(f, {
      arch: 'gpt_neox', n_layer: f.int('num_hidden_layers'), n_head: H, n_kv_head: H, d_model: d, d_head: d / H,
      d_ff: f.int('intermediate_size'), vocab: f.int('vocab_size'), ctx: f.int('max_position_embeddings'),
      norm: 'layernorm', norm_eps: f.pos('layer_norm_eps', 1e-5), activation: activationOf(f, 'hidden_act', 'gelu'),
      positions: 'rotary', rotary_fraction: frac, rotary_dim: Math.floor((d / H) * frac), rope_base: ropeBase(f, f.has('rotary_emb_base') || !f.has('rope_theta') ? 'rotary_emb_base' : 'rope_theta', 10000),
      parallel_residual: f.bool('use_parallel_residual', true), tied_embeddings: f.bool('tie_word_embeddings', false), biases: true, torch_dtype,
    });
  }
  if (mt === 'llama') {
    const d = f.int('hidden_size');
    const H = f.int('num_attention_heads');
    const act = f.str('hidden_act', 'silu');
    if (act !== 'silu') throw f.err('hidden_act', `${JSON.stringify(act)} is not supported (Llama's MLP is SwiGLU: hidden_act "silu")`);
    if (f.has('head_dim') && f.o.head_dim !== d / H) throw f.err('head_dim', `${f.show(f.o.head_dim)} differs from hidden_size / num_attention_heads = ${d / H}; not supported`);
    const ab = f.bool('attention_bias', false);
    const mb = f.bool('mlp_bias', false);
    if (ab !== mb) throw f.err('attention_bias', `attention_bias ${ab} with mlp_bias ${mb} is not supported (biases must be on all linear layers or none)`);
    return check(f, {
      arch: 'llama', n_layer: f.int('num_hidden_layers'), n_head: H, n_kv_head: f.int('num_key_value_heads', H), d_model: d, d_head: d / H,
      d_ff: f.int('intermediate_size'), vocab: f.int('vocab_size'), ctx: f.int('max_position_embeddings', 2048),
      norm: 'rmsnorm', norm_eps: f.pos('rms_norm_eps', 1e-6), activation: 'swiglu',
      positions: 'rotary', rotary_fraction: 1, rotary_dim: d / H, rope_base: ropeBase(f, 'rope_theta', 10000),
      parallel_residual: false, tied_embeddings: f.bool('tie_word_embeddings', false), biases: ab, torch_dtype,
    });
  }
  throw f.err('model_type', `${JSON.stringify(mt)} is not supported (lmlab reads ${HF_ARCHS.join(', ')})`);
}

/** Read and normalise `config.json` from a file or a checkpoint directory (duplicate keys rejected). */
export function readHfConfig(pathOrDir: string): HfModelConfig {
  let file = pathOrDir;
  try {
    if (statSync(pathOrDir).isDirectory()) file = join(pathOrDir, 'config.json');
  } catch {
    /* reported below */
  }
  let text: string;
  try {
    const st = statSync(file);
    if (st.size > 10_000_000) throw new Error(`${st.size} bytes is too large for a config`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HfConfigError(file, null, `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJsonStrict(text, { maxDepth: 32 });
  } catch (e) {
    if (e instanceof JsonParseError) throw new HfConfigError(file, null, `invalid JSON: ${e.message}`);
    throw e;
  }
  return parseHfConfig(json, file);
}
