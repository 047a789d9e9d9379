/** Engine and training commands: train, generate, eval, doctor. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { Backend } from '../engine/backend.ts';
import { cpuInfo } from '../engine/cpu.ts';
import { countParams, flopsPerToken } from '../model/layout.ts';
import { applyOverrides, resolveTrainConfig, TrainConfigError } from '../train/config.ts';
import { train } from '../train/trainer.ts';
import { openTrainingData, loadRun, loadAnyModel, encodeInput, decodeAfter } from '../train/runs.ts';
import { generate } from '../train/generate.ts';
import { evaluateTokens } from '../train/evaluate.ts';
import { action, fmtDuration, pickBackend } from './util.ts';

export function register(program: Command): void {
  program
    .command('train')
    .description('train a GPT: lmlab train --config run.json [--key=value …] (dotted keys reach the model: --model.n_layer=6)')
    .option('--config <file>', 'JSON training config (see src/train/config.ts for every field and default)')
    .option('--resume', 'continue the run in --out (or the config\'s out) from its latest checkpoint')
    .option('--backend <kind>', 'ref | native | auto (default: LMLAB_BACKEND or auto)')
    .option('--json', 'print the result as JSON on stdout')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(action(async (opts: { config?: string; resume?: boolean; backend?: string; json?: boolean }, cmd: Command) => {
      const overrides = cmd.args.filter((a) => a.startsWith('--'));
      const stray = cmd.args.filter((a) => !a.startsWith('--'));
      if (stray.length) throw new TrainConfigError(`unexpected argument(s) ${stray.join(' ')}: overrides are written --key=value`);
      let base: Record<string, unknown> = {};
      if (opts.config) {
        if (!existsSync(opts.config)) throw new TrainConfigError(`--config: file '${opts.config}' does not exist`);
        try {
          base = JSON.parse(readFileSync(opts.config, 'utf8')) as Record<string, unknown>;
        } catch (e) {
          throw new TrainConfigError(`--config: '${opts.config}' is not valid JSON (${(e as Error).message})`);
        }
      }
      const merged = applyOverrides(base, overrides);
      if (opts.resume && !opts.config) {
        // resuming needs only the run directory: its config.json is the full resolved config
        const out = String(merged['out'] ?? 'runs/run');
        const saved = join(out, 'config.json');
        if (!existsSync(saved)) throw new TrainConfigError(`--resume: ${saved} not found; nothing to resume`);
        Object.assign(merged, applyOverrides(JSON.parse(readFileSync(saved, 'utf8')) as Record<string, unknown>, overrides));
      }
      const cfg = resolveTrainConfig(merged, opts.config ?? 'command line');
      if (!cfg.data) throw new TrainConfigError('data: no training data; pass --data=FILE (a text file, read as bytes) or a shard directory from `lmlab data build`');
      const backend = await pickBackend(opts.backend, cfg.backend);
      const data = openTrainingData(cfg);
      if (data.vocabSize !== cfg.model.vocab && !('vocab' in ((merged['model'] as object) ?? {}))) cfg.model = { ...cfg.model, vocab: data.vocabSize } as typeof cfg.model;
      const counts = countParams(cfg.model);
      const log = (s: string): void => void process.stderr.write(s + '\n');
      log(`lmlab train: ${cfg.out} · backend ${backend.name} (${backend.threads} threads) · ${counts.total.toLocaleString()} params (${counts.nonEmbedding.toLocaleString()} non-embedding) · ${data.describe()}`);
      log(`  ${cfg.steps} steps × ${cfg.batch_size}×${cfg.seq_len}×${cfg.grad_accum} tokens · ${(flopsPerToken(cfg.model, cfg.seq_len).chinchillaWithLogits / 1e6).toFixed(1)} MFLOP/token`);
      const ac = new AbortController();
      const onSig = (): void => {
        if (ac.signal.aborted) process.exit(130);
        log('\nlmlab: interrupt: finishing this step and writing a checkpoint (press Ctrl-C again to quit now)');
        ac.abort();
      };
      process.on('SIGINT', onSig);
      process.on('SIGTERM', onSig);
      const tty = process.stderr.isTTY && !opts.json;
      const bar = tty
        ? new cliProgress.SingleBar({
            format: ' {bar} {value}/{total} | loss {loss} | val {val} | {tps} tok/s | MFU {mfu}% | ETA {eta_h}',
            hideCursor: true, stream: process.stderr, barsize: 24,
          }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(cfg.steps, 0, { loss: '-', val: '-', tps: '-', mfu: '-', eta_h: '-' });
      const result = await train(backend, cfg, data, {
        resume: opts.resume,
        signal: ac.signal,
        onProgress: (p) => bar?.update(p.step, {
          loss: p.loss.toFixed(4), val: p.valLoss === null ? '-' : p.valLoss.toFixed(4), tps: Math.round(p.tokensPerS).toLocaleString(),
          mfu: (100 * p.mfu).toFixed(1), eta_h: fmtDuration(p.etaS),
        }),
        onMetrics: (m) => {
          if (tty) return;
          if (m.val_loss !== undefined) log(`step ${m.step}: val_loss ${m.val_loss.toFixed(4)}`);
          else if (m.loss !== undefined) log(`step ${m.step}/${cfg.steps}: loss ${m.loss.toFixed(4)} · lr ${m.lr!.toExponential(2)} · ${Math.round(m.tokens_per_s!)} tok/s · MFU ${(100 * m.mfu!).toFixed(1)}%`);
          else if (m.event) log(`step ${m.step}: ${m.event}`);
        },
      });
      bar?.stop();
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      const summary = { status: result.status, run: result.runDir, steps: result.steps, tokens: result.tokens, final_loss: result.finalLoss, final_val_loss: result.finalValLoss, backend: backend.name };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else log(`${result.status}: ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}${result.finalValLoss !== null ? `, val ${result.finalValLoss.toFixed(4)}` : ''} → ${result.runDir}`);
      if (result.status === 'interrupted') process.exitCode = 130;
    }));

  program
    .command('generate')
    .description('sample text from a trained run (KV cache; greedy, temperature, top-k, top-p)')
    .option('--run <dir>', 'run directory (its latest checkpoint) or a checkpoint directory')
    .option('--model <dir>', 'a Hugging Face model directory (gpt2, gpt_neox, llama) instead of a run')
    .option('--prompt <text>', 'prompt text', '\n')
    .option('--max-new <n>', 'new tokens per sample', '200')
    .option('--temperature <t>', '0 = greedy', '0.8')
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', '0')
    .option('--top-p <p>', 'nucleus sampling threshold (1 = off)', '1')
    .option('--num <n>', 'samples, generated as one batch', '1')
    .option('--seed <s>', 'sampling seed', '0')
    .option('--backend <kind>', 'ref | native | auto')
    .option('--json', 'print tokens, text and log-probabilities as JSON')
    .action(action(async (o: Record<string, string | boolean | undefined>) => {
      const backend = await pickBackend(o['backend'] as string | undefined);
      const path = (o['model'] ?? o['run']) as string | undefined;
      if (!path) throw new TrainConfigError('give --run <run dir> or --model <HF model dir>');
      const { model, codec } = loadAnyModel(backend, path);
      const num = intOpt(o['num'], '--num', 1), maxNew = intOpt(o['maxNew'], '--max-new', 1);
      const prompt = encodeInput(codec, String(o['prompt']));
      if (prompt.length === 0) throw new TrainConfigError('--prompt: encodes to no tokens; give a non-empty prompt');
      const g = generate(model, Array.from({ length: num }, () => prompt), {
        maxNewTokens: Math.min(maxNew, model.config.positions === 'learned' ? model.config.ctx - prompt.length : maxNew),
        temperature: numOpt(o['temperature'], '--temperature', 0), topK: intOpt(o['topK'], '--top-k', 0), topP: numOpt(o['topP'], '--top-p', 0),
        seed: intOpt(o['seed'], '--seed', 0),
      });
      if (o['json']) process.stdout.write(JSON.stringify(g.tokens.map((t, i) => ({ tokens: t, text: decodeAfter(codec, prompt, t), logprobs: g.logprobs[i] }))) + '\n');
      else for (const t of g.tokens) process.stdout.write(String(o['prompt']) + decodeAfter(codec, prompt, t) + '\n' + (num > 1 ? '---\n' : ''));
    }));

  program
    .command('eval')
    .description('loss and perplexity of a trained run (or an HF model) on a text file or the run\'s validation data')
    .option('--run <dir>', 'run directory or checkpoint directory')
    .option('--model <dir>', 'a Hugging Face model directory instead of a run (needs --text)')
    .option('--text <file>', 'text file to score (default: the run\'s validation split)')
    .option('--backend <kind>', 'ref | native | auto')
    .option('--json', 'print JSON')
    .action(action(async (o: { run?: string; model?: string; text?: string; backend?: string; json?: boolean }) => {
      const backend = await pickBackend(o.backend);
      if (!o.run && !o.model) throw new TrainConfigError('give --run <run dir> or --model <HF model dir>');
      if (o.model && !o.text) throw new TrainConfigError('--model: an HF model has no validation split; pass --text FILE');
      const { model, codec } = loadAnyModel(backend, (o.model ?? o.run)!);
      let tokens: ArrayLike<number>;
      let label: string;
      let T = model.config.ctx;
      if (o.text) {
        if (!existsSync(o.text) || !statSync(o.text).isFile()) throw new TrainConfigError(`--text: '${o.text}' is not a readable file`);
        tokens = encodeInput(codec, readFileSync(o.text, 'utf8'));
        label = o.text;
        if (o.run) T = Math.min(T, loadRun(backend, o.run).cfg.seq_len);
      } else {
        const { cfg } = loadRun(backend, o.run!);
        tokens = openTrainingData(cfg).valTokensArray();
        label = `${cfg.data} (validation split)`;
        T = Math.min(T, cfg.seq_len);
      }
      const r = evaluateTokens(model, tokens, T);
      if (o.json) process.stdout.write(JSON.stringify({ data: label, ...r }) + '\n');
      else process.stdout.write(`${label}: ${r.tokens} tokens · loss ${r.loss.toFixed(4)} nats/token · perplexity ${r.perplexity.toFixed(3)}${r.bitsPerByte !== null ? ' · ' + r.bitsPerByte.toFixed(4) + ' bits/byte' : ''}\n`);
    }));

  program
    .command('doctor')
    .description('what lmlab runs on: backend, BLAS and its core type, threads, CPU features, measured GEMM GFLOP/s')
    .option('--backend <kind>', 'ref | native | auto')
    .option('--json', 'print JSON')
    .action(action(async (o: { backend?: string; json?: boolean }) => {
      const report = await doctor(await pickBackend(o.backend));
      if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else for (const [k, v] of Object.entries(report)) process.stdout.write(`${k.padEnd(18)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
    }));
}

function intOpt(v: unknown, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new TrainConfigError(`${flag}: expected an integer ≥ ${min}, got '${String(v)}'`);
  return n;
}

function numOpt(v: unknown, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new TrainConfigError(`${flag}: expected a number ≥ ${min}, got '${String(v)}'`);
  return n;
}

/** Measure the backend's GEMM throughput on a 512×512×512 product (best of a few runs). */
export function measureGemm(backend: Backend, n = 512): number {
  const A = backend.alloc(n * n), B = backend.alloc(n * n), C = backend.alloc(n * n);
  for (let i = 0; i < A.length; i++) { A[i] = ((i * 7) % 13) / 13; B[i] = ((i * 5) % 11) / 11; }
  let best = Infinity;
  const reps = backend.name === 'ref' ? 1 : 5;
  for (let r = 0; r < reps + 1; r++) {
    const t = performance.now();
    backend.gemm(false, false, n, n, n, 1, A, B, 0, C);
    const dt = performance.now() - t;
    if (r > 0 || reps === 1) best = Math.min(best, dt);
  }
  return (2 * n * n * n) / (best / 1000) / 1e9;
}

export async function doctor(backend: Backend): Promise<Record<string, unknown>> {
  const cpu = cpuInfo();
  let native: Record<string, unknown> = { available: false };
  let science: Record<string, string> = { chinchilla_objective: 'TypeScript', suffix_array: 'TypeScript' };
  try {
    const mod = (await import(new URL('../engine/native/index.ts', import.meta.url).href)) as {
      nativeInfo?: () => Record<string, unknown>; nativeChinchillaObjective?: () => unknown; nativeSaisKernels?: () => unknown;
    };
    native = { available: true, ...(mod.nativeInfo?.() ?? {}) };
    // the science kernels of the same addon (an older build may lack them: lmlab then uses the TypeScript versions)
    science = {
      chinchilla_objective: mod.nativeChinchillaObjective?.() ? 'native' : 'TypeScript (addon absent or older)',
      suffix_array: mod.nativeSaisKernels?.() ? 'native' : 'TypeScript (addon absent or older)',
    };
  } catch (e) {
    native = { available: false, reason: (e as Error).message.split('\n')[0] };
  }
  const gflops = measureGemm(backend, backend.name === 'ref' ? 256 : 512);
  return {
    backend: backend.name,
    threads: backend.threads,
    node: process.version,
    cpu: cpu.model,
    cores: cpu.cores,
    cpu_features: cpu.features.join(' '),
    peak_gflops: `${(cpu.peakFlops / 1e9).toFixed(0)} (${cpu.peakSource}: ${cpu.cores} cores × ${cpu.mhz.toFixed(0)} MHz × ${cpu.flopsPerCycle} FLOP/cycle)`,
    native,
    science_kernels: science,
    OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? '(unset)',
    gemm_gflops: Number(gflops.toFixed(1)),
    gemm_share_of_peak: `${((100 * gflops * 1e9) / cpu.peakFlops).toFixed(1)}%`,
  };
}
