// lmlab report and lmlab serve: inputs from a JSON file, a study directory and the store; errors
// that name the file and field; serve's --host/--port flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTarget } from '../../src/cli/report.ts';
import { parseReportInput } from '../../src/report/types.ts';
import { seedRuns } from './browser-util.ts';
import { sampleInput } from './fixture.ts';

const root = join(import.meta.dirname, '../..');
const driver = join(import.meta.dirname, 'cli-driver.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lmlab-report-cli-'));
const ws = join(tmp, 'ws');
seedRuns(ws); // runs a, b (finished) and live (running) in sweep demo
const lmlab = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', driver, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

test('lmlab report <input.json>: writes the report, its figures and specs', () => {
  const full = sampleInput();
  const file = join(tmp, 'input.json');
  writeFileSync(file, JSON.stringify({ title: 'x', training: full.training, scaling: full.scaling }));
  const out = join(tmp, 'out-file');
  const r = lmlab('report', file, '--out', out, '--json', '--title', 'From the CLI');
  assert.equal(r.status, 0, `exit 0: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { html: string; figures: string[]; specs: string[]; pngs: string[] };
  assert.equal(j.html, join(out, 'report.html'), 'report path');
  assert.deepEqual(j.figures.map((f) => f.slice(out.length + 1)), ['figures/training-curves.svg', 'figures/scaling-LN.svg', 'figures/scaling-LD.svg', 'figures/scaling-LC.svg'], 'the figures');
  assert.ok([...j.figures, ...j.specs].every((f) => existsSync(f)), 'figures and specs written');
  assert.ok(readFileSync(j.html, 'utf8').includes('<title>From the CLI</title>'), '--title applies');
  assert.deepEqual(j.pngs, [], 'no PNGs unless --png');
});

test('report targets: a study directory, a report directory, runs in the store', async () => {
  const study = join(tmp, 'study');
  mkdirSync(study);
  writeFileSync(join(study, 'report-input.json'), JSON.stringify({ title: 'study', scaling: sampleInput().scaling }));
  const s = await resolveTarget([study], {});
  assert.equal(s.out, join(study, 'report'), 'a study gets report/ inside it');
  assert.equal(s.where, join(study, 'report-input.json'), 'and names its input file');
  assert.equal(s.input.title, 'study', 'its input');
  mkdirSync(join(study, 'report'));
  writeFileSync(join(study, 'report', 'report-input.json'), JSON.stringify({ title: 'again' }));
  writeFileSync(join(study, 'report', 'report.html'), '');
  const again = await resolveTarget([join(study, 'report')], {});
  assert.equal(again.out, join(study, 'report'), 'a report directory is re-rendered in place');
  await assert.rejects(resolveTarget([tmp], {}), /without report-input\.json/, 'a directory without input is refused');

  const w = await resolveTarget(['sweeps/demo/a', 'sweeps/demo/b'], { workspace: ws });
  assert.ok(w.out.startsWith(join(ws, 'reports', 'runs-')), `default output under the workspace: ${w.out}`);
  const d = parseReportInput(w.input);
  assert.deepEqual(d.runs!.rows.map((r) => r.id), ['sweeps/demo/a', 'sweeps/demo/b'], 'only the runs asked for');
  const sw = await resolveTarget([], { workspace: ws, sweep: 'demo' });
  assert.equal(parseReportInput(sw.input).runs!.rows.length, 3, '--sweep: all of its runs');
});

test('lmlab report: bad input is refused naming the file and the field', async () => {
  const bad = sampleInput();
  bad.emergence!.curves[1]!.points[0]!.x = 0;
  const file = join(tmp, 'bad.json');
  writeFileSync(file, JSON.stringify(bad));
  const r = lmlab('report', file, '--out', join(tmp, 'bad-out'));
  assert.equal(r.status, 1, 'exit 1');
  assert.ok(r.stderr.includes(file) && r.stderr.includes('emergence.curves[1].points[0].x'), `message names file and field: ${r.stderr}`);
  assert.ok(!existsSync(join(tmp, 'bad-out', 'report.html')), 'nothing written');
  await assert.rejects(resolveTarget(['no/such/run'], { workspace: ws }), /no run 'no\/such\/run'/, 'an unknown run is refused by name');
});

test('lmlab serve: --host and --port flags, then a clean stop', async () => {
  const bad = lmlab('serve', '--workspace', ws, '--port', 'eighty');
  assert.equal(bad.status, 1, 'bad port: exit 1');
  assert.match(bad.stderr, /--port: expected an integer/, 'names the flag');
  const child = spawn(process.execPath, ['--import', 'tsx', driver, 'serve', '--workspace', ws, '--host', '127.0.0.1', '--port', '0', '--quiet'], { cwd: root });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) { clearTimeout(t); resolve(m[1]!); }
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
    });
    const body = await new Promise<string>((resolve, reject) => {
      request(`${url}api/runs`, (res) => { let b = ''; res.on('data', (c: Buffer) => (b += c)); res.on('end', () => resolve(b)); }).on('error', reject).end();
    });
    assert.equal((JSON.parse(body) as { runs: unknown[] }).runs.length, 3, 'the API answers on the chosen address');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (c) => r(c))));
  assert.equal(code, 0, 'SIGTERM stops it cleanly');
});
