/**
 * `lmlab index build|query`: suffix-array index of a token corpus (thin shell over src/memorization).
 *   lmlab index build --tokens train.bin --dtype uint16 [--docs boundaries.json] --out train.sa [--lcp]
 *   lmlab index query --index train.sa --seq "1,2,3" [--mode count|contains|longest|scan] [--k 50]
 * `lmlab memorize discoverable|extract|estimate|canaries`: the model-backed memorization measurements
 * (src/memorization/discoverable.ts, extract.ts, canaries.ts), each on `--run <run dir>` or `--model <HF dir>`.
 * `registerMemorizationExperiments(ex)` adds `memorization` and `extraction` to `lmlab experiment`.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { openShards, type Shards } from '../data/shards.ts';
import { loadAnyModel, type TextCodec } from '../train/runs.ts';
import type { GPT } from '../model/gpt.ts';
import type { Backend } from '../engine/backend.ts';
import {
  MemorizationDriverError, byCopies, discoverableMemorization, plantedDuplicateSequences, sampleTrainingSequences, smallPredictsLarge, type TrainingSequence,
} from '../memorization/discoverable.ts';
import { estimateUniqueMemorized, runExtraction, shardIndex, type ExtractionReport, type GenerationPlan, type PromptSource, type SamplingStrategy } from '../memorization/extract.ts';
import { canaryExposures, canaryFormat } from '../memorization/canaries.ts';
import { runExtractionExperiment, runMemorizationExperiment, type ModelShape } from '../memorization/experiments.ts';
import { experimentFlags, experimentLogger, finishExperiment } from './experiment-common.ts';
import { action, pickBackend } from './util.ts';
import { buildSuffixArrayIndex, SuffixArrayIndex, type TokenDtype } from '../memorization/index-file.ts';
import { parseTokenList, readBoundaryFile, readTokenFile } from '../memorization/token-file.ts';

export function register(program: Command): void {
  const index = program.command('index').description('suffix-array index over a token corpus (memorization verification)');

  index
    .command('build')
    .description('build a suffix-array index from a token .bin file (uint16/uint32 little-endian)')
    .requiredOption('--tokens <file>', 'token file (.bin)')
    .option('--dtype <dtype>', 'uint16 or uint32', 'uint16')
    .option('--docs <file>', 'JSON array of document start offsets (matches never cross documents)')
    .requiredOption('--out <file>', 'index file to write')
    .option('--lcp', 'also store the LCP array')
    .option('--json', 'print the result as JSON')
    .action((o: { tokens: string; dtype: string; docs?: string; out: string; lcp?: boolean; json?: boolean }) => {
      const tokens = readTokenFile(o.tokens, o.dtype as TokenDtype);
      const boundaries = o.docs ? readBoundaryFile(o.docs) : undefined;
      const h = buildSuffixArrayIndex(o.out, tokens, boundaries, { lcp: !!o.lcp });
      const res = { index: o.out, nTokens: h.nTokens, nDocs: h.nDocs, vocabSize: h.vocabSize, buildSeconds: h.buildSeconds, fileBytes: statSync(o.out).size };
      if (o.json) console.log(JSON.stringify(res));
      else console.log(`wrote ${o.out}: ${h.nTokens} tokens, ${h.nDocs} documents, vocab ${h.vocabSize}, built in ${h.buildSeconds?.toFixed(2)} s, ${res.fileBytes} bytes`);
    });

  index
    .command('query')
    .description('count occurrences / test a k-gram / longest training match at every position')
    .requiredOption('--index <file>', 'index file')
    .option('--seq <tokens>', 'token ids, e.g. "1,2,3"')
    .option('--seq-file <file>', 'JSON array of token ids (or array of arrays)')
    .option('--mode <mode>', 'count | contains | longest | scan', 'count')
    .option('--k <k>', 'scan: minimum match length counted as memorized', '50')
    .option('--in-memory', 'load the index into memory instead of positioned reads')
    .option('--json', 'print the result as JSON')
    .action((o: { index: string; seq?: string; seqFile?: string; mode: string; k: string; inMemory?: boolean; json?: boolean }) => {
      let seqs: number[][];
      if (o.seq !== undefined) seqs = [parseTokenList(o.seq)];
      else if (o.seqFile) {
        const v = JSON.parse(readFileSync(o.seqFile, 'utf8')) as unknown;
        const arr = Array.isArray(v) && Array.isArray(v[0]) ? (v as unknown[][]) : [v as unknown[]];
        seqs = arr.map((s, i) => parseTokenList(JSON.stringify(s), `${o.seqFile}[${i}]`));
      } else throw new Error('index query: give --seq or --seq-file');
      const k = Number(o.k);
      if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be a positive integer, got ${o.k}`);
      const idx = SuffixArrayIndex.open(o.index, { inMemory: !!o.inMemory });
      try {
        const out = seqs.map((s) => {
          switch (o.mode) {
            case 'count': return { count: idx.count(s) };
            case 'contains': return { contains: idx.contains(s) };
            case 'longest': return { longest: Array.from(idx.longestMatches(s)) };
            case 'scan': { const r = idx.scanMemorized(s, k); return { fractionMemorized: r.fractionMemorized, kgramStarts: r.kgramStarts, longest: Array.from(r.longest) }; }
            default: throw new Error(`--mode must be count, contains, longest or scan, got ${o.mode}`);
          }
        });
        if (o.json) console.log(JSON.stringify(out.length === 1 ? out[0] : out));
        else for (const r of out) console.log(Object.entries(r).map(([a, b]) => `${a}: ${Array.isArray(b) ? b.join(' ') : String(b)}`).join('\n'));
      } finally {
        idx.close();
      }
    });
  registerMemorize(program);
}

/** A usage error of a `memorize` / experiment flag (the message names the flag). */
export class MemorizeCliError extends Error {
  override name = 'MemorizeCliError';
}

type Opts = Record<string, string | boolean | undefined>;

function intFlag(o: Opts, key: string, flag: string, min = 1): number {
  const v = o[key] as string;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(x) || x < min) throw new MemorizeCliError(`${flag}: expected an integer ≥ ${min}, got '${v}'`);
  return x;
}

function numFlag(o: Opts, key: string, flag: string, lo: number, hi: number): number {
  const v = o[key] as string;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi) throw new MemorizeCliError(`${flag}: expected a number in [${lo}, ${hi}], got '${v}'`);
  return x;
}

function intList(v: string, flag: string): number[] {
  const parts = v.split(',').map((x) => x.trim()).filter(Boolean);
  const xs = parts.map(Number);
  if (!parts.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new MemorizeCliError(`${flag}: expected a comma-separated list of positive integers, got '${v}'`);
  return xs;
}

function enumFlag<T extends string>(v: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new MemorizeCliError(`${flag}: expected one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

/** Exactly one of --run / --model (with the flag names for messages); loads it with loadAnyModel. */
function loadModelFlags(backend: Backend, o: Opts, runKey = 'run', modelKey = 'model', runFlag = '--run', modelFlag = '--model', required = true): { model: GPT; codec: TextCodec; dir: string; runData?: string } | null {
  const run = o[runKey] as string | undefined, hf = o[modelKey] as string | undefined;
  if (run !== undefined && hf !== undefined) throw new MemorizeCliError(`${runFlag} and ${modelFlag} are mutually exclusive: give one model`);
  if (run === undefined && hf === undefined) {
    if (!required) return null;
    throw new MemorizeCliError(`give the model with ${runFlag} <lmlab run or checkpoint dir> or ${modelFlag} <Hugging Face model dir>`);
  }
  const dir = (run ?? hf)!;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MemorizeCliError(`${run !== undefined ? runFlag : modelFlag}: '${dir}' is not a directory`);
  const { model, codec } = loadAnyModel(backend, dir);
  let runData: string | undefined;
  if (run !== undefined) {
    // the run's training data, when it is a shard directory (default for --data)
    for (const c of [join(dir, 'config.json'), join(dir, '..', '..', 'config.json')]) {
      if (!existsSync(c)) continue;
      try {
        const d = (JSON.parse(readFileSync(c, 'utf8')) as { data?: unknown }).data;
        if (typeof d === 'string' && existsSync(join(d, 'manifest.json'))) runData = d;
      } catch { /* not a run config */ }
      break;
    }
  }
  return { model, codec, dir, runData };
}

function openData(o: Opts, runData: string | undefined, what: string): Shards {
  const d = (o.data as string | undefined) ?? runData;
  if (d === undefined) throw new MemorizeCliError(`--data: ${what} needs the training data: a shard directory from \`lmlab data build\` (defaults to the run's data with --run)`);
  if (!existsSync(join(d, 'manifest.json'))) throw new MemorizeCliError(`--data: '${d}' is not a shard directory (no manifest.json)`);
  return openShards(d);
}

function print(o: Opts, json: unknown, lines: string[]): void {
  if (o.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  else process.stdout.write(lines.join('\n') + '\n');
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

function registerMemorize(program: Command): void {
  const mem = program.command('memorize').description('model-backed memorization: discoverable memorization, extraction attack, Good-Turing estimate, canary exposure');
  const modelOpts = (c: Command) => c
    .option('--run <dir>', 'lmlab run (or checkpoint) directory')
    .option('--model <dir>', 'Hugging Face model directory')
    .option('--backend <kind>', 'ref | native | auto')
    .option('--json', 'print the result as JSON');

  modelOpts(mem.command('discoverable'))
    .description('prompt with k tokens of training sequences, greedy-decode l tokens, score against the true continuation')
    .option('--data <dir>', "shard directory to sample training sequences from (default: the run's data)")
    .option('--sequences <file>', 'JSON array of token-id arrays to probe instead of sampling')
    .option('--n <n>', 'random training windows to sample', '256')
    .option('--duplicates', "also probe the corpus's planted duplicated documents")
    .option('--k <n>', 'prompt tokens', '32')
    .option('--l <n>', 'continuation tokens', '32')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--compare-run <dir>', 'a larger model (run dir): precision/recall of this model predicting its memorization')
    .option('--compare-model <dir>', 'a larger model (HF dir) for the same comparison')
    .option('--out <file>', 'write the per-sequence results as JSON')
    .action(action(async (o: Opts) => {
      const k = intFlag(o, 'k', '--k'), l = intFlag(o, 'l', '--l');
      const n = intFlag(o, 'n', '--n', 0), seed = intFlag(o, 'seed', '--seed', 0);
      const be = await pickBackend(o.backend as string | undefined);
      const m = loadModelFlags(be, o)!;
      let seqs: TrainingSequence[];
      if (o.sequences !== undefined) {
        let v: unknown;
        try { v = JSON.parse(readFileSync(o.sequences as string, 'utf8')); } catch (e) { throw new MemorizeCliError(`--sequences: cannot read '${o.sequences}' as JSON (${(e as Error).message})`); }
        if (!Array.isArray(v) || !v.every((s) => Array.isArray(s) && s.every((t) => Number.isInteger(t) && t >= 0))) throw new MemorizeCliError(`--sequences: '${o.sequences}' must hold a JSON array of token-id arrays`);
        seqs = (v as number[][]).map((t) => ({ tokens: t }));
      } else {
        const sh = openData(o, m.runData, 'sampling training sequences');
        seqs = [...(o.duplicates ? plantedDuplicateSequences(sh, k + l, { perDocument: 4 }) : []), ...sampleTrainingSequences({ shards: sh }, n, k + l, { seed })];
        sh.close();
      }
      const res = discoverableMemorization(m.model, seqs, { k, l });
      const groups = byCopies(seqs, res);
      let comparison = null;
      const other = loadModelFlags(be, o, 'compareRun', 'compareModel', '--compare-run', '--compare-model', false);
      if (other) comparison = smallPredictsLarge(res, discoverableMemorization(other.model, seqs, { k, l }));
      const summary = { model: m.dir, k, l, n: res.n, exactRate: res.exactRate, meanScore: res.meanScore, byCopies: groups, comparison };
      if (o.out !== undefined) writeFileAtomic(o.out as string, JSON.stringify({ ...summary, sequences: seqs.map((s, i) => ({ offset: s.offset, copies: s.copies, label: s.label, score: res.items[i]!.score, exact: res.items[i]!.exact, generated: res.items[i]!.generated })) }) + '\n');
      print(o, summary, [
        `${m.dir}: ${res.n} sequences, k = ${k}, l = ${l}: exactly memorized ${(100 * res.exactRate).toFixed(1)}%, mean Biderman score ${f2(res.meanScore)}`,
        ...groups.map((g) => `  copies ${g.copies}: n ${g.n}, exact ${(100 * g.exactRate).toFixed(1)}%, mean score ${f2(g.meanScore)}`),
        ...(comparison ? [`  predicting ${other!.dir}: precision ${f2(comparison.precision)}, recall ${f2(comparison.recall)}`] : []),
      ]);
    }));

  modelOpts(mem.command('extract'))
    .description('Carlini 2021 extraction: sample, deduplicate, rank, verify against the training data, precision@k per ranking')
    .option('--data <dir>', "training shard directory, indexed for verification (default: the run's data)")
    .option('--index <file>', 'a suffix-array index of the training tokens (lmlab index build) instead of indexing --data')
    .option('--reference-run <dir>', 'reference model (run dir) for the reference-ratio ranking')
    .option('--reference-model <dir>', 'reference model (HF dir)')
    .option('--strategy <s>', 'top-k | top-p | decaying-temperature', 'top-k')
    .option('--top-k <n>', 'k of top-k sampling', '40')
    .option('--top-p <p>', 'p of nucleus sampling', '0.95')
    .option('--prompts <src>', "'empty' (a single BOS token) or a text file the model was not trained on (random 5-10 token windows)", 'empty')
    .option('--bos <id>', 'BOS token id for empty prompts (default: the corpus <|endoftext|>)')
    .option('--samples <n>', 'candidates to generate', '200')
    .option('--length <n>', 'generated tokens per candidate (default: 64, or what the model context leaves after the prompt)')
    .option('--m <n>', 'verification: minimum training match in tokens', '50')
    .option('--k <n>', 'precision@k', '100')
    .option('--dedup <mode>', 'exact | trigram | none', 'trigram')
    .option('--seed <n>', 'sampling and random-ranking seed', '0')
    .option('--out <file>', 'write the full report (candidates, scores, memorized m-gram counts) as JSON')
    .action(action(async (o: Opts) => {
      const samples = intFlag(o, 'samples', '--samples');
      const m = intFlag(o, 'm', '--m'), K = intFlag(o, 'k', '--k'), seed = intFlag(o, 'seed', '--seed', 0);
      const strategyKind = enumFlag(o.strategy as string, '--strategy', ['top-k', 'top-p', 'decaying-temperature'] as const);
      const dedup = enumFlag(o.dedup as string, '--dedup', ['exact', 'trigram', 'none'] as const);
      const strategy: SamplingStrategy = strategyKind === 'top-k' ? { kind: 'top-k', k: intFlag(o, 'topK', '--top-k') }
        : strategyKind === 'top-p' ? { kind: 'top-p', p: numFlag(o, 'topP', '--top-p', 1e-9, 1) } : { kind: 'decaying-temperature' };
      const be = await pickBackend(o.backend as string | undefined);
      const t = loadModelFlags(be, o)!;
      // prompts are one BOS token (empty) or 5–10-token windows of the prompt text: leave room for the longest
      const length = o.length !== undefined ? intFlag(o, 'length', '--length')
        : Math.max(1, Math.min(64, t.model.config.ctx - (o.prompts === 'empty' ? 1 : 10)));
      if (m > length) throw new MemorizeCliError(`--m: a match of ${m} tokens cannot occur in generations of --length ${length}${o.length === undefined ? ` (the default for a ${t.model.config.ctx}-token context)` : ''}`);
      const ref = loadModelFlags(be, o, 'referenceRun', 'referenceModel', '--reference-run', '--reference-model', false);
      let index;
      let sh: Shards | null = null;
      if (o.index !== undefined) {
        if (!existsSync(o.index as string)) throw new MemorizeCliError(`--index: '${o.index}' does not exist`);
        const { SuffixArrayIndex } = await import('../memorization/index-file.ts');
        index = SuffixArrayIndex.open(o.index as string, { inMemory: true });
        if (o.data !== undefined || t.runData !== undefined) sh = openData(o, t.runData, 'extract');
      } else {
        sh = openData(o, t.runData, 'verification');
        index = shardIndex(sh);
      }
      let prompts: PromptSource;
      if (o.prompts === 'empty') {
        let bos: number;
        if (o.bos !== undefined) bos = intFlag(o, 'bos', '--bos', 0);
        else if (sh) bos = sh.eotId;
        else {
          const ids = t.codec.encode('<|endoftext|>');
          if (ids.length !== 1) throw new MemorizeCliError('--bos: the BOS token for empty prompts is unknown (no --data, and <|endoftext|> is not one token of the codec); give --bos <id>');
          bos = ids[0]!;
        }
        if (bos >= t.model.config.vocab) throw new MemorizeCliError(`--bos: ${bos} is outside the model vocabulary (${t.model.config.vocab})`);
        prompts = { kind: 'empty', bos };
      } else {
        const path = o.prompts as string;
        if (!existsSync(path)) throw new MemorizeCliError(`--prompts: expected 'empty' or a text file, '${path}' does not exist`);
        const tokens = t.codec.encode(readFileSync(path, 'utf8'));
        if (tokens.length < 10) throw new MemorizeCliError(`--prompts: '${path}' encodes to ${tokens.length} tokens; at least 10 are needed`);
        prompts = { kind: 'text', tokens, name: 'text-prompts' };
      }
      sh?.close();
      const plan: GenerationPlan = { strategy, prompts, samples, length, seed };
      const rep: ExtractionReport = runExtraction(t.model, index, {
        plans: [plan], m, k: K, dedup, seed,
        score: { codec: t.codec, ...(ref ? { reference: { model: ref.model, codec: ref.codec } } : {}) },
        log: o.json ? undefined : (s) => void process.stderr.write(s + '\n'),
      });
      index.close();
      if (o.out !== undefined) writeFileAtomic(o.out as string, JSON.stringify(rep) + '\n');
      const { rows: _rows, ...brief } = rep;
      print(o, brief, [
        `${rep.generations} generations (${rep.generatedTokens} tokens), ${rep.candidates} after ${rep.dedup} deduplication; memorized (≥ ${m}-token training match): ${rep.memorizedCandidates} (${(100 * rep.baseRate).toFixed(1)}%); ${(100 * rep.fractionTokensMemorized).toFixed(2)}% of generated tokens; ${rep.memorizedKgrams.unique} unique memorized ${m}-grams`,
        `precision@${K}:`,
        ...rep.precision.map((p) => `  ${p.ranking.padEnd(20)} ${f2(p.precision)} (${p.hits}/${p.k})`),
      ]);
    }));

  mem.command('estimate')
    .description('Good-Turing extrapolation of unique memorized m-grams versus generations, from `memorize extract --out`')
    .requiredOption('--from <file>', 'extraction report JSON (memorize extract --out)')
    .option('--targets <list>', 'numbers of generations to estimate at (default: 0.5, 1, 2, 4, 8, 16 × observed)')
    .option('--method <m>', 'smoothed-good-toulmin | sgt-power', 'smoothed-good-toulmin')
    .option('--conf <c>', 'SGT confidence factor (1.96 Sampson C code, 1.65 paper S code)', '1.96')
    .option('--json', 'print the result as JSON')
    .action(action(async (o: Opts) => {
      let rep: Partial<ExtractionReport>;
      try { rep = JSON.parse(readFileSync(o.from as string, 'utf8')) as Partial<ExtractionReport>; } catch (e) { throw new MemorizeCliError(`--from: cannot read '${o.from}' as JSON (${(e as Error).message})`); }
      const mk = rep.memorizedKgrams;
      if (!mk || !Array.isArray(mk.counts) || typeof rep.generations !== 'number') throw new MemorizeCliError(`--from: '${o.from}' is not an extraction report (needs "generations" and "memorizedKgrams.counts"; write it with \`lmlab memorize extract --out\`)`);
      const method = enumFlag(o.method as string, '--method', ['smoothed-good-toulmin', 'sgt-power'] as const);
      const conf = numFlag(o, 'conf', '--conf', 0.1, 10);
      const G = rep.generations;
      const targets = o.targets !== undefined ? intList(o.targets as string, '--targets') : [0.5, 1, 2, 4, 8, 16].map((f) => Math.max(1, Math.round(f * G)));
      if (mk.counts.length === 0) throw new MemorizeCliError(`--from: '${o.from}' holds no memorized ${mk.k}-grams; nothing to extrapolate (generate more, or lower --m)`);
      const est = estimateUniqueMemorized(mk.counts, G, targets, { method, conf });
      print(o, { k: mk.k, ...est }, [
        `${est.uniqueObserved} unique memorized ${mk.k}-grams in ${est.emissions} emissions over ${G} generations; missing mass N1/n = ${f2(est.missingMass)}; SGT slope ${f2(est.sgtSlope)}`,
        ...est.curve.map((p) => `  ${String(p.generations).padStart(8)} generations: ${p.expected.toFixed(1)} unique${p.extrapolated ? ` (extrapolated, ${method})` : ''}`),
      ]);
    }));

  modelOpts(mem.command('canaries'))
    .description('exposure of the planted canaries of a corpus (manifest) against their copy counts')
    .option('--data <dir>', "the shard directory with the planted canaries (default: the run's data)")
    .option('--candidates <n>', 'random secrets of the same format scored', '500')
    .option('--seed <n>', 'seed of the random secrets', '5')
    .action(action(async (o: Opts) => {
      const R = intFlag(o, 'candidates', '--candidates', 10), seed = intFlag(o, 'seed', '--seed', 0);
      const be = await pickBackend(o.backend as string | undefined);
      const m = loadModelFlags(be, o)!;
      const sh = openData(o, m.runData, 'canary exposure');
      const canaries = sh.manifest.planted.canaries;
      if (!canaries.length) throw new MemorizeCliError(`--data: the corpus '${sh.dir}' has no planted canaries (spec plant.canaries)`);
      const fmt = canaryFormat(sh.manifest.spec, canaries);
      sh.close();
      const rep = canaryExposures(m.model, m.codec, canaries, fmt, { candidates: R, seed });
      print(o, rep, [
        `${m.dir}: ${canaries.length} canaries, ${R} random secrets, maximum exposure ${rep.maxExposure.toFixed(1)} bits`,
        ...rep.byCopies.map((g) => `  copies ${String(g.copies).padStart(3)}: exposure ${g.exposure.toFixed(2)} bits (skew-normal), ${g.exposureSampled.toFixed(2)} (sampled rank), n ${g.n}`),
      ]);
    }));
}

function parseShapes(v: string): ModelShape[] {
  const parts = v.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw new MemorizeCliError(`--sizes: expected LAYERSxWIDTH[:HEADS],..., got '${v}'`);
  return parts.map((p) => {
    const mm = /^(\d+)x(\d+)(?::(\d+))?$/.exec(p);
    if (!mm) throw new MemorizeCliError(`--sizes: '${p}' is not LAYERSxWIDTH[:HEADS] (e.g. 2x64:2)`);
    const n_layer = Number(mm[1]), d_model = Number(mm[2]), n_head = mm[3] ? Number(mm[3]) : d_model < 64 ? 2 : 4;
    if (n_layer < 1 || d_model < 1 || n_head < 1 || d_model % n_head !== 0) throw new MemorizeCliError(`--sizes: '${p}': need layers ≥ 1 and a width divisible by the heads`);
    return { n_layer, d_model, n_head };
  });
}


function suiteFlags(o: Opts) {
  return {
    work: o.work as string,
    sizes: o.sizes !== undefined ? parseShapes(o.sizes as string) : undefined,
    epochs: intFlag(o, 'epochs', '--epochs'),
    seqLen: intFlag(o, 'seqLen', '--seq-len', 8),
    targetBytes: intFlag(o, 'targetBytes', '--target-bytes', 10000),
    seed: intFlag(o, 'seed', '--seed', 0),
  };
}

/** Adds `memorization` and `extraction` to the `lmlab experiment` command. */
export function registerMemorizationExperiments(ex: Command): void {
  const common = (c: Command, name: string) => experimentFlags(c, name)
    .option('--work <dir>', 'work directory for the suite (corpus, runs); shared by both experiments and reused when unchanged', 'experiments/memorization-work')
    .option('--sizes <list>', 'model sizes LAYERSxWIDTH[:HEADS], smallest first', '1x32:2,2x64:2,3x96:3')
    .option('--epochs <n>', 'passes over the training tokens', '12')
    .option('--seq-len <n>', 'context / training row length', '64')
    .option('--target-bytes <n>', 'corpus bytes before planting', '400000')
    .option('--seed <n>', 'corpus and training seed', '7');
  const logger = (o: Opts) => experimentLogger(o as { quiet?: boolean; json?: boolean });

  common(ex.command('memorization'), 'memorization')
    .description('memorization versus duplicate count and model size on a 3-model suite (SpamAssassin + SOTU with planted duplicates), canary exposure versus copies')
    .option('--k <n>', 'prompt tokens', '32')
    .option('--l <n>', 'continuation tokens', '32')
    .option('--random <n>', 'random training windows probed', '256')
    .option('--canary-candidates <n>', 'random secrets scored per model', '500')
    .action(action(async (o: Opts) => {
      const opts = { ...suiteFlags(o), k: intFlag(o, 'k', '--k'), l: intFlag(o, 'l', '--l'), randomSequences: intFlag(o, 'random', '--random', 0), canaryCandidates: intFlag(o, 'canaryCandidates', '--canary-candidates', 10) };
      const be = await pickBackend(o.backend as string | undefined);
      await finishExperiment('memorization', o as { out?: string; json?: boolean; svg?: boolean }, await runMemorizationExperiment(be, opts, logger(o)));
    }));

  common(ex.command('extraction'), 'extraction')
    .description('Carlini 2021 extraction attack on the suite\'s largest model (reference = smallest): precision@k of each ranking versus random')
    .option('--samples <n>', 'candidates per generation plan (3 plans)', '800')
    .option('--length <n>', 'generated tokens (default: context − 10)')
    .option('--m <list>', 'verification match lengths, the first is the main one', '50,32')
    .option('--k <list>', 'precision@k for each k, the first is the main one', '100,25,10')
    .option('--dedup <mode>', 'exact | trigram | none', 'trigram')
    .action(action(async (o: Opts) => {
      const opts = {
        ...suiteFlags(o), samples: intFlag(o, 'samples', '--samples'), length: o.length !== undefined ? intFlag(o, 'length', '--length') : undefined,
        m: intList(o.m as string, '--m'), k: intList(o.k as string, '--k'), dedup: enumFlag(o.dedup as string, '--dedup', ['exact', 'trigram', 'none'] as const),
      };
      const be = await pickBackend(o.backend as string | undefined);
      await finishExperiment('extraction', o as { out?: string; json?: boolean; svg?: boolean }, await runExtractionExperiment(be, opts, logger(o)));
    }));
}
