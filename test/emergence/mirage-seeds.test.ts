// The mirage experiment's runs per size: averaging, and training in worker processes giving the same models as
// training in-process (a tiny suite of a few steps; about 10 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '../../src/engine/index.ts';
import { analyzeMirage, averageRuns, predictedExactMatch, reanalyzeMirage, runMirageExperiment, type MirageModelResult, type StoredMirage } from '../../src/emergence/experiments/mirage.ts';

const backend = await createBackend();

function fake(d: number, run: number, em: number, p: number, pos?: { acc: number[]; cnt: number[] }): MirageModelResult {
  return {
    spec: { n_layer: 1, d_model: d, n_head: 2 }, run, params: d * 100, nonEmbeddingParams: d * 50, valLoss: 3 - d / 100 + run * 0.01, finalTrainLoss: 2, seconds: 1,
    metrics: { exact_match: em, token_accuracy: p, token_edit_distance: 5 * (1 - p), normalized_edit_distance: 1 - p, target_loglik: 5 * Math.log(p), target_ce: -Math.log(p), mean_token_prob: p, target_seq_prob: p ** 5,
      ...(pos ? { per_position_accuracy: pos.acc, per_position_count: pos.cnt } : {}) },
  };
}

test('averageRuns: per-size means of metrics and validation loss; per-position accuracy weighted by counts', () => {
  const a = averageRuns([
    fake(16, 1, 0.2, 0.6, { acc: [1, 0.5], cnt: [10, 10] }),
    fake(8, 0, 0, 0.3, { acc: [0.5], cnt: [4] }),
    fake(16, 0, 0.4, 0.8, { acc: [0, 0.5, 1], cnt: [30, 30, 10] }),
    fake(8, 1, 0, 0.5, { acc: [1], cnt: [4] }),
  ]);
  assert.deepEqual(a.map((m) => m.spec.d_model), [8, 16], 'one entry per size, smallest first');
  assert.equal(a[1]!.runs, 2);
  assert.ok(Math.abs(a[1]!.metrics.exact_match! - 0.3) < 1e-12);
  assert.ok(Math.abs(a[0]!.metrics.token_accuracy - 0.4) < 1e-12);
  assert.ok(Math.abs(a[1]!.valLoss - (3 - 0.16 + 0.005)) < 1e-12);
  assert.deepEqual(a[0]!.metrics.per_position_accuracy, [0.75]);
  // position 0 of size 16: (1·10 + 0·30) / 40; position 2 exists in one run only
  assert.deepEqual(a[1]!.metrics.per_position_accuracy, [0.25, 0.5, 1]);
  assert.deepEqual(a[1]!.metrics.per_position_count, [40, 40, 10]);
  const an = analyzeMirage([fake(8, 0, 0, 0.3), fake(8, 1, 0, 0.5), fake(16, 0, 0.4, 0.8), fake(16, 1, 0.2, 0.6), fake(32, 0, 0.5, 0.9)], 4);
  assert.equal(an.tables['mirage_models.csv']!.length, 3, 'curves over the per-size means');
  assert.equal(an.tables['mirage_runs.csv']!.length, 5, 'every run kept');
  assert.ok(an.notes.some((n) => /mean of 2 runs per size/.test(n)));
});

test('predictedExactMatch: product of per-digit accuracies, a digit present in part of the answers weighted by its share', () => {
  assert.ok(Math.abs(predictedExactMatch({ per_position_accuracy: [0.5, 0.5], per_position_count: [10, 10] })! - 0.25) < 1e-12);
  assert.ok(Math.abs(predictedExactMatch({ per_position_accuracy: [0.5, 0.5], per_position_count: [10, 5] })! - 0.5 ** 1.5) < 1e-12);
  assert.equal(predictedExactMatch({ per_position_accuracy: [0.9, 0], per_position_count: [10, 10] }), 0);
  assert.equal(predictedExactMatch({}), null);
});

test('mirage runs in worker processes equal the same runs trained in this process', async () => {
  const opts = { sizes: [{ n_layer: 1, d_model: 8, n_head: 2 }, { n_layer: 1, d_model: 12, n_head: 2 }, { n_layer: 2, d_model: 8, n_head: 2 }], steps: 6, textBytes: 20_000, nEval: 6, seeds: 2 };
  const inProc = await runMirageExperiment(backend, { ...opts, workers: 1 });
  const par = await runMirageExperiment(backend, { ...opts, workers: 2 });
  const key = (m: MirageModelResult) => `${m.spec.n_layer}x${m.spec.d_model}/${m.run}`;
  const a = inProc.result.outcome.models, b = par.result.outcome.models;
  assert.equal(a.length, 6);
  assert.deepEqual(a.map(key), b.map(key));
  a.forEach((m, i) => {
    assert.ok(Math.abs(m.valLoss - b[i]!.valLoss) < 1e-4, `${key(m)} val loss ${m.valLoss} vs ${b[i]!.valLoss}`);
    assert.ok(Math.abs(m.metrics.target_loglik! - b[i]!.metrics.target_loglik!) < 1e-3, `${key(m)} loglik`);
  });
  assert.notEqual(a[0]!.valLoss, a[1]!.valLoss, 'the two runs of a size differ');
});

/** A mirage result stored under docs/experiments/<dir>/. */
const load = (dir: string) => JSON.parse(readFileSync(join(import.meta.dirname, '../../docs/experiments', dir, 'mirage.json'), 'utf8')) as StoredMirage;

test('npx lmlab experiment mirage --workers 2: the worker processes start without tsx in the node flags', () => {
  // bin/lmlab.js registers tsx from inside the program, so process.execArgv is empty; the workers must get the loader anyway.
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-mirage-bin-'));
  try {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/lmlab.js'), 'experiment', 'mirage', '--sizes', '1x8,1x12,2x8', '--steps', '3', '--text-bytes', '20000',
      '--n-eval', '4', '--seeds', '1', '--workers', '2', '--out', dir, '--no-svg', '--quiet'], { encoding: 'utf8', env, cwd: tmpdir() });
    assert.equal(r.status, 0, `lmlab failed: ${r.stderr}`);
    assert.ok(existsSync(join(dir, 'mirage.json')));
    assert.equal(JSON.parse(readFileSync(join(dir, 'mirage.json'), 'utf8')).outcome.models.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the mirage check on the stored runs (docs/experiments): width ladder passes with the linear metrics, fails with mean token probability counted; depth ladder fails', () => {
  const width = reanalyzeMirage(load('mirage-width')).result.outcome.checks;
  for (const axis of ['params', 'val_loss'] as const) {
    const c = width[axis];
    assert.equal(c.exactMatchLabel, 'emergent', axis);
    assert.equal(c.editDistanceLabel, 'smooth', axis);
    assert.equal(c.maxLinearMetric, 'token_accuracy', axis);
    assert.ok(Math.abs(c.exactMatchB - 22.41) < 0.01 && Math.abs(c.maxLinearB - 10.22) < 0.01, `${axis}: B(EM) ${c.exactMatchB}, max linear ${c.maxLinearB}`);
    assert.ok(c.mirageReproduced, axis);
    assert.ok(Math.abs(c.emOverMeanTokenProbB - 1.57) < 0.01, `${axis}: ${c.emOverMeanTokenProbB}`);
    assert.equal(c.reproducedWithMeanTokenProb, false, axis);
  }
  const depth = reanalyzeMirage(load('mirage-seeds')).result.outcome.checks;
  assert.equal(depth.params.exactMatchLabel, 'uncorrelated');
  assert.equal(depth.params.mirageReproduced, false);
  assert.equal(depth.val_loss.exactMatchLabel, 'smooth');
  assert.equal(depth.val_loss.mirageReproduced, false);
});

test('reanalyzeMirage pools stored suites: runs renumbered, per-size means over all runs, suites with different training options refused', () => {
  const width = load('mirage-width');
  const one = reanalyzeMirage(width), two = reanalyzeMirage([width, width], ['a.json', 'b.json']);
  assert.deepEqual(two.result.outcome.models.map((m) => m.run).slice(0, 2), [0, 1]);
  assert.equal(Math.max(...two.result.outcome.models.map((m) => m.run ?? 0)), 3, 'the second suite\'s runs follow the first\'s');
  const rows = (r: typeof one) => r.tables['mirage_models.csv']!.map((row) => [row.model, row.runs, Number(row.exact_match).toFixed(12)]);
  assert.deepEqual(rows(two).map((r) => r[2]), rows(one).map((r) => r[2]), 'the same suite twice has the same means');
  assert.ok(rows(two).every((r) => r[1] === 4));
  assert.throws(() => reanalyzeMirage([width, { ...width, options: { ...width.options, steps: 10 } }], ['a.json', 'b.json']), /b\.json.*'steps' is 10, expected 5000/);
});

test('labeller on ideal mirage curves (documented in experiments.md §3): with p linear in log N, EM = p^T is emergent only for long answers', async () => {
  const { analyzeCurve } = await import('../../src/emergence/curve.ts');
  const label = (npts: number, T: number, p0: number, p1: number) => {
    const N = Array.from({ length: npts }, (_, i) => 1e4 * 10 ** ((i * 2) / (npts - 1)));
    const p = N.map((_, i) => p0 + ((p1 - p0) * i) / (npts - 1));
    const em = analyzeCurve(N.map((x, i) => ({ x, y: p[i]! ** T })), { axis: 'scale', metricSpan: 1 });
    const ted = analyzeCurve(N.map((x, i) => ({ x, y: T * (1 - p[i]!) })), { axis: 'scale', higherIsBetter: false });
    return { em: em.shape.label, ted: ted.shape.label, bEm: em.breakthroughness.value, bTed: -ted.breakthroughness.value };
  };
  for (const [n, T] of [[7, 5], [7, 7], [10, 5], [14, 7]] as const) {
    const r = label(n, T, 0.2, 0.95);
    assert.equal(r.em, 'smooth', `${n} points, T = ${T}`);
    assert.equal(r.ted, 'smooth');
  }
  const long = label(10, 9, 0.2, 0.95);
  assert.equal(long.em, 'emergent');
  assert.ok(long.bEm >= 2 * long.bTed, `B ${long.bEm} vs ${long.bTed}`);
});
