import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '../../src/engine/index.ts';
import { GPT } from '../../src/model/gpt.ts';
import { createModel } from '../../src/model/init.ts';
import { modularAdditionDataset } from '../../src/emergence/grokking.ts';
import { ExperimentError, toCsv, writeExperiment, type ExperimentResult } from '../../src/emergence/experiments/common.ts';
import { runGrokkingExperiment, trainGrokking } from '../../src/emergence/experiments/grokking.ts';
import { detectPhaseChange, disableMlps, inductionModelConfig, trainInduction } from '../../src/emergence/experiments/induction.ts';
import { analyzeMirage, mirageCorpus, reversedAdditionTask, type MirageModelResult } from '../../src/emergence/experiments/mirage.ts';
import { getTask } from '../../src/emergence/tasks/index.ts';
import { Rng } from '../../src/emergence/rng.ts';

const backend = await createBackend('auto');

// ------------------------------------------------------------------------------------------------ common

test('toCsv quotes cells with commas, quotes and newlines; empty for null and non-finite', () => {
  const csv = toCsv([{ a: 1, b: 'x,y' }, { a: null, b: 'say "hi"', c: Infinity }]);
  assert.equal(csv, 'a,b,c\n1,"x,y",\n,"say ""hi""",\n');
});

test('writeExperiment writes the JSON and every table, and rejects a figure without its table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-exp-'));
  try {
    const result: ExperimentResult = {
      experiment: 'demo', version: 1, createdAt: 'now', backend: 'ref', seconds: 0, options: {}, outcome: { ok: true }, notes: [],
      figures: [{ id: 'f', title: 't', kind: 'line', file: 'f.csv', x: 'step', y: ['loss'] }],
    };
    const paths = writeExperiment(dir, result, { 'f.csv': [{ step: 1, loss: 2 }] });
    assert.equal(paths.length, 2, `wrote ${paths.join(', ')}`);
    assert.equal(readFileSync(join(dir, 'f.csv'), 'utf8'), 'step,loss\n1,2\n');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')).outcome, { ok: true });
    assert.throws(() => writeExperiment(dir, result, {}), (e: unknown) => e instanceof ExperimentError && /f\.csv/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------------------ phase-change detector

function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const grid = (f: (t: number) => number, seed = 1, amp = 0.04) => {
  const r = noise(seed);
  return Array.from({ length: 76 }, (_, i) => ({ step: i * 20, loss: f(i * 20) + amp * r() }));
};

test('detectPhaseChange: plateau then sigmoid drop is detected and located', () => {
  for (const [centre, seed] of [[500, 1], [800, 2], [1100, 3]] as const) {
    const pts = grid((t) => 4.8 - 4.3 / (1 + Math.exp(-(t - centre) / 25)), seed);
    const pc = detectPhaseChange(pts);
    assert.ok(pc.detected, `centre ${centre}: ${pc.reasons.join('; ')}`);
    assert.ok(pc.windowStart >= centre - 120 && pc.windowEnd <= centre + 120, `centre ${centre}: window ${pc.windowStart}–${pc.windowEnd}`);
    assert.ok(Math.abs(pc.step50! - centre) <= 40, `centre ${centre}: step50 ${pc.step50}`);
    assert.ok(pc.drop > 4, `drop ${pc.drop}`);
  }
});

test('detectPhaseChange: exponential decay from the start, a linear decline and a flat curve are not phase changes', () => {
  const expo = detectPhaseChange(grid((t) => 0.5 + 4.3 * Math.exp(-t / 250)));
  assert.equal(expo.detected, false, `exponential: ${expo.reasons.join('; ')}`);
  const lin = detectPhaseChange(grid((t) => 4.8 - (2.5 * t) / 1500));
  assert.equal(lin.detected, false, `linear: ${lin.reasons.join('; ')}`);
  assert.ok(lin.sharpness < 3, `linear sharpness ${lin.sharpness}`);
  const flat = detectPhaseChange(grid(() => 4.8, 5, 0.1));
  assert.equal(flat.detected, false, `flat: ${flat.reasons.join('; ')}`);
  assert.throws(() => detectPhaseChange([{ step: 0, loss: 1 }]), ExperimentError);
});

// ------------------------------------------------------------------------------------------------ grokking machinery

test('grokking run (p = 23): memorises the training set; accuracies match an independent per-example pass', () => {
  const ds = modularAdditionDataset({ p: 23, trainFraction: 0.5, seed: 0 });
  const r = trainGrokking(backend, { p: 23, trainFraction: 0.5, d_model: 32, d_mlp: 64, n_head: 4, steps: 200, evalEvery: 10, lr: 3e-3 }, undefined, ds);
  assert.equal(r.curve.length, 21, `curve has ${r.curve.length} points`);
  assert.equal(r.nTrain + r.nTest, 23 * 23);
  assert.ok(r.finalTrainAcc >= 0.95, `train accuracy after 200 steps ${r.finalTrainAcc}`);
  assert.ok(r.stepTrain99 !== null && r.stepTrain99 <= 200, `stepTrain99 ${r.stepTrain99}`);
  assert.ok(r.curve[0]!.train_acc < 0.2, `step-0 accuracy ${r.curve[0]!.train_acc}`);
  // independent accuracy: one example at a time, argmax over the p answers at position 2
  const single = new GPT(backend, r.model!.config, r.model!.params);
  let correct = 0;
  for (let i = 0; i < ds.test.n; i++) {
    single.forward(ds.test.inputs.subarray(3 * i, 3 * i + 3), 1, 3);
    const lg = single.logits(), V = single.config.vocab;
    let best = 0;
    for (let v = 1; v < 23; v++) if (lg[2 * V + v]! > lg[2 * V + best]!) best = v;
    if (best === ds.test.labels[i]) correct++;
  }
  assert.ok(Math.abs(correct / ds.test.n - r.finalTestAcc) < 1e-9, `independent test acc ${correct / ds.test.n} vs curve ${r.finalTestAcc}`);
});

test('grokking: weight decay 1.0 shrinks the weights relative to weight decay 0 (same seed, same data)', () => {
  const o = { p: 23, trainFraction: 0.5, d_model: 32, d_mlp: 64, n_head: 4, steps: 150, evalEvery: 50, lr: 3e-3 };
  const wd = trainGrokking(backend, { ...o, weightDecay: 1 });
  const none = trainGrokking(backend, { ...o, weightDecay: 0 });
  const a = wd.curve[wd.curve.length - 1]!.weight_norm, b = none.curve[none.curve.length - 1]!.weight_norm;
  assert.equal(wd.curve[0]!.weight_norm, none.curve[0]!.weight_norm, 'same initial weights');
  assert.ok(a < b * 0.97, `weight norm with decay ${a} vs without ${b}`);
});

test('grokking experiment: conditions, checks and figure tables are consistent', () => {
  const { result, tables } = runGrokkingExperiment(backend, { p: 11, fractions: [0.5, 0.3], d_model: 16, d_mlp: 32, n_head: 2, steps: 40, evalEvery: 10 });
  const out = result.outcome;
  assert.deepEqual(out.runs.map((r) => r.condition), ['wd=1 frac=0.5', 'wd=1 frac=0.3', 'wd=0 frac=0.5']);
  assert.equal(out.checks.baseFraction, 0.5);
  assert.equal(out.checks.controlNotGeneralized, out.runs[2]!.stepTest95 === null);
  assert.equal(out.checks.delayAtLeast5x, out.runs[0]!.delayRatio !== null && out.runs[0]!.delayRatio >= 5);
  const rows = tables['grokking_curves.csv']!;
  assert.ok(rows.length >= 3 * 2, `curve rows ${rows.length}`);
  for (const f of result.figures) assert.ok(f.file in tables, `figure ${f.id} data ${f.file}`);
  assert.ok(result.notes.length >= 2, 'notes written');
});

// ------------------------------------------------------------------------------------------------ induction machinery

test('attention-only: the disabled MLP adds exactly nothing (equal to zeroing its output by a hook)', () => {
  const cfg = inductionModelConfig({ n_layer: 2, d_model: 16, n_head: 2, vocab: 20, maxHalf: 6 });
  const m = createModel(backend, cfg, 3);
  // make the MLP input path non-trivial first, then disable
  for (const n of ['blocks.0.mlp.fc.w', 'blocks.1.mlp.fc.w']) m.p(n).fill(0.5);
  const frozen = disableMlps(m);
  assert.deepEqual(frozen, ['blocks.0.mlp.proj.w', 'blocks.0.mlp.proj.b', 'blocks.1.mlp.proj.w', 'blocks.1.mlp.proj.b']);
  const ids = Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 20);
  m.forward(ids, 2, 12);
  const a = Float32Array.from(m.logits());
  const h = new GPT(backend, cfg, m.params);
  for (const l of [0, 1]) h.addHook(`blocks.${l}.hook_mlp_out`, (act) => new Float32Array(act.length));
  h.forward(ids, 2, 12);
  const b = h.logits();
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i], `logit ${i}`);
});

test('induction run (tiny): loss falls from ln V, the frozen MLP stays zero, scores are attention probabilities', () => {
  const r = trainInduction(backend, { vocab: 16, minHalf: 4, maxHalf: 6, d_model: 16, n_head: 2, batch: 8, steps: 120, evalEvery: 20, evalRows: 4, lr: 3e-3 });
  assert.equal(r.curve.length, 7, `curve points ${r.curve.length}`);
  assert.ok(Math.abs(r.curve[0]!.loss - Math.log(16)) < 0.3, `initial loss ${r.curve[0]!.loss} vs ln 16`);
  assert.ok(r.curve[r.curve.length - 1]!.loss < r.curve[0]!.loss, 'loss decreased');
  for (const n of ['blocks.0.mlp.proj.w', 'blocks.0.mlp.proj.b', 'blocks.1.mlp.proj.w', 'blocks.1.mlp.proj.b']) {
    assert.ok(r.model!.p(n).every((v) => v === 0), `${n} stayed zero`);
  }
  for (const q of r.curve) {
    assert.ok(q.induction_score >= 0 && q.induction_score <= 1, `induction score ${q.induction_score}`);
    assert.ok(q.prev_token_score >= 0 && q.prev_token_score <= 1, `prev-token score ${q.prev_token_score}`);
  }
  assert.ok(r.contextUniformLoss > 0 && r.contextUniformLoss < Math.log(16), `context baseline ${r.contextUniformLoss}`);
  assert.ok(r.activeParams < r.params, 'inert MLP not counted as active');
});

// ------------------------------------------------------------------------------------------------ mirage pieces

test('mirage corpus: about the requested share of addition bytes, and no held-out problem in the training bytes', () => {
  const c = mirageCorpus({ digits: 4, arithmeticShare: 0.5, textBytes: 40_000, seed: 0, format: 'plain' });
  const share = c.arithmeticBytes / (c.arithmeticBytes + c.textBytes);
  assert.ok(share > 0.4 && share < 0.6, `addition share ${share}`);
  const text = new TextDecoder().decode(c.train);
  const evalEx = getTask('addition').generate(new Rng('mirage-eval-0'), 'eval', 200, { digits: 4 });
  const leaked = evalEx.filter((e) => text.includes('\n' + e.prompt + e.target + '\n'));
  assert.equal(leaked.length, 0, `held-out problems found in training text: ${leaked.slice(0, 3).map((e) => e.prompt).join(' ')}`);
  const trainEx = getTask('addition').generate(new Rng(5), 'train', 50, { digits: 4 });
  assert.ok(trainEx.length === 50, 'train split draws');
});

test('reversed addition: same problems and split as addition, answer digits reversed', () => {
  const a = getTask('addition').generate(new Rng(3), 'eval', 30, { digits: 4 });
  const r = reversedAdditionTask.generate(new Rng(3), 'eval', 30, { digits: 4 });
  a.forEach((e, i) => {
    assert.equal(r[i]!.prompt, e.prompt, `prompt ${i}`);
    assert.equal(r[i]!.target, [...e.target].reverse().join(''), `target ${i}`);
    assert.equal(r[i]!.meta.key, e.meta.key);
  });
});

function fakeModel(i: number, em: number, p: number): MirageModelResult {
  const T = 5;
  return {
    spec: { n_layer: 1, d_model: 8 * (i + 1), n_head: 2 }, params: Math.round(1000 * 2 ** i), nonEmbeddingParams: 500 * 2 ** i, valLoss: 2 - 0.1 * i, finalTrainLoss: 2,
    metrics: { exact_match: em, token_accuracy: p, token_edit_distance: T * (1 - p), normalized_edit_distance: 1 - p, target_loglik: T * Math.log(p), target_ce: -Math.log(p), mean_token_prob: p, target_seq_prob: p ** T },
    seconds: 0,
  };
}

test('analyzeMirage: a step in EM over smooth per-token metrics passes the check; a smooth EM does not', () => {
  const p = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const step = analyzeMirage(p.map((q, i) => fakeModel(i, [0, 0, 0, 0, 0, 0.01, 0.4, 0.8][i]!, q)), 4);
  assert.equal(step.checks.params.exactMatchLabel, 'emergent', step.notes.join(' | '));
  assert.equal(step.checks.params.editDistanceLabel, 'smooth', step.notes.join(' | '));
  assert.ok(step.checks.params.mirageReproduced, step.notes.join(' | '));
  const smooth = analyzeMirage(p.map((q, i) => fakeModel(i, q - 0.2, q)), 4);
  assert.equal(smooth.checks.params.mirageReproduced, false, smooth.notes.join(' | '));
  assert.ok(step.tables['mirage_models.csv']!.length === 8, 'one row per model');
});
