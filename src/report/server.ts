/**
 * `lmlab serve`: a local dashboard over a workspace's store (node:http, no framework).
 *
 *   GET /                          the dashboard page (runs table, live training curves, report links)
 *   GET /dashboard.js              its script
 *   GET /vendor/<name>.min.js      vega, vega-lite, vega-embed from node_modules (a fixed list)
 *   GET /api/runs                  runs in the store (without their configs)
 *   GET /api/runs/<id>             one run: row, parsed config, evaluations
 *   GET /api/runs/<id>/metrics     its curve (?since=STEP for the points after STEP); running runs read metrics.jsonl
 *   GET /api/reports               report.html files under the workspace
 *   GET /report                    a report of the store, rendered on request (?sweep=ID)
 *   GET /files/<path>              a file inside the workspace
 *
 * Safety: binds 127.0.0.1 by default; only GET and HEAD; serves files only inside the workspace (after
 * resolving symlinks; `..`, encoded variants, NUL bytes and hidden names refused — see safepath.ts);
 * never runs anything a request names (no shell, no child processes, no dynamic imports); on a loopback
 * address, requests whose Host header is not a loopback name are refused (DNS rebinding); workspace files
 * and reports are sent with a Content-Security-Policy that lets no script run.
 */
import { createReadStream, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, relative } from 'node:path';
import { Store, type RunRow } from '../store/store.ts';
import { dashboardHtml, DASHBOARD_JS } from './dashboard-page.ts';
import { resolveInside } from './safepath.ts';
import { reportFromStore, runCurve } from './store.ts';
import { ReportError } from './types.ts';

export class ServeError extends ReportError {
  override name = 'ServeError';
}

export interface DashboardOptions {
  workspace: string;
  /** bind address (default 127.0.0.1) */
  host?: string;
  /** port (default 8000; 0 = any free port) */
  port?: number;
  /** how often the page polls the API, ms (default 2000) */
  pollMs?: number;
  /** one line per request (default: none) */
  log?: (line: string) => void;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** The only files served from node_modules: fixed names, resolved once. */
function vendorFiles(): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, pkg, file] of [['vega.min.js', 'vega', 'vega.min.js'], ['vega-lite.min.js', 'vega-lite', 'vega-lite.min.js'], ['vega-embed.min.js', 'vega-embed', 'vega-embed.min.js']] as const) {
    const p = join(dirname(require.resolve(pkg)), file);
    if (existsSync(p)) m.set(name, p);
  }
  return m;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.json': 'application/json; charset=utf-8', '.jsonl': 'text/plain; charset=utf-8', '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8', '.log': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8', '.css': 'text/css; charset=utf-8',
};
/** Workspace files and generated reports: nothing in them may run script or load from elsewhere. */
const CSP_FILES = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox allow-popups allow-popups-to-escape-sandbox";
/** The dashboard: its own scripts only (Vega compiles expressions with Function, hence 'unsafe-eval'). */
const CSP_APP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

/** Runs without their config (large) and with dir relative to the workspace. */
function publicRun(root: string, r: RunRow): Omit<RunRow, 'config' | 'dir'> & { dir: string | null } {
  const { config: _c, dir, ...rest } = r;
  const rel = relative(root, dir);
  return { ...rest, dir: rel.startsWith('..') ? null : rel || '.' };
}

/** report.html files under the workspace (no symlinks followed, hidden and checkpoint folders skipped). */
export function findReports(rootReal: string, maxDepth = 4, max = 200): { path: string; url: string; modified: string }[] {
  const out: { path: string; url: string; modified: string; t: number }[] = [];
  const walk = (dir: string, depth: number) => {
    if (out.length >= max) return;
    let ents;
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'checkpoints') continue;
      const p = join(dir, e.name);
      if (e.isFile() && e.name === 'report.html') {
        const rel = relative(rootReal, p).split('/');
        const t = statSync(p).mtimeMs;
        out.push({ path: rel.join('/'), url: '/files/' + rel.map(encodeURIComponent).join('/'), modified: new Date(t).toISOString(), t });
      } else if (e.isDirectory() && depth < maxDepth) walk(p, depth + 1);
    }
  };
  walk(rootReal, 0);
  return out.sort((a, b) => b.t - a.t).map(({ t: _t, ...r }) => r);
}

/** The request handler (exported for tests; `startDashboard` wraps it in a server). */
export function createDashboardHandler(opts: DashboardOptions & { boundHost: () => string }): { handler: (req: IncomingMessage, res: ServerResponse) => void; dispose(): void } {
  const rootReal = realpathSync(opts.workspace);
  const vendor = vendorFiles();
  const page = dashboardHtml(basename(rootReal), opts.pollMs ?? 2000);
  let store: Store | null = null;
  const getStore = (): Store | null => {
    if (!store && existsSync(join(rootReal, 'lmlab.sqlite'))) store = new Store(rootReal);
    return store;
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.length), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', ...headers });
    res.end(req.method === 'HEAD' ? undefined : buf);
  };
  const plain = (req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
    const text: Record<number, string> = { 400: 'bad request', 403: 'forbidden', 404: 'not found', 405: 'method not allowed', 500: 'internal error', 503: 'unavailable' };
    send(req, res, status, 'text/plain; charset=utf-8', `${text[status] ?? 'error'}\n`, headers);
  };
  const json = (req: IncomingMessage, res: ServerResponse, value: unknown) => send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(value));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') { plain(req, res, 405, { Allow: 'GET, HEAD' }); return 405; }
    const bound = opts.boundHost();
    if (isLoopback(bound) && !isLoopback(hostName(req.headers.host ?? ''))) { plain(req, res, 403); return 403; }
    const target = req.url ?? '';
    if (!target.startsWith('/')) { plain(req, res, 400); return 400; }
    const q = target.indexOf('?');
    const path = q >= 0 ? target.slice(0, q) : target;
    const query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : '');

    if (path === '/' || path === '/index.html') { send(req, res, 200, 'text/html; charset=utf-8', page, { 'Content-Security-Policy': CSP_APP }); return 200; }
    if (path === '/favicon.ico') { res.writeHead(204, { 'Cache-Control': 'max-age=86400' }); res.end(); return 204; }
    if (path === '/dashboard.js') { send(req, res, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS); return 200; }
    if (path.startsWith('/vendor/')) {
      const f = vendor.get(path.slice('/vendor/'.length));
      if (!f) { plain(req, res, 404); return 404; }
      send(req, res, 200, 'text/javascript; charset=utf-8', readFileSync(f), { 'Cache-Control': 'max-age=3600' });
      return 200;
    }
    if (path === '/api/runs') {
      const st = getStore();
      json(req, res, { runs: st ? st.runs().map((r) => publicRun(st.root, r)) : [] });
      return 200;
    }
    if (path.startsWith('/api/runs/')) {
      const rest = path.slice('/api/runs/'.length);
      const wantMetrics = rest.endsWith('/metrics');
      let id: string;
      try { id = decodeURIComponent(wantMetrics ? rest.slice(0, -'/metrics'.length) : rest); } catch { plain(req, res, 400); return 400; }
      const st = getStore();
      const row = id && !id.includes('\0') && st ? st.runs().find((r) => r.id === id) ?? null : null;
      if (!row || !st) { plain(req, res, 404); return 404; }
      if (wantMetrics) {
        const since = query.has('since') ? Number(query.get('since')) : -Infinity;
        if (Number.isNaN(since)) { plain(req, res, 400); return 400; }
        const c = runCurve(st, row);
        json(req, res, { run: row.id, status: row.status, source: c.source, points: c.points.filter((p) => p.step > since) });
      } else {
        let config: unknown = null;
        try { config = JSON.parse(row.config); } catch { /* not JSON: leave null */ }
        json(req, res, { ...publicRun(st.root, row), config, evaluations: st.evaluations(row.id) });
      }
      return 200;
    }
    if (path === '/api/reports') { json(req, res, { reports: findReports(rootReal) }); return 200; }
    if (path === '/report') {
      if (!getStore()) { send(req, res, 404, 'text/plain; charset=utf-8', 'no store in this workspace yet\n'); return 404; }
      const sweep = query.get('sweep') ?? undefined;
      const { buildReport } = await import('./render.ts'); // vega loads on the first report, not at start-up
      let built;
      try {
        built = await buildReport(reportFromStore(rootReal, { sweep }), { where: 'the store' });
      } catch (e) {
        if (e instanceof ReportError) { send(req, res, 404, 'text/plain; charset=utf-8', 'nothing to report\n'); return 404; }
        throw e;
      }
      send(req, res, 200, 'text/html; charset=utf-8', built.html, { 'Content-Security-Policy': CSP_FILES });
      return 200;
    }
    if (path.startsWith('/files/')) {
      const r = resolveInside(rootReal, path.slice('/files/'.length));
      if (!r.ok) { plain(req, res, r.status); return r.status; }
      const type = TYPES[extname(r.path).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, {
        'Content-Type': type, 'Content-Length': String(r.size), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP_FILES,
        ...(type === 'application/octet-stream' ? { 'Content-Disposition': 'attachment' } : {}),
      });
      if (req.method === 'HEAD') { res.end(); return 200; }
      const s = createReadStream(r.path);
      s.on('error', () => res.destroy());
      s.pipe(res);
      return 200;
    }
    plain(req, res, 404);
    return 404;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const t0 = Date.now();
    handle(req, res).then(
      (status) => opts.log?.(`${req.method} ${req.url} ${status} ${Date.now() - t0}ms`),
      (e: unknown) => {
        opts.log?.(`${req.method} ${req.url} 500 ${(e as Error).message}`);
        if (!res.headersSent) plain(req, res, 500); else res.destroy();
      },
    );
  };
  return { handler, dispose: () => { store?.close(); store = null; } };
}

/** Start the dashboard; resolves once it listens. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  if (!existsSync(opts.workspace) || !statSync(opts.workspace).isDirectory()) throw new ServeError(`--workspace: '${opts.workspace}' is not a directory`);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeError(`--port: expected an integer 0..65535, got ${port}`);
  const h = createDashboardHandler({ ...opts, boundHost: () => host });
  const server = createServer(h.handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolveP, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ServeError(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : e.message}`)));
    server.listen(port, host, () => resolveP());
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}/`, host: addr.address, port: addr.port, server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => { h.dispose(); r(); }); }),
  };
}
