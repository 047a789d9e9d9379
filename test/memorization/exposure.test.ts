import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exposureFromRank, rankOf, exposureExact, skewNormalCdf, skewNormalLogCdf, skewNormalPdf, fitSkewNormalMoments,
  fitSkewNormalMLE, exposureSkewNormal, ExposureError,
} from '../../src/memorization/exposure.ts';
import { logNormCdf, normCdf } from '../../src/memorization/stats.ts';
import { rng, skewNormalSamples } from './helpers.ts';

test('exposure from rank and exact enumeration', () => {
  assert.equal(exposureFromRank(1, 1024), 10);
  assert.equal(exposureFromRank(1024, 1024), 0);
  assert.equal(exposureFromRank(4, 1024), 8);
  assert.throws(() => exposureFromRank(0, 10), ExposureError);
  assert.equal(rankOf(2, [5, 2, 1, 2, 9]), 2);
  assert.equal(rankOf(2, [5, 2, 1, 2, 9], 'pessimistic'), 3);
  assert.equal(rankOf(2, [5, 2, 1, 2, 9], 'mid'), 2.5);
  // candidate space: all 4-digit numbers; score = |i − 4242| / 100; canary is 4242 -> rank 1
  const res = exposureExact({ size: 10_000, canaryIndex: 4242, score: (i) => Math.abs(i - 4242) / 100 });
  assert.equal(res.rank, 1);
  assert.ok(Math.abs(res.exposure - Math.log2(10_000)) < 1e-12);
  const r2 = exposureExact({ size: 10_000, canaryIndex: 4000, score: (i) => Math.abs(i - 4242) / 100 });
  // strictly closer to 4242 than 242: |d| < 242 -> 483 candidates
  assert.equal(r2.rank, 484);
});

test('normal and skew-normal functions match scipy.stats to 1e-10 relative (deep tails included)', () => {
  // scipy 1.17.1: skewnorm.cdf / logcdf / pdf(x, a)
  const ref: [number, number, number, number, number][] = [
    [0, -1.0, 0.15865525393145707, -1.8410216450092634, 0.24197072451914337],
    [3, -1.0, 5.624443371191057e-05, -9.785803478008937, 0.0006532716094809983],
    [5, -2.5, 1.98905106918999e-39, -89.1131609514136, 1.3085101728458908e-37],
    [2, -6.0, 7.118079190060504e-43, -97.04852108639325, 2.1587394395580922e-41],
    [0, -30.0, 4.906713927148764e-198, -454.3212439563431, 1.4736461348785476e-196],
    [-3, 1.5, 0.9999999456410017, -5.435899976783679e-08, 8.801169079473081e-07],
    [10, -0.3, 2.8899657987413452e-05, -10.451680797261469, 0.0010296693227557256],
  ];
  for (const [a, x, cdf, lcdf, pdf] of ref) {
    const d = { xi: 0, omega: 1, alpha: a };
    assert.ok(Math.abs(skewNormalCdf(x, d) / cdf - 1) < 1e-9, `cdf a=${a} x=${x}`);
    assert.ok(Math.abs(skewNormalLogCdf(x, d) / lcdf - 1) < 1e-7, `logcdf a=${a} x=${x}`);
    assert.ok(Math.abs(skewNormalPdf(x, d) / pdf - 1) < 1e-12, `pdf a=${a} x=${x}`);
  }
  assert.ok(Math.abs(logNormCdf(-40) / -804.6084420137539 - 1) < 1e-14);
  assert.ok(Math.abs(normCdf(-3) - 0.0013498980316300933) < 1e-17);
  assert.ok(Math.abs(normCdf(1.3) - 0.9031995154143897) < 1e-15);
  // location/scale
  assert.ok(Math.abs(skewNormalCdf(5 + 2 * -1.0, { xi: 5, omega: 2, alpha: 3 }) / 5.624443371191057e-05 - 1) < 1e-9);
});

test('skew-normal MLE fit matches scipy.stats.skewnorm.fit; moments fit is close', () => {
  const xs = skewNormalSamples(rng(31337), 2000, 5, 2, 4);
  // scipy 1.17.1 skewnorm.fit(xs) on these exact samples: a, loc, scale
  const scipy = { alpha: 4.083109208147807, xi: 5.040319417073071, omega: 1.9571086068557233 };
  const mle = fitSkewNormalMLE(xs);
  assert.ok(Math.abs(mle.xi - scipy.xi) < 1e-3, `xi ${mle.xi}`);
  assert.ok(Math.abs(mle.omega - scipy.omega) < 1e-3, `omega ${mle.omega}`);
  assert.ok(Math.abs(mle.alpha - scipy.alpha) < 1e-2, `alpha ${mle.alpha}`);
  const mom = fitSkewNormalMoments(xs);
  assert.ok(Math.abs(mom.xi - 5) < 0.1 && Math.abs(mom.omega - 2) < 0.1 && Math.abs(mom.alpha - 4) < 1.0);
  assert.throws(() => fitSkewNormalMoments([1, 1, 1, 1]), /zero variance/);
});

test('skew-normal exposure estimate agrees with exact exposure on an enumerable space', () => {
  // 2^20 candidates with skew-normally distributed scores; canaries at several true ranks
  const r = rng(8);
  const all = skewNormalSamples(r, 1 << 20, 10, 1.5, 3);
  const sorted = Float64Array.from(all).sort();
  const sample = skewNormalSamples(rng(9), 5000, 10, 1.5, 3);
  for (const rank of [1, 10, 100, 1000, 100_000]) {
    const canary = sorted[rank - 1]!;
    const exact = exposureFromRank(rankOf(canary, sorted), all.length);
    for (const method of ['mle', 'moments'] as const) {
      const est = exposureSkewNormal(canary, sample, { method });
      assert.ok(Math.abs(est.exposure - exact) < (rank < 100 ? 1.5 : 0.6), `${method} rank ${rank}: est ${est.exposure.toFixed(2)} vs exact ${exact.toFixed(2)}`);
    }
  }
});
