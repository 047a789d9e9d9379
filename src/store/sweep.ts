/**
 * Sweeps: a planner that turns a design (model sizes × token budgets, or IsoFLOP budgets) into run specs,
 * and a runner that trains them with a local executor of K worker processes. Finished runs are skipped on
 * re-launch, interrupted ones resume from their last checkpoint, and every run is indexed in the store.
 * The specs are plain JSON training configs, so a cluster scheduler (e.g. Slurm job arrays running
 * `lmlab train --config <spec>`) can run the same plan.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { resolveConfig, type GPTConfigInput } from '../model/config.ts';
import { countParams } from '../model/layout.ts';
import { latestCheckpoint } from '../train/checkpoint.ts';
import type { TrainConfigInput } from '../train/config.ts';
import { Store } from './store.ts';

/** One model shape in a size ladder. */
export interface ModelShape {
  n_layer: number;
  d_model: number;
  n_head: number;
}

export interface RunSpec {
  /** unique within the sweep; also the run directory name */
  id: string;
  /** full training config (its `out` is set by the planner) */
  config: TrainConfigInput;
  /** non-embedding parameters, training tokens, and C = 6·N·D */
  N: number;
  D: number;
  C: number;
}

export interface SweepPlan {
  id: string;
  kind: 'grid' | 'isoflop';
  dir: string;
  runs: RunSpec[];
}

export class SweepError extends Error {
  override name = 'SweepError';
}

/** Non-embedding N of a shape under the base model config. */
export function shapeN(shape: ModelShape, model: GPTConfigInput): number {
  return countParams(resolveConfig({ ...model, ...shape })).nonEmbedding;
}

function steps(D: number, tokensPerStep: number): number {
  return Math.max(1, Math.round(D / tokensPerStep));
}

/**
 * N × D grid: every shape trained for every token budget. `base` holds the shared training config (data,
 * batch, seq_len, lr ...); each run gets steps = D / (batch·seq_len·grad_accum).
 */
export function planGrid(id: string, dir: string, base: TrainConfigInput, shapes: readonly ModelShape[], tokens: readonly number[]): SweepPlan {
  if (shapes.length === 0 || tokens.length === 0) throw new SweepError('grid sweep: need at least one model shape and one token budget');
  const tps = (base.batch_size ?? 8) * (base.seq_len || base.model?.ctx || 128) * (base.grad_accum ?? 1);
  const runs: RunSpec[] = [];
  for (const s of shapes) for (const D of tokens) {
    const N = shapeN(s, base.model ?? {});
    const st = steps(D, tps);
    const rid = `L${s.n_layer}-d${s.d_model}-D${D}`;
    runs.push({ id: rid, N, D: st * tps, C: 6 * N * st * tps, config: withRun(base, s, st, join(dir, rid)) });
  }
  return { id, kind: 'grid', dir, runs };
}

/** IsoFLOP design: for each budget C, every shape with D = C / (6N) (runs below `minSteps` are dropped). */
export function planIsoflop(id: string, dir: string, base: TrainConfigInput, shapes: readonly ModelShape[], budgets: readonly number[], minSteps = 10): SweepPlan {
  const tps = (base.batch_size ?? 8) * (base.seq_len || base.model?.ctx || 128) * (base.grad_accum ?? 1);
  const runs: RunSpec[] = [];
  for (const C of budgets) for (const s of shapes) {
    const N = shapeN(s, base.model ?? {});
    const st = steps(C / (6 * N), tps);
    if (st < minSteps) continue;
    const rid = `C${C.toExponential(1).replace('+', '')}-L${s.n_layer}-d${s.d_model}`;
    runs.push({ id: rid, N, D: st * tps, C, config: withRun(base, s, st, join(dir, rid)) });
  }
  if (runs.length === 0) throw new SweepError('isoflop sweep: every run fell below the minimum step count; raise the budgets');
  return { id, kind: 'isoflop', dir, runs };
}

function withRun(base: TrainConfigInput, s: ModelShape, st: number, out: string): TrainConfigInput {
  const warmup = Math.min(base.warmup ?? 20, Math.floor(st / 5));
  const every = (x: number | undefined, dflt: number) => Math.min(x ?? dflt, st);
  return {
    ...base, steps: st, warmup, out, model: { ...(base.model ?? {}), ...s },
    eval_every: every(base.eval_every, st), checkpoint_every: every(base.checkpoint_every, st),
  };
}

/** Write the plan (plan.json and one spec per run) into its directory and register it in the store. */
export function savePlan(plan: SweepPlan, store?: Store): void {
  mkdirSync(plan.dir, { recursive: true });
  writeFileAtomic(join(plan.dir, 'plan.json'), JSON.stringify(plan, null, 2) + '\n');
  for (const r of plan.runs) writeFileAtomic(join(plan.dir, r.id + '.spec.json'), JSON.stringify(r.config, null, 2) + '\n');
  store?.upsertSweep(plan.id, plan.kind, plan);
}

export function loadPlan(dir: string): SweepPlan {
  const p = join(dir, 'plan.json');
  if (!existsSync(p)) throw new SweepError(`${dir}: no plan.json (run \`lmlab sweep plan\` first)`);
  return JSON.parse(readFileSync(p, 'utf8')) as SweepPlan;
}

/** Is this run finished (its final checkpoint exists)? */
export function runFinished(r: RunSpec): boolean {
  const last = latestCheckpoint(join(String(r.config.out), 'checkpoints'));
  return last !== null && last.step >= (r.config.steps ?? Infinity);
}

export interface SweepProgress {
  done: number;
  total: number;
  running: string[];
  skipped: number;
  failed: string[];
  event?: string;
}

export interface RunSweepOptions {
  /** worker processes */
  workers?: number;
  /** passed to each `lmlab train` */
  backend?: string;
  /** threads per worker (OMP_NUM_THREADS); default cores / workers */
  threadsPerWorker?: number;
  onProgress?: (p: SweepProgress) => void;
  signal?: AbortSignal;
  /** path of bin/lmlab.js (default: this package's) */
  bin?: string;
}

/**
 * Train every unfinished run of the plan with up to `workers` concurrent `lmlab train` processes. Returns
 * the ids that failed. On abort, running workers get SIGINT (they checkpoint) and no new ones start.
 */
export async function runSweep(plan: SweepPlan, store: Store, o: RunSweepOptions = {}): Promise<{ failed: string[]; interrupted: boolean }> {
  const workers = Math.max(1, o.workers ?? 1);
  const bin = o.bin ?? resolve(import.meta.dirname, '../../bin/lmlab.js');
  const threads = o.threadsPerWorker ?? Math.max(1, Math.floor((await import('node:os')).availableParallelism() / workers));
  savePlan(plan, store);
  const todo: RunSpec[] = [];
  let skipped = 0;
  for (const r of plan.runs) {
    if (runFinished(r)) {
      skipped++;
      store.syncRun(String(r.config.out), { sweep: plan.id, status: 'completed' });
    } else todo.push(r);
  }
  const total = plan.runs.length;
  let done = skipped;
  const running = new Map<string, ReturnType<typeof spawn>>();
  const failed: string[] = [];
  const report = (event?: string) => o.onProgress?.({ done, total, running: [...running.keys()], skipped, failed, event });
  report();
  const onAbort = () => { for (const p of running.values()) p.kill('SIGINT'); };
  o.signal?.addEventListener('abort', onAbort);
  const runOne = (r: RunSpec) => new Promise<void>((res) => {
    const spec = join(plan.dir, r.id + '.spec.json');
    const out = String(r.config.out);
    const resume = latestCheckpoint(join(out, 'checkpoints')) !== null;
    const args = [bin, 'train', '--config', spec, '--json', ...(resume ? ['--resume'] : []), ...(o.backend ? ['--backend', o.backend] : [])];
    mkdirSync(out, { recursive: true });
    store.upsertRun({ dir: out, status: 'running', config: JSON.stringify(r.config), sweep: plan.id });
    const child = spawn(process.execPath, args, {
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    child.stdout!.resume();
    running.set(r.id, child);
    report(`start ${r.id}`);
    child.on('close', (code) => {
      running.delete(r.id);
      const ok = code === 0;
      try {
        store.syncRun(out, { sweep: plan.id, status: ok ? 'completed' : o.signal?.aborted ? 'interrupted' : 'failed' });
      } catch { /* the run never wrote its config */ }
      if (ok) done++;
      else if (!o.signal?.aborted) {
        failed.push(r.id);
        writeFileAtomic(join(out, 'error.log'), err);
      }
      report(`${ok ? 'finished' : 'failed'} ${r.id}`);
      res();
    });
  });
  const queue = [...todo];
  await Promise.all(Array.from({ length: Math.min(workers, queue.length) }, async () => {
    while (queue.length && !o.signal?.aborted) await runOne(queue.shift()!);
  }));
  o.signal?.removeEventListener('abort', onAbort);
  return { failed, interrupted: o.signal?.aborted ?? false };
}
