/**
 * The report's view of the experiment store: a runs table and training curves read from
 * <workspace>/lmlab.sqlite (and, for runs still training, from their metrics.jsonl, which the trainer
 * appends to as it goes; the store indexes it when the run ends).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { Store, type MetricRow, type RunRow } from '../store/store.ts';
import { ReportError, type ReportInput } from './types.ts';

export interface CurvePoint {
  step: number;
  tokens: number | null;
  loss: number | null;
  val_loss: number | null;
}

/** True when `p` lies inside `root` (both already resolved; no symlink resolution here). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Parse metrics.jsonl text into curve points (one per step; later lines for a step fill in its fields). */
export function parseMetricsJsonl(text: string): CurvePoint[] {
  const byStep = new Map<number, CurvePoint>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let m: Record<string, unknown>;
    try { m = JSON.parse(line) as Record<string, unknown>; } catch { continue; } // a line being written
    if (typeof m['step'] !== 'number') continue;
    const step = m['step'];
    const p = byStep.get(step) ?? { step, tokens: null, loss: null, val_loss: null };
    for (const k of ['tokens', 'loss', 'val_loss'] as const) if (typeof m[k] === 'number' && Number.isFinite(m[k])) p[k] = m[k] as number;
    byStep.set(step, p);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

const fromRows = (rows: MetricRow[]): CurvePoint[] => rows.map((m) => ({ step: m.step, tokens: m.tokens, loss: m.loss, val_loss: m.val_loss }));

/**
 * A run's curve: the store's metrics, or — while the run is still running, or when the store holds none —
 * its metrics.jsonl, provided that file lies inside the workspace (after resolving symlinks).
 */
export function runCurve(store: Store, run: RunRow): { points: CurvePoint[]; source: 'store' | 'metrics.jsonl' } {
  const stored = fromRows(store.metrics(run.id));
  if (run.status !== 'running' && stored.length > 0) return { points: stored, source: 'store' };
  const file = join(run.dir, 'metrics.jsonl');
  try {
    const real = realpathSync(file);
    if (isInside(realpathSync(store.root), real) && statSync(real).isFile()) {
      const live = parseMetricsJsonl(readFileSync(real, 'utf8'));
      if (live.length >= stored.length) return { points: live, source: 'metrics.jsonl' };
    }
  } catch { /* no file yet */ }
  return { points: stored, source: 'store' };
}

export interface StoreReportOptions {
  /** only these run ids (default: all, or the sweep's) */
  runs?: readonly string[];
  sweep?: string;
  title?: string;
}

/** Build a report input (runs table and training curves) from a workspace's store. */
export function reportFromStore(workspace: string, opts: StoreReportOptions = {}): ReportInput {
  const dbPath = join(workspace, 'lmlab.sqlite');
  if (!existsSync(dbPath)) throw new ReportError(`${workspace}: no experiment store here (no lmlab.sqlite); train or sync runs first, or pass --workspace`);
  const store = new Store(workspace);
  try {
    let rows = store.runs(opts.sweep ? { sweep: opts.sweep } : {});
    if (opts.runs?.length) {
      const picked: RunRow[] = [];
      for (const id of opts.runs) {
        const r = store.run(id);
        if (!r) throw new ReportError(`no run '${id}' in the store ${dbPath} (see \`lmlab runs ls\`)`);
        if (opts.sweep && r.sweep !== opts.sweep) throw new ReportError(`run '${id}' is not in sweep '${opts.sweep}' (it is in ${r.sweep ?? 'no sweep'})`);
        picked.push(r);
      }
      rows = picked;
    }
    if (rows.length === 0) throw new ReportError(`${dbPath}: no runs${opts.sweep ? ` in sweep '${opts.sweep}'` : ''} to report on`);
    const sourceName = `${dbPath}${opts.sweep ? ` (sweep ${opts.sweep})` : ''}`;
    const curves = rows.map((r) => ({ run: r.id, ...runCurve(store, r) })).filter((c) => c.points.some((p) => p.loss !== null || p.val_loss !== null));
    const liveRuns = curves.filter((c) => c.source === 'metrics.jsonl').map((c) => c.run);
    return {
      title: opts.title ?? `lmlab report: ${opts.sweep ? `sweep ${opts.sweep}` : `${rows.length} run${rows.length > 1 ? 's' : ''}`}`,
      provenance: { workspace: store.root, store: dbPath, ...(opts.sweep ? { sweep: opts.sweep } : {}) },
      runs: {
        source: `runs table of ${sourceName}`,
        rows: rows.map((r) => ({
          id: r.id, sweep: r.sweep, status: r.status, params: r.params, non_embedding: r.non_embedding, flops_per_token: r.flops_per_token,
          steps: r.steps, tokens: r.tokens, final_loss: r.final_loss, final_val_loss: r.final_val_loss, evaluations: store.evaluations(r.id).length,
        })),
      },
      ...(curves.length ? {
        training: {
          source: `metrics table of ${sourceName}${liveRuns.length ? `; metrics.jsonl of the running run(s) ${liveRuns.join(', ')}` : ''}`,
          runs: curves.map((c) => ({ run: c.run, points: c.points })),
        },
      } : {}),
    };
  } finally {
    store.close();
  }
}
