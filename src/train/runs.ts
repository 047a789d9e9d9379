/** Opening what a run needs: its training data, its latest model, and a text codec for prompts. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import type { GPT } from '../model/gpt.ts';
import { latestCheckpoint, loadModelWeights, CheckpointError } from './checkpoint.ts';
import { resolveTrainConfig, type ResolvedTrainConfig } from './config.ts';
import { bytesSource, DataError, type TokenSource } from './data.ts';
import { openShards } from '../data/shards.ts';
import { readTokenizerFile } from '../data/hf.ts';
import { loadHFModel } from '../model/convert/hf.ts';

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

/** A codec backed by a byte-level BPE tokenizer.json. */
function tokenizerCodec(path: string): TextCodec {
  const tok = readTokenizerFile(path);
  return { name: path, encode: (t) => Array.from(tok.encode(t)), decode: (ids) => tok.decode(ids) };
}

/** The codec of a run's data. */
export function textCodec(cfg: ResolvedTrainConfig): TextCodec {
  if (dataFormat(cfg) === 'bytes') return bytesCodec;
  const path = join(cfg.data, 'tokenizer.json');
  if (!existsSync(path)) throw new DataError(`${cfg.data}: no tokenizer.json beside the shards`);
  return tokenizerCodec(path);
}

function dataFormat(cfg: ResolvedTrainConfig): 'bytes' | 'shards' {
  if (cfg.data_format !== 'auto') return cfg.data_format;
  return existsSync(cfg.data) && statSync(cfg.data).isDirectory() ? 'shards' : 'bytes';
}

/** The training data named by a config. */
export function openTrainingData(cfg: ResolvedTrainConfig): TokenSource {
  if (!cfg.data || !existsSync(cfg.data)) throw new DataError(`data: '${cfg.data}' does not exist (a text file, or a shard directory from \`lmlab data build\`)`);
  if (dataFormat(cfg) === 'bytes') return bytesSource(cfg.data, cfg.val_fraction);
  return openShards(cfg.data);
}

/**
 * Load a model for inference from a run directory, a checkpoint directory, or a Hugging Face model directory
 * (config.json with model_type + safetensors; its tokenizer.json gives the codec).
 */
export function loadAnyModel(backend: Backend, dir: string): { model: GPT; codec: TextCodec; source: 'run' | 'hf' } {
  const cfgPath = join(dir, 'config.json');
  if (existsSync(cfgPath) && (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')))) {
    const raw = JSON.parse(readFileSync(cfgPath, 'utf8')) as { model_type?: unknown };
    if (typeof raw.model_type === 'string') {
      const { model } = loadHFModel(backend, dir);
      const tokPath = join(dir, 'tokenizer.json');
      if (!existsSync(tokPath)) {
        if (model.config.vocab !== 256) throw new DataError(`${dir}: no tokenizer.json, and vocab ${model.config.vocab} is not raw bytes`);
        return { model, codec: bytesCodec, source: 'hf' };
      }
      return { model, codec: tokenizerCodec(tokPath), source: 'hf' };
    }
  }
  const r = loadRun(backend, dir);
  return { model: r.model, codec: r.codec, source: 'run' };
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
