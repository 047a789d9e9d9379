/**
 * Training-data extraction attack (Carlini et al. 2021), model-backed:
 *  1. generate candidates: top-k (k = 40), top-p, or a decaying temperature (T(t) = 10 → 1 over the first 20
 *     tokens, then 1), each from an empty prompt (a single <|endoftext|> / BOS token) or from short prompts cut
 *     out of a text the model was not trained on;
 *  2. deduplicate (exact, or Carlini's trigram-overlap rule);
 *  3. rank with the membership metrics of metrics.ts: perplexity, ratio to a reference model's perplexity,
 *     zlib ratio, lowercase ratio, minimum sliding-window perplexity;
 *  4. verify every candidate against the training data with the suffix-array index (memorized iff it contains
 *     a ≥ m-token substring of one training document; m = 50 by default, Nasr et al. 2023);
 *  5. precision@k of every ranking, and of a seeded random ranking as the baseline.
 * The unique memorized m-grams of all generations (before deduplication) and their emission counts are kept
 * for Good-Turing extrapolation (`estimateUniqueMemorized`).
 */
import type { GPT } from '../model/gpt.ts';
import { generate, scoreContinuations, type SampleOptions } from '../train/generate.ts';
import type { TextCodec } from '../train/runs.ts';
import { Rng } from '../engine/rng.ts';
import type { Shards } from '../data/shards.ts';
import {
  CARLINI_TEMPERATURE, RANK_DIRECTION, decayingTemperature, dedupeCandidates, logPerplexity, minWindowPerplexity, precisionAtK,
  zlibEntropy, type TemperatureSchedule,
} from './metrics.ts';
import { SuffixArrayIndex } from './index-file.ts';
import { frequencyOfFrequencies, missingMass, simpleGoodTuring, uniquesVersusGenerations, type ExtrapolationMethod } from './good-turing.ts';
import { MemorizationDriverError } from './discoverable.ts';

/** How candidates are sampled. */
export type SamplingStrategy =
  | { kind: 'top-k'; k?: number; temperature?: number }
  | { kind: 'top-p'; p?: number; temperature?: number }
  | { kind: 'decaying-temperature'; schedule?: TemperatureSchedule };

/** Where prompts come from: one BOS token, or random windows of a text the model was not trained on. */
export type PromptSource =
  | { kind: 'empty'; bos: number }
  | { kind: 'text'; tokens: ArrayLike<number>; minLength?: number; maxLength?: number; name?: string };

export interface GenerationPlan {
  strategy: SamplingStrategy;
  prompts: PromptSource;
  /** candidates to generate */
  samples: number;
  /** generated tokens per candidate */
  length: number;
  batchSize?: number;
  seed?: number;
}

export interface Candidate {
  /** which plan produced it (e.g. "top-k/empty") */
  plan: string;
  prompt: number[];
  tokens: number[];
}

export function strategyName(s: SamplingStrategy): string {
  if (s.kind === 'top-k') return `top-k${s.k ?? 40}`;
  if (s.kind === 'top-p') return `top-p${s.p ?? 0.95}`;
  return 'decaying-temperature';
}

export function planName(p: GenerationPlan): string {
  return `${strategyName(p.strategy)}/${p.prompts.kind === 'empty' ? 'empty' : (p.prompts.name ?? 'text')}`;
}

function sampleOptions(s: SamplingStrategy, length: number, seed: number): SampleOptions {
  if (s.kind === 'top-k') {
    const k = s.k ?? 40;
    if (!Number.isInteger(k) || k < 1) throw new MemorizationDriverError(`top-k: k must be an integer ≥ 1, got ${k}`);
    return { maxNewTokens: length, temperature: s.temperature ?? 1, topK: k, seed };
  }
  if (s.kind === 'top-p') {
    const p = s.p ?? 0.95;
    if (!(p > 0 && p <= 1)) throw new MemorizationDriverError(`top-p: p must be in (0, 1], got ${p}`);
    return { maxNewTokens: length, temperature: s.temperature ?? 1, topP: p, seed };
  }
  const sched = s.schedule ?? CARLINI_TEMPERATURE;
  return { maxNewTokens: length, temperature: (t: number) => decayingTemperature(t, sched), seed };
}

/** Sample candidates from a model according to a plan (batched through the KV cache; seeded). */
export function generateCandidates(model: GPT, plan: GenerationPlan): Candidate[] {
  const { samples, length } = plan;
  if (!Number.isInteger(samples) || samples < 0) throw new MemorizationDriverError(`samples must be a non-negative integer, got ${samples}`);
  if (!Number.isInteger(length) || length < 1) throw new MemorizationDriverError(`generation length must be a positive integer, got ${length}`);
  const B = plan.batchSize ?? 32;
  const seed = plan.seed ?? 0;
  const rng = new Rng(seed * 2654435761 + 7);
  const ps = plan.prompts;
  let maxPrompt = 1;
  const prompt = (): number[] => {
    if (ps.kind === 'empty') return [ps.bos];
    const lo = ps.minLength ?? 5, hi = ps.maxLength ?? 10;
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo)) throw new MemorizationDriverError(`prompt lengths must be integers with 1 ≤ min ≤ max, got ${lo}..${hi}`);
    if (ps.tokens.length < hi) throw new MemorizationDriverError(`the prompt text has ${ps.tokens.length} tokens; prompts of up to ${hi} are needed`);
    const len = lo + rng.int(hi - lo + 1);
    const off = rng.int(ps.tokens.length - len + 1);
    return Array.from({ length: len }, (_, j) => ps.tokens[off + j]!);
  };
  if (ps.kind === 'text') maxPrompt = ps.maxLength ?? 10;
  if (model.config.positions === 'learned' && maxPrompt + length > model.config.ctx) {
    throw new MemorizationDriverError(`prompt (${maxPrompt}) + generation length (${length}) exceeds the model context ${model.config.ctx}; lower the generation length`);
  }
  const name = planName(plan);
  const out: Candidate[] = [];
  for (let s = 0, batch = 0; s < samples; s += B, batch++) {
    const prompts = Array.from({ length: Math.min(B, samples - s) }, prompt);
    const g = generate(model, prompts, sampleOptions(plan.strategy, length, seed * 100003 + batch));
    prompts.forEach((p, b) => out.push({ plan: name, prompt: p, tokens: g.tokens[b]! }));
  }
  return out;
}

/** Membership scores of one candidate (see metrics.ts for the definitions and RANK_DIRECTION). */
export interface CandidateScores {
  perplexity: number;
  referenceRatio: number;
  zlibRatio: number;
  lowercaseRatio: number;
  minWindowPerplexity: number;
}

export const METRICS = ['perplexity', 'referenceRatio', 'zlibRatio', 'lowercaseRatio', 'minWindowPerplexity'] as const;
export type MetricName = (typeof METRICS)[number];

export interface ScoreOptions {
  /** the target's codec: needed for the zlib and lowercase metrics (NaN without it) */
  codec?: TextCodec;
  /** reference model; its codec when its tokenizer differs from the target's (the text is re-encoded) */
  reference?: { model: GPT; codec?: TextCodec };
  /** sliding window of minWindowPerplexity (default 50 tokens; shorter candidates are one window) */
  window?: number;
  batchSize?: number;
}

function safeLogPpl(lp: number[]): number {
  return lp.length ? logPerplexity(lp.map((x) => Math.min(0, x))) : NaN;
}

/** Score every candidate with the target model (and the reference model / codec when given). */
export function scoreCandidates(target: GPT, cands: readonly Candidate[], o: ScoreOptions = {}): CandidateScores[] {
  const bs = o.batchSize ?? 32;
  const lp = scoreContinuations(target, cands.map((c) => ({ context: c.prompt, continuation: c.tokens })), bs);
  const logPpl = lp.map(safeLogPpl);
  let refLogPpl: number[] = cands.map(() => NaN);
  if (o.reference) {
    const ref = o.reference;
    const reencode = ref.codec !== undefined && o.codec !== undefined && ref.codec.name !== o.codec.name;
    const pairs = cands.map((c) => {
      if (!reencode) return { context: c.prompt, continuation: c.tokens };
      const ctx = ref.codec!.encode(o.codec!.decode(c.prompt));
      // re-encoding can lengthen the text: keep what fits the reference's context
      const cont = ref.codec!.encode(o.codec!.decode(c.tokens)).slice(0, ref.model.config.ctx);
      return ctx.length ? { context: ctx, continuation: cont } : { context: cont.slice(0, 1), continuation: cont.slice(1) };
    });
    if (!reencode && pairs.some((p) => p.continuation.some((t) => t >= ref.model.config.vocab) || p.context.some((t) => t >= ref.model.config.vocab))) {
      throw new MemorizationDriverError(`the reference model's vocabulary (${ref.model.config.vocab}) does not cover the target's tokens; give the reference model's codec so the text is re-encoded`);
    }
    refLogPpl = scoreContinuations(ref.model, pairs, bs).map(safeLogPpl);
  }
  let lowerLogPpl: number[] = cands.map(() => NaN);
  let zlib: number[] = cands.map(() => NaN);
  if (o.codec) {
    const codec = o.codec;
    const texts = cands.map((c) => codec.decode(c.tokens));
    zlib = texts.map((t) => zlibEntropy(t));
    // lowercased text usually needs more tokens: keep what fits the context
    const lower = texts.map((t) => codec.encode(t.toLowerCase()).filter((x) => x < target.config.vocab).slice(0, target.config.ctx));
    lowerLogPpl = scoreContinuations(target, cands.map((c, i) => ({ context: c.prompt, continuation: lower[i]! })), bs).map(safeLogPpl);
  }
  const window = o.window ?? 50;
  return cands.map((_, i) => ({
    perplexity: Math.exp(logPpl[i]!),
    referenceRatio: refLogPpl[i]! / logPpl[i]!,
    zlibRatio: zlib[i]! / logPpl[i]!,
    lowercaseRatio: lowerLogPpl[i]! / logPpl[i]!,
    minWindowPerplexity: lp[i]!.length ? minWindowPerplexity(lp[i]!.map((x) => Math.min(0, x)), window) : NaN,
  }));
}

export interface Verification {
  /** contains a ≥ m-token substring of one training document */
  memorized: boolean;
  /** share of tokens inside such a match */
  fractionMemorized: number;
  /** longest training match starting anywhere in the candidate */
  longestMatch: number;
  /** start offsets of the memorized m-grams */
  kgramStarts: number[];
}

/** Verify candidates against the training data (suffix-array index): memorized iff a ≥ m-token match exists. */
export function verifyCandidates(index: SuffixArrayIndex, cands: readonly { tokens: ArrayLike<number> }[], m = 50): Verification[] {
  if (!Number.isInteger(m) || m < 1) throw new MemorizationDriverError(`minimum match length m must be an integer ≥ 1, got ${m}`);
  return cands.map((c) => {
    const scan = index.scanMemorized(c.tokens, m);
    let longest = 0;
    for (const v of scan.longest) longest = Math.max(longest, v);
    return { memorized: scan.kgramStarts.length > 0, fractionMemorized: scan.fractionMemorized, longestMatch: longest, kgramStarts: scan.kgramStarts };
  });
}

/** Seeded random permutation of 0..n-1 (Fisher-Yates). */
export function randomRanking(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export interface RankingPrecision {
  ranking: MetricName | 'random';
  k: number;
  /** memorized candidates among the top k */
  hits: number;
  precision: number;
}

/**
 * precision@k of every metric's ranking, plus a seeded random ranking (the base rate's estimate). Metrics whose
 * scores are all NaN (e.g. referenceRatio without a reference model) are left out.
 */
export function rankingPrecision(scores: readonly CandidateScores[], labels: readonly boolean[], k: number, o: { seed?: number; metrics?: readonly MetricName[] } = {}): RankingPrecision[] {
  if (scores.length !== labels.length) throw new MemorizationDriverError(`rankingPrecision: ${scores.length} scores vs ${labels.length} labels`);
  const kk = Math.min(k, scores.length);
  const out: RankingPrecision[] = [];
  for (const m of o.metrics ?? METRICS) {
    const s = scores.map((x) => x[m]);
    if (s.every((v) => Number.isNaN(v))) continue;
    const p = precisionAtK(s, labels, k, RANK_DIRECTION[m]);
    out.push({ ranking: m, k: kk, hits: Math.round(p * kk), precision: p });
  }
  const order = randomRanking(scores.length, o.seed ?? 0);
  let hits = 0;
  for (let i = 0; i < kk; i++) if (labels[order[i]!]) hits++;
  out.push({ ranking: 'random', k: kk, hits, precision: kk ? hits / kk : NaN });
  return out;
}

/** Whole-training-split suffix-array index of a shard directory (documents as boundaries). */
export function shardIndex(sh: Shards): SuffixArrayIndex {
  const n = sh.trainTokens;
  const all = sh.read('train', 0, n);
  const tokens = sh.dtype === 'uint16' ? Uint16Array.from(all) : Uint32Array.from(all);
  const offs = sh.documentOffsets('train');
  return SuffixArrayIndex.build(tokens, Array.from(offs.subarray(0, offs.length - 1)));
}

export interface ExtractionOptions {
  plans: GenerationPlan[];
  /** verification: minimum training match (default 50 tokens) */
  m?: number;
  /** precision@k (default 100) */
  k?: number;
  dedup?: 'exact' | 'trigram' | 'none';
  seed?: number;
  score?: ScoreOptions;
  /** keep this many top candidates of each ranking in the report (default 10) */
  keepTop?: number;
  log?: (s: string) => void;
}

export interface ExtractionReport {
  m: number;
  k: number;
  generations: number;
  generatedTokens: number;
  /** after deduplication */
  candidates: number;
  dedup: string;
  /** memorized candidates after deduplication (the ceiling of every precision) */
  memorizedCandidates: number;
  baseRate: number;
  /** share of all generated tokens inside a ≥ m-token training match (Nasr et al. 2023) */
  fractionTokensMemorized: number;
  perPlan: { plan: string; generations: number; memorized: number; rate: number }[];
  precision: RankingPrecision[];
  /** emission counts of every unique memorized m-gram over all generations (Good-Turing input) */
  memorizedKgrams: { k: number; unique: number; counts: number[] };
  /** top candidates of each ranking (decoded when a codec was given) */
  top: Record<string, { text?: string; tokens: number[]; score: number; memorized: boolean; longestMatch: number }[]>;
  /** every deduplicated candidate's scores and label (for re-analysis) */
  rows: ({ plan: string; memorized: boolean; longestMatch: number; fractionMemorized: number } & CandidateScores)[];
}

/** The whole attack: generate → verify all → deduplicate → score → precision@k per ranking. */
export function runExtraction(target: GPT, index: SuffixArrayIndex, o: ExtractionOptions): ExtractionReport {
  const m = o.m ?? 50, k = o.k ?? 100;
  const log = o.log ?? (() => {});
  const all: Candidate[] = [];
  for (const p of o.plans) {
    if (p.length < m) throw new MemorizationDriverError(`generation length ${p.length} (${planName(p)}) is shorter than the verification match length m = ${m}; nothing could be verified as memorized`);
    const t0 = performance.now();
    const c = generateCandidates(target, p);
    all.push(...c);
    log(`generated ${c.length} × ${p.length} tokens (${planName(p)}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const ver = verifyCandidates(index, all, m);
  const kgram = new Map<string, number>();
  ver.forEach((v, i) => {
    for (const s of v.kgramStarts) {
      const key = all[i]!.tokens.slice(s, s + m).join(',');
      kgram.set(key, (kgram.get(key) ?? 0) + 1);
    }
  });
  let coveredTokens = 0, totalTokens = 0;
  ver.forEach((v, i) => { coveredTokens += v.fractionMemorized * all[i]!.tokens.length; totalTokens += all[i]!.tokens.length; });
  const perPlan = o.plans.map((p) => {
    const name = planName(p);
    const idx = all.map((c, i) => (c.plan === name ? i : -1)).filter((i) => i >= 0);
    const mem = idx.filter((i) => ver[i]!.memorized).length;
    return { plan: name, generations: idx.length, memorized: mem, rate: idx.length ? mem / idx.length : NaN };
  });
  const dedup = o.dedup ?? 'trigram';
  const kept = dedup === 'none' ? all.map((_, i) => i) : dedupeCandidates(all.map((c) => c.tokens), { mode: dedup });
  const cands = kept.map((i) => all[i]!);
  const labels = kept.map((i) => ver[i]!.memorized);
  const t0 = performance.now();
  const scores = scoreCandidates(target, cands, o.score);
  log(`scored ${cands.length} deduplicated candidates in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const precision = rankingPrecision(scores, labels, k, { seed: o.seed ?? 0 });
  const codec = o.score?.codec;
  const top: ExtractionReport['top'] = {};
  const keepTop = o.keepTop ?? 10;
  for (const r of precision) {
    if (r.ranking === 'random') continue;
    const metric = r.ranking;
    const order = scores.map((_, i) => i).sort((a, b) => {
      const va = scores[a]![metric], vb = scores[b]![metric];
      const ka = Number.isNaN(va) ? -Infinity : RANK_DIRECTION[metric] ? va : -va;
      const kb = Number.isNaN(vb) ? -Infinity : RANK_DIRECTION[metric] ? vb : -vb;
      return kb - ka || a - b;
    });
    top[metric] = order.slice(0, keepTop).map((i) => ({
      ...(codec ? { text: codec.decode(cands[i]!.tokens) } : {}), tokens: cands[i]!.tokens, score: scores[i]![metric],
      memorized: labels[i]!, longestMatch: ver[kept[i]!]!.longestMatch,
    }));
  }
  const memorizedCandidates = labels.filter(Boolean).length;
  return {
    m, k, generations: all.length, generatedTokens: totalTokens, candidates: cands.length, dedup,
    memorizedCandidates, baseRate: cands.length ? memorizedCandidates / cands.length : NaN,
    fractionTokensMemorized: totalTokens ? coveredTokens / totalTokens : NaN,
    perPlan, precision,
    memorizedKgrams: { k: m, unique: kgram.size, counts: [...kgram.values()].sort((a, b) => b - a) },
    top,
    rows: cands.map((c, i) => ({ plan: c.plan, memorized: labels[i]!, longestMatch: ver[kept[i]!]!.longestMatch, fractionMemorized: ver[kept[i]!]!.fractionMemorized, ...scores[i]! })),
  };
}

export interface UniquesEstimate {
  generations: number;
  /** memorized m-gram emissions observed */
  emissions: number;
  uniqueObserved: number;
  /** Good-Turing missing mass N1/n: chance that the next memorized emission is a new m-gram */
  missingMass: number;
  /** slope b of the SGT log-log fit of Z_r on r (NaN when SGT cannot be fitted, e.g. one frequency class) */
  sgtSlope: number;
  curve: { generations: number; expected: number; extrapolated: boolean }[];
  method: ExtrapolationMethod;
}

/**
 * Unique memorized sequences versus number of generations (Nasr et al. 2023 Fig. 4) from the m-gram emission
 * counts of an extraction run: rarefaction below the observed number of generations, Good-Turing
 * extrapolation (smoothed Good-Toulmin by default, or the SGT power law) above it.
 */
export function estimateUniqueMemorized(counts: readonly number[], generations: number, targets: readonly number[], o: { method?: ExtrapolationMethod; conf?: number } = {}): UniquesEstimate {
  const emissions = counts.reduce((a, b) => a + b, 0);
  if (emissions === 0) throw new MemorizationDriverError('no memorized m-grams were emitted: nothing to extrapolate (generate more, or lower m)');
  const { r, n } = frequencyOfFrequencies(counts);
  let sgtSlope = NaN;
  try { sgtSlope = simpleGoodTuring(r, n, { conf: o.conf ?? 1.96 }).slope; } catch { /* too few frequency classes for the regression */ }
  const method = o.method ?? 'smoothed-good-toulmin';
  const curve = uniquesVersusGenerations([...counts], generations, targets, { method, conf: o.conf });
  return {
    generations, emissions, uniqueObserved: counts.length, missingMass: missingMass(r, n), sgtSlope,
    curve: curve.map((p) => ({ ...p, extrapolated: p.generations > generations })), method,
  };
}
