/**
 * The mirage experiment (Schaeffer, Miranda & Koyejo 2023) on real trained models: a suite of byte-level
 * transformers of increasing size, each trained for the same number of steps on a mixture of English
 * text (Moby-Dick) and multi-digit addition documents, is evaluated on the held-out addition problems.
 * Every metric is computed on the same greedy generations / teacher-forced scores (evaluate.ts), and each
 * metric's curve over model size (and over validation loss, Du et al. 2024) gets a shape label and a
 * breakthroughness (curve.ts). The claim under test: exact match looks emergent while per-token metrics
 * (edit distance, target log-likelihood) change smoothly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../engine/backend.ts';
import { tsChildArgs } from '../../io/child.ts';
import { builtinDocuments } from '../../data/sources.ts';
import { resolveConfig, type GPTConfig } from '../../model/config.ts';
import { createModel } from '../../model/init.ts';
import { countParams } from '../../model/layout.ts';
import { ArrayTokenSource } from '../../train/data.ts';
import { analyzeCurve, type CurveAnalysis } from '../curve.ts';
import { evaluateTask, type EvalMetrics } from '../evaluate.ts';
import { Rng } from '../rng.ts';
import { ADDITION_DEFAULTS, drawAddition, generateExamples, getTask, mixDocuments, resolveOptions, taskDocuments } from '../tasks/index.ts';
import type { Task } from '../tasks/types.ts';
import { byteCodec, ModelScorer } from '../scorer.ts';
import { ExperimentError, newResult, silent, trainLoop, type ExperimentResult, type FigureSpec, type Log, type Row } from './common.ts';

/**
 * Addition with the answer written least-significant digit first (`1234+5678=2196` for 6912; Lee et al.
 * 2023, "Teaching arithmetic to small transformers"): the same problems and the same train/eval split as
 * the `addition` task (same keys), only the target string is reversed.
 */
export const reversedAdditionTask: Task = {
  name: 'addition-reversed',
  description: 'multi-digit addition "a+b=" with the answer digits reversed (least significant first)',
  defaults: { ...ADDITION_DEFAULTS },
  separator: '\n',
  generate(rng, split, n, opts) {
    const o = resolveOptions(this.name, ADDITION_DEFAULTS, { ...(opts ?? {}), scratchpad: false });
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => {
      const p = drawAddition(r, o, this.name);
      return { ...p, target: Array.from(String(p.meta!.answer)).reverse().join('') };
    });
  },
};

export type AdditionFormat = 'plain' | 'reversed';

export function additionTaskFor(format: AdditionFormat): Task {
  if (format === 'plain') return getTask('addition');
  if (format === 'reversed') return reversedAdditionTask;
  throw new ExperimentError(`mirage: format must be 'plain' or 'reversed', got '${format as string}'`);
}

export interface MirageModelSpec {
  n_layer: number;
  d_model: number;
  n_head: number;
}

export interface MirageOptions {
  /** The model suite, smallest first (default: the 2-layer width ladder 2x8, 2x12, 2x16, 2x20, 2x24, 2x32, 2x48). */
  sizes?: MirageModelSpec[];
  /** Digits of each addend (default 4). */
  digits?: number;
  /** Answer written most-significant digit first ('plain', the `addition` task; default) or reversed. */
  format?: AdditionFormat;
  /** Position encoding of the suite (default 'rotary'). */
  positions?: 'learned' | 'rotary';
  /** Training steps of every model (default 5000), rows per step (32), row length (40 bytes); peak lr (default 2e-3). */
  steps?: number;
  batch?: number;
  seqLen?: number;
  lr?: number;
  /** Share of the training bytes that are addition documents (default 0.8). */
  arithmeticShare?: number;
  /** Bytes of Moby-Dick used as the text part (default 300,000). */
  textBytes?: number;
  /** Held-out addition problems evaluated (default 300) and demonstrations in each prompt (default 1). */
  nEval?: number;
  kShot?: number;
  seed?: number;
  /**
   * Training runs per size (default 2), differing in initialisation and batch order (run s uses model seed
   * seed + 1000·s); the corpus and the eval problems are the same. The curves use the per-size means.
   */
  seeds?: number;
  /** Child processes that train the (size, seed) runs in parallel (default 2; 1: in this process). */
  workers?: number;
}

/**
 * Default suite: a 2-layer width ladder (3.8K–69K parameters). Depth is held fixed because 3- and 4-layer models
 * broke through less often than 2-layer ones at this budget, which made every metric uncorrelated with parameters
 * (docs/experiments.md §3, the depth ladder 1x16…4x64 that was the default before 2026-11-23).
 */
export const DEFAULT_MIRAGE_SIZES: MirageModelSpec[] = [
  { n_layer: 2, d_model: 8, n_head: 2 },
  { n_layer: 2, d_model: 12, n_head: 2 },
  { n_layer: 2, d_model: 16, n_head: 2 },
  { n_layer: 2, d_model: 20, n_head: 2 },
  { n_layer: 2, d_model: 24, n_head: 2 },
  { n_layer: 2, d_model: 32, n_head: 4 },
  { n_layer: 2, d_model: 48, n_head: 4 },
];

const DEFAULTS = { format: 'plain' as AdditionFormat, positions: 'rotary' as 'learned' | 'rotary', digits: 4, steps: 5000, batch: 32, seqLen: 40, lr: 2e-3, arithmeticShare: 0.8, textBytes: 300_000, nEval: 300, kShot: 1, seed: 0, seeds: 2, workers: 2 };

/**
 * The metrics followed across the suite: report key, whether higher is better, and whether the metric is
 * *linear*: an average of per-token scores or per-token log-probabilities (per-token accuracy, edit distances,
 * target log-likelihood / cross-entropy). The acceptance check compares exact match with the linear metrics only.
 * Mean token probability, exp(−cross-entropy), is the mirage model's p(token) = exp(−L): an exponential of a
 * linear metric, so it is reported beside the check (with B(EM)/B(mean token prob)) but not counted in it.
 * (It was counted until 2026-11-23; docs/experiments/mirage-replication/PLAN.md says why and when this changed.)
 */
export const MIRAGE_METRICS: { key: string; higherIsBetter: boolean; linear: boolean }[] = [
  { key: 'exact_match', higherIsBetter: true, linear: false },
  { key: 'token_accuracy', higherIsBetter: true, linear: true },
  { key: 'token_edit_distance', higherIsBetter: false, linear: true },
  { key: 'normalized_edit_distance', higherIsBetter: false, linear: true },
  { key: 'target_loglik', higherIsBetter: true, linear: true },
  { key: 'target_ce', higherIsBetter: false, linear: true },
  { key: 'mean_token_prob', higherIsBetter: true, linear: false },
  { key: 'target_seq_prob', higherIsBetter: true, linear: false },
];

export function mirageModelConfig(s: MirageModelSpec, ctx: number, positions: 'learned' | 'rotary' = 'rotary'): GPTConfig {
  return resolveConfig({ n_layer: s.n_layer, n_head: s.n_head, d_model: s.d_model, vocab: 256, ctx, norm: 'layernorm', positions, tied_embeddings: true }, `mirage model ${s.n_layer}x${s.d_model}`);
}

/** The training mixture as bytes: text chapters with addition documents inserted at seeded positions. */
export function mirageCorpus(o: { digits: number; arithmeticShare: number; textBytes: number; seed: number; format?: AdditionFormat }): { train: Uint8Array; val: Uint8Array; textBytes: number; arithmeticBytes: number; arithmeticDocs: number } {
  if (!(o.arithmeticShare > 0 && o.arithmeticShare < 1)) throw new ExperimentError(`mirage: arithmeticShare must be in (0, 1), got ${o.arithmeticShare}`);
  const dec = new TextDecoder();
  const chapters: string[] = [];
  let bytes = 0;
  for (const d of builtinDocuments('moby-dick')) {
    if (bytes >= o.textBytes) break;
    const t = dec.decode(d.bytes);
    chapters.push(t);
    bytes += d.bytes.length;
  }
  const task = additionTaskFor(o.format ?? 'reversed');
  const rng = new Rng(`mirage-corpus-${o.seed}`);
  const perDoc = 16;
  const docBytes = (o.digits * 3 + 3) * perDoc; // "a+b=c\n": ≈ 3·digits + 3 bytes per example
  const nDocs = Math.max(1, Math.round((bytes * o.arithmeticShare) / (1 - o.arithmeticShare) / docBytes));
  const docs = taskDocuments(task, rng, nDocs, { examplesPerDoc: perDoc, taskOptions: { digits: o.digits } });
  const mixed = mixDocuments(chapters, docs, rng).join('\n');
  const all = new TextEncoder().encode(mixed);
  const cut = Math.floor(all.length * 0.97);
  const arithmeticBytes = docs.reduce((a, d) => a + d.length + 1, 0);
  return { train: all.subarray(0, cut), val: all.subarray(cut), textBytes: bytes, arithmeticBytes, arithmeticDocs: nDocs };
}

export interface MirageModelResult {
  spec: MirageModelSpec;
  /** Run index within the size (0 when a suite has one run per size). */
  run?: number;
  params: number;
  nonEmbeddingParams: number;
  valLoss: number;
  finalTrainLoss: number;
  metrics: EvalMetrics & { token_accuracy: number };
  seconds: number;
}

export interface MirageCurve {
  metric: string;
  axis: 'params' | 'val_loss';
  higherIsBetter: boolean;
  /** An average of per-token scores or log-probabilities (see MIRAGE_METRICS): compared with EM by the check. */
  linear: boolean;
  label: string;
  /** Breakthroughness of the metric oriented so that better is higher. */
  breakthroughness: number;
  breakthroughnessFloored: boolean;
  linearity: number | null;
  reasons: string[];
}

export interface MirageOutcome {
  corpus: { trainBytes: number; valBytes: number; textBytes: number; arithmeticBytes: number; arithmeticDocs: number };
  models: MirageModelResult[];
  curves: MirageCurve[];
  /** The acceptance checks against parameters and against validation loss. */
  checks: { params: MirageAxisCheck; val_loss: MirageAxisCheck };
}

export interface MirageAxisCheck {
  exactMatchLabel: string;
  exactMatchB: number;
  /** Largest B among the linear metrics (oriented so that better is higher). */
  maxLinearB: number;
  /** Which linear metric has it. */
  maxLinearMetric: string;
  /** B(EM) / B(mean token probability): reported beside the check, not part of it. */
  emOverMeanTokenProbB: number;
  /** The check as it stood before 2026-11-23 (mean token probability counted with the linear metrics). */
  reproducedWithMeanTokenProb: boolean;
  editDistanceLabel: string;
  logLikLabel: string;
  /** EM labelled emergent, B(EM) ≥ 2 × every linear metric's B, and edit distance or log-likelihood labelled smooth. */
  mirageReproduced: boolean;
}

function metricValue(r: MirageModelResult, key: string): number {
  const v = (r.metrics as unknown as Record<string, unknown>)[key];
  if (typeof v !== 'number') throw new ExperimentError(`mirage: metric '${key}' missing from the evaluation report of ${r.spec.n_layer}x${r.spec.d_model}`);
  return v;
}

/** Mean of the per-position accuracies weighted by their counts (= per-token accuracy). */
function tokenAccuracy(m: EvalMetrics): number {
  const a = m.per_position_accuracy ?? [], c = m.per_position_count ?? [];
  let s = 0, n = 0;
  a.forEach((v, i) => { s += v * (c[i] ?? 0); n += c[i] ?? 0; });
  return n > 0 ? s / n : 0;
}

export async function runMirageExperiment(backend: Backend, opts: MirageOptions = {}, log: Log = silent): Promise<{ result: ExperimentResult<MirageOptions, MirageOutcome>; tables: Record<string, Row[]> }> {
  const t0 = performance.now();
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & MirageOptions;
  const sizes = o.sizes ?? DEFAULT_MIRAGE_SIZES;
  if (sizes.length < 3) throw new ExperimentError(`mirage: need at least 3 model sizes for a curve, got ${sizes.length}`);
  const corpus = mirageCorpus(o);
  const source = new ArrayTokenSource(256, corpus.train, corpus.val, 'mirage mixture');
  log(`mirage: ${source.describe()} (${(100 * corpus.arithmeticBytes / (corpus.arithmeticBytes + corpus.textBytes)).toFixed(0)} % addition bytes, ${o.digits}-digit, ${o.seeds} run(s) per size)`);
  additionTaskFor(o.format);
  const ctx = o.seqLen;
  // longest prompt: k demonstrations "a+b=c\n" (3d+3 bytes at most) + the query "a+b=" (2d+2); then the answer (d+1) + 2
  const need = o.kShot * (3 * o.digits + 3) + 2 * o.digits + 2 + o.digits + 3;
  if (need > ctx) throw new ExperimentError(`mirage: ${o.kShot}-shot prompts and answers need up to ${need} bytes but seqLen (ctx) is ${ctx}; raise seqLen or lower kShot`);
  const jobs: { spec: MirageModelSpec; run: number }[] = [];
  for (let run = 0; run < o.seeds; run++) for (const spec of sizes) jobs.push({ spec, run });
  let models: MirageModelResult[];
  if (o.workers <= 1 || jobs.length === 1) {
    models = [];
    for (const j of jobs) {
      const r = await trainMirageModel(backend, o, source, j.spec, j.run);
      models.push(r);
      log(describeModel(r));
    }
  } else {
    models = await trainInWorkers(backend, o, jobs, log);
  }
  models.sort((x, y) => x.params - y.params || (x.run ?? 0) - (y.run ?? 0));
  const a = analyzeMirage(models, o.digits);
  const outcome: MirageOutcome = { corpus: { trainBytes: corpus.train.length, valBytes: corpus.val.length, textBytes: corpus.textBytes, arithmeticBytes: corpus.arithmeticBytes, arithmeticDocs: corpus.arithmeticDocs }, models, curves: a.curves, checks: a.checks };
  return { result: newResult('mirage', backend, t0, { ...o, sizes }, outcome, a.figures, a.notes), tables: a.tables };
}

type ResolvedMirageOptions = typeof DEFAULTS & MirageOptions;

function describeModel(r: MirageModelResult): string {
  return `  ${r.spec.n_layer}x${r.spec.d_model} run ${r.run ?? 0}: ${r.params} params, val loss ${r.valLoss.toFixed(3)}, EM ${r.metrics.exact_match!.toFixed(3)}, token acc ${r.metrics.token_accuracy.toFixed(3)}, edit dist ${r.metrics.token_edit_distance!.toFixed(3)}, loglik ${r.metrics.target_loglik!.toFixed(3)} (${r.seconds.toFixed(0)} s)`;
}

/** Train one model of the suite on the mixture and evaluate it on the held-out problems. */
export async function trainMirageModel(backend: Backend, o: ResolvedMirageOptions, source: ArrayTokenSource, spec: MirageModelSpec, run: number): Promise<MirageModelResult> {
  const tm = performance.now();
  const task = additionTaskFor(o.format);
  const cfg = mirageModelConfig(spec, o.seqLen, o.positions);
  const seed = o.seed + 1000 * run;
  const model = createModel(backend, cfg, seed);
  const losses = await trainLoop(backend, model, (rng) => ({ ...source.sampleBatch(rng, o.batch, o.seqLen), B: o.batch, T: o.seqLen }), {
    steps: o.steps, lr: o.lr, warmup: Math.min(100, Math.floor(o.steps / 10)), weightDecay: 0.1, seed: seed + 1,
  });
  const evalB = 16, nVal = 8;
  let vl = 0;
  for (let i = 0; i < nVal; i++) {
    const b = source.valBatch(i, nVal, evalB, o.seqLen);
    vl += model.forward(b.x, evalB, o.seqLen, b.y) / nVal;
  }
  const scorer = new ModelScorer(model, { codec: byteCodec });
  const rep = await evaluateTask(scorer, task, { n: o.nEval, seed: `mirage-eval-${o.seed}`, taskOptions: { digits: o.digits, kShot: o.kShot }, batchSize: 50 });
  const tail = losses.slice(-50);
  return {
    spec, run, params: countParams(cfg).total, nonEmbeddingParams: countParams(cfg).nonEmbedding, valLoss: vl,
    finalTrainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    metrics: { ...rep.metrics, token_accuracy: tokenAccuracy(rep.metrics) }, seconds: (performance.now() - tm) / 1000,
  };
}

/**
 * Train the jobs in `o.workers` child processes (mirage-worker.ts, one backend thread each), dealt round-robin
 * from the most expensive job down; each writes its results as JSON.
 */
async function trainInWorkers(backend: Backend, o: ResolvedMirageOptions, jobs: { spec: MirageModelSpec; run: number }[], log: Log): Promise<MirageModelResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-mirage-'));
  const cost = (j: { spec: MirageModelSpec }) => j.spec.n_layer * j.spec.d_model * j.spec.d_model;
  const sorted = [...jobs].sort((a, b) => cost(b) - cost(a));
  const n = Math.min(o.workers, jobs.length);
  const shares: { spec: MirageModelSpec; run: number }[][] = Array.from({ length: n }, () => []);
  const load = new Array<number>(n).fill(0);
  for (const j of sorted) {
    let k = 0;
    for (let i = 1; i < n; i++) if (load[i]! < load[k]!) k = i;
    shares[k]!.push(j);
    load[k]! += cost(j) + 4000;
  }
  const worker = join(import.meta.dirname, 'mirage-worker.ts');
  try {
    const parts = await Promise.all(shares.map((share, k) => new Promise<MirageModelResult[]>((resolve, reject) => {
      const inPath = join(dir, `jobs-${k}.json`), outPath = join(dir, `results-${k}.json`);
      const { sizes: _s, ...rest } = o;
      writeFileSync(inPath, JSON.stringify({ backend: backend.name, options: rest, jobs: share }));
      const child = spawn(process.execPath, tsChildArgs(worker, [inPath, outPath]), { env: { ...process.env, LMLAB_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stdout.on('data', (d: Buffer) => { for (const line of d.toString().split('\n')) if (line.trim()) log(line); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', (e) => reject(new ExperimentError(`mirage worker ${k}: cannot start (${e.message})`)));
      child.on('close', (code) => {
        if (code !== 0) return reject(new ExperimentError(`mirage worker ${k} exited with code ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
        try {
          resolve(JSON.parse(readFileSync(outPath, 'utf8')) as MirageModelResult[]);
        } catch (e) {
          reject(new ExperimentError(`mirage worker ${k}: unreadable results (${(e as Error).message})`));
        }
      });
    })));
    return parts.flat();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry of a worker process: train and evaluate the given jobs. */
export async function mirageWorkerMain(inPath: string, outPath: string, makeBackend: (name: string) => Promise<Backend>): Promise<void> {
  const input = JSON.parse(readFileSync(inPath, 'utf8')) as { backend: string; options: ResolvedMirageOptions; jobs: { spec: MirageModelSpec; run: number }[] };
  const backend = await makeBackend(input.backend);
  const o = input.options;
  const corpus = mirageCorpus(o);
  const source = new ArrayTokenSource(256, corpus.train, corpus.val, 'mirage mixture');
  const out: MirageModelResult[] = [];
  for (const j of input.jobs) {
    const r = await trainMirageModel(backend, o, source, j.spec, j.run);
    out.push(r);
    process.stdout.write(describeModel(r) + '\n');
  }
  writeFileSync(outPath, JSON.stringify(out));
}

/**
 * Exact match predicted from the per-position accuracies if digit errors were independent (Schaeffer's p^T with
 * the measured per-digit p): Π_i acc_i^(count_i / count_0), so a position present in only some answers (the
 * carry-out digit) counts for its share of the examples. null without per-position data.
 */
export function predictedExactMatch(m: EvalMetrics): number | null {
  const a = m.per_position_accuracy, c = m.per_position_count;
  if (!a || !c || a.length === 0 || !(c[0]! > 0)) return null;
  let log = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! <= 0) return 0;
    log += ((c[i] ?? 0) / c[0]!) * Math.log(a[i]!);
  }
  return Math.exp(log);
}

/** Per-size means over the runs of each size (metrics, per-position accuracy, validation loss), smallest first. */
export function averageRuns(models: readonly MirageModelResult[]): (MirageModelResult & { runs: number })[] {
  const groups = new Map<string, MirageModelResult[]>();
  for (const m of models) {
    const k = `${m.spec.n_layer}x${m.spec.d_model}:${m.spec.n_head}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(m);
  }
  const out: (MirageModelResult & { runs: number })[] = [];
  for (const g of groups.values()) {
    const mean = (f: (m: MirageModelResult) => number) => g.reduce((a, m) => a + f(m), 0) / g.length;
    const metrics: Record<string, unknown> = {};
    for (const k of Object.keys(g[0]!.metrics)) {
      const v = (g[0]!.metrics as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') metrics[k] = mean((m) => (m.metrics as unknown as Record<string, number>)[k]!);
    }
    const pa = g.map((m) => m.metrics.per_position_accuracy), pc = g.map((m) => m.metrics.per_position_count);
    if (pa.every((a) => a) && pc.every((c) => c)) {
      const len = Math.max(...pc.map((c) => c!.length));
      const acc: number[] = [], cnt: number[] = [];
      for (let i = 0; i < len; i++) {
        let s = 0, n = 0;
        g.forEach((_, r) => { const c = pc[r]![i] ?? 0; s += (pa[r]![i] ?? 0) * c; n += c; });
        acc.push(n > 0 ? s / n : 0);
        cnt.push(n);
      }
      metrics.per_position_accuracy = acc;
      metrics.per_position_count = cnt;
    }
    const pred = g.map((m) => predictedExactMatch(m.metrics));
    if (pred.every((v) => v !== null)) metrics.em_predicted_from_digits = pred.reduce((x, y) => x + y!, 0) / g.length;
    out.push({ ...g[0]!, run: undefined, runs: g.length, valLoss: mean((m) => m.valLoss), finalTrainLoss: mean((m) => m.finalTrainLoss), seconds: g.reduce((a, m) => a + m.seconds, 0), metrics: metrics as unknown as MirageModelResult['metrics'] });
  }
  return out.sort((a, b) => a.params - b.params);
}

/** Shape labels, breakthroughness and the acceptance checks of a trained suite (no training). */
export function analyzeMirage(runs: readonly MirageModelResult[], digits: number): { curves: MirageCurve[]; checks: MirageOutcome['checks']; figures: FigureSpec[]; notes: string[]; tables: Record<string, Row[]> } {
  // Several runs per size: the curves are over the per-size means (validation loss included).
  const models = averageRuns(runs);
  const curves: MirageCurve[] = [];
  // Exact match predicted from the per-digit accuracies (informational: not part of the checks).
  const hasPredicted = models.every((r) => typeof (r.metrics as unknown as Record<string, unknown>).em_predicted_from_digits === 'number');
  const metricList = hasPredicted ? [...MIRAGE_METRICS, { key: 'em_predicted_from_digits', higherIsBetter: true, linear: false }] : MIRAGE_METRICS;
  for (const axis of ['params', 'val_loss'] as const) {
    for (const m of metricList) {
      const pts = models.map((r) => ({ x: axis === 'params' ? r.params : r.valLoss, y: metricValue(r, m.key) }));
      let an: CurveAnalysis;
      try {
        an = analyzeCurve(pts, { axis: axis === 'params' ? 'scale' : 'loss', higherIsBetter: m.higherIsBetter, metricSpan: ['exact_match', 'token_accuracy', 'mean_token_prob', 'target_seq_prob', 'normalized_edit_distance', 'em_predicted_from_digits'].includes(m.key) ? 1 : undefined });
      } catch (e) {
        curves.push({ metric: m.key, axis, higherIsBetter: m.higherIsBetter, linear: m.linear, label: 'n/a', breakthroughness: NaN, breakthroughnessFloored: false, linearity: null, reasons: [(e as Error).message] });
        continue;
      }
      const sign = m.higherIsBetter ? 1 : -1;
      curves.push({
        metric: m.key, axis, higherIsBetter: m.higherIsBetter, linear: m.linear, label: an.shape.label,
        breakthroughness: sign * an.breakthroughness.value, breakthroughnessFloored: an.breakthroughness.floored,
        linearity: an.linearity.lmlab_linearity, reasons: an.shape.reasons,
      });
    }
  }
  const axisCheck = (axis: 'params' | 'val_loss'): MirageAxisCheck => {
    const by = (k: string) => curves.find((c) => c.axis === axis && c.metric === k)!;
    const em = by('exact_match'), ted = by('token_edit_distance'), ll = by('target_loglik');
    const linear = curves.filter((c) => c.axis === axis && c.linear && Number.isFinite(c.breakthroughness));
    // no finite linear B (every linear curve failed to analyse): nothing to compare EM with, so the check fails
    const top = linear.reduce<{ breakthroughness: number; metric: string }>((a, c) => (c.breakthroughness > a.breakthroughness ? c : a), linear[0] ?? { breakthroughness: NaN, metric: 'none' });
    const mtp = by('mean_token_prob');
    const shape = em.label === 'emergent' && (ted.label === 'smooth' || ll.label === 'smooth');
    return {
      exactMatchLabel: em.label, exactMatchB: em.breakthroughness, maxLinearB: top.breakthroughness, maxLinearMetric: top.metric,
      editDistanceLabel: ted.label, logLikLabel: ll.label, emOverMeanTokenProbB: em.breakthroughness / mtp.breakthroughness,
      mirageReproduced: shape && em.breakthroughness >= 2 * top.breakthroughness,
      reproducedWithMeanTokenProb: shape && em.breakthroughness >= 2 * Math.max(top.breakthroughness, mtp.breakthroughness),
    };
  };
  const checks: MirageOutcome['checks'] = { params: axisCheck('params'), val_loss: axisCheck('val_loss') };
  const modelRows: Row[] = models.map((r) => ({
    model: `${r.spec.n_layer}x${r.spec.d_model}`, params: r.params, non_embedding_params: r.nonEmbeddingParams, runs: r.runs, val_loss: r.valLoss,
    ...Object.fromEntries(MIRAGE_METRICS.map((m) => [m.key, metricValue(r, m.key)])),
    em_predicted_from_digits: (r.metrics as unknown as Record<string, number | undefined>).em_predicted_from_digits ?? null,
  }));
  const positionRows: Row[] = [];
  for (const r of models) (r.metrics.per_position_accuracy ?? []).forEach((acc, i) => positionRows.push({ model: `${r.spec.n_layer}x${r.spec.d_model}`, params: r.params, position: `digit ${i}`, accuracy: acc, count: r.metrics.per_position_count?.[i] ?? 0 }));
  const curveRows: Row[] = curves.map((c) => ({ metric: c.metric, axis: c.axis, label: c.label, breakthroughness: c.breakthroughness, floored: c.breakthroughnessFloored, lmlab_linearity: c.linearity }));
  const figures: FigureSpec[] = [
    { id: 'mirage-metrics-vs-params', title: `${digits}-digit addition: every metric on the same generations vs parameters`, kind: 'line', file: 'mirage_models.csv', x: 'params', y: MIRAGE_METRICS.map((m) => m.key), xLog: true,
      caption: 'One panel per metric; the shape labels are in mirage_curves.csv.' },
    { id: 'mirage-metrics-vs-loss', title: 'Every metric vs validation loss (Du et al. 2024)', kind: 'line', file: 'mirage_models.csv', x: 'val_loss', y: MIRAGE_METRICS.map((m) => m.key) },
    { id: 'mirage-per-position', title: 'Per-position (per-digit) accuracy vs parameters', kind: 'line', file: 'mirage_positions.csv', x: 'params', y: ['accuracy'], series: 'position', xLog: true },
    { id: 'mirage-labels', title: 'Breakthroughness per metric (oriented: better is higher)', kind: 'bar', file: 'mirage_curves.csv', x: 'metric', y: ['breakthroughness'], facet: 'axis' },
  ];
  const line = (axis: 'params' | 'val_loss'): string => {
    const c = checks[axis];
    return `${axis === 'params' ? 'vs parameters' : 'vs validation loss'}: exact match ${c.exactMatchLabel} (B ${c.exactMatchB.toFixed(2)}), token edit distance ${c.editDistanceLabel}, target log-likelihood ${c.logLikLabel}; largest B among linear metrics ${c.maxLinearB.toFixed(2)} (${c.maxLinearMetric}) → ${c.mirageReproduced ? 'mirage reproduced' : 'mirage not reproduced'}; B(EM)/B(mean token prob) ${c.emOverMeanTokenProbB.toFixed(2)} (not part of the check).`;
  };
  const em = models.map((r) => r.metrics.exact_match!), ta = models.map((r) => r.metrics.token_accuracy);
  const notes: string[] = [
    line('params'),
    line('val_loss'),
    `EM across the suite: ${em.map((v) => v.toFixed(3)).join(', ')}; per-token accuracy ${ta.map((v) => v.toFixed(3)).join(', ')} (models smallest first).`,
  ];
  const runRows: Row[] = runs.map((r) => ({
    model: `${r.spec.n_layer}x${r.spec.d_model}`, run: r.run ?? 0, params: r.params, val_loss: r.valLoss,
    ...Object.fromEntries(MIRAGE_METRICS.map((m) => [m.key, metricValue(r, m.key)])),
    em_predicted_from_digits: predictedExactMatch(r.metrics),
  }));
  const predicted = models.map((m) => (m.metrics as unknown as Record<string, number | undefined>).em_predicted_from_digits);
  if (predicted.every((v) => v !== undefined)) {
    notes.push(`Exact match predicted from the per-digit accuracies with independent errors (Π acc_i, Schaeffer's p^T): ${predicted.map((v) => v!.toFixed(3)).join(', ')}; measured ${em.map((v) => v.toFixed(3)).join(', ')} (largest gap ${Math.max(...predicted.map((v, i) => Math.abs(v! - em[i]!))).toFixed(3)}).`);
  }
  const nRuns = Math.max(...models.map((m) => m.runs));
  if (nRuns > 1) {
    notes.push(`Every point is the mean of ${nRuns} runs per size (runs differ in initialisation and batch order; the runs of one suite share its corpus and eval problems); the per-run values are in mirage_runs.csv.`);
    figures.push({ id: 'mirage-runs-em', title: 'Exact match and per-token accuracy of every run vs parameters', kind: 'scatter', file: 'mirage_runs.csv', x: 'params', y: ['exact_match', 'token_accuracy'], xLog: true });
  }
  return { curves, checks, figures, notes, tables: { 'mirage_models.csv': modelRows, 'mirage_positions.csv': positionRows, 'mirage_curves.csv': curveRows, 'mirage_runs.csv': runRows } };
}

/** A mirage result as stored in mirage.json. */
export type StoredMirage = ExperimentResult<MirageOptions, MirageOutcome>;

/** Options that must agree for stored suites to be pooled (everything but the seeds and the worker count). */
const POOL_KEYS = ['digits', 'format', 'positions', 'steps', 'batch', 'seqLen', 'lr', 'arithmeticShare', 'textBytes', 'nEval', 'kShot'] as const;

/**
 * Recompute the analysis of stored mirage results (same models and metrics, current analysis code). Several
 * results are pooled into one suite, as if they were runs of one experiment: their runs are renumbered, and each
 * point is the mean over all runs of a size. Pooled suites may differ only in `seed` (corpus sample, eval
 * problems, initialisations); every other training option must agree.
 */
export function reanalyzeMirage(storedList: StoredMirage | readonly StoredMirage[], names?: readonly string[]): { result: StoredMirage; tables: Record<string, Row[]> } {
  const list: readonly StoredMirage[] = Array.isArray(storedList) ? storedList : [storedList as StoredMirage];
  if (list.length === 0) throw new ExperimentError('reanalyze: no stored result given');
  const name = (k: number) => names?.[k] ?? `result ${k + 1}`;
  list.forEach((st, k) => {
    if (st.experiment !== 'mirage' || !Array.isArray(st.outcome?.models)) throw new ExperimentError(`reanalyze: ${name(k)} is not a mirage result (experiment must be "mirage" with outcome.models)`);
  });
  const first = list[0]!;
  const models: MirageModelResult[] = [];
  let offset = 0;
  list.forEach((st, k) => {
    for (const key of POOL_KEYS) {
      const a = (first.options as Record<string, unknown>)[key], b = (st.options as Record<string, unknown>)[key];
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new ExperimentError(`reanalyze: cannot pool ${name(k)} with ${name(0)}: option '${key}' is ${JSON.stringify(b)}, expected ${JSON.stringify(a)} (pooled suites may differ only in seed)`);
    }
    const runs = Math.max(0, ...st.outcome.models.map((m) => (m.run ?? 0) + 1));
    for (const m of st.outcome.models) models.push({ ...m, run: (m.run ?? 0) + offset });
    offset += runs;
  });
  const a = analyzeMirage(models, first.options.digits ?? DEFAULTS.digits);
  const seconds = list.reduce((t, st) => t + st.seconds, 0);
  const pooled = list.length > 1 ? [`Pooled from ${list.length} suites (seeds ${list.map((st) => st.options.seed ?? 0).join(', ')}): each seed has its own corpus sample and eval problems, so the runs of a size differ in those too.`] : [];
  return {
    result: { ...first, options: list.length > 1 ? { ...first.options, seed: undefined, seeds: offset } : first.options, seconds, outcome: { ...first.outcome, models, curves: a.curves, checks: a.checks }, figures: a.figures,
      notes: [...a.notes, ...pooled, `Re-analysed on ${new Date().toISOString()} from the stored per-model metrics (training took ${seconds.toFixed(0)} s).`] },
    tables: a.tables,
  };
}
