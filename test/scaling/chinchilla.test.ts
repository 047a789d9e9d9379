import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCsv, toPoints } from '../../src/scaling/data.ts';
import {
  chinchillaObjective, chinchillaObjectiveReference, fitChinchilla, gridStarts, multiStart, toLogData, EPOCH_GRID,
} from '../../src/scaling/chinchilla.ts';
import { FitNotConvergedError, ScalingInputError } from '../../src/scaling/errors.ts';
import { Rng } from '../../src/scaling/rng.ts';

const CSV = new URL('../../../shared/data/chinchilla/svg_extracted_data.csv', import.meta.url).pathname;
const pts = toPoints(readCsv(CSV), { need: ['N', 'D'], dropHighestLoss: 5 });
const within = (v: number, ref: number, rel: number, name: string): void =>
  assert.ok(Math.abs(v - ref) <= rel * Math.abs(ref), `${name} = ${v}, expected ${ref} ± ${rel * 100}%`);

test("Epoch's preprocessing: 245 rows, drop the 5 highest losses (>= 3.447) -> 240, D = C/(6N)", () => {
  assert.equal(pts.loss.length, 240);
  assert.ok(Math.max(...pts.loss) < 3.4469);
  const raw = toPoints(readCsv(CSV), { need: ['N', 'D'] });
  assert.equal(raw.loss.length, 245);
  const i = 10;
  assert.ok(Math.abs(raw.D![i]! - raw.C![i]! / (6 * raw.N![i]!)) < 1e-6 * raw.D![i]!);
  assert.equal(EPOCH_GRID.alpha.length * EPOCH_GRID.beta.length * EPOCH_GRID.e.length * EPOCH_GRID.a.length * EPOCH_GRID.b.length, 4500);
  assert.equal(gridStarts().length, 4500);
});

test('fast objective = reference log-sum-exp objective (unit weights and multiplicities); gradient = finite differences', () => {
  const d = toLogData(pts.N!, pts.D!, pts.loss);
  const fast = chinchillaObjective(d);
  const ref = chinchillaObjectiveReference(d);
  const g1 = new Float64Array(5);
  const g2 = new Float64Array(5);
  const gp = new Float64Array(5);
  const xs = [[6.17, 7.67, 0.6, 0.347, 0.367], [25, 0, -1, 2, 0], [0, 25, 1, 0, 2], [5, 5, 0.5, 0.5, 0.5], [3, 9, 0.2, 0.1, 0.45], [40, 10, 0, -0.5, 3], [90, 10, 0, -3, 0.3]];
  const check = (x: number[]): void => {
    const X = Float64Array.from(x);
    const f1 = fast(X, g1);
    const f2 = ref(X, g2);
    assert.ok(Math.abs(f1 - f2) <= 1e-12 * Math.abs(f2), `f at ${x}: ${f1} vs ${f2}`);
    const scale = Math.max(...Array.from(g2, Math.abs), 1e-3);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(g1[j]! - g2[j]!) <= 1e-10 * scale, `g[${j}] at ${x}: ${g1[j]} vs ${g2[j]}`);
    for (let j = 0; j < 5; j++) {
      const h = 1e-6;
      const Xp = Float64Array.from(X);
      const Xm = Float64Array.from(X);
      Xp[j] = Xp[j]! + h;
      Xm[j] = Xm[j]! - h;
      const fd = (ref(Xp, gp) - ref(Xm, gp)) / (2 * h);
      assert.ok(Math.abs(fd - g2[j]!) <= 1e-5 * Math.max(1e-3, Math.abs(g2[j]!)) + 1e-9, `fd g[${j}] at ${x}: ${fd} vs ${g2[j]}`);
    }
  };
  for (const x of xs) check(x);
  const rng = new Rng(3);
  for (let k = 0; k < 60; k++) d.w[rng.int(240)] = k % 6; // multiplicities 0..5
  for (const x of xs) check(x);
});

test("`fit --form chinchilla` reproduces Epoch AI's fit and a 400-resample bootstrap gives their intervals", () => {
  const f = fitChinchilla(pts, { validate: false, bootstrap: 400, seed: 0 });
  const p = f.params;
  within(p.E, 1.8172, 0.01, 'E');
  within(p.alpha, 0.3473, 0.01, 'alpha');
  within(p.beta, 0.3672, 0.01, 'beta');
  within(p.A, 477.8, 0.05, 'A');
  within(p.B, 2143, 0.05, 'B');
  within(f.objective, 1.0183e-3, 1e-4, 'objective');
  assert.equal(f.optimizer.starts, 4500);
  assert.equal(f.optimizer.converged, 4500);
  assert.ok(f.goodness.r2Log > 0.99 && f.goodness.residuals.length === 240);
  // DOMAIN.md §2: 95% CI E ≈ (1.77, 1.87), α ≈ (0.32, 0.37), β ≈ (0.33, 0.42), a = β/(α+β) ≈ 0.51
  const b = f.bootstrap!;
  assert.ok(b.converged >= 398, `${b.converged} of 400 refits converged`);
  const iv = b.intervals;
  assert.ok(Math.abs(iv.E.lo - 1.77) < 0.01 && Math.abs(iv.E.hi - 1.87) < 0.01, `E ${iv.E.lo} ${iv.E.hi}`);
  assert.ok(Math.abs(iv.alpha.lo - 0.32) < 0.01 && Math.abs(iv.alpha.hi - 0.37) < 0.01, `alpha ${iv.alpha.lo} ${iv.alpha.hi}`);
  assert.ok(Math.abs(iv.beta.lo - 0.33) < 0.01 && Math.abs(iv.beta.hi - 0.42) < 0.015, `beta ${iv.beta.lo} ${iv.beta.hi}`);
  assert.ok(Math.abs(b.median.a - 0.51) < 0.01, `a median ${b.median.a}`);
  assert.ok(iv.a.lo < 0.5 && iv.a.hi > 0.52);
});

test("a mean-reduced objective makes L-BFGS stop early and miss the optimum (Epoch's finding)", () => {
  const d = toLogData(pts.N!, pts.D!, pts.loss);
  const sum = chinchillaObjective(d);
  const mean = (x: Float64Array, g: Float64Array): number => {
    const f = sum(x, g);
    for (let j = 0; j < 5; j++) g[j] = g[j]! / 240;
    return f / 240;
  };
  const r = multiStart(mean, gridStarts())!;
  // gradients 240× smaller pass SciPy's pgtol = 1e-5 almost at once
  assert.ok(r.iterations / 4500 < 12, `mean iterations per start ${r.iterations / 4500}`);
  assert.ok((r.statuses['converged-gradient'] ?? 0) > 4000);
  const summed = 240 * r.objective;
  assert.ok(summed > 1.05 * 1.0183e-3, `best summed objective with the mean-reduced fit ${summed}`);
  assert.ok(Math.abs(r.x[3] - 0.3473) > 0.02, `alpha ${r.x[3]}`);
});

test('bad input: too few points, non-positive values; no convergence -> FitNotConvergedError, no parameters', () => {
  const few = { ...pts, N: pts.N!.slice(0, 5), D: pts.D!.slice(0, 5), loss: pts.loss.slice(0, 5), lines: pts.lines.slice(0, 5) };
  assert.throws(() => fitChinchilla(few), (e: Error) => e instanceof ScalingInputError && /need more points than parameters/.test(e.message));
  const bad = { ...pts, loss: Float64Array.from(pts.loss) };
  bad.loss[3] = NaN;
  assert.throws(() => fitChinchilla(bad), (e: Error) => e instanceof ScalingInputError && /loss = NaN/.test(e.message));
  const tiny = { alpha: [0.5], beta: [0.5], e: [0], a: [5, 10], b: [5, 10] };
  assert.throws(
    () => fitChinchilla(pts, { grid: tiny, lbfgs: { maxIter: 2 }, validate: false }),
    (e: Error) => e instanceof FitNotConvergedError && /did not converge from any of the 4 starts/.test(e.message),
  );
});
