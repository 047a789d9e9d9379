/**
 * Scaling-law commands: `lmlab laws list|predict|optimal|count`, `lmlab fit`.
 * Thin shells over src/scaling (logic lives there).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  FORMS, PRESETS, ScalingInputError, LawError, ConfigError, FitNotConvergedError, budgetForLoss, countParams, defaultThreads,
  flopsPerToken, fmt, formatFit, getPreset, optimal, predict, runFit, toShape, useNativeFit, type FitRequest, type Form, type Role,
} from '../scaling/index.ts';
import { nativeAvailable } from '../engine/native/index.ts';
import { action, fail } from './util.ts';

const SUFFIX: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, B: 1e9, G: 1e9, T: 1e12, P: 1e15 };

/** Parse 70e9, 7e10, 70B, 1.4T, 300M; throws naming the flag. */
export function parseQuantity(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKMBGTP]?)\s*$/.exec(v);
  const n = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1) : NaN;
  if (!(Number.isFinite(n) && n > 0)) throw new ScalingInputError(`${flag}: expected a positive number (e.g. 70e9 or 70B), got ${JSON.stringify(v)}`);
  return n;
}

function nonNegInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new ScalingInputError(`${flag}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 2) + '\n');
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

interface LawOpts {
  law: string;
  N?: string;
  D?: string;
  C?: string;
  loss?: string;
  targetLoss?: string;
  json?: boolean;
}

/** Default worker threads of `lmlab fit`: with the native objective a fit without bootstrap takes about a second
 * in one thread, less than starting the worker pool; bootstraps (hundreds of refits) and the TypeScript objective
 * use every core. */
function defaultFitThreads(bootstrap: number): number {
  return useNativeFit() && nativeAvailable() && bootstrap === 0 ? 1 : defaultThreads();
}

export function register(program: Command): void {
  const laws = program.command('laws').description('published scaling laws: list presets, predict losses, compute-optimal allocation, parameter/FLOP accounting');

  laws
    .command('list')
    .description('list the law presets with their constants and sources')
    .option('--json', 'JSON output')
    .action(
      action((opts: { json?: boolean }) => {
        const all = Object.values(PRESETS);
        if (opts.json) return printJson(all);
        for (const l of all) {
          const c = l.kind === 'kaplan' ? `N_c=${l.constants.Nc}, alpha_N=${l.constants.alphaN}, D_c=${l.constants.Dc}, alpha_D=${l.constants.alphaD}` : `E=${l.E}, A=${l.A}, B=${l.B}, alpha=${l.alpha}, beta=${l.beta}`;
          process.stdout.write(`${l.name.padEnd(24)} ${l.title}\n${''.padEnd(24)} ${c}\n${''.padEnd(24)} source: ${l.source}\n`);
        }
      }),
    );

  laws
    .command('predict')
    .description('predict L(N), L(D), L(N,D), L(C) and Kaplan B_crit(L) from a preset')
    .requiredOption('--law <preset>', `law preset (${Object.keys(PRESETS).join(', ')})`)
    .option('-N, --N <params>', 'non-embedding parameters (e.g. 70e9 or 70B)')
    .option('-D, --D <tokens>', 'training tokens')
    .option('-C, --C <flops>', 'training FLOPs')
    .option('--loss <L>', 'loss for the critical batch size B_crit(L) (Kaplan presets)')
    .option('--json', 'JSON output')
    .action(
      action((opts: LawOpts) => {
        const law = getPreset(opts.law);
        const q = {
          N: parseQuantity('--N', opts.N),
          D: parseQuantity('--D', opts.D),
          C: parseQuantity('--C', opts.C),
          loss: parseQuantity('--loss', opts.loss),
        };
        const r = predict(law, Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)));
        if (opts.json) return printJson({ law: law.name, source: law.source, ...r });
        process.stdout.write(`${law.name}: ${law.title}\n`);
        for (const p of r.predictions) {
          const args = Object.entries(p.inputs).map(([k, v]) => `${k}=${fmt(v, 4)}`).join(', ');
          process.stdout.write(`  ${p.quantity.padEnd(10)} ${args.padEnd(28)} ${p.quantity === 'B_crit(L)' ? `${fmt(p.value, 5)} tokens` : fmt(p.value, 6)}\n`);
        }
        for (const u of r.unsupported) process.stdout.write(`  not available: ${u}\n`);
      }),
    );

  laws
    .command('optimal')
    .description('compute-optimal N*, D*, tokens per parameter for a budget (--C), or the budget for a target loss (--target-loss)')
    .requiredOption('--law <preset>', `law preset (${Object.keys(PRESETS).join(', ')})`)
    .option('-C, --C <flops>', 'training FLOPs (e.g. 5.76e23)')
    .option('--target-loss <L>', 'target loss: find the compute-optimal budget that reaches it')
    .option('--json', 'JSON output')
    .action(
      action((opts: LawOpts) => {
        const law = getPreset(opts.law);
        const C = parseQuantity('--C', opts.C);
        const target = parseQuantity('--target-loss', opts.targetLoss);
        if ((C === undefined) === (target === undefined)) throw new LawError('give exactly one of --C <flops> or --target-loss <L>');
        const a = C !== undefined ? optimal(law, C) : budgetForLoss(law, target!);
        if (opts.json) return printJson({ law: law.name, source: law.source, ...(target !== undefined ? { targetLoss: target } : {}), ...a });
        process.stdout.write(`${law.name}: ${law.title}\n`);
        if (target !== undefined) process.stdout.write(`  target loss      ${fmt(target, 6)}\n`);
        process.stdout.write(`  C (FLOPs)        ${fmt(a.C, 5)}  (${fmt(a.C / 8.64e19, 4)} PF-days)\n  N* (params)      ${fmt(a.N, 5)}\n  D* (tokens)      ${fmt(a.D, 5)}\n  tokens/param     ${fmt(a.tokensPerParam, 4)}\n  loss             ${fmt(a.loss, 6)}\n  N* ~ C^${fmt(a.a, 4)}, D* ~ C^${fmt(a.b, 4)}\n`);
        for (const n of a.notes) process.stdout.write(`  note: ${n}\n`);
      }),
    );

  laws
    .command('count')
    .description('parameter counts and FLOPs per token (Kaplan, PaLM, Chinchilla conventions) for a config.json (gpt2, gpt_neox, llama) or an lmlab shape')
    .requiredOption('--config <file>', 'HF config.json, or a JSON lmlab shape {n_layer, d_model, n_head, d_ff, vocab, ctx, tied, activation, biases, positions}')
    .option('--seq-len <T>', 'sequence length for the attention terms (default: the context length)')
    .option('--json', 'JSON output')
    .action(
      action((opts: { config: string; seqLen?: string; json?: boolean }) => {
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(readFileSync(opts.config, 'utf8')) as Record<string, unknown>;
        } catch (e) {
          throw new ConfigError(`--config ${opts.config}: ${(e as Error).message}`);
        }
        const shape = toShape(obj, opts.config);
        const T = parseQuantity('--seq-len', opts.seqLen);
        const counts = countParams(shape);
        const conv = (['kaplan', 'palm', 'chinchilla'] as const).flatMap((c) =>
          [false, true].map((withHead) => ({ ...flopsPerToken(shape, { convention: c, includeLogits: withHead, includeEmbeddings: c === 'chinchilla' && withHead, ...(T ? { seqLen: T } : {}) }), withLogits: withHead })),
        );
        if (opts.json) return printJson({ shape, params: counts, flopsPerToken: conv });
        const p = counts;
        process.stdout.write(
          `shape: ${JSON.stringify(shape)}\n` +
            `  total parameters            ${p.total.toLocaleString('en-US')}\n` +
            `  non-embedding (Kaplan N)    ${p.nonEmbedding.toLocaleString('en-US')}\n` +
            `  non-embedding + head        ${p.nonEmbeddingWithHead.toLocaleString('en-US')}\n` +
            `  12 n_layer d^2              ${p.kaplan.toLocaleString('en-US')}\n` +
            `  nanoGPT get_num_params()    ${p.nanogptNonEmbedding.toLocaleString('en-US')}  (total minus wpe)\n` +
            `  embeddings (tok + pos)      ${(p.tokenEmbedding + p.positionEmbedding).toLocaleString('en-US')}; separate unembedding ${p.unembedding.toLocaleString('en-US')}\n` +
            `FLOPs per token (training = 3 x forward), T = ${T ?? shape.ctx}:\n`,
        );
        for (const c of conv) {
          const what = c.withLogits ? (c.convention === 'chinchilla' ? 'with logits+embeddings' : 'with logits') : 'blocks only';
          process.stdout.write(`  ${c.convention.padEnd(10)} ${what.padEnd(22)} ${fmt(c.training, 6).padEnd(12)} = ${fmt(c.ratioTo6N, 4)} x 6N (N = ${c.N.toLocaleString('en-US')})\n`);
        }
      }),
    );

  program
    .command('fit')
    .description('fit a scaling law to (N, D, C, loss) points from a CSV')
    .requiredOption('--input <csv>', 'CSV with columns for N, D (or tokens), C (or FLOPs) and loss under common names')
    .requiredOption('--form <form>', `chinchilla | kaplan | approach1 | approach2 | power`)
    .option('--bootstrap <K>', 'seeded bootstrap resamples for confidence intervals', '0')
    .option('--seed <s>', 'bootstrap seed', '0')
    .option('--level <p>', 'confidence level', '0.95')
    .option('--where <col=value>', 'keep rows where column equals value (repeatable)', collect, [] as string[])
    .option('--drop-highest-loss <k>', "drop the k highest-loss rows first (Epoch AI's Chinchilla preprocessing uses 5)")
    .option('--skip-invalid', 'drop rows with missing, non-numeric or non-positive values instead of failing')
    .option('--n-col <name>', 'column holding N (parameters)')
    .option('--d-col <name>', 'column holding D (tokens)')
    .option('--c-col <name>', 'column holding C (FLOPs)')
    .option('--loss-col <name>', 'column holding the loss')
    .option('--run-col <name>', 'column naming the run (approach 1 curves; default: one run per N)')
    .option('--x <var>', 'power/kaplan: size variable N, D or C')
    .option('--y <col>', 'power: response column (default: the loss)')
    .option('--no-offset', 'power: fit y = k x^s without an irreducible term (log-log least squares)')
    .option('--predict-at <x>', 'power: predict at this x with confidence and prediction intervals (repeatable)', collect, [] as string[])
    .option('--holdout-factor <f>', 'validation: hold out points with C (or x) >= max / f')
    .option('--no-validate', 'skip the leave-largest-out validation')
    .option('--window <k>', 'approach2: fit each parabola to the k points either side of the lowest loss')
    .option('--budget-tol <dex>', 'approach2: C values closer than this in log10 share a budget', '0.05')
    .option('--grid-points <n>', 'approach1: log-spaced FLOP values for the envelope', '200')
    .option('--bootstrap-starts <mode>', "chinchilla: 'best' (warm start, run to convergence) or 'grid' (4500 starts per resample)", 'best')
    .option('--validation-starts <mode>', "chinchilla: starts of the leave-largest-out refit, 'grid' or 'best'", 'grid')
    .option('--threads <n>', `chinchilla: worker threads for the multi-start fits (1 = main thread; default 1 with the native objective and no bootstrap — starting workers costs more than it saves — else ${defaultThreads()})`)
    .option('--json', 'JSON output')
    .action(async (o: Record<string, unknown>) => {
      const json = Boolean(o.json);
      try {
        const form = String(o.form) as Form;
        if (!FORMS.includes(form)) throw new ScalingInputError(`--form must be one of ${FORMS.join(', ')}, got '${String(o.form)}'`);
        const where: Record<string, string> = {};
        for (const w of o.where as string[]) {
          const i = w.indexOf('=');
          if (i <= 0) throw new ScalingInputError(`--where expects column=value, got '${w}'`);
          where[w.slice(0, i)] = w.slice(i + 1);
        }
        const columns: Partial<Record<Role, string>> = {};
        for (const [flag, role] of [['nCol', 'N'], ['dCol', 'D'], ['cCol', 'C'], ['lossCol', 'loss'], ['runCol', 'run']] as const) if (typeof o[flag] === 'string') columns[role] = o[flag] as string;
        const mode = (flag: string, v: unknown): 'best' | 'grid' => {
          if (v !== 'best' && v !== 'grid') throw new ScalingInputError(`${flag} must be 'best' or 'grid', got '${String(v)}'`);
          return v;
        };
        const level = Number(o.level);
        if (!(level > 0 && level < 1)) throw new ScalingInputError(`--level must be in (0, 1), got '${String(o.level)}'`);
        const x = o.x as string | undefined;
        if (x !== undefined && x !== 'N' && x !== 'D' && x !== 'C') throw new ScalingInputError(`--x must be N, D or C, got '${x}'`);
        const req: FitRequest = {
          input: String(o.input),
          form,
          bootstrap: nonNegInt('--bootstrap', o.bootstrap as string),
          seed: nonNegInt('--seed', o.seed as string),
          level,
          where,
          dropHighestLoss: nonNegInt('--drop-highest-loss', o.dropHighestLoss as string | undefined),
          skipInvalid: Boolean(o.skipInvalid),
          columns,
          ...(x ? { x: x as 'N' | 'D' | 'C' } : {}),
          ...(typeof o.y === 'string' ? { y: o.y } : {}),
          noOffset: o.offset === false,
          predictAt: (o.predictAt as string[]).map((v) => parseQuantity('--predict-at', v)!),
          ...(o.holdoutFactor !== undefined ? { holdoutFactor: parseQuantity('--holdout-factor', o.holdoutFactor as string)! } : {}),
          validate: o.validate !== false,
          ...(o.window !== undefined ? { window: nonNegInt('--window', o.window as string)! } : {}),
          budgetTolDex: parseQuantity('--budget-tol', o.budgetTol as string)!,
          gridPoints: nonNegInt('--grid-points', o.gridPoints as string)!,
          bootstrapStarts: mode('--bootstrap-starts', o.bootstrapStarts),
          validationStarts: mode('--validation-starts', o.validationStarts),
          threads: o.threads !== undefined ? Math.max(1, nonNegInt('--threads', o.threads as string)!) : defaultFitThreads(nonNegInt('--bootstrap', o.bootstrap as string) ?? 0),
        };
        const out = await runFit(req);
        if (json) printJson(out);
        else process.stdout.write(formatFit(out) + '\n');
      } catch (e) {
        if (json && e instanceof Error) printJson({ error: e.message, type: e.name, converged: !(e instanceof FitNotConvergedError) });
        fail(e);
      }
    });
}
