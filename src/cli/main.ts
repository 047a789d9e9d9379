/** lmlab command line: a thin shell over the library. Each area registers its commands. */
import { Command } from 'commander';
import { register as registerEngine } from './engine.ts';

const program = new Command();
program
  .name('lmlab')
  .description('A laboratory for the empirical science of language models')
  .version('0.1.0')
  .showHelpAfterError();

registerEngine(program);

// Areas developed alongside the engine register themselves when present.
for (const area of ['data', 'scaling', 'emergence', 'memorization', 'phenomena', 'interop', 'study']) {
  const url = new URL(`./${area}.ts`, import.meta.url);
  try {
    const mod = (await import(url.href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !String((e as Error).message).includes(`${area}.ts`)) throw e;
  }
}

await program.parseAsync(process.argv);
