/**
 * Pre-training then fine-tuning versus training from scratch (the GPT-1 ablation, Radford et al. 2018,
 * Table 5 "transformer w/o pre-training"): one byte-level model is pre-trained on English text
 * (Moby-Dick) and then fine-tuned with the language-modelling loss on a small set of task examples; a
 * second model of the same size, randomly initialised, gets exactly the same fine-tuning steps on the
 * same examples. Task accuracy (exact match on held-out problems) is tracked over the fine-tuning steps.
 * Compute is not matched: the pre-trained model has had its pre-training steps in addition.
 */
import type { Backend } from '../../engine/backend.ts';
import { builtinDocuments } from '../../data/sources.ts';
import { resolveConfig } from '../../model/config.ts';
import type { GPT } from '../../model/gpt.ts';
import { createModel } from '../../model/init.ts';
import { countParams } from '../../model/layout.ts';
import { ArrayTokenSource } from '../../train/data.ts';
import { evaluateTask } from '../evaluate.ts';
import { Rng } from '../rng.ts';
import { getTask } from '../tasks/index.ts';
import type { TaskOptions } from '../tasks/types.ts';
import { byteCodec, ModelScorer } from '../scorer.ts';
import { taskCorpus } from './cot.ts';
import { newResult, silent, trainLoop, type ExperimentResult, type FigureSpec, type Log, type Row } from './common.ts';
import type { MirageModelSpec } from './mirage.ts';

export interface FinetuneOptions {
  model?: MirageModelSpec;
  /** Fine-tuning task and its options (default: copy 8 letters). */
  task?: string;
  taskOptions?: TaskOptions;
  pretrainSteps?: number;
  finetuneSteps?: number;
  /** Fine-tuning examples available (default 1000): the small labelled set. */
  finetuneExamples?: number;
  textBytes?: number;
  batch?: number;
  seqLen?: number;
  lr?: number;
  finetuneLr?: number;
  evalEvery?: number;
  nEval?: number;
  seed?: number;
}

const DEFAULTS = {
  model: { n_layer: 2, d_model: 64, n_head: 4 } as MirageModelSpec, task: 'copy', taskOptions: { length: 8 } as TaskOptions,
  pretrainSteps: 1500, finetuneSteps: 1500, finetuneExamples: 1000, textBytes: 600_000, batch: 32, seqLen: 64, lr: 2e-3, finetuneLr: 1e-3, evalEvery: 250, nEval: 200, seed: 0,
};

export interface FinetuneOutcome {
  params: number;
  pretrainValLoss: number;
  scratchTextValLoss: number;
  curves: { condition: 'pretrained' | 'scratch'; step: number; exact_match: number; target_ce: number }[];
  finalPretrained: number;
  finalScratch: number;
  /** First evaluated fine-tuning step with exact match ≥ 0.5 (null: never). pretrainingHelps: final EM higher beyond 2 SE. */
  stepsTo50Pretrained: number | null;
  stepsTo50Scratch: number | null;
  pretrainingHelps: boolean;
}

export async function runFinetuneExperiment(backend: Backend, opts: FinetuneOptions = {}, log: Log = silent): Promise<{ result: ExperimentResult<FinetuneOptions, FinetuneOutcome>; tables: Record<string, Row[]> }> {
  const t0 = performance.now();
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS;
  const task = getTask(o.task);
  const cfg = resolveConfig({ n_layer: o.model.n_layer, n_head: o.model.n_head, d_model: o.model.d_model, vocab: 256, ctx: o.seqLen }, 'finetune model');
  // text for pre-training
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (const d of builtinDocuments('moby-dick')) {
    if (n >= o.textBytes) break;
    chunks.push(d.bytes);
    n += d.bytes.length;
  }
  const text = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { text.set(c, off); off += c.length; }
  const cut = Math.floor(n * 0.97);
  const textSource = new ArrayTokenSource(256, text.subarray(0, cut), text.subarray(cut), 'moby-dick');
  // the small fine-tuning set: about finetuneExamples examples of the task (train split)
  const probe = task.generate(new Rng(0), 'train', 20, o.taskOptions);
  const avgLen = probe.reduce((a, e) => a + e.prompt.length + e.target.length + 1, 0) / probe.length;
  const ftTrain = taskCorpus(o.task, o.taskOptions as Record<string, unknown>, Math.round(o.finetuneExamples * avgLen), `finetune-train-${o.seed}`);
  const ftVal = taskCorpus(o.task, o.taskOptions as Record<string, unknown>, 5_000, `finetune-val-${o.seed}`);
  const ftSource = new ArrayTokenSource(256, ftTrain, ftVal, `${o.task} fine-tuning set`);
  const textVal = (m: GPT): number => {
    let s = 0;
    for (let i = 0; i < 8; i++) {
      const b = textSource.valBatch(i, 8, 16, o.seqLen);
      s += m.forward(b.x, 16, o.seqLen, b.y) / 8;
    }
    return s;
  };
  log(`finetune: pre-training ${o.model.n_layer}x${o.model.d_model} (${countParams(cfg).total} params) on ${textSource.describe()} for ${o.pretrainSteps} steps`);
  const pre = createModel(backend, cfg, o.seed);
  await trainLoop(backend, pre, (rng) => ({ ...textSource.sampleBatch(rng, o.batch, o.seqLen), B: o.batch, T: o.seqLen }), { steps: o.pretrainSteps, lr: o.lr, seed: o.seed + 1 });
  const pretrainValLoss = textVal(pre);
  log(`  text val loss after pre-training ${pretrainValLoss.toFixed(3)} nats/byte`);
  const scratch = createModel(backend, cfg, o.seed);
  const scratchTextValLoss = textVal(scratch);
  const curves: FinetuneOutcome['curves'] = [];
  for (const [condition, model] of [['pretrained', pre], ['scratch', scratch]] as const) {
    const evalNow = async (step: number): Promise<void> => {
      const scorer = new ModelScorer(model, { codec: byteCodec, prefix: '\n' });
      const rep = await evaluateTask(scorer, task, { n: o.nEval, seed: `finetune-eval-${o.seed}`, taskOptions: o.taskOptions, batchSize: 50 });
      curves.push({ condition, step, exact_match: rep.metrics.exact_match!, target_ce: rep.metrics.target_ce! });
      log(`  ${condition} step ${step}: exact match ${rep.metrics.exact_match!.toFixed(3)}, target CE ${rep.metrics.target_ce!.toFixed(3)}`);
    };
    await evalNow(0);
    await trainLoop(backend, model, (rng) => ({ ...ftSource.sampleBatch(rng, o.batch, o.seqLen), B: o.batch, T: o.seqLen }), {
      steps: o.finetuneSteps, lr: o.finetuneLr, warmup: 20, seed: o.seed + 2, evalEvery: o.evalEvery, onEval: (step) => evalNow(step),
    });
  }
  const of = (c: string) => curves.filter((q) => q.condition === c);
  const finalP = of('pretrained').at(-1)!.exact_match, finalS = of('scratch').at(-1)!.exact_match;
  const to50 = (c: string) => of(c).find((q) => q.exact_match >= 0.5)?.step ?? null;
  const outcome: FinetuneOutcome = {
    params: countParams(cfg).total, pretrainValLoss, scratchTextValLoss, curves, finalPretrained: finalP, finalScratch: finalS,
    stepsTo50Pretrained: to50('pretrained'), stepsTo50Scratch: to50('scratch'),
    // a difference of two proportions over nEval problems each: beyond 2 standard errors and 0.02
    pretrainingHelps: finalP - finalS > Math.max(0.02, 2 * Math.sqrt((finalP * (1 - finalP) + finalS * (1 - finalS)) / o.nEval)),
  };
  const figures: FigureSpec[] = [
    { id: 'finetune-curves', title: `Fine-tuning on ${o.task}: pre-trained vs from scratch`, kind: 'line', file: 'finetune_curves.csv', x: 'step', y: ['exact_match'], series: 'condition',
      caption: `${o.finetuneExamples} fine-tuning examples; the pre-trained model first had ${o.pretrainSteps} steps on Moby-Dick.` },
    { id: 'finetune-ce', title: 'Target cross-entropy during fine-tuning', kind: 'line', file: 'finetune_curves.csv', x: 'step', y: ['target_ce'], series: 'condition' },
  ];
  const notes = [
    `After ${o.finetuneSteps} fine-tuning steps: exact match ${finalP.toFixed(3)} (pre-trained) vs ${finalS.toFixed(3)} (from scratch); EM ≥ 0.5 at step ${outcome.stepsTo50Pretrained ?? 'never'} vs ${outcome.stepsTo50Scratch ?? 'never'}.`,
    outcome.pretrainingHelps ? 'Pre-training helps at this budget (final exact match higher beyond 2 standard errors), as in the GPT-1 ablation.' : 'No significant help from pre-training at this budget: the GPT-1 effect is not reproduced here.',
    `Pre-training brought the text validation loss from ${scratchTextValLoss.toFixed(3)} to ${pretrainValLoss.toFixed(3)} nats/byte.`,
  ];
  const rows: Row[] = curves.map((q) => ({ ...q }));
  return { result: newResult('finetune', backend, t0, o, outcome, figures, notes), tables: { 'finetune_curves.csv': rows } };
}
