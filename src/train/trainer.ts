/**
 * The training loop: AdamW with warmup + decay, global-norm clipping, gradient accumulation, periodic
 * validation, atomic checkpoints, exact resume, NaN/Inf detection, graceful stop (Ctrl-C), metrics.jsonl.
 *
 * Determinism: the same config, seed and backend give a bit-identical loss curve; the RNG state and the
 * optimizer moments are checkpointed, so 10 steps + resume + 10 steps equals 20 steps straight.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { Rng } from '../engine/rng.ts';
import { cpuInfo } from '../engine/cpu.ts';
import { GPT } from '../model/gpt.ts';
import { createModel } from '../model/init.ts';
import { countParams, flopsPerToken } from '../model/layout.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { AdamW, globalNorm } from './optimizer.ts';
import { learningRate } from './schedule.ts';
import type { ResolvedTrainConfig } from './config.ts';
import type { TokenSource } from './data.ts';
import { latestCheckpoint, loadCheckpoint, pruneCheckpoints, saveCheckpoint } from './checkpoint.ts';

/** One line of metrics.jsonl. */
export interface MetricsLine {
  step: number;
  tokens: number;
  elapsed_s: number;
  loss?: number;
  lr?: number;
  grad_norm?: number;
  tokens_per_s?: number;
  mfu?: number;
  val_loss?: number;
  event?: string;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  valLoss: number | null;
  tokensPerS: number;
  mfu: number;
  etaS: number;
}

export interface TrainOptions {
  /** continue from the latest checkpoint in cfg.out */
  resume?: boolean;
  /** called after every optimizer step */
  onProgress?: (p: Progress) => void;
  /** called for every metrics line written */
  onMetrics?: (m: MetricsLine) => void;
  /** when aborted, the loop finishes the current step, checkpoints and returns (status 'interrupted') */
  signal?: AbortSignal;
}

export interface TrainResult {
  status: 'completed' | 'interrupted';
  steps: number;
  finalLoss: number;
  finalValLoss: number | null;
  tokens: number;
  runDir: string;
  model: GPT;
  /** loss before each optimizer step of this process (for tests and plots) */
  losses: number[];
}

/** Raised when the loss or gradients stop being finite; the last good checkpoint is kept. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

export class RunDirError extends Error {
  override name = 'RunDirError';
}

/** Mean validation loss over cfg.eval_batches fixed batches. */
export function evaluate(model: GPT, data: TokenSource, cfg: Pick<ResolvedTrainConfig, 'eval_batches' | 'batch_size' | 'seq_len'>): number {
  let sum = 0;
  for (let i = 0; i < cfg.eval_batches; i++) {
    const b = data.valBatch(i, cfg.eval_batches, cfg.batch_size, cfg.seq_len);
    sum += model.forward(b.x, cfg.batch_size, cfg.seq_len, b.y);
  }
  return sum / cfg.eval_batches;
}

/** Train (or resume) a run. The run directory gets config.json, metrics.jsonl and checkpoints/. */
export async function train(backend: Backend, cfg: ResolvedTrainConfig, data: TokenSource, opts: TrainOptions = {}): Promise<TrainResult> {
  const dir = cfg.out;
  const ckDir = join(dir, 'checkpoints');
  const metricsPath = join(dir, 'metrics.jsonl');
  if (data.vocabSize > cfg.model.vocab) {
    throw new RunDirError(`data vocabulary (${data.vocabSize}) is larger than model.vocab (${cfg.model.vocab})`);
  }
  mkdirSync(dir, { recursive: true });
  const existing = latestCheckpoint(ckDir);

  const rng = new Rng(cfg.seed);
  let model: GPT;
  let opt: AdamW;
  let startStep = 0;
  let tokens = 0;
  const adamCfg = { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weight_decay, decay: cfg.decay };
  if (opts.resume && existing) {
    const ck = loadCheckpoint(backend, existing.path, cfg.model);
    model = ck.model;
    opt = new AdamW(backend, model.layout, adamCfg);
    opt.m.set(ck.m);
    opt.v.set(ck.v);
    opt.step = ck.state.optimizer_step;
    startStep = ck.state.step;
    tokens = ck.state.tokens;
    rng.setState(ck.state.rng);
    truncateMetrics(metricsPath, startStep);
  } else {
    if (existing) {
      throw new RunDirError(`${dir} already holds checkpoints (latest: step ${existing.step}); pass --resume to continue it or choose another --out`);
    }
    model = createModel(backend, cfg.model, cfg.seed);
    // the init seed and the data-order seed must not share a stream
    rng.seed(cfg.seed * 7919 + 17);
    opt = new AdamW(backend, model.layout, adamCfg);
    writeFileSync(metricsPath, '');
  }
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');

  const B = cfg.batch_size, T = cfg.seq_len;
  const tokensPerStep = B * T * cfg.grad_accum;
  const flops = flopsPerToken(cfg.model, T).chinchillaWithLogits;
  const peak = cpuInfo().peakFlops;
  const sched = { kind: cfg.schedule, lr: cfg.lr, minLr: cfg.min_lr, warmup: cfg.warmup, steps: cfg.steps } as const;
  const t0 = performance.now();
  let lastLog = t0, lastLogTokens = tokens;
  let finalLoss = NaN, finalVal: number | null = null;
  const losses: number[] = [];
  const write = (m: MetricsLine): void => {
    appendFileSync(metricsPath, JSON.stringify(m) + '\n');
    opts.onMetrics?.(m);
  };
  const checkpoint = (step: number): void => {
    saveCheckpoint(ckDir, step, model, opt, { step, optimizer_step: opt.step, tokens, rng: rng.getState() });
    pruneCheckpoints(ckDir, cfg.keep_checkpoints);
  };
  if (!opts.resume || !existing) write({ step: 0, tokens: 0, elapsed_s: 0, event: `start: ${countParams(cfg.model).total} params, ${data.describe()}` });
  else write({ step: startStep, tokens, elapsed_s: 0, event: `resume from step ${startStep}` });

  let step = startStep;
  let status: TrainResult['status'] = 'completed';
  for (; step < cfg.steps; step++) {
    if (opts.signal?.aborted) {
      status = 'interrupted';
      break;
    }
    const lr = learningRate(step, sched);
    model.zeroGrads();
    let loss = 0;
    for (let micro = 0; micro < cfg.grad_accum; micro++) {
      const b = data.sampleBatch(rng, B, T);
      loss += model.forward(b.x, B, T, b.y) / cfg.grad_accum;
      model.backward(1 / cfg.grad_accum);
    }
    const norm = globalNorm(backend, model.grads!);
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      write({ step: step + 1, tokens, elapsed_s: (performance.now() - t0) / 1000, event: `non-finite ${Number.isFinite(loss) ? 'gradient' : 'loss'} (loss=${loss}, grad_norm=${norm}); stopped` });
      const last = latestCheckpoint(ckDir);
      throw new NonFiniteError(
        `step ${step + 1}: ${Number.isFinite(loss) ? 'gradient norm' : 'loss'} is not finite (loss=${loss}, grad_norm=${norm}). ` +
          (last ? `The last good checkpoint is ${last.path} (step ${last.step}).` : 'No checkpoint was written yet.') +
          ' Try a lower lr, more warmup or grad_clip.',
      );
    }
    const scale = cfg.grad_clip > 0 && norm > cfg.grad_clip ? cfg.grad_clip / norm : 1;
    opt.update(model.params, model.grads!, lr, scale);
    tokens += tokensPerStep;
    losses.push(loss);
    finalLoss = loss;
    const done = step + 1;
    const now = performance.now();
    const tps = ((tokens - lastLogTokens) * 1000) / Math.max(1e-9, now - lastLog);
    if (done % cfg.log_every === 0 || done === cfg.steps) {
      write({ step: done, tokens, elapsed_s: (now - t0) / 1000, loss, lr, grad_norm: norm, tokens_per_s: tps, mfu: (tps * flops) / peak });
      lastLog = now;
      lastLogTokens = tokens;
    }
    if ((cfg.eval_every > 0 && done % cfg.eval_every === 0) || done === cfg.steps) {
      finalVal = evaluate(model, data, cfg);
      write({ step: done, tokens, elapsed_s: (performance.now() - t0) / 1000, val_loss: finalVal });
    }
    if ((cfg.checkpoint_every > 0 && done % cfg.checkpoint_every === 0) || done === cfg.steps) checkpoint(done);
    const elapsed = (performance.now() - t0) / 1000;
    const rate = (done - startStep) / Math.max(1e-9, elapsed);
    opts.onProgress?.({ step: done, steps: cfg.steps, loss, valLoss: finalVal, tokensPerS: ((done - startStep) * tokensPerStep) / Math.max(1e-9, elapsed), mfu: (((done - startStep) * tokensPerStep) / Math.max(1e-9, elapsed) * flops) / peak, etaS: (cfg.steps - done) / Math.max(1e-9, rate) });
    // let signal handlers run between steps
    if ((done & 7) === 0) await new Promise<void>((r) => setImmediate(r));
  }
  if (status === 'interrupted') {
    const last = latestCheckpoint(ckDir);
    if (!last || last.step !== step) checkpoint(step);
    write({ step, tokens, elapsed_s: (performance.now() - t0) / 1000, event: 'interrupted; checkpoint written' });
  }
  return { status, steps: step, finalLoss, finalValLoss: finalVal, tokens, runDir: dir, model, losses };
}

/** Drop metrics lines past `step` (a resumed run rewrites them). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const keep = readFileSync(path, 'utf8').split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return (JSON.parse(l) as MetricsLine).step <= step;
    } catch {
      return false; // a torn last line from a crash
    }
  });
  writeFileAtomic(path, keep.map((l) => l + '\n').join(''));
}
