/**
 * The model-backed memorization drivers on tiny models trained to memorize: discoverable memorization,
 * extraction + suffix-array verification, precision@k of the rankings, canary exposure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackend } from '../../src/engine/index.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/init.ts';
import type { GPT } from '../../src/model/gpt.ts';
import { trainSequences } from '../../src/emergence/experiments/common.ts';
import { bytesCodec } from '../../src/train/runs.ts';
import { rng } from './helpers.ts';
import {
  MemorizationDriverError, byCopies, discoverableMemorization, sampleTrainingSequences, smallPredictsLarge,
} from '../../src/memorization/discoverable.ts';
import {
  generateCandidates, randomRanking, rankingPrecision, runExtraction, scoreCandidates, verifyCandidates, estimateUniqueMemorized, type CandidateScores,
} from '../../src/memorization/extract.ts';
import { SuffixArrayIndex } from '../../src/memorization/index-file.ts';
import { canaryExposures } from '../../src/memorization/canaries.ts';
import { uniquesVersusGenerations } from '../../src/memorization/good-turing.ts';

const backend = await createBackend('auto');
const V = 24, CTX = 48;
const BOS = 0;

/** A random sequence over tokens 1..V-1 (0 is the BOS / separator). */
function randomSeq(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => 1 + Math.floor(r() * (V - 1)));
}

/** Train a small model on rows [BOS, ...secret] until it reproduces the secret. */
async function memorizer(secret: number[], steps = 300): Promise<GPT> {
  const model = createModel(backend, resolveConfig({ n_layer: 1, n_head: 2, d_model: 32, vocab: V, ctx: CTX }), 1);
  const row = [BOS, ...secret];
  const T = row.length - 1;
  const inputs = Int32Array.from(row.slice(0, T)), targets = Int32Array.from(row.slice(1));
  await trainSequences(backend, model, { T, n: 1, inputs, targets }, { steps, batch: 4, lr: 1e-2, warmup: 10, weightDecay: 0 });
  return model;
}

const secret = randomSeq(40, 11);
const model = await memorizer(secret);

test('discoverable memorization finds the memorized sequence and not a fresh one', () => {
  const fresh = [BOS, ...randomSeq(40, 99)];
  const row = [BOS, ...secret]; // the training sequence
  const r = discoverableMemorization(model, [row, fresh], { k: 8, l: 16, batchSize: 2 });
  assert.equal(r.n, 2);
  assert.equal(r.items[0]!.score, 1, `memorized sequence reproduced: got ${r.items[0]!.generated} vs ${row.slice(8, 24)}`);
  assert.ok(r.items[0]!.exact);
  assert.deepEqual(r.items[0]!.generated, row.slice(8, 24));
  assert.ok(r.items[1]!.score < 0.5, `fresh sequence not reproduced (score ${r.items[1]!.score})`);
  assert.equal(r.exactRate, 0.5);
  // the score is exactly the share of positions matching, recomputed independently
  const g = r.items[1]!.generated;
  const manual = g.filter((t, i) => t === fresh[8 + i]).length / 16;
  assert.equal(r.items[1]!.score, manual);
  // batching does not change greedy results
  const one = discoverableMemorization(model, [fresh], { k: 8, l: 16, batchSize: 1 });
  assert.deepEqual(one.items[0]!.generated, g);
});

test('discoverable: errors name the problem', () => {
  assert.throws(() => discoverableMemorization(model, [secret.slice(0, 10)], { k: 8, l: 16 }), /sequence #0 has 10 tokens; k \+ l = 24/);
  assert.throws(() => discoverableMemorization(model, [secret], { k: 40, l: 16 }), /exceeds the model context 48/);
  assert.throws(() => discoverableMemorization(model, [[...secret.slice(0, 23), 99]], { k: 8, l: 16 }), MemorizationDriverError);
});

test('small-predicts-large precision/recall and grouping by copies', () => {
  const mk = (flags: boolean[]) => ({ k: 1, l: 1, n: flags.length, exactRate: 0, meanScore: 0, items: flags.map((e) => ({ exact: e, score: e ? 1 : 0.5, generated: [] })) });
  const pr = smallPredictsLarge(mk([true, true, false, false, true]), mk([true, false, false, true, true]));
  assert.equal(pr.precision, 2 / 3); // small memorized 0,1,4; large memorized among them: 0,4
  assert.equal(pr.recall, 2 / 3); // large memorized 0,3,4; small among them: 0,4
  const g = byCopies([{ tokens: [], copies: 1 }, { tokens: [], copies: 4 }, { tokens: [], copies: 1 }], mk([true, true, false]));
  assert.deepEqual(g, [{ copies: 1, n: 2, exactRate: 0.5, meanScore: 0.75 }, { copies: 4, n: 1, exactRate: 1, meanScore: 1 }]);
});

test('sampleTrainingSequences: windows stay inside one document, distinct, seeded', () => {
  const tokens = Array.from({ length: 200 }, (_, i) => i % 50);
  const starts = [0, 30, 35, 120];
  const s = sampleTrainingSequences({ tokens, docStarts: starts }, 40, 10, { seed: 3 });
  assert.equal(s.length, 40);
  const ends = [30, 35, 120, 200];
  for (const w of s) {
    let d = 0;
    while (d + 1 < starts.length && starts[d + 1]! <= w.offset!) d++;
    assert.ok(w.offset! + 10 <= ends[d]!, `window at ${w.offset} crosses the end of document ${d}`);
    assert.deepEqual(Array.from(w.tokens), tokens.slice(w.offset!, w.offset! + 10));
  }
  assert.equal(new Set(s.map((w) => w.offset)).size, 40);
  assert.deepEqual(sampleTrainingSequences({ tokens, docStarts: starts }, 40, 10, { seed: 3 }).map((w) => w.offset), s.map((w) => w.offset));
  // 21 + 0 + 76 + 71 = 168 windows exist; asking for more fails
  assert.throws(() => sampleTrainingSequences({ tokens, docStarts: starts }, 169, 10), /only 168 exist/);
  assert.equal(sampleTrainingSequences({ tokens, docStarts: starts }, 168, 10).length, 168);
});

test('extraction: sampled candidates reproduce the memorized sequence and verification finds it', () => {
  // training data: the secret as one document among random others
  const docs = [randomSeq(60, 1), [BOS, ...secret], randomSeq(60, 2)];
  const tokens = Uint16Array.from(docs.flat());
  const starts = [0, 60, 60 + secret.length + 1];
  const index = SuffixArrayIndex.build(tokens, starts);
  const rep = runExtraction(model, index, {
    plans: [
      { strategy: { kind: 'top-k', k: 3 }, prompts: { kind: 'empty', bos: BOS }, samples: 12, length: 40, seed: 1 },
      { strategy: { kind: 'decaying-temperature' }, prompts: { kind: 'empty', bos: BOS }, samples: 12, length: 40, seed: 2 },
    ],
    m: 20, k: 5, dedup: 'exact', seed: 3,
  });
  assert.equal(rep.generations, 24);
  const topk = rep.perPlan.find((p) => p.plan === 'top-k3/empty')!;
  assert.ok(topk.memorized >= 10, `top-k from BOS should mostly reproduce the memorized secret: ${topk.memorized}/12`);
  // the decaying temperature starts at T = 10: the first tokens are close to uniform, fewer memorized
  const decay = rep.perPlan.find((p) => p.plan === 'decaying-temperature/empty')!;
  assert.ok(decay.memorized <= topk.memorized);
  // exact dedup: all copies of the secret collapse into one candidate
  assert.ok(rep.candidates < rep.generations);
  assert.ok(rep.memorizedCandidates >= 1);
  // independent check of the labels: a candidate is memorized iff some 20-window occurs in a training document
  const gens = generateCandidates(model, { strategy: { kind: 'top-k', k: 3 }, prompts: { kind: 'empty', bos: BOS }, samples: 12, length: 40, seed: 1 });
  const ver = verifyCandidates(index, gens, 20);
  const docStr = docs.map((d) => ',' + d.join(',') + ',');
  gens.forEach((g, i) => {
    let brute = false;
    for (let s = 0; s + 20 <= g.tokens.length && !brute; s++) {
      const w = ',' + g.tokens.slice(s, s + 20).join(',') + ',';
      brute = docStr.some((d) => d.includes(w));
    }
    assert.equal(ver[i]!.memorized, brute, `candidate ${i}`);
  });
  // memorized m-gram emission counts feed Good-Turing
  assert.ok(rep.memorizedKgrams.unique >= 1);
  assert.equal(rep.memorizedKgrams.counts.reduce((a, b) => a + b, 0) > 0, true);
  assert.throws(() => runExtraction(model, index, { plans: [{ strategy: { kind: 'top-k' }, prompts: { kind: 'empty', bos: BOS }, samples: 1, length: 10 }], m: 20 }), /shorter than the verification match length m = 20/);
});

test('scoring: perplexity and reference ratio separate the memorized candidate', () => {
  const fresh = { plan: 'x', prompt: [BOS], tokens: randomSeq(30, 5) };
  const mem = { plan: 'x', prompt: [BOS], tokens: secret.slice(0, 30) };
  const ref = createModel(backend, resolveConfig({ n_layer: 1, n_head: 2, d_model: 32, vocab: V, ctx: CTX }), 2);
  const s = scoreCandidates(model, [fresh, mem], { reference: { model: ref } });
  assert.ok(s[1]!.perplexity < 1.5 && s[0]!.perplexity > 3, `ppl ${s[1]!.perplexity} vs ${s[0]!.perplexity}`);
  assert.ok(s[1]!.referenceRatio > s[0]!.referenceRatio);
  assert.ok(Number.isNaN(s[0]!.zlibRatio), 'zlib needs a codec');
  const p = rankingPrecision(s, [false, true], 1);
  assert.equal(p.find((r) => r.ranking === 'perplexity')!.precision, 1);
  assert.equal(p.find((r) => r.ranking === 'referenceRatio')!.precision, 1);
  assert.equal(p.find((r) => r.ranking === 'zlibRatio'), undefined, 'all-NaN metrics are left out');
});

test('rankingPrecision against hand-computed rankings; random ranking is a seeded permutation', () => {
  const sc = (ppl: number, ref: number, z: number, low: number, win: number): CandidateScores => ({ perplexity: ppl, referenceRatio: ref, zlibRatio: z, lowercaseRatio: low, minWindowPerplexity: win });
  const scores = [sc(5, 1.0, 10, 1, 5), sc(1, 2.0, 30, 3, 2), sc(2, 0.5, 20, 2, 9), sc(9, 3.0, 5, 4, 1), sc(3, 1.5, 40, 0, 3)];
  const labels = [false, true, false, true, true];
  const p = Object.fromEntries(rankingPrecision(scores, labels, 2, { seed: 4 }).map((r) => [r.ranking, r]));
  // perplexity ascending: 1 (T), 2 (F) → 1/2
  assert.equal(p.perplexity!.precision, 0.5);
  // referenceRatio descending: 3 (T), 1 (T) → 1
  assert.equal(p.referenceRatio!.precision, 1);
  // zlibRatio descending: 4 (T), 1 (T) → 1
  assert.equal(p.zlibRatio!.precision, 1);
  // lowercaseRatio descending: 3 (T), 1 (T)
  assert.equal(p.lowercaseRatio!.precision, 1);
  // minWindowPerplexity ascending: 3 (T), 1 (T)
  assert.equal(p.minWindowPerplexity!.precision, 1);
  const perm = randomRanking(5, 4);
  assert.deepEqual([...perm].sort(), [0, 1, 2, 3, 4]);
  assert.equal(p.random!.hits, [perm[0]!, perm[1]!].filter((i) => labels[i]).length);
  assert.deepEqual(randomRanking(5, 4), perm);
  // k beyond the candidates is clipped
  assert.equal(rankingPrecision(scores, labels, 100).find((r) => r.ranking === 'random')!.precision, 3 / 5);
});

test('estimateUniqueMemorized agrees with uniquesVersusGenerations and the Good-Turing missing mass', () => {
  const counts = [5, 3, 2, 1, 1, 1, 1, 2, 1];
  const e = estimateUniqueMemorized(counts, 100, [50, 100, 200]);
  assert.equal(e.uniqueObserved, 9);
  assert.equal(e.emissions, 17);
  assert.equal(e.missingMass, 5 / 17);
  const ref = uniquesVersusGenerations(counts, 100, [50, 100, 200]);
  e.curve.forEach((p, i) => assert.ok(Math.abs(p.expected - ref[i]!.expected) < 1e-12));
  assert.ok(Math.abs(e.curve[1]!.expected - 9) < 1e-9, 'at the observed count the expectation is the observed number of uniques');
  assert.deepEqual(e.curve.map((p) => p.extrapolated), [false, false, true]);
  assert.throws(() => estimateUniqueMemorized([], 10, [20]), /no memorized m-grams/);
});

test('canary exposure: a trained canary is exposed, an uninserted one is not', async () => {
  const text = 'my secret code is 731942685';
  const other = 'my secret code is 205816374';
  const ids = bytesCodec.encode(text);
  const m = createModel(backend, resolveConfig({ n_layer: 1, n_head: 2, d_model: 48, vocab: 256, ctx: 32 }), 3);
  const T = ids.length - 1;
  await trainSequences(backend, m, { T, n: 1, inputs: Int32Array.from(ids.slice(0, T)), targets: Int32Array.from(ids.slice(1)) }, { steps: 150, batch: 2, lr: 1e-2, warmup: 10, weightDecay: 0 });
  const canaries = [
    { id: 'c0', secret: '731942685', text, count: 10, tokens: [], docIndices: [], tokenOffsets: [] },
    { id: 'c1', secret: '205816374', text: other, count: 0, tokens: [], docIndices: [], tokenOffsets: [] },
  ];
  const r = canaryExposures(m, bytesCodec, canaries, { format: 'my secret code is {secret}', alphabet: '0123456789', length: 9 }, { candidates: 200, seed: 1 });
  assert.ok(Math.abs(r.maxExposure - 9 * Math.log2(10)) < 1e-12);
  const [c0, c1] = r.canaries;
  assert.equal(c0!.sampledRank, 1);
  assert.ok(Math.abs(c0!.exposureSampled - Math.log2(201)) < 1e-12);
  assert.ok(c0!.exposureSkewNormal > 15, `trained canary exposure ${c0!.exposureSkewNormal}`);
  assert.ok(c1!.exposureSkewNormal < 6, `uninserted canary exposure ${c1!.exposureSkewNormal}`);
  assert.deepEqual(r.byCopies.map((g) => g.copies), [0, 10]);
});
