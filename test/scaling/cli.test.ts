import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const lmlab = (...args: string[]): { code: number; out: string; err: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/lmlab.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), 'lmlab-scaling-'));

test('laws predict / optimal print the preset checks (text and JSON)', () => {
  const p = lmlab('laws', 'predict', '--law', 'kaplan2020', '--N', '85e6', '--D', '1e9', '--loss', '3', '--json');
  assert.equal(p.code, 0, p.err);
  const j = JSON.parse(p.out) as { predictions: { quantity: string; value: number }[]; unsupported: string[] };
  const v = Object.fromEntries(j.predictions.map((x) => [x.quantity, x.value]));
  assert.ok(Math.abs(v['L(N)']! - 2.8651) < 1e-4 && Math.abs(v['L(D)']! - 2.8156) < 1e-4 && Math.abs(v['B_crit(L)']! / 1.069e6 - 1) < 1e-3);
  assert.equal(j.unsupported.length, 1); // L(N,D) needs the joint set
  const h = lmlab('laws', 'predict', '--law', 'hoffmann2022', '--N', '70B', '--D', '1.4T');
  assert.equal(h.code, 0, h.err);
  assert.match(h.out, /L\(N,D\)\s+N=7\.000e\+10, D=1\.400e\+12\s+1\.93665/);
  const o = lmlab('laws', 'optimal', '--law', 'besiroglu2024', '--C', '5.76e23', '--json');
  const oj = JSON.parse(o.out) as { N: number; D: number; tokensPerParam: number };
  assert.ok(Math.abs((6 * oj.N * oj.D) / 5.76e23 - 1) < 1e-12);
  const t = lmlab('laws', 'optimal', '--law', 'hoffmann2022', '--target-loss', '1.5');
  assert.equal(t.code, 1);
  assert.match(t.err, /irreducible loss E = 1\.69/);
});

test('laws count on a HF config.json', () => {
  const r = lmlab('laws', 'count', '--config', join(ROOT, '../shared/fixtures/llama-tiny/config.json'), '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { params: { total: number } }).params.total, 27808);
});

test('fit: Porian optimal points with --where and --no-offset; approach2 on the IsoFLOP sweep', () => {
  const r = lmlab('fit', '--input', join(ROOT, '../shared/data/porian2024/optimal_points.csv'), '--form', 'power', '--x', 'C', '--y', 'n_star', '--no-offset',
    '--where', 'dataset=rw', '--where', 'hparams=tuned', '--where', 'warmup=short', '--where', 'decay=const', '--where', 'param_count=standard', '--where', 'loss_split=val',
    '--n-col', 'n_star', '--skip-invalid', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { result: { exponent: number } };
  assert.ok(Math.abs(j.result.exponent - 0.5) < 0.01);
  const a2 = lmlab('fit', '--input', join(ROOT, '../shared/data/porian2024/isoflop_points.csv'), '--form', 'approach2', '--window', '2',
    '--where', 'dataset=rw', '--where', 'hparams=base', '--where', 'warmup=long', '--where', 'decay=kaplan', '--where', 'param_count=kaplan', '--where', 'loss_split=train');
  assert.equal(a2.code, 0, a2.err);
  assert.match(a2.out, /N_opt = .* \* C\^0\.8[4-9]/);
});

test('fit: bad CSV input and non-convergence end with a clear message and exit code 1, no parameters printed', () => {
  const bad = join(tmp, 'bad.csv');
  writeFileSync(bad, 'N,D,loss\n1e8,1e10,3\n2e8,1e10,NaN\n');
  let r = lmlab('fit', '--input', bad, '--form', 'chinchilla');
  assert.equal(r.code, 1);
  assert.match(r.err, /bad\.csv line 3: column 'loss' \(loss\) is 'NaN'/);
  const few = join(tmp, 'few.csv');
  writeFileSync(few, 'N,D,loss\n1e8,1e10,3\n2e8,1e10,2.9\n3e8,1e10,2.8\n');
  r = lmlab('fit', '--input', few, '--form', 'chinchilla');
  assert.equal(r.code, 1);
  assert.match(r.err, /3 points for the 5-parameter chinchilla form/);
  r = lmlab('fit', '--input', join(tmp, 'missing.csv'), '--form', 'kaplan');
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot read --input/);
  const concave = join(tmp, 'concave.csv');
  writeFileSync(concave, 'params,flops,loss\n1e7,1e18,3\n2e7,1e18,3.5\n4e7,1e18,3\n1e7,1e19,2.5\n2e7,1e19,3\n4e7,1e19,2.5\n');
  r = lmlab('fit', '--input', concave, '--form', 'approach2', '--json');
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out) as { error: string; type: string; converged: boolean };
  assert.equal(j.type, 'FitNotConvergedError');
  assert.equal(j.converged, false);
  assert.match(r.err, /only 0 budget\(s\) gave a parabola minimum/);
  r = lmlab('fit', '--input', concave, '--form', 'nope');
  assert.equal(r.code, 1);
  assert.match(r.err, /--form must be one of/);
});
