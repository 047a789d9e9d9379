/**
 * Checkpoints (DESIGN.md): checkpoints/step-N/{model.safetensors, optimizer.safetensors, state.json}.
 * A checkpoint is written into a temporary directory (every file fsynced) and then renamed to step-N in
 * one atomic step, so a crash (even SIGKILL) mid-write leaves the previous checkpoint intact and at most
 * an ignored `.tmp-*` directory behind.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Arr, Backend } from '../engine/backend.ts';
import type { RngState } from '../engine/rng.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { openSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { resolveConfig, type GPTConfig } from '../model/config.ts';
import { GPT } from '../model/gpt.ts';
import type { AdamW } from './optimizer.ts';

export interface CheckpointState {
  /** optimizer steps completed */
  step: number;
  optimizer_step: number;
  /** training tokens consumed */
  tokens: number;
  /** data-order RNG state after `step` steps */
  rng: RngState;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const STEP_DIR = /^step-(\d+)$/;

/** Newest complete checkpoint under dir, or null. */
export function latestCheckpoint(dir: string): { step: number; path: string } | null {
  if (!existsSync(dir)) return null;
  let best: { step: number; path: string } | null = null;
  for (const name of readdirSync(dir)) {
    const m = STEP_DIR.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    if (!existsSync(join(path, 'state.json'))) continue;
    const step = Number(m[1]);
    if (!best || step > best.step) best = { step, path };
  }
  return best;
}

function toF32(a: Arr): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** Write the model weights (canonical names, F32) with the config embedded in the metadata. */
export function saveModelWeights(path: string, model: GPT, extraMeta: Record<string, string> = {}): void {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const s of model.layout.specs) tensors[s.name] = { dtype: 'F32', shape: [...s.shape], data: toF32(model.p(s.name)) };
  writeSafetensors(path, tensors, { format: 'lmlab', config: JSON.stringify(model.config), ...extraMeta });
}

/** Save a checkpoint for `step` under dir (atomic directory rename). */
export function saveCheckpoint(dir: string, step: number, model: GPT, opt: AdamW, state: CheckpointState): string {
  mkdirSync(dir, { recursive: true });
  const final = join(dir, `step-${String(step).padStart(6, '0')}`);
  const tmp = join(dir, `.tmp-step-${step}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  saveModelWeights(join(tmp, 'model.safetensors'), model);
  if (process.env.LMLAB_TEST_KILL_IN_CHECKPOINT === String(step)) process.kill(process.pid, 'SIGKILL');
  const ot: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const s of model.layout.specs) {
    ot['m.' + s.name] = { dtype: 'F32', shape: [...s.shape], data: toF32(opt.viewOf(opt.m, s)) };
    ot['v.' + s.name] = { dtype: 'F32', shape: [...s.shape], data: toF32(opt.viewOf(opt.v, s)) };
  }
  writeSafetensors(join(tmp, 'optimizer.safetensors'), ot, { format: 'lmlab-adamw' });
  writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* best effort */ }
  return final;
}

/** Keep the newest `keep` checkpoints (0 keeps all) and remove stale temporary directories. */
export function pruneCheckpoints(dir: string, keep: number): void {
  if (!existsSync(dir)) return;
  const names = readdirSync(dir);
  for (const n of names) if (n.startsWith('.tmp-step-') && !n.endsWith(`-${process.pid}`)) rmSync(join(dir, n), { recursive: true, force: true });
  if (keep <= 0) return;
  const steps = names.filter((n) => STEP_DIR.test(n)).sort();
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) rmSync(join(dir, n), { recursive: true, force: true });
}

/** Read a model written by saveModelWeights (config from the file's metadata unless given). */
export function loadModelWeights(backend: Backend, path: string, config?: GPTConfig): GPT {
  const f = openSafetensors(path);
  try {
    const cfgText = f.metadata?.['config'];
    const cfg = config ?? (cfgText ? resolveConfig(JSON.parse(cfgText), `${path} metadata`) : null);
    if (!cfg) throw new CheckpointError(`${path}: no model config in the metadata; pass one`);
    const model = new GPT(backend, cfg);
    for (const s of model.layout.specs) {
      if (!f.tensors.has(s.name)) throw new CheckpointError(`${path}: missing tensor '${s.name}'`);
      const data = f.readF32(s.name);
      if (data.length !== s.size) throw new CheckpointError(`${path}: tensor '${s.name}' has ${data.length} values, expected ${s.size}`);
      model.p(s.name).set(data);
    }
    return model;
  } finally {
    f.close();
  }
}

/** Load a checkpoint directory: model, optimizer moments and state. */
export function loadCheckpoint(backend: Backend, path: string, config?: GPTConfig): { model: GPT; m: Arr; v: Arr; state: CheckpointState } {
  const model = loadModelWeights(backend, join(path, 'model.safetensors'), config);
  const m = backend.alloc(model.layout.total), v = backend.alloc(model.layout.total);
  const f = openSafetensors(join(path, 'optimizer.safetensors'));
  try {
    for (const s of model.layout.specs) {
      m.subarray(s.offset, s.offset + s.size).set(f.readF32('m.' + s.name));
      v.subarray(s.offset, s.offset + s.size).set(f.readF32('v.' + s.name));
    }
  } finally {
    f.close();
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8')) as CheckpointState;
  } catch (e) {
    throw new CheckpointError(`${join(path, 'state.json')}: unreadable (${(e as Error).message})`);
  }
  return { model, m, v, state };
}
