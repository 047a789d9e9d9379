import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { num, numList, parseSizes, register } from '../../src/cli/experiment.ts';
import { ExperimentError } from '../../src/emergence/experiments/common.ts';

test('flag parsers: numbers, lists and model sizes, with errors that name the flag', () => {
  assert.equal(num('3', '--steps', { int: true }), 3);
  assert.equal(num(undefined, '--steps'), undefined);
  assert.throws(() => num('x', '--steps'), (e: unknown) => e instanceof ExperimentError && /--steps/.test((e as Error).message));
  assert.throws(() => num('2.5', '--steps', { int: true }), /integer/);
  assert.throws(() => num('-1', '--p', { min: 2 }), /≥ 2/);
  assert.deepEqual(numList('0.4, 0.3,0.5', '--fractions'), [0.4, 0.3, 0.5]);
  assert.throws(() => numList(',', '--fractions'), /--fractions/);
  assert.deepEqual(parseSizes('1x16,2x32:4'), [{ n_layer: 1, d_model: 16, n_head: 2 }, { n_layer: 2, d_model: 32, n_head: 4 }]);
  assert.throws(() => parseSizes('2x30:4'), /divisible/);
  assert.throws(() => parseSizes('big'), /LAYERSxWIDTH/);
});

test('lmlab experiment grokking (tiny) writes the result JSON and the figure CSVs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-exp-cli-'));
  try {
    const program = new Command();
    program.exitOverride();
    register(program);
    await program.parseAsync(['experiment', 'grokking', '--p', '7', '--fractions', '0.5', '--steps', '20', '--eval-every', '5',
      '--d-model', '8', '--heads', '2', '--d-mlp', '16', '--out', dir, '--quiet', '--backend', 'auto'], { from: 'user' });
    const res = JSON.parse(readFileSync(join(dir, 'grokking.json'), 'utf8'));
    assert.equal(res.experiment, 'grokking');
    assert.equal(res.outcome.runs.length, 2, 'one weight-decay run and the control');
    for (const f of res.figures) assert.ok(existsSync(join(dir, f.file)), `figure data ${f.file}`);
    const csv = readFileSync(join(dir, 'grokking_curves.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'condition,weight_decay,train_fraction,step,train_loss,train_acc,test_loss,test_acc,weight_norm');
    assert.equal(csv.length, 1 + 2 * 5, `rows: ${csv.length}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
