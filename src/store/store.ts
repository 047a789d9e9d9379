/**
 * The experiment store: an SQLite index (better-sqlite3, WAL, busy timeout) of runs, sweeps, metrics and
 * evaluations in a workspace. Runs stay plain directories (config.json, metrics.jsonl, checkpoints/); the
 * store indexes them and can be rebuilt from them at any time (`syncRun`). Several worker processes may
 * write at once: every write is a short transaction and readers never block writers (WAL).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { resolveConfig } from '../model/config.ts';
import { countParams, flopsPerToken } from '../model/layout.ts';

export interface RunRow {
  id: string;
  dir: string;
  sweep: string | null;
  status: string;
  config: string;
  params: number | null;
  non_embedding: number | null;
  /** training FLOPs per token, PaLM/Chinchilla convention (6N + 12·L·d·T, embeddings and logits excluded) */
  flops_per_token: number | null;
  steps: number | null;
  tokens: number | null;
  final_loss: number | null;
  final_val_loss: number | null;
  created_at: string;
  updated_at: string;
}

export interface MetricRow {
  run_id: string;
  step: number;
  tokens: number | null;
  loss: number | null;
  val_loss: number | null;
  lr: number | null;
  grad_norm: number | null;
  tokens_per_s: number | null;
  elapsed_s: number | null;
}

export class StoreError extends Error {
  override name = 'StoreError';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sweeps (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, dir TEXT NOT NULL, sweep TEXT REFERENCES sweeps(id), status TEXT NOT NULL,
  config TEXT NOT NULL, params INTEGER, non_embedding INTEGER, flops_per_token REAL,
  steps INTEGER, tokens INTEGER, final_loss REAL, final_val_loss REAL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
  tokens INTEGER, loss REAL, val_loss REAL, lr REAL, grad_norm REAL, tokens_per_s REAL, elapsed_s REAL,
  PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS evaluations (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL, value REAL,
  meta TEXT, created_at TEXT NOT NULL, PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep);
`;

export class Store {
  readonly db: Database.Database;
  readonly root: string;

  /** Open (or create) the store of a workspace directory: <workspace>/lmlab.sqlite. */
  constructor(workspace: string) {
    this.root = resolve(workspace);
    mkdirSync(this.root, { recursive: true });
    try {
      this.db = new Database(join(this.root, 'lmlab.sqlite'));
    } catch (e) {
      throw new StoreError(`${join(this.root, 'lmlab.sqlite')}: cannot open the store (${(e as Error).message})`);
    }
    this.db.pragma('busy_timeout = 15000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** Run id: the run directory relative to the workspace. */
  runId(dir: string): string {
    const rel = relative(this.root, resolve(dir));
    return rel.startsWith('..') ? resolve(dir) : rel;
  }

  upsertSweep(id: string, kind: string, spec: unknown): void {
    this.db.prepare(`INSERT INTO sweeps (id, kind, spec, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, spec = excluded.spec`).run(id, kind, JSON.stringify(spec), new Date().toISOString());
  }

  /** Insert or update a run's row. */
  upsertRun(r: Partial<RunRow> & { dir: string; status: string; config: string }): string {
    const id = r.id ?? this.runId(r.dir), now = new Date().toISOString();
    this.db.prepare(`INSERT INTO runs (id, dir, sweep, status, config, params, non_embedding, flops_per_token, steps, tokens, final_loss, final_val_loss, created_at, updated_at)
      VALUES (@id, @dir, @sweep, @status, @config, @params, @non_embedding, @flops_per_token, @steps, @tokens, @final_loss, @final_val_loss, @now, @now)
      ON CONFLICT(id) DO UPDATE SET dir = excluded.dir, sweep = COALESCE(excluded.sweep, runs.sweep), status = excluded.status, config = excluded.config,
        params = COALESCE(excluded.params, runs.params), non_embedding = COALESCE(excluded.non_embedding, runs.non_embedding),
        flops_per_token = COALESCE(excluded.flops_per_token, runs.flops_per_token), steps = COALESCE(excluded.steps, runs.steps),
        tokens = COALESCE(excluded.tokens, runs.tokens), final_loss = COALESCE(excluded.final_loss, runs.final_loss),
        final_val_loss = COALESCE(excluded.final_val_loss, runs.final_val_loss), updated_at = excluded.updated_at`).run({
      id, dir: resolve(r.dir), sweep: r.sweep ?? null, status: r.status, config: r.config, params: r.params ?? null,
      non_embedding: r.non_embedding ?? null, flops_per_token: r.flops_per_token ?? null, steps: r.steps ?? null, tokens: r.tokens ?? null,
      final_loss: r.final_loss ?? null, final_val_loss: r.final_val_loss ?? null, now,
    });
    return id;
  }

  /** Replace a run's metrics with the lines of its metrics.jsonl (one transaction). */
  setMetrics(runId: string, rows: readonly Omit<MetricRow, 'run_id'>[]): void {
    const del = this.db.prepare('DELETE FROM metrics WHERE run_id = ?');
    const ins = this.db.prepare(`INSERT INTO metrics (run_id, step, tokens, loss, val_loss, lr, grad_norm, tokens_per_s, elapsed_s)
      VALUES (@run_id, @step, @tokens, @loss, @val_loss, @lr, @grad_norm, @tokens_per_s, @elapsed_s)
      ON CONFLICT(run_id, step) DO UPDATE SET tokens = COALESCE(excluded.tokens, metrics.tokens), loss = COALESCE(excluded.loss, metrics.loss),
        val_loss = COALESCE(excluded.val_loss, metrics.val_loss), lr = COALESCE(excluded.lr, metrics.lr), grad_norm = COALESCE(excluded.grad_norm, metrics.grad_norm),
        tokens_per_s = COALESCE(excluded.tokens_per_s, metrics.tokens_per_s), elapsed_s = COALESCE(excluded.elapsed_s, metrics.elapsed_s)`);
    this.db.transaction(() => {
      del.run(runId);
      for (const r of rows) ins.run({ run_id: runId, ...r });
    })();
  }

  setEvaluation(runId: string, name: string, value: number, meta: unknown = null): void {
    this.db.prepare(`INSERT INTO evaluations (run_id, name, value, meta, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET value = excluded.value, meta = excluded.meta, created_at = excluded.created_at`)
      .run(runId, name, value, meta === null ? null : JSON.stringify(meta), new Date().toISOString());
  }

  runs(filter: { sweep?: string; status?: string } = {}): RunRow[] {
    const where: string[] = [], args: unknown[] = [];
    if (filter.sweep) { where.push('sweep = ?'); args.push(filter.sweep); }
    if (filter.status) { where.push('status = ?'); args.push(filter.status); }
    return this.db.prepare(`SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`).all(...args) as RunRow[];
  }

  run(id: string): RunRow | null {
    return (this.db.prepare('SELECT * FROM runs WHERE id = ? OR dir = ?').get(id, resolve(this.root, id)) as RunRow | undefined) ?? null;
  }

  metrics(runId: string): MetricRow[] {
    return this.db.prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY step').all(runId) as MetricRow[];
  }

  evaluations(runId: string): { name: string; value: number; meta: string | null }[] {
    return this.db.prepare('SELECT name, value, meta FROM evaluations WHERE run_id = ? ORDER BY name').all(runId) as { name: string; value: number; meta: string | null }[];
  }

  /**
   * (Re)index a run directory from its files: config.json, metrics.jsonl, and the status given (or
   * 'completed' when the final checkpoint exists, else 'incomplete').
   */
  syncRun(dir: string, extra: { sweep?: string; status?: string } = {}): string {
    const cfgPath = join(dir, 'config.json');
    if (!existsSync(cfgPath)) throw new StoreError(`${dir}: not a run directory (no config.json)`);
    const config = readFileSync(cfgPath, 'utf8');
    const cfg = JSON.parse(config) as { steps?: number; seq_len?: number; model?: unknown };
    let params: number | null = null, nonEmb: number | null = null, fpt: number | null = null;
    try {
      const mc = resolveConfig(cfg.model ?? {}, cfgPath);
      const c = countParams(mc);
      params = c.total;
      nonEmb = c.nonEmbedding;
      fpt = flopsPerToken(mc, cfg.seq_len || mc.ctx).chinchilla;
    } catch { /* not an lmlab model config: leave counts empty */ }
    const rows: Omit<MetricRow, 'run_id'>[] = [];
    const byStep = new Map<number, Omit<MetricRow, 'run_id'>>();
    let finalLoss: number | null = null, finalVal: number | null = null, lastStep = 0, tokens: number | null = null;
    const mp = join(dir, 'metrics.jsonl');
    if (existsSync(mp)) {
      for (const line of readFileSync(mp, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let m: Record<string, number | undefined>;
        try { m = JSON.parse(line) as Record<string, number | undefined>; } catch { continue; }
        const step = m['step'] ?? 0;
        const r = byStep.get(step) ?? { step, tokens: null, loss: null, val_loss: null, lr: null, grad_norm: null, tokens_per_s: null, elapsed_s: null };
        for (const k of ['tokens', 'loss', 'val_loss', 'lr', 'grad_norm', 'tokens_per_s', 'elapsed_s'] as const) if (typeof m[k] === 'number') r[k] = m[k]!;
        byStep.set(step, r);
        if (typeof m['loss'] === 'number') finalLoss = m['loss']!;
        if (typeof m['val_loss'] === 'number') finalVal = m['val_loss']!;
        if (typeof m['tokens'] === 'number') tokens = m['tokens']!;
        lastStep = Math.max(lastStep, step);
      }
      rows.push(...[...byStep.values()].sort((a, b) => a.step - b.step));
    }
    const status = extra.status ?? (cfg.steps !== undefined && lastStep >= cfg.steps ? 'completed' : 'incomplete');
    const id = this.upsertRun({ dir, status, config, sweep: extra.sweep ?? null, params, non_embedding: nonEmb, flops_per_token: fpt, steps: lastStep, tokens, final_loss: finalLoss, final_val_loss: finalVal });
    this.setMetrics(id, rows);
    return id;
  }
}
