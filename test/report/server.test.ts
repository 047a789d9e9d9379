// The dashboard server over raw HTTP: files outside the workspace are refused (.., encoded variants, NUL,
// backslashes, symlinks), only GET/HEAD, Host check, the JSON API, live metrics, and no detail in refusals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInside } from '../../src/report/safepath.ts';
import { startDashboard, type Dashboard } from '../../src/report/server.ts';
import { Store } from '../../src/store/store.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-WORKSPACE';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'lmlab-serve-')));
const ws = join(base, 'ws');
let dash: Dashboard;

interface Reply { status: number; headers: Record<string, string>; body: string }

/** Send bytes exactly as given (no client-side normalisation of the path) and parse the reply. */
function raw(request: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect(dash.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const i = text.indexOf('\r\n\r\n');
      const head = text.slice(0, i).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const h of head.slice(1)) { const k = h.indexOf(':'); headers[h.slice(0, k).toLowerCase()] = h.slice(k + 1).trim(); }
      resolve({ status, headers, body: text.slice(i + 4) });
    });
    sock.write(request);
  });
}
const get = (path: string, host = `127.0.0.1:${dash?.port}`, method = 'GET') => raw(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

before(async () => {
  writeFileSync(join(base, 'secret.txt'), SECRET);
  mkdirSync(join(base, 'outside-dir'));
  writeFileSync(join(base, 'outside-dir', 'report.html'), SECRET);
  mkdirSync(join(ws, 'reports', 'r1'), { recursive: true });
  writeFileSync(join(ws, 'reports', 'r1', 'report.html'), '<!doctype html><p>report one</p>');
  writeFileSync(join(ws, 'notes.txt'), 'inside');
  writeFileSync(join(ws, '.hidden'), 'hidden');
  writeFileSync(join(ws, 'touch.sh'), `#!/bin/sh\ntouch ${join(base, 'EXECUTED')}\n`, { mode: 0o755 });
  symlinkSync(join(base, 'secret.txt'), join(ws, 'link-out.txt'));
  symlinkSync(base, join(ws, 'dirlink'));
  symlinkSync(join(ws, 'notes.txt'), join(ws, 'alias.txt'));
  const st = new Store(ws);
  st.upsertSweep('s1', 'grid', {});
  const model = { n_layer: 1, d_model: 16, n_head: 1, vocab: 64, ctx: 16 };
  for (const name of ['done', 'live']) {
    const dir = join(ws, 'sweeps', 's1', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ steps: 10, seq_len: 16, model }));
    const n = name === 'done' ? 10 : 4;
    writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ step: i + 1, tokens: 16 * (i + 1), loss: 4 - 0.1 * i })).join('\n') + '\n');
    if (name === 'done') st.syncRun(dir, { sweep: 's1' });
    else st.upsertRun({ dir, status: 'running', config: JSON.stringify({ steps: 10, model }), sweep: 's1' });
  }
  st.close();
  dash = await startDashboard({ workspace: ws, host: '127.0.0.1', port: 0 });
});
after(async () => { await dash?.close(); });

test('listens on 127.0.0.1 on the port asked for (0 = ephemeral)', () => {
  assert.equal(dash.host, '127.0.0.1', 'bound to loopback');
  assert.ok(dash.port > 0, `port ${dash.port}`);
  assert.equal(dash.url, `http://127.0.0.1:${dash.port}/`, 'url');
});

test('files inside the workspace are served; symlinks that stay inside too', async () => {
  const r = await get('/files/reports/r1/report.html');
  assert.equal(r.status, 200, 'report served');
  assert.ok(r.body.includes('report one'), 'its content');
  assert.ok(r.headers['content-security-policy']?.includes("default-src 'none'"), 'workspace files get a no-script CSP');
  assert.equal(r.headers['x-content-type-options'], 'nosniff', 'nosniff');
  const a = await get('/files/alias.txt');
  assert.equal(a.status, 200, 'symlink inside the workspace served');
  assert.equal(a.body, 'inside', 'its target');
  const sp = await get('/files/reports/r1/report%2Ehtml');
  assert.equal(sp.status, 200, 'percent-encoded ordinary characters are decoded');
});

test('paths that leave the workspace are refused, however they are spelled', async () => {
  const attempts = [
    '/files/../secret.txt', '/files/reports/../../secret.txt', '/files/./../secret.txt',
    '/files/%2e%2e/secret.txt', '/files/%2E%2E/secret.txt', '/files/.%2e/secret.txt', '/files/%2e./secret.txt',
    '/files/..%2fsecret.txt', '/files/%2e%2e%2fsecret.txt', '/files/..%2Fsecret.txt', '/files/reports%2f..%2f..%2fsecret.txt',
    '/files/%252e%252e/secret.txt', '/files/%252e%252e%252fsecret.txt',
    '/files/..%5csecret.txt', '/files/..\\secret.txt', '/files/%5c..%5csecret.txt',
    '/files/notes.txt%00.html', '/files/notes.txt%00', '/files/%00/../secret.txt',
    '/files/link-out.txt', '/files/dirlink/secret.txt', '/files/dirlink/outside-dir/report.html',
    '/files//etc/passwd', '/files/%2fetc%2fpasswd', '/files/%2Fetc/passwd', `/files/${encodeURIComponent(join(base, 'secret.txt'))}`,
    '/../secret.txt', '/files/..', '/files/%2e%2e', '/files/.hidden', '/files/%2ehidden',
    '/files/..;/secret.txt', '/files/%c0%ae%c0%ae/secret.txt', '/files/%e0%80%ae%e0%80%ae/secret.txt', '/files/%zz/secret.txt',
    '/files/reports/r1', '/files/',
    'http://127.0.0.1/files/../secret.txt', '*',
  ];
  for (const p of attempts) {
    const r = await get(p);
    assert.ok([400, 403, 404].includes(r.status), `${p}: refused, got ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${p}: no secret in the reply`);
    assert.ok(!r.body.includes(base) && r.body.length < 40, `${p}: no detail in the reply (${JSON.stringify(r.body)})`);
  }
  // the specific refusals: traversal is 403, malformed 400, what is not there 404
  assert.equal((await get('/files/../secret.txt')).status, 403, '.. is forbidden');
  assert.equal((await get('/files/%2e%2e/secret.txt')).status, 403, 'encoded .. is forbidden');
  assert.equal((await get('/files/link-out.txt')).status, 403, 'a symlink out is forbidden');
  assert.equal((await get('/files/dirlink/secret.txt')).status, 403, 'a directory symlink out is forbidden');
  assert.equal((await get('/files/notes.txt%00.html')).status, 400, 'NUL is a bad request');
});

test('resolveInside agrees (unit level), including a raw NUL byte', () => {
  const root = realpathSync(ws);
  assert.equal(resolveInside(root, 'notes.txt').ok, true, 'plain file');
  for (const p of ['../secret.txt', 'a/../../secret.txt', 'notes.txt\0', 'x\\..\\y', '%2e%2e', 'dirlink/secret.txt', 'link-out.txt', '']) {
    const r = resolveInside(root, p);
    assert.equal(r.ok, false, `${JSON.stringify(p)} refused`);
  }
});

test('only GET and HEAD; HEAD has no body; other hosts are refused', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
    const r = await get('/files/notes.txt', undefined, m);
    assert.equal(r.status, 405, `${m} refused`);
    assert.equal(r.headers.allow, 'GET, HEAD', `${m}: Allow header`);
  }
  const h = await get('/files/notes.txt', undefined, 'HEAD');
  assert.equal(h.status, 200, 'HEAD ok');
  assert.equal(h.body, '', 'HEAD has no body');
  assert.equal(h.headers['content-length'], '6', 'HEAD gives the length');
  const evil = await get('/api/runs', 'evil.example:80');
  assert.equal(evil.status, 403, 'a non-loopback Host (DNS rebinding) is refused');
  const lh = await get('/api/runs', `localhost:${dash.port}`);
  assert.equal(lh.status, 200, 'localhost is fine');
});

test('never executes what a request names: a script is sent as a download, not run', async () => {
  const r = await get('/files/touch.sh');
  assert.equal(r.status, 200, 'served');
  assert.equal(r.headers['content-type'], 'application/octet-stream', 'as bytes');
  assert.equal(r.headers['content-disposition'], 'attachment', 'as a download');
  assert.ok(!existsSync(join(base, 'EXECUTED')), 'and not run');
  for (const p of ['/vendor/../package.json', '/vendor/vega.js', '/vendor/%2e%2e/package.json', '/vendor/child_process']) {
    assert.equal((await get(p)).status, 404, `${p}: only the fixed vendor files`);
  }
  const v = await get('/vendor/vega-embed.min.js');
  assert.equal(v.status, 200, 'vega-embed served');
  assert.ok(v.body.includes('vegaEmbed'), 'it is vega-embed');
});

test('JSON API: runs, one run, metrics (with since), live metrics of a running run, reports', async () => {
  const runs = JSON.parse((await get('/api/runs')).body) as { runs: { id: string; status: string; config?: unknown; dir: string }[] };
  assert.deepEqual(runs.runs.map((r) => r.id).sort(), ['sweeps/s1/done', 'sweeps/s1/live'], 'runs listed');
  assert.ok(runs.runs.every((r) => r.config === undefined && !r.dir.startsWith('/')), 'no configs and no absolute paths in the list');
  const id = encodeURIComponent('sweeps/s1/done');
  const one = JSON.parse((await get(`/api/runs/${id}`)).body) as { id: string; config: { steps: number } };
  assert.equal(one.config.steps, 10, 'one run with its parsed config');
  const m = JSON.parse((await get(`/api/runs/${id}/metrics`)).body) as { source: string; points: { step: number; loss: number }[] };
  assert.equal(m.source, 'store', 'finished run from the store');
  assert.deepEqual(m.points.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'all steps');
  const since = JSON.parse((await get(`/api/runs/${id}/metrics?since=7`)).body) as { points: { step: number }[] };
  assert.deepEqual(since.points.map((p) => p.step), [8, 9, 10], 'since=7');
  const lid = encodeURIComponent('sweeps/s1/live');
  const l1 = JSON.parse((await get(`/api/runs/${lid}/metrics`)).body) as { source: string; points: { step: number }[] };
  assert.equal(l1.source, 'metrics.jsonl', 'running run read from its metrics.jsonl');
  assert.equal(l1.points.length, 4, 'four steps so far');
  appendFileSync(join(ws, 'sweeps', 's1', 'live', 'metrics.jsonl'), JSON.stringify({ step: 5, tokens: 80, loss: 3.5 }) + '\n');
  const l2 = JSON.parse((await get(`/api/runs/${lid}/metrics?since=4`)).body) as { points: { step: number; loss: number }[] };
  assert.deepEqual(l2.points, [{ step: 5, tokens: 80, loss: 3.5, val_loss: null }], 'the new step appears');
  assert.equal((await get(`/api/runs/${encodeURIComponent('../secret')}/metrics`)).status, 404, 'unknown run');
  assert.equal((await get('/api/runs/%zz/metrics')).status, 400, 'malformed id');
  assert.equal((await get(`/api/runs/${lid}/metrics?since=abc`)).status, 400, 'bad since');
  const reps = JSON.parse((await get('/api/reports')).body) as { reports: { path: string; url: string }[] };
  assert.deepEqual(reps.reports.map((r) => r.path), ['reports/r1/report.html'], 'reports found, none through the symlink out');
  assert.equal((await get(reps.reports[0]!.url)).status, 200, 'its url works');
});

test('the dashboard page and the live report', async () => {
  const page = await get('/');
  assert.equal(page.status, 200, 'page');
  assert.ok(page.body.includes('<script src="/dashboard.js">'), 'loads its script');
  assert.ok(!/<script>(?!<\/script>)/.test(page.body), 'no inline script');
  assert.ok(page.headers['content-security-policy']?.includes("script-src 'self'"), 'CSP: own scripts only');
  const rep = await get('/report');
  assert.equal(rep.status, 200, 'live report');
  assert.ok(rep.body.includes('sweeps/s1/done') && rep.body.includes('data-figure="training-curves"'), 'report of the store with its training curves');
  assert.equal((await get('/report?sweep=nope')).status, 404, 'an empty sweep has nothing to report');
});
