import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCsv, toPoints } from '../../src/scaling/data.ts';
import {
  chinchillaObjective, fitChinchilla, fitChinchillaWith, gridStarts, multiStart, prepareChinchilla, toLogData, WARM_START_LBFGS,
} from '../../src/scaling/chinchilla.ts';
import { LbfgsSolver } from '../../src/scaling/lbfgs.ts';
import { Rng } from '../../src/scaling/rng.ts';
import { createPool } from '../../src/scaling/parallel.ts';

const CSV = new URL('../../../shared/data/chinchilla/svg_extracted_data.csv', import.meta.url).pathname;
const pts = toPoints(readCsv(CSV), { need: ['N', 'D'], dropHighestLoss: 5 });
const best = Float64Array.of(Math.log(477.8), Math.log(2143), Math.log(1.8172), 0.3473, 0.3672);

test('warm-started bootstrap refits reach the same optimum as a full 4500-start grid refit; default tolerances would not', () => {
  const d = toLogData(pts.N!, pts.D!, pts.loss);
  const fg = chinchillaObjective(d);
  const rng = new Rng(11);
  let stuck = 0;
  for (let k = 0; k < 2; k++) {
    d.w.fill(0);
    for (let i = 0; i < 240; i++) d.w[rng.int(240)]! += 1;
    const warm = new LbfgsSolver(5, WARM_START_LBFGS);
    warm.minimize(fg, best);
    const grid = multiStart(fg, gridStarts())!;
    assert.ok(Math.abs(warm.f - grid.objective) <= 1e-9 * grid.objective, `objective ${warm.f} vs grid ${grid.objective}`);
    assert.ok(Math.abs(warm.x[3]! - grid.x[3]) < 2e-3 && Math.abs(warm.x[4]! - grid.x[4]) < 2e-3, `alpha/beta ${warm.x[3]},${warm.x[4]} vs ${grid.x[3]},${grid.x[4]}`);
    const lax = new LbfgsSolver(5);
    lax.minimize(fg, best);
    if (lax.f > grid.objective * (1 + 1e-6)) stuck++;
  }
  assert.ok(stuck >= 1, "SciPy's default factr stops warm starts early on this objective");
});

test('bootstrap is seeded and the worker-thread pool gives the same numbers as the main thread', async () => {
  const grid = { alpha: [0, 1], beta: [0, 1], e: [-1, 0, 1], a: [0, 10, 20], b: [0, 10, 20] }; // 108 starts keep this test short
  const opts = { grid, bootstrap: 12, seed: 5, validate: true };
  const seq = fitChinchilla(pts, opts);
  const again = fitChinchilla(pts, opts);
  assert.deepEqual(again.bootstrap!.intervals, seq.bootstrap!.intervals);
  const other = fitChinchilla(pts, { ...opts, seed: 6 });
  assert.notDeepEqual(other.bootstrap!.intervals.alpha, seq.bootstrap!.intervals.alpha);
  const prob = prepareChinchilla(pts, opts);
  const pool = await createPool(prob.data, prob.delta, {}, 2);
  assert.ok(pool, 'worker threads start');
  try {
    const par = await fitChinchillaWith(pts, opts, pool!.solve);
    assert.deepEqual(par.raw, seq.raw);
    assert.equal(par.optimizer.bestStart, seq.optimizer.bestStart);
    assert.equal(par.optimizer.iterations, seq.optimizer.iterations);
    assert.deepEqual(par.optimizer.statuses, seq.optimizer.statuses);
    assert.deepEqual(par.bootstrap!.intervals, seq.bootstrap!.intervals);
    assert.deepEqual(par.validation!.refit, seq.validation!.refit);
  } finally {
    await pool!.close();
  }
});

test('leave-largest-out validation holds out the largest-compute point and predicts it', () => {
  const grid = { alpha: [0, 0.5, 1], beta: [0, 0.5, 1], e: [-1, 0, 1], a: [0, 5, 10, 20], b: [0, 5, 10, 20] };
  const f = fitChinchilla(pts, { grid, validate: true });
  const v = f.validation!;
  assert.equal(v.heldOut, 1);
  assert.equal(v.trainedOn, 239);
  const p = v.points[0]!;
  assert.ok(p.C > 1e22);
  assert.ok(Math.abs(p.relError) < 0.1, `held-out relative error ${p.relError}`);
  assert.ok(Math.abs(p.predicted - p.loss) / p.loss === Math.abs(p.relError));
});
