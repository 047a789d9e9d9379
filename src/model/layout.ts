/**
 * Parameter layout (llm.c style): every parameter is a named view into one flat buffer. Gradients and
 * the AdamW moments use the same layout, so one offset table serves all four buffers.
 *
 * Canonical names (DESIGN.md): wte, wpe, blocks.{l}.ln1.{w,b}, blocks.{l}.attn.qkv.{w,b},
 * blocks.{l}.attn.proj.{w,b}, blocks.{l}.attn.{k_bias,v_bias}, blocks.{l}.ln2.{w,b},
 * blocks.{l}.mlp.{fc,proj}.{w,b} or blocks.{l}.mlp.{gate,up,down}.{w,b}, lnf.{w,b}, lm_head.
 * Linear weights are [out, in]. qkv.w rows are [H query heads | KV key heads | KV value heads] × d_head.
 */
import type { Arr } from '../engine/backend.ts';
import type { GPTConfig } from './config.ts';

/** Where a parameter is and how it is treated. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** default weight-decay membership: tensors with ≥ 2 dims (nanoGPT, the golden fixture) */
  readonly decay: boolean;
  /** what the parameter is, for counting: token/position embedding, unembedding, or the rest */
  readonly kind: 'embedding' | 'position' | 'unembedding' | 'block' | 'final_norm';
}

export interface ParamLayout {
  readonly specs: readonly ParamSpec[];
  readonly byName: ReadonlyMap<string, ParamSpec>;
  readonly total: number;
}

/** Build the layout of a config. Order: wte, wpe, blocks 0..L-1, lnf, lm_head. */
export function buildLayout(c: GPTConfig): ParamLayout {
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], kind: ParamSpec['kind']): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, decay: shape.length >= 2, kind });
    offset += size;
  };
  const C = c.d_model, F = c.d_ff, H = c.n_head, KV = c.n_kv_head, D = c.d_head;
  const lnBias = c.norm === 'layernorm' && c.biases;
  add('wte', [c.vocab, C], 'embedding');
  if (c.positions === 'learned') add('wpe', [c.ctx, C], 'position');
  for (let l = 0; l < c.n_layer; l++) {
    const p = `blocks.${l}.`;
    add(p + 'ln1.w', [C], 'block');
    if (lnBias) add(p + 'ln1.b', [C], 'block');
    add(p + 'attn.qkv.w', [(H + 2 * KV) * D, C], 'block');
    if (c.biases) add(p + 'attn.qkv.b', [(H + 2 * KV) * D], 'block');
    add(p + 'attn.proj.w', [C, H * D], 'block');
    if (c.biases) add(p + 'attn.proj.b', [C], 'block');
    if (c.attn_kv_bias) {
      add(p + 'attn.k_bias', [H, D], 'block');
      add(p + 'attn.v_bias', [H, D], 'block');
    }
    add(p + 'ln2.w', [C], 'block');
    if (lnBias) add(p + 'ln2.b', [C], 'block');
    if (c.activation === 'swiglu') {
      add(p + 'mlp.gate.w', [F, C], 'block');
      if (c.biases) add(p + 'mlp.gate.b', [F], 'block');
      add(p + 'mlp.up.w', [F, C], 'block');
      if (c.biases) add(p + 'mlp.up.b', [F], 'block');
      add(p + 'mlp.down.w', [C, F], 'block');
      if (c.biases) add(p + 'mlp.down.b', [C], 'block');
    } else {
      add(p + 'mlp.fc.w', [F, C], 'block');
      if (c.biases) add(p + 'mlp.fc.b', [F], 'block');
      add(p + 'mlp.proj.w', [C, F], 'block');
      if (c.biases) add(p + 'mlp.proj.b', [C], 'block');
    }
  }
  add('lnf.w', [C], 'final_norm');
  if (lnBias) add('lnf.b', [C], 'final_norm');
  if (!c.tied_embeddings) add('lm_head', [c.vocab, C], 'unembedding');
  return { specs, byName: new Map(specs.map((s) => [s.name, s])), total: offset };
}

/** A named view of one flat buffer. */
export function view(buf: Arr, spec: ParamSpec): Arr {
  return buf.subarray(spec.offset, spec.offset + spec.size);
}

/** Named views of every parameter of a flat buffer (params, grads, m or v). */
export function views(buf: Arr, layout: ParamLayout): Map<string, Arr> {
  return new Map(layout.specs.map((s) => [s.name, view(buf, s)]));
}

/** Parameter counts: total, non-embedding (Kaplan N: excludes token/position embeddings and a tied head). */
export interface ParamCounts {
  total: number;
  embedding: number;
  position: number;
  unembedding: number;
  /** Kaplan N: every parameter except token/position embeddings and the (untied) unembedding */
  nonEmbedding: number;
  /** non-embedding plus the unembedding matrix (Porian et al.'s correction; counts wte once when tied) */
  nonEmbeddingWithHead: number;
}

export function countParams(c: GPTConfig, layout: ParamLayout = buildLayout(c)): ParamCounts {
  const sum = (k: ParamSpec['kind']): number => layout.specs.filter((s) => s.kind === k).reduce((a, s) => a + s.size, 0);
  const embedding = sum('embedding'), position = sum('position'), unembedding = sum('unembedding');
  const nonEmbedding = layout.total - embedding - position - unembedding;
  const head = c.tied_embeddings ? c.vocab * c.d_model : unembedding;
  return { total: layout.total, embedding, position, unembedding, nonEmbedding, nonEmbeddingWithHead: nonEmbedding + head };
}

/**
 * Training FLOPs per token (forward + backward = 3 × forward), in both conventions of DOMAIN.md §1.
 * - kaplan: 6N + 6·n_layer·n_ctx·d_attn (C_fwd = 2N + 2·n_layer·n_ctx·d_attn), N non-embedding.
 * - chinchilla (PaLM / Hoffmann App. F): 6N + 12·n_layer·d·T with attention counted fully;
 *   `withEmbeddings` adds the logits matmul (6·d·V) to it.
 */
export function flopsPerToken(c: GPTConfig, T = c.ctx): { kaplan: number; chinchilla: number; chinchillaWithLogits: number } {
  const N = countParams(c).nonEmbedding;
  const dAttn = c.n_head * c.d_head;
  const kaplan = 6 * N + 6 * c.n_layer * T * dAttn;
  const chinchilla = 6 * N + 12 * c.n_layer * c.d_model * T;
  return { kaplan, chinchilla, chinchillaWithLogits: chinchilla + 6 * c.d_model * c.vocab };
}
