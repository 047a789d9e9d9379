// Dequantized evaluation: model quantization against per-tensor brute force, size accounting, activation fake
// quantization against quantizeVector, and the acceptance case — on a trained model with an injected outlier
// weight, outlier-aware 4-bit block quantization recovers most of the perplexity lost by naive quantization.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { createModel } from '../../src/model/init.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { quantizeModel, quantizedTensorNames, activationQuantHooks } from '../../src/quantize/model.ts';
import { quantizationTable, formatQuantTable } from '../../src/quantize/evaluate.ts';
import { quantizeTensor, quantizeVector } from '../../src/quantize/rtn.ts';
import { cloneModel, plantSuperWeight, findSuperWeights, datasetWindows, stack } from '../../src/phenomena/index.ts';
import { trainTiny } from '../phenomena/fixture.ts';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('quantizeModel quantizes exactly the linear weights, holds out coordinates, and counts bytes', () => {
  const be = new RefBackend();
  const cfg = resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, ctx: 8, vocab: 40 });
  const m = createModel(be, cfg, 4);
  const names = quantizedTensorNames(m);
  assert.deepEqual(names, ['blocks.0.attn.qkv.w', 'blocks.0.attn.proj.w', 'blocks.0.mlp.fc.w', 'blocks.0.mlp.proj.w',
    'blocks.1.attn.qkv.w', 'blocks.1.attn.proj.w', 'blocks.1.mlp.fc.w', 'blocks.1.mlp.proj.w'], 'linear weights');
  const keep = [{ tensor: 'blocks.1.mlp.proj.w', index: 37 }];
  m.p('blocks.1.mlp.proj.w')[37] = 5;
  const { model: q, report } = quantizeModel(m, { bits: 4, block: 8, keep });
  assert.equal(q.p('blocks.1.mlp.proj.w')[37], 5, 'held-out weight exact');
  assert.deepEqual(m.p('blocks.1.mlp.proj.w')[37], 5, 'source model untouched');
  for (const s of m.layout.specs) {
    const a = m.p(s.name), b = q.p(s.name);
    if (!names.includes(s.name)) assert.deepEqual(b, a, `${s.name} unchanged`);
    else {
      const [rows, cols] = s.shape as [number, number];
      const ref = quantizeTensor(a, rows, cols, { bits: 4, block: 8, holdOut: keep.filter((k) => k.tensor === s.name).map((k) => k.index) });
      assert.deepEqual(b, ref.xhat, `${s.name} dequantized`);
    }
  }
  let bits = 0, n = 0;
  for (const name of names) {
    const [rows, cols] = m.spec(name).shape as [number, number];
    bits += rows * cols * 4 + 32 * rows * Math.ceil(cols / 8);
    n += rows * cols;
  }
  bits += 64; // one held-out weight
  close(report.bytesQuantized, (bits + 32 * (m.layout.total - n)) / 8, 1e-9, 'bytes');
  close(report.compression, (m.layout.total * 4) / report.bytesQuantized, 1e-12, 'compression');
  assert.equal(report.tensors.find((t) => t.name === 'blocks.1.mlp.proj.w')!.heldOut, 1, 'held-out count');
});

test('activation fake quantization equals quantizeVector per sequence; kept super activations stay exact', () => {
  const be = new RefBackend();
  const m = createModel(be, resolveConfig({ n_layer: 1, n_head: 2, d_model: 8, ctx: 4, vocab: 16 }), 1);
  const B = 2, T = 4, C = 8;
  const act = Float32Array.from({ length: B * T * C }, (_, i) => Math.sin(i * 1.7) * 3);
  act[(1 * T + 2) * C + 5] = 90; // a super activation in sequence 1
  const orig = Float32Array.from(act);
  const stats = { kept: 0 };
  const hooks = activationQuantHooks(m, { bits: 8, points: ['mlp_out'], keep: [{ layer: 0, channel: 5, minAbs: 50 }] }, stats);
  const h = hooks.get('blocks.0.hook_mlp_out')!;
  h(act, { name: 'blocks.0.hook_mlp_out', shape: [B, T, C], layer: 0 });
  assert.equal(stats.kept, 1, 'one kept entry');
  assert.equal(act[(1 * T + 2) * C + 5], 90, 'super activation unchanged');
  const s0 = quantizeVector(orig.subarray(0, T * C), 8);
  for (let i = 0; i < T * C; i++) close(act[i]!, s0.xhat[i]!, 1e-5, `sequence 0 entry ${i}`);
  const idx = (2 * C + 5);
  const rest = Array.from(orig.subarray(T * C)).filter((_, i) => i !== idx);
  const s1 = quantizeVector(rest, 8);
  let k = 0;
  for (let i = 0; i < T * C; i++) if (i !== idx) close(act[T * C + i]!, s1.xhat[k++]!, 1e-5, `sequence 1 entry ${i} (range without the kept entry)`);
  // naive: the outlier sets the range, the other entries lose precision
  const naive = Float32Array.from(orig);
  activationQuantHooks(m, { bits: 8, points: ['mlp_out'] }).get('blocks.0.hook_mlp_out')!(naive, { name: '', shape: [B, T, C], layer: 0 });
  let eN = 0, eK = 0;
  for (let i = T * C; i < 2 * T * C; i++) if (i !== T * C + idx) { eN += (naive[i]! - orig[i]!) ** 2; eK += (act[i]! - orig[i]!) ** 2; }
  assert.ok(eN > 10 * eK, `keeping the super activation cuts the error (${eN} vs ${eK})`);
});

test('injected outlier weight: outlier-aware 4-bit block quantization recovers most of the naive loss', async () => {
  const tr = await trainTiny({ model: { d_model: 64, n_head: 4 }, steps: 200 });
  const m = cloneModel(tr.model), F = m.config.d_ff;
  const evalTokens = tr.evalBytes.subarray(0, 3000);
  const layer = 1, row = 9, column = 77;
  plantSuperWeight(m, { layer, row, column, value: 3, inputGain: 1 });
  const keep = [{ tensor: `blocks.${layer}.mlp.proj.w`, index: row * F + column }];
  const rows = quantizationTable(m, { evalTokens, T: 64, bits: [4], block: 128, keep, actBits: 8 });
  if (process.env.LMLAB_TEST_VERBOSE) console.log(formatQuantTable(rows));
  const by = (label: string) => rows.find((r) => r.label === label)!;
  const fp = by('fp32'), naive = by('W4 naive per-tensor'), naiveBlock = by('W4 naive block'), aware = by('W4 block + super weights held out');
  const awarePT = by('W4 per-tensor + super weights held out');
  const table = formatQuantTable(rows);
  const lost = naive.loss - fp.loss, left = aware.loss - fp.loss;
  assert.ok(lost > 0.01, `naive per-tensor W4 loses perplexity (Δloss ${lost})\n${table}`);
  assert.ok(left < 0.5 * lost, `outlier-aware block W4 recovers most of it (left ${left} of ${lost})\n${table}`);
  assert.ok(awarePT.loss < naive.loss, `holding the outlier out helps even per tensor\n${table}`);
  assert.ok(aware.keptFullPrecision === 1 && naiveBlock.keptFullPrecision === 0, 'one weight kept in fp32');
  assert.ok(aware.bytes - naiveBlock.bytes === 8, 'the held-out weight costs 8 bytes');
  assert.ok(aware.compression > 3 && aware.compression < 8, `4-bit compression ${aware.compression}`);
  // the damage is local: the outlier's tensor loses far less precision with the hold-out
  const naiveQ = quantizeTensor(m.p(keep[0]!.tensor), m.config.d_model, F, { bits: 4, block: 128 });
  const awareQ = quantizeTensor(m.p(keep[0]!.tensor), m.config.d_model, F, { bits: 4, block: 128, holdOut: [keep[0]!.index] });
  const blockOf = Math.floor(column / 128), a = row * F + blockOf * 128, b = a + 128;
  let eN = 0, eA = 0;
  for (let i = a; i < b; i++) { eN += (naiveQ.xhat[i]! - m.p(keep[0]!.tensor)[i]!) ** 2; eA += (awareQ.xhat[i]! - m.p(keep[0]!.tensor)[i]!) ** 2; }
  assert.ok(eN > 20 * eA, `the outlier's block: squared error ${eN} naive vs ${eA} held out`);
  // activation rows are present, and the super weight search sees the planted weight only with an input spike
  assert.ok(rows.some((r) => r.label === 'W8A8 naive'), 'W8A8 row');
  const ids = stack(datasetWindows(evalTokens, 4, 64));
  assert.equal(findSuperWeights(m, ids, 4, 64).weights.length, 0, 'an outlier weight without a large input is not a super weight');
});
