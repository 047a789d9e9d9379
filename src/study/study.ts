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
import {
  curveAnalyses, emergenceProbe, goodTuringProbe, phenomenaProbe, quantizationProbe,
  type CurvesResult, type EmergenceResult, type GoodTuringResult, type PhenomenaResult, type PowerFitSummary, type QuantizationResult,
} from './analyses.ts';

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
  /** sizes of the probes run on the trained suite */
  probes: ProbeSizes;
}

export interface ProbeSizes {
  /** validation windows (of seq_len tokens) for massive activations and attention sinks */
  windows: number;
  /** validation tokens for the quantization table */
  quantTokens: number;
  /** block size of the block-wise quantization rows */
  quantBlock: number;
  /** eval examples per emergence task */
  emergenceExamples: number;
  /** samples from the largest model for the Good-Turing extrapolation, their length, and k */
  gtSamples: number;
  gtTokens: number;
  gtK: number;
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
    probes: { windows: 8, quantTokens: 2048, quantBlock: 32, emergenceExamples: 16, gtSamples: 64, gtTokens: 32, gtK: 4 },
  },
  quick: {
    name: 'quick',
    shapes: [
      { n_layer: 1, d_model: 32, n_head: 1 }, { n_layer: 1, d_model: 48, n_head: 2 }, { n_layer: 2, d_model: 64, n_head: 2 },
      { n_layer: 2, d_model: 96, n_head: 3 }, { n_layer: 3, d_model: 128, n_head: 4 }, { n_layer: 4, d_model: 160, n_head: 5 },
    ],
    tokens: 1_200_000, batch_size: 16, seq_len: 64, lr: 2e-3, vocab: 512, bootstrap: 200, workers: 1,
    probes: { windows: 16, quantTokens: 8192, quantBlock: 32, emergenceExamples: 64, gtSamples: 256, gtTokens: 48, gtK: 16 },
  },
  full: {
    name: 'full',
    shapes: [
      { n_layer: 2, d_model: 64, n_head: 2 }, { n_layer: 2, d_model: 96, n_head: 3 }, { n_layer: 3, d_model: 128, n_head: 4 },
      { n_layer: 4, d_model: 192, n_head: 6 }, { n_layer: 6, d_model: 256, n_head: 8 }, { n_layer: 6, d_model: 384, n_head: 6 },
      { n_layer: 8, d_model: 512, n_head: 8 },
    ],
    tokens: 20_000_000, batch_size: 16, seq_len: 256, lr: 1e-3, vocab: 4096, bootstrap: 1000, workers: 1,
    probes: { windows: 64, quantTokens: 65536, quantBlock: 64, emergenceExamples: 200, gtSamples: 1024, gtTokens: 128, gtK: 32 },
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

/** Per-step progress with an ETA: `done` of `total` work units (runs weighted by FLOPs per token). */
function stepProgress(o: StudyOptions, step: string, t0: number): (msg: string, done: number, total: number) => void {
  return (msg, done, total) => {
    const el = (Date.now() - t0) / 1000;
    const eta = done > 0 && done < total ? (el * (total - done)) / done : NaN;
    o.log?.(step, `${msg} · ${Math.round((100 * done) / total)}%${Number.isFinite(eta) ? ` · ETA ${Math.round(eta)}s` : done === 0 ? " · ETA after the first part" : ""}`);
  };
}

/** A resumable step: load `file` from the study directory when it exists, else compute, write it atomically, return it. */
async function cachedStep<T>(o: StudyOptions, step: string, file: string, what: string, fn: (progress: (msg: string, done: number, total: number) => void) => T | Promise<T>): Promise<T> {
  const path = join(studyDir(o.workspace), file);
  if (existsSync(path)) {
    o.log?.(step, `found ${path}`);
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  }
  const t0 = Date.now(), cpu0 = process.cpuUsage();
  o.log?.(step, what);
  const r = await fn(stepProgress(o, step, t0));
  writeFileAtomic(path, JSON.stringify(r) + '\n');
  const cpu = process.cpuUsage(cpu0);
  // CPU time as well as wall time: on a shared machine the wall time says more about the load than the step
  o.log?.(step, `done in ${((Date.now() - t0) / 1000).toFixed(1)}s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)}s): ${path}`);
  return r;
}

/** Step 4: memorization and canary probes on every model of the suite (skipped when probes.json exists). */
export async function probesStep(o: StudyOptions, plan: SweepPlan, corpus: string): Promise<ProbeResults> {
  return cachedStep(o, 'probes', 'probes.json', 'discoverable memorization of the planted duplicates and canary exposure, every model', async (progress) => {
    const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
    const out: ProbeResults = { memorization: [], canaries: [] };
    // cost grows with the model: weight each run by its N (+ a constant for the per-model overhead)
    const w = plan.runs.map((r) => r.N + plan.runs[0]!.N);
    const total = w.reduce((a, b) => a + b, 0);
    let done = 0;
    for (const [i, r] of plan.runs.entries()) {
      progress(`memorization and canary exposure: ${r.id}`, done, total);
      const p = runProbes(backend, String(r.config.out), r.id, r.N, corpus);
      out.memorization.push(p.memorization);
      out.canaries.push(p.canaries);
      done += w[i]!;
    }
    return out;
  });
}

/** Step 5: frontier (approach 1), IsoFLOP profiles (approach 2), L(D) and L(C) from the suite's training curves. */
export async function curvesStep(o: StudyOptions, store: Store, plan: SweepPlan): Promise<CurvesResult> {
  return cachedStep(o, 'curves', 'curves.json', 'compute-optimal frontier, IsoFLOP profiles, L(D) and L(C) from the training curves', (progress) => {
    return curveAnalyses(store, plan, { bootstrap: Math.min(o.preset.bootstrap, 40), progress });
  });
}

/** Step 6: massive activations and attention sinks of every model, super weights of the largest. */
export async function phenomenaStep(o: StudyOptions, store: Store, plan: SweepPlan, corpus: string): Promise<PhenomenaResult> {
  return cachedStep(o, 'phenom', 'phenomena.json', `massive activations and attention sinks on ${o.preset.probes.windows} validation windows, every model; super-weight search on the largest`, async (progress) => {
    const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
    return phenomenaProbe(backend, store, plan, corpus, { windows: o.preset.probes.windows, progress });
  });
}

/** Step 7: the quantization table of the largest model. */
export async function quantizationStep(o: StudyOptions, store: Store, plan: SweepPlan, corpus: string, phen: PhenomenaResult): Promise<QuantizationResult> {
  return cachedStep(o, 'quant', 'quantization.json', `round-to-nearest quantization of the largest model (8/4/3 bits, per tensor and block ${o.preset.probes.quantBlock}, outliers held out, W8A8) on ${o.preset.probes.quantTokens.toLocaleString()} validation tokens`, async (progress) => {
    const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
    return quantizationProbe(backend, store, plan, corpus, phen, { evalTokens: o.preset.probes.quantTokens, block: o.preset.probes.quantBlock, progress });
  });
}

/** Step 8: every model on the emergence tasks, curves over N with shape labels. */
export async function emergenceStep(o: StudyOptions, store: Store, plan: SweepPlan): Promise<EmergenceResult> {
  return cachedStep(o, 'emerge', 'emergence.json', `copy and induction tasks (${o.preset.probes.emergenceExamples} examples each), every model`, async (progress) => {
    const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
    return emergenceProbe(backend, store, plan, { examples: o.preset.probes.emergenceExamples, progress });
  });
}

/** Step 9: unique memorized k-grams in samples of the largest model, with the Good-Turing extrapolation. */
export async function goodTuringStep(o: StudyOptions, store: Store, plan: SweepPlan, corpus: string): Promise<GoodTuringResult> {
  const p = o.preset.probes;
  return cachedStep(o, 'gturing', 'good-turing.json', `${p.gtSamples} samples of ${p.gtTokens} tokens from the largest model; memorized ${p.gtK}-grams against the training split; Good-Turing extrapolation`, async (progress) => {
    const backend = await createBackend(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto');
    return goodTuringProbe(backend, store, plan, corpus, { samples: p.gtSamples, k: p.gtK, newTokens: p.gtTokens, progress });
  });
}

export interface StudyResults {
  scaling: ScalingResult;
  probes: ProbeResults;
  curves: CurvesResult;
  phenomena: PhenomenaResult;
  quantization: QuantizationResult;
  emergence: EmergenceResult;
  goodTuring: GoodTuringResult;
}

/** A power-law fit of the curves step as a report scaling fit (band from its bootstrap curves). */
function powerFitSection(f: PowerFitSummary, xLabel: string): NonNullable<ReportInput['scaling']>['fits'][number] {
  return {
    axis: f.axis, xLabel,
    law: { form: 'power', formula: `${f.formula} (${f.notes[0] ?? ''})`, params: { E: f.E, A: f.A, alpha: f.alpha, r2_log: f.r2Log } },
    points: f.points.map((p) => ({ x: p.x, loss: p.loss, run: p.run })),
    curve: f.grid.map((x) => ({ x, y: f.E + f.A * Math.pow(x, -f.alpha) })),
    ...(f.bootstrap.length >= 2 ? { bandSamples: { level: 0.9, curves: f.bootstrap } } : {}),
    heldOut: { x: f.heldOut.x, loss: f.heldOut.loss, run: f.heldOut.run, predicted: f.heldOut.predicted, lo: f.heldOut.lo, hi: f.heldOut.hi },
  };
}

/** Step 10: the report (self-contained HTML + SVG figures) from the store and the study's results. */
export async function reportStep(o: StudyOptions, plan: SweepPlan, res: StudyResults): Promise<string> {
  const { scaling, probes } = res;
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
  // L(D) and L(C) from the training curves, beside L(N)
  const cv = res.curves;
  if (cv.LD) input.scaling.fits.push(powerFitSection(cv.LD, `training tokens D of ${cv.LD.run} (log)`));
  if (cv.LC) input.scaling.fits.push(powerFitSection(cv.LC, 'training compute C = flops_per_token × tokens (FLOPs, log)'));
  const curveSource = `${dir}/curves.json from the metrics table of ${o.workspace}/lmlab.sqlite, sweep ${plan.id} (${cv.smoothing}). Design caveat: ${cv.notes[0]}`;
  if (cv.frontier.optima.length) {
    const f = cv.frontier.fit;
    const cs = cv.frontier.optima.map((q) => q.C);
    const grid = [Math.min(...cs), Math.max(...cs)];
    input.frontier = {
      source: `${curveSource}. Ours: Chinchilla approach 1 (lower envelope of loss vs C; src/scaling/approaches.ts), N = non-embedding parameters; the published lines are each law's N_opt(C) (src/scaling/laws.ts; Chinchilla counts all parameters, Kaplan non-embedding ones)`
        + (cv.frontier.validation?.heldOut.length ? `. Held-out check (${cv.frontier.validation.rule}): predicted/observed N_opt ${cv.frontier.validation.heldOut.map((h) => h.ratio.toFixed(2)).join(', ')}` : ''),
      points: cv.frontier.optima.map((q) => ({ C: q.C, N: q.N, D: q.D, run: q.run })),
      ...(f ? { fit: { label: `N_opt ∝ C^${f.exponent.toFixed(3)}`, law: { form: 'power', formula: 'N_opt(C) = k·C^a (approach 1, least squares in log-log)', params: { k: f.coef, a: f.exponent, a_lo: f.ci[0], a_hi: f.ci[1], r2_log: f.r2Log } }, points: grid.map((C) => ({ C, N: f.coef * Math.pow(C, f.exponent) })) } } : {}),
      published: cv.published,
    };
  }
  const iso = cv.isoflop.profiles.filter((q) => q.points.length > 0);
  if (iso.length) {
    input.isoflop = {
      source: `${curveSource}. Each run's smoothed training loss interpolated (linear in log C) at ${iso.length} budgets spanned by ≥ 3 runs; parabola in ln N per budget (Chinchilla approach 2, src/scaling/approaches.ts)`
        + (cv.isoflop.fit ? `; N_opt ∝ C^${cv.isoflop.fit.exponent.toFixed(3)} through the minima` : cv.isoflop.error ? `; no N_opt(C) fit: ${cv.isoflop.error}` : '')
        + (iso.some((q) => q.note) ? `; notes: ${iso.filter((q) => q.note).map((q) => `C=${q.C.toExponential(2)}: ${q.note}`).join('; ')}` : ''),
      profiles: iso.map((q) => {
        const ns = q.points.map((x) => x.N);
        const up = q.parabola && q.parabola[2] > 0 && q.optimum;
        const g = Array.from({ length: 20 }, (_, i) => Math.min(...ns) * Math.pow(Math.max(...ns) / Math.min(...ns), i / 19));
        return {
          C: q.C, points: q.points,
          ...(up ? { fit: g.map((N) => { const u = Math.log(N) - q.meanLnN; return { N, loss: q.parabola![0] + q.parabola![1] * u + q.parabola![2] * u * u }; }) } : {}),
          ...(up && !q.note ? { optimum: q.optimum! } : {}),
        };
      }),
    };
  }
  // emergence
  const em = res.emergence;
  if (em.curves.length) {
    input.emergence = {
      source: `${dir}/emergence.json: every suite model's final checkpoint on procedurally generated eval examples (src/emergence/tasks copy task; ${em.tasks.map((t) => `${t.name}: ${JSON.stringify(t.options)}`).join('; ')}), greedy generation and teacher-forced scoring through ModelScorer with the run's BPE codec; shape labels from src/emergence/curve.ts classifyShape`,
      xLabel: 'non-embedding parameters N',
      curves: em.curves.map((c) => ({ metric: c.label, task: c.task, shape: c.shape, reasons: c.reasons, points: c.points })),
    };
  }
  // Good-Turing
  const gt = res.goodTuring;
  if (input.memorization && gt.observed.length && gt.extrapolated.length) {
    input.memorization.goodTuring = {
      quantity: `unique memorized ${gt.k}-grams`,
      method: `a memorized ${gt.k}-gram is a ${gt.k}-token window of a sample of ${gt.run} (${gt.sampleTokens} new tokens, temperature ${gt.temperature}, one-token prompts drawn from the training split) that occurs verbatim in the training split (suffix array); ${gt.method}; observed points are the first 25/50/75/100% of the samples; ${gt.counts.length} unique k-grams from ${gt.counts.reduce((a, b) => a + b, 0)} emissions`,
      observed: gt.observed.map((q) => ({ samples: q.samples, value: q.unique })),
      extrapolated: gt.extrapolated.map((q) => ({ samples: q.samples, value: q.unique })),
    };
  } else if (input.memorization && gt.error) {
    input.memorization.definition += `. Good-Turing extrapolation not drawn: ${gt.error}`;
  }
  // massive activations (largest model) and attention sinks (every model)
  const ph = res.phenomena;
  const big = ph.models[ph.models.length - 1];
  if (big) {
    input.activations = {
      source: `${dir}/phenomena.json: ${ph.source}; src/phenomena activationStats (Sun et al. 2024). Top-1/median per layer, every model: ${ph.models.map((m) => `${m.run} ${m.activations.map((a) => a.ratio.toFixed(1)).join('/')}`).join('; ')}. Gain over the same model at step 0 (largest): ${big.activations.map((a) => (a.gain ?? NaN).toFixed(2)).join('/')}; entries passing Sun et al.'s absolute criterion (|h| > 100 and ≥ 1000× median): ${ph.models.reduce((s, m) => s + m.activations.reduce((t, a) => t + a.massiveAbs, 0), 0)}. Super weights of the largest model (relative rule): ${ph.superWeights.weights.length ? ph.superWeights.weights.map((w) => `${w.tensor}[${w.row}, ${w.column}] = ${w.value.toFixed(3)}`).join('; ') : 'none found'}`,
      model: big.run,
      stat: `|h| of blocks.{l}.hook_resid_post: top-1..3 and median per window of ${ph.T} tokens, mean over ${ph.windows} windows`,
      layers: big.activations.map((a) => ({ layer: a.layer, top: a.top, median: a.median })),
    };
    input.attentionSinks = {
      source: `${dir}/phenomena.json: ${ph.source}; src/phenomena attentionSinks (Xiao et al. 2024; sink rate as Gu et al. 2025, threshold ${big.sinks.threshold}). Sink rate / mean first-token mass per model: ${ph.models.map((m) => `${m.run} ${m.sinks.sinkRate.toFixed(2)} / ${m.sinks.meanMass.toFixed(3)}`).join('; ')}`,
      maps: [...ph.models].reverse().map((m) => ({ model: m.run, metric: `mean attention on token 0 over queries 1..${ph.T - 1} (blocks.{l}.attn.hook_pattern); sink rate ${m.sinks.sinkRate.toFixed(2)}`, values: m.sinks.firstTokenMass })),
    };
  }
  // quantization
  const q = res.quantization;
  const base = q.rows[0]!;
  input.quantization = {
    source: `${dir}/quantization.json: ${q.run} on the first ${q.evalTokens.toLocaleString()} validation tokens (windows of ${q.T}); src/quantize quantizationTable (round-to-nearest, asymmetric, round half to even)`,
    columns: [
      { key: 'label', label: 'configuration' }, { key: 'weights', label: 'weights' }, { key: 'activations', label: 'activations' },
      { key: 'loss', label: 'val loss', digits: 4 }, { key: 'dloss', label: 'Δ loss', digits: 4 }, { key: 'perplexity', label: 'perplexity', digits: 3 },
      { key: 'kb', label: 'size (KB)', digits: 1 }, { key: 'compression', label: '× smaller', digits: 2 }, { key: 'kept', label: 'kept fp32' },
    ],
    rows: q.rows.map((r) => ({ label: r.label, weights: r.weights, activations: r.activations, loss: r.loss, dloss: r.loss - base.loss, perplexity: r.perplexity, kb: r.bytes / 1024, compression: r.compression, kept: r.keptFullPrecision })),
    note: `Block size ${q.block} (elements per block within a row). ${q.superWeights ? `${q.superWeights} super weight(s) held out in the "+ super weights" rows.` : 'No super weight was found in this model (relative rule), so there are no super-weight rows.'} Sizes count every parameter (quantized linear weights + fp32 embeddings, norms, biases).`,
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
    const curves = await curvesStep(o, store, plan);
    if (curves.frontier.fit) o.log?.('curves', `frontier N_opt ∝ C^${curves.frontier.fit.exponent.toFixed(3)} (approach 1 on mid-run checkpoints)${curves.LD ? ` · L(D) α = ${curves.LD.alpha.toFixed(3)}` : ''}${curves.LC ? ` · L(C) α = ${curves.LC.alpha.toFixed(3)}` : ''}`);
    const phenomena = await phenomenaStep(o, store, plan, corpus);
    const quantization = await quantizationStep(o, store, plan, corpus, phenomena);
    const emergence = await emergenceStep(o, store, plan);
    const goodTuring = await goodTuringStep(o, store, plan, corpus);
    const report = await reportStep(o, plan, { scaling, probes, curves, phenomena, quantization, emergence, goodTuring });
    o.log?.('report', report);
    const summary = join(dir, 'study.json');
    writeFileAtomic(summary, JSON.stringify({ preset: o.preset, corpus, sweep: plan.id, scaling: 'scaling.json', results: ['probes.json', 'curves.json', 'phenomena.json', 'quantization.json', 'emergence.json', 'good-turing.json'], report, finished: new Date().toISOString() }, null, 2) + '\n');
    return { summary, scaling, report };
  } finally {
    store.close();
  }
}

export function readScaling(workspace: string): ScalingResult | null {
  const p = join(studyDir(workspace), 'scaling.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as ScalingResult) : null;
}
