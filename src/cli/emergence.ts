/**
 * `lmlab emergence …`: scaling-curve analysis, the mirage model, the Arora–Goyal skill solver, and a
 * preview of the procedurally generated tasks, and `eval` (trained runs or HF models on a task, with the curve
 * over N). Thin: all logic lives in src/emergence/.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createBackend, parseBackendKind } from '../engine/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { EVAL_METRICS, evaluateRuns, parseMetricList, runsCurve, type ModelEval } from '../emergence/evalruns.ts';
import { analyzeCurve, curveFromCsv, CurveError, type Axis, type CurveAnalysis } from '../emergence/curve.ts';
import { aroraGoyalCurves, aroraGoyalSolve, mirageCurve } from '../emergence/theory.ts';
import { getTask, listTasks } from '../emergence/tasks/registry.ts';
import { Rng } from '../emergence/rng.ts';
import type { TaskOptions } from '../emergence/tasks/types.ts';

export class EmergenceCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmergenceCliError';
  }
}

/** Where commands write; tests pass their own. `fail` must not return. */
export interface CliIO {
  out(s: string): void;
  fail(err: unknown): never;
}

const defaultIO: CliIO = {
  out: (s) => void process.stdout.write(s),
  fail: (err) => {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`lmlab: ${e.name && e.name !== 'Error' ? e.name + ': ' : ''}${e.message}\n`);
    if (process.env.LMLAB_DEBUG && e.stack) process.stderr.write(e.stack + '\n');
    process.exit(1);
  },
};

function wrap<A extends unknown[]>(io: CliIO, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      io.fail(e);
    }
  };
}

/** Parse "1e6,1e7,3e8" into numbers, naming the flag on error. */
export function parseNumberList(s: string, flag: string): number[] {
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new EmergenceCliError(`${flag}: expected a comma-separated list of numbers, got '${s}'`);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v)) throw new EmergenceCliError(`${flag}: '${p}' is not a finite number`);
    return v;
  });
}

function parseNumber(s: string | undefined, flag: string): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) throw new EmergenceCliError(`${flag}: '${s}' is not a finite number`);
  return v;
}

function requireNumber(s: string | undefined, flag: string): number {
  const v = parseNumber(s, flag);
  if (v === undefined) throw new EmergenceCliError(`${flag} is required`);
  return v;
}

const g = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined ? '—' : Number.isFinite(v) ? (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(digits - 1) : Number(v.toPrecision(digits)).toString()) : String(v);

function describeAnalysis(name: string, a: CurveAnalysis): string {
  const b = a.breakthroughness, e = a.emergencePoint, l = a.linearity;
  const lines = [`${name}: ${a.n} points, axis ${a.axis}`];
  lines.push(`  shape             ${a.shape.label}${a.shape.orientation ? ` (${a.shape.orientation})` : ''}`);
  for (const r of a.shape.reasons) lines.push(`                    - ${r}`);
  lines.push(`  breakthroughness  ${g(b.value)}${b.floored ? `  (denominator floored at ${g(b.denominator)}${b.infinite ? '; raw score is infinite: median step is 0' : ''})` : ''}`);
  lines.push(`  lmlab_linearity   ${g(l.lmlab_linearity)}  (R² of y on ${l.xTransform === 'log10' ? 'log10 x' : 'x'}; slope ${g(l.slope)})`);
  let ep = `  emergence point   ${e.x === null ? `none (${e.note})` : `x = ${g(e.x)}`}  (y crosses ${g(e.threshold)}, ${e.direction}, between floor ${g(e.floor)} and ceiling ${g(e.ceiling)})`;
  if (e.bracket) ep += `\n                    bracket [${g(e.bracket[0])}, ${g(e.bracket[1])}], ${e.interpolation} interpolation`;
  if (e.interval) ep += `\n                    bootstrap 95% [${g(e.interval[0])}, ${g(e.interval[1])}] (${e.bootstrapReplicates} replicates, ${e.bootstrapNoCrossing} without a crossing)`;
  lines.push(ep);
  return lines.join('\n') + '\n';
}

/** Coerce "--set key=value" strings: numbers, booleans, null, else the string. */
export function coerceValue(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null') return null;
  if (v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

export function registerWith(program: Command, io: CliIO): void {
  const em = program.command('emergence').description('emergence analysis: scaling-curve shapes, mirage model, skill theory, task generators');

  em.command('analyze')
    .description('analyze a scaling curve from CSV: shape label, breakthroughness, lmlab_linearity, emergence point')
    .requiredOption('--input <file>', 'CSV with a header row (scale columns, metric columns)')
    .option('--x <cols>', 'scale column(s), comma-separated, e.g. N,flops,val_loss (default: first column)')
    .option('--y <cols>', 'metric column(s), comma-separated (default: second column)')
    .option('--se <col>', 'standard-error column, used for every metric column (enables the bootstrap interval)')
    .option('--count <col>', 'eval-set size column for proportions (binomial bootstrap), used for every metric column')
    .option('--axis <axes>', "per --x column: 'scale' (N, FLOPs, step: larger = more scale) or 'loss' (validation loss: smaller = more scale); one value applies to all", 'scale')
    .option('--lower-is-better [cols]', 'the metric improves downward (loss, edit distance): all y columns, or the listed ones')
    .option('--floor <v>', 'floor for the emergence point (e.g. chance accuracy); default min y')
    .option('--ceiling <v>', 'ceiling for the emergence point; default max y')
    .option('--level <v>', 'crossing level between floor and ceiling', '0.5')
    .option('--bootstrap <n>', 'bootstrap replicates (default 1000 when --se or --count is given)')
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--metric-span <v>', 'natural span of the metric for the flat test (default 1 for metrics in [0,1], else max |y|)')
    .option('--json', 'print JSON')
    .action(
      wrap(io, (o: { input: string; x?: string; y?: string; se?: string; count?: string; axis: string; lowerIsBetter?: boolean | string; floor?: string; ceiling?: string; level: string; bootstrap?: string; seed: string; metricSpan?: string; json?: boolean }) => {
        let text: string;
        try {
          text = readFileSync(o.input, 'utf8');
        } catch (e) {
          throw new EmergenceCliError(`--input: cannot read '${o.input}' (${(e as Error).message})`);
        }
        const header = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
        if (!header) throw new CurveError(`${o.input}: empty file`);
        const cols = header.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
        const xs = o.x ? o.x.split(',').map((s) => s.trim()) : [cols[0] ?? ''];
        const ys = o.y ? o.y.split(',').map((s) => s.trim()) : [cols[1] ?? ''];
        const axes = o.axis.split(',').map((s) => s.trim());
        if (axes.length !== 1 && axes.length !== xs.length) throw new EmergenceCliError(`--axis: give one axis or one per --x column (${xs.length}), got '${o.axis}'`);
        for (const a of axes) if (a !== 'scale' && a !== 'loss') throw new EmergenceCliError(`--axis must be 'scale' or 'loss', got '${a}'`);
        const out: Record<string, Record<string, CurveAnalysis>> = {};
        xs.forEach((x, xi) => {
          const axis = (axes.length === 1 ? axes[0] : axes[xi]) as Axis;
          out[x] = {};
          for (const y of ys) {
            if (y === x) continue;
            const pts = curveFromCsv(text, { x, y, se: o.se, count: o.count }, o.input);
            const opts: Parameters<typeof analyzeCurve>[1] = {
              axis,
              higherIsBetter: !(o.lowerIsBetter === true || (typeof o.lowerIsBetter === 'string' && o.lowerIsBetter.split(',').map((c) => c.trim()).includes(y))),
              level: requireNumber(o.level, '--level'),
              seed: Number(o.seed),
            };
            const floor = parseNumber(o.floor, '--floor'), ceiling = parseNumber(o.ceiling, '--ceiling');
            const span = parseNumber(o.metricSpan, '--metric-span'), boot = parseNumber(o.bootstrap, '--bootstrap');
            if (floor !== undefined) opts.floor = floor;
            if (ceiling !== undefined) opts.ceiling = ceiling;
            if (span !== undefined) opts.metricSpan = span;
            if (boot !== undefined) opts.bootstrap = boot;
            out[x]![y] = analyzeCurve(pts, opts);
          }
        });
        if (o.json) io.out(JSON.stringify(out, null, 2) + '\n');
        else for (const [x, byY] of Object.entries(out)) for (const [y, a] of Object.entries(byY)) io.out(describeAnalysis(`${y} vs ${x}`, a));
      }),
    );

  em.command('eval')
    .description('evaluate trained runs (or a Hugging Face model directory) on a task: every metric on the same greedy generations / teacher-forced scores; with several runs, the curve over N with a shape label per metric')
    .option('--runs <dirs>', 'run, checkpoint or HF model directories, comma-separated (one model each)')
    .option('--model <dir>', 'one Hugging Face model directory (or run directory)')
    .option('--task <name>', 'task name (see `lmlab emergence tasks --list`)')
    .option('--metrics <list>', `metrics to report, comma-separated (default: every metric the task defines; known: ${Object.keys(EVAL_METRICS).join(', ')})`)
    .option('--n <n>', 'held-out examples', '200')
    .option('--k-shot <k>', 'train-split demonstrations in each prompt', '0')
    .option('--seed <s>', 'example generator seed', '0')
    .option('--digits <n>', 'operand digits (arithmetic tasks)')
    .option('--set <key=value...>', 'any other task option, e.g. --set p=113')
    .option('--prefix <text>', "text put before every prompt (e.g. '\\n' for models trained on newline-separated examples; escapes \\n and \\t are decoded)")
    .option('--batch <n>', 'prompts per forward pass', '32')
    .option('--backend <kind>', 'ref | native | auto')
    .option('--out <file>', 'write the per-model table as CSV (columns N, metrics…, N_nonembedding, model: what `emergence analyze` reads; its defaults take the first metric against N)')
    .option('--json', 'print JSON')
    .action(
      wrap(io, async (o: { runs?: string; model?: string; task?: string; metrics?: string; n: string; kShot: string; seed: string; digits?: string; set?: string[]; prefix?: string; batch: string; backend?: string; out?: string; json?: boolean }) => {
        if (o.runs !== undefined && o.model !== undefined) throw new EmergenceCliError('give either --runs or --model, not both');
        if (o.runs === undefined && o.model === undefined) throw new EmergenceCliError('--runs <dir,dir,…> or --model <dir> is required');
        if (!o.task) throw new EmergenceCliError('--task is required (see `lmlab emergence tasks --list`)');
        const dirs = (o.runs !== undefined ? o.runs.split(',') : [o.model!]).map((d) => d.trim()).filter((d) => d !== '');
        if (dirs.length === 0) throw new EmergenceCliError(`${o.runs !== undefined ? '--runs' : '--model'}: no directory given`);
        for (const d of dirs) if (!existsSync(d)) throw new EmergenceCliError(`${o.runs !== undefined ? '--runs' : '--model'}: '${d}' does not exist`);
        const task = getTask(o.task);
        const metrics = o.metrics === undefined ? undefined : parseMetricList(o.metrics, '--metrics');
        const n = requireNumber(o.n, '--n'), kShot = requireNumber(o.kShot, '--k-shot'), batch = requireNumber(o.batch, '--batch');
        if (!Number.isInteger(n) || n < 1) throw new EmergenceCliError(`--n must be a positive integer, got ${o.n}`);
        if (!Number.isInteger(kShot) || kShot < 0) throw new EmergenceCliError(`--k-shot must be a non-negative integer, got ${o.kShot}`);
        if (!Number.isInteger(batch) || batch < 1) throw new EmergenceCliError(`--batch must be a positive integer, got ${o.batch}`);
        const taskOptions: TaskOptions = {};
        if (o.digits !== undefined) taskOptions.digits = requireNumber(o.digits, '--digits');
        for (const kv of o.set ?? []) {
          const i = kv.indexOf('=');
          if (i <= 0) throw new EmergenceCliError(`--set: expected key=value, got '${kv}'`);
          taskOptions[kv.slice(0, i)] = coerceValue(kv.slice(i + 1));
        }
        const backend = await createBackend(parseBackendKind(o.backend ?? process.env.LMLAB_BACKEND ?? 'auto'));
        const prefix = o.prefix === undefined ? undefined : o.prefix.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
        const seed = Number.isFinite(Number(o.seed)) ? Number(o.seed) : o.seed;
        const evals = await evaluateRuns(backend, dirs, task, { n, kShot, seed, taskOptions, metrics, prefix, batchSize: batch });
        const { rows, curves } = runsCurve(evals, metrics);
        if (o.out) writeFileAtomic(o.out, evalCsv(rows));
        if (o.json) {
          io.out(JSON.stringify({
            task: task.name, n, kShot, taskOptions,
            models: evals.map((e) => ({ source: e.source, kind: e.kind, params: e.params, nonEmbeddingParams: e.nonEmbeddingParams, codec: e.codec, metrics: e.metrics, tokenization: e.report.tokenization })),
            curves: curves.map((c) => ({ metric: c.metric, higherIsBetter: c.higherIsBetter, note: c.note, shape: c.analysis?.shape.label ?? null, breakthroughness: c.analysis?.breakthroughness.value ?? null, lmlab_linearity: c.analysis?.linearity.lmlab_linearity ?? null, analysis: c.analysis })),
          }, null, 2) + '\n');
          return;
        }
        io.out(describeEvals(task.name, evals));
        for (const c of curves) {
          if (!c.analysis) io.out(`${c.metric} vs N: ${c.note}\n`);
          else io.out(describeAnalysis(`${c.metric} vs N${c.higherIsBetter ? '' : ' (lower is better)'}`, c.analysis));
        }
        if (o.out) io.out(`wrote ${o.out}\n`);
      }),
    );

  em.command('mirage')
    .description('Schaeffer et al. mirage model: L(N) = (N/c)^alpha, p = exp(-L), exact match p^T, expected token edit distance T(1-p)')
    .requiredOption('--N <list>', 'scales, comma-separated (e.g. 1e6,1e7,1e8)')
    .option('--c <v>', 'scale constant c', '1e8')
    .option('--alpha <v>', 'exponent alpha (< 0)', '-0.5')
    .option('--T <n>', 'target length in tokens', '5')
    .option('--json', 'print JSON')
    .action(
      wrap(io, (o: { N: string; c: string; alpha: string; T: string; json?: boolean }) => {
        const Ns = parseNumberList(o.N, '--N');
        const T = requireNumber(o.T, '--T');
        if (!Number.isInteger(T) || T < 1) throw new EmergenceCliError(`--T must be a positive integer, got ${o.T}`);
        const rows = mirageCurve(Ns, { c: requireNumber(o.c, '--c'), alpha: requireNumber(o.alpha, '--alpha'), T });
        if (o.json) {
          io.out(JSON.stringify(rows, null, 2) + '\n');
          return;
        }
        io.out(`${'N'.padStart(12)} ${'loss'.padStart(10)} ${'p'.padStart(10)} ${'exact_match'.padStart(12)} ${'E[TED]'.padStart(10)}\n`);
        for (const r of rows) io.out(`${g(r.N).padStart(12)} ${g(r.loss).padStart(10)} ${g(r.p).padStart(10)} ${g(r.exactMatch).padStart(12)} ${g(r.expectedTED).padStart(10)}\n`);
      }),
    );

  em.command('skills')
    .description('Arora–Goyal: root alpha* of H(theta) - k*theta*KL(beta*alpha || alpha) = 0; fraction of skills with competence >= 1 - beta*theta')
    .requiredOption('--theta <v>', 'fraction of failed text pieces')
    .requiredOption('--k <n>', 'skills per text piece')
    .option('--beta <v>', 'competence threshold factor (> 1)', '2')
    .option('--k-prime <list>', "competence curves for k'-tuples (comma-separated sizes), theta' = k'·theta, at a fixed competence level")
    .option('--thetas <list>', "theta values of the curves (default: --theta, --theta/2, --theta/4, …)")
    .option('--competence <v>', 'competence level of the curves (default 1 - beta·theta)')
    .option('--json', 'print JSON')
    .action(
      wrap(io, (o: { theta: string; k: string; beta: string; kPrime?: string; thetas?: string; competence?: string; json?: boolean }) => {
        const theta = requireNumber(o.theta, '--theta'), k = requireNumber(o.k, '--k'), beta = requireNumber(o.beta, '--beta');
        const sol = aroraGoyalSolve({ theta, k, beta });
        let tuples: ReturnType<typeof aroraGoyalCurves> | undefined;
        if (o.kPrime || o.thetas) {
          const kPrimes = o.kPrime ? parseNumberList(o.kPrime, '--k-prime') : [1];
          const thetas = o.thetas ? parseNumberList(o.thetas, '--thetas') : [1, 2, 4, 8, 16].map((d) => theta / d);
          const competence = parseNumber(o.competence, '--competence') ?? sol.competence;
          tuples = aroraGoyalCurves({ k, competence, kPrimes, thetas });
        }
        if (o.json) {
          io.out(JSON.stringify(tuples ? { ...sol, curves: tuples } : sol, null, 2) + '\n');
          return;
        }
        io.out(`theta = ${g(theta)}, k = ${g(k)}, beta = ${g(beta)}\n`);
        io.out(`condition k·theta·ln(beta) = ${g(sol.condition.kThetaLnBeta)} vs H(theta) = ${g(sol.condition.entropy)} nats: ${sol.exists ? 'a root exists' : 'no root (no guarantee)'}\n`);
        if (sol.exists) io.out(`alpha* = ${sol.alphaStar!.toFixed(6)}: at least ${(100 * sol.fractionCompetent).toFixed(2)}% of skills have competence >= ${g(sol.competence)}\n`);
        if (tuples) {
          io.out(`\nfraction of k'-tuples guaranteed competence >= ${g(tuples[0]!.competence)} (theta' = k'·theta, beta = (1 - competence)/theta'):\n`);
          io.out(`${'theta'.padStart(10)} ${"k'".padStart(4)} ${'beta'.padStart(8)} ${'alpha*'.padStart(10)} ${'fraction'.padStart(9)}\n`);
          for (const t of tuples) {
            io.out(`${g(t.theta).padStart(10)} ${String(t.kPrime).padStart(4)} ${g(t.beta).padStart(8)} ${(t.alphaStar === null ? '—' : t.alphaStar.toFixed(6)).padStart(10)} ${g(t.fraction).padStart(9)}${t.note ? `  (${t.note})` : ''}\n`);
          }
        }
      }),
    );

  em.command('tasks')
    .description('print examples of a procedurally generated task (or --list the tasks)')
    .option('--task <name>', 'task name (see --list)')
    .option('--list', 'list the tasks and their options')
    .option('--n <n>', 'number of examples', '5')
    .option('--split <split>', 'train | eval', 'eval')
    .option('--seed <s>', 'generator seed', '0')
    .option('--digits <n>', 'operand digits (arithmetic tasks)')
    .option('--k-shot <n>', 'demonstrations per prompt')
    .option('--scratchpad', 'scratchpad / chain-of-thought target (addition, multiplication, skills)')
    .option('--set <key=value...>', 'any other task option, e.g. --set p=113 --set op=*')
    .option('--json', 'print JSON')
    .action(
      wrap(io, (o: { task?: string; list?: boolean; n: string; split: string; seed: string; digits?: string; kShot?: string; scratchpad?: boolean; set?: string[]; json?: boolean }) => {
        if (o.list || !o.task) {
          const tasks = listTasks().map((t) => ({ name: t.name, description: t.description, defaults: t.defaults }));
          if (o.json) io.out(JSON.stringify(tasks, null, 2) + '\n');
          else for (const t of tasks) io.out(`${t.name.padEnd(18)} ${t.description}\n${''.padEnd(18)} options: ${Object.entries(t.defaults).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`);
          return;
        }
        if (o.split !== 'train' && o.split !== 'eval') throw new EmergenceCliError(`--split must be train or eval, got '${o.split}'`);
        const task = getTask(o.task);
        const opts: TaskOptions = {};
        if (o.digits !== undefined) opts.digits = requireNumber(o.digits, '--digits');
        if (o.kShot !== undefined) opts.kShot = requireNumber(o.kShot, '--k-shot');
        if (o.scratchpad) opts.scratchpad = true;
        for (const kv of o.set ?? []) {
          const i = kv.indexOf('=');
          if (i <= 0) throw new EmergenceCliError(`--set: expected key=value, got '${kv}'`);
          opts[kv.slice(0, i)] = coerceValue(kv.slice(i + 1));
        }
        const seed = Number.isFinite(Number(o.seed)) ? Number(o.seed) : o.seed;
        const n = requireNumber(o.n, '--n');
        const exs = task.generate(new Rng(seed), o.split, n, opts);
        if (o.json) {
          io.out(JSON.stringify(exs, null, 2) + '\n');
          return;
        }
        exs.forEach((e, i) => {
          io.out(`--- ${task.name} ${e.meta.split} #${i} (key ${e.meta.key.length > 60 ? e.meta.key.slice(0, 57) + '...' : e.meta.key})\n`);
          io.out(`prompt: ${JSON.stringify(e.prompt)}\ntarget: ${JSON.stringify(e.target)}\n`);
          if (e.answer !== undefined) io.out(`answer: ${JSON.stringify(e.answer)}\n`);
          if (e.options) io.out(`options: ${e.options.map((x, j) => (j === e.gold ? `[${JSON.stringify(x)}]` : JSON.stringify(x))).join(' ')}\n`);
        });
      }),
    );
}

/** The per-model table as CSV (numbers as is, missing as empty, the model path last). */
export function evalCsv(rows: readonly Record<string, number | string | null>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: number | string | null | undefined): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
    if (/[",\n]/.test(v)) throw new EmergenceCliError(`--out: the value '${v}' contains a comma, quote or newline, which the CSV reader of \`emergence analyze\` does not support`);
    return v;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

function describeEvals(task: string, evals: readonly ModelEval[]): string {
  const keys = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
  const lines = [`task ${task}: ${evals.length} model${evals.length === 1 ? '' : 's'}`];
  lines.push(['params'.padStart(10), ...keys.map((k) => k.padStart(Math.max(10, k.length))), '  model'].join(' '));
  for (const e of evals) lines.push([String(e.params).padStart(10), ...keys.map((k) => g(e.metrics[k] ?? null).padStart(Math.max(10, k.length))), `  ${e.source} (${e.kind}, ${e.codec})`].join(' '));
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  registerWith(program, defaultIO);
}
