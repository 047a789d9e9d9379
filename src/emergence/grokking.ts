/**
 * Token-level datasets for tiny-transformer experiments (the model worker trains on them):
 *
 * - Grokking (Power et al. 2022; Nanda et al. 2023): all p² pairs (a, b) of a ∘ b mod p as the sequence
 *   [a, b, '='] with label c = a ∘ b mod p; vocabulary p + 1 (tokens 0..p−1 are the numbers, token p is
 *   '='); the prediction is read at the '=' position (index 2). A seeded shuffle of all pairs puts
 *   round(trainFraction · p²) pairs in the training set and the rest in the test set (Nanda: p = 113,
 *   30 %; full-batch AdamW, weight decay 1.0).
 * - Induction sequences (Olsson et al. 2022): random tokens of length L followed by the same L tokens;
 *   the loss on the second half measures in-context copying.
 */
import { randInt, Rng, shuffle } from './rng.ts';

export class TokenDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenDataError';
  }
}

export type ModularOp = 'add' | 'sub' | 'mul';

export interface ModularDatasetOptions {
  /** Modulus (default 113, Nanda et al.). */
  p?: number;
  /** Fraction of the p² pairs used for training (default 0.3). */
  trainFraction?: number;
  seed?: number | string;
  op?: ModularOp;
}

export interface ModularSplit {
  /** [n, 3] row-major token ids: a, b, '='. */
  inputs: Int32Array;
  /** [n] labels c. */
  labels: Int32Array;
  /** [n, 3] next-token targets aligned with inputs, -1 (ignored by the loss) except at the '=' position. */
  targets: Int32Array;
  n: number;
}

export interface ModularDataset {
  p: number;
  op: ModularOp;
  vocabSize: number;
  /** Token id of '=' (= p). */
  eqToken: number;
  seqLen: 3;
  /** Position whose output predicts the answer. */
  answerPosition: 2;
  train: ModularSplit;
  test: ModularSplit;
}

function apply(a: number, b: number, p: number, op: ModularOp): number {
  if (op === 'add') return (a + b) % p;
  if (op === 'sub') return (((a - b) % p) + p) % p;
  return (a * b) % p; // p ≤ 46340 keeps a·b < 2^31
}

function makeSplit(pairs: Int32Array, idx: readonly number[], p: number, op: ModularOp): ModularSplit {
  const n = idx.length;
  const inputs = new Int32Array(n * 3);
  const labels = new Int32Array(n);
  const targets = new Int32Array(n * 3).fill(-1);
  idx.forEach((k, i) => {
    const a = pairs[2 * k]!, b = pairs[2 * k + 1]!;
    const c = apply(a, b, p, op);
    inputs[3 * i] = a;
    inputs[3 * i + 1] = b;
    inputs[3 * i + 2] = p;
    labels[i] = c;
    targets[3 * i + 2] = c;
  });
  return { inputs, labels, targets, n };
}

/** All p² pairs of a ∘ b mod p, split train/test by a seeded shuffle. */
export function modularAdditionDataset(opts: ModularDatasetOptions = {}): ModularDataset {
  const p = opts.p ?? 113;
  const frac = opts.trainFraction ?? 0.3;
  const op = opts.op ?? 'add';
  if (!Number.isInteger(p) || p < 2 || p > 46340) throw new TokenDataError(`modular dataset: p must be an integer in [2, 46340], got ${p}`);
  if (!(frac > 0 && frac < 1)) throw new TokenDataError(`modular dataset: trainFraction must be in (0, 1), got ${frac}`);
  if (!['add', 'sub', 'mul'].includes(op)) throw new TokenDataError(`modular dataset: op must be add | sub | mul, got ${op}`);
  const total = p * p;
  const pairs = new Int32Array(2 * total);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    pairs[2 * (a * p + b)] = a;
    pairs[2 * (a * p + b) + 1] = b;
  }
  const order = shuffle(new Rng(opts.seed ?? 0), Array.from({ length: total }, (_, i) => i));
  const nTrain = Math.round(frac * total);
  if (nTrain < 1 || nTrain >= total) throw new TokenDataError(`modular dataset: trainFraction ${frac} of ${total} pairs leaves an empty split`);
  return {
    p,
    op,
    vocabSize: p + 1,
    eqToken: p,
    seqLen: 3,
    answerPosition: 2,
    train: makeSplit(pairs, order.slice(0, nTrain), p, op),
    test: makeSplit(pairs, order.slice(nTrain), p, op),
  };
}

export interface InductionOptions {
  vocabSize: number;
  /** Length of the random half; sequences have length 2·halfLength. */
  halfLength: number;
  batch: number;
  rng: Rng;
  /** Token ids below this are never drawn (e.g. to reserve a BOS token at 0). Default 0. */
  minToken?: number;
}

/**
 * A batch of repeated random sequences: [batch, 2L] ids, each row r r with r uniform random tokens,
 * and next-token targets [batch, 2L]: at positions L..2L−2 the target is the next token of the copy
 * (predictable by induction: find the earlier occurrence of the current token, copy its successor);
 * everywhere else -1 (ignored), including position L−1, whose successor is only predictable from the
 * fixed repeat position, not by induction.
 */
export function inductionBatch(o: InductionOptions): { inputs: Int32Array; targets: Int32Array; seqLen: number } {
  const { vocabSize, halfLength: L, batch } = o;
  const minToken = o.minToken ?? 0;
  if (!Number.isInteger(L) || L < 1) throw new TokenDataError(`inductionBatch: halfLength must be a positive integer, got ${L}`);
  if (!Number.isInteger(vocabSize) || vocabSize - minToken < 2) throw new TokenDataError(`inductionBatch: need at least 2 drawable tokens (vocabSize ${vocabSize}, minToken ${minToken})`);
  const T = 2 * L;
  const inputs = new Int32Array(batch * T);
  const targets = new Int32Array(batch * T).fill(-1);
  for (let r = 0; r < batch; r++) {
    for (let i = 0; i < L; i++) {
      const tok = minToken + randInt(o.rng, vocabSize - minToken);
      inputs[r * T + i] = tok;
      inputs[r * T + L + i] = tok;
    }
    for (let t = L; t < T - 1; t++) targets[r * T + t] = inputs[r * T + t + 1]!;
  }
  return { inputs, targets, seqLen: T };
}
