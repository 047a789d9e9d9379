/** Report and dashboard commands: lmlab report [study | input.json | run ids...], lmlab serve. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseReportInput, ReportError, ReportInputError, type ReportInput } from '../report/types.ts';
import { action } from './util.ts';

// The renderer (vega), the dashboard (better-sqlite3) and playwright are loaded only when a command runs, so
// they do not slow down every other lmlab command.

const ws = (o: { workspace?: string }) => o.workspace ?? process.env.LMLAB_WORKSPACE ?? 'workspace';

function readInputFile(path: string): ReportInput {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ReportInputError(`${path}: not readable JSON (${(e as Error).message})`);
  }
  return v as ReportInput; // validated by renderReport (errors name the file and field)
}

/** Where a report's input comes from: a report-input JSON file, a study (or report) directory holding one, or the store. */
export async function resolveTarget(targets: string[], o: { workspace?: string; sweep?: string; title?: string; out?: string }): Promise<{ input: ReportInput; where: string; out: string }> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  if (targets.length === 1 && existsSync(targets[0]!)) {
    const t = targets[0]!;
    if (statSync(t).isFile()) {
      const input = readInputFile(t);
      return { input: o.title ? { ...input, title: o.title } : input, where: t, out: o.out ?? join(ws(o), 'reports', `report-${stamp}`) };
    }
    // a study directory holds report-input.json (written by the study) and gets report/; a report directory
    // (report-input.json beside report.html) is re-rendered in place; a study whose report/ exists is re-rendered there
    const candidates: [string, string][] = [
      [join(t, 'report-input.json'), existsSync(join(t, 'report.html')) ? t : join(t, 'report')],
      [join(t, 'report', 'report-input.json'), join(t, 'report')],
    ];
    for (const [file, out] of candidates) {
      if (existsSync(file)) {
        const input = readInputFile(file);
        return { input: o.title ? { ...input, title: o.title } : input, where: file, out: o.out ?? out };
      }
    }
    throw new ReportInputError(`${t}: a directory without report-input.json (nor report/report-input.json); give a study directory, a report input JSON file, or run ids in --workspace`);
  }
  const { reportFromStore } = await import('../report/store.ts');
  const input = reportFromStore(ws(o), { runs: targets, sweep: o.sweep, title: o.title });
  const name = o.sweep ? `sweep-${o.sweep}` : targets.length ? `runs` : 'all';
  return { input, where: join(ws(o), 'lmlab.sqlite'), out: o.out ?? join(ws(o), 'reports', `${name}-${stamp}`) };
}

export function register(program: Command): void {
  program.command('report [targets...]')
    .description('write a self-contained HTML report (report.html) with SVG figures from a study directory, a report input JSON, or runs in the store')
    .option('--workspace <dir>', 'workspace holding lmlab.sqlite (default: LMLAB_WORKSPACE or ./workspace)')
    .option('--sweep <id>', 'with run targets or none: only the runs of this sweep')
    .option('--out <dir>', 'output directory (default: <study>/report, or <workspace>/reports/<name>-<time>)')
    .option('--title <text>', 'report title')
    .option('--png', 'also write figures/<id>.png (needs Chromium: /usr/bin/chromium or LMLAB_CHROMIUM)')
    .option('--json', 'print the written paths as JSON')
    .action(action(async (targets: string[], o: { workspace?: string; sweep?: string; out?: string; title?: string; png?: boolean; json?: boolean }) => {
      const { input, where, out } = await resolveTarget(targets, o);
      const data = parseReportInput(input, where); // refuse bad input before loading the renderer
      const { renderReport } = await import('../report/render.ts');
      const r = await renderReport(data, out, { where });
      const pngs = o.png ? await (await import('../report/png.ts')).svgsToPng(r.figures) : [];
      if (o.json) process.stdout.write(JSON.stringify({ html: r.htmlPath, input: r.inputPath, figures: r.figures, specs: r.specs, pngs, warnings: r.warnings }) + '\n');
      else {
        process.stdout.write(`wrote ${r.htmlPath} (${r.figures.length} figure${r.figures.length === 1 ? '' : 's'} in ${join(resolve(out), 'figures')}${pngs.length ? `, with PNGs` : ''})\n`);
        for (const w of r.warnings) process.stderr.write(`lmlab: warning: ${w}\n`);
      }
    }));

  program.command('serve')
    .description('a local web dashboard over the store: runs, live training curves, reports (GET only; files inside the workspace only)')
    .option('--workspace <dir>', 'workspace to serve (default: LMLAB_WORKSPACE or ./workspace)')
    .option('--host <addr>', 'bind address', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', '8000')
    .option('--poll-ms <n>', 'how often the page refreshes, in ms', '2000')
    .option('--quiet', 'do not log requests')
    .action(action(async (o: { workspace?: string; host: string; port: string; pollMs: string; quiet?: boolean }) => {
      const port = Number(o.port), pollMs = Number(o.pollMs);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new ReportError(`--port: expected an integer 0..65535, got '${o.port}'`);
      if (!Number.isFinite(pollMs) || pollMs < 200) throw new ReportError(`--poll-ms: expected a number ≥ 200, got '${o.pollMs}'`);
      const dir = ws(o);
      if (!existsSync(dir)) throw new ReportError(`--workspace: '${dir}' does not exist`);
      const { startDashboard } = await import('../report/server.ts');
      const d = await startDashboard({ workspace: dir, host: o.host, port, pollMs, log: o.quiet ? undefined : (l) => process.stderr.write(l + '\n') });
      if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) process.stderr.write(`lmlab: warning: listening on ${o.host}: anyone who can reach this address can read the workspace's files and runs\n`);
      process.stdout.write(`lmlab dashboard for ${resolve(dir)} at ${d.url} (Ctrl-C to stop)\n`);
      await new Promise<void>((r) => {
        const stop = () => { process.stderr.write('\nlmlab: stopping the dashboard\n'); void d.close().then(r); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}
