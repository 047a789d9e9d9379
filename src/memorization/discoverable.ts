/**
 * Discoverable memorization (Carlini et al. 2022; Biderman et al. 2023): prompt a model with the first k tokens
 * of a training sequence, greedy-decode l tokens (batched through the KV cache) and compare them with the true
 * continuation. Per sequence: the Biderman score (share of the l target tokens reproduced position-wise) and
 * exact memorization (score = 1). Pythia uses k = l = 32, the defaults here.
 *
 * Also: sampling of training sequences that stay inside one document (from a shard directory or a token array
 * with document starts), windows of the planted duplicated documents of a built corpus, and the precision /
 * recall of a smaller model's memorization as a predictor of a larger model's.
 */
import type { GPT } from '../model/gpt.ts';
import { generate } from '../train/generate.ts';
import { Rng } from '../engine/rng.ts';
import type { Shards } from '../data/shards.ts';
import { bidermanScore, memorizationPrecisionRecall, type PrecisionRecall } from './metrics.ts';
import { normalizeDocStarts } from './corpus.ts';

export class MemorizationDriverError extends Error {
  override name = 'MemorizationDriverError';
}

export interface DiscoverableOptions {
  /** prompt tokens (default 32) */
  k?: number;
  /** generated / compared tokens (default 32) */
  l?: number;
  /** sequences decoded together through one KV cache (default 32) */
  batchSize?: number;
}

export interface DiscoverableItem {
  /** Biderman score: share of the l target tokens reproduced at their positions */
  score: number;
  /** score = 1 */
  exact: boolean;
  /** the greedy continuation */
  generated: number[];
}

export interface DiscoverableResult {
  k: number;
  l: number;
  n: number;
  /** share of sequences exactly memorized */
  exactRate: number;
  /** mean Biderman score */
  meanScore: number;
  items: DiscoverableItem[];
}

/** A training sequence to probe: its tokens (at least k + l) and where it came from. */
export interface TrainingSequence {
  tokens: ArrayLike<number>;
  /** token offset in the training split (when known) */
  offset?: number;
  /** copies of this sequence's document in the training data (1 for an ordinary document) */
  copies?: number;
  /** free-form label (e.g. the planted document id) */
  label?: string;
}

function checkKL(k: number, l: number, ctx: number | null): void {
  if (!Number.isInteger(k) || k < 1) throw new MemorizationDriverError(`k (prompt tokens) must be an integer ≥ 1, got ${k}`);
  if (!Number.isInteger(l) || l < 1) throw new MemorizationDriverError(`l (continuation tokens) must be an integer ≥ 1, got ${l}`);
  if (ctx !== null && k + l > ctx) throw new MemorizationDriverError(`k + l = ${k + l} exceeds the model context ${ctx} (lower k or l)`);
}

/**
 * Greedy-decode l tokens after the first k tokens of every sequence and score them against tokens [k, k + l).
 * Every sequence must hold at least k + l tokens.
 */
export function discoverableMemorization(model: GPT, sequences: readonly (ArrayLike<number> | TrainingSequence)[], o: DiscoverableOptions = {}): DiscoverableResult {
  const k = o.k ?? 32, l = o.l ?? 32, B = o.batchSize ?? 32;
  checkKL(k, l, model.config.positions === 'learned' ? model.config.ctx : null);
  if (!Number.isInteger(B) || B < 1) throw new MemorizationDriverError(`batchSize must be an integer ≥ 1, got ${B}`);
  const seqs = sequences.map((s, i) => {
    const t = 'tokens' in s ? (s as TrainingSequence).tokens : (s as ArrayLike<number>);
    if (t.length < k + l) throw new MemorizationDriverError(`sequence #${i} has ${t.length} tokens; k + l = ${k + l} are needed`);
    for (let j = 0; j < k + l; j++) if (!(t[j]! >= 0 && t[j]! < model.config.vocab)) throw new MemorizationDriverError(`sequence #${i}: token ${t[j]} at position ${j} is outside the model vocabulary [0, ${model.config.vocab})`);
    return t;
  });
  const items: DiscoverableItem[] = [];
  for (let s = 0; s < seqs.length; s += B) {
    const group = seqs.slice(s, s + B);
    const g = generate(model, group.map((t) => Array.from({ length: k }, (_, j) => t[j]!)), { maxNewTokens: l, temperature: 0 });
    group.forEach((t, b) => {
      const target = Array.from({ length: l }, (_, j) => t[k + j]!);
      const score = bidermanScore(target, g.tokens[b]!);
      items.push({ score, exact: score === 1, generated: g.tokens[b]! });
    });
  }
  const n = items.length;
  return {
    k, l, n,
    exactRate: n ? items.filter((x) => x.exact).length / n : NaN,
    meanScore: n ? items.reduce((a, x) => a + x.score, 0) / n : NaN,
    items,
  };
}

/**
 * Precision / recall of "the small model memorized the sequence" as a predictor of "the large model did"
 * (Biderman et al. 2023). Both results must come from the same sequences in the same order.
 */
export function smallPredictsLarge(small: DiscoverableResult, large: DiscoverableResult): PrecisionRecall {
  if (small.n !== large.n) throw new MemorizationDriverError(`smallPredictsLarge: the results cover ${small.n} and ${large.n} sequences; probe both models on the same sequences`);
  return memorizationPrecisionRecall(small.items.map((x) => x.exact), large.items.map((x) => x.exact));
}

/** Where training sequences are sampled from: a token array with document starts, or a shard directory. */
export type SequenceSource =
  | { tokens: ArrayLike<number>; docStarts?: ArrayLike<number> }
  | { shards: Shards };

/**
 * Sample n windows of `length` tokens uniformly among all windows lying inside one document (so no window
 * contains a document separator). Distinct offsets; seeded. From shards, a window inside a planted duplicate
 * or canary carries that document's copy count (others: 1).
 */
export function sampleTrainingSequences(source: SequenceSource, n: number, length: number, o: { seed?: number } = {}): TrainingSequence[] {
  if (!Number.isInteger(n) || n < 0) throw new MemorizationDriverError(`sample count must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(length) || length < 1) throw new MemorizationDriverError(`sequence length must be a positive integer, got ${length}`);
  let starts: ArrayLike<number>;
  let read: (off: number, len: number) => ArrayLike<number>;
  let docLen: (d: number) => number;
  const copiesOf = new Map<number, number>();
  if ('shards' in source) {
    const sh = source.shards;
    const offs = sh.documentOffsets('train');
    // planted duplicates and canaries: every copy's document index maps to the copy count
    for (const d of sh.manifest.planted.duplicates) for (const i of d.docIndices) copiesOf.set(i, d.count);
    for (const c of sh.manifest.planted.canaries) for (const i of c.docIndices) copiesOf.set(i, c.count);
    starts = offs;
    read = (off, len) => sh.read('train', off, len);
    docLen = (d) => offs[d + 1]! - offs[d]! - 1; // the trailing <|endoftext|> is not part of the document
  } else {
    const s = normalizeDocStarts(source.tokens.length, source.docStarts);
    starts = s;
    read = (off, len) => Array.from({ length: len }, (_, j) => source.tokens[off + j]!);
    docLen = (d) => s[d + 1]! - s[d]!;
  }
  const D = starts.length - 1;
  const cum = new Float64Array(D + 1);
  for (let d = 0; d < D; d++) cum[d + 1] = cum[d]! + Math.max(0, docLen(d) - length + 1);
  const total = cum[D]!;
  if (n > 0 && total === 0) throw new MemorizationDriverError(`no document holds ${length} tokens; lower the sequence length (k + l)`);
  if (n > total) throw new MemorizationDriverError(`asked for ${n} distinct windows of ${length} tokens, only ${total} exist`);
  const rng = new Rng(o.seed ?? 0);
  const seen = new Set<number>();
  const out: TrainingSequence[] = [];
  while (out.length < n) {
    const u = rng.int(total);
    // document d with cum[d] <= u < cum[d+1]
    let lo = 0, hi = D - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cum[mid]! <= u) lo = mid; else hi = mid - 1;
    }
    const off = starts[lo]! + (u - cum[lo]!);
    if (seen.has(off)) continue;
    seen.add(off);
    out.push({ tokens: read(off, length), offset: off, copies: copiesOf.get(lo) ?? 1 });
  }
  return out.sort((a, b) => a.offset! - b.offset!);
}

/**
 * Windows of the planted duplicated documents of a built corpus (manifest `planted.duplicates`): up to
 * `perDocument` non-overlapping windows of `length` tokens from the first copy of each document, labelled with
 * the document's copy count.
 */
export function plantedDuplicateSequences(sh: Shards, length: number, o: { perDocument?: number } = {}): TrainingSequence[] {
  const per = o.perDocument ?? 1;
  const out: TrainingSequence[] = [];
  for (const d of sh.manifest.planted.duplicates) {
    const off = d.tokenOffsets[0];
    if (off === undefined) continue;
    const windows = Math.min(per, Math.floor(d.tokens / length));
    for (let w = 0; w < windows; w++) out.push({ tokens: sh.read('train', off + w * length, length), offset: off + w * length, copies: d.count, label: `${d.source}:${d.docId}#${w}` });
  }
  return out;
}

/** Group discoverable results by the copy count of their sequences. */
export function byCopies(seqs: readonly TrainingSequence[], res: DiscoverableResult): { copies: number; n: number; exactRate: number; meanScore: number }[] {
  if (seqs.length !== res.n) throw new MemorizationDriverError(`byCopies: ${seqs.length} sequences vs ${res.n} results`);
  const groups = new Map<number, DiscoverableItem[]>();
  seqs.forEach((s, i) => {
    const c = s.copies ?? 1;
    (groups.get(c) ?? groups.set(c, []).get(c)!).push(res.items[i]!);
  });
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([copies, it]) => ({
    copies, n: it.length,
    exactRate: it.filter((x) => x.exact).length / it.length,
    meanScore: it.reduce((a, x) => a + x.score, 0) / it.length,
  }));
}
