/** lmlab study: the whole default study on the built-in corpus, resumable. */
import type { Command } from 'commander';
import { PRESETS, runStudy, StudyError } from '../study/study.ts';
import { action, fmtDuration } from './util.ts';

export function register(program: Command): void {
  program
    .command('study')
    .description('run the default study on the built-in corpus: corpus → model suite → scaling fit → probes → report (re-run to resume)')
    .option('--preset <name>', 'quick (≤ 15 min on 2 cores), full (hours on CPU) or smoke (a minute: checks an installation)', 'quick')
    .option('--workspace <dir>', 'where the corpus, runs, store and report go (default: LMLAB_WORKSPACE or ./workspace)')
    .option('--backend <kind>', 'ref | native | auto')
    .action(action(async (o: { preset: string; workspace?: string; backend?: string }) => {
      const preset = Object.hasOwn(PRESETS, o.preset) ? PRESETS[o.preset as keyof typeof PRESETS] : undefined;
      if (!preset) throw new StudyError(`--preset: '${o.preset}' is not a preset (${Object.keys(PRESETS).join(', ')})`);
      const workspace = o.workspace ?? process.env.LMLAB_WORKSPACE ?? 'workspace';
      const ac = new AbortController();
      process.on('SIGINT', () => { process.stderr.write('\nlmlab: stopping (finished runs are kept; run `lmlab study` again to continue)\n'); ac.abort(); });
      const t0 = Date.now();
      const r = await runStudy({
        workspace, preset, backend: o.backend, signal: ac.signal,
        log: (step, msg) => process.stderr.write(`[${fmtDuration((Date.now() - t0) / 1000).padStart(6)}] ${step.padEnd(7)} ${msg}\n`),
      });
      process.stderr.write(`study finished in ${fmtDuration((Date.now() - t0) / 1000)}: ${r.summary}\n`);
    }));
}
