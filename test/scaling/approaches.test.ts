import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCsv, toPoints, type Points } from '../../src/scaling/data.ts';
import { fitApproach1, fitApproach2 } from '../../src/scaling/approaches.ts';
import { fitLogLinear } from '../../src/scaling/powerlaw.ts';
import { getPreset, lossND, optimal, type ChinchillaLaw } from '../../src/scaling/laws.ts';
import { FitNotConvergedError } from '../../src/scaling/errors.ts';

const DIR = new URL('../../../shared/data/porian2024/', import.meta.url).pathname;
const iso = readCsv(DIR + 'isoflop_points.csv');
const opt = readCsv(DIR + 'optimal_points.csv');
// Porian et al. 2024: the fully corrected setting (tuned hyperparameters, short warmup, constant lr schedule,
// head counted in N) and their reproduction of Kaplan's setting (long warmup, Kaplan decay, non-embedding N
// without the head, train loss)
const CORRECTED = { dataset: 'rw', hparams: 'tuned', warmup: 'short', decay: 'const', param_count: 'standard', loss_split: 'val' };
const KAPLAN = { dataset: 'rw', hparams: 'base', warmup: 'long', decay: 'kaplan', param_count: 'kaplan', loss_split: 'train' };

test('Porian optimal points: log N* on log C gives a ≈ 0.50 (corrected) and ≈ 0.83 (Kaplan reproduction)', () => {
  const a = (where: Record<string, string>): number => {
    const p = toPoints(opt, { need: ['N', 'C'], where, columns: { N: 'n_star', loss: 'loss_star' }, skipInvalid: true });
    return fitLogLinear(p.C!, p.N!).exponent;
  };
  const corrected = a(CORRECTED);
  const kaplan = a(KAPLAN);
  assert.ok(Math.abs(corrected - 0.5) < 0.01, `corrected a = ${corrected}`);
  assert.ok(Math.abs(kaplan - 0.83) < 0.01, `Kaplan-reproduction a = ${kaplan}`);
});

test('approach 2 on the Porian IsoFLOP sweeps recovers both exponents and the per-budget optima', () => {
  const corr = fitApproach2(toPoints(iso, { need: ['N', 'C'], where: CORRECTED }), { window: 2, bootstrap: 60, seed: 3 });
  assert.equal(corr.optima.length, 12);
  assert.ok(Math.abs(corr.N.exponent - 0.5) < 0.02, `a = ${corr.N.exponent}`);
  assert.ok(Math.abs(corr.N.exponent + corr.D.exponent - 1) < 1e-9, 'a + b = 1 under D = C/(6N)');
  assert.ok(corr.N.ci.lo < 0.5 && corr.N.ci.hi > 0.49);
  assert.ok(corr.bootstrap!.a.lo < corr.N.exponent && corr.bootstrap!.a.hi > corr.N.exponent);
  // per-budget minima agree with the authors' N* (their own interpolation + bootstrap) within 25%
  const ref = toPoints(opt, { need: ['N', 'C'], where: CORRECTED, columns: { N: 'n_star', loss: 'loss_star' }, skipInvalid: true });
  for (const o of corr.optima) {
    const j = Array.from(ref.C!).findIndex((c) => Math.abs(c / o.C - 1) < 1e-6);
    assert.ok(j >= 0);
    const ratio = o.N / ref.N![j]!;
    assert.ok(ratio > 0.75 && ratio < 1.25, `C = ${o.C}: N_opt ${o.N} vs Porian ${ref.N![j]}`);
  }
  const kap = fitApproach2(toPoints(iso, { need: ['N', 'C'], where: KAPLAN }), { window: 2 });
  assert.ok(Math.abs(kap.N.exponent - 0.83) < 0.05, `Kaplan-reproduction a = ${kap.N.exponent}`);
  assert.ok(kap.validation!.heldOut.length === 1);
});

/** Synthetic points from a Chinchilla law: for each N, losses at D giving budgets C over a range. */
function synthetic(law: ChinchillaLaw, Ns: number[], Cs: number[]): Points {
  const N: number[] = [];
  const C: number[] = [];
  const L: number[] = [];
  for (const n of Ns) for (const c of Cs) {
    N.push(n);
    C.push(c);
    L.push(lossND(law, n, c / (6 * n)));
  }
  return { source: 'synthetic', N: Float64Array.from(N), D: Float64Array.from(C, (c, i) => c / (6 * N[i]!)), C: Float64Array.from(C), loss: Float64Array.from(L), run: null, lines: N.map((_, i) => i + 2), notes: [] };
}

test('approaches 1 and 2 on noiseless synthetic data recover the analytic exponent a = β/(α+β)', () => {
  const law = getPreset('besiroglu2024') as ChinchillaLaw;
  const a = optimal(law, 1e21).a;
  const Ns = Array.from({ length: 61 }, (_, k) => 10 ** (7 + k * 0.05));
  const Cs = Array.from({ length: 9 }, (_, k) => 10 ** (18 + k * 0.5));
  const f2 = fitApproach2(synthetic(law, Ns, Cs), { window: 3 });
  assert.ok(Math.abs(f2.N.exponent - a) < 0.005, `approach 2: ${f2.N.exponent} vs ${a}`);
  for (const o of f2.optima) assert.ok(Math.abs(o.N / optimal(law, o.C).N - 1) < 0.03);
  // approach 1: each N is a training curve over C (dense in C)
  const Cdense = Array.from({ length: 121 }, (_, k) => 10 ** (18 + k * 0.033));
  const f1 = fitApproach1(synthetic(law, Ns, Cdense), { gridPoints: 150 });
  assert.ok(Math.abs(f1.N.exponent - a) < 0.01, `approach 1: ${f1.N.exponent} vs ${a}`);
});

test('approach 2 with no parabola minimum says so (FitNotConvergedError) instead of printing exponents', () => {
  const p: Points = {
    source: 'concave.csv',
    N: Float64Array.of(1e7, 2e7, 4e7, 1e7, 2e7, 4e7),
    D: null,
    C: Float64Array.of(1e18, 1e18, 1e18, 1e19, 1e19, 1e19),
    loss: Float64Array.of(3, 3.5, 3, 2.5, 3, 2.5),
    run: null,
    lines: [2, 3, 4, 5, 6, 7],
    notes: [],
  };
  assert.throws(() => fitApproach2(p), (e: Error) => e instanceof FitNotConvergedError && /only 0 budget/.test(e.message));
});
