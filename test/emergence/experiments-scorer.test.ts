import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackend } from '../../src/engine/index.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/init.ts';
import { evaluateTask } from '../../src/emergence/evaluate.ts';
import { getTask } from '../../src/emergence/tasks/index.ts';
import { byteCodec, charCodec, CodecError, ModelScorer } from '../../src/emergence/scorer.ts';

const backend = await createBackend('auto');

test('byteCodec round-trips UTF-8 text, including multi-byte characters', () => {
  const s = 'naïve 12+34=46\n€';
  const ids = byteCodec.encode(s);
  assert.equal(ids.length, new TextEncoder().encode(s).length);
  assert.ok(ids.every((i) => i >= 0 && i < 256), 'byte ids');
  assert.equal(byteCodec.decode(ids), s);
});

test('charCodec: ids follow the alphabet; unknown characters and duplicates are errors', () => {
  const c = charCodec('0123456789+=\n');
  assert.equal(c.vocab, 13);
  assert.deepEqual(c.encode('12+3='), [1, 2, 10, 3, 11]);
  assert.equal(c.decode([1, 2, 10, 3, 11, 99]), '12+3=\uFFFD');
  assert.throws(() => c.encode('1a'), (e: unknown) => e instanceof CodecError && /"a"/.test((e as Error).message));
  assert.throws(() => charCodec('aba'), CodecError);
});

function tinyModel(vocab = 256, ctx = 48) {
  return createModel(backend, resolveConfig({ n_layer: 2, n_head: 2, d_model: 16, vocab, ctx }), 11);
}

function logSoftmax(row: ArrayLike<number>, off: number, V: number): Float64Array {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, row[off + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(row[off + v]! - m);
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = row[off + v]! - m - Math.log(s);
  return out;
}

test('ModelScorer.scoreContinuations equals log-softmax of a plain forward pass over prompt+target', () => {
  const model = tinyModel();
  const scorer = new ModelScorer(model);
  const prompts = ['12+34=', 'x', 'hello '], targets = ['46', 'yz', 'world'];
  const got = scorer.scoreContinuations(prompts, targets);
  prompts.forEach((p, k) => {
    const ids = byteCodec.encode(p + targets[k]!), n = byteCodec.encode(p).length;
    model.forward(Int32Array.from(ids), 1, ids.length);
    const lg = model.logits(), V = 256;
    const want = ids.slice(n).map((tok, j) => logSoftmax(lg, (n + j - 1) * V, V)[tok]!);
    assert.equal(got[k]!.length, want.length, `pair ${k} length`);
    want.forEach((w, j) => assert.ok(Math.abs(got[k]![j]! - w) < 1e-4, `pair ${k} token ${j}: ${got[k]![j]} vs ${w}`));
  });
});

test('ModelScorer.generateGreedy equals a step-by-step argmax over full forward passes; prompts must leave room in ctx', () => {
  const model = tinyModel();
  const scorer = new ModelScorer(model, { stop: null });
  const prompts = ['ab', '1234+5678='];
  const out = scorer.generateGreedy(prompts, 6);
  prompts.forEach((p, k) => {
    const ids = byteCodec.encode(p);
    const gen: number[] = [];
    for (let s = 0; s < 6; s++) {
      const seq = [...ids, ...gen];
      model.forward(Int32Array.from(seq), 1, seq.length);
      const lg = model.logits(), V = 256, off = (seq.length - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (lg[off + v]! > lg[off + best]!) best = v;
      gen.push(best);
    }
    assert.deepEqual(out[k]!.tokens, gen, `prompt ${k}`);
  });
  assert.throws(() => scorer.generateGreedy(['x'.repeat(48)], 4), CodecError);
});

test('evaluateTask through a ModelScorer: every metric present and in range; token-level metrics use the codec', async () => {
  const model = tinyModel();
  const scorer = new ModelScorer(model);
  const rep = await evaluateTask(scorer, getTask('addition'), { n: 12, taskOptions: { digits: 2 }, batchSize: 5 });
  const m = rep.metrics;
  assert.equal(rep.n, 12);
  assert.equal(rep.tokenization, 'scorer');
  assert.ok(m.exact_match! >= 0 && m.exact_match! <= 1, `EM ${m.exact_match}`);
  assert.ok(m.token_edit_distance! >= 0, `TED ${m.token_edit_distance}`);
  assert.ok(m.target_loglik! < 0 && Number.isFinite(m.target_loglik!), `loglik ${m.target_loglik}`);
  // an untrained byte model is close to uniform: cross-entropy near ln 256
  assert.ok(Math.abs(m.target_ce! - Math.log(256)) < 0.5, `CE ${m.target_ce} vs ln 256`);
  const mc = await evaluateTask(scorer, getTask('addition-mc'), { n: 6, taskOptions: { digits: 2 }, generate: false });
  assert.equal(mc.nMultipleChoice, 6);
  assert.ok(mc.metrics.brier! >= 0 && mc.metrics.brier! <= 2, `brier ${mc.metrics.brier}`);
});
