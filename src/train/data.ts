/**
 * Token sources for training: random training windows drawn with the run's RNG (so a resumed run draws
 * the same windows) and fixed, evenly spaced validation windows (so every evaluation sees the same data).
 */
import { readFileSync, statSync } from 'node:fs';
import type { Rng } from '../engine/rng.ts';
import { DataError } from '../data/errors.ts';

export interface Batch {
  /** inputs [B*T] */
  x: Int32Array;
  /** next-token targets [B*T] */
  y: Int32Array;
}

export interface TokenSource {
  readonly vocabSize: number;
  readonly trainTokens: number;
  readonly valTokens: number;
  /** B random windows of T+1 tokens from the training split. */
  sampleBatch(rng: Rng, B: number, T: number): Batch;
  /** The i-th of a fixed set of validation batches (deterministic). */
  valBatch(i: number, nBatches: number, B: number, T: number): Batch;
  /** The whole validation split (for `lmlab eval`). */
  valTokensArray(): ArrayLike<number>;
  /** A short description for logs. */
  describe(): string;
}

/** Data errors are the data layer's (one class to catch for every data problem). */
export { DataError };

/** Windows over an in-memory token array. */
export class ArrayTokenSource implements TokenSource {
  constructor(
    readonly vocabSize: number,
    private readonly train: ArrayLike<number>,
    private readonly val: ArrayLike<number>,
    private readonly label: string,
  ) {}

  get trainTokens(): number { return this.train.length; }
  get valTokens(): number { return this.val.length; }

  private fill(src: ArrayLike<number>, starts: number[], T: number): Batch {
    const B = starts.length, x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s = starts[b]!;
      for (let t = 0; t < T; t++) {
        x[b * T + t] = src[s + t]!;
        y[b * T + t] = src[s + t + 1]!;
      }
    }
    return { x, y };
  }

  sampleBatch(rng: Rng, B: number, T: number): Batch {
    const span = this.train.length - T - 1;
    if (span < 0) throw new DataError(`${this.label}: training split has ${this.train.length} tokens; need at least ${T + 1} for seq_len ${T}`);
    const starts = Array.from({ length: B }, () => rng.int(span + 1));
    return this.fill(this.train, starts, T);
  }

  valBatch(i: number, nBatches: number, B: number, T: number): Batch {
    const span = this.val.length - T - 1;
    if (span < 0) throw new DataError(`${this.label}: validation split has ${this.val.length} tokens; need at least ${T + 1} for seq_len ${T}`);
    const total = nBatches * B;
    const starts = Array.from({ length: B }, (_, b) => Math.floor(((i * B + b) * span) / Math.max(1, total - 1)));
    return this.fill(this.val, starts, T);
  }

  valTokensArray(): ArrayLike<number> {
    return this.val;
  }

  describe(): string {
    return `${this.label}: ${this.train.length} train / ${this.val.length} val tokens, vocab ${this.vocabSize}`;
  }
}

/** Raw UTF-8 bytes of a text file (vocab 256); the last `valFraction` of the bytes is validation. */
export function bytesSource(path: string, valFraction = 0.1): TokenSource {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DataError(`data: file '${path}' does not exist`);
  }
  if (!st.isFile()) throw new DataError(`data: '${path}' is not a file (raw-bytes training needs a text file)`);
  const bytes = readFileSync(path);
  if (bytes.length < 64) throw new DataError(`data: '${path}' has only ${bytes.length} bytes; too little to train on`);
  const cut = Math.floor(bytes.length * (1 - valFraction));
  return new ArrayTokenSource(256, bytes.subarray(0, cut), bytes.subarray(cut), path);
}

/** Unigram entropy (nats/token) of a token array: the loss of the best context-free predictor. */
export function unigramEntropy(tokens: ArrayLike<number>, vocab: number): number {
  const counts = new Float64Array(vocab);
  for (let i = 0; i < tokens.length; i++) counts[tokens[i]!]!++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / tokens.length) * Math.log(c / tokens.length);
  return h;
}
