/** Experiment-store and sweep commands: lmlab runs ls|show|export, lmlab sweep plan|run|status. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Store, StoreError } from '../store/store.ts';
import { loadPlan, planGrid, planIsoflop, runFinished, runSweep, savePlan, SweepError, type ModelShape } from '../store/sweep.ts';
import type { TrainConfigInput } from '../train/config.ts';
import { action, fmtDuration } from './util.ts';

const workspaceOpt = (c: Command) => c.option('--workspace <dir>', 'workspace holding lmlab.sqlite and runs (default: LMLAB_WORKSPACE or ./workspace)');
const ws = (o: { workspace?: string }) => o.workspace ?? process.env.LMLAB_WORKSPACE ?? 'workspace';

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Parse "L×d" shapes like "2x64,4x128" (heads = d/32, at least 1, or "2x64x2" to name them). */
export function parseShapes(s: string): ModelShape[] {
  return s.split(',').map((p) => {
    const m = /^(\d+)x(\d+)(?:x(\d+))?$/.exec(p.trim());
    if (!m) throw new SweepError(`--shapes: '${p}' is not LAYERSxWIDTH[xHEADS] (e.g. 2x64,4x128x4)`);
    const d = Number(m[2]);
    return { n_layer: Number(m[1]), d_model: d, n_head: m[3] ? Number(m[3]) : Math.max(1, Math.floor(d / 32)) };
  });
}

function parseNums(s: string, flag: string): number[] {
  const xs = s.split(',').map((x) => Number(x.trim()));
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new SweepError(`${flag}: expected comma-separated positive numbers, got '${s}'`);
  return xs;
}

export function register(program: Command): void {
  const runs = program.command('runs').description('the experiment store: list, show and export runs');
  workspaceOpt(runs.command('ls').description('list runs').option('--sweep <id>', 'only this sweep').option('--json', 'JSON output'))
    .action(action((o: { workspace?: string; sweep?: string; json?: boolean }) => {
      const st = new Store(ws(o));
      const rows = st.runs({ sweep: o.sweep });
      if (o.json) process.stdout.write(JSON.stringify(rows.map(({ config: _c, ...r }) => r)) + '\n');
      else {
        process.stdout.write(`${'run'.padEnd(40)} ${'status'.padEnd(11)} ${'N(non-emb)'.padStart(11)} ${'tokens'.padStart(10)} ${'loss'.padStart(7)} ${'val'.padStart(7)}\n`);
        for (const r of rows) process.stdout.write(`${r.id.padEnd(40)} ${r.status.padEnd(11)} ${String(r.non_embedding ?? '').padStart(11)} ${String(r.tokens ?? '').padStart(10)} ${(r.final_loss?.toFixed(4) ?? '').padStart(7)} ${(r.final_val_loss?.toFixed(4) ?? '').padStart(7)}\n`);
      }
      st.close();
    }));
  workspaceOpt(runs.command('show <run>').description('a run with its metrics and evaluations').option('--json', 'JSON output'))
    .action(action((run: string, o: { workspace?: string; json?: boolean }) => {
      const st = new Store(ws(o));
      const r = st.run(run);
      if (!r) throw new StoreError(`no run '${run}' in ${st.root} (see \`lmlab runs ls\`)`);
      const out = { ...r, config: JSON.parse(r.config) as unknown, metrics: st.metrics(r.id), evaluations: st.evaluations(r.id) };
      process.stdout.write(o.json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
      st.close();
    }));
  workspaceOpt(runs.command('export').description('export runs (and optionally their metrics) as CSV').option('--csv', 'CSV (the default and only format)')
    .option('--metrics', 'one row per logged step instead of one per run').option('--sweep <id>', 'only this sweep'))
    .action(action((o: { workspace?: string; metrics?: boolean; sweep?: string }) => {
      const st = new Store(ws(o));
      const rows = st.runs({ sweep: o.sweep });
      if (o.metrics) {
        const cols = ['run_id', 'step', 'tokens', 'loss', 'val_loss', 'lr', 'grad_norm', 'tokens_per_s', 'elapsed_s'] as const;
        process.stdout.write(cols.join(',') + '\n');
        for (const r of rows) for (const m of st.metrics(r.id)) process.stdout.write(cols.map((c) => csvCell(m[c])).join(',') + '\n');
      } else {
        const cols = ['id', 'sweep', 'status', 'params', 'non_embedding', 'flops_per_token', 'steps', 'tokens', 'final_loss', 'final_val_loss'] as const;
        process.stdout.write(cols.join(',') + '\n');
        for (const r of rows) process.stdout.write(cols.map((c) => csvCell(r[c])).join(',') + '\n');
      }
      st.close();
    }));
  workspaceOpt(runs.command('sync <dirs...>').description('index run directories into the store'))
    .action(action((dirs: string[], o: { workspace?: string }) => {
      const st = new Store(ws(o));
      for (const d of dirs) process.stdout.write(`indexed ${st.syncRun(d)}\n`);
      st.close();
    }));

  const sweep = program.command('sweep').description('plan and run sweeps of training runs (N × D grids, IsoFLOP designs)');
  workspaceOpt(sweep.command('plan').description('write a sweep plan: one training spec per run')
    .requiredOption('--id <name>', 'sweep name (its directory under the workspace)')
    .requiredOption('--base <file>', 'base training config (data, batch_size, seq_len, lr, model defaults …)')
    .requiredOption('--shapes <list>', 'model shapes LAYERSxWIDTH[xHEADS], e.g. 1x32,2x64,4x128')
    .option('--tokens <list>', 'grid design: training tokens per run, e.g. 2e5,1e6')
    .option('--flops <list>', 'IsoFLOP design: budgets C (FLOPs, C = 6ND), e.g. 1e12,3e12')
    .option('--json', 'print the plan as JSON'))
    .action(action((o: { workspace?: string; id: string; base: string; shapes: string; tokens?: string; flops?: string; json?: boolean }) => {
      if (!existsSync(o.base)) throw new SweepError(`--base: file '${o.base}' does not exist`);
      const base = JSON.parse(readFileSync(o.base, 'utf8')) as TrainConfigInput;
      if (!!o.tokens === !!o.flops) throw new SweepError('give exactly one of --tokens (grid) or --flops (IsoFLOP)');
      const dir = join(ws(o), 'sweeps', o.id);
      const shapes = parseShapes(o.shapes);
      const plan = o.tokens ? planGrid(o.id, dir, base, shapes, parseNums(o.tokens, '--tokens')) : planIsoflop(o.id, dir, base, shapes, parseNums(o.flops!, '--flops'));
      const st = new Store(ws(o));
      savePlan(plan, st);
      st.close();
      if (o.json) process.stdout.write(JSON.stringify(plan) + '\n');
      else for (const r of plan.runs) process.stdout.write(`${r.id.padEnd(28)} N=${r.N.toExponential(2)} D=${r.D.toExponential(2)} C=${r.C.toExponential(2)} steps=${r.config.steps}\n`);
    }));
  workspaceOpt(sweep.command('run').description('train every unfinished run of a sweep (re-run to resume)')
    .requiredOption('--id <name>', 'sweep name').option('--workers <k>', 'concurrent worker processes', '1').option('--backend <kind>', 'ref | native | auto'))
    .action(action(async (o: { workspace?: string; id: string; workers: string; backend?: string }) => {
      const plan = loadPlan(join(ws(o), 'sweeps', o.id));
      const st = new Store(ws(o));
      const ac = new AbortController();
      process.on('SIGINT', () => { process.stderr.write('\nlmlab: stopping workers (they checkpoint); re-run to resume\n'); ac.abort(); });
      const t0 = Date.now();
      const r = await runSweep(plan, st, {
        workers: Number(o.workers), backend: o.backend, signal: ac.signal,
        onProgress: (p) => process.stderr.write(`[${p.done}/${p.total}] ${fmtDuration((Date.now() - t0) / 1000)} ${p.event ?? `${p.skipped} already finished`}${p.running.length ? ` · running: ${p.running.join(', ')}` : ''}\n`),
      });
      st.close();
      if (r.failed.length) throw new SweepError(`${r.failed.length} run(s) failed: ${r.failed.join(', ')} (see their error.log)`);
      if (r.interrupted) process.exitCode = 130;
    }));
  workspaceOpt(sweep.command('status').description('which runs of a sweep are finished').requiredOption('--id <name>', 'sweep name'))
    .action(action((o: { workspace?: string; id: string }) => {
      const plan = loadPlan(join(ws(o), 'sweeps', o.id));
      let done = 0;
      for (const r of plan.runs) {
        const f = runFinished(r);
        if (f) done++;
        process.stdout.write(`${f ? 'done   ' : 'pending'} ${r.id}\n`);
      }
      process.stdout.write(`${done}/${plan.runs.length} finished\n`);
    }));
}
