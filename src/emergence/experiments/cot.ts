/**
 * Chain of thought / scratchpad (Nye et al. 2021; Wei et al. 2022): models of several sizes are trained
 * on the same addition problems written either plainly (`123+456=579`) or with the column-wise scratchpad
 * (`123+456= 3+6+0=9;2+5+0=7;1+4+0=5 => 579`), for the same number of steps, and evaluated on the
 * held-out problems by the accuracy of the final answer (exact match for the plain format, the answer
 * after `=>` for the scratchpad). Byte-level models, task-only training data.
 *
 * Note the comparison is at equal steps (equal tokens): a scratchpad example is several times longer, so
 * the scratchpad models see fewer distinct problems.
 */
import type { Backend } from '../../engine/backend.ts';
import { resolveConfig } from '../../model/config.ts';
import { createModel } from '../../model/init.ts';
import { countParams } from '../../model/layout.ts';
import { ArrayTokenSource } from '../../train/data.ts';
import { evaluateTask } from '../evaluate.ts';
import { Rng } from '../rng.ts';
import { getTask, taskDocuments } from '../tasks/index.ts';
import { byteCodec, ModelScorer } from '../scorer.ts';
import { ExperimentError, newResult, silent, trainLoop, type ExperimentResult, type FigureSpec, type Log, type Row } from './common.ts';
import type { MirageModelSpec } from './mirage.ts';

export interface CotOptions {
  sizes?: MirageModelSpec[];
  digits?: number;
  steps?: number;
  batch?: number;
  seqLen?: number;
  lr?: number;
  nEval?: number;
  seed?: number;
}

export const DEFAULT_COT_SIZES: MirageModelSpec[] = [
  { n_layer: 1, d_model: 16, n_head: 2 },
  { n_layer: 2, d_model: 32, n_head: 4 },
  { n_layer: 3, d_model: 48, n_head: 4 },
  { n_layer: 4, d_model: 64, n_head: 4 },
];

const DEFAULTS = { digits: 3, steps: 1500, batch: 32, seqLen: 96, lr: 2e-3, nEval: 200, seed: 0 };

/** Newline-separated training examples of the task as bytes (train split only). */
export function taskCorpus(taskName: string, taskOptions: Record<string, unknown>, bytes: number, seed: string): Uint8Array {
  const task = getTask(taskName);
  const rng = new Rng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const d = taskDocuments(task, rng, 1, { examplesPerDoc: 64, taskOptions })[0]! + task.separator;
    parts.push(d);
    n += d.length;
  }
  return new TextEncoder().encode(parts.join(''));
}

export interface CotModelResult {
  format: 'plain' | 'scratchpad';
  spec: MirageModelSpec;
  params: number;
  /** Accuracy of the final answer on held-out problems. */
  answerAccuracy: number;
  /** Exact match of the whole target (the whole scratchpad for that format). */
  exactMatch: number;
  targetCe: number;
  finalTrainLoss: number;
  seconds: number;
}

export interface CotOutcome {
  models: CotModelResult[];
  /** Per size: scratchpad accuracy minus plain accuracy. */
  gainBySize: { params: number; plain: number; scratchpad: number; gain: number; significant: boolean }[];
  scratchpadHelpsLargest: boolean;
  gainGrowsWithSize: boolean;
}

/** Significant when the difference exceeds 2 standard errors of a difference of two proportions over n problems each, and 0.02. */
function significant(a: number, b: number, n: number): boolean {
  const se = Math.sqrt((a * (1 - a) + b * (1 - b)) / n);
  return Math.abs(b - a) > Math.max(0.02, 2 * se);
}

/** Gains and checks from the per-model results (plain models first, then scratchpad, same size order). */
export function cotOutcome(models: CotModelResult[], nSizes: number, nEval: number): { outcome: CotOutcome; notes: string[] } {
  if (models.length !== 2 * nSizes) throw new ExperimentError(`cot: expected ${2 * nSizes} model results, got ${models.length}`);
  const gainBySize = Array.from({ length: nSizes }, (_, i) => {
    const p = models[i]!, s = models[nSizes + i]!;
    return { params: p.params, plain: p.answerAccuracy, scratchpad: s.answerAccuracy, gain: s.answerAccuracy - p.answerAccuracy, significant: significant(p.answerAccuracy, s.answerAccuracy, nEval) };
  });
  const last = gainBySize[gainBySize.length - 1]!, first = gainBySize[0]!;
  const outcome: CotOutcome = {
    models, gainBySize,
    scratchpadHelpsLargest: last.gain > 0 && last.significant,
    gainGrowsWithSize: last.gain > first.gain && significant(first.gain, last.gain, nEval),
  };
  const notes = [
    `Answer accuracy by size (plain → scratchpad, ${nEval} held-out problems): ${gainBySize.map((g) => `${g.params} params: ${g.plain.toFixed(3)} → ${g.scratchpad.toFixed(3)}${g.significant ? '' : ' (n.s.)'}`).join('; ')}.`,
    outcome.scratchpadHelpsLargest ? 'The scratchpad helps the largest model (beyond 2 standard errors).' : 'No significant help from the scratchpad for the largest model at this scale.',
    outcome.gainGrowsWithSize ? 'The gain from the scratchpad grows from the smallest to the largest model.' : 'No significant growth of the gain with model size.',
    `Target cross-entropy (nats/byte) by size, plain: ${models.slice(0, nSizes).map((m) => m.targetCe.toFixed(3)).join(', ')}; scratchpad: ${models.slice(nSizes).map((m) => m.targetCe.toFixed(3)).join(', ')}.`,
  ];
  return { outcome, notes };
}

export async function runCotExperiment(backend: Backend, opts: CotOptions = {}, log: Log = silent): Promise<{ result: ExperimentResult<CotOptions, CotOutcome>; tables: Record<string, Row[]> }> {
  const t0 = performance.now();
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & CotOptions;
  const sizes = o.sizes ?? DEFAULT_COT_SIZES;
  if (sizes.length < 2) throw new ExperimentError(`cot: need at least 2 model sizes, got ${sizes.length}`);
  const task = getTask('addition');
  const tokensNeeded = Math.min(4_000_000, o.steps * o.batch * o.seqLen);
  const models: CotModelResult[] = [];
  for (const format of ['plain', 'scratchpad'] as const) {
    const taskOptions = { digits: o.digits, scratchpad: format === 'scratchpad' };
    const train = taskCorpus('addition', taskOptions, Math.max(200_000, Math.floor(tokensNeeded / 4)), `cot-train-${o.seed}`);
    const val = taskCorpus('addition', taskOptions, 20_000, `cot-val-${o.seed}`);
    const source = new ArrayTokenSource(256, train, val, `addition (${format})`);
    log(`cot: ${format}: ${source.describe()}`);
    for (const spec of sizes) {
      const tm = performance.now();
      const cfg = resolveConfig({ n_layer: spec.n_layer, n_head: spec.n_head, d_model: spec.d_model, vocab: 256, ctx: o.seqLen }, `cot model ${spec.n_layer}x${spec.d_model}`);
      const model = createModel(backend, cfg, o.seed);
      const losses = await trainLoop(backend, model, (rng) => ({ ...source.sampleBatch(rng, o.batch, o.seqLen), B: o.batch, T: o.seqLen }), { steps: o.steps, lr: o.lr, seed: o.seed + 1 });
      const scorer = new ModelScorer(model, { codec: byteCodec, prefix: '\n' });
      const rep = await evaluateTask(scorer, task, { n: o.nEval, seed: `cot-eval-${o.seed}`, taskOptions, batchSize: 50 });
      const tail = losses.slice(-50);
      const r: CotModelResult = {
        format, spec, params: countParams(cfg).total,
        answerAccuracy: format === 'plain' ? rep.metrics.exact_match! : rep.metrics.answer_match!,
        exactMatch: rep.metrics.exact_match!, targetCe: rep.metrics.target_ce!,
        finalTrainLoss: tail.reduce((a, b) => a + b, 0) / tail.length, seconds: (performance.now() - tm) / 1000,
      };
      models.push(r);
      log(`  ${format} ${spec.n_layer}x${spec.d_model}: ${r.params} params, answer accuracy ${r.answerAccuracy.toFixed(3)} (${r.seconds.toFixed(0)} s)`);
    }
  }
  const { outcome, notes } = cotOutcome(models, sizes.length, o.nEval);
  const rows: Row[] = models.map((r) => ({ format: r.format, model: `${r.spec.n_layer}x${r.spec.d_model}`, params: r.params, answer_accuracy: r.answerAccuracy, exact_match: r.exactMatch, target_ce: r.targetCe, final_train_loss: r.finalTrainLoss }));
  const figures: FigureSpec[] = [
    { id: 'cot-accuracy', title: `${o.digits}-digit addition: answer accuracy with and without scratchpad vs parameters`, kind: 'line', file: 'cot_models.csv', x: 'params', y: ['answer_accuracy'], series: 'format', xLog: true,
      caption: `Same steps (${o.steps}) and tokens per format; scratchpad models see fewer distinct problems.` },
  ];
  return { result: newResult('cot', backend, t0, { ...o, sizes }, outcome, figures, notes), tables: { 'cot_models.csv': rows } };
}
