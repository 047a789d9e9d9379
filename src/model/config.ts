/**
 * GPTConfig: the one typed object that describes a decoder-only transformer. Defaults document
 * themselves (nanoGPT style); `resolveConfig` validates a partial config and fills every derived field,
 * and checkpoints embed the resolved object.
 */
import { z } from 'zod';

export const NORMS = ['layernorm', 'rmsnorm'] as const;
export const ACTIVATIONS = ['gelu', 'gelu_tanh', 'swiglu'] as const;
export const POSITIONS = ['learned', 'rotary'] as const;

const int = (min: number) => z.number().int().min(min);

/** Schema of a model configuration; every field has a default. */
export const GPTConfigSchema = z
  .object({
    /** transformer blocks */
    n_layer: int(1).default(4),
    /** query heads */
    n_head: int(1).default(4),
    /** key/value heads (grouped-query attention when < n_head); 0 means n_head */
    n_kv_head: int(0).default(0),
    /** residual stream width */
    d_model: int(1).default(128),
    /** MLP hidden width; 0 means 4 * d_model (or round(8/3 * d_model) for swiglu) */
    d_ff: int(0).default(0),
    /** vocabulary size (256 for raw bytes) */
    vocab: int(1).default(256),
    /** maximum context length */
    ctx: int(1).default(128),
    /** normalisation layer */
    norm: z.enum(NORMS).default('layernorm'),
    /** epsilon of the normalisation layers */
    norm_eps: z.number().positive().default(1e-5),
    /** MLP activation: exact GELU, tanh-approximate GELU (GPT-2), or SwiGLU (Llama) */
    activation: z.enum(ACTIVATIONS).default('gelu_tanh'),
    /** position encoding: learned absolute embeddings (GPT-2) or rotary (NeoX, Llama) */
    positions: z.enum(POSITIONS).default('learned'),
    /** share of each head's dims that rotary rotates (1 for Llama, 0.25 for Pythia) */
    rotary_fraction: z.number().gt(0).max(1).default(1),
    /** rotary base θ */
    rope_base: z.number().positive().default(10000),
    /** attention and MLP read the same input and add to the residual together (GPT-J / NeoX) */
    parallel_residual: z.boolean().default(false),
    /** lm_head shares the token embedding matrix */
    tied_embeddings: z.boolean().default(true),
    /** biases in linear layers and LayerNorms */
    biases: z.boolean().default(true),
    /** learnable per-head key/value bias k′, v′ (Sun et al. 2024 §6) */
    attn_kv_bias: z.boolean().default(false),
    /** std of the normal initialisation (residual projections get std / sqrt(2 * n_layer)) */
    init_std: z.number().positive().default(0.02),
  })
  .strict();

/** A user-supplied (partial) configuration. */
export type GPTConfigInput = z.input<typeof GPTConfigSchema>;

/** A fully resolved configuration: every field set, derived sizes filled in. */
export interface GPTConfig extends z.output<typeof GPTConfigSchema> {
  /** head dimension d_model / n_head */
  readonly d_head: number;
  /** rotated dims per head (0 for learned positions) */
  readonly rot_dims: number;
}

/** Raised for an invalid model configuration; the message names the field and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Format zod issues as "field: problem" lines, prefixed with where the config came from. */
export function formatIssues(source: string, issues: readonly z.core.$ZodIssue[]): string {
  return `${source}: invalid configuration\n` + issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** Validate a partial config and fill defaults and derived fields. `source` names where it came from. */
export function resolveConfig(input: GPTConfigInput | unknown = {}, source = 'model config'): GPTConfig {
  // a resolved config (e.g. from a checkpoint) carries derived fields; they are recomputed here
  let raw = input ?? {};
  if (typeof raw === 'object' && raw !== null && ('d_head' in raw || 'rot_dims' in raw)) {
    const { d_head: _d, rot_dims: _r, ...rest } = raw as Record<string, unknown>;
    raw = rest;
  }
  const r = GPTConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(source, r.error.issues));
  const c = { ...r.data };
  if (c.n_kv_head === 0) c.n_kv_head = c.n_head;
  if (c.d_ff === 0) c.d_ff = c.activation === 'swiglu' ? Math.round((8 / 3) * c.d_model) : 4 * c.d_model;
  const bad = (field: string, msg: string): never => {
    throw new ConfigError(`${source}: ${field}: ${msg}`);
  };
  if (c.d_model % c.n_head !== 0) bad('d_model', `must be divisible by n_head (${c.d_model} % ${c.n_head} != 0)`);
  if (c.n_head % c.n_kv_head !== 0) bad('n_kv_head', `must divide n_head (${c.n_head} % ${c.n_kv_head} != 0)`);
  if (c.n_kv_head > c.n_head) bad('n_kv_head', `must be ≤ n_head (${c.n_head})`);
  const d_head = c.d_model / c.n_head;
  let rot_dims = 0;
  if (c.positions === 'rotary') {
    rot_dims = Math.floor((d_head * c.rotary_fraction) / 2) * 2;
    if (rot_dims < 2) bad('rotary_fraction', `rotates ${rot_dims} of ${d_head} head dims; need at least 2`);
  }
  return Object.freeze({ ...c, d_head, rot_dims });
}
