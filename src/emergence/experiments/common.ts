/**
 * Shared pieces of the emergence experiments: the result-file format, figure descriptors (the data of
 * each figure goes to a CSV next to the result JSON; the report module renders them), CSV writing,
 * accuracy helpers and a small language-model training loop used by the mirage, fine-tuning and
 * chain-of-thought experiments.
 */
import { join } from 'node:path';
import type { Arr, Backend } from '../../engine/backend.ts';
import { Rng } from '../../engine/rng.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import type { GPT } from '../../model/gpt.ts';
import { AdamW, globalNorm, type DecayPolicy } from '../../train/optimizer.ts';
import { learningRate, type ScheduleKind } from '../../train/schedule.ts';

export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

/** Progress messages (one line each). */
export type Log = (line: string) => void;
export const silent: Log = () => {};

/** One figure: its data is the CSV `file` (relative to the result directory). */
export interface FigureSpec {
  id: string;
  title: string;
  kind: 'line' | 'scatter' | 'bar';
  file: string;
  x: string;
  y: string[];
  /** Column whose values split the rows into separate series. */
  series?: string;
  /** Column whose values split the rows into separate panels. */
  facet?: string;
  xLog?: boolean;
  yLog?: boolean;
  /** Vertical reference lines (e.g. a detected phase change). */
  markers?: { x: number; label: string }[];
  /** Horizontal reference lines (e.g. a baseline loss). */
  hlines?: { y: number; label: string }[];
  caption?: string;
}

export type Row = Record<string, number | string | boolean | null>;

/** What every experiment writes to `<out>/<name>.json`. */
export interface ExperimentResult<O = unknown, R = unknown> {
  experiment: string;
  version: 1;
  createdAt: string;
  backend: string;
  seconds: number;
  options: O;
  outcome: R;
  figures: FigureSpec[];
  /** Plain-language statements of what was and was not reproduced. */
  notes: string[];
}

function csvCell(v: number | string | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows to CSV (header = the given columns, or the union of keys in first-seen order). */
export function toCsv(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ? [...columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

/**
 * Write `<dir>/<result.experiment>.json` and each table as `<dir>/<file>` (atomically). Every figure's
 * file must be among the tables. Returns the written paths.
 */
export function writeExperiment(dir: string, result: ExperimentResult, tables: Record<string, readonly Row[]>): string[] {
  for (const f of result.figures) {
    if (!(f.file in tables)) throw new ExperimentError(`figure '${f.id}' refers to ${f.file}, which is not among the tables written (${Object.keys(tables).join(', ')})`);
  }
  const paths: string[] = [];
  for (const [file, rows] of Object.entries(tables)) {
    const p = join(dir, file);
    writeFileAtomic(p, toCsv(rows));
    paths.push(p);
  }
  const p = join(dir, `${result.experiment}.json`);
  writeFileAtomic(p, JSON.stringify(result, null, 2) + '\n');
  paths.push(p);
  return paths;
}

export function newResult<O, R>(experiment: string, backend: Backend, t0: number, options: O, outcome: R, figures: FigureSpec[], notes: string[]): ExperimentResult<O, R> {
  return { experiment, version: 1, createdAt: new Date().toISOString(), backend: backend.name, seconds: (performance.now() - t0) / 1000, options, outcome, figures, notes };
}

/** Index of the largest of logits[off + lo .. off + hi). */
export function argmaxRange(logits: Arr, off: number, lo: number, hi: number): number {
  let best = lo;
  for (let v = lo + 1; v < hi; v++) if (logits[off + v]! > logits[off + best]!) best = v;
  return best;
}

/** First x whose y satisfies pred, or null. */
export function firstWhere<T>(points: readonly T[], pred: (p: T) => boolean, x: (p: T) => number): number | null {
  for (const p of points) if (pred(p)) return x(p);
  return null;
}

/** L2 norm of a buffer. */
export function l2(a: Arr): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

// ------------------------------------------------------------------------------------------------
// A small LM training loop over fixed sequences (no checkpoints): used where the experiment needs
// control over initial weights (fine-tuning) or loss masks (answer-only targets).

/** Training examples as rows of equal length T with next-token targets (−1 = not counted). */
export interface SequenceSet {
  T: number;
  n: number;
  /** [n, T] */
  inputs: Int32Array;
  /** [n, T] */
  targets: Int32Array;
}

export interface LoopOptions {
  steps: number;
  /** Rows per step (trainSequences). */
  batch?: number;
  lr: number;
  minLr?: number;
  warmup?: number;
  schedule?: ScheduleKind;
  weightDecay?: number;
  decay?: DecayPolicy;
  beta1?: number;
  beta2?: number;
  gradClip?: number;
  seed?: number;
  /** Called every `evalEvery` steps (and after the last) with the step count. */
  evalEvery?: number;
  onEval?: (step: number, trainLoss: number) => void | Promise<void>;
  /** Called after every optimizer step (after the update). */
  afterStep?: (step: number) => void;
  /** Called after backward and before the update (e.g. to zero the gradients of frozen tensors). */
  beforeUpdate?: (step: number) => void;
}

/** A training batch: B rows of T tokens with next-token targets (−1 = not counted). */
export interface LoopBatch {
  x: Int32Array;
  y: Int32Array;
  B: number;
  T: number;
}

/**
 * AdamW with warmup + cosine (or given) schedule and global-norm clipping over batches from `sample`.
 * Returns the per-step training losses.
 */
export async function trainLoop(backend: Backend, model: GPT, sample: (rng: Rng, step: number) => LoopBatch, o: LoopOptions): Promise<number[]> {
  const opt = new AdamW(backend, model.layout, { beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.99, eps: 1e-8, weightDecay: o.weightDecay ?? 0.1, decay: o.decay ?? 'matrices-no-embeddings' });
  const rng = new Rng(o.seed ?? 0);
  const sched = { kind: o.schedule ?? 'cosine', lr: o.lr, minLr: o.minLr ?? o.lr * 0.1, warmup: o.warmup ?? Math.min(100, Math.floor(o.steps / 10)), steps: o.steps } as const;
  const losses: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const b = sample(rng, step);
    if (b.T > model.config.ctx && model.config.positions === 'learned') throw new ExperimentError(`training rows of ${b.T} tokens exceed the model's ctx ${model.config.ctx}`);
    model.zeroGrads();
    const loss = model.forward(b.x, b.B, b.T, b.y);
    if (!Number.isFinite(loss)) throw new ExperimentError(`training loss is not finite at step ${step + 1} (lr ${o.lr}); lower the learning rate`);
    model.backward();
    o.beforeUpdate?.(step + 1);
    const norm = globalNorm(backend, model.grads!);
    const clip = o.gradClip ?? 1;
    opt.update(model.params, model.grads!, learningRate(step, sched), clip > 0 && norm > clip ? clip / norm : 1);
    losses.push(loss);
    o.afterStep?.(step + 1);
    const done = step + 1;
    if (o.onEval && o.evalEvery && (done % o.evalEvery === 0 || done === o.steps)) await o.onEval(done, loss);
  }
  return losses;
}

/** Mini-batch training on a SequenceSet (rows sampled uniformly with replacement). Returns the per-step losses. */
export function trainSequences(backend: Backend, model: GPT, data: SequenceSet, o: LoopOptions): Promise<number[]> {
  if (data.n < 1) throw new ExperimentError('trainSequences: empty training set');
  const B = Math.min(o.batch ?? 32, data.n), T = data.T;
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  return trainLoop(backend, model, (rng) => {
    for (let b = 0; b < B; b++) {
      const r = rng.int(data.n);
      x.set(data.inputs.subarray(r * T, (r + 1) * T), b * T);
      y.set(data.targets.subarray(r * T, (r + 1) * T), b * T);
    }
    return { x, y, B, T };
  }, o);
}
