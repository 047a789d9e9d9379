// Super weights: a super weight planted in a trained model is found at its exact coordinates (relative and
// absolute rules), the search leaves the model unchanged, the pruning table and the super-activation restore
// are checked against direct computations, and stopword probabilities against token log-probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  datasetWindows, stack, findSuperWeights, plantSuperWeight, spikeRule, scanDownProj, pruningExperiment, largestDownProjWeights,
  downProjName, scoreTokens, withZeroed, stopwordProbabilities, stopwordShift, frequentStopwords, englishStopwords,
  wordStartContexts, clozeItems, mcAccuracy,
} from '../../src/phenomena/index.ts';
import { bytesCodec } from '../../src/train/runs.ts';
import { tokenLogprobs } from '../../src/train/generate.ts';
import { trainTiny } from './fixture.ts';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('stopword list and frequencies', () => {
  const list = englishStopwords();
  assert.ok(list.length > 100 && list.includes('the') && list.includes('and'), `stdlib stopwords (${list.length})`);
  const f = frequentStopwords('The cat and the dog. THE end, and then', 3);
  assert.deepEqual(f, [{ word: 'the', count: 3 }, { word: 'and', count: 2 }, { word: 'then', count: 1 }], JSON.stringify(f));
});

test('planted super weight: found at its coordinates; pruning table; restore; stopword shift', async () => {
  const tr = await trainTiny({ model: { d_model: 64, n_head: 4 }, steps: 150 });
  const m = tr.model, F = m.config.d_ff;
  const T = 64, seqs = datasetWindows(tr.evalBytes, 4, T), ids = stack(seqs);
  const evalTokens = tr.evalBytes.subarray(0, 2500);
  // before planting: no layer spikes under the relative rule
  const clean = findSuperWeights(m, ids, 4, T);
  assert.equal(clean.weights.length, 0, `no super weight in the trained tiny model: ${JSON.stringify(clean.rounds[0]!.map((s) => [s.inDominance, s.outDominance]))}`);
  // plant at the layer-1 input channel that activates most (with GELU, a channel that is never positive stays 0 when scaled)
  const layer = 1, row = 9, column = clean.rounds[0]![1]!.inChannel;
  plantSuperWeight(m, { layer, row, column, value: 2, inputGain: 10 });
  const before = Float32Array.from(m.params);
  const found = findSuperWeights(m, ids, 4, T, { rule: spikeRule('relative') });
  assert.deepEqual(m.params, before, 'the search restores every weight it zeroed');
  assert.equal(found.weights.length, 1, `one super weight (${JSON.stringify(found.weights)})`);
  const sw = found.weights[0]!;
  assert.deepEqual([sw.layer, sw.row, sw.column], [layer, row, column], `found at [${sw.layer}] [${sw.row}, ${sw.column}]`);
  assert.equal(sw.tensor, downProjName(m, layer), 'tensor name');
  assert.equal(sw.value, 2, 'value read from the weight');
  assert.equal(found.rounds.length, 2, 'a second round finds no spike after zeroing');
  assert.ok(!found.rounds[1]!.some((s) => s.spike), 'no spike in round 2');
  // the absolute rule with a threshold below the planted spikes finds the same weight; 50 finds nothing
  const abs = findSuperWeights(m, ids, 4, T, { rule: spikeRule('absolute', 5) });
  assert.deepEqual(abs.weights.map((w) => [w.layer, w.row, w.column]), [[layer, row, column]], 'absolute rule, threshold 5');
  assert.equal(findSuperWeights(m, ids, 4, T, { rule: spikeRule('absolute') }).weights.length, 0, 'threshold 50 (7B models) is out of reach at this scale');
  // the scan reports the planted channels
  const scan = scanDownProj(m, ids, 4, T, spikeRule('relative'));
  assert.equal(scan[layer]!.inChannel, column, 'input spike at the planted column');
  assert.equal(scan[layer]!.outChannel, row, 'output spike at the planted row');

  // largest other weights: brute force
  const top = largestDownProjWeights(m, 50, [sw]);
  const all: { tensor: string; index: number; a: number }[] = [];
  for (let l = 0; l < m.config.n_layer; l++) m.p(downProjName(m, l)).forEach((v, index) => all.push({ tensor: downProjName(m, l), index, a: Math.abs(v) }));
  const brute = all.filter((x) => !(x.tensor === sw.tensor && x.index === row * F + column)).sort((a, b) => b.a - a.a).slice(0, 50);
  assert.deepEqual(top.map((x) => Math.abs(x.value)), brute.map((x) => x.a), 'top-50 other down-proj magnitudes');
  assert.ok(!top.some((x) => x.tensor === sw.tensor && x.index === row * F + column), 'the super weight is excluded');

  // pruning table against direct evaluation
  const task = clozeItems(new TextDecoder().decode(tr.evalBytes), bytesCodec, { n: 12 });
  const rows = pruningExperiment(m, [sw], { evalTokens, T, topK: 200, task });
  assert.deepEqual(rows.map((r) => r.zeroed), [0, 1, 1, 200, 1], 'weights zeroed per row');
  close(rows[0]!.perplexity, scoreTokens(m, evalTokens, T).perplexity, 1e-9, 'original row');
  const direct = withZeroed(m, [{ tensor: sw.tensor, index: row * F + column }], () => scoreTokens(m, evalTokens, T));
  close(rows[1]!.perplexity, direct.perplexity, 1e-9, 'super weight pruned = direct evaluation with the weight zeroed');
  assert.notEqual(rows[1]!.perplexity, rows[0]!.perplexity, 'pruning the super weight changes perplexity');
  close(rows[0]!.taskAccuracy!, mcAccuracy(m, task).accuracy, 1e-12, 'task accuracy of the original');
  assert.deepEqual(m.params, before, 'the pruning experiment restores the weights');
  // restore with threshold 0 writes back the whole output channel: exactly the original model
  const full = pruningExperiment(m, [sw], { evalTokens, T, topK: 10, restoreFrac: 0 });
  close(full[4]!.perplexity, rows[0]!.perplexity, 1e-5, 'restoring the whole channel recovers the original perplexity');
  assert.ok(full[4]!.restored! > rows[4]!.restored!, `the default restores only the super activation (${rows[4]!.restored} of ${full[4]!.restored} entries)`);

  // stopword probabilities: brute force for one word and context
  const text = new TextDecoder().decode(tr.evalBytes);
  const contexts = wordStartContexts(text, bytesCodec, 6, 40);
  const words = frequentStopwords(text, 4).map((w) => w.word);
  const probs = stopwordProbabilities(m, bytesCodec, contexts, words);
  let p = 0;
  for (const c of contexts) {
    const lp = tokenLogprobs(m, [...c, ...bytesCodec.encode(words[0]! + ' ')]).slice(c.length - 1);
    p += Math.exp(lp.reduce((a, b) => a + b, 0));
  }
  close(probs[0]!.prob, p / contexts.length, 1e-6, `p('${words[0]} ')`);
  const shift = stopwordShift(m, [sw], bytesCodec, contexts, words);
  const after = withZeroed(m, [{ tensor: sw.tensor, index: row * F + column }], () => stopwordProbabilities(m, bytesCodec, contexts, words));
  shift.words.forEach((w, i) => close(w.ratio, after[i]!.prob / probs[i]!.prob, 1e-9, `ratio for '${w.word}'`));
  assert.ok(shift.geoMeanRatio > 0 && Number.isFinite(shift.geoMeanRatio), `geometric mean ratio ${shift.geoMeanRatio}`);
});

test('Llama-style model from a Hugging Face directory (SwiGLU, RMSNorm, GQA): planted super weight found in mlp.down.w', async () => {
  const { RefBackend } = await import('../../src/engine/ref/index.ts');
  const { openModel, PhenomenaError, analysisTokens, activationStats } = await import('../../src/phenomena/index.ts');
  const dir = new URL('../../../shared/fixtures/llama-tiny', import.meta.url).pathname;
  const om = openModel(new RefBackend(), dir);
  assert.equal(om.kind, 'hf', 'opened as a Hugging Face directory');
  assert.throws(() => analysisTokens(om), PhenomenaError, 'an HF directory needs --data');
  const m = om.model, c = m.config;
  assert.equal(c.activation, 'swiglu', 'fixture is SwiGLU');
  const ids = Int32Array.from({ length: 3 * 16 }, (_, i) => (i * 13 + 5) % c.vocab);
  const stats = activationStats(m, [ids.subarray(0, 16), ids.subarray(16, 32), ids.subarray(32, 48)]);
  assert.equal(stats.layers.length, c.n_layer, 'statistics per layer');
  const layer = 1, row = 3, column = 50;
  plantSuperWeight(m, { layer, row, column, value: 4, inputGain: 60 });
  const found = findSuperWeights(m, ids, 3, 16);
  assert.deepEqual(found.weights.map((w) => [w.layer, w.tensor, w.row, w.column]), [[layer, 'blocks.1.mlp.down.w', row, column]],
    `found ${JSON.stringify(found.weights)} (scan ${JSON.stringify(found.rounds[0]!.map((s) => [s.inDominance, s.outDominance]))})`);
});
