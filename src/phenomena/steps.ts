/**
 * Emergence over training: massive-activation statistics and attention-sink mass of every checkpoint of a
 * run (checkpoints/step-N; train with keep_checkpoints = 0 to keep them all), plus step 0 re-created from the
 * run's config and seed (the trainer's initialisation is deterministic, so this is the run's own step 0).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import type { GPT } from '../model/gpt.ts';
import { createModel } from '../model/init.ts';
import { loadModelWeights } from '../train/checkpoint.ts';
import { resolveTrainConfig } from '../train/config.ts';
import { layerRatios } from './activations.ts';
import { attentionSinks } from './sinks.ts';
import { PhenomenaError, type StreamHook } from './common.ts';

export interface StepRow {
  step: number;
  /** per layer: mean over sequences of top-1 |h|, median |h|, their ratio, and the ratio over step 0's */
  layers: { layer: number; top1: number; median: number; ratio: number; gain: number }[];
  /** largest top-1 |h| over layers */
  maxTop1: number;
  /** largest top-1/median over layers */
  maxRatio: number;
  /** mean first-token attention mass over all heads, and the sink rate */
  firstTokenMass: number;
  sinkRate: number;
  /** mean k′-slot mass (attn_kv_bias models), else null */
  biasMass: number | null;
}

/** Checkpoint directories of a run, sorted by step. */
export function listCheckpoints(runDir: string): { step: number; path: string }[] {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) throw new PhenomenaError(`${runDir}: no checkpoints/ directory`);
  return readdirSync(dir)
    .map((n) => ({ m: /^step-(\d+)$/.exec(n), n }))
    .filter((x) => x.m && existsSync(join(dir, x.n, 'state.json')))
    .map((x) => ({ step: Number(x.m![1]), path: join(dir, x.n) }))
    .sort((a, b) => a.step - b.step);
}

function rowOf(step: number, model: GPT, seqs: readonly Int32Array[], hook: StreamHook, base: { ratio: number }[] | null): StepRow {
  const r = layerRatios(model, seqs, hook);
  const s = attentionSinks(model, seqs);
  const layers = r.map((x, layer) => ({ layer, ...x, gain: base ? x.ratio / base[layer]!.ratio : 1 }));
  const bias = s.biasMass ? s.biasMass.flat() : null;
  return {
    step, layers,
    maxTop1: Math.max(...layers.map((l) => l.top1)), maxRatio: Math.max(...layers.map((l) => l.ratio)),
    firstTokenMass: s.meanMass, sinkRate: s.sinkRate,
    biasMass: bias ? bias.reduce((a, b) => a + b, 0) / bias.length : null,
  };
}

/** Statistics at step 0 and at every checkpoint of runDir, on the same windows. */
export function phenomenaOverSteps(backend: Backend, runDir: string, seqs: readonly Int32Array[], o: { hook?: StreamHook; onStep?: (row: StepRow) => void } = {}): StepRow[] {
  const hook = o.hook ?? 'resid_post';
  const cfgPath = join(runDir, 'config.json');
  if (!existsSync(cfgPath)) throw new PhenomenaError(`${cfgPath}: run config not found (phenomena over steps needs a run directory)`);
  const cfg = resolveTrainConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
  const init = createModel(backend, cfg.model, cfg.seed);
  const first = rowOf(0, init, seqs, hook, null);
  o.onStep?.(first);
  const rows = [first];
  for (const ck of listCheckpoints(runDir)) {
    if (ck.step === 0) continue;
    const m = loadModelWeights(backend, join(ck.path, 'model.safetensors'));
    const row = rowOf(ck.step, m, seqs, hook, first.layers);
    o.onStep?.(row);
    rows.push(row);
  }
  return rows;
}
