/**
 * Corpus specification (JSON, validated with zod). See docs/data.md for the field reference.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SpecError } from './errors.ts';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');
const base = {
  /** Unique source name (defaults to the type). */
  name: name.optional(),
  /** Share of the corpus bytes (weights are normalised over the sources). */
  weight: z.number().positive().optional(),
  /** Take at most this many documents from the source. */
  maxDocuments: z.number().int().positive().optional(),
};

export const SPAM_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;

const SourceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sotu'), ...base, years: z.tuple([z.number().int(), z.number().int()]).optional() }),
  z.strictObject({ type: z.literal('moby-dick'), ...base }),
  z.strictObject({ type: z.literal('spam-assassin'), ...base, groups: z.array(z.enum(SPAM_GROUPS)).min(1).optional() }),
  z.strictObject({
    type: z.literal('files'), ...base,
    paths: z.array(z.string().min(1)).min(1),
    extensions: z.array(z.string().min(1)).optional(),
    split: z.enum(['file', 'paragraphs', 'lines']).default('file'),
  }),
  z.strictObject({
    type: z.literal('markov'), ...base,
    order: z.number().int().min(0).max(12),
    alphabet: z.union([z.string().min(2), z.array(z.string().min(1)).min(2)]),
    concentration: z.number().positive().default(0.5),
    docLength: z.number().int().positive().default(512),
    separator: z.string().default(''),
    documents: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
  }),
  z.strictObject({
    type: z.literal('task'), ...base,
    task: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
    documents: z.number().int().positive().optional(),
  }),
]);

const TokenizerSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('train'),
    vocabSize: z.number().int().min(257),
    minFrequency: z.number().int().min(0).default(2),
    specials: z.array(z.string().min(1)).default(['<|endoftext|>']),
    /** Train on at most this many bytes of the train split (documents in corpus order). */
    maxBytes: z.number().int().positive().optional(),
  }),
  z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
  z.strictObject({ type: z.literal('gpt2') }),
]);

const CanarySpecSchema = z.strictObject({
  /** Text of each canary; "{secret}" is replaced by the random secret. */
  format: z.string().includes('{secret}').default('my secret code is {secret}'),
  alphabet: z.string().min(2).default('0123456789'),
  length: z.number().int().min(1).max(64).default(9),
  /** Insertion counts; each count gets `perCount` distinct canaries. 0 = generated but never inserted (a
   * reference for exposure). */
  counts: z.array(z.number().int().min(0).max(100000)).min(1),
  perCount: z.number().int().min(1).default(1),
});

const DuplicateSpecSchema = z.strictObject({
  /** Total number of occurrences of each chosen document (≥ 2). */
  counts: z.array(z.number().int().min(2).max(100000)).min(1),
  perCount: z.number().int().min(1).default(1),
  minBytes: z.number().int().min(1).default(200),
  maxBytes: z.number().int().min(1).default(4000),
  /** Sources to draw from (default: every non-synthetic source). */
  sources: z.array(z.string()).optional(),
});

export const CorpusSpecSchema = z.strictObject({
  name: name.default('corpus'),
  seed: z.number().int().default(0),
  sources: z.array(SourceSchema).min(1),
  /** Corpus size in bytes when sources have weights (default: as large as possible with no source repeated). */
  targetBytes: z.number().int().positive().optional(),
  split: z.strictObject({ valFraction: z.number().min(0).max(0.9).default(0.05) }).default({ valFraction: 0.05 }),
  /** Exact deduplication of documents (byte-identical) before splitting and planting. */
  dedup: z.boolean().default(false),
  tokenizer: TokenizerSpecSchema,
  dtype: z.enum(['auto', 'uint16', 'uint32']).default('auto'),
  plant: z.strictObject({
    canaries: CanarySpecSchema.optional(),
    duplicates: DuplicateSpecSchema.optional(),
  }).default({}),
});

export type CorpusSpec = z.infer<typeof CorpusSpecSchema>;
export type SourceSpec = z.infer<typeof SourceSchema>;
export type TokenizerSpec = z.infer<typeof TokenizerSpecSchema>;
export type CanarySpec = z.infer<typeof CanarySpecSchema>;
export type DuplicateSpec = z.infer<typeof DuplicateSpecSchema>;

/** A validated spec plus the directory relative paths in it are resolved against. */
export interface ResolvedSpec {
  spec: CorpusSpec;
  /** File the spec came from ("<default>" for the built-in one). */
  file: string;
  baseDir: string;
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Validates a spec object; errors name the file and the field. */
export function parseSpec(json: unknown, file = '<spec>', baseDir = process.cwd()): ResolvedSpec {
  const r = CorpusSpecSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new SpecError(file, issuePath(issue.path), issue.message);
  }
  const spec = r.data;
  // Cross-field checks.
  const names = new Set<string>();
  spec.sources.forEach((s, i) => {
    const n = s.name ?? s.type;
    if (names.has(n)) throw new SpecError(file, `sources[${i}].name`, `duplicate source name ${JSON.stringify(n)} (give each source a distinct "name")`);
    names.add(n);
  });
  const withWeight = spec.sources.filter((s) => s.weight !== undefined).length;
  if (withWeight !== 0 && withWeight !== spec.sources.length) {
    throw new SpecError(file, 'sources', 'either every source has a "weight" (byte shares of the mixture) or none does (every source contributes all its documents)');
  }
  spec.sources.forEach((s, i) => {
    if ((s.type === 'markov' || s.type === 'task') && s.weight === undefined && s.documents === undefined) {
      throw new SpecError(file, `sources[${i}]`, `a ${s.type} source is unbounded: give it "documents" (a count) or give every source a "weight"`);
    }
    if (s.type === 'markov') {
      const symbols = typeof s.alphabet === 'string' ? [...s.alphabet] : s.alphabet;
      if (new Set(symbols).size !== symbols.length) throw new SpecError(file, `sources[${i}].alphabet`, 'symbols must be distinct');
      if (s.docLength < s.order) throw new SpecError(file, `sources[${i}].docLength`, `must be ≥ order (${s.order})`);
    }
  });
  if (withWeight > 0 && spec.targetBytes === undefined && spec.sources.every((s) => s.type === 'markov' || s.type === 'task')) {
    throw new SpecError(file, 'targetBytes', 'required when every weighted source is synthetic or a task (there is no natural corpus size)');
  }
  const d = spec.plant.duplicates;
  if (d) {
    if (d.minBytes > d.maxBytes) throw new SpecError(file, 'plant.duplicates.minBytes', `must be ≤ maxBytes (${d.maxBytes})`);
    for (const [k, n] of (d.sources ?? []).entries()) {
      if (!names.has(n)) throw new SpecError(file, `plant.duplicates.sources[${k}]`, `no source named ${JSON.stringify(n)} (sources: ${[...names].join(', ')})`);
    }
  }
  const c = spec.plant.canaries;
  if (c && new Set(c.alphabet).size !== [...c.alphabet].length) throw new SpecError(file, 'plant.canaries.alphabet', 'characters must be distinct');
  return { spec, file, baseDir };
}

/** Reads and validates a spec file (JSON). Relative paths inside are resolved against the file's folder. */
export function readSpec(path: string): ResolvedSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(path, '', `cannot read spec: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpecError(path, '', `not valid JSON: ${(e as Error).message}`);
  }
  return parseSpec(json, path, dirname(resolve(path)));
}

/** Path of the built-in default spec (sotu + moby-dick + spam-assassin, canaries and duplicates). */
export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('./specs/default.json', import.meta.url));

/** Reads a spec by path, or the built-in one for "default" (or undefined). */
export function loadSpec(pathOrName?: string): ResolvedSpec {
  if (pathOrName === undefined || pathOrName === 'default') {
    const r = readSpec(DEFAULT_SPEC_PATH);
    return { ...r, file: '<default spec>' };
  }
  return readSpec(pathOrName);
}
