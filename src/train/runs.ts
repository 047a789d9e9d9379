/** Opening what a run needs: its training data, its latest model, and a text codec for prompts. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import type { GPT } from '../model/gpt.ts';
import { latestCheckpoint, loadModelWeights, CheckpointError } from './checkpoint.ts';
import { resolveTrainConfig, type ResolvedTrainConfig } from './config.ts';
import { bytesSource, DataError, type TokenSource } from './data.ts';

/** Turns text into token ids and back. */
export interface TextCodec {
  readonly name: string;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** Raw UTF-8 bytes (vocab 256): decode replaces invalid sequences with U+FFFD. */
export const bytesCodec: TextCodec = {
  name: 'bytes',
  encode: (t) => Array.from(new TextEncoder().encode(t)),
  decode: (ids) => new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids)),
};

/** The codec of a run's data. */
export function textCodec(cfg: ResolvedTrainConfig): TextCodec {
  if (dataFormat(cfg) === 'bytes') return bytesCodec;
  throw new DataError(`${cfg.data}: token shards need the tokenizer from the data layer (not available in this build)`);
}

function dataFormat(cfg: ResolvedTrainConfig): 'bytes' | 'shards' {
  if (cfg.data_format !== 'auto') return cfg.data_format;
  return existsSync(cfg.data) && statSync(cfg.data).isDirectory() ? 'shards' : 'bytes';
}

/** The training data named by a config. */
export function openTrainingData(cfg: ResolvedTrainConfig): TokenSource {
  if (dataFormat(cfg) === 'bytes') return bytesSource(cfg.data, cfg.val_fraction);
  throw new DataError(`${cfg.data}: shard directories are not supported by this build yet; pass a text file`);
}

/** Load a run directory (latest checkpoint) or one checkpoint directory, with its config and codec. */
export function loadRun(backend: Backend, dir: string): { model: GPT; cfg: ResolvedTrainConfig; codec: TextCodec; checkpoint: string } {
  let ckpt = dir, runDir = dir;
  if (!existsSync(join(dir, 'model.safetensors'))) {
    const last = latestCheckpoint(join(dir, 'checkpoints'));
    if (!last) throw new CheckpointError(`${dir}: neither a checkpoint directory (model.safetensors) nor a run with checkpoints/step-N`);
    ckpt = last.path;
  } else {
    runDir = join(dir, '..', '..');
  }
  const cfgPath = join(runDir, 'config.json');
  if (!existsSync(cfgPath)) throw new CheckpointError(`${cfgPath}: run config not found`);
  const cfg = resolveTrainConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
  const model = loadModelWeights(backend, join(ckpt, 'model.safetensors'));
  return { model, cfg, codec: textCodec(cfg), checkpoint: ckpt };
}
