/**
 * Child-process entry of the mirage experiment's parallel training (`workers` > 1): trains and evaluates the
 * jobs listed in argv[2] (JSON) and writes the per-model results to argv[3]. Started by runMirageExperiment.
 */
import { createBackend } from '../../engine/index.ts';
import { mirageWorkerMain } from './mirage.ts';

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  process.stderr.write('mirage-worker: usage: mirage-worker.ts <jobs.json> <results.json>\n');
  process.exit(2);
}
try {
  await mirageWorkerMain(inPath, outPath, (name) => createBackend(name));
} catch (e) {
  process.stderr.write(`mirage-worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
