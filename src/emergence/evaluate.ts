/**
 * Evaluation driver: runs a task's eval set through a `Scorer` (the model side implements it) in
 * batches and computes every metric of metrics.ts on the same outputs.
 *
 * Per example:
 * - generation (greedy): exact match, answer match (scratchpad tasks), token edit distance, per-position
 *   accuracy. The generation is cut at the first stop string (default "\n", the example separator).
 *   Token ids for the edit distance come from `scorer.encode` applied to the cut generation and to the
 *   target (re-encoding, so a non-canonical token sequence from the model counts as its canonical one);
 *   without `encode`, Unicode code points are used and the report says tokenization: 'code-points'.
 * - teacher forcing: log-likelihood, cross-entropy (nats/token), sequence probability exp(Σ log p),
 *   geometric-mean token probability of the target.
 * - examples with options: multiple-choice grade (argmax of summed option log-likelihoods), the
 *   length-normalised grade (log-likelihood / UTF-8 bytes of the option, lm-evaluation-harness
 *   `acc_norm`), and the Brier score (softmax over the option log-likelihoods).
 */
import { Rng } from './rng.ts';
import {
  aggregatePerPosition,
  argmax,
  brierScore,
  exactMatch,
  mean,
  multipleChoiceGrade,
  perPositionCorrect,
  targetCrossEntropy,
  targetLogLikelihood,
  tokenEditDistance,
} from './metrics.ts';
import type { Example, Task, TaskOptions } from './tasks/types.ts';

export class EvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationError';
  }
}

export interface GreedyResult {
  text: string;
  tokens?: number[];
}

/** What the model side provides. Methods may be synchronous or return promises. */
export interface Scorer {
  /** For each (prompt, target) pair: log p(target_t | prompt, target_<t) for every target token (natural log). */
  scoreContinuations(prompts: string[], targets: string[]): Promise<number[][]> | number[][];
  /** Greedy continuation of each prompt, at most maxTokens tokens. */
  generateGreedy(prompts: string[], maxTokens: number): Promise<(string | GreedyResult)[]> | (string | GreedyResult)[];
  /** The model's tokenizer (optional; used for token-level metrics and for the generation budget). */
  encode?(text: string): number[];
}

export interface EvaluateOptions {
  /** Eval examples to generate (evaluateTask only; default 200). */
  n?: number;
  /** Seed of the example generator (evaluateTask only; default 0). */
  seed?: number | string;
  taskOptions?: TaskOptions;
  /** Prompts per scorer call (default 32). */
  batchSize?: number;
  /** Generation budget; default: longest target of the batch in tokens + extraTokens. */
  maxTokens?: number;
  extraTokens?: number;
  /** Generation is cut at the first occurrence of any stop string (default ['\n']). */
  stop?: string[];
  /** 'none' (default): compare strings exactly; 'trim': strip surrounding whitespace of generation and target first. */
  normalize?: 'none' | 'trim';
  /** Run greedy generation (default true). */
  generate?: boolean;
  /** Run teacher-forced scoring of targets and options (default true). */
  score?: boolean;
  /** Keep per-example results in the report (default false). */
  keepExamples?: boolean;
  onProgress?: (phase: 'generate' | 'score' | 'options', done: number, total: number) => void;
}

export interface ExampleResult {
  key: string;
  target: string;
  generated?: string;
  exactMatch?: number;
  answerMatch?: number;
  editDistance?: number;
  targetTokens?: number;
  logLikelihood?: number;
  crossEntropy?: number;
  optionLogLiks?: number[];
  gold?: number;
  mcGrade?: number;
  mcGradeNorm?: number;
  brier?: number;
}

export interface EvalMetrics {
  exact_match?: number;
  /** Scratchpad tasks: extracted final answer equals the answer. */
  answer_match?: number;
  token_edit_distance?: number;
  /** Edit distance divided by the target length in tokens, averaged. */
  normalized_edit_distance?: number;
  per_position_accuracy?: number[];
  per_position_count?: number[];
  target_loglik?: number;
  /** Mean over examples of the per-token cross-entropy (nats). */
  target_ce?: number;
  /** Mean over examples of exp(Σ log p). */
  target_seq_prob?: number;
  /** Mean over examples of exp(−cross-entropy). */
  mean_token_prob?: number;
  mc_grade?: number;
  mc_grade_norm?: number;
  brier?: number;
}

export interface EvalReport {
  task: string;
  n: number;
  /** Examples that had options. */
  nMultipleChoice: number;
  tokenization: 'scorer' | 'code-points';
  metrics: EvalMetrics;
  examples?: ExampleResult[];
}

/** Cut `text` at the first occurrence of any stop string. */
export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    if (s === '') continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

const utf8 = new TextEncoder();

/** Evaluate a task's eval split: generates `n` eval examples with Rng(seed), then `evaluateExamples`. */
export async function evaluateTask(scorer: Scorer, task: Task, opts: EvaluateOptions = {}): Promise<EvalReport> {
  const examples = task.generate(new Rng(opts.seed ?? 0), 'eval', opts.n ?? 200, opts.taskOptions ?? {});
  return evaluateExamples(scorer, examples, task, opts);
}

/** Evaluate given examples (any split). `task` supplies extractAnswer for scratchpad formats. */
export async function evaluateExamples(scorer: Scorer, examples: Example[], task?: Task, opts: EvaluateOptions = {}): Promise<EvalReport> {
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new EvaluationError(`batchSize must be a positive integer, got ${batchSize}`);
  const stop = opts.stop ?? ['\n'];
  const normalize = opts.normalize ?? 'none';
  const norm = (s: string): string => (normalize === 'trim' ? s.trim() : s);
  const encode = scorer.encode ? (s: string) => scorer.encode!(s) : codePoints;
  const results: ExampleResult[] = examples.map((e) => ({ key: e.meta.key, target: e.target }));
  const perPos: number[][] = [];
  const total = examples.length;

  if (opts.generate ?? true) {
    for (let s = 0; s < total; s += batchSize) {
      const batch = examples.slice(s, s + batchSize);
      const targetLens = batch.map((e) => encode(norm(e.target)).length);
      const maxTokens = opts.maxTokens ?? Math.max(1, ...targetLens) + (opts.extraTokens ?? 2);
      const outs = await scorer.generateGreedy(batch.map((e) => e.prompt), maxTokens);
      if (!Array.isArray(outs) || outs.length !== batch.length) {
        throw new EvaluationError(`scorer.generateGreedy returned ${Array.isArray(outs) ? outs.length : typeof outs} results for ${batch.length} prompts`);
      }
      batch.forEach((e, i) => {
        const raw = outs[i]!;
        const text = typeof raw === 'string' ? raw : raw.text;
        const gen = norm(cutAtStop(text, stop));
        const tgt = norm(e.target);
        const r = results[s + i]!;
        r.generated = gen;
        r.exactMatch = exactMatch(gen, tgt);
        if (e.answer !== undefined && task?.extractAnswer) r.answerMatch = task.extractAnswer(gen) === e.answer ? 1 : 0;
        const gIds = encode(gen), tIds = encode(tgt);
        r.editDistance = tokenEditDistance(gIds, tIds);
        r.targetTokens = tIds.length;
        perPos.push(perPositionCorrect(gIds, tIds));
      });
      opts.onProgress?.('generate', Math.min(s + batchSize, total), total);
    }
  }

  if (opts.score ?? true) {
    for (let s = 0; s < total; s += batchSize) {
      const batch = examples.slice(s, s + batchSize);
      const lps = await scorer.scoreContinuations(batch.map((e) => e.prompt), batch.map((e) => e.target));
      if (!Array.isArray(lps) || lps.length !== batch.length) throw new EvaluationError(`scorer.scoreContinuations returned ${lps.length} results for ${batch.length} pairs`);
      batch.forEach((_, i) => {
        const lp = lps[i]!;
        if (lp.length === 0) throw new EvaluationError(`scorer.scoreContinuations returned no token log-probabilities for example ${s + i}`);
        const r = results[s + i]!;
        r.logLikelihood = targetLogLikelihood(lp);
        r.crossEntropy = targetCrossEntropy(lp);
        r.targetTokens ??= lp.length;
      });
      opts.onProgress?.('score', Math.min(s + batchSize, total), total);
    }
    // options: flatten (example, option) pairs
    const pairs: { ex: number; opt: number }[] = [];
    examples.forEach((e, i) => {
      if (e.options && e.options.length > 0) {
        if (e.gold === undefined) throw new EvaluationError(`example ${i} (${e.meta.key}) has options but no gold index`);
        e.options.forEach((_, j) => pairs.push({ ex: i, opt: j }));
      }
    });
    const ll = examples.map((e) => (e.options ? new Array<number>(e.options.length).fill(NaN) : []));
    for (let s = 0; s < pairs.length; s += batchSize) {
      const batch = pairs.slice(s, s + batchSize);
      const lps = await scorer.scoreContinuations(
        batch.map((p) => examples[p.ex]!.prompt),
        batch.map((p) => examples[p.ex]!.options![p.opt]!),
      );
      if (!Array.isArray(lps) || lps.length !== batch.length) throw new EvaluationError(`scorer.scoreContinuations returned ${lps.length} results for ${batch.length} option pairs`);
      batch.forEach((p, i) => {
        ll[p.ex]![p.opt] = targetLogLikelihood(lps[i]!);
      });
      opts.onProgress?.('options', Math.min(s + batchSize, pairs.length), pairs.length);
    }
    examples.forEach((e, i) => {
      if (!e.options || e.options.length === 0) return;
      const r = results[i]!;
      const lls = ll[i]!;
      const norms = lls.map((v, j) => v / Math.max(1, utf8.encode(e.options![j]!).length));
      r.optionLogLiks = lls;
      r.gold = e.gold!;
      r.mcGrade = multipleChoiceGrade(lls, e.gold!);
      r.mcGradeNorm = argmax(norms) === e.gold ? 1 : 0;
      r.brier = brierScore(lls, e.gold!);
    });
  }

  const pick = (f: (r: ExampleResult) => number | undefined): number[] => results.map(f).filter((v): v is number => v !== undefined);
  const m: EvalMetrics = {};
  const put = (name: keyof EvalMetrics, vals: number[]): void => {
    if (vals.length > 0) (m as Record<string, number>)[name] = mean(vals);
  };
  put('exact_match', pick((r) => r.exactMatch));
  put('answer_match', pick((r) => r.answerMatch));
  put('token_edit_distance', pick((r) => r.editDistance));
  put('normalized_edit_distance', pick((r) => (r.editDistance !== undefined && r.targetTokens ? r.editDistance / r.targetTokens : undefined)));
  if (perPos.length > 0) {
    const agg = aggregatePerPosition(perPos);
    m.per_position_accuracy = agg.accuracy;
    m.per_position_count = agg.count;
  }
  put('target_loglik', pick((r) => r.logLikelihood));
  put('target_ce', pick((r) => r.crossEntropy));
  put('target_seq_prob', pick((r) => (r.logLikelihood !== undefined ? Math.exp(r.logLikelihood) : undefined)));
  put('mean_token_prob', pick((r) => (r.crossEntropy !== undefined ? Math.exp(-r.crossEntropy) : undefined)));
  put('mc_grade', pick((r) => r.mcGrade));
  put('mc_grade_norm', pick((r) => r.mcGradeNorm));
  put('brier', pick((r) => r.brier));

  const report: EvalReport = {
    task: task?.name ?? examples[0]?.meta.task ?? 'unknown',
    n: examples.length,
    nMultipleChoice: results.filter((r) => r.optionLogLiks !== undefined).length,
    tokenization: scorer.encode ? 'scorer' : 'code-points',
    metrics: m,
  };
  if (opts.keepExamples) report.examples = results;
  return report;
}
