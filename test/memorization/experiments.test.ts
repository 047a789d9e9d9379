/** The memorization / extraction experiments end to end on a tiny suite (1 epoch, two tiny models). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '../../src/engine/index.ts';
import { runExtractionExperiment, runMemorizationExperiment, prepareSuite } from '../../src/memorization/experiments.ts';
import { writeExperiment } from '../../src/emergence/experiments/common.ts';

test('memorization + extraction experiments on a tiny suite: tables, figures, reuse of the trained suite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-memexp-'));
  try {
    const backend = await createBackend('auto');
    const suite = { work: join(dir, 'work'), epochs: 1, sizes: [{ n_layer: 1, d_model: 16, n_head: 2 }, { n_layer: 1, d_model: 32, n_head: 2 }], seqLen: 64 };
    const mem = await runMemorizationExperiment(backend, { ...suite, randomSequences: 16, canaryCandidates: 50, windowsPerDuplicate: 1 });
    const paths = writeExperiment(join(dir, 'mem'), mem.result, mem.tables);
    assert.ok(paths.every((p) => existsSync(p)));
    const out = JSON.parse(readFileSync(join(dir, 'mem', 'memorization.json'), 'utf8'));
    assert.equal(out.experiment, 'memorization');
    assert.equal(out.outcome.suite.models.length, 2);
    // every duplicate count planted appears, plus random windows (copies 1)
    const copies = [...new Set(out.outcome.byCopies.map((r: { copies: number }) => r.copies))].sort((a, b) => (a as number) - (b as number));
    assert.deepEqual(copies.slice(0, 1), [1]);
    for (const c of [2, 4, 8, 16]) assert.ok(copies.includes(c), `copies ${c} probed`);
    for (const r of out.outcome.byCopies) assert.ok(r.meanScore >= 0 && r.meanScore <= 1 && r.exactRate >= 0 && r.exactRate <= 1);
    assert.equal(out.outcome.canaries.length, 2 * 7, '7 canary copy counts per model');
    for (const r of out.outcome.canaries) assert.ok(r.exposure >= 0 && r.exposure <= out.outcome.maxExposure + 1e-9);
    assert.equal(out.outcome.prediction.length, 1);
    // the suite is reused, not retrained
    const again = await prepareSuite(backend, suite);
    assert.ok(again.models.every((m) => m.reused));
    const ext = await runExtractionExperiment(backend, { ...suite, samples: 8, m: [20, 8], k: [5] });
    const o = ext.result.outcome as { generations: number; candidates: number; byM: { m: number; memorized: number; precision: { ranking: string; k: number; precision: number; ceiling: number }[] }[] };
    assert.equal(o.generations, 24);
    assert.ok(o.candidates <= 24);
    assert.deepEqual(o.byM.map((b) => b.m), [20, 8]);
    assert.ok(o.byM[1]!.memorized >= o.byM[0]!.memorized, 'a shorter required match labels at least as many candidates memorized');
    for (const b of o.byM) {
      const rankings = b.precision.map((p) => p.ranking);
      for (const r of ['perplexity', 'referenceRatio', 'zlibRatio', 'lowercaseRatio', 'minWindowPerplexity', 'random']) assert.ok(rankings.includes(r), r);
      for (const p of b.precision) assert.ok(p.precision <= p.ceiling + 1e-12, `${p.ranking} precision ${p.precision} above the ceiling ${p.ceiling}`);
    }
    writeExperiment(join(dir, 'ext'), ext.result, ext.tables);
    assert.ok(existsSync(join(dir, 'ext', 'precision.csv')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
