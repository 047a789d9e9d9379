/**
 * `lmlab experiment grokking|induction|mirage|finetune|cot|memorization|extraction`: each trains what it needs and writes
 * `<out>/<name>.json` (options, outcome, figure descriptors, notes) and the figures' data as CSV.
 * Thin: the experiments live in src/emergence/experiments/.
 */
import type { Command } from 'commander';
import { ExperimentError } from '../emergence/experiments/common.ts';
import { runGrokkingExperiment } from '../emergence/experiments/grokking.ts';
import { runInductionExperiment } from '../emergence/experiments/induction.ts';
import { reanalyzeMirage, runMirageExperiment, type StoredMirage } from '../emergence/experiments/mirage.ts';
import { runFinetuneExperiment } from '../emergence/experiments/finetune.ts';
import { runCotExperiment } from '../emergence/experiments/cot.ts';
import { readFileSync } from 'node:fs';
import { action, pickBackend } from './util.ts';
import { experimentFlags, experimentLogger, finishExperiment, num, numList, type Common } from './experiment-common.ts';
import { registerMemorizationExperiments } from './memorization.ts';

export { num, numList } from './experiment-common.ts';

export function register(program: Command): void {
  const ex = program.command('experiment').description('emergence and memorization experiments: each trains its models and writes a result file and figure data');

  experimentFlags(ex.command('grokking'), 'grokking')
    .description('modular addition with a 1-layer transformer: train/test accuracy over steps, weight decay vs none, several training fractions')
    .option('--p <n>', 'modulus', '59')
    .option('--fractions <list>', 'training fractions run with weight decay; the first is also used by the control', '0.4,0.3,0.5')
    .option('--steps <n>', 'full-batch steps (budget of every run)', '3000')
    .option('--weight-decay <v>', 'AdamW weight decay of the main runs', '1')
    .option('--control-weight-decay <v>', 'weight decay of the control run', '0')
    .option('--lr <v>', 'learning rate', '1e-3')
    .option('--d-model <n>', 'residual width', '128')
    .option('--heads <n>', 'attention heads', '4')
    .option('--d-mlp <n>', 'MLP width', '512')
    .option('--eval-every <n>', 'evaluate test accuracy every n steps', '10')
    .option('--seed <n>', 'model init seed', '0')
    .option('--data-seed <n>', 'train/test split seed', '0')
    .option('--no-early-stop', 'run the weight-decay runs for the whole budget too')
    .action(action(async (o: Common & Record<string, string | boolean | undefined>) => {
      const be = await pickBackend(o.backend);
      const s = (k: string) => o[k] as string | undefined;
      const fractions = numList(s('fractions'), '--fractions')!;
      const run = runGrokkingExperiment(be, {
        p: num(s('p'), '--p', { int: true, min: 2 }), fractions, trainFraction: fractions[0], steps: num(s('steps'), '--steps', { int: true, min: 1 }),
        weightDecay: num(s('weightDecay'), '--weight-decay', { min: 0 }), controlWeightDecay: num(s('controlWeightDecay'), '--control-weight-decay', { min: 0 }),
        lr: num(s('lr'), '--lr'), d_model: num(s('dModel'), '--d-model', { int: true, min: 1 }), n_head: num(s('heads'), '--heads', { int: true, min: 1 }),
        d_mlp: num(s('dMlp'), '--d-mlp', { int: true, min: 1 }), evalEvery: num(s('evalEvery'), '--eval-every', { int: true, min: 1 }),
        seed: num(s('seed'), '--seed', { int: true }), dataSeed: num(s('dataSeed'), '--data-seed', { int: true }), earlyStop: o.earlyStop !== false,
      }, experimentLogger(o));
      await finishExperiment('grokking', o, run);
    }));

  experimentFlags(ex.command('induction'), 'induction')
    .description('induction heads: the loss phase change on repeated random sequences in a 2-layer attention-only model (1-layer control)')
    .option('--steps <n>', 'training steps', '2000')
    .option('--layers <n>', 'layers of the main model', '2')
    .option('--d-model <n>', 'residual width', '64')
    .option('--heads <n>', 'attention heads', '4')
    .option('--vocab <n>', 'random tokens drawn from [0, vocab)', '128')
    .option('--min-half <n>', 'shortest repeated segment', '8')
    .option('--max-half <n>', 'longest repeated segment', '24')
    .option('--batch <n>', 'rows per step', '32')
    .option('--lr <v>', 'learning rate', '1e-3')
    .option('--eval-every <n>', 'evaluate every n steps', '20')
    .option('--seed <n>', 'seed', '0')
    .option('--no-control', 'skip the 1-layer control')
    .action(action(async (o: Common & Record<string, string | boolean | undefined>) => {
      const be = await pickBackend(o.backend);
      const s = (k: string) => o[k] as string | undefined;
      const run = runInductionExperiment(be, {
        steps: num(s('steps'), '--steps', { int: true, min: 1 }), n_layer: num(s('layers'), '--layers', { int: true, min: 1 }),
        d_model: num(s('dModel'), '--d-model', { int: true, min: 1 }), n_head: num(s('heads'), '--heads', { int: true, min: 1 }),
        vocab: num(s('vocab'), '--vocab', { int: true, min: 2 }), minHalf: num(s('minHalf'), '--min-half', { int: true, min: 2 }), maxHalf: num(s('maxHalf'), '--max-half', { int: true, min: 2 }),
        batch: num(s('batch'), '--batch', { int: true, min: 1 }), lr: num(s('lr'), '--lr'), evalEvery: num(s('evalEvery'), '--eval-every', { int: true, min: 1 }),
        seed: num(s('seed'), '--seed', { int: true }), control: o.control !== false,
      }, experimentLogger(o));
      await finishExperiment('induction', o, run);
    }));

  experimentFlags(ex.command('mirage'), 'mirage')
    .description('the mirage on real models: a size suite trained on text + addition, every metric on the same generations, shape label per metric')
    .option('--sizes <list>', 'model sizes as LAYERSxWIDTH[:HEADS], comma-separated (default: 2x8,2x12,2x16,2x20,2x24,2x32,2x48; deeper models break through less reliably, see docs/experiments.md §3)')
    .option('--digits <n>', 'digits per addend', '4')
    .option('--format <f>', "answer digits 'plain' (most significant first) or 'reversed'", 'plain')
    .option('--positions <p>', "'rotary' or 'learned'", 'rotary')
    .option('--steps <n>', 'training steps per model', '5000')
    .option('--batch <n>', 'rows per step', '32')
    .option('--seq-len <n>', 'bytes per row (= ctx)', '40')
    .option('--lr <v>', 'peak learning rate', '2e-3')
    .option('--seeds <n>', 'training runs per size (different init and batch order); curves use the per-size means', '2')
    .option('--workers <n>', 'child processes training runs in parallel (1: in this process)', '2')
    .option('--arithmetic-share <v>', 'share of training bytes that are addition documents', '0.8')
    .option('--text-bytes <n>', 'bytes of Moby-Dick in the mixture', '300000')
    .option('--n-eval <n>', 'held-out problems evaluated', '300')
    .option('--k-shot <n>', 'demonstrations in each prompt', '1')
    .option('--seed <n>', 'seed', '0')
    .option('--reanalyze <file>', 'no training: recompute labels and checks from stored mirage.json files (comma-separated: pooled into one suite; they may differ only in --seed)')
    .action(action(async (o: Common & Record<string, string | boolean | undefined>) => {
      const s = (k: string) => o[k] as string | undefined;
      if (s('reanalyze') !== undefined) {
        const files = s('reanalyze')!.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
        const stored = files.map((f) => {
          try {
            return JSON.parse(readFileSync(f, 'utf8')) as StoredMirage;
          } catch (e) {
            throw new ExperimentError(`--reanalyze: cannot read '${f}' (${(e as Error).message})`);
          }
        });
        await finishExperiment('mirage', o, reanalyzeMirage(stored, files));
        return;
      }
      const be = await pickBackend(o.backend);
      const run = await runMirageExperiment(be, {
        sizes: s('sizes') === undefined ? undefined : parseSizes(s('sizes')!), digits: num(s('digits'), '--digits', { int: true, min: 1 }),
        format: parseEnum(s('format')!, '--format', ['plain', 'reversed'] as const), positions: parseEnum(s('positions')!, '--positions', ['rotary', 'learned'] as const),
        steps: num(s('steps'), '--steps', { int: true, min: 1 }), batch: num(s('batch'), '--batch', { int: true, min: 1 }), seqLen: num(s('seqLen'), '--seq-len', { int: true, min: 8 }),
        lr: num(s('lr'), '--lr'), arithmeticShare: num(s('arithmeticShare'), '--arithmetic-share'), textBytes: num(s('textBytes'), '--text-bytes', { int: true, min: 1000 }),
        nEval: num(s('nEval'), '--n-eval', { int: true, min: 1 }), kShot: num(s('kShot'), '--k-shot', { int: true, min: 0 }), seed: num(s('seed'), '--seed', { int: true }),
        seeds: num(s('seeds'), '--seeds', { int: true, min: 1 }), workers: num(s('workers'), '--workers', { int: true, min: 1 }),
      }, experimentLogger(o));
      await finishExperiment('mirage', o, run);
    }));

  experimentFlags(ex.command('finetune'), 'finetune')
    .description('pre-train on text then fine-tune on a task, versus training from scratch with the same fine-tuning steps (GPT-1 ablation)')
    .option('--model <spec>', 'LAYERSxWIDTH[:HEADS]', '2x64:4')
    .option('--task <name>', 'fine-tuning task', 'copy')
    .option('--length <n>', 'task option length (copy)', '8')
    .option('--pretrain-steps <n>', 'pre-training steps', '1500')
    .option('--finetune-steps <n>', 'fine-tuning steps', '1500')
    .option('--finetune-examples <n>', 'size of the fine-tuning set', '1000')
    .option('--eval-every <n>', 'evaluate every n fine-tuning steps', '250')
    .option('--n-eval <n>', 'held-out problems per evaluation', '200')
    .option('--seed <n>', 'seed', '0')
    .action(action(async (o: Common & Record<string, string | boolean | undefined>) => {
      const be = await pickBackend(o.backend);
      const s = (k: string) => o[k] as string | undefined;
      const run = await runFinetuneExperiment(be, {
        model: parseSizes(s('model')!)[0], task: s('task'), taskOptions: s('task') === 'copy' ? { length: num(s('length'), '--length', { int: true, min: 1 })! } : {},
        pretrainSteps: num(s('pretrainSteps'), '--pretrain-steps', { int: true, min: 0 }), finetuneSteps: num(s('finetuneSteps'), '--finetune-steps', { int: true, min: 1 }),
        finetuneExamples: num(s('finetuneExamples'), '--finetune-examples', { int: true, min: 1 }), evalEvery: num(s('evalEvery'), '--eval-every', { int: true, min: 1 }),
        nEval: num(s('nEval'), '--n-eval', { int: true, min: 1 }), seed: num(s('seed'), '--seed', { int: true }),
      }, experimentLogger(o));
      await finishExperiment('finetune', o, run);
    }));

  experimentFlags(ex.command('cot'), 'cot')
    .description('chain of thought: addition accuracy with and without the scratchpad format as model size grows')
    .option('--sizes <list>', 'model sizes as LAYERSxWIDTH[:HEADS] (default 1x16,2x32,3x48,4x64)')
    .option('--digits <n>', 'digits per addend', '3')
    .option('--steps <n>', 'training steps per model', '1500')
    .option('--seq-len <n>', 'bytes per row (= ctx)', '96')
    .option('--n-eval <n>', 'held-out problems', '200')
    .option('--seed <n>', 'seed', '0')
    .action(action(async (o: Common & Record<string, string | boolean | undefined>) => {
      const be = await pickBackend(o.backend);
      const s = (k: string) => o[k] as string | undefined;
      const run = await runCotExperiment(be, {
        sizes: s('sizes') === undefined ? undefined : parseSizes(s('sizes')!), digits: num(s('digits'), '--digits', { int: true, min: 1 }),
        steps: num(s('steps'), '--steps', { int: true, min: 1 }), seqLen: num(s('seqLen'), '--seq-len', { int: true, min: 16 }),
        nEval: num(s('nEval'), '--n-eval', { int: true, min: 1 }), seed: num(s('seed'), '--seed', { int: true }),
      }, experimentLogger(o));
      await finishExperiment('cot', o, run);
    }));

  // memorization and extraction: the commands live with the other memorization commands (src/cli/memorization.ts)
  registerMemorizationExperiments(ex);
}

function parseEnum<T extends string>(v: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new ExperimentError(`${flag}: expected one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

/** Parse "1x16,2x32:4" into model specs (heads default: 2 below width 32, else 4). */
export function parseSizes(v: string): { n_layer: number; d_model: number; n_head: number }[] {
  const parts = v.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new ExperimentError(`--sizes: expected LAYERSxWIDTH[:HEADS], got '${v}'`);
  return parts.map((p) => {
    const m = /^(\d+)x(\d+)(?::(\d+))?$/.exec(p);
    if (!m) throw new ExperimentError(`--sizes: '${p}' is not LAYERSxWIDTH[:HEADS] (e.g. 2x32 or 2x32:4)`);
    const n_layer = Number(m[1]), d_model = Number(m[2]), n_head = m[3] ? Number(m[3]) : d_model < 32 ? 2 : 4;
    if (n_layer < 1 || d_model < 1 || n_head < 1 || d_model % n_head !== 0) throw new ExperimentError(`--sizes: '${p}': need layers ≥ 1 and a width divisible by the heads`);
    return { n_layer, d_model, n_head };
  });
}
