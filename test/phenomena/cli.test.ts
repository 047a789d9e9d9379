// The CLI shells: `lmlab phenomena activations|sinks|superweights|intervene` and `lmlab quantize` on a tiny
// trained run, checking exit codes, the JSON reports and figure data, and error messages that name the flag.
import { runCliOk } from '../helpers/cli.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelWeights } from '../../src/train/checkpoint.ts';
import { register } from '../../src/cli/phenomena.ts';
import { trainTiny } from './fixture.ts';
import { datasetWindows, scanDownProj, spikeRule, stack } from '../../src/phenomena/index.ts';

const root = join(import.meta.dirname, '../..');
/** Run a command in a child process (exit codes, error messages). */
const spawnLmlab = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [join(root, 'bin/lmlab.js'), ...args], { encoding: 'utf8', env: { ...process.env } });

/** Run a command in this process (fast), capturing stdout and stderr; only success paths. */
const lmlab = (args: string[]) => runCliOk(register, args).then((r) => ({ status: r.code, stdout: r.stdout, stderr: r.stderr }));

test('phenomena and quantize commands on a trained run', async () => {
  const tr = await trainTiny({ steps: 60, every: 30, model: { d_model: 32 } });
  const dir = tr.runDir, tmp = join(dir, '..');
  const common = ['--model', dir, '--seqs', '4', '--seq-len', '32', '--eval-tokens', '800'];

  let r = await lmlab(['phenomena', 'activations', ...common, '--steps', '--json', join(tmp, 'a.json'), '--figures', join(tmp, 'af.json')]);
  assert.equal(r.status, 0, `activations: ${r.stderr}`);
  assert.match(r.stdout, /top1\/med/, 'table printed');
  const a = JSON.parse(readFileSync(join(tmp, 'a.json'), 'utf8'));
  assert.equal(a.report.layers.length, 2, 'two layers');
  assert.deepEqual(a.steps.map((s: { step: number }) => s.step), [0, 30, 60], 'steps from checkpoints');
  const af = JSON.parse(readFileSync(join(tmp, 'af.json'), 'utf8'));
  assert.equal(af.dimMax.length, 2, 'figure: per layer');
  assert.equal(af.dimMax[0].length, 32, 'figure: per dimension');

  r = await lmlab(['phenomena', 'sinks', ...common, '--streaming', '--window', '12', '--sinks', '4', '--stream-tokens', '120', '--figures', join(tmp, 's.json')]);
  assert.equal(r.status, 0, `sinks: ${r.stderr}`);
  assert.match(r.stdout, /sink rate/, 'sink table');
  assert.match(r.stdout, /streaming\s+4\+12/, 'streaming row');
  const s = JSON.parse(readFileSync(join(tmp, 's.json'), 'utf8'));
  assert.equal(s.firstTokenMass.length, 2, 'heat map rows = layers');
  assert.equal(s.firstTokenMass[0].length, 2, 'heat map columns = heads');
  assert.equal(s.streaming.length, 3, 'dense, window, streaming');

  // plant at the layer-1 input channel that activates most (GELU: a channel that is never positive stays 0 when scaled)
  const ids = stack(datasetWindows(tr.evalBytes, 4, 32));
  const col = scanDownProj(tr.model, ids, 4, 32, spikeRule('relative'))[1]!.inChannel;
  r = await lmlab(['phenomena', 'superweights', ...common, '--plant', `1:5:${col}:2:40`, '--top-k', '20', '--stopwords', '3', '--task', '4', '--json', join(tmp, 'sw.json')]);
  assert.equal(r.status, 0, `superweights: ${r.stderr}`);
  const sw = JSON.parse(readFileSync(join(tmp, 'sw.json'), 'utf8'));
  assert.deepEqual(sw.search.weights.map((w: { layer: number; row: number; column: number }) => [w.layer, w.row, w.column]), [[1, 5, col]], `planted super weight found: ${r.stdout}`);
  assert.equal(sw.pruning.length, 5, 'pruning rows');
  assert.equal(sw.stopwords.words.length, 3, 'stopword rows');

  r = await lmlab(['phenomena', 'intervene', ...common, '--targets', '0:3:0,1:7', '--min-abs', '0.5', '--task', '0']);
  assert.equal(r.status, 0, `intervene: ${r.stderr}`);
  assert.match(r.stdout, /set to zero/, 'intervention rows');

  const out = join(tmp, 'q4.safetensors');
  r = await lmlab(['quantize', ...common, '--bits', '4,3', '--block', '16', '--out', out, '--json', join(tmp, 'q.json')]);
  assert.equal(r.status, 0, `quantize: ${r.stderr}`);
  assert.match(r.stdout, /W4 naive block/, 'table rows');
  const q = loadModelWeights(tr.backend, out);
  assert.equal(q.config.d_model, 32, 'quantized model loads');
  const levels = new Set(Array.from(q.p('blocks.0.mlp.fc.w').subarray(0, 16)));
  assert.ok(levels.size <= 16, `a block of 16 weights takes at most 2^4 values (${levels.size})`);
  const qj = JSON.parse(readFileSync(join(tmp, 'q.json'), 'utf8'));
  assert.ok(qj.quantized.compression > 1, 'size report');

  // errors: exit status 1 and a message naming the flag (child processes)
  let e = spawnLmlab(['phenomena', 'activations', '--model', join(tmp, 'missing')]);
  assert.equal(e.status, 1, 'missing model fails');
  assert.match(e.stderr, /--model: .*does not exist/, e.stderr);
  e = spawnLmlab(['quantize', ...common, '--bits', 'x']);
  assert.equal(e.status, 1, 'bad --bits fails');
  assert.match(e.stderr, /--bits/, e.stderr);
});
