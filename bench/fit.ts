/**
 * Benchmark: the full Chinchilla approach-3 fit (Epoch AI's procedure: 4500 L-BFGS starts, summed Huber,
 * 240 points) with lmlab, in the main thread and with worker threads, side by side with SciPy's
 * L-BFGS-B on the same data, grid and objective (bench/fit_scipy.py, run with /usr/bin/python3). lmlab's
 * objective runs in the native addon (native/fit.c) when it is built; the TypeScript objective is timed too.
 *
 *   node --import tsx bench/fit.ts [--reps 3] [--threads 2] [--scipy-fd] [--no-scipy] [--csv path]
 *
 * --scipy-fd also times Epoch's literal call (no jac: SciPy's finite-difference gradient), which is slow.
 * Wall-clock times depend on what else runs on the machine: the load average is printed with the results.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { readCsv, toPoints } from '../src/scaling/data.ts';
import { fitChinchilla, fitChinchillaWith, prepareChinchilla } from '../src/scaling/chinchilla.ts';
import { createPool, defaultThreads } from '../src/scaling/parallel.ts';
import { nativeAvailable } from '../src/engine/native/index.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const reps = Number(arg('--reps', '3'));
const threads = Number(arg('--threads', String(defaultThreads())));
const CSV = arg('--csv', new URL('../../shared/data/chinchilla/svg_extracted_data.csv', import.meta.url).pathname);
const pts = toPoints(readCsv(CSV), { need: ['N', 'D'], dropHighestLoss: 5 });

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

interface Row {
  name: string;
  wall: number[];
  cpu?: number[];
  extra: string;
}
const rows: Row[] = [];

// warm-up (JIT) so that the timed runs measure steady-state code
fitChinchilla(pts, { validate: false, grid: { alpha: [0, 1], beta: [0, 1], e: [0], a: [0, 10], b: [0, 10] } });

/** One row per objective: the native kernel (native/fit.c) when the addon is built, and the TypeScript fast path
 * that runs without it (LMLAB_FIT_NATIVE=0). */
const objectives: { env: string | undefined; label: string }[] = [
  ...(nativeAvailable() ? [{ env: undefined, label: 'native objective' }] : []),
  { env: '0', label: 'TypeScript objective' },
];
for (const obj of objectives) {
  if (obj.env === undefined) delete process.env.LMLAB_FIT_NATIVE;
  else process.env.LMLAB_FIT_NATIVE = obj.env;
  const wall: number[] = [];
  const cpu: number[] = [];
  let last = fitChinchilla(pts, { validate: false });
  for (let r = 0; r < reps; r++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    last = fitChinchilla(pts, { validate: false });
    wall.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
  }
  const p = last.params;
  rows.push({
    name: `lmlab, 1 thread, ${obj.label}`,
    wall,
    cpu,
    extra: `E=${p.E.toFixed(4)} alpha=${p.alpha.toFixed(4)} beta=${p.beta.toFixed(4)} A=${p.A.toFixed(1)} B=${p.B.toFixed(0)} obj=${last.objective.toExponential(5)} iters=${last.optimizer.iterations} evals=${last.optimizer.evaluations}`,
  });
}
delete process.env.LMLAB_FIT_NATIVE;

if (threads > 1) {
  const prob = prepareChinchilla(pts, { validate: false });
  const t0 = performance.now();
  const pool = await createPool(prob.data, prob.delta, {}, threads);
  const startup = performance.now() - t0;
  if (pool) {
    const wall: number[] = [];
    let last = await fitChinchillaWith(pts, { validate: false }, pool.solve);
    for (let r = 0; r < reps; r++) {
      const t1 = performance.now();
      last = await fitChinchillaWith(pts, { validate: false }, pool.solve);
      wall.push(performance.now() - t1);
    }
    await pool.close();
    rows.push({ name: `lmlab, ${threads} worker threads`, wall, extra: `same result: alpha=${last.params.alpha.toFixed(4)} beta=${last.params.beta.toFixed(4)}; pool start-up ${(startup / 1000).toFixed(2)} s (not included)` });
  } else rows.push({ name: `lmlab, ${threads} worker threads`, wall: [NaN], extra: 'worker threads unavailable' });
}

const py = '/usr/bin/python3';
if (!args.includes('--no-scipy') && existsSync(py)) {
  const script = new URL('./fit_scipy.py', import.meta.url).pathname;
  const variants = ['analytic', ...(args.includes('--scipy-fd') ? ['fd'] : [])];
  for (const v of variants) {
    const wall: number[] = [];
    let info = '';
    const n = v === 'fd' ? 1 : Math.max(1, Math.min(reps, 2));
    for (let r = 0; r < n; r++) {
      const res = spawnSync(py, [script, CSV, '--only', v], { encoding: 'utf8' });
      if (res.status !== 0) {
        info = `failed: ${res.stderr.trim().split('\n').pop()}`;
        break;
      }
      const j = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
      wall.push(Number(j.seconds) * 1000);
      info = `E=${Number(j.E).toFixed(4)} alpha=${Number(j.alpha).toFixed(4)} beta=${Number(j.beta).toFixed(4)} A=${Number(j.A).toFixed(1)} B=${Number(j.B).toFixed(0)} obj=${Number(j.objective).toExponential(5)} iters=${j.iterations} (scipy ${j.scipy})`;
    }
    rows.push({ name: v === 'fd' ? "SciPy L-BFGS-B, Epoch's call (finite-difference gradient)" : 'SciPy L-BFGS-B, analytic gradient (jac=True)', wall: wall.length ? wall : [NaN], extra: info });
  }
} else if (!args.includes('--no-scipy')) rows.push({ name: 'SciPy', wall: [NaN], extra: `${py} not found` });

const base = median(rows[0]!.wall);
console.log(`Chinchilla approach-3 fit, 240 points, 4500 starts; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; median of ${reps} runs (SciPy: ${Math.max(1, Math.min(reps, 2))})`);
console.log('| implementation | wall (s), median | min | CPU (s) | time / first row |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const m = median(r.wall);
  console.log(`| ${r.name} | ${(m / 1000).toFixed(2)} | ${(Math.min(...r.wall) / 1000).toFixed(2)} | ${r.cpu ? (median(r.cpu) / 1000).toFixed(2) : '-'} | ${(m / base).toFixed(2)} |`);
}
for (const r of rows) console.log(`  ${r.name}: ${r.extra}`);
