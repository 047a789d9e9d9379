/** lmlab command line: a thin shell over the library. Each area registers its commands. */
import { Command } from 'commander';
import { register as engine } from './engine.ts';
import { register as data } from './data.ts';
import { register as store } from './store.ts';
import { register as scaling } from './scaling.ts';
import { register as emergence } from './emergence.ts';
import { register as memorization } from './memorization.ts';
import { register as report } from './report.ts';
import { register as study } from './study.ts';
import { register as interop } from './interop.ts';
import { register as phenomena } from './phenomena.ts';
import { register as experiment } from './experiment.ts';

const program = new Command();
program
  .name('lmlab')
  .description('A laboratory for the empirical science of language models')
  .version('0.1.0')
  .showHelpAfterError();

for (const register of [study, engine, data, store, scaling, emergence, experiment, memorization, phenomena, report, interop]) register(program);

await program.parseAsync(process.argv);
