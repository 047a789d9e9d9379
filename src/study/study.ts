/**
 * The study: corpus → model suite → scaling fit with a held-out prediction → probes → report, in one
 * resumable pipeline. Every step writes its result into the study directory; a step whose result exists
 * is skipped on re-run, and the suite's sweep runner skips finished runs, so killing `lmlab study` and
 * starting it again continues where it stopped without retraining anything finished.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { buildCorpus } from '../data/build.ts';
import { loadSpec } from '../data/spec.ts';
import { Store } from '../store/store.ts';
import { planGrid, runSweep, type ModelShape, type SweepPlan } from '../store/sweep.ts';
import type { TrainConfigInput } from '../train/config.ts';
import { fitOffsetPowerLaw, type OffsetPowerFit } from '../scaling/powerlaw.ts';
import { Rng } from '../engine/rng.ts';
import { renderReport } from '../report/render.ts';
import { reportFromStore } from '../report/store.ts';
import type { ReportInput } from '../report/types.ts';
import { createBackend } from '../engine/index.ts';
import { runProbes, type CanaryProbe, type MemorizationProbe } from './probes.ts';

export interface ProbeResults {
  memorization: MemorizationProbe[];
  canaries: CanaryProbe[];
}

export interface StudyPreset {
  name: PresetName;
  /** model ladder: spans ≥ 30× in non-embedding N */
  shapes: ModelShape[];
  /** training tokens per run (the same for every size: an L(N) at fixed D) */
  tokens: number;
  batch_size: number;
  seq_len: number;
  lr: number;
  /** BPE vocabulary of the study's corpus (the built-in spec with this vocabulary): small vocabularies keep
   * the embedding and logits cost from dominating the smallest models */
  vocab: number;
  /** bootstrap resamples for the fit's intervals */
  bootstrap: number;
  workers: number;
}

export type PresetName = 'quick' | 'full' | 'smoke';

export const PRESETS: Record<PresetName, StudyPreset> = {
  /** about a minute: 5 tiny models on a small token budget; for tests and for checking an installation */
  smoke: {
    name: 'smoke',
    shapes: [
      { n_layer: 1, d_model: 16, n_head: 1 }, { n_layer: 1, d_model: 32, n_head: 1 }, { n_layer: 2, d_model: 32, n_head: 2 },
      { n_layer: 2, d_model: 48, n_head: 2 }, { n_layer: 2, d_model: 64, n_head: 2 },
    ],
    tokens: 40_000, batch_size: 8, seq_len: 64, lr: 3e-3, vocab: 320, bootstrap: 20, workers: 1,
  },
  quick: {
    name: 'quick',
    shapes: [
      { n_layer: 1, d_model: 32, n_head: 1 }, { n_layer: 1, d_model: 48, n_head: 2 }, { n_layer: 2, d_model: 64, n_head: 2 },
      { n_layer: 2, d_model: 96, n_head: 3 }, { n_layer: 3, d_model: 128, n_head: 4 }, { n_layer: 4, d_model: 160, n_head: 5 },
    ],
    tokens: 1_200_000, batch_size: 16, seq_len: 64, lr: 2e-3, vocab: 512, bootstrap: 200, workers: 1,
  },
  full: {
    name: 'full',
    shapes: [
      { n_layer: 2, d_model: 64, n_head: 2 }, { n_layer: 2, d_model: 96, n_head: 3 }, { n_layer: 3, d_model: 128, n_head: 4 },
      { n_layer: 4, d_model: 192, n_head: 6 }, { n_layer: 6, d_model: 256, n_head: 8 }, { n_layer: 6, d_model: 384, n_head: 6 },
      { n_layer: 8, d_model: 512, n_head: 8 },
    ],
    tokens: 20_000_000, batch_size: 16, seq_len: 256, lr: 1e-3, vocab: 4096, bootstrap: 1000, workers: 1,
  },
};

export interface StudyOptions {
  workspace: string;
  preset: StudyPreset;
  backend?: string;
  /** progress lines (step name, message, fraction of the study done, ETA seconds when known) */
  log?: (step: string, msg: string) => void;
  signal?: AbortSignal;
}

export interface ScalingResult {
  /** the suite's points: run id, non-embedding N, tokens, final validation loss */
  points: { run: string; N: number; D: number; loss: number }[];
  /** fit on every point but the largest model */
  heldOutFit: OffsetPowerFit;
  /** the largest model: measured vs predicted (with the prediction interval) */
  prediction: { run: string; N: number; observed: number; predicted: number; pi: [number, number]; relError: number };
  /** fit on all points (bootstrap intervals) */
  fullFit: OffsetPowerFit;
}

export class StudyError extends Error {
  override name = 'StudyError';
}

function corpus(o: StudyOptions): string {
  return join(studyDir(o.workspace), 'corpus');
}

export function studyDir(workspace: string): string {
  return join(resolve(workspace), 'study');
}

/** Step 1: the built-in corpus (skipped when its manifest exists). */
export function corpusStep(o: StudyOptions): string {
  const dir = join(studyDir(o.workspace), 'corpus');
  if (existsSync(join(dir, 'manifest.json'))) {
    o.log?.('corpus', `built corpus found at ${dir}`);
    return dir;
  }
  o.log?.('corpus', `building the built-in corpus (State of the Union, Moby Dick, SpamAssassin; ${o.preset.vocab}-token BPE; planted canaries and duplicates)`);
  let phase = '';
  const spec = loadSpec('default');
  const tokenizer = spec.spec.tokenizer;
  if (tokenizer.type === 'train') spec.spec = { ...spec.spec, tokenizer: { ...tokenizer, vocabSize: o.preset.vocab } };
  const m = buildCorpus(spec, dir, {
    force: true,
    onProgress: (p) => {
      if (p.phase !== phase) o.log?.('corpus', `${(phase = p.phase)}…`);
    },
  });
  o.log?.('corpus', `${m.splits.train.tokens.toLocaleString()} train / ${m.splits.val.tokens.toLocaleString()} validation tokens, vocab ${m.tokenizer.vocabSize}`);
  return dir;
}

/** The suite's sweep plan over the corpus. */
export function suitePlan(o: StudyOptions, corpus: string): SweepPlan {
  const p = o.preset;
  const base: TrainConfigInput = {
    data: corpus, batch_size: p.batch_size, seq_len: p.seq_len, lr: p.lr, min_lr: p.lr / 10, warmup: 50,
    eval_every: 0, eval_batches: 32, checkpoint_every: 100, log_every: 10, seed: 1337,
    model: { ctx: p.seq_len, activation: 'gelu_tanh' },
  };
  return planGrid(`suite-${p.name}`, join(studyDir(o.workspace), 'suite'), base, p.shapes, [p.tokens]);
}

/** Step 2: train the suite (finished runs are skipped). */
export async function suiteStep(o: StudyOptions, store: Store, plan: SweepPlan): Promise<void> {
  const t0 = Date.now();
  const r = await runSweep(plan, store, {
    workers: o.preset.workers, backend: o.backend, signal: o.signal,
    onProgress: (p) => {
      const el = (Date.now() - t0) / 1000;
      const fresh = p.done - p.skipped;
      // runs grow in cost with N; the ETA assumes the remaining runs cost like the mean so far (a lower bound)
      const eta = fresh > 0 ? ((p.total - p.done) * el) / fresh : NaN;
      o.log?.('suite', `${p.done}/${p.total} runs${p.event ? ' · ' + p.event : ''}${Number.isFinite(eta) ? ` · ETA ≥ ${Math.round(eta)}s` : ''}`);
    },
  });
  if (r.interrupted) throw new StudyError('interrupted during the suite; run `lmlab study` again to continue');
  if (r.failed.length) throw new StudyError(`suite runs failed: ${r.failed.join(', ')} (see their error.log)`);
}

/** Step 3: L(N) fit, prediction of the largest model from the others, and the fit on all points. */
export function scalingStep(o: StudyOptions, store: Store, plan: SweepPlan): ScalingResult {
  const points = plan.runs.map((r) => {
    const row = store.run(store.runId(String(r.config.out)));
    if (!row || row.final_val_loss === null) throw new StudyError(`run ${r.id} has no final validation loss in the store`);
    return { run: row.id, N: r.N, D: r.D, loss: row.final_val_loss };
  }).sort((a, b) => a.N - b.N);
  const largest = points[points.length - 1]!;
  const rest = points.slice(0, -1);
  const heldOutFit = fitOffsetPowerLaw(rest.map((p) => p.N), rest.map((p) => p.loss), { predictAt: [largest.N], bootstrap: o.preset.bootstrap, seed: 1, holdoutFactor: 0 });
  const pred = heldOutFit.prediction[0]!;
  const fullFit = fitOffsetPowerLaw(points.map((p) => p.N), points.map((p) => p.loss), { bootstrap: o.preset.bootstrap, seed: 1 });
  const result: ScalingResult = {
    points, heldOutFit, fullFit,
    prediction: { run: largest.run, N: largest.N, observed: largest.loss, predicted: pred.predicted, pi: pred.pi, relError: (pred.predicted - largest.loss) / largest.loss },
  };
  writeFileAtomic(join(studyDir(o.workspace), 'scaling.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/**
 * Bootstrap curves of L(N) = E + A·N^-α: resample the points with replacement, refit, evaluate on the grid.
 * Resamples with fewer than 3 distinct N cannot be fitted and are skipped (their count is reported).
 */
export function bootstrapCurves(points: { N: number; loss: number }[], grid: number[], K: number, seed: number): { curves: number[][]; used: number } {
  const rng = new Rng(seed), curves: number[][] = [];
  for (let k = 0; k < K; k++) {
    const idx = points.map(() => rng.int(points.length));
    if (new Set(idx.map((i) => points[i]!.N)).size < 3) continue;
    try {
      const f = fitOffsetPowerLaw(idx.map((i) => points[i]!.N), idx.map((i) => points[i]!.loss), { holdoutFactor: 0 });
      curves.push(grid.map((x) => f.E + f.A * Math.pow(x, -f.alpha)));
    } catch { /* a resample the fit could not converge on */ }
  }
  return { curves, used: curves.length };
}

/** Step 4: memorization and canary probes on every model of the suite (skipped when probes.json exists). */
export async function probesStep(o: StudyOptions, plan: SweepPlan, corpus: string): Promise<ProbeResults> {
  const path = join(studyDir(o.workspace), 'probes.json');
  if (existsSync(path)) {
    o.log?.('probes', `found ${path}`);
    return JSON.parse(readFileSync(path, 'utf8')) as ProbeResults;
  }
  const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
  const out: ProbeResults = { memorization: [], canaries: [] };
  for (const r of plan.runs) {
    o.log?.('probes', `memorization and canary exposure: ${r.id}`);
    const p = runProbes(backend, String(r.config.out), r.id, r.N, corpus);
    out.memorization.push(p.memorization);
    out.canaries.push(p.canaries);
  }
  writeFileAtomic(path, JSON.stringify(out, null, 2) + '\n');
  return out;
}

/** Step 5: the report (self-contained HTML + SVG figures) from the store and the study's results. */
export async function reportStep(o: StudyOptions, plan: SweepPlan, scaling: ScalingResult, probes: ProbeResults): Promise<string> {
  const dir = studyDir(o.workspace);
  const input: ReportInput = reportFromStore(o.workspace, { sweep: plan.id, title: `lmlab study (${o.preset.name} preset)` });
  const pts = scaling.points;
  const lo = pts[0]!.N / 1.5, hi = pts[pts.length - 1]!.N * 1.5;
  const grid = Array.from({ length: 40 }, (_, i) => lo * Math.pow(hi / lo, i / 39));
  const f = scaling.heldOutFit;
  const boot = bootstrapCurves(pts.slice(0, -1), grid, o.preset.bootstrap, 7);
  const p = scaling.prediction;
  input.scaling = {
    source: `${o.workspace}/lmlab.sqlite, sweep ${plan.id}: final validation loss of each run`,
    fits: [{
      axis: 'N', xLabel: 'non-embedding parameters N (Kaplan)',
      law: { form: 'power', formula: 'L(N) = E + A·N^-α (fitted without the largest model)', params: { E: f.E, A: f.A, alpha: f.alpha, r2_log: f.goodness.r2Log } },
      points: pts.slice(0, -1).map((q) => ({ x: q.N, loss: q.loss, run: q.run })),
      curve: grid.map((x) => ({ x, y: f.E + f.A * Math.pow(x, -f.alpha) })),
      ...(boot.used >= 2 ? { bandSamples: { level: 0.9, curves: boot.curves } } : {}),
      heldOut: { x: p.N, loss: p.observed, run: p.run, predicted: p.predicted, lo: p.pi[0], hi: p.pi[1] },
    }],
  };
  const mem = probes.memorization;
  const k = mem[0]?.k ?? 32, l = mem[0]?.l ?? 32;
  const largest = mem[mem.length - 1];
  const topCount = largest ? Math.max(...largest.byCount.map((b) => b.count)) : 0;
  input.memorization = {
    source: `${dir}/probes.json (greedy decoding of the suite's final checkpoints on planted duplicates of ${corpus(o)})`,
    definition: `mean share of the ${l} true continuation tokens reproduced after a ${k}-token prefix (Biderman score; count 1 = random training windows)`,
    byDuplicates: mem.flatMap((m) => m.byCount.map((b) => ({ model: m.model, duplicates: b.count, rate: b.meanScore, n: b.n }))),
    bySize: mem.map((m) => ({ model: m.model, params: m.N, rate: m.byCount.find((b) => b.count === topCount)?.meanScore ?? 0, n: m.byCount.find((b) => b.count === topCount)?.n })),
    canaries: probes.canaries.length ? {
      method: `skew-normal fit to the negative log-likelihoods of ${probes.canaries[0]!.candidates} random secrets of the same format`,
      maxExposure: probes.canaries[0]!.maxExposure,
      rows: probes.canaries.flatMap((c) => c.canaries.map((x) => ({ model: c.model, copies: x.count, exposure: x.exposureSkewNormal, canary: x.id }))),
    } : undefined,
  };
  input.provenance = { ...(input.provenance ?? {}), study: dir, preset: o.preset.name, command: 'lmlab study' };
  writeFileAtomic(join(dir, 'report-input.json'), JSON.stringify(input, null, 2) + '\n');
  const r = await renderReport(input, join(dir, 'report'));
  return r.htmlPath;
}

/** Run the whole study (resumable). Returns the path of the study summary. */
export async function runStudy(o: StudyOptions): Promise<{ summary: string; scaling: ScalingResult; report: string }> {
  const dir = studyDir(o.workspace);
  const store = new Store(o.workspace);
  try {
    const corpus = corpusStep(o);
    const plan = suitePlan(o, corpus);
    o.log?.('suite', `${plan.runs.length} models, non-embedding N ${plan.runs[0]!.N.toLocaleString()} … ${plan.runs[plan.runs.length - 1]!.N.toLocaleString()} (×${(plan.runs[plan.runs.length - 1]!.N / plan.runs[0]!.N).toFixed(0)}), ${o.preset.tokens.toLocaleString()} tokens each`);
    await suiteStep(o, store, plan);
    const scaling = scalingStep(o, store, plan);
    o.log?.('fit', `L(N) = ${scaling.fullFit.E.toFixed(3)} + ${scaling.fullFit.A.toExponential(3)}·N^-${scaling.fullFit.alpha.toFixed(3)} · R²(log) ${scaling.fullFit.goodness.r2Log.toFixed(4)} · largest predicted ${scaling.prediction.predicted.toFixed(4)} vs measured ${scaling.prediction.observed.toFixed(4)} (${(100 * scaling.prediction.relError).toFixed(2)}%)`);
    const probes = await probesStep(o, plan, corpus);
    const report = await reportStep(o, plan, scaling, probes);
    o.log?.('report', report);
    const summary = join(dir, 'study.json');
    writeFileAtomic(summary, JSON.stringify({ preset: o.preset, corpus, sweep: plan.id, scaling: 'scaling.json', report, finished: new Date().toISOString() }, null, 2) + '\n');
    return { summary, scaling, report };
  } finally {
    store.close();
  }
}

export function readScaling(workspace: string): ScalingResult | null {
  const p = join(studyDir(workspace), 'scaling.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as ScalingResult) : null;
}
