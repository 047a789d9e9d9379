/**
 * TrainConfig: everything a training run needs, one typed object with self-documenting defaults. A run's
 * config.json holds the fully resolved object (model config included), so a run directory is
 * self-describing and `--resume` needs nothing else.
 */
import { z } from 'zod';
import { GPTConfigSchema, formatIssues, resolveConfig, type GPTConfig } from '../model/config.ts';
import { DECAY_POLICIES, type DecayPolicy } from './optimizer.ts';

export const TrainConfigSchema = z
  .object({
    /** training data: a text file (read as raw bytes, vocab 256) or a shard directory from `lmlab data build` */
    data: z.string().min(1).default(''),
    /** how to read `data`: 'bytes' (raw UTF-8 bytes), 'shards', or 'auto' (a directory means shards) */
    data_format: z.enum(['auto', 'bytes', 'shards']).default('auto'),
    /** share of a raw-bytes file held out for validation (the tail) */
    val_fraction: z.number().gt(0).lt(1).default(0.1),
    /** the model */
    model: GPTConfigSchema.partial().default({}),
    /** sequences per micro-batch */
    batch_size: z.number().int().min(1).default(8),
    /** tokens per sequence; 0 means the model's ctx */
    seq_len: z.number().int().min(0).default(0),
    /** micro-batches per optimizer step */
    grad_accum: z.number().int().min(1).default(1),
    /** optimizer steps */
    steps: z.number().int().min(1).default(200),
    /** peak learning rate */
    lr: z.number().positive().default(1e-3),
    /** final learning rate of cosine/linear decay */
    min_lr: z.number().min(0).default(1e-4),
    /** linear warmup steps */
    warmup: z.number().int().min(0).default(20),
    schedule: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
    weight_decay: z.number().min(0).default(0.1),
    /** which tensors decay (see optimizer.ts) */
    decay: z.enum(DECAY_POLICIES as [DecayPolicy, ...DecayPolicy[]]).default('matrices'),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.95),
    eps: z.number().positive().default(1e-8),
    /** global-norm gradient clipping threshold; 0 disables */
    grad_clip: z.number().min(0).default(1.0),
    /** validate every N steps (and at the end); 0 disables */
    eval_every: z.number().int().min(0).default(50),
    /** validation batches per evaluation */
    eval_batches: z.number().int().min(1).default(8),
    /** checkpoint every N steps (and at the end); 0 = only at the end */
    checkpoint_every: z.number().int().min(0).default(100),
    /** checkpoints kept on disk (oldest deleted first); 0 keeps all */
    keep_checkpoints: z.number().int().min(0).default(2),
    /** log a metrics line every N steps */
    log_every: z.number().int().min(1).default(10),
    /** seed for initialisation and data order */
    seed: z.number().int().default(1337),
    /** compute backend: ref, native or auto (LMLAB_BACKEND overrides 'auto') */
    backend: z.enum(['auto', 'ref', 'native']).default('auto'),
    /** run directory */
    out: z.string().default('runs/run'),
  })
  .strict();

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type ResolvedTrainConfig = Omit<z.output<typeof TrainConfigSchema>, 'model'> & { model: GPTConfig };

export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
}

/** Validate and resolve a training config (unknown keys and wrong types are errors naming the field). */
export function resolveTrainConfig(input: unknown, source = 'train config'): ResolvedTrainConfig {
  let raw = input ?? {};
  if (typeof raw === 'object' && raw !== null && typeof (raw as { model?: unknown }).model === 'object') {
    // a saved run config holds the resolved model; drop its derived fields before validation
    const { d_head: _d, rot_dims: _r, ...model } = (raw as { model: Record<string, unknown> }).model;
    raw = { ...raw, model };
  }
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) throw new TrainConfigError(formatIssues(source, r.error.issues));
  const model = resolveConfig(r.data.model, `${source}: model`);
  const cfg = { ...r.data, model };
  if (cfg.seq_len === 0) cfg.seq_len = model.ctx;
  if (cfg.seq_len > model.ctx && model.positions === 'learned') {
    throw new TrainConfigError(`${source}: seq_len: ${cfg.seq_len} exceeds model.ctx ${model.ctx}`);
  }
  if (cfg.min_lr > cfg.lr) throw new TrainConfigError(`${source}: min_lr (${cfg.min_lr}) must not exceed lr (${cfg.lr})`);
  return cfg;
}

/**
 * Apply command-line overrides `key=value` (dotted keys reach into `model`, e.g. model.n_layer=6) to a
 * plain config object. Values are parsed as JSON when they parse (numbers, booleans), else kept as strings.
 * Unknown keys and wrong types are caught by resolveTrainConfig afterwards.
 */
export function applyOverrides(base: Record<string, unknown>, overrides: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new TrainConfigError(`override '${o}': expected --key=value`);
    const key = o.slice(0, eq).replace(/^--/, ''), raw = o.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    const path = key.split('.');
    let obj = out;
    for (const k of path.slice(0, -1)) {
      if (typeof obj[k] !== 'object' || obj[k] === null) obj[k] = {};
      obj = obj[k] as Record<string, unknown>;
    }
    obj[path[path.length - 1]!] = value;
  }
  return out;
}
