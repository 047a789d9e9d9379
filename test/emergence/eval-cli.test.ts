// `lmlab emergence eval`: trained runs on a task through the evaluation driver, the per-model table and the
// curve over N. Three tiny byte-level runs are trained for a few steps (seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerWith } from '../../src/cli/emergence.ts';
import { createBackend } from '../../src/engine/index.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { train } from '../../src/train/trainer.ts';
import { bytesSource } from '../../src/train/data.ts';
import { loadRun } from '../../src/train/runs.ts';
import { countParams } from '../../src/model/layout.ts';
import { evaluateTask } from '../../src/emergence/evaluate.ts';
import { getTask } from '../../src/emergence/tasks/index.ts';
import { byteCodec, ModelScorer } from '../../src/emergence/scorer.ts';
import { curveFromCsv } from '../../src/emergence/curve.ts';
import { EvalRunsError, parseMetricList, runsCurve, TextCodecScorer, type ModelEval } from '../../src/emergence/evalruns.ts';

const backend = await createBackend();
const root = mkdtempSync(join(tmpdir(), 'lmlab-emeval-'));
const corpus = join(root, 'corpus.txt');
const lines: string[] = [];
for (let i = 0; i < 400; i++) lines.push(`${(i * 37) % 100}+${(i * 53) % 100}=${((i * 37) % 100) + ((i * 53) % 100)}`);
writeFileSync(corpus, lines.join('\n') + '\n');

async function tinyRun(name: string, d: number, layers: number, positions: 'rotary' | 'learned' = 'rotary'): Promise<string> {
  const cfg = resolveTrainConfig({
    data: corpus, out: join(root, name), steps: 4, batch_size: 4, seq_len: 32, eval_every: 0, log_every: 4, checkpoint_every: 4, keep_checkpoints: 0,
    warmup: 1, lr: 3e-3, seed: 7, backend: backend.name, model: { n_layer: layers, n_head: 2, d_model: d, ctx: 32, positions },
  });
  await train(backend, cfg, bytesSource(corpus));
  return join(root, name);
}
// the smallest run has learned positions (its context of 32 tokens is a hard limit)
const runs = [await tinyRun('a', 8, 1, 'learned'), await tinyRun('b', 16, 1), await tinyRun('c', 16, 2)];

async function cli(args: string[]): Promise<string> {
  let out = '';
  const program = new Command();
  program.exitOverride();
  program.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  registerWith(program, { out: (s) => void (out += s), fail: (e) => { throw e; } });
  await program.parseAsync(['node', 'lmlab', 'emergence', ...args]);
  return out;
}

test('emergence eval --runs: per-model metrics equal evaluateTask through ModelScorer; CSV is what analyze reads; curve with labels', async () => {
  const csv = join(root, 'curve.csv');
  const j = JSON.parse(await cli(['eval', '--runs', runs.join(','), '--task', 'addition', '--digits', '2', '--n', '12', '--k-shot', '1', '--json', '--out', csv])) as {
    models: { source: string; params: number; metrics: Record<string, number | null> }[]; curves: { metric: string; shape: string | null; breakthroughness: number | null }[];
  };
  assert.equal(j.models.length, 3);
  for (const [i, dir] of runs.entries()) {
    const { model } = loadRun(backend, dir);
    assert.equal(j.models[i]!.params, countParams(model.config).total, `params of ${dir}`);
    // independent path: the byte codec scorer of the experiments on the same model and the same problems
    const ref = await evaluateTask(new ModelScorer(model, { codec: byteCodec }), getTask('addition'), { n: 12, seed: 0, taskOptions: { digits: 2, kShot: 1 } });
    for (const k of ['exact_match', 'token_edit_distance', 'target_loglik', 'target_ce']) {
      const want = (ref.metrics as Record<string, number>)[k]!;
      assert.ok(Math.abs(j.models[i]!.metrics[k]! - want) < 1e-6, `${dir} ${k}: ${j.models[i]!.metrics[k]} vs ${want}`);
    }
    assert.ok(j.models[i]!.metrics.token_accuracy! >= 0 && j.models[i]!.metrics.token_accuracy! <= 1);
  }
  // a task without options defines no multiple-choice metrics
  assert.equal(j.models[0]!.metrics.mc_grade, undefined);
  // the curve: one entry per metric, labelled (3 distinct N)
  const em = j.curves.find((c) => c.metric === 'exact_match')!;
  assert.ok(em.shape !== null, 'exact match has a shape label');
  const text = readFileSync(csv, 'utf8');
  assert.match(text.split('\n')[0]!, /^N,exact_match,.*,N_nonembedding,model$/);
  const pts = curveFromCsv(text, { x: 'N', y: 'target_loglik' }, csv);
  assert.deepEqual(pts.map((p) => p.x), j.models.map((m) => m.params));
  assert.deepEqual(pts.map((p) => p.y), j.models.map((m) => m.metrics.target_loglik));
  // the table goes straight into `emergence analyze`
  const an = JSON.parse(await cli(['analyze', '--input', csv, '--x', 'N', '--y', 'exact_match,token_edit_distance', '--lower-is-better', 'token_edit_distance', '--json'])) as Record<string, Record<string, { shape: { label: string } }>>;
  assert.equal(an.N!.exact_match!.shape.label, em.shape);
});

test('emergence eval --model with --metrics: only the listed metrics; text output', async () => {
  const out = await cli(['eval', '--model', runs[1]!, '--task', 'copy', '--set', 'length=3', '--n', '5', '--metrics', 'exact_match,target_loglik']);
  assert.match(out, /task copy: 1 model/);
  assert.match(out, /exact_match/);
  assert.doesNotMatch(out, /token_edit_distance/);
  const j = JSON.parse(await cli(['eval', '--model', runs[1]!, '--task', 'copy', '--set', 'length=3', '--n', '5', '--metrics', 'exact_match,target_loglik', '--json'])) as { models: { metrics: Record<string, number> }[]; curves: unknown[] };
  assert.deepEqual(Object.keys(j.models[0]!.metrics), ['exact_match', 'target_loglik']);
  assert.equal(j.curves.length, 0, 'one model: no curve');
});

test('emergence eval: errors name the flag', async () => {
  const bad = async (args: string[], re: RegExp) => assert.rejects(cli(['eval', ...args]), (e: unknown) => e instanceof Error && re.test(e.message), `expected ${re} for ${args.join(' ')}`);
  await bad(['--task', 'addition'], /--runs .* or --model .* is required/);
  await bad(['--runs', runs[0]!, '--model', runs[1]!, '--task', 'addition'], /either --runs or --model/);
  await bad(['--runs', runs[0]!], /--task is required/);
  await bad(['--runs', `${runs[0]},${join(root, 'nope')}`, '--task', 'addition'], /--runs: '.*nope' does not exist/);
  await bad(['--model', join(root, 'nope'), '--task', 'addition'], /--model: '.*nope' does not exist/);
  await bad(['--runs', runs[0]!, '--task', 'addition', '--metrics', 'exact_match,bleu'], /--metrics: unknown metric 'bleu'/);
  await bad(['--runs', runs[0]!, '--task', 'addition', '--n', '0'], /--n must be a positive integer/);
  await bad(['--runs', runs[0]!, '--task', 'addition', '--k-shot', '-1'], /--k-shot must be a non-negative integer/);
  await bad(['--runs', runs[0]!, '--task', 'addition', '--set', 'digits'], /--set: expected key=value/);
  await bad(['--runs', root, '--task', 'addition'], /cannot load a model/);
  await bad(['--runs', runs[0]!, '--task', 'addition', '--digits', '9', '--k-shot', '3'], /context of 32 tokens .*--k-shot/);
});

test('runsCurve: fewer than 3 models or duplicate N give notes instead of labels', () => {
  const fake = (params: number, em: number): ModelEval => ({ source: `m${params}`, kind: 'run', params, nonEmbeddingParams: params, codec: 'bytes', metrics: { exact_match: em }, report: {} as ModelEval['report'] });
  assert.match(runsCurve([fake(10, 0), fake(20, 1)]).curves[0]!.note!, /fewer than 3/);
  assert.match(runsCurve([fake(10, 0), fake(20, 1), fake(20, 0.5)]).curves[0]!.note!, /same N \(20\)/);
  const ok = runsCurve([fake(10, 0), fake(20, 0), fake(40, 0), fake(80, 0), fake(160, 0.9)]);
  assert.equal(ok.curves[0]!.analysis!.shape.label, 'emergent');
  assert.deepEqual(ok.rows[4], { N: 160, N_nonembedding: 160, exact_match: 0.9, model: 'm160' });
  assert.throws(() => parseMetricList(''), EvalRunsError);
});

test('TextCodecScorer: prompts through encodeInput (BOS templates), generations decoded after the prompt', () => {
  const { model } = loadRun(backend, runs[0]!);
  // a codec whose inputs start with a BOS byte (0x02): the continuation scores must condition on it
  const codec = { name: 'bos-bytes', encode: byteCodec.encode, decode: byteCodec.decode, encodeInput: (t: string) => [2, ...byteCodec.encode(t)] };
  const s = new TextCodecScorer(model, codec);
  const withBos = s.scoreContinuations(['12+3='], ['15'])[0]!;
  const direct = new ModelScorer(model, { prefix: '\u0002' }).scoreContinuations(['12+3='], ['15'])[0]!;
  withBos.forEach((v, i) => assert.ok(Math.abs(v - direct[i]!) < 1e-9, `token ${i}`));
  const g = s.generateGreedy(['12+3='], 4)[0]!;
  assert.equal(g.text, byteCodec.decode(g.tokens!));
});
