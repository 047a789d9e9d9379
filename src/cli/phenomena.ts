/**
 * `lmlab phenomena activations|sinks|superweights|intervene` and `lmlab quantize`: thin shells over
 * src/phenomena/ and src/quantize/. Every command takes --model (a run directory, a checkpoint directory or a
 * Hugging Face directory), reads text from --data (default: the run's validation split), prints tables, and
 * writes the full report (--json FILE) and figure data (--figures FILE) as JSON.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.ts';
import { saveModelWeights } from '../train/checkpoint.ts';
import {
  PhenomenaError, openModel, analysisTokens, datasetWindows, stack, stepZeroModel, STREAM_HOOKS, type StreamHook, type OpenedModel,
  activationStats, formatActivationTable, phenomenaOverSteps, attentionSinks, formatSinkTable, streamingComparison,
  findSuperWeights, spikeRule, pruningExperiment, stopwordShift, frequentStopwords, wordStartContexts, clozeItems,
  interventionExperiment, targetsFromReport, parseTargets, plantSuperWeight, downProjName, type InterventionTarget, type SuperWeight,
} from '../phenomena/index.ts';
import { quantizationTable, formatQuantTable } from '../quantize/evaluate.ts';
import { quantizeModel } from '../quantize/model.ts';
import { pickBackend, action } from './util.ts';

interface Common {
  model: string;
  data?: string;
  seqs: string;
  seqLen?: string;
  json?: string;
  figures?: string;
  backend?: string;
  evalTokens: string;
}

const int = (s: string | undefined, flag: string, min = 1): number => {
  const v = Number(s);
  if (s === undefined || !Number.isInteger(v) || v < min) throw new PhenomenaError(`${flag}: expected an integer ≥ ${min}, got '${s}'`);
  return v;
};
const num = (s: string | undefined, flag: string): number => {
  const v = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isFinite(v)) throw new PhenomenaError(`${flag}: expected a number, got '${s}'`);
  return v;
};

function commonOptions(c: Command): Command {
  return c
    .requiredOption('--model <dir>', 'run directory, checkpoint directory, or Hugging Face model directory')
    .option('--data <file>', "text file to analyse (default: the run's validation split)")
    .option('--seqs <n>', 'input windows', '32')
    .option('--seq-len <n>', 'tokens per window (default: min(ctx, 128))')
    .option('--eval-tokens <n>', 'tokens used for perplexity evaluations', '20000')
    .option('--json <file>', 'write the full report as JSON')
    .option('--figures <file>', 'write figure data as JSON')
    .option('--backend <kind>', 'ref, native or auto (default LMLAB_BACKEND or auto)');
}

interface Ctx {
  m: OpenedModel;
  tokens: ArrayLike<number>;
  seqs: Int32Array[];
  T: number;
  evalTokens: ArrayLike<number>;
}

async function setup(o: Common): Promise<Ctx> {
  const backend = await pickBackend(o.backend);
  const m = openModel(backend, o.model);
  const tokens = analysisTokens(m, o.data);
  const T = o.seqLen ? int(o.seqLen, '--seq-len') : Math.min(m.model.config.ctx, 128);
  if (T > m.model.config.ctx && m.model.config.positions === 'learned') throw new PhenomenaError(`--seq-len ${T} exceeds the model's ctx ${m.model.config.ctx}`);
  const seqs = datasetWindows(tokens, int(o.seqs, '--seqs'), T);
  const n = Math.min(tokens.length, int(o.evalTokens, '--eval-tokens', 2));
  const evalTokens = Array.from({ length: n }, (_, i) => tokens[i]!);
  return { m, tokens, seqs, T, evalTokens };
}

function writeJson(path: string | undefined, value: unknown): void {
  if (!path) return;
  writeFileAtomic(path, JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
  process.stderr.write(`wrote ${path}\n`);
}

const out = (s: string): void => void process.stdout.write(s);
const f4 = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 ? x.toExponential(3) : x.toFixed(4)) : String(x));

/** Apply --plant L:row:col:value[:gain] (a planted super weight, for demonstrations and checks). */
function applyPlant(ctx: Ctx, spec: string | undefined): void {
  if (!spec) return;
  const p = spec.split(':').map(Number);
  if (p.length < 4 || p.length > 5 || p.some((x) => !Number.isFinite(x))) throw new PhenomenaError(`--plant: expected layer:row:column:value[:inputGain], got '${spec}'`);
  plantSuperWeight(ctx.m.model, { layer: p[0]!, row: p[1]!, column: p[2]!, value: p[3]!, inputGain: p[4] ?? 1 });
  process.stderr.write(`planted: ${downProjName(ctx.m.model, p[0]!)} [${p[1]}, ${p[2]}] = ${p[3]}, input channel gain ${p[4] ?? 1}\n`);
}

/** Super weights for --keep-superweights / pruning: found on the first windows. */
function searchSuperWeights(ctx: Ctx, rule: 'relative' | 'absolute', value: number | undefined, seqs: number, maxRounds = 5): { weights: SuperWeight[]; report: ReturnType<typeof findSuperWeights> } {
  const use = ctx.seqs.slice(0, seqs);
  const report = findSuperWeights(ctx.m.model, stack(use), use.length, ctx.T, { rule: spikeRule(rule, value), maxRounds });
  return { weights: report.weights, report };
}

export function register(program: Command): void {
  const ph = program.command('phenomena').description('massive activations, attention sinks, super weights, interventions');

  commonOptions(ph.command('activations'))
    .description('per-layer |h| statistics (Sun et al.): top-k, top 1%/10%, median, locations; absolute and step-0-relative criteria')
    .option('--hook <name>', `hidden state: ${STREAM_HOOKS.join(', ')}`, 'resid_post')
    .option('--top-k <n>', 'largest values tabulated', '5')
    .option('--abs-threshold <v>', 'absolute criterion: |h| > v', '100')
    .option('--abs-ratio <v>', 'absolute criterion: |h| ≥ v × median', '1000')
    .option('--rel-factor <v>', 'relative criterion: |h|/median ≥ v × (step-0 top1/median)', '10')
    .option('--no-baseline', 'skip the step-0 baseline (relative criterion)')
    .option('--steps', 'also compute the statistics at step 0 and every checkpoint of the run')
    .action(action(async (o: Common & { hook: string; topK: string; absThreshold: string; absRatio: string; relFactor: string; baseline: boolean; steps?: boolean }) => {
      const ctx = await setup(o);
      if (!(STREAM_HOOKS as readonly string[]).includes(o.hook)) throw new PhenomenaError(`--hook: '${o.hook}' is not one of ${STREAM_HOOKS.join(', ')}`);
      const base = o.baseline ? stepZeroModel(ctx.m) : null;
      const r = activationStats(ctx.m.model, ctx.seqs, {
        hook: o.hook as StreamHook, topK: int(o.topK, '--top-k'), absThreshold: num(o.absThreshold, '--abs-threshold'),
        absRatio: num(o.absRatio, '--abs-ratio'), relFactor: num(o.relFactor, '--rel-factor'), baseline: base?.model ?? null,
      });
      out(`${ctx.m.source}: ${r.hook} over ${r.sequences} windows of ${r.T} tokens${base ? `; baseline: ${base.label}` : ''}\n`);
      out(formatActivationTable(r));
      out(`absolute criterion (|h| > ${r.options.absThreshold} and ≥ ${r.options.absRatio}× median): ${r.massiveLayers.length ? `layers ${r.massiveLayers.join(', ')}` : 'no entry passes'}\n`);
      if (base) out(`relative criterion (|h|/median ≥ ${r.options.relFactor}× step-0 top1/median): ${r.relativeLayers.length ? `layers ${r.relativeLayers.join(', ')}` : 'no entry passes'}\n`);
      for (const on of r.onsets.slice(0, 8)) out(`  onset (${on.criterion}): layer ${on.layer}, position ${on.position}, dim ${on.dim}, ${on.sequences} sequences, max |h| ${f4(on.maxAbs)}\n`);
      let steps = null;
      if (o.steps) {
        if (!ctx.m.run) throw new PhenomenaError('--steps needs a run directory');
        const runDir = ctx.m.checkpoint ? ctx.m.source.replace(/\/checkpoints\/step-\d+\/?$/, '') : ctx.m.source;
        out('step  max top1  max top1/median  first-token mass  sink rate\n');
        steps = phenomenaOverSteps(ctx.m.model.backend, runDir, ctx.seqs, {
          hook: o.hook as StreamHook,
          onStep: (s) => out(`${String(s.step).padStart(5)}  ${f4(s.maxTop1).padStart(8)}  ${f4(s.maxRatio).padStart(15)}  ${f4(s.firstTokenMass).padStart(16)}  ${f4(s.sinkRate).padStart(9)}\n`),
        });
      }
      writeJson(o.json, { model: ctx.m.source, report: r, steps });
      writeJson(o.figures, {
        kind: 'activation-magnitude', hook: r.hook, layers: r.layers.length, d_model: r.d_model,
        dimMax: r.layers.map((l) => l.dimMax), top: r.layers.map((l) => l.top), median: r.layers.map((l) => l.median),
        steps: steps?.map((s) => ({ step: s.step, top1: s.layers.map((l) => l.top1), ratio: s.layers.map((l) => l.ratio), firstTokenMass: s.firstTokenMass })) ?? null,
      });
    }));

  commonOptions(ph.command('sinks'))
    .description('attention mass on the first token per layer and head, sink rate; optional StreamingLLM comparison on long text')
    .option('--threshold <v>', 'sink-rate threshold on mean attention', '0.3')
    .option('--no-compare-init', 'skip the comparison with the model at step 0')
    .option('--streaming', 'compare dense, window and StreamingLLM caches on long text (rotary models)')
    .option('--window <n>', 'recent-token window of the caches', '124')
    .option('--sinks <n>', 'sink tokens kept by StreamingLLM', '4')
    .option('--stream-tokens <n>', 'length of the long text', '4000')
    .option('--recompute', 'also the sliding window with re-computation (slow)')
    .action(action(async (o: Common & { threshold: string; compareInit: boolean; streaming?: boolean; window: string; sinks: string; streamTokens: string; recompute?: boolean }) => {
      const ctx = await setup(o);
      const threshold = num(o.threshold, '--threshold');
      const r = attentionSinks(ctx.m.model, ctx.seqs, { threshold });
      out(formatSinkTable(r, ctx.m.source));
      let init = null;
      if (o.compareInit) {
        const base = stepZeroModel(ctx.m);
        init = attentionSinks(base.model, ctx.seqs, { threshold });
        out(formatSinkTable(init, base.label));
        out(`first-token mass: ${f4(init.meanMass)} at step 0 → ${f4(r.meanMass)} now; sink rate ${f4(init.sinkRate)} → ${f4(r.sinkRate)}\n`);
      }
      let streaming = null;
      if (o.streaming) {
        const n = Math.min(ctx.tokens.length, int(o.streamTokens, '--stream-tokens', 2));
        const text = Array.from({ length: n }, (_, i) => ctx.tokens[i]!);
        streaming = streamingComparison(ctx.m.model, text, { sinks: int(o.sinks, '--sinks', 0), window: int(o.window, '--window'), recompute: !!o.recompute });
        out(`\nlong text of ${n - 1} predictions (ctx ${ctx.m.model.config.ctx}):\nmode        cache        ppl      loss  evictions\n`);
        for (const s of streaming) out(`${s.mode.padEnd(10)}  ${(s.mode === 'dense' ? 'all' : s.mode === 'streaming' ? `${s.sinks}+${s.window}` : String(s.window)).padEnd(9)}  ${s.perplexity.toFixed(3).padStart(7)}  ${s.loss.toFixed(4)}  ${String(s.evictions).padStart(9)}\n`);
      }
      writeJson(o.json, { model: ctx.m.source, sinks: r, init, streaming });
      writeJson(o.figures, { kind: 'sink-heatmap', firstTokenMass: r.firstTokenMass, init: init?.firstTokenMass ?? null, biasMass: r.biasMass, streaming: streaming?.map((s) => ({ mode: s.mode, chunk: s.chunk, chunkLoss: s.chunkLoss })) ?? null });
    }));

  commonOptions(ph.command('superweights'))
    .description('Yu et al. super-weight search (down-projection spikes), pruning experiments and stopword shift')
    .option('--rule <kind>', 'spike rule: relative (channel dominance) or absolute', 'relative')
    .option('--spike <v>', 'dominance factor (relative, default 5) or threshold (absolute, default 50)')
    .option('--search-seqs <n>', 'windows fed to the search', '4')
    .option('--max-rounds <n>', 'zero-and-repeat rounds', '5')
    .option('--top-k <n>', 'largest other down-projection weights pruned for comparison', '7000')
    .option('--stopwords <n>', 'most frequent stopwords of the text measured (0 = skip)', '20')
    .option('--task <n>', 'cloze items for task accuracy (0 = skip)', '40')
    .option('--plant <spec>', 'plant a super weight first: layer:row:column:value[:inputGain]')
    .action(action(async (o: Common & { rule: string; spike?: string; searchSeqs: string; maxRounds: string; topK: string; stopwords: string; task: string; plant?: string }) => {
      const ctx = await setup(o);
      applyPlant(ctx, o.plant);
      if (o.rule !== 'relative' && o.rule !== 'absolute') throw new PhenomenaError(`--rule: expected relative or absolute, got '${o.rule}'`);
      const { weights, report } = searchSuperWeights(ctx, o.rule, o.spike !== undefined ? num(o.spike, '--spike') : undefined, int(o.searchSeqs, '--search-seqs'), int(o.maxRounds, '--max-rounds'));
      out(`${ctx.m.source}: spike rule ${JSON.stringify(report.rule)}\nlayer  max|in| (col, dom)        max|out| (row, dom)       spike\n`);
      for (const s of report.rounds[0]!) out(`${String(s.layer).padStart(5)}  ${f4(s.maxIn).padStart(9)} (${s.inChannel}, ${s.inDominance.toFixed(2)})`.padEnd(35) + `${f4(s.maxOut).padStart(9)} (${s.outChannel}, ${s.outDominance.toFixed(2)})`.padEnd(26) + `${s.spike ? 'yes' : 'no'}\n`);
      if (weights.length === 0) out('no super weight found under this rule\n');
      for (const w of weights) out(`super weight (round ${w.round}): ${w.tensor} [${w.row}, ${w.column}] = ${f4(w.value)}; super activation ${f4(w.maxOut)} at position ${w.position}\n`);
      let pruning = null, stop = null;
      if (weights.length) {
        const text = o.data ? readFileSync(o.data, 'utf8') : ctx.m.codec.decode(Array.from(ctx.evalTokens));
        const nTask = int(o.task, '--task', 0);
        const task = nTask > 0 ? clozeItems(text, ctx.m.codec, { n: nTask }) : undefined;
        pruning = pruningExperiment(ctx.m.model, weights, { evalTokens: ctx.evalTokens, T: ctx.T, topK: int(o.topK, '--top-k'), task });
        out('\npruning                                            zeroed       ppl   next-token acc  task acc\n');
        for (const p of pruning) out(`${p.label.padEnd(50)} ${String(p.zeroed).padStart(7)}  ${p.perplexity.toFixed(3).padStart(8)}  ${p.accuracy.toFixed(4).padStart(14)}  ${p.taskAccuracy === null ? '—' : p.taskAccuracy.toFixed(3)}\n`);
        const k = int(o.stopwords, '--stopwords', 0);
        if (k > 0) {
          const words = frequentStopwords(text, k).map((w) => w.word);
          stop = stopwordShift(ctx.m.model, weights, ctx.m.codec, wordStartContexts(text, ctx.m.codec, 32), words);
          out(`\nstopword probability (p(word + " ") at word starts), super weight${weights.length > 1 ? 's' : ''} pruned: geometric-mean ratio ${stop.geoMeanRatio.toFixed(3)}\n`);
          for (const w of stop.words) out(`  ${w.word.padEnd(8)} ${w.before.toExponential(3)} → ${w.after.toExponential(3)}  (×${w.ratio.toFixed(3)})\n`);
        }
      }
      writeJson(o.json, { model: ctx.m.source, search: report, pruning, stopwords: stop });
    }));

  commonOptions(ph.command('intervene'))
    .description('set chosen activations to zero or their dataset mean (Sun et al.) and compare perplexity and task accuracy')
    .option('--targets <spec>', "auto, or layer:dim[:position],… (no position: every position with |h| ≥ --min-abs)", 'auto')
    .option('--criterion <kind>', 'for auto targets: absolute, relative or top (most frequent top-1 locations of the layer with the largest ratio)', 'relative')
    .option('--min-abs <v>', 'detection threshold for targets without a position')
    .option('--hook <name>', `hidden state: ${STREAM_HOOKS.join(', ')}`, 'resid_post')
    .option('--task <n>', 'cloze items for task accuracy (0 = skip)', '40')
    .action(action(async (o: Common & { targets: string; criterion: string; minAbs?: string; hook: string; task: string }) => {
      const ctx = await setup(o);
      if (!(STREAM_HOOKS as readonly string[]).includes(o.hook)) throw new PhenomenaError(`--hook: '${o.hook}' is not one of ${STREAM_HOOKS.join(', ')}`);
      let targets: InterventionTarget[];
      if (o.targets === 'auto') {
        if (!['absolute', 'relative', 'top'].includes(o.criterion)) throw new PhenomenaError(`--criterion: expected absolute, relative or top, got '${o.criterion}'`);
        const base = o.criterion === 'relative' ? stepZeroModel(ctx.m).model : null;
        const r = activationStats(ctx.m.model, ctx.seqs, { hook: o.hook as StreamHook, baseline: base });
        targets = targetsFromReport(r, o.criterion as 'absolute' | 'relative' | 'top');
        if (targets.length === 0) throw new PhenomenaError(`no activation passes the ${o.criterion} criterion; use --criterion top or explicit --targets`);
      } else targets = parseTargets(o.targets, o.minAbs !== undefined ? num(o.minAbs, '--min-abs') : undefined);
      const nTask = int(o.task, '--task', 0);
      const text = o.data ? readFileSync(o.data, 'utf8') : ctx.m.codec.decode(Array.from(ctx.evalTokens));
      const res = interventionExperiment(ctx.m.model, targets, {
        evalTokens: ctx.evalTokens, T: ctx.T, meanSeqs: ctx.seqs, hook: o.hook as StreamHook,
        task: nTask > 0 ? clozeItems(text, ctx.m.codec, { n: nTask }) : undefined,
      });
      out(`targets (${res.hook}): ${res.targets.map((t) => `layer ${t.layer} dim ${t.dim} ${t.position !== undefined ? `pos ${t.position}` : `|h| ≥ ${t.minAbs}`} (mean ${f4(t.mean)})`).join('; ')}\n`);
      out('intervention            ppl        loss    next-token acc  task acc  replaced\n');
      for (const r of res.rows) out(`${r.label.padEnd(20)} ${r.perplexity.toFixed(3).padStart(8)}  ${r.loss.toFixed(4).padStart(8)}  ${r.accuracy.toFixed(4).padStart(14)}  ${r.taskAccuracy === null ? '—'.padStart(8) : r.taskAccuracy.toFixed(3).padStart(8)}  ${String(r.replaced).padStart(8)}\n`);
      writeJson(o.json, { model: ctx.m.source, ...res });
    }));

  commonOptions(program.command('quantize'))
    .description('round-to-nearest asymmetric weight quantization (round half to even), per tensor or block-wise; perplexity table')
    .option('--bits <list>', 'weight bit widths (comma-separated)', '4')
    .option('--block <n>', 'block size within a row (0 = per tensor)', '128')
    .option('--keep-superweights', 'hold the super weights (found by the relative-rule search) out in full precision')
    .option('--z-outlier <z>', 'also rows holding out weights with |z| > z (unbiased std, per block)')
    .option('--clip-search', 'also rows with the clipping-ratio search')
    .option('--z-clip <z>', 'also rows with z-score clipping (+ super weights held out)')
    .option('--act-bits <n>', 'also activation-quantization rows at this width (W8A8 with 8)')
    .option('--out <file>', 'write the quantized (dequantized float32) weights of the first --bits width as safetensors')
    .option('--plant <spec>', 'plant a super weight first: layer:row:column:value[:inputGain]')
    .option('--keep <list>', 'down-projection weights to hold out, layer:row:column,… (added to --keep-superweights)')
    .action(action(async (o: Common & { bits: string; block: string; keepSuperweights?: boolean; zOutlier?: string; clipSearch?: boolean; zClip?: string; actBits?: string; out?: string; plant?: string; keep?: string }) => {
      const ctx = await setup(o);
      applyPlant(ctx, o.plant);
      const bits = o.bits.split(',').map((b) => int(b.trim(), '--bits'));
      const block = int(o.block, '--block', 0);
      let sws: SuperWeight[] = [];
      if (o.keepSuperweights || o.actBits) {
        sws = searchSuperWeights(ctx, 'relative', undefined, 4).weights;
        out(sws.length ? `super weights: ${sws.map((w) => `${w.tensor} [${w.row}, ${w.column}]`).join('; ')}\n` : 'super weights: none found (relative rule); nothing held out\n');
      }
      const F = ctx.m.model.config.d_ff;
      const keep = o.keepSuperweights ? sws.map((w) => ({ tensor: w.tensor, index: w.row * F + w.column })) : [];
      for (const k of (o.keep ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
        const p = k.split(':').map(Number);
        if (p.length !== 3 || p.some((x) => !Number.isInteger(x) || x < 0)) throw new PhenomenaError(`--keep: '${k}' is not layer:row:column`);
        if (p[0]! >= ctx.m.model.config.n_layer || p[1]! >= ctx.m.model.config.d_model || p[2]! >= F) throw new PhenomenaError(`--keep: '${k}' is outside the down projection [${ctx.m.model.config.d_model}, ${F}] of ${ctx.m.model.config.n_layer} layers`);
        keep.push({ tensor: downProjName(ctx.m.model, p[0]!), index: p[1]! * F + p[2]! });
      }
      const rows = quantizationTable(ctx.m.model, {
        evalTokens: ctx.evalTokens, T: ctx.T, bits, block: block || 1, keep: keep.length ? keep : undefined,
        zOutlier: o.zOutlier !== undefined ? num(o.zOutlier, '--z-outlier') : undefined, clipSearch: !!o.clipSearch,
        zClip: o.zClip !== undefined ? num(o.zClip, '--z-clip') : undefined,
        actBits: o.actBits ? int(o.actBits, '--act-bits') : null,
        keepActivations: sws.map((w) => ({ layer: w.layer, channel: w.row, minAbs: 0.5 * w.maxOut })),
      });
      out(`${ctx.m.source}: ${ctx.evalTokens.length} evaluation tokens, windows of ${ctx.T}\n`);
      out(formatQuantTable(block === 0 ? rows.filter((r) => !r.label.includes('block')) : rows));
      let report = null;
      if (o.out) {
        const q = quantizeModel(ctx.m.model, { bits: bits[0]!, block, keep: keep.length ? keep : undefined });
        report = q.report;
        saveModelWeights(o.out, q.model, { quantization: JSON.stringify(q.report.options), note: 'weights are dequantized float32 values of the quantized model (simulation; codes are not packed)' });
        process.stderr.write(`wrote ${o.out} (${bits[0]}-bit, block ${block || 'per tensor'}; stored size would be ${(q.report.bytesQuantized / 1024).toFixed(1)} KB vs ${(q.report.bytesFp32 / 1024).toFixed(1)} KB fp32)\n`);
      }
      writeJson(o.json, { model: ctx.m.source, superWeights: sws, rows, quantized: report });
    }));
}
