/**
 * Parameter and FLOP accounting for decoder-only transformers, for lmlab's structural model shape and
 * for Hugging Face config.json files (gpt2, gpt_neox, llama).
 *
 * Parameter counts (ParamCounts):
 *  - total: every distinct parameter (a tied embedding/unembedding matrix counted once);
 *  - nonEmbedding: total minus token and learned-position embeddings and minus a separate (untied)
 *    unembedding matrix — Kaplan's N counted exactly (weights, biases, norms);
 *  - nonEmbeddingWithHead: nonEmbedding + vocab·d, the unembedding counted whether tied or not
 *    (Porian et al. 2024's correction: the last layer's parameters and FLOPs belong in N);
 *  - kaplan: 12·n_layer·d² (Kaplan's approximation, d_attn = d, d_ff = 4d, no biases or norms);
 *  - nanogptNonEmbedding: nanoGPT's get_num_params() default (total minus wpe only).
 *
 * FLOPs per token (flopsPerToken), three named conventions, never mixed:
 *  - 'kaplan' (Kaplan 2020 Table 1): C_fwd = 2N + 2·n_layer·n_ctx·d_attn, N = the matmul weights of the
 *    blocks (+ the unembedding with includeLogits, + 4·d_model embedding ops with includeEmbeddings);
 *    training = 3·C_fwd (≈ 6N);
 *  - 'palm' (PaLM App. B, Chinchilla-style attention counted fully): training = 6N + 12·n_layer·d_attn·T;
 *  - 'chinchilla' (Hoffmann 2022 App. F, every term): per layer KQV 2·d·(d_q + 2·d_kv), logits 2·T·d_q,
 *    softmax 3·H·T, value reduction 2·T·d_q, output 2·d_q·d, dense 2·k·d·d_ff (k = 2 for GELU MLPs,
 *    3 for SwiGLU); embeddings 2·V·d and logits 2·V·d optional; training = 3·forward.
 *  Chinchilla's Table A4 ratios FLOPs/(6ND) come out only with embeddings and logits excluded
 *  (test/scaling/accounting.test.ts).
 */
import { ConfigError } from './errors.ts';

/** lmlab's structural description of a decoder-only transformer. */
export interface ModelShape {
  n_layer: number;
  d_model: number;
  n_head: number;
  /** Key/value heads (grouped-query attention); default n_head. */
  n_kv_head?: number;
  /** Per-head dimension; default d_model / n_head. */
  d_head?: number;
  d_ff: number;
  vocab: number;
  ctx: number;
  /** Unembedding shares the token-embedding matrix. */
  tied: boolean;
  activation: 'gelu' | 'gelu_tanh' | 'swiglu';
  /** Biases on the attention and MLP linear layers (and on LayerNorm). */
  biases: boolean;
  /** Override `biases` for the attention projections only (Llama attention_bias). */
  attn_bias?: boolean;
  /** Override `biases` for the MLP projections only (Llama mlp_bias). */
  mlp_bias?: boolean;
  /**
   * learned: a ctx × d position table; rotary: no parameters; relative: Transformer-XL style relative
   * attention as in Gopher/Chinchilla (d² + 2d per layer: relative keys, content and position biases).
   */
  positions: 'learned' | 'rotary' | 'relative';
  /** Default 'layernorm' (weight, plus bias when `biases`); 'rmsnorm' has a weight only. */
  norm?: 'layernorm' | 'rmsnorm';
}

export interface ParamCounts {
  total: number;
  tokenEmbedding: number;
  positionEmbedding: number;
  /** Separate unembedding matrix (0 when tied). */
  unembedding: number;
  perLayer: { attention: number; mlp: number; norms: number; relative: number; total: number };
  finalNorm: number;
  nonEmbedding: number;
  nonEmbeddingWithHead: number;
  kaplan: number;
  kaplanWithHead: number;
  nanogptNonEmbedding: number;
  /** Weights of the block matmuls only (attention projections + MLP), used by the FLOP conventions. */
  matmulWeights: number;
}

function dims(s: ModelShape): { dq: number; dkv: number; dh: number; kvh: number } {
  const dh = s.d_head ?? s.d_model / s.n_head;
  const kvh = s.n_kv_head ?? s.n_head;
  return { dh, kvh, dq: s.n_head * dh, dkv: kvh * dh };
}

/** Check a shape; throws ConfigError naming the field. */
export function validateShape(s: ModelShape, where = 'model shape'): void {
  const ints: (keyof ModelShape)[] = ['n_layer', 'd_model', 'n_head', 'd_ff', 'vocab', 'ctx'];
  for (const k of ints) {
    const v = s[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new ConfigError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (s.n_kv_head !== undefined && !(Number.isInteger(s.n_kv_head) && s.n_kv_head > 0 && s.n_head % s.n_kv_head === 0)) {
    throw new ConfigError(`${where}: n_kv_head must be a positive divisor of n_head (${s.n_head}), got ${s.n_kv_head}`);
  }
  const dh = s.d_head ?? s.d_model / s.n_head;
  if (!(Number.isInteger(dh) && dh > 0)) throw new ConfigError(`${where}: d_model ${s.d_model} is not divisible by n_head ${s.n_head} (give d_head)`);
  if (!['gelu', 'gelu_tanh', 'swiglu'].includes(s.activation)) throw new ConfigError(`${where}: activation must be gelu, gelu_tanh or swiglu, got ${JSON.stringify(s.activation)}`);
  if (!['learned', 'rotary', 'relative'].includes(s.positions)) throw new ConfigError(`${where}: positions must be learned, rotary or relative, got ${JSON.stringify(s.positions)}`);
  if (typeof s.tied !== 'boolean') throw new ConfigError(`${where}: tied must be a boolean`);
  if (typeof s.biases !== 'boolean') throw new ConfigError(`${where}: biases must be a boolean`);
}

export function countParams(s: ModelShape): ParamCounts {
  validateShape(s);
  const d = s.d_model;
  const { dq, dkv } = dims(s);
  const attnBias = s.attn_bias ?? s.biases;
  const mlpBias = s.mlp_bias ?? s.biases;
  const norm = s.norm ?? 'layernorm';
  const normParams = norm === 'layernorm' && s.biases ? 2 * d : d;
  const attnW = d * dq + 2 * d * dkv + dq * d;
  const attention = attnW + (attnBias ? dq + 2 * dkv + d : 0);
  const nMlpIn = s.activation === 'swiglu' ? 2 : 1;
  const mlpW = (nMlpIn + 1) * d * s.d_ff;
  const mlp = mlpW + (mlpBias ? nMlpIn * s.d_ff + d : 0);
  const norms = 2 * normParams;
  const relative = s.positions === 'relative' ? d * d + 2 * d : 0;
  const layer = attention + mlp + norms + relative;
  const tokenEmbedding = s.vocab * d;
  const positionEmbedding = s.positions === 'learned' ? s.ctx * d : 0;
  const unembedding = s.tied ? 0 : s.vocab * d;
  const finalNorm = normParams;
  const total = s.n_layer * layer + finalNorm + tokenEmbedding + positionEmbedding + unembedding;
  const nonEmbedding = total - tokenEmbedding - positionEmbedding - unembedding;
  const kaplan = 12 * s.n_layer * d * d;
  return {
    total,
    tokenEmbedding,
    positionEmbedding,
    unembedding,
    perLayer: { attention, mlp, norms, relative, total: layer },
    finalNorm,
    nonEmbedding,
    nonEmbeddingWithHead: nonEmbedding + s.vocab * d,
    kaplan,
    kaplanWithHead: kaplan + s.vocab * d,
    nanogptNonEmbedding: total - positionEmbedding,
    matmulWeights: s.n_layer * (attnW + mlpW),
  };
}

export type FlopConvention = 'kaplan' | 'palm' | 'chinchilla';

export interface FlopOptions {
  convention: FlopConvention;
  /** Count the embedding lookup (kaplan: 4·d_model; chinchilla: 2·V·d). Default false. */
  includeEmbeddings?: boolean;
  /** Count the unembedding / logits matmul 2·V·d (kaplan and palm: as part of N). Default false. */
  includeLogits?: boolean;
  /** Sequence length T (default: the shape's ctx). */
  seqLen?: number;
  /** kaplan/palm: N from the exact matmul weights ('exact', default) or 12·n_layer·d² ('approx'). */
  n?: 'exact' | 'approx';
}

export interface FlopCount {
  convention: FlopConvention;
  /** FLOPs per token, forward pass. */
  forward: number;
  /** FLOPs per token, training (forward + backward = 3 × forward). */
  training: number;
  /** The N used (kaplan/palm), or the parameter-like matmul count (chinchilla). */
  N: number;
  /** Attention-context term per token in the training count. */
  attentionContext: number;
  /** training / (6N): how far the 6N rule is off for this shape. */
  ratioTo6N: number;
}

export function flopsPerToken(s: ModelShape, opts: FlopOptions): FlopCount {
  const c = countParams(s);
  const T = opts.seqLen ?? s.ctx;
  if (!(Number.isInteger(T) && T > 0)) throw new ConfigError(`seqLen must be a positive integer, got ${T}`);
  const d = s.d_model;
  const { dq, dkv } = dims(s);
  const L = s.n_layer;
  const V = s.vocab;
  const logits = opts.includeLogits ?? false;
  const emb = opts.includeEmbeddings ?? false;
  const Nblocks = (opts.n ?? 'exact') === 'approx' ? c.kaplan : c.matmulWeights;
  const N = Nblocks + (logits ? V * d : 0);
  if (opts.convention === 'kaplan') {
    const ctxTerm = 2 * L * T * dq;
    const forward = 2 * N + ctxTerm + (emb ? 4 * d : 0);
    return { convention: 'kaplan', forward, training: 3 * forward, N, attentionContext: 3 * ctxTerm, ratioTo6N: (3 * forward) / (6 * N) };
  }
  if (opts.convention === 'palm') {
    const ctxTerm = 12 * L * dq * T;
    const training = 6 * N + ctxTerm + (emb ? 3 * 2 * V * d : 0);
    return { convention: 'palm', forward: training / 3, training, N, attentionContext: ctxTerm, ratioTo6N: training / (6 * N) };
  }
  if (opts.convention === 'chinchilla') {
    const H = s.n_head;
    const kqv = 2 * d * (dq + 2 * dkv);
    const attLogits = 2 * T * dq;
    const softmax = 3 * H * T;
    const attValue = 2 * T * dq;
    const attOut = 2 * dq * d;
    const dense = 2 * (s.activation === 'swiglu' ? 3 : 2) * d * s.d_ff;
    const forward = L * (kqv + attLogits + softmax + attValue + attOut + dense) + (emb ? 2 * V * d : 0) + (logits ? 2 * V * d : 0);
    const Nc = c.matmulWeights + (logits ? V * d : 0);
    return { convention: 'chinchilla', forward, training: 3 * forward, N: Nc, attentionContext: 3 * L * (attLogits + softmax + attValue), ratioTo6N: (3 * forward) / (6 * Nc) };
  }
  throw new ConfigError(`unknown FLOP convention ${JSON.stringify(opts.convention)} (kaplan, palm, chinchilla)`);
}

type Json = Record<string, unknown>;

function num(cfg: Json, keys: string[], where: string, fallback?: number): number {
  for (const k of keys) {
    const v = cfg[k];
    if (v !== undefined && v !== null) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}: ${k} must be a number, got ${JSON.stringify(v)}`);
      return v;
    }
  }
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${where}: missing ${keys.join(' / ')}`);
}

function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`config: ${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function geluKind(act: unknown, where: string): 'gelu' | 'gelu_tanh' {
  if (act === 'gelu' || act === undefined) return 'gelu';
  if (act === 'gelu_new' || act === 'gelu_fast' || act === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw new ConfigError(`${where}: unsupported activation ${JSON.stringify(act)} (gelu, gelu_new, gelu_fast, gelu_pytorch_tanh)`);
}

/** Convert a Hugging Face config.json object (model_type gpt2, gpt_neox or llama) to a ModelShape. */
export function shapeFromHfConfig(cfg: Json, where = 'config.json'): ModelShape {
  const type = cfg.model_type;
  if (type === 'gpt2') {
    const d = num(cfg, ['n_embd'], where);
    return {
      n_layer: num(cfg, ['n_layer'], where),
      d_model: d,
      n_head: num(cfg, ['n_head'], where),
      d_ff: num(cfg, ['n_inner'], where, 4 * d),
      vocab: num(cfg, ['vocab_size'], where),
      ctx: num(cfg, ['n_positions', 'n_ctx'], where),
      tied: bool(cfg, 'tie_word_embeddings', true),
      activation: geluKind(cfg.activation_function ?? 'gelu_new', where),
      biases: true,
      positions: 'learned',
      norm: 'layernorm',
    };
  }
  if (type === 'gpt_neox') {
    return {
      n_layer: num(cfg, ['num_hidden_layers'], where),
      d_model: num(cfg, ['hidden_size'], where),
      n_head: num(cfg, ['num_attention_heads'], where),
      d_ff: num(cfg, ['intermediate_size'], where),
      vocab: num(cfg, ['vocab_size'], where),
      ctx: num(cfg, ['max_position_embeddings'], where),
      tied: bool(cfg, 'tie_word_embeddings', false),
      activation: geluKind(cfg.hidden_act ?? 'gelu', where),
      biases: true,
      attn_bias: bool(cfg, 'attention_bias', true),
      positions: 'rotary',
      norm: 'layernorm',
    };
  }
  if (type === 'llama') {
    const act = cfg.hidden_act ?? 'silu';
    if (act !== 'silu' && act !== 'swish') throw new ConfigError(`${where}: llama hidden_act ${JSON.stringify(act)} is not a SwiGLU (silu) MLP`);
    const d = num(cfg, ['hidden_size'], where);
    const H = num(cfg, ['num_attention_heads'], where);
    return {
      n_layer: num(cfg, ['num_hidden_layers'], where),
      d_model: d,
      n_head: H,
      n_kv_head: num(cfg, ['num_key_value_heads'], where, H),
      d_head: num(cfg, ['head_dim'], where, d / H),
      d_ff: num(cfg, ['intermediate_size'], where),
      vocab: num(cfg, ['vocab_size'], where),
      ctx: num(cfg, ['max_position_embeddings'], where),
      tied: bool(cfg, 'tie_word_embeddings', false),
      activation: 'swiglu',
      biases: false,
      attn_bias: bool(cfg, 'attention_bias', false),
      mlp_bias: bool(cfg, 'mlp_bias', false),
      positions: 'rotary',
      norm: 'rmsnorm',
    };
  }
  throw new ConfigError(`${where}: model_type ${JSON.stringify(type)} is not supported (gpt2, gpt_neox, llama)`);
}

/** Accept either a ModelShape or a Hugging Face config object (recognised by model_type). */
export function toShape(obj: Json, where = 'config'): ModelShape {
  if (typeof obj.model_type === 'string') return shapeFromHfConfig(obj, where);
  const s = obj as unknown as ModelShape;
  validateShape(s, where);
  return s;
}
