/**
 * The study's analyses beyond L(N) and the memorization probes, each a thin driver over the library:
 *
 * - curves: compute-optimal frontier (Chinchilla approach 1, src/scaling/approaches.ts) and IsoFLOP profiles
 *   (approach 2's parabolas) from the suite's own training curves, L(D) from the largest model's curve and
 *   L(C) from the lower envelope (src/scaling/powerlaw.ts), beside the published laws' N_opt(C)
 *   (src/scaling/laws.ts). The suite is a fixed-token-budget design with cosine schedules: a point in the
 *   middle of a run is not the loss a run trained to that budget would reach (its learning rate has not been
 *   annealed), so these are approach-1/2 estimates from mid-run checkpoints, not a proper IsoFLOP design;
 *   every result says so in its notes.
 * - phenomena: massive activations (Sun et al.) per model, attention-sink maps (first-token mass per
 *   layer × head) per model, super-weight search on the largest (src/phenomena).
 * - quantization: the perplexity table of the largest model (src/quantize).
 * - emergence: every model on procedurally generated copy / induction tasks (src/emergence/tasks) through
 *   ModelScorer with the run's BPE codec; several metrics on the same outputs; shape labels (curve.ts).
 * - Good-Turing: unique memorized k-grams in samples of the largest model (suffix array over the training
 *   split, src/memorization/index-file.ts) extrapolated to more samples (good-turing.ts).
 *
 * Nothing here is a constant standing in for a measurement.
 */
import type { Backend } from '../engine/backend.ts';
import type { GPT } from '../model/gpt.ts';
import type { Store } from '../store/store.ts';
import type { SweepPlan } from '../store/sweep.ts';
import { openShards } from '../data/shards.ts';
import { generate } from '../train/generate.ts';
import { loadRun, type TextCodec } from '../train/runs.ts';
import { fitApproach1, fitApproach2, type ApproachFit } from '../scaling/approaches.ts';
import type { Points } from '../scaling/data.ts';
import { fitOffsetPowerLaw } from '../scaling/powerlaw.ts';
import { getPreset, optimal } from '../scaling/laws.ts';
import { activationStats, attentionSinks, datasetWindows, downProjName, findSuperWeights, spikeRule, stack, type SuperWeight } from '../phenomena/index.ts';
import { createModel } from '../model/init.ts';
import { quantizationTable, type QuantEvalRow } from '../quantize/index.ts';
import { ModelScorer, type Codec } from '../emergence/scorer.ts';
import { evaluateTask } from '../emergence/evaluate.ts';
import { getTask } from '../emergence/tasks/registry.ts';
import { analyzeCurve } from '../emergence/curve.ts';
import { SuffixArrayIndex, memorizedKgramCounts } from '../memorization/index-file.ts';
import { extrapolateUniques } from '../memorization/good-turing.ts';
import { Rng } from '../engine/rng.ts';

export class StudyAnalysisError extends Error {
  override name = 'StudyAnalysisError';
}

/** Progress of a per-model loop: `done` of `total` units of work, the units weighted by cost. */
export type Progress = (msg: string, doneWeight: number, totalWeight: number) => void;

interface SuiteRun { id: string; dir: string; N: number; fpt: number }

function suiteRuns(store: Store, plan: SweepPlan): SuiteRun[] {
  return plan.runs.map((r) => {
    const row = store.run(store.runId(String(r.config.out)));
    if (!row) throw new StudyAnalysisError(`run ${r.id} (${String(r.config.out)}) is not in the store`);
    if (!row.flops_per_token) throw new StudyAnalysisError(`run ${row.id} has no flops_per_token in the store`);
    return { id: row.id, dir: String(r.config.out), N: r.N, fpt: row.flops_per_token };
  }).sort((a, b) => a.N - b.N);
}

// ------------------------------------------------------------------------------------------------------------
// Curves: frontier, IsoFLOP profiles, L(D), L(C)

export interface CurvePointC { tokens: number; C: number; loss: number }

export interface PowerFitSummary {
  axis: 'D' | 'C';
  run: string | null;
  formula: string;
  E: number; A: number; alpha: number; r2Log: number;
  /** the points fitted */
  points: { x: number; loss: number; run: string }[];
  /** bootstrap curves on `grid` */
  grid: number[];
  bootstrap: number[][];
  heldOut: { x: number; loss: number; run: string; predicted: number; lo: number; hi: number; what: string };
  notes: string[];
}

export interface CurvesResult {
  smoothing: string;
  /** tokens below this share of a run's budget are left out (warmup and the first transient) */
  minTokenShare: number;
  runs: { run: string; N: number; flopsPerToken: number; points: CurvePointC[] }[];
  frontier: {
    /** the envelope, thinned: at each C the run with the lowest (smoothed, interpolated) training loss */
    optima: { C: number; N: number; D: number; loss: number; run: string }[];
    fit: { coef: number; exponent: number; ci: [number, number]; r2Log: number; D: { coef: number; exponent: number } } | null;
    validation: ApproachFit['validation'];
    notes: string[];
    error: string | null;
  };
  isoflop: {
    profiles: { C: number; points: { N: number; loss: number; run: string }[]; parabola: [number, number, number] | null; meanLnN: number; optimum: { N: number; loss: number } | null; note?: string }[];
    fit: { coef: number; exponent: number } | null;
    notes: string[];
    error: string | null;
  };
  published: { name: string; citation: string; points: { C: number; N: number }[] }[];
  LD: PowerFitSummary | null;
  LC: PowerFitSummary | null;
  notes: string[];
}

/** Centered moving average over `w` logged points (shrinking at the ends). */
export function smooth(ys: readonly number[], w: number): number[] {
  const h = Math.floor(w / 2);
  return ys.map((_, i) => {
    let s = 0, n = 0;
    for (let j = Math.max(0, i - h); j <= Math.min(ys.length - 1, i + h); j++) { s += ys[j]!; n++; }
    return s / n;
  });
}

/** Linear interpolation of y(log x) on a curve sorted by x; NaN outside it. */
function interpLog(xs: readonly number[], ys: readonly number[], x: number): number {
  const n = xs.length;
  if (n === 0 || x < xs[0]! || x > xs[n - 1]!) return NaN;
  let j = 1;
  while (j < n - 1 && xs[j]! < x) j++;
  const x0 = Math.log(xs[j - 1]!), x1 = Math.log(xs[j]!);
  if (x1 === x0) return ys[j]!;
  return ys[j - 1]! + ((Math.log(x) - x0) / (x1 - x0)) * (ys[j]! - ys[j - 1]!);
}

const logGrid = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => lo * Math.pow(hi / lo, n === 1 ? 0 : i / (n - 1)));

function bootCurves(xs: number[], ys: number[], grid: number[], K: number, seed: number): number[][] {
  const rng = new Rng(seed), out: number[][] = [];
  for (let k = 0; k < K; k++) {
    const idx = xs.map(() => rng.int(xs.length));
    if (new Set(idx.map((i) => xs[i])).size < 3) continue;
    try {
      const f = fitOffsetPowerLaw(idx.map((i) => xs[i]!), idx.map((i) => ys[i]!), { holdoutFactor: 0 });
      const c = grid.map((x) => f.E + f.A * Math.pow(x, -f.alpha));
      if (c.every(Number.isFinite)) out.push(c);
    } catch { /* a resample the fit could not converge on */ }
  }
  return out;
}

function powerFit(axis: 'D' | 'C', run: string | null, pts: { x: number; loss: number; run: string }[], heldOut: { x: number; loss: number; run: string; what: string }, bootstrap: number, notes: string[]): PowerFitSummary {
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.loss);
  const f = fitOffsetPowerLaw(xs, ys, { predictAt: [heldOut.x], holdoutFactor: 0 });
  const pred = f.prediction[0]!;
  const grid = logGrid(Math.min(...xs) / 1.3, Math.max(heldOut.x, ...xs) * 1.3, 40);
  const sym = axis === 'D' ? 'D' : 'C';
  return {
    axis, run, formula: `L(${sym}) = E + A·${sym}^-α`, E: f.E, A: f.A, alpha: f.alpha, r2Log: f.goodness.r2Log, points: pts, grid,
    bootstrap: bootCurves(xs, ys, grid, bootstrap, axis === 'D' ? 11 : 13),
    heldOut: { ...heldOut, predicted: pred.predicted, lo: pred.pi[0], hi: pred.pi[1] },
    notes: [...notes, ...f.notes],
  };
}

/** Frontier, IsoFLOP profiles, L(D) and L(C) from the suite's training curves in the store. */
export function curveAnalyses(store: Store, plan: SweepPlan, o: { bootstrap: number; smoothWindow?: number; minTokenShare?: number; progress?: Progress }): CurvesResult {
  // progress weights of the stages: the two bootstrapped power-law fits dominate
  const P = (msg: string, done: number) => o.progress?.(msg, done, 10);
  const w = o.smoothWindow ?? 5, minShare = o.minTokenShare ?? 0.05;
  const runs = suiteRuns(store, plan).map((r) => {
    const m = store.metrics(r.id).filter((p) => p.loss !== null && p.tokens !== null && p.tokens > 0);
    if (m.length < 3) throw new StudyAnalysisError(`run ${r.id}: fewer than 3 logged training losses in the store`);
    const sm = smooth(m.map((p) => p.loss!), w);
    const maxTok = m[m.length - 1]!.tokens!;
    const points = m.map((p, i) => ({ tokens: p.tokens!, C: r.fpt * p.tokens!, loss: sm[i]! })).filter((p) => p.tokens >= minShare * maxTok);
    return { run: r.id, N: r.N, flopsPerToken: r.fpt, points, finalVal: store.run(r.id)?.final_val_loss ?? null };
  });
  const smoothing = `training loss logged every few steps (one batch each), centered moving average over ${w} logged points; tokens < ${Math.round(minShare * 100)}% of each run's budget left out`;
  const design = 'the suite trains every size on the same token budget with a cosine schedule: a mid-run point is a checkpoint whose learning rate has not been annealed, not a run trained to that budget, so the envelope and the IsoFLOP profiles are estimates from mid-run checkpoints (Chinchilla approaches 1/2 trained separate runs per budget), not a proper IsoFLOP design';
  const notes = [design, 'C = the store\'s flops_per_token (forward + backward, with attention) × tokens seen; N = non-embedding parameters'];
  const pts: Points = {
    source: `training curves of sweep ${plan.id}`,
    N: Float64Array.from(runs.flatMap((r) => r.points.map(() => r.N))),
    D: Float64Array.from(runs.flatMap((r) => r.points.map((p) => p.tokens))),
    C: Float64Array.from(runs.flatMap((r) => r.points.map((p) => p.C))),
    loss: Float64Array.from(runs.flatMap((r) => r.points.map((p) => p.loss))),
    run: runs.flatMap((r) => r.points.map(() => r.run)),
    lines: runs.flatMap((r) => r.points.map((_, i) => i + 1)),
    notes: [],
  };
  const runOfN = new Map(runs.map((r) => [r.N, r.run]));

  // approach 1: lower envelope
  P('approach 1: lower envelope of the training curves', 0);
  let frontier: CurvesResult['frontier'];
  try {
    const a1 = fitApproach1(pts, { gridPoints: 120, holdoutFraction: 0.2 });
    const step = Math.max(1, Math.floor(a1.optima.length / 40));
    frontier = {
      optima: a1.optima.filter((_, i) => i % step === 0 || i === a1.optima.length - 1).map((p) => ({ ...p, run: runOfN.get(p.N) ?? '' })),
      fit: { coef: a1.N.coef, exponent: a1.N.exponent, ci: [a1.N.ci.lo, a1.N.ci.hi], r2Log: a1.N.r2Log, D: { coef: a1.D.coef, exponent: a1.D.exponent } },
      validation: a1.validation, notes: a1.notes, error: null,
    };
  } catch (e) {
    frontier = { optima: [], fit: null, validation: null, notes: [], error: (e as Error).message };
  }

  // IsoFLOP profiles: every run's loss read at a few budgets its curve spans
  P('IsoFLOP profiles', 1);
  const lo = Math.min(...runs.map((r) => r.points[0]!.C)), hi = Math.max(...runs.map((r) => r.points[r.points.length - 1]!.C));
  const candidates = logGrid(lo, hi, 16).map((C) => ({
    C, points: runs.flatMap((r) => {
      const v = interpLog(r.points.map((p) => p.C), r.points.map((p) => p.loss), C);
      return Number.isFinite(v) ? [{ N: r.N, loss: v, run: r.run }] : [];
    }),
  })).filter((b) => b.points.length >= 3);
  const pick = candidates.length <= 5 ? candidates : [0, 1, 2, 3, 4].map((i) => candidates[Math.round((i * (candidates.length - 1)) / 4)]!);
  let isoflop: CurvesResult['isoflop'];
  const isoPts: Points = {
    source: `IsoFLOP budgets of sweep ${plan.id}`,
    N: Float64Array.from(pick.flatMap((b) => b.points.map((p) => p.N))), D: null,
    C: Float64Array.from(pick.flatMap((b) => b.points.map(() => b.C))),
    loss: Float64Array.from(pick.flatMap((b) => b.points.map((p) => p.loss))),
    run: pick.flatMap((b) => b.points.map((p) => p.run)), lines: pick.flatMap((b) => b.points.map((_, i) => i + 1)), notes: [],
  };
  const meanLn = (b: { points: { N: number }[] }) => b.points.reduce((s, p) => s + Math.log(p.N), 0) / b.points.length;
  try {
    if (pick.length === 0) throw new StudyAnalysisError('no FLOP budget is spanned by the curves of 3 or more runs');
    const a2 = fitApproach2(isoPts, { budgetTolDex: 1e-6, validate: false });
    isoflop = {
      profiles: pick.map((b, i) => {
        const bf = a2.budgets![i]!;
        return { C: b.C, points: b.points, parabola: bf.parabola, meanLnN: meanLn(b), optimum: bf.optimum ? { N: bf.optimum.N, loss: bf.optimum.loss } : null, ...(bf.note ? { note: bf.note } : {}) };
      }),
      fit: { coef: a2.N.coef, exponent: a2.N.exponent }, notes: a2.notes, error: null,
    };
  } catch (e) {
    const budgets = (e as { details?: { budgets?: { parabola: [number, number, number] | null; optimum: { N: number; loss: number } | null; note?: string }[] } }).details?.budgets;
    isoflop = {
      profiles: pick.map((b, i) => ({ C: b.C, points: b.points, parabola: budgets?.[i]?.parabola ?? null, meanLnN: meanLn(b), optimum: budgets?.[i]?.optimum ? { N: budgets[i]!.optimum!.N, loss: budgets[i]!.optimum!.loss } : null, ...(budgets?.[i]?.note ? { note: budgets[i]!.note } : {}) })),
      fit: null, notes: [], error: (e as Error).message,
    };
  }

  // published laws' N_opt(C) over the same range
  const cGrid = logGrid(lo, hi, 30);
  const short: Record<string, string> = { hoffmann2022: 'Hoffmann et al. 2022 (Chinchilla)', besiroglu2024: 'Besiroglu et al. 2024 (Epoch AI)', kaplan2020: 'Kaplan et al. 2020' };
  const published = Object.keys(short).map((name) => {
    const law = getPreset(name);
    return { name: short[name]!, citation: `${law.title}: ${law.source}`, points: cGrid.map((C) => ({ C, N: optimal(law, C).N })) };
  });

  P(`L(D) of the largest model with ${o.bootstrap} bootstrap refits`, 2);
  // L(D): the largest model's curve (tokens ≤ 70% of the budget), predicting its final validation loss
  const largest = runs[runs.length - 1]!;
  let LD: PowerFitSummary | null = null, LC: PowerFitSummary | null = null;
  const maxTok = largest.points[largest.points.length - 1]!.tokens;
  try {
    const dAll = largest.points.filter((p) => p.tokens <= 0.7 * maxTok);
    // at most 24 points, evenly spaced in log D (the logged steps are evenly spaced in D)
    const dPts = logGrid(dAll[0]!.tokens, dAll[dAll.length - 1]!.tokens, Math.min(24, dAll.length))
      .map((x) => dAll.reduce((b, p) => (Math.abs(Math.log(p.tokens / x)) < Math.abs(Math.log(b.tokens / x)) ? p : b)))
      .filter((p, i, a) => i === 0 || p !== a[i - 1])
      .map((p) => ({ x: p.tokens, loss: p.loss, run: largest.run }));
    if (largest.finalVal === null) throw new StudyAnalysisError(`${largest.run} has no final validation loss`);
    LD = powerFit('D', largest.run, dPts, { x: maxTok, loss: largest.finalVal, run: largest.run, what: `final validation loss of ${largest.run} after ${maxTok.toLocaleString()} tokens` }, o.bootstrap,
      ['fitted to the smoothed training loss of the largest model up to 70% of its token budget (the model size is fixed, so this is L(D) at that N, not the data term of L(N, D)); the held-out point is its final validation loss — the cosine schedule anneals over the last 30%, which the law does not model']);
  } catch (e) { notes.push(`L(D) not fitted: ${(e as Error).message}`); }
  P(`L(C) of the envelope with ${o.bootstrap} bootstrap refits`, 6);
  try {
    if (frontier.optima.length < 4) throw new StudyAnalysisError('fewer than 4 envelope points');
    const top = largest.points[largest.points.length - 1]!.C;
    const cPts = frontier.optima.filter((p) => p.C <= 0.5 * top).map((p) => ({ x: p.C, loss: p.loss, run: p.run }));
    if (largest.finalVal === null) throw new StudyAnalysisError(`${largest.run} has no final validation loss`);
    LC = powerFit('C', null, cPts, { x: top, loss: largest.finalVal, run: largest.run, what: `final validation loss of ${largest.run} at its full budget C = ${top.toExponential(2)} FLOPs` }, o.bootstrap,
      ['fitted to the lower envelope (best smoothed training loss at each C over the suite) below half the largest budget; the held-out point is the largest model\'s final validation loss']);
  } catch (e) { notes.push(`L(C) not fitted: ${(e as Error).message}`); }

  P('done', 10);
  return {
    smoothing, minTokenShare: minShare,
    runs: runs.map((r) => ({ run: r.run, N: r.N, flopsPerToken: r.flopsPerToken, points: r.points })),
    frontier, isoflop, published, LD, LC, notes,
  };
}

// ------------------------------------------------------------------------------------------------------------
// Phenomena: massive activations, attention sinks, super weights

export interface PhenomenaResult {
  windows: number;
  T: number;
  source: string;
  models: {
    run: string; N: number;
    /** per layer: top-1..3 |h| of resid_post (mean over windows), median, top-1/median, relative gain over step 0 */
    activations: { layer: number; top: number[]; median: number; ratio: number; gain: number | null; massiveAbs: number; massiveRel: number }[];
    sinks: { firstTokenMass: number[][]; sinkRate: number; meanMass: number; sinkRateAny: number; threshold: number };
  }[];
  /** super weights of the largest model (relative rule: channel dominance ≥ 5) */
  superWeights: { run: string; weights: { layer: number; tensor: string; row: number; column: number; value: number; maxOut: number }[] };
}

/** Massive activations and attention sinks for every model; super-weight search on the largest. */
export function phenomenaProbe(backend: Backend, store: Store, plan: SweepPlan, corpus: string, o: { windows: number; progress?: Progress }): PhenomenaResult {
  const runs = suiteRuns(store, plan);
  const sh = openShards(corpus);
  const val = sh.valTokensArray();
  const total = runs.reduce((s, r) => s + r.fpt, 0);
  let done = 0, T = 0;
  const models: PhenomenaResult['models'] = [];
  let superWeights: PhenomenaResult['superWeights'] = { run: runs[runs.length - 1]!.id, weights: [] };
  for (const [i, r] of runs.entries()) {
    o.progress?.(`activations and attention sinks: ${r.id}`, done, total);
    const { model, cfg } = loadRun(backend, r.dir);
    T = cfg.seq_len;
    const seqs = datasetWindows(val, o.windows, T);
    const baseline = createModel(backend, model.config, cfg.seed);
    const act = activationStats(model, seqs, { topK: 3, baseline });
    const sk = attentionSinks(model, seqs, {});
    models.push({
      run: r.id, N: r.N,
      activations: act.layers.map((l) => ({ layer: l.layer, top: l.top, median: l.median, ratio: l.ratio, gain: l.relative?.gain ?? null, massiveAbs: l.absolute.count, massiveRel: l.relative?.count ?? 0 })),
      sinks: { firstTokenMass: sk.firstTokenMass, sinkRate: sk.sinkRate, meanMass: sk.meanMass, sinkRateAny: sk.sinkRateAny, threshold: sk.threshold },
    });
    if (i === runs.length - 1) {
      const probe = seqs.slice(0, Math.min(4, seqs.length));
      const sw = findSuperWeights(model, stack(probe), probe.length, T, { rule: spikeRule('relative'), maxRounds: 4 });
      superWeights = { run: r.id, weights: sw.weights.map((w: SuperWeight) => ({ layer: w.layer, tensor: w.tensor, row: w.row, column: w.column, value: w.value, maxOut: w.maxOut })) };
    }
    done += r.fpt;
  }
  o.progress?.('done', total, total);
  return { windows: o.windows, T, source: `${corpus} validation split, ${o.windows} evenly spaced windows of ${T} tokens`, models, superWeights };
}

// ------------------------------------------------------------------------------------------------------------
// Quantization

export interface QuantizationResult {
  run: string;
  evalTokens: number;
  T: number;
  block: number;
  superWeights: number;
  rows: QuantEvalRow[];
}

/** The quantization table of the largest model on the start of the validation split. */
export function quantizationProbe(backend: Backend, store: Store, plan: SweepPlan, corpus: string, phen: PhenomenaResult | null, o: { evalTokens: number; block: number; progress?: Progress }): QuantizationResult {
  const runs = suiteRuns(store, plan);
  const r = runs[runs.length - 1]!;
  const { model, cfg } = loadRun(backend, r.dir);
  const val = openShards(corpus).valTokensArray();
  const evalTokens = val.subarray(0, Math.min(val.length, o.evalTokens + 1));
  const F = model.config.d_ff;
  const sws = phen?.superWeights.run === r.id ? phen.superWeights.weights : [];
  const keep = sws.map((w) => ({ tensor: downProjName(model, w.layer), index: w.row * F + w.column }));
  // one table per bit width (each starts with the fp32 row; kept once) so that progress can be reported
  const bits = [8, 4, 3];
  const rows: QuantEvalRow[] = [];
  for (const [i, b] of bits.entries()) {
    o.progress?.(`${r.id}: ${b}-bit weights${i === 0 ? ' (+ W8A8)' : ''}`, i, bits.length);
    const part = quantizationTable(model, {
      evalTokens, T: cfg.seq_len, bits: [b], block: o.block, keep: keep.length ? keep : undefined, zOutlier: 3, actBits: i === 0 ? 8 : null,
      keepActivations: sws.map((w) => ({ layer: w.layer, channel: w.row, minAbs: 0.5 * w.maxOut })),
    });
    rows.push(...(i === 0 ? part : part.slice(1)));
  }
  o.progress?.('done', bits.length, bits.length);
  rows.sort((a, b) => Number(a.activations !== 'fp32') - Number(b.activations !== 'fp32')); // weight-only rows first (stable)
  return { run: r.id, evalTokens: evalTokens.length, T: cfg.seq_len, block: o.block, superWeights: sws.length, rows };
}

// ------------------------------------------------------------------------------------------------------------
// Emergence

export type EmergenceMetric = 'exact_match' | 'per_token_accuracy' | 'normalized_edit_distance' | 'target_loglik' | 'mc_grade';

export interface EmergenceTaskSpec {
  /** label in the report */
  name: string;
  /** registry task (src/emergence/tasks) */
  task: 'copy' | 'quote-repetition';
  options: Record<string, unknown>;
  /** eval examples (capped by the task's eval space) */
  n: number;
  metrics: EmergenceMetric[];
}

/**
 * Tasks a text-trained model can be scored on without fine-tuning: continue a repeated random sequence
 * (induction / copying, Olsson et al. 2022). Quote repetition (the inverse-scaling task) was tried and left
 * out: its prompts take up to 76 tokens of the 512-token BPE, more than the quick suite's context of 64.
 */
export const EMERGENCE_TASKS: EmergenceTaskSpec[] = [
  { name: 'induction', task: 'copy', options: { mode: 'induction', length: 8, shown: 3, noise: 3, alphabet: 'letters' }, n: 64, metrics: ['exact_match', 'per_token_accuracy', 'normalized_edit_distance', 'target_loglik'] },
  { name: 'copy', task: 'copy', options: { mode: 'copy', length: 6, shown: 2, alphabet: 'letters' }, n: 64, metrics: ['exact_match', 'per_token_accuracy', 'normalized_edit_distance', 'target_loglik'] },
];

export const EMERGENCE_METRICS: Record<EmergenceMetric, { label: string; higherIsBetter: boolean; proportion: boolean }> = {
  exact_match: { label: 'exact match', higherIsBetter: true, proportion: true },
  per_token_accuracy: { label: 'per-token accuracy', higherIsBetter: true, proportion: true },
  normalized_edit_distance: { label: 'normalized edit distance', higherIsBetter: false, proportion: false },
  target_loglik: { label: 'target log-likelihood (nats)', higherIsBetter: true, proportion: false },
  mc_grade: { label: 'multiple-choice accuracy', higherIsBetter: true, proportion: true },
};

export interface EmergenceResult {
  examples: number;
  tasks: EmergenceTaskSpec[];
  /** per model and task: the metrics */
  rows: { run: string; N: number; task: string; n: number; metrics: Partial<Record<EmergenceMetric, number>> }[];
  curves: { task: string; metric: string; label: string; shape: string; reasons: string[]; points: { x: number; y: number; run: string }[] }[];
}

/** The run's BPE codec as an emergence Codec (vocab = the model's). */
export function codecFor(codec: TextCodec, model: GPT): Codec {
  return { name: codec.name, vocab: model.config.vocab, encode: (t) => codec.encode(t), decode: (ids) => codec.decode(ids) };
}

/** Every suite model on the emergence tasks; curves over N with their shape labels. */
export async function emergenceProbe(backend: Backend, store: Store, plan: SweepPlan, o: { examples: number; progress?: Progress }): Promise<EmergenceResult> {
  const runs = suiteRuns(store, plan);
  const total = runs.reduce((s, r) => s + r.fpt, 0);
  let done = 0;
  const rows: EmergenceResult['rows'] = [];
  for (const r of runs) {
    o.progress?.(`emergence tasks: ${r.id}`, done, total);
    const { model, codec } = loadRun(backend, r.dir);
    const scorer = new ModelScorer(model, { codec: codecFor(codec, model), batchSize: 32 });
    for (const t of EMERGENCE_TASKS) {
      const rep = await evaluateTask(scorer, getTask(t.task), { n: Math.min(t.n, o.examples), seed: 1, taskOptions: t.options, batchSize: 32 });
      const m = rep.metrics;
      const pp = m.per_position_accuracy ?? [], pc = m.per_position_count ?? [];
      const cnt = pc.reduce((a, b) => a + b, 0);
      const perTok = cnt > 0 ? pp.reduce((s, a, i) => s + a * pc[i]!, 0) / cnt : NaN;
      const all: Record<EmergenceMetric, number> = { exact_match: m.exact_match ?? NaN, per_token_accuracy: perTok, normalized_edit_distance: m.normalized_edit_distance ?? NaN, target_loglik: m.target_loglik ?? NaN, mc_grade: m.mc_grade ?? NaN };
      rows.push({ run: r.id, N: r.N, task: t.name, n: rep.n, metrics: Object.fromEntries(t.metrics.map((k) => [k, all[k]])) });
    }
    done += r.fpt;
  }
  o.progress?.('done', total, total);
  const curves: EmergenceResult['curves'] = [];
  for (const t of EMERGENCE_TASKS) {
    for (const key of t.metrics) {
      const mt = EMERGENCE_METRICS[key];
      const sel = rows.filter((x) => x.task === t.name && Number.isFinite(x.metrics[key]));
      const pts = sel.map((x) => ({ x: x.N, y: x.metrics[key]!, run: x.run }));
      if (pts.length < 3) continue;
      const a = analyzeCurve(sel.map((x) => ({ x: x.N, y: x.metrics[key]!, ...(mt.proportion ? { count: x.n } : {}) })), { higherIsBetter: mt.higherIsBetter });
      curves.push({ task: t.name, metric: key, label: mt.label, shape: a.shape.label + (a.shape.orientation ? ` (${a.shape.orientation})` : ''), reasons: a.shape.reasons, points: pts });
    }
  }
  return { examples: o.examples, tasks: EMERGENCE_TASKS, rows, curves };
}

// ------------------------------------------------------------------------------------------------------------
// Good-Turing extrapolation of unique memorized k-grams

export interface GoodTuringResult {
  run: string;
  k: number;
  samples: number;
  sampleTokens: number;
  temperature: number;
  /** emissions of each unique memorized k-gram */
  counts: number[];
  observed: { samples: number; unique: number }[];
  extrapolated: { samples: number; unique: number }[];
  method: string;
  indexSeconds: number;
  error: string | null;
}

/**
 * Sample the largest model (temperature 1, one-token prompts drawn from the training split), find the k-grams
 * of the samples that occur verbatim in the training split (suffix array), and extrapolate the number of unique
 * memorized k-grams to more samples with smoothed Good-Toulmin (rarefaction below the observed count).
 */
export function goodTuringProbe(backend: Backend, store: Store, plan: SweepPlan, corpus: string, o: { samples: number; k: number; newTokens: number; progress?: Progress }): GoodTuringResult {
  const runs = suiteRuns(store, plan);
  const r = runs[runs.length - 1]!;
  const sh = openShards(corpus);
  o.progress?.(`suffix array over the ${sh.trainTokens.toLocaleString()}-token training split`, 0, 3);
  const t0 = performance.now();
  const train = sh.read('train', 0, sh.trainTokens);
  const index = SuffixArrayIndex.build(Uint32Array.from(train));
  const indexSeconds = (performance.now() - t0) / 1000;
  o.progress?.(`sampling ${o.samples} sequences of ${o.newTokens} tokens from ${r.id}`, 1, 3);
  const { model } = loadRun(backend, r.dir);
  const rng = new Rng(17);
  const prompts = Array.from({ length: o.samples }, () => [train[rng.int(train.length)]!]);
  const gens: number[][] = [];
  for (let s = 0; s < prompts.length; s += 32) gens.push(...generate(model, prompts.slice(s, s + 32), { maxNewTokens: o.newTokens, temperature: 1, seed: 100 + s }).tokens);
  o.progress?.(`scanning the samples for memorized ${o.k}-grams`, 2, 3);
  // counts of memorized k-grams in the first g samples, for the observed (rarefaction-free) curve
  const observed: GoodTuringResult['observed'] = [];
  for (const g of [0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * gens.length)))) {
    observed.push({ samples: g, unique: memorizedKgramCounts(index, gens.slice(0, g), o.k).size });
  }
  const counts = [...memorizedKgramCounts(index, gens, o.k).values()];
  const n = counts.reduce((a, b) => a + b, 0);
  const base = { run: r.id, k: o.k, samples: gens.length, sampleTokens: o.newTokens, temperature: 1, counts, observed, indexSeconds };
  const method = 'smoothed Good-Toulmin (Orlitsky, Suresh & Wu 2016) on the emission counts of the unique memorized k-grams; samples ∝ emissions (Nasr et al. 2023 Fig. 4)';
  if (counts.length === 0) return { ...base, extrapolated: [], method, error: `no ${o.k}-gram of the ${gens.length} samples occurs in the training split` };
  try {
    const targets = [1, 1.5, 2, 3, 4].map((f) => f * gens.length);
    const ex = extrapolateUniques(counts, targets.map((g) => (n * g) / gens.length), { method: 'smoothed-good-toulmin' });
    o.progress?.('done', 3, 3);
    return { ...base, extrapolated: ex.map((p, i) => ({ samples: targets[i]!, unique: p.expected })), method, error: null };
  } catch (e) {
    return { ...base, extrapolated: [], method, error: (e as Error).message };
  }
}
