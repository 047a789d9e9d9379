/**
 * A model-backed `Scorer` for the evaluation driver (evaluate.ts): teacher-forced log-probabilities via
 * `scoreContinuations` and greedy generation via `generate` (src/train/generate.ts), with texts encoded by
 * a `Codec` — raw UTF-8 bytes (vocab 256, the default) or a small character vocabulary for tiny
 * task models.
 */
import type { GPT } from '../model/gpt.ts';
import { generate, scoreContinuations } from '../train/generate.ts';
import type { GreedyResult, Scorer } from './evaluate.ts';

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Text ↔ token ids. */
export interface Codec {
  readonly name: string;
  readonly vocab: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder('utf-8', { fatal: false });

/** Raw UTF-8 bytes (vocab 256). Invalid byte sequences decode to U+FFFD. */
export const byteCodec: Codec = {
  name: 'bytes',
  vocab: 256,
  encode: (text) => Array.from(utf8Enc.encode(text)),
  decode: (ids) => utf8Dec.decode(Uint8Array.from(ids, (i) => i & 255)),
};

/**
 * A character vocabulary: id i is the i-th character of `alphabet` (code points, no duplicates).
 * Encoding a character outside the alphabet is an error; decoding an id outside it gives U+FFFD.
 */
export function charCodec(alphabet: string): Codec {
  const chars = Array.from(alphabet);
  const index = new Map<string, number>();
  chars.forEach((c, i) => {
    if (index.has(c)) throw new CodecError(`charCodec: character ${JSON.stringify(c)} appears twice in the alphabet`);
    index.set(c, i);
  });
  if (chars.length === 0) throw new CodecError('charCodec: empty alphabet');
  return {
    name: `chars(${chars.length})`,
    vocab: chars.length,
    encode: (text) => Array.from(text, (c) => {
      const id = index.get(c);
      if (id === undefined) throw new CodecError(`charCodec: character ${JSON.stringify(c)} (in ${JSON.stringify(text.slice(0, 40))}) is not in the alphabet ${JSON.stringify(alphabet)}`);
      return id;
    }),
    decode: (ids) => ids.map((i) => chars[i] ?? '\uFFFD').join(''),
  };
}

export interface ModelScorerOptions {
  codec?: Codec;
  /** Pairs per forward pass in scoreContinuations (default 32). */
  batchSize?: number;
  /** Generation stops for a row at this string's (single) token (default '\n'); null: never. */
  stop?: string | null;
  /**
   * Text put in front of every prompt (default ''), e.g. '\n' so that a model trained on newline-separated
   * examples sees the query where an example starts. Scores and generations are of the continuation only.
   */
  prefix?: string;
}

/** Scorer over a GPT model. Texts must fit the context: prompt + generated tokens ≤ ctx. */
export class ModelScorer implements Scorer {
  readonly codec: Codec;
  private readonly batchSize: number;
  private readonly stopToken: number | undefined;
  private readonly prefix: string;

  constructor(readonly model: GPT, opts: ModelScorerOptions = {}) {
    this.codec = opts.codec ?? byteCodec;
    if (this.codec.vocab > model.config.vocab) throw new CodecError(`ModelScorer: codec ${this.codec.name} has ${this.codec.vocab} tokens but the model's vocab is ${model.config.vocab}`);
    this.batchSize = opts.batchSize ?? 32;
    this.prefix = opts.prefix ?? '';
    const stop = opts.stop === undefined ? '\n' : opts.stop;
    if (stop !== null) {
      const ids = this.codec.encode(stop);
      if (ids.length !== 1) throw new CodecError(`ModelScorer: stop string ${JSON.stringify(stop)} must be one token, is ${ids.length}`);
      this.stopToken = ids[0];
    }
  }

  encode(text: string): number[] {
    return this.codec.encode(text);
  }

  scoreContinuations(prompts: string[], targets: string[]): number[][] {
    if (prompts.length !== targets.length) throw new CodecError(`scoreContinuations: ${prompts.length} prompts but ${targets.length} targets`);
    const pairs = prompts.map((p, i) => ({ context: this.codec.encode(this.prefix + p), continuation: this.codec.encode(targets[i]!) }));
    return scoreContinuations(this.model, pairs, this.batchSize);
  }

  generateGreedy(prompts: string[], maxTokens: number): GreedyResult[] {
    if (prompts.length === 0) return [];
    const enc = prompts.map((p) => this.codec.encode(this.prefix + p));
    const longest = Math.max(...enc.map((e) => e.length));
    const room = this.model.config.positions === 'learned' ? this.model.config.ctx - longest : maxTokens;
    if (room < 1) throw new CodecError(`generateGreedy: a prompt of ${longest} tokens leaves no room in ctx ${this.model.config.ctx}`);
    const g = generate(this.model, enc, { maxNewTokens: Math.min(maxTokens, room), temperature: 0, stopToken: this.stopToken });
    return g.tokens.map((t) => ({ text: this.codec.decode(t), tokens: t }));
  }
}
