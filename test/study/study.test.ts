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
  const figures = ['training-curves', 'scaling-LN', 'scaling-LD', 'scaling-LC', 'frontier', 'isoflop', 'emergence', 'memorization-duplicates',
    'memorization-canaries', 'memorization-size', 'memorization-good-turing', 'activations', 'attention-sinks-1'];
  for (const id of figures) {
    assert.ok(existsSync(join(ws, 'study', 'report', 'figures', `${id}.svg`)), `figure ${id} written`);
  }
  // every section of the report has data: nothing is "not run"
  assert.doesNotMatch(html, /not run/, 'every report section ran');
  const input = JSON.parse(readFileSync(join(ws, 'study', 'report-input.json'), 'utf8'));
  for (const k of ['runs', 'training', 'scaling', 'frontier', 'isoflop', 'emergence', 'memorization', 'activations', 'attentionSinks', 'quantization']) {
    assert.ok(input[k], `report section ${k} present`);
  }
  assert.deepEqual(input.scaling.fits.map((f: { axis: string }) => f.axis), ['N', 'D', 'C'], 'L(N), L(D), L(C)');
  for (const f of input.scaling.fits) assert.ok(f.heldOut && Number.isFinite(f.heldOut.predicted), `L(${f.axis}) has a held-out prediction`);
  assert.ok(input.memorization.goodTuring.extrapolated.length > 0, 'Good-Turing extrapolation');
  assert.ok(input.attentionSinks.maps.length === 5, 'a sink map per model');
  // the study's own numbers, recomputed independently where cheap:
  // (1) the frontier's optima are the lower envelope: at each optimum's C no run's smoothed curve is lower
  const curves = JSON.parse(readFileSync(join(ws, 'study', 'curves.json'), 'utf8'));
  for (const opt of curves.frontier.optima) {
    for (const r of curves.runs) {
      const ps = r.points as { C: number; loss: number }[];
      if (opt.C < ps[0]!.C || opt.C > ps[ps.length - 1]!.C) continue;
      let j = 1;
      while (j < ps.length - 1 && ps[j]!.C < opt.C) j++;
      const a = ps[j - 1]!, b = ps[j]!;
      const v = a.C === b.C ? b.loss : a.loss + ((Math.log(opt.C) - Math.log(a.C)) / (Math.log(b.C) - Math.log(a.C))) * (b.loss - a.loss);
      assert.ok(v >= opt.loss - 1e-9, `envelope at C=${opt.C}: run ${r.run} has ${v} < ${opt.loss}`);
    }
  }
  // (2) quantization: 8-bit block-wise stays within 1% of fp32; sizes shrink with the bit width
  const q = JSON.parse(readFileSync(join(ws, 'study', 'quantization.json'), 'utf8'));
  const row = (l: string) => q.rows.find((r: { label: string }) => r.label === l);
  assert.ok(Math.abs(row('W8 naive block').loss / row('fp32').loss - 1) < 0.01, 'W8 block ≈ fp32');
  const bytes = ['fp32', 'W8 naive per-tensor', 'W4 naive per-tensor', 'W3 naive per-tensor'].map((l) => row(l).bytes);
  for (let i = 1; i < bytes.length; i++) assert.ok(bytes[i]! < bytes[i - 1]!, `sizes shrink with the bit width: ${bytes.join(' > ')}`);
  // (3) emergence: the exact-match values are proportions of the examples, and every curve carries a shape label
  const em = JSON.parse(readFileSync(join(ws, 'study', 'emergence.json'), 'utf8'));
  for (const r of em.rows) if (r.metrics.exact_match !== undefined) assert.ok(Number.isInteger(Math.round(r.metrics.exact_match * r.n * 1e6) / 1e6), 'exact match = k/n');
  assert.ok(em.curves.every((c: { shape: string }) => /flat|U-shaped|inverse|uncorrelated|emergent|smooth/.test(c.shape)), 'shape labels');
  assert.match(html, /<svg/, 'figures inlined');
  // the numbers in the report are the store's: every suite run id appears in it
  for (const p of scaling.points) assert.ok(html.includes(p.run), `run ${p.run} named in the report`);
  // a third launch finds every step's result and recomputes nothing
  const third = spawnSync(process.execPath, [bin, 'study', '--preset', 'smoke', '--workspace', ws], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(third.status, 0, third.stderr);
  for (const f of ['probes.json', 'curves.json', 'phenomena.json', 'quantization.json', 'emergence.json', 'good-turing.json']) assert.match(third.stderr, new RegExp(`found .*${f.replace('.', '\\.')}`), `${f} reused`);
  // every computing step reported progress with an ETA on the second launch
  for (const step of ['probes', 'curves', 'phenom', 'quant', 'emerge', 'gturing']) assert.match(second.stderr, new RegExp(`\\] ${step} +.*ETA \\d+s`), `${step} shows an ETA`);
});
