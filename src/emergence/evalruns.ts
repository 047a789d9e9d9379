/**
 * Evaluating trained models (lmlab run directories, checkpoint directories or Hugging Face model directories,
 * loaded with `loadAnyModel`) on a task through the evaluation driver, and turning several models into a
 * scaling curve over N (parameters) with a shape label per metric. Used by `lmlab emergence eval`.
 *
 * The scorer here adapts a run's `TextCodec` (byte-level, BPE, or a Hugging Face tokenizer): prompts are
 * encoded with `encodeInput` (the model's own template, e.g. a BOS token), continuations with `encode`,
 * generated ids are decoded with `decodeAfter` (so SentencePiece keeps a leading space). A target is scored as
 * its own token sequence after the prompt (the lm-evaluation-harness context/continuation split).
 */
import type { Backend } from '../engine/backend.ts';
import type { GPT } from '../model/gpt.ts';
import { countParams } from '../model/layout.ts';
import { generate, scoreContinuations } from '../train/generate.ts';
import { decodeAfter, encodeInput, loadAnyModel, type TextCodec } from '../train/runs.ts';
import { analyzeCurve, type CurveAnalysis } from './curve.ts';
import { evaluateTask, type EvalMetrics, type EvalReport, type GreedyResult, type Scorer } from './evaluate.ts';
import type { Task, TaskOptions } from './tasks/types.ts';

export class EvalRunsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalRunsError';
  }
}

/** A `Scorer` over a GPT model with any `TextCodec` (runs and HF model directories). */
export class TextCodecScorer implements Scorer {
  private readonly stopToken: number | undefined;
  constructor(readonly model: GPT, readonly codec: TextCodec, private readonly opts: { batchSize?: number; prefix?: string; stop?: string } = {}) {
    const stop = opts.stop ?? '\n';
    const ids = codec.encode(stop);
    // Generation stops early only when the stop string is one token; evaluate.ts cuts at the string anyway.
    this.stopToken = ids.length === 1 ? ids[0] : undefined;
  }

  encode(text: string): number[] {
    return this.codec.encode(text);
  }

  private prompt(p: string): number[] {
    const ids = encodeInput(this.codec, (this.opts.prefix ?? '') + p);
    if (ids.length === 0) throw new EvalRunsError(`the prompt ${JSON.stringify(p.slice(0, 40))} encodes to no tokens (give --prefix)`);
    return ids;
  }

  scoreContinuations(prompts: string[], targets: string[]): number[][] {
    const pairs = prompts.map((p, i) => ({ context: this.prompt(p), continuation: this.codec.encode(targets[i]!) }));
    const ctx = this.model.config.ctx;
    if (this.model.config.positions === 'learned') {
      for (const q of pairs) {
        if (q.context.length + q.continuation.length > ctx + 1) throw new EvalRunsError(`a prompt of ${q.context.length} tokens plus a target of ${q.continuation.length} exceeds the model's context of ${ctx} tokens (lower --k-shot)`);
      }
    }
    return scoreContinuations(this.model, pairs, this.opts.batchSize ?? 32);
  }

  generateGreedy(prompts: string[], maxTokens: number): GreedyResult[] {
    if (prompts.length === 0) return [];
    const enc = prompts.map((p) => this.prompt(p));
    const longest = Math.max(...enc.map((e) => e.length));
    const room = this.model.config.positions === 'learned' ? this.model.config.ctx - longest : maxTokens;
    if (room < 1) throw new EvalRunsError(`a prompt of ${longest} tokens leaves no room to generate in the model's context of ${this.model.config.ctx} tokens (lower --k-shot)`);
    const g = generate(this.model, enc, { maxNewTokens: Math.min(maxTokens, room), temperature: 0, stopToken: this.stopToken });
    return g.tokens.map((t, i) => ({ text: decodeAfter(this.codec, enc[i]!, t), tokens: t }));
  }
}

/** The metrics `evaluateRuns` can report: key, direction, and how it is computed. */
export const EVAL_METRICS: Record<string, { higherIsBetter: boolean; unitInterval: boolean; description: string }> = {
  exact_match: { higherIsBetter: true, unitInterval: true, description: 'greedy generation equals the target' },
  answer_match: { higherIsBetter: true, unitInterval: true, description: 'scratchpad tasks: the extracted answer is right' },
  token_accuracy: { higherIsBetter: true, unitInterval: true, description: 'per-token accuracy of the generation (count-weighted per-position accuracy)' },
  token_edit_distance: { higherIsBetter: false, unitInterval: false, description: 'Levenshtein distance between generated and target tokens' },
  normalized_edit_distance: { higherIsBetter: false, unitInterval: true, description: 'edit distance / target tokens (natural span 1; above 1 when the generation is longer than the target)' },
  target_loglik: { higherIsBetter: true, unitInterval: false, description: 'teacher-forced Σ log p of the target (nats)' },
  target_ce: { higherIsBetter: false, unitInterval: false, description: 'teacher-forced cross-entropy per target token (nats)' },
  target_seq_prob: { higherIsBetter: true, unitInterval: true, description: 'exp(Σ log p)' },
  mean_token_prob: { higherIsBetter: true, unitInterval: true, description: 'exp(−cross-entropy)' },
  mc_grade: { higherIsBetter: true, unitInterval: true, description: 'multiple choice: argmax option is gold' },
  mc_grade_norm: { higherIsBetter: true, unitInterval: true, description: 'multiple choice, log-likelihood per byte' },
  brier: { higherIsBetter: false, unitInterval: false, description: 'multiple choice Brier score' },
};

/** Parse a comma-separated metric list (`flag` names the option in errors). */
export function parseMetricList(s: string, flag = '--metrics'): string[] {
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new EvalRunsError(`${flag}: expected a comma-separated list of metrics (${Object.keys(EVAL_METRICS).join(', ')}), got '${s}'`);
  for (const p of parts) if (!(p in EVAL_METRICS)) throw new EvalRunsError(`${flag}: unknown metric '${p}' (known: ${Object.keys(EVAL_METRICS).join(', ')})`);
  return [...new Set(parts)];
}

/** Mean of the per-position accuracies weighted by their counts (= per-token accuracy). */
export function tokenAccuracy(m: EvalMetrics): number | undefined {
  const a = m.per_position_accuracy, c = m.per_position_count;
  if (!a || !c) return undefined;
  let s = 0, n = 0;
  a.forEach((v, i) => { s += v * (c[i] ?? 0); n += c[i] ?? 0; });
  return n > 0 ? s / n : undefined;
}

export interface ModelEval {
  /** The directory as given. */
  source: string;
  kind: 'run' | 'hf';
  /** Total parameters, and Kaplan's non-embedding N. */
  params: number;
  nonEmbeddingParams: number;
  codec: string;
  /** The requested metrics (a metric the task does not define is null). */
  metrics: Record<string, number | null>;
  report: EvalReport;
}

export interface EvaluateRunsOptions {
  n?: number;
  kShot?: number;
  seed?: number | string;
  taskOptions?: TaskOptions;
  /** Metrics to report (default: every metric the task defines). */
  metrics?: string[];
  prefix?: string;
  batchSize?: number;
  onModel?: (m: ModelEval) => void;
}

/** Evaluate one loaded model. */
export async function evaluateModel(model: GPT, codec: TextCodec, task: Task, source: string, kind: 'run' | 'hf', o: EvaluateRunsOptions = {}): Promise<ModelEval> {
  const scorer = new TextCodecScorer(model, codec, { prefix: o.prefix, batchSize: o.batchSize });
  const report = await evaluateTask(scorer, task, { n: o.n ?? 200, seed: o.seed ?? 0, taskOptions: { ...(o.taskOptions ?? {}), kShot: o.kShot ?? 0 }, batchSize: o.batchSize ?? 32 });
  const all: Record<string, number | undefined> = { ...(report.metrics as Record<string, unknown> as Record<string, number | undefined>), token_accuracy: tokenAccuracy(report.metrics) };
  const keys = o.metrics ?? Object.keys(EVAL_METRICS).filter((k) => typeof all[k] === 'number');
  const metrics: Record<string, number | null> = {};
  for (const k of keys) metrics[k] = typeof all[k] === 'number' ? all[k]! : null;
  const pc = countParams(model.config);
  return { source, kind, params: pc.total, nonEmbeddingParams: pc.nonEmbedding, codec: codec.name, metrics, report };
}

/** Load each directory (run, checkpoint or HF model) and evaluate it on the task, in the given order. */
export async function evaluateRuns(backend: Backend, dirs: readonly string[], task: Task, o: EvaluateRunsOptions = {}): Promise<ModelEval[]> {
  if (dirs.length === 0) throw new EvalRunsError('--runs: no directories given');
  const out: ModelEval[] = [];
  for (const dir of dirs) {
    let loaded: ReturnType<typeof loadAnyModel>;
    try {
      loaded = loadAnyModel(backend, dir);
    } catch (e) {
      throw new EvalRunsError(`'${dir}': cannot load a model (${(e as Error).message})`);
    }
    const m = await evaluateModel(loaded.model, loaded.codec, task, dir, loaded.source, o);
    o.onModel?.(m);
    out.push(m);
  }
  return out;
}

export interface MetricCurve {
  metric: string;
  higherIsBetter: boolean;
  /** null when the curve could not be analysed (see note). */
  analysis: CurveAnalysis | null;
  note?: string;
}

/**
 * The per-model table (`N`, one column per metric, `N_nonembedding`, `model`: the table `emergence analyze`
 * reads) and, with at least 3 models of distinct N, each metric's curve over N with its shape label.
 */
export function runsCurve(evals: readonly ModelEval[], metrics?: readonly string[]): { rows: Record<string, number | string | null>[]; curves: MetricCurve[] } {
  const keys = metrics ? [...metrics] : [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
  // metrics right after N, so that `emergence analyze --input` with its defaults (x = first column, y = second) reads
  // the first metric against N
  const rows = evals.map((e) => ({ N: e.params, ...Object.fromEntries(keys.map((k) => [k, e.metrics[k] ?? null])), N_nonembedding: e.nonEmbeddingParams, model: e.source }));
  const curves: MetricCurve[] = [];
  if (evals.length < 2) return { rows, curves };
  const Ns = evals.map((e) => e.params);
  const dup = Ns.find((n, i) => Ns.indexOf(n) !== i);
  for (const k of keys) {
    const info = EVAL_METRICS[k]!;
    const base = { metric: k, higherIsBetter: info.higherIsBetter };
    if (evals.length < 3) { curves.push({ ...base, analysis: null, note: 'fewer than 3 models: no shape label' }); continue; }
    if (dup !== undefined) { curves.push({ ...base, analysis: null, note: `two models have the same N (${dup}): average them first (a curve needs distinct scales)` }); continue; }
    if (evals.some((e) => e.metrics[k] === null || e.metrics[k] === undefined)) { curves.push({ ...base, analysis: null, note: `the task does not define ${k} for every model` }); continue; }
    const pts = evals.map((e) => ({ x: e.params, y: e.metrics[k]! }));
    curves.push({ ...base, analysis: analyzeCurve(pts, { axis: 'scale', higherIsBetter: info.higherIsBetter, metricSpan: info.unitInterval ? 1 : undefined }) });
  }
  return { rows, curves };
}
