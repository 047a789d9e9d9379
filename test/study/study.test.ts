// lmlab study end to end (smoke preset): corpus → suite → fit → probes → report; killed midway and
// re-run, it finishes without retraining the runs that had finished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '../..');
const ws = mkdtempSync(join(tmpdir(), 'lmlab-study-'));
const bin = join(root, 'bin/lmlab.js');

test('study: killed after its first finished run, re-run completes without retraining it', async () => {
  // first launch: SIGKILL as soon as one run has finished
  const first = spawn(process.execPath, [bin, 'study', '--preset', 'smoke', '--workspace', ws], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((res) => {
    first.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (/finished L1-d16/.test(log)) first.kill('SIGKILL');
    });
    first.on('close', () => res());
  });
  assert.match(log, /finished L1-d16/, `first launch never finished a run:\n${log}`);
  const runDir = join(ws, 'study', 'suite', 'L1-d16-D40000');
  const metrics = join(runDir, 'metrics.jsonl');
  assert.ok(existsSync(metrics), 'the finished run left its metrics');
  const before = statSync(metrics).mtimeMs;
  const second = spawnSync(process.execPath, [bin, 'study', '--preset', 'smoke', '--workspace', ws], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /built corpus found/, 'the corpus is not rebuilt');
  assert.doesNotMatch(second.stderr, /start L1-d16/, 'the finished run is not retrained');
  assert.equal(statSync(metrics).mtimeMs, before, 'the finished run was not touched');
  // results: a fit with a held-out prediction, probes, and a report with its figures
  const scaling = JSON.parse(readFileSync(join(ws, 'study', 'scaling.json'), 'utf8'));
  assert.equal(scaling.points.length, 5, 'five suite points');
  assert.ok(Number.isFinite(scaling.prediction.predicted) && scaling.prediction.observed > 0, `prediction: ${JSON.stringify(scaling.prediction)}`);
  const probes = JSON.parse(readFileSync(join(ws, 'study', 'probes.json'), 'utf8'));
  assert.equal(probes.canaries.length, 5, 'canary probes for each model');
  assert.ok(probes.canaries[0].canaries.every((c: { exposureSkewNormal: number }) => Number.isFinite(c.exposureSkewNormal)), 'finite exposures');
  const html = readFileSync(join(ws, 'study', 'report', 'report.html'), 'utf8');
  for (const id of ['training-curves', 'scaling-LN', 'memorization-duplicates', 'memorization-canaries']) {
    assert.ok(existsSync(join(ws, 'study', 'report', 'figures', `${id}.svg`)), `figure ${id} written`);
  }
  assert.match(html, /<svg/, 'figures inlined');
  // the numbers in the report are the store's: every suite run id appears in it
  for (const p of scaling.points) assert.ok(html.includes(p.run), `run ${p.run} named in the report`);
});
