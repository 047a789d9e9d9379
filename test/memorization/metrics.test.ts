import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bidermanScore, isExactlyMemorized, memorizationPrecisionRecall, logPerplexity, perplexity, referenceRatio,
  zlibEntropy, zlibRatio, lowercaseRatio, minWindowPerplexity, decayingTemperature, precisionAtK, rankByScore,
  dedupeCandidates, MetricError,
} from '../../src/memorization/metrics.ts';
import { rng } from './helpers.ts';

test('Biderman score and exact memorization', () => {
  const target = Array.from({ length: 32 }, (_, i) => i);
  assert.equal(bidermanScore(target, target), 1);
  assert.ok(isExactlyMemorized(target, target));
  const gen = target.slice(); gen[5] = 99; gen[31] = 99;
  assert.equal(bidermanScore(target, gen), 30 / 32);
  assert.ok(!isExactlyMemorized(target, gen));
  // position-wise, not longest-prefix: a shifted copy scores 0
  assert.equal(bidermanScore(target, [99, ...target].slice(0, 32)), 0);
  assert.equal(bidermanScore([1, 2, 3, 4], [1, 2]), 0.5, 'missing tokens count as mismatches');
  assert.throws(() => bidermanScore([], [1]), MetricError);
});

test('precision / recall of small-model memorization predicting large-model memorization', () => {
  const small = [true, true, false, false, true, false];
  const large = [true, false, true, false, true, true];
  const pr = memorizationPrecisionRecall(small, large);
  assert.deepEqual({ tp: pr.tp, fp: pr.fp, fn: pr.fn, tn: pr.tn }, { tp: 2, fp: 1, fn: 2, tn: 1 });
  assert.equal(pr.precision, 2 / 3);
  assert.equal(pr.recall, 2 / 4);
  assert.ok(Number.isNaN(memorizationPrecisionRecall([false], [true]).precision));
  assert.throws(() => memorizationPrecisionRecall([true], []), /1 small-model flags vs 0/);
});

test('perplexity-based extraction metrics against hand computations', () => {
  const lp = [Math.log(0.5), Math.log(0.25), Math.log(0.125)];
  assert.ok(Math.abs(logPerplexity(lp) - 2 * Math.LN2) < 1e-15);
  assert.ok(Math.abs(perplexity(lp) - 4) < 1e-12);
  const ref = [Math.log(1 / 16), Math.log(1 / 16), Math.log(1 / 16)];
  assert.ok(Math.abs(referenceRatio(lp, ref) - 2) < 1e-12, 'log ppl_ref / log ppl = 4 ln2 / 2 ln2');
  const lower = [Math.log(0.125), Math.log(0.125), Math.log(0.125)];
  assert.ok(Math.abs(lowercaseRatio(lp, lower) - 1.5) < 1e-12);
  assert.throws(() => logPerplexity([0.1]), /not ≤ 0/);
  assert.throws(() => logPerplexity([]), MetricError);
});

test('zlib entropy is pinned to pako level 6 and equals Python zlib.compress lengths (zlib 1.2.13)', () => {
  // lengths produced by python3: len(zlib.compress(s.encode('utf-8')))
  assert.equal(zlibEntropy(''), 8);
  assert.equal(zlibEntropy('hello world'), 19);
  assert.equal(zlibEntropy('The quick brown fox jumps over the lazy dog. '.repeat(20)), 61);
  assert.equal(zlibEntropy('ünïcödé ✓ text 1234567890'), 40);
  assert.equal(zlibEntropy(new TextEncoder().encode('hello world')), 19);
  const lp = [Math.log(0.5), Math.log(0.5)];
  assert.ok(Math.abs(zlibRatio(lp, 'hello world') - 19 / Math.LN2) < 1e-12);
});

test('sliding-window minimum perplexity equals brute force', () => {
  const r = rng(5);
  for (let it = 0; it < 50; it++) {
    const n = 1 + Math.floor(r() * 120);
    const lp = Array.from({ length: n }, () => Math.log(r() * 0.999 + 0.001));
    const w = 1 + Math.floor(r() * 60);
    const ww = Math.min(w, n);
    let best = Infinity;
    for (let s = 0; s + ww <= n; s++) best = Math.min(best, Math.exp(-lp.slice(s, s + ww).reduce((a, b) => a + b, 0) / ww));
    assert.ok(Math.abs(minWindowPerplexity(lp, w) - best) <= 1e-9 * best);
  }
});

test('decaying temperature T(t) = 10 − 9(t−1)/19 for t ≤ 20, then 1', () => {
  assert.equal(decayingTemperature(1), 10);
  assert.equal(decayingTemperature(20), 1);
  assert.equal(decayingTemperature(21), 1);
  assert.equal(decayingTemperature(500), 1);
  for (let t = 1; t <= 20; t++) assert.ok(Math.abs(decayingTemperature(t) - (10 - (9 * (t - 1)) / 19)) < 1e-12);
  assert.ok(Math.abs(decayingTemperature(11) - (10 - 90 / 19)) < 1e-12);
  assert.throws(() => decayingTemperature(0), /t must be an integer ≥ 1/);
});

test('ranking, precision@k and deduplication', () => {
  const scores = [3.2, 1.1, 5.0, 1.1, 0.4];
  assert.deepEqual(rankByScore(scores, false), [4, 1, 3, 0, 2]);
  assert.deepEqual(rankByScore(scores, true), [2, 0, 1, 3, 4]);
  const labels = [false, true, false, false, true];
  assert.equal(precisionAtK(scores, labels, 2, false), 1);
  assert.equal(precisionAtK(scores, labels, 3, false), 2 / 3);
  assert.equal(precisionAtK(scores, labels, 100, false), 2 / 5);
  assert.equal(precisionAtK(scores, labels, 1, true), 0);
  const cands = [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 9, 9], [7, 8, 9, 10, 11, 12], [1, 2], [1, 2]];
  assert.deepEqual(dedupeCandidates(cands), [0, 2, 3, 4]);
  // trigrams of #2: 123 234 349 499; 2 of its 4 shared with #0 -> duplicate at threshold 0.5, not at 0.75
  assert.deepEqual(dedupeCandidates(cands, { mode: 'trigram' }), [0, 3, 4]);
  assert.deepEqual(dedupeCandidates(cands, { mode: 'trigram', threshold: 0.75 }), [0, 2, 3, 4]);
});
