// Massive activations: statistics against brute force, a planted massive activation found at its layer, token
// and dimension (absolute and relative criteria), interventions (zero / mean) on it, and the statistics over
// training steps read from checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/model/init.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { loadModelWeights } from '../../src/train/checkpoint.ts';
import { join } from 'node:path';
import {
  activationStats, datasetWindows, interventionExperiment, layerRatios, lowerMedian, phenomenaOverSteps, listCheckpoints,
  targetsFromReport, topShareValue, scoreTokens, withHooks, attentionSinks, formatActivationTable,
} from '../../src/phenomena/index.ts';
import { trainTiny } from './fixture.ts';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('torch.median convention and top-p values', () => {
  assert.equal(lowerMedian([4, 1, 3, 2]), 2, 'even count: the lower middle value');
  assert.equal(lowerMedian([3, 1, 2]), 2, 'odd count: the middle value');
  const desc = Array.from({ length: 250 }, (_, i) => 250 - i);
  assert.equal(topShareValue(desc, 0.01), 248, 'top 1% of 250 = the 3rd largest (ceil 2.5)');
  assert.equal(topShareValue(desc, 0.1), 226, 'top 10% of 250 = the 25th largest');
});

test('per-layer statistics equal a brute-force computation from cached activations', () => {
  const be = new RefBackend();
  const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, ctx: 16, vocab: 50 });
  const m = createModel(be, cfg, 3);
  const tokens = Array.from({ length: 200 }, (_, i) => (i * 7 + (i % 5) * 3) % 50);
  const seqs = datasetWindows(tokens, 3, 16);
  const r = activationStats(m, seqs, { topK: 3, batch: 2 });
  for (let l = 0; l < 2; l++) {
    const per = seqs.map((s) => {
      const { cache } = m.runWithCache((n) => n === `blocks.${l}.hook_resid_post`, () => m.forward(s, 1, 16));
      const abs = Array.from(cache.get(`blocks.${l}.hook_resid_post`)!, Math.abs).sort((a, b) => b - a);
      const med = abs[Math.floor((abs.length - 1) / 2) + (abs.length % 2 === 0 ? 1 : 0)]!; // lower middle of ascending = this index in descending
      return { top: abs.slice(0, 3), med, p1: abs[Math.ceil(0.01 * abs.length) - 1]!, p10: abs[Math.ceil(0.1 * abs.length) - 1]! };
    });
    const mean = (f: (x: (typeof per)[number]) => number): number => per.reduce((a, x) => a + f(x), 0) / per.length;
    const L = r.layers[l]!;
    for (let k = 0; k < 3; k++) close(L.top[k]!, mean((x) => x.top[k]!), 1e-5, `layer ${l} top${k + 1}`);
    close(L.median, mean((x) => x.med), 1e-5, `layer ${l} median`);
    close(L.top1pct, mean((x) => x.p1), 1e-5, `layer ${l} top 1%`);
    close(L.top10pct, mean((x) => x.p10), 1e-5, `layer ${l} top 10%`);
    close(L.ratio, mean((x) => x.top[0]! / x.med), 1e-5, `layer ${l} top1/median`);
    assert.equal(L.top1.length, 3, 'one top-1 entry per sequence');
  }
  assert.ok(formatActivationTable(r).includes('top1/med'), 'table renders');
});

test('planted massive activation, interventions and statistics over checkpoints (trained 3-layer model)', async () => {
  const tr = await trainTiny({ model: { n_layer: 3 }, steps: 100, every: 50 });
  const m = tr.model;
  const T = 64, seqs = datasetWindows(tr.evalBytes, 12, T);
  const base = scoreTokens(m, tr.evalBytes, T);

  // --- statistics over steps, read from the checkpoints (before planting anything)
  assert.deepEqual(listCheckpoints(tr.runDir).map((c) => c.step), [50, 100], 'checkpoints kept');
  const steps = phenomenaOverSteps(tr.backend, tr.runDir, seqs.slice(0, 4));
  assert.deepEqual(steps.map((s) => s.step), [0, 50, 100], 'step 0 (re-created) and every checkpoint');
  const init = createModel(tr.backend, tr.cfg.model, tr.cfg.seed);
  const r0 = layerRatios(init, seqs.slice(0, 4));
  r0.forEach((x, l) => close(steps[0]!.layers[l]!.ratio, x.ratio, 1e-9, `step 0 layer ${l} ratio from the run's own init`));
  const last = layerRatios(loadModelWeights(tr.backend, join(listCheckpoints(tr.runDir)[1]!.path, 'model.safetensors')), seqs.slice(0, 4));
  last.forEach((x, l) => close(steps[2]!.layers[l]!.top1, x.top1, 1e-9, `step 100 layer ${l} top1`));
  close(steps[2]!.firstTokenMass, attentionSinks(m, seqs.slice(0, 4)).meanMass, 1e-9, 'sink mass at the last step = final model');
  steps[2]!.layers.forEach((x, l) => close(x.gain, x.ratio / steps[0]!.layers[l]!.ratio, 1e-12, `gain at layer ${l}`));

  // --- nothing massive in the trained tiny model; plant one at layer 1, token 7, dim 13
  const plain = activationStats(m, seqs, { baseline: init });
  assert.equal(plain.massiveLayers.length, 0, `no absolute massive activation in a tiny model (max |h| ${Math.max(...plain.layers.map((l) => l.maxAbs))})`);
  const L = 1, P = 7, D = 13, V = 3000;
  m.addHook(`blocks.${L}.hook_mlp_out`, (act, ctx) => {
    const [B, TT, C] = ctx.shape as [number, number, number];
    for (let b = 0; b < B; b++) if (P < TT) act[(b * TT + P) * C + D]! += V;
    return act;
  });
  const r = activationStats(m, seqs, { baseline: init });
  assert.deepEqual(r.massiveLayers, [1, 2], `absolute criterion flags layers 1 and 2 (got ${r.massiveLayers})`);
  const first = r.onsets.find((o) => o.criterion === 'absolute')!;
  assert.ok(first, 'an absolute onset is reported');
  assert.deepEqual([first.layer, first.position, first.dim], [L, P, D], `onset at layer ${L}, token ${P}, dim ${D} (got ${JSON.stringify(first)})`);
  assert.equal(first.sequences, seqs.length, 'present in every sequence');
  assert.equal(r.layers[1]!.absolute.count, seqs.length, 'exactly one massive entry per sequence at layer 1');
  assert.ok(r.layers[1]!.top1.every((e) => e.position === P && e.dim === D), 'every top-1 entry sits at (7, 13)');
  assert.ok(r.layers[1]!.top1.every((e) => e.token === seqs[e.seq]![P]), 'token ids of the top-1 entries');
  assert.ok((r.layers[1]!.dims.find((d) => d.key === D)?.count ?? 0) >= seqs.length, `dim 13 in the top-K dimension histogram: ${JSON.stringify(r.layers[1]!.dims.slice(0, 3))}`);
  assert.ok(r.relativeLayers.includes(1) && !r.relativeLayers.includes(0), `relative criterion: layer 1 flagged, layer 0 not (${r.relativeLayers})`);
  assert.ok(r.layers[1]!.relative!.gain > 50, `gain over step 0 at layer 1: ${r.layers[1]!.relative!.gain}`);

  // --- interventions at the onset: zero restores the unplanted model (the planted entry dominates), mean keeps it
  const targets = targetsFromReport(r, 'absolute');
  assert.deepEqual(targets, [{ layer: L, dim: D, position: P }], `targets from the report: ${JSON.stringify(targets)}`);
  const res = interventionExperiment(m, targets, { evalTokens: tr.evalBytes, T, meanSeqs: seqs });
  const [orig, zero, mean] = res.rows;
  assert.ok(orig!.perplexity > base.perplexity * 1.02, `the planted activation hurts (${orig!.perplexity} vs ${base.perplexity})`);
  assert.ok(Math.abs(res.targets[0]!.mean - V) < 50, `dataset mean ≈ planted value: ${res.targets[0]!.mean}`);
  close(mean!.perplexity, orig!.perplexity, 2e-3, 'mean intervention leaves perplexity unchanged');
  assert.ok(Math.abs(zero!.perplexity - base.perplexity) < Math.abs(orig!.perplexity - base.perplexity) / 3,
    `zeroing removes most of the damage (zero ${zero!.perplexity}, unplanted ${base.perplexity}, planted ${orig!.perplexity})`);
  assert.equal(zero!.replaced, Math.ceil((tr.evalBytes.length - 1) / T), 'one replacement per evaluation window');
  // a detection target (no position) selects the same entries
  const det = interventionExperiment(m, [{ layer: L, dim: D, minAbs: V / 2 }], { evalTokens: tr.evalBytes, T, meanSeqs: seqs, modes: ['zero'] });
  close(det.rows[1]!.perplexity, zero!.perplexity, 1e-9, 'detection target = fixed-position target');
  // analysis hooks compose with a model hook at the same point: the planted hook runs first
  const seen: number[] = [];
  withHooks(m, new Map([[`blocks.${L}.hook_mlp_out`, (act: Float32Array | Float64Array, ctx: { shape: readonly number[] }) => { seen.push(act[P * ctx.shape[2]! + D]!); }]]), () => m.forward(seqs[0]!, 1, T));
  assert.ok(seen.length === 1 && seen[0]! > V / 2, `the analysis hook sees the planted value (${seen})`);
  assert.equal(m.hooks.size, 1, 'withHooks restores the model hooks');
  m.clearHooks();
});
