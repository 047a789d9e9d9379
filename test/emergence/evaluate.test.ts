import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/emergence/rng.ts';
import { cutAtStop, evaluateExamples, evaluateTask, EvaluationError, type Scorer } from '../../src/emergence/evaluate.ts';
import { getTask, type Example } from '../../src/emergence/tasks/index.ts';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Character-level fake model: knows a fixed answer table; every target char gets log-prob lp. */
function fakeScorer(answers: Map<string, string>, lp: number, calls: { gen: number[]; score: number[] }): Scorer {
  return {
    encode: (s) => Array.from(s, (c) => c.charCodeAt(0)),
    generateGreedy(prompts, maxTokens) {
      calls.gen.push(prompts.length);
      return prompts.map((p) => ({ text: ((answers.get(p) ?? '') + '\nnext example').slice(0, maxTokens + 20) }));
    },
    async scoreContinuations(prompts, targets) {
      calls.score.push(prompts.length);
      return targets.map((t, i) => {
        // options: the scorer "prefers" the string it would generate
        const fav = answers.get(prompts[i]!);
        return Array.from(t, () => (fav === t ? lp : lp - 1));
      });
    },
  };
}

test('cutAtStop cuts at the earliest stop string', () => {
  assert.equal(cutAtStop('46\n12+3=', ['\n']), '46');
  assert.equal(cutAtStop('abc;def\nx', ['\n', ';']), 'abc');
  assert.equal(cutAtStop('abc', ['\n']), 'abc');
});

test('driver computes every metric against hand-computed values, batched', async () => {
  const exs: Example[] = [
    { prompt: '1+1=', target: '2', meta: { task: 't', split: 'eval', key: 'a', shots: 0 } },
    { prompt: '5+7=', target: '12', meta: { task: 't', split: 'eval', key: 'b', shots: 0 } },
    { prompt: '9+9=', target: '18', meta: { task: 't', split: 'eval', key: 'c', shots: 0 } },
  ];
  // model answers: right, right, "19" (one substitution)
  const answers = new Map([['1+1=', '2'], ['5+7=', '12'], ['9+9=', '19']]);
  const calls = { gen: [] as number[], score: [] as number[] };
  const r = await evaluateExamples(fakeScorer(answers, Math.log(0.5), calls), exs, undefined, { batchSize: 2, keepExamples: true });
  assert.deepEqual(calls.gen, [2, 1]);
  assert.deepEqual(calls.score, [2, 1]);
  close(r.metrics.exact_match!, 2 / 3);
  close(r.metrics.token_edit_distance!, 1 / 3);
  close(r.metrics.normalized_edit_distance!, (0 + 0 + 0.5) / 3);
  assert.deepEqual(r.metrics.per_position_accuracy, [1, 0.5]);
  assert.deepEqual(r.metrics.per_position_count, [3, 2]);
  // teacher forcing: "2" gets log .5 (favourite); "12" favourite (2 × log .5); "18" is not the favourite (2 × (log .5 − 1))
  const ll = [Math.log(0.5), 2 * Math.log(0.5), 2 * (Math.log(0.5) - 1)];
  close(r.metrics.target_loglik!, (ll[0]! + ll[1]! + ll[2]!) / 3);
  close(r.metrics.target_ce!, (-ll[0]! / 1 - ll[1]! / 2 - ll[2]! / 2) / 3);
  close(r.metrics.target_seq_prob!, (Math.exp(ll[0]!) + Math.exp(ll[1]!) + Math.exp(ll[2]!)) / 3);
  assert.equal(r.tokenization, 'scorer');
  assert.equal(r.nMultipleChoice, 0);
  assert.equal(r.examples![2]!.generated, '19');
});

test('multiple-choice metrics: grade, length-normalised grade and Brier from option log-likelihoods', async () => {
  const exs = getTask('addition-mc').generate(new Rng(1), 'eval', 10, { digits: 2 });
  // the fake model "believes" the gold answer for even examples and the first wrong option for odd ones
  const answers = new Map<string, string>();
  exs.forEach((e, i) => answers.set(e.prompt, i % 2 === 0 ? e.target : e.options!.find((o) => o !== e.target)!));
  const calls = { gen: [] as number[], score: [] as number[] };
  const lp = Math.log(0.9);
  const r = await evaluateExamples(fakeScorer(answers, lp, calls), exs, getTask('addition-mc'), { keepExamples: true });
  close(r.metrics.mc_grade!, 0.5);
  close(r.metrics.exact_match!, 0.5);
  assert.equal(r.nMultipleChoice, 10);
  // independent Brier: per-option log-likelihood = len · (lp or lp − 1)
  let brier = 0;
  exs.forEach((e, i) => {
    const fav = answers.get(e.prompt)!;
    const lls = e.options!.map((o) => o.length * (o === fav ? lp : lp - 1));
    const m = Math.max(...lls);
    const z = lls.reduce((s, v) => s + Math.exp(v - m), 0);
    const p = lls.map((v) => Math.exp(v - m) / z);
    brier += p.reduce((s, v, c) => s + (v - (c === e.gold ? 1 : 0)) ** 2, 0);
    assert.deepEqual(r.examples![i]!.optionLogLiks!.map((v) => +v.toFixed(12)), lls.map((v) => +v.toFixed(12)));
  });
  close(r.metrics.brier!, brier / 10, 1e-12);
  assert.ok(r.metrics.mc_grade_norm !== undefined);
});

test('scratchpad tasks report answer_match through the task extractor', async () => {
  const task = getTask('addition');
  const exs = task.generate(new Rng(2), 'eval', 6, { digits: 3, scratchpad: true });
  // the model writes a wrong scratchpad but the right final answer for all examples
  const answers = new Map(exs.map((e) => [e.prompt, ` wrong steps => ${e.answer}`]));
  const r = await evaluateTask(
    {
      generateGreedy: (ps) => ps.map((p) => answers.get(p)!),
      scoreContinuations: (_p, ts) => ts.map((t) => Array.from(t, () => -0.1)),
    },
    task,
    { n: 6, seed: 2, taskOptions: { digits: 3, scratchpad: true } },
  );
  assert.equal(r.metrics.answer_match, 1);
  assert.equal(r.metrics.exact_match, 0);
  assert.equal(r.tokenization, 'code-points');
});

test('driver validates scorer output', async () => {
  const exs = getTask('addition').generate(new Rng(3), 'eval', 3);
  await assert.rejects(
    evaluateExamples({ generateGreedy: () => ['1'], scoreContinuations: (_p, t) => t.map(() => [-1]) }, exs),
    EvaluationError,
  );
});
