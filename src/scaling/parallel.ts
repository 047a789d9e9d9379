/**
 * A worker-thread pool for the Chinchilla multi-start fits. Large jobs (the 4500-start grid) are split
 * into interleaved chunks, one per worker; many small jobs (bootstrap refits) are spread round-robin.
 * Results are merged exactly as the sequential loop would produce them (lowest objective, earliest
 * start on ties), so a fit gives the same numbers with any number of threads.
 *
 * Workers load the TypeScript sources through tsx's ESM hooks (registered inside each worker); where
 * that is not possible `createPool` returns null and callers fall back to the in-thread solver.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Job, LogData, MultiStartResult, SolveAsync } from './chinchilla.ts';
import type { LbfgsOptions } from './lbfgs.ts';
import type { Task } from './chinchilla-worker.ts';

export interface Pool {
  threads: number;
  solve: SolveAsync;
  close(): Promise<void>;
  /** Milliseconds spent starting the workers. */
  startupMs: number;
}

/** Default thread count: the machine's available parallelism, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

export async function createPool(data: LogData, delta: number, lbfgs: LbfgsOptions, threads: number): Promise<Pool | null> {
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    return null;
  }
  const entry = new URL('./chinchilla-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  const t0 = performance.now();
  const workers: Worker[] = [];
  const init = { lnN: data.lnN, lnD: data.lnD, lnL: data.lnL, delta, lbfgs };
  for (let k = 0; k < threads; k++) workers.push(new Worker(boot, { eval: true, workerData: init }));
  const pending = new Map<number, { resolve: (r: MultiStartResult[]) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failed: Error | null = null;
  for (const w of workers) {
    w.on('message', (m: { id: number; results: MultiStartResult[] }) => {
      const p = pending.get(m.id);
      if (p) {
        pending.delete(m.id);
        p.resolve(m.results);
      }
    });
    w.on('error', (e) => {
      failed = e instanceof Error ? e : new Error(String(e));
      for (const p of pending.values()) p.reject(failed);
      pending.clear();
    });
  }
  const call = (w: Worker, tasks: Task[]): Promise<MultiStartResult[]> =>
    new Promise((resolve, reject) => {
      if (failed) return reject(failed);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, tasks });
    });
  // make sure every worker has loaded (a trivial task each)
  try {
    await Promise.all(workers.map((w) => call(w, [])));
  } catch {
    await Promise.all(workers.map((w) => w.terminate()));
    return null;
  }
  const startupMs = performance.now() - t0;

  const solve: SolveAsync = async (jobs: Job[]) => {
    const T = workers.length;
    const perWorker: Task[][] = workers.map(() => []);
    let rr = 0;
    jobs.forEach((job, j) => {
      const S = job.starts.length;
      const chunks = S >= 2 * T ? T : 1;
      for (let c = 0; c < chunks; c++) {
        const idx: number[] = [];
        for (let k = c; k < S; k += chunks) idx.push(k);
        const flat = new Float64Array(5 * idx.length);
        idx.forEach((k, m) => flat.set(job.starts[k]!, 5 * m));
        perWorker[chunks === 1 ? rr++ % T : c]!.push({ job: j, w: job.w, starts: flat, index: Int32Array.from(idx), ...(job.lbfgs ? { lbfgs: job.lbfgs } : {}), ...(job.acceptGradient !== undefined ? { acceptGradient: job.acceptGradient } : {}) });
      }
    });
    const answers = await Promise.all(workers.map((w, k) => call(w, perWorker[k]!)));
    const merged: (MultiStartResult | null)[] = jobs.map(() => null);
    const totals = jobs.map(() => ({ converged: 0, iterations: 0, evaluations: 0, statuses: {} as MultiStartResult['statuses'] }));
    perWorker.forEach((tasks, k) => {
      tasks.forEach((t, m) => {
        const r = answers[k]![m]!;
        const tot = totals[t.job]!;
        tot.converged += r.converged;
        tot.iterations += r.iterations;
        tot.evaluations += r.evaluations;
        for (const [st, c] of Object.entries(r.statuses)) {
          const key = st as keyof MultiStartResult['statuses'];
          tot.statuses[key] = (tot.statuses[key] ?? 0) + (c ?? 0);
        }
        if (r.bestStart < 0) return;
        const cur = merged[t.job];
        if (!cur || r.objective < cur.objective || (r.objective === cur.objective && r.bestStart < cur.bestStart)) merged[t.job] = r;
      });
    });
    return merged.map((r, j) => {
      if (!r) return null;
      const tot = totals[j]!;
      return { ...r, starts: jobs[j]!.starts.length, converged: tot.converged, iterations: tot.iterations, evaluations: tot.evaluations, statuses: tot.statuses };
    });
  };
  return {
    threads: workers.length,
    solve,
    startupMs,
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
