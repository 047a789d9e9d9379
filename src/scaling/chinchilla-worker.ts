/** Worker-thread side of ./parallel.ts: runs multi-start L-BFGS tasks on the shared Chinchilla data. */
import { parentPort, workerData } from 'node:worker_threads';
import { localSolverAll, type Job, type LogData } from './chinchilla.ts';
import type { LbfgsOptions } from './lbfgs.ts';

interface Init {
  lnN: Float64Array;
  lnD: Float64Array;
  lnL: Float64Array;
  delta: number;
  lbfgs: LbfgsOptions;
}

export interface Task {
  job: number;
  w: Float64Array | null;
  /** Flat [a, b, e, α, β] × count. */
  starts: Float64Array;
  /** Global index of each start within its job. */
  index: Int32Array;
  lbfgs?: LbfgsOptions;
  acceptGradient?: number;
}

const init = workerData as Init;
const data: LogData = { lnN: init.lnN, lnD: init.lnD, lnL: init.lnL, w: new Float64Array(init.lnL.length).fill(1) };
const solve = localSolverAll(data, init.delta, init.lbfgs);

parentPort!.on('message', (msg: { id: number; tasks: Task[] }) => {
  const results = msg.tasks.map((t) => {
    const starts: Float64Array[] = [];
    for (let k = 0; k < t.index.length; k++) starts.push(t.starts.subarray(5 * k, 5 * k + 5));
    const job: Job = { w: t.w, starts, ...(t.lbfgs ? { lbfgs: t.lbfgs } : {}), ...(t.acceptGradient !== undefined ? { acceptGradient: t.acceptGradient } : {}) };
    const r = solve([job])[0]!;
    if (r.bestStart >= 0) r.bestStart = t.index[r.bestStart]!;
    return r;
  });
  parentPort!.postMessage({ id: msg.id, results });
});
