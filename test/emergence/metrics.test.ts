import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, randInt } from '../../src/emergence/rng.ts';
import {
  aggregatePerPosition,
  brierScore,
  brierScoreFromProbs,
  exactMatch,
  logSumExp,
  meanTokenProbability,
  MetricError,
  multipleChoiceGrade,
  perPositionCorrect,
  softmax,
  targetCrossEntropy,
  targetLogLikelihood,
  targetSequenceProbability,
  tokenEditDistance,
} from '../../src/emergence/metrics.ts';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('Brier score: DOMAIN.md values (0.7/0.2/0.1 gold 0 → 0.14; uniform over K → 1 − 1/K)', () => {
  close(brierScore([Math.log(0.7), Math.log(0.2), Math.log(0.1)], 0), 0.14);
  close(brierScoreFromProbs([0.7, 0.2, 0.1], 0), 0.14);
  // log-likelihoods need not be normalized: softmax removes any shift
  close(brierScore([Math.log(0.7) - 5, Math.log(0.2) - 5, Math.log(0.1) - 5], 0), 0.14);
  for (const K of [2, 3, 4, 10]) close(brierScore(new Array(K).fill(-3.7), 1), 1 - 1 / K);
  close(brierScore([0, -1000], 0), 0);
  close(brierScore([-1000, 0], 0), 2);
  assert.throws(() => brierScore([0, 1], 2), MetricError);
  assert.throws(() => brierScoreFromProbs([0.5, 0.4], 0), /sum/);
});

test('multiple-choice grade: argmax with first-index ties', () => {
  assert.equal(multipleChoiceGrade([-1, -2, -3], 0), 1);
  assert.equal(multipleChoiceGrade([-1, -0.5, -3], 0), 0);
  assert.equal(multipleChoiceGrade([-1, -1], 0), 1);
  assert.equal(multipleChoiceGrade([-1, -1], 1), 0);
});

test('softmax / logSumExp are stable', () => {
  close(logSumExp([1000, 1000]), 1000 + Math.log(2));
  const p = softmax([-1000, -1000 + Math.log(3)]);
  close(p[0]!, 0.25);
  close(p[1]!, 0.75);
});

/** Exponential-time reference Levenshtein, straight from the recursive definition. */
function levRef(a: number[], b: number[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const k = `${i},${j}`;
    if (memo.has(k)) return memo.get(k)!;
    const v = Math.min(go(i - 1, j) + 1, go(i, j - 1) + 1, go(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
    memo.set(k, v);
    return v;
  };
  return go(a.length, b.length);
}

test('token edit distance: known values and agreement with the recursive definition', () => {
  assert.equal(tokenEditDistance('kitten', 'sitting'), 3);
  assert.equal(tokenEditDistance([], [1, 2, 3]), 3);
  assert.equal(tokenEditDistance([1, 2, 3], [1, 2, 3]), 0);
  assert.equal(tokenEditDistance([1, 2, 3, 4], [2, 3, 4, 1]), 2);
  const r = new Rng(1);
  for (let it = 0; it < 300; it++) {
    const a = Array.from({ length: randInt(r, 9) }, () => randInt(r, 4));
    const b = Array.from({ length: randInt(r, 9) }, () => randInt(r, 4));
    assert.equal(tokenEditDistance(a, b), levRef(a, b), `${a} | ${b}`);
    assert.equal(tokenEditDistance(Int32Array.from(a), Int32Array.from(b)), levRef(a, b));
  }
});

test('exact match and per-position accuracy', () => {
  assert.equal(exactMatch([1, 2, 3], [1, 2, 3]), 1);
  assert.equal(exactMatch([1, 2], [1, 2, 3]), 0);
  assert.equal(exactMatch('46', '46'), 1);
  assert.deepEqual(perPositionCorrect([1, 9, 3], [1, 2, 3, 4]), [1, 0, 1, 0]);
  const agg = aggregatePerPosition([[1, 0, 1], [1, 1], [0]]);
  assert.deepEqual(agg.count, [3, 2, 1]);
  close(agg.accuracy[0]!, 2 / 3);
  close(agg.accuracy[1]!, 0.5);
  close(agg.accuracy[2]!, 1);
});

test('log-likelihood, cross-entropy and probabilities of the target', () => {
  const lp = [Math.log(0.5), Math.log(0.25), Math.log(0.125)];
  close(targetLogLikelihood(lp), Math.log(0.5 * 0.25 * 0.125));
  close(targetCrossEntropy(lp), -Math.log(0.5 * 0.25 * 0.125) / 3);
  close(targetSequenceProbability(lp), 0.015625);
  close(meanTokenProbability(lp), 0.25);
  assert.throws(() => targetLogLikelihood([0.1]), /not ≤ 0/);
  assert.throws(() => targetCrossEntropy([]), /empty/);
});
