/**
 * Memorization experiments (model-backed), in the result format of the emergence experiments
 * (src/emergence/experiments/common.ts: `<name>.json` + CSV tables + figure descriptors).
 *
 * - `runMemorizationExperiment`: a suite of 3 model sizes trained for many epochs on a small built-in-corpus
 *   subset (SpamAssassin e-mails + State of the Union) with planted duplicated e-mails and canaries;
 *   discoverable memorization (k = l = 32) versus duplicate count and model size, precision / recall of a
 *   smaller model's memorization predicting a larger one's, and canary exposure versus copies.
 * - `runExtractionExperiment`: the Carlini 2021 attack on the suite's largest model, reference model = the
 *   smallest; precision@k of each ranking (and random) with candidates verified against the training data by
 *   the suffix-array index; Good-Turing extrapolation of unique memorized m-grams.
 *
 * The suite (corpus, runs, index) lives in a work directory and is reused by both experiments when its spec
 * and training settings are unchanged.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { parseSpec } from '../data/spec.ts';
import { buildCorpus } from '../data/build.ts';
import { openShards, type Shards } from '../data/shards.ts';
import { resolveTrainConfig } from '../train/config.ts';
import { train } from '../train/trainer.ts';
import { latestCheckpoint } from '../train/checkpoint.ts';
import { loadRun } from '../train/runs.ts';
import { countParams } from '../model/layout.ts';
import {
  ExperimentError, newResult, silent, type ExperimentResult, type FigureSpec, type Log, type Row,
} from '../emergence/experiments/common.ts';
import {
  byCopies, discoverableMemorization, plantedDuplicateSequences, sampleTrainingSequences, type TrainingSequence,
} from './discoverable.ts';
import { canaryExposures, canaryFormat } from './canaries.ts';
import { dedupeCandidates, memorizationPrecisionRecall } from './metrics.ts';
import {
  estimateUniqueMemorized, generateCandidates, planName, randomRanking, rankingPrecision, scoreCandidates, shardIndex, verifyCandidates, type Candidate, type GenerationPlan,
} from './extract.ts';

export interface ModelShape { n_layer: number; d_model: number; n_head: number }

export interface SuiteOptions {
  /** work directory: corpus/, runs/<LxD>/ */
  work?: string;
  /** model sizes, smallest first (default 1x32:2, 2x64:2, 3x96:3) */
  sizes?: ModelShape[];
  /** passes over the training tokens (default 12) */
  epochs?: number;
  /** tokens per training row = model ctx (default 64) */
  seqLen?: number;
  batch?: number;
  lr?: number;
  /** corpus bytes before planting (default 400 000) */
  targetBytes?: number;
  /** BPE vocabulary (default 512) */
  vocab?: number;
  /** duplicate counts planted (default 2,4,8,16; 2 e-mails each) */
  duplicateCounts?: number[];
  /** canary copy counts (default 0,1,2,4,8,16,32; 2 canaries each) */
  canaryCounts?: number[];
  seed?: number;
}

export const DEFAULT_SIZES: ModelShape[] = [{ n_layer: 1, d_model: 32, n_head: 2 }, { n_layer: 2, d_model: 64, n_head: 2 }, { n_layer: 3, d_model: 96, n_head: 3 }];

export interface SuiteModel { name: string; dir: string; N: number; steps: number; finalLoss: number; valLoss: number | null; seconds: number; reused: boolean }
export interface Suite { corpus: string; models: SuiteModel[]; trainTokens: number; options: Required<SuiteOptions> }

export function suiteDefaults(o: SuiteOptions): Required<SuiteOptions> {
  return {
    work: o.work ?? 'experiments/memorization-work', sizes: o.sizes ?? DEFAULT_SIZES, epochs: o.epochs ?? 12, seqLen: o.seqLen ?? 64,
    batch: o.batch ?? 16, lr: o.lr ?? 2e-3, targetBytes: o.targetBytes ?? 400_000, vocab: o.vocab ?? 512,
    duplicateCounts: o.duplicateCounts ?? [2, 4, 8, 16], canaryCounts: o.canaryCounts ?? [0, 1, 2, 4, 8, 16, 32], seed: o.seed ?? 7,
  };
}

/** The corpus spec of the suite: a small SpamAssassin + State of the Union mixture with planted copies. */
export function suiteSpec(o: Required<SuiteOptions>): unknown {
  return {
    name: 'memorization-suite', seed: o.seed,
    sources: [{ type: 'spam-assassin', weight: 0.75 }, { type: 'sotu', weight: 0.25 }],
    targetBytes: o.targetBytes, split: { valFraction: 0.05 }, dedup: true,
    tokenizer: { type: 'train', vocabSize: o.vocab, minFrequency: 2 },
    plant: {
      canaries: { format: 'my secret code is {secret}', alphabet: '0123456789', length: 9, counts: o.canaryCounts, perCount: 2 },
      duplicates: { counts: o.duplicateCounts, perCount: 2, minBytes: 500, maxBytes: 3000, sources: ['spam-assassin'] },
    },
  };
}

const shapeName = (s: ModelShape) => `${s.n_layer}x${s.d_model}`;

/** Build the corpus and train the suite (both skipped when already done with the same settings). */
export async function prepareSuite(backend: Backend, opts: SuiteOptions, log: Log = silent): Promise<Suite> {
  const o = suiteDefaults(opts);
  const corpus = join(o.work, 'corpus');
  const spec = parseSpec(suiteSpec(o), '<memorization suite spec>');
  let reuseCorpus = false;
  if (existsSync(join(corpus, 'manifest.json'))) {
    const m = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as { spec: unknown };
    reuseCorpus = JSON.stringify(m.spec) === JSON.stringify(spec.spec);
  }
  if (!reuseCorpus) {
    log(`building the corpus in ${corpus}`);
    buildCorpus(spec, corpus, { force: true });
    rmSync(join(o.work, 'runs'), { recursive: true, force: true });
  } else log(`corpus found at ${corpus}`);
  const sh = openShards(corpus);
  const trainTokens = sh.trainTokens;
  const vocab = sh.vocabSize;
  sh.close();
  const steps = Math.ceil((o.epochs * trainTokens) / (o.batch * o.seqLen));
  const models: SuiteModel[] = [];
  for (const shape of o.sizes) {
    const name = shapeName(shape);
    const dir = join(o.work, 'runs', name);
    const cfg = resolveTrainConfig({
      data: corpus, batch_size: o.batch, seq_len: o.seqLen, steps, lr: o.lr, min_lr: o.lr / 10, warmup: 50, weight_decay: 0.1,
      eval_every: 0, eval_batches: 16, checkpoint_every: 0, keep_checkpoints: 1, log_every: 50, seed: o.seed, out: dir,
      model: { ...shape, vocab, ctx: o.seqLen },
    }, `suite model ${name}`);
    const N = countParams(cfg.model).nonEmbedding;
    const last = latestCheckpoint(join(dir, 'checkpoints'));
    let same = false;
    if (last && last.step === steps && existsSync(join(dir, 'config.json'))) {
      const old = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as unknown;
      same = JSON.stringify(old) === JSON.stringify(cfg);
    }
    if (same) {
      const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number; val_loss?: number; elapsed_s: number });
      const lastLoss = [...metrics].reverse().find((m) => m.loss !== undefined)?.loss ?? NaN;
      const val = [...metrics].reverse().find((m) => m.val_loss !== undefined)?.val_loss ?? null;
      models.push({ name, dir, N, steps, finalLoss: lastLoss, valLoss: val, seconds: metrics[metrics.length - 1]?.elapsed_s ?? NaN, reused: true });
      log(`model ${name} (N = ${N}) found at ${dir}`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    log(`training ${name} (N = ${N} non-embedding) for ${steps} steps (${o.epochs} epochs of ${trainTokens} tokens)`);
    const t0 = performance.now();
    const data = openShards(corpus);
    let lastPrint = t0;
    const r = await train(backend, cfg, data, {
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastPrint > 20000) { lastPrint = now; log(`  ${name}: step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} ETA ${Math.round(p.etaS)} s`); }
      },
    });
    data.close();
    const seconds = (performance.now() - t0) / 1000;
    log(`  ${name}: final loss ${r.finalLoss.toFixed(3)}, val ${r.finalValLoss?.toFixed(3)} in ${seconds.toFixed(0)} s`);
    models.push({ name, dir, N, steps, finalLoss: r.finalLoss, valLoss: r.finalValLoss, seconds, reused: false });
  }
  return { corpus, models, trainTokens, options: o };
}

// ------------------------------------------------------------------------------------------------

export interface MemorizationExperimentOptions extends SuiteOptions {
  k?: number;
  l?: number;
  /** random training windows probed (copy count read from the manifest: 1 unless planted) */
  randomSequences?: number;
  /** windows probed per planted duplicated document */
  windowsPerDuplicate?: number;
  /** random secrets scored per model for canary exposure */
  canaryCandidates?: number;
}

export interface MemorizationOutcome {
  suite: { corpus: string; trainTokens: number; models: SuiteModel[] };
  byCopies: { model: string; N: number; copies: number; n: number; exactRate: number; meanScore: number }[];
  prediction: { small: string; large: string; precision: number; recall: number; smallMemorized: number; largeMemorized: number; both: number; n: number }[];
  canaries: { model: string; N: number; copies: number; n: number; exposure: number; exposureSampled: number }[];
  maxExposure: number;
  checks: { memorizationGrowsWithDuplicates: boolean[]; memorizationGrowsWithSize: boolean; exposureGrowsWithCopies: boolean[] };
}

/** Spearman-free monotonicity check: is the last value above the first, and are most steps non-decreasing? */
function increasing(ys: number[]): boolean {
  if (ys.length < 2) return false;
  let up = 0;
  for (let i = 1; i < ys.length; i++) if (ys[i]! >= ys[i - 1]!) up++;
  return ys[ys.length - 1]! > ys[0]! && up >= Math.ceil((ys.length - 1) / 2);
}

export async function runMemorizationExperiment(backend: Backend, opts: MemorizationExperimentOptions = {}, log: Log = silent): Promise<{ result: ExperimentResult; tables: Record<string, Row[]> }> {
  const t0 = performance.now();
  const k = opts.k ?? 32, l = opts.l ?? 32;
  const suite = await prepareSuite(backend, opts, log);
  if (k + l > suite.options.seqLen) throw new ExperimentError(`k + l = ${k + l} exceeds the models' context ${suite.options.seqLen} (--seq-len)`);
  const sh = openShards(suite.corpus);
  const seqs: TrainingSequence[] = [
    ...plantedDuplicateSequences(sh, k + l, { perDocument: opts.windowsPerDuplicate ?? 4 }),
    ...sampleTrainingSequences({ shards: sh }, opts.randomSequences ?? 256, k + l, { seed: 3 }),
  ];
  const fmt = canaryFormat(sh.manifest.spec, sh.manifest.planted.canaries);
  const byCopiesRows: MemorizationOutcome['byCopies'] = [];
  const canaryRows: MemorizationOutcome['canaries'] = [];
  const results: { model: SuiteModel; exact: boolean[] }[] = [];
  let maxExposure = NaN;
  for (const m of suite.models) {
    const { model, codec } = loadRun(backend, m.dir);
    const t1 = performance.now();
    const res = discoverableMemorization(model, seqs, { k, l });
    for (const g of byCopies(seqs, res)) byCopiesRows.push({ model: m.name, N: m.N, ...g });
    results.push({ model: m, exact: res.items.map((x) => x.exact) });
    const cr = canaryExposures(model, codec, sh.manifest.planted.canaries, fmt, { candidates: opts.canaryCandidates ?? 500, seed: 5 });
    maxExposure = cr.maxExposure;
    for (const g of cr.byCopies) canaryRows.push({ model: m.name, N: m.N, ...g });
    log(`${m.name}: exact memorization ${(100 * res.exactRate).toFixed(1)}% of ${res.n} sequences, mean score ${res.meanScore.toFixed(3)}; canaries measured (${((performance.now() - t1) / 1000).toFixed(1)} s)`);
  }
  sh.close();
  const prediction: MemorizationOutcome['prediction'] = [];
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      const s = results[i]!, L = results[j]!;
      const pr = memorizationPrecisionRecall(s.exact, L.exact);
      prediction.push({
        small: s.model.name, large: L.model.name, precision: pr.precision, recall: pr.recall,
        smallMemorized: s.exact.filter(Boolean).length, largeMemorized: L.exact.filter(Boolean).length,
        both: s.exact.filter((e, q) => e && L.exact[q]).length, n: s.exact.length,
      });
    }
  }
  const copiesList = [...new Set(byCopiesRows.map((r) => r.copies))].sort((a, b) => a - b);
  const checks = {
    memorizationGrowsWithDuplicates: suite.models.map((m) => increasing(copiesList.map((c) => byCopiesRows.find((r) => r.model === m.name && r.copies === c)?.meanScore ?? NaN))),
    memorizationGrowsWithSize: increasing(suite.models.map((m) => {
      const rows = byCopiesRows.filter((r) => r.model === m.name);
      return rows.reduce((a, r) => a + r.meanScore * r.n, 0) / rows.reduce((a, r) => a + r.n, 0);
    })),
    exposureGrowsWithCopies: suite.models.map((m) => increasing(canaryRows.filter((r) => r.model === m.name).map((r) => r.exposure))),
  };
  const outcome: MemorizationOutcome = { suite: { corpus: suite.corpus, trainTokens: suite.trainTokens, models: suite.models }, byCopies: byCopiesRows, prediction, canaries: canaryRows, maxExposure, checks };
  const figures: FigureSpec[] = [
    { id: 'memorization-vs-duplicates', title: `Discoverable memorization (k = l = ${k}) versus copies in the training data`, kind: 'line', file: 'memorization-by-copies.csv', x: 'copies', y: ['exactRate', 'meanScore'], series: 'model', xLog: true, caption: 'copies = 1: random training windows; ≥ 2: windows of planted duplicated e-mails' },
    { id: 'memorization-vs-size', title: 'Discoverable memorization versus model size (non-embedding parameters)', kind: 'line', file: 'memorization-by-copies.csv', x: 'N', y: ['meanScore'], series: 'copies', xLog: true },
    { id: 'canary-exposure', title: 'Canary exposure versus copies', kind: 'line', file: 'canaries.csv', x: 'copies', y: ['exposure'], series: 'model', hlines: [{ y: maxExposure, label: 'log2 |R| (maximum)' }] },
  ];
  const notes = [
    `suite: ${suite.models.map((m) => `${m.name} (N=${m.N}, loss ${m.finalLoss.toFixed(2)})`).join(', ')} trained ${suite.options.epochs} epochs on ${suite.trainTokens} tokens`,
    ...suite.models.map((m, i) => `${m.name}: mean Biderman score by copies ${copiesList.map((c) => `${c}: ${(byCopiesRows.find((r) => r.model === m.name && r.copies === c)?.meanScore ?? NaN).toFixed(2)}`).join(', ')} — ${checks.memorizationGrowsWithDuplicates[i] ? 'grows' : 'does not grow'} with duplicates`),
    `memorization ${checks.memorizationGrowsWithSize ? 'grows' : 'does not grow'} with model size (mean score over all probed sequences)`,
    ...suite.models.map((m, i) => `${m.name}: canary exposure by copies ${canaryRows.filter((r) => r.model === m.name).map((r) => `${r.copies}: ${r.exposure.toFixed(1)}`).join(', ')} bits (max ${maxExposure.toFixed(1)}) — ${checks.exposureGrowsWithCopies[i] ? 'grows' : 'does not grow'} with copies`),
    ...prediction.map((p) => `${p.small} → ${p.large}: precision ${p.precision.toFixed(2)}, recall ${p.recall.toFixed(2)} (${p.smallMemorized} vs ${p.largeMemorized} memorized of ${p.n})`),
  ];
  const options = { ...suite.options, k, l, randomSequences: opts.randomSequences ?? 256, windowsPerDuplicate: opts.windowsPerDuplicate ?? 4, canaryCandidates: opts.canaryCandidates ?? 500 };
  const result = newResult('memorization', backend, t0, options, outcome, figures, notes);
  return {
    result,
    tables: {
      'memorization-by-copies.csv': byCopiesRows as unknown as Row[],
      'canaries.csv': canaryRows as unknown as Row[],
      'prediction.csv': prediction as unknown as Row[],
      'suite.csv': suite.models.map((m) => ({ model: m.name, N: m.N, steps: m.steps, finalLoss: m.finalLoss, valLoss: m.valLoss, seconds: m.seconds })),
    },
  };
}

// ------------------------------------------------------------------------------------------------

export interface ExtractionExperimentOptions extends SuiteOptions {
  /** candidates per generation plan (3 plans: top-k/empty, decaying temperature/empty, top-k/held-out prompts) */
  samples?: number;
  /** generated tokens per candidate (default: the context minus the longest prompt) */
  length?: number;
  /** verification match lengths; the first is the main one (default 50, 32) */
  m?: number[];
  /** precision@k for each k; the first is the main one (default 100, 25, 10) */
  k?: number[];
  dedup?: 'exact' | 'trigram' | 'none';
}

export interface ExtractionOutcome {
  target: string;
  reference: string;
  generations: number;
  candidates: number;
  perPlan: { plan: string; generations: number; memorized: Record<string, number> }[];
  /** per m: memorized candidates, base rate, precision@k of each ranking */
  byM: { m: number; memorized: number; baseRate: number; fractionTokensMemorized: number; precision: { ranking: string; k: number; hits: number; precision: number; ceiling: number }[] }[];
  uniques: ReturnType<typeof estimateUniqueMemorized> | null;
  top: { ranking: string; text: string; memorized: boolean; longestMatch: number }[];
}

export async function runExtractionExperiment(backend: Backend, opts: ExtractionExperimentOptions = {}, log: Log = silent): Promise<{ result: ExperimentResult; tables: Record<string, Row[]> }> {
  const t0 = performance.now();
  const suite = await prepareSuite(backend, opts, log);
  const ms = opts.m ?? [50, 32];
  const Ks = opts.k ?? [100, 25, 10];
  const K = Ks[0]!;
  const samples = opts.samples ?? 800;
  const maxPrompt = 10;
  const length = opts.length ?? suite.options.seqLen - maxPrompt;
  if (ms.some((m) => m > length)) throw new ExperimentError(`--m: match length ${Math.max(...ms)} exceeds the generation length ${length}`);
  const targetM = suite.models[suite.models.length - 1]!, refM = suite.models[0]!;
  const target = loadRun(backend, targetM.dir), ref = loadRun(backend, refM.dir);
  const sh: Shards = openShards(suite.corpus);
  const eot = sh.eotId;
  const val = sh.valTokensArray().filter((t) => t !== eot);
  const plans: GenerationPlan[] = [
    { strategy: { kind: 'top-k', k: 40 }, prompts: { kind: 'empty', bos: eot }, samples, length, seed: 1 },
    { strategy: { kind: 'decaying-temperature' }, prompts: { kind: 'empty', bos: eot }, samples, length, seed: 2 },
    { strategy: { kind: 'top-k', k: 40 }, prompts: { kind: 'text', tokens: val, minLength: 5, maxLength: maxPrompt, name: 'held-out-prompts' }, samples, length, seed: 3 },
  ];
  const all: Candidate[] = [];
  for (const p of plans) {
    const t1 = performance.now();
    all.push(...generateCandidates(target.model, p));
    log(`generated ${p.samples} × ${length} tokens with ${planName(p)} in ${((performance.now() - t1) / 1000).toFixed(0)} s`);
  }
  const t2 = performance.now();
  const index = shardIndex(sh);
  sh.close();
  const vers = ms.map((m) => verifyCandidates(index, all, m));
  log(`indexed ${index.nTokens} training tokens and verified ${all.length} candidates in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
  const kept = opts.dedup === 'none' ? all.map((_, i) => i) : dedupeCandidates(all.map((c) => c.tokens), { mode: opts.dedup ?? 'trigram' });
  const cands = kept.map((i) => all[i]!);
  const t3 = performance.now();
  const scores = scoreCandidates(target.model, cands, { codec: target.codec, reference: { model: ref.model, codec: ref.codec } });
  log(`scored ${cands.length} deduplicated candidates (target, reference, lowercase) in ${((performance.now() - t3) / 1000).toFixed(0)} s`);
  const byM: ExtractionOutcome['byM'] = ms.map((m, j) => {
    const labels = kept.map((i) => vers[j]![i]!.memorized);
    let cov = 0, tot = 0;
    all.forEach((c, i) => { cov += vers[j]![i]!.fractionMemorized * c.tokens.length; tot += c.tokens.length; });
    const M = labels.filter(Boolean).length;
    // ceiling: the best any ranking can do at k (all memorized candidates first)
    const precision = Ks.flatMap((k) => rankingPrecision(scores, labels, k, { seed: 17 }).map((p) => ({ ...p, ceiling: Math.min(M, p.k) / p.k })));
    return { m, memorized: M, baseRate: M / labels.length, fractionTokensMemorized: cov / tot, precision };
  });
  const perPlan = plans.map((p) => {
    const name = planName(p);
    const idx = all.map((c, i) => (c.plan === name ? i : -1)).filter((i) => i >= 0);
    return { plan: name, generations: idx.length, memorized: Object.fromEntries(ms.map((m, j) => [`m${m}`, idx.filter((i) => vers[j]![i]!.memorized).length])) };
  });
  // Good-Turing on the main m's memorized m-gram emissions
  const m0 = ms[0]!;
  const counts = new Map<string, number>();
  vers[0]!.forEach((v, i) => { for (const s of v.kgramStarts) { const key = all[i]!.tokens.slice(s, s + m0).join(','); counts.set(key, (counts.get(key) ?? 0) + 1); } });
  let uniques: ExtractionOutcome['uniques'] = null;
  if (counts.size > 0) {
    const G = all.length;
    uniques = estimateUniqueMemorized([...counts.values()], G, [0.25, 0.5, 0.75, 1, 2, 4, 8].map((f) => Math.round(f * G)));
  }
  const labels0 = kept.map((i) => vers[0]![i]!.memorized);
  const top: ExtractionOutcome['top'] = [];
  for (const metric of ['zlibRatio', 'referenceRatio', 'perplexity'] as const) {
    const dir = metric === 'perplexity' ? 1 : -1;
    const order = scores.map((_, i) => i).sort((a, b) => dir * (scores[a]![metric] - scores[b]![metric]) || a - b).slice(0, 3);
    for (const i of order) top.push({ ranking: metric, text: target.codec.decode(cands[i]!.tokens), memorized: labels0[i]!, longestMatch: vers[0]![kept[i]!]!.longestMatch });
  }
  const outcome: ExtractionOutcome = { target: targetM.name, reference: refM.name, generations: all.length, candidates: cands.length, perPlan, byM, uniques, top };
  const precisionRows: Row[] = byM.flatMap((b) => b.precision.map((p) => ({ m: b.m, ranking: p.ranking, k: p.k, hits: p.hits, precision: p.precision, ceiling: p.ceiling, baseRate: b.baseRate })));
  const mainRows = precisionRows.filter((r) => r.k === Math.min(K, cands.length));
  const candidateRows: Row[] = cands.map((c, i) => ({ plan: c.plan, ...Object.fromEntries(ms.map((m, j) => [`memorized_m${m}`, vers[j]![kept[i]!]!.memorized])), longestMatch: vers[0]![kept[i]!]!.longestMatch, ...scores[i]! }));
  // the scatter plots every memorized candidate (shortest m) and a seeded sample of 400 others
  const lastM = `memorized_m${ms[ms.length - 1]}`;
  const others = randomRanking(candidateRows.length, 23).filter((i) => !candidateRows[i]![lastM]).slice(0, 400);
  const keepRows = new Set([...candidateRows.map((r, i) => (r[lastM] ? i : -1)).filter((i) => i >= 0), ...others]);
  const scatterRows = candidateRows.filter((_, i) => keepRows.has(i));
  const uniqueRows: Row[] = uniques ? uniques.curve.map((p) => ({ generations: p.generations, expectedUnique: p.expected, extrapolated: p.extrapolated })) : [];
  const figures: FigureSpec[] = [
    { id: 'extraction-precision', title: `Extraction precision@${K} by ranking (${targetM.name}, reference ${refM.name})`, kind: 'bar', file: 'precision-main.csv', x: 'ranking', y: ['precision'], facet: 'm', caption: 'ceiling = min(memorized, k)/k: the precision of a perfect ranking' },
    { id: 'extraction-scores', title: 'zlib ratio versus perplexity (all memorized candidates, 400 others sampled)', kind: 'scatter', file: 'candidates-sample.csv', x: 'perplexity', y: ['zlibRatio'], series: `memorized_m${ms[ms.length - 1]}`, xLog: true },
  ];
  if (uniqueRows.length) figures.push({ id: 'unique-memorized', title: `Unique memorized ${m0}-grams versus generations (Good-Turing beyond ${all.length})`, kind: 'line', file: 'uniques.csv', x: 'generations', y: ['expectedUnique'], markers: [{ x: all.length, label: 'observed' }] });
  const fmt = (p: { ranking: string; precision: number; hits: number }) => `${p.ranking} ${p.precision.toFixed(2)} (${p.hits})`;
  const atK = (b: ExtractionOutcome['byM'][number], k: number) => b.precision.filter((p) => p.k === Math.min(k, cands.length));
  const notes = [
    `${all.length} generations of ${length} tokens from ${targetM.name}; ${cands.length} after ${opts.dedup ?? 'trigram'} deduplication`,
    ...byM.flatMap((b) => Ks.map((k) => `m = ${b.m}: ${b.memorized} memorized candidates (base rate ${(100 * b.baseRate).toFixed(1)}%, ${(100 * b.fractionTokensMemorized).toFixed(1)}% of generated tokens); precision@${k} (ceiling ${atK(b, k)[0]?.ceiling.toFixed(2)}): ${atK(b, k).map(fmt).join(', ')}`)),
    ...byM.flatMap((b) => Ks.map((k) => {
      const p = (r: string) => atK(b, k).find((x) => x.ranking === r)?.precision ?? NaN;
      const cmp = (a: number, c: number) => (a > c ? 'beats' : a === c ? 'ties' : 'is below');
      return `m = ${b.m}, k = ${k}: zlib ${cmp(p('zlibRatio'), p('perplexity'))} perplexity and ${cmp(p('zlibRatio'), p('random'))} random; reference ratio ${cmp(p('referenceRatio'), p('perplexity'))} perplexity and ${cmp(p('referenceRatio'), p('random'))} random`;
    })),
    uniques ? `${uniques.uniqueObserved} unique memorized ${m0}-grams from ${uniques.emissions} emissions; Good-Turing missing mass ${uniques.missingMass.toFixed(3)}; extrapolated to ${8 * all.length} generations: ${uniques.curve[uniques.curve.length - 1]!.expected.toFixed(0)}` : `no memorized ${m0}-grams: nothing to extrapolate`,
  ];
  const options = { ...suite.options, samples, length, m: ms, k: Ks, dedup: opts.dedup ?? 'trigram', plans: plans.map(planName) };
  return {
    result: newResult('extraction', backend, t0, options, outcome, figures, notes),
    tables: { 'precision.csv': precisionRows, 'precision-main.csv': mainRows, 'candidates.csv': candidateRows, 'candidates-sample.csv': scatterRows, 'uniques.csv': uniqueRows, 'per-plan.csv': perPlan.map((p) => ({ plan: p.plan, generations: p.generations, ...p.memorized })) },
  };
}

