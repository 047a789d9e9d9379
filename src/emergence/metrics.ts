/**
 * Metrics computed on the same model outputs (Schaeffer et al. 2023: the choice of metric can create or
 * remove apparent emergence). All take plain arrays: generated token ids, target token ids, per-token
 * log-probabilities of the target, option log-likelihoods. Natural logarithms throughout.
 */

export class MetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricError';
  }
}

type Seq = ArrayLike<number> | string;

function seqLen(s: Seq): number {
  return s.length;
}
function seqAt(s: Seq, i: number): number | string {
  return typeof s === 'string' ? s[i]! : s[i]!;
}

/** 1 when the two sequences are identical (token ids or strings), else 0. */
export function exactMatch(generated: Seq, target: Seq): number {
  if (seqLen(generated) !== seqLen(target)) return 0;
  for (let i = 0; i < seqLen(target); i++) if (seqAt(generated, i) !== seqAt(target, i)) return 0;
  return 1;
}

/** log Σ exp(x_i), stable. */
export function logSumExp(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new MetricError('logSumExp of an empty array');
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > m) m = xs[i]!;
  if (m === -Infinity) return -Infinity;
  if (m === Infinity) return Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i]! - m);
  return m + Math.log(s);
}

/** softmax(x), stable. */
export function softmax(xs: ArrayLike<number>): number[] {
  const lse = logSumExp(xs);
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) out.push(Math.exp(xs[i]! - lse));
  return out;
}

function checkOptions(optionLogLiks: ArrayLike<number>, gold: number, fn: string): void {
  if (optionLogLiks.length < 1) throw new MetricError(`${fn}: no options`);
  if (!Number.isInteger(gold) || gold < 0 || gold >= optionLogLiks.length) {
    throw new MetricError(`${fn}: gold index ${gold} is outside [0, ${optionLogLiks.length - 1}]`);
  }
  for (let i = 0; i < optionLogLiks.length; i++) {
    if (Number.isNaN(optionLogLiks[i]!)) throw new MetricError(`${fn}: option ${i} log-likelihood is NaN`);
  }
}

/** Index of the largest value; ties go to the first (numpy argmax convention). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/**
 * Multiple-choice grade: 1 if the option with the highest log-likelihood is the gold one, else 0
 * (ties go to the first option, as numpy argmax in lm-evaluation-harness).
 */
export function multipleChoiceGrade(optionLogLiks: ArrayLike<number>, gold: number): number {
  checkOptions(optionLogLiks, gold, 'multipleChoiceGrade');
  return argmax(optionLogLiks) === gold ? 1 : 0;
}

/**
 * Brier score as in lm-evaluation-harness: p = softmax(option log-likelihoods), score =
 * Σ_c (p_c − onehot(gold)_c)². 0 is perfect, 2 is worst; uniform over K options gives 1 − 1/K.
 * (p = 0.7/0.2/0.1 with gold 0 → 0.09 + 0.04 + 0.01 = 0.14.)
 */
export function brierScore(optionLogLiks: ArrayLike<number>, gold: number): number {
  checkOptions(optionLogLiks, gold, 'brierScore');
  const p = softmax(optionLogLiks);
  let s = 0;
  for (let c = 0; c < p.length; c++) {
    const d = p[c]! - (c === gold ? 1 : 0);
    s += d * d;
  }
  return s;
}

/** Brier score from probabilities directly (must sum to 1 within 1e-6). */
export function brierScoreFromProbs(probs: ArrayLike<number>, gold: number): number {
  checkOptions(probs, gold, 'brierScoreFromProbs');
  let sum = 0, s = 0;
  for (let c = 0; c < probs.length; c++) {
    sum += probs[c]!;
    const d = probs[c]! - (c === gold ? 1 : 0);
    s += d * d;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new MetricError(`brierScoreFromProbs: probabilities sum to ${sum}, expected 1`);
  return s;
}

/**
 * Token edit distance: Levenshtein distance (unit-cost insertions, deletions, substitutions) between two
 * token-id sequences (or strings, compared per UTF-16 code unit). O(|a|·|b|) time, O(min) memory.
 */
export function tokenEditDistance(a: Seq, b: Seq): number {
  let x = a, y = b;
  if (seqLen(x) < seqLen(y)) [x, y] = [y, x];
  const m = seqLen(y);
  if (m === 0) return seqLen(x);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= seqLen(x); i++) {
    cur[0] = i;
    const xi = seqAt(x, i - 1);
    for (let j = 1; j <= m; j++) {
      const sub = prev[j - 1]! + (xi === seqAt(y, j - 1) ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m]!;
}

/**
 * Per-position accuracy of one example: entry i is 1 when generated[i] === target[i] (positions past the
 * end of the generation count as wrong). Length = target length.
 */
export function perPositionCorrect(generated: Seq, target: Seq): number[] {
  const out: number[] = [];
  for (let i = 0; i < seqLen(target); i++) out.push(i < seqLen(generated) && seqAt(generated, i) === seqAt(target, i) ? 1 : 0);
  return out;
}

/** Mean per position over examples of different lengths: accuracy[i] over the examples that have position i. */
export function aggregatePerPosition(rows: readonly (readonly number[])[]): { accuracy: number[]; count: number[] } {
  const sum: number[] = [];
  const count: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      sum[i] = (sum[i] ?? 0) + r[i]!;
      count[i] = (count[i] ?? 0) + 1;
    }
  }
  return { accuracy: sum.map((s, i) => s / count[i]!), count };
}

/** Log-likelihood of the target: Σ_t log p(target_t | prefix). */
export function targetLogLikelihood(tokenLogprobs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < tokenLogprobs.length; i++) {
    const v = tokenLogprobs[i]!;
    if (Number.isNaN(v) || v > 1e-9) throw new MetricError(`targetLogLikelihood: token ${i} log-probability ${v} is not ≤ 0`);
    s += v;
  }
  return s;
}

/** Cross-entropy of the target, nats per token: −(1/T) Σ_t log p(target_t | prefix). */
export function targetCrossEntropy(tokenLogprobs: ArrayLike<number>): number {
  if (tokenLogprobs.length === 0) throw new MetricError('targetCrossEntropy: empty target');
  return -targetLogLikelihood(tokenLogprobs) / tokenLogprobs.length;
}

/**
 * Probability that sampling at temperature 1 reproduces the whole target, exp(Σ log p): a continuous
 * counterpart of exact match (p^T in the mirage model when every token has probability p).
 */
export function targetSequenceProbability(tokenLogprobs: ArrayLike<number>): number {
  return Math.exp(targetLogLikelihood(tokenLogprobs));
}

/** Geometric-mean per-token probability exp(−cross-entropy) (the p of the mirage model). */
export function meanTokenProbability(tokenLogprobs: ArrayLike<number>): number {
  return Math.exp(-targetCrossEntropy(tokenLogprobs));
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
