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
import { openHfTokenizer, decodeContinuation } from '../data/hfcodec.ts';
import { loadHFModel } from '../model/convert/hf.ts';

/** Turns text into token ids and back. */
export interface TextCodec {
  readonly name: string;
  /** The ids of the text alone (no BOS/EOS): also the form used for continuations. */
  encode(text: string): number[];
  /**
   * A fresh input as the model's own tokenizer encodes it (with its template's special tokens, e.g. Llama's
   * `<s>`), for prompts and whole evaluation texts. Absent: same as `encode`.
   */
  encodeInput?(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** A prompt / evaluation text: `encodeInput` when the codec has one, else `encode`. */
export function encodeInput(codec: TextCodec, text: string): number[] {
  return codec.encodeInput ? codec.encodeInput(text) : codec.encode(text);
}

/** Text generated after `prompt` ids (keeps the leading space SentencePiece decoders strip from a first token). */
export function decodeAfter(codec: TextCodec, prompt: readonly number[], ids: readonly number[]): string {
  return decodeContinuation(codec, prompt, ids);
}

/**
 * The codec of a Hugging Face model directory: its tokenizer.json (byte-level BPE through lmlab's tokenizer,
 * other kinds such as SentencePiece-style Llama BPE through @huggingface/tokenizers), else raw bytes when the
 * vocabulary is exactly 256. The tokenizer's ids must fit the model's vocabulary.
 */
export function hfModelCodec(dir: string, modelVocab: number): TextCodec {
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) {
    if (modelVocab !== 256) throw new DataError(`${tokPath}: not found, and the model's vocabulary (${modelVocab}) is not raw bytes (256); add the checkpoint's tokenizer.json`);
    return bytesCodec;
  }
  const c = openHfTokenizer(dir);
  if (c.vocabSize > modelVocab) throw new DataError(`${tokPath}: the tokenizer has ids up to ${c.vocabSize - 1}, but the model's vocabulary is ${modelVocab} (config.json vocab_size): they do not belong together`);
  return { name: c.name, encode: c.encode, encodeInput: c.encodeInput, decode: c.decode };
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
 * (config.json with model_type + safetensors; its tokenizer.json gives the codec: see hfModelCodec).
 */
export function loadAnyModel(backend: Backend, dir: string): { model: GPT; codec: TextCodec; source: 'run' | 'hf' } {
  if (isHfModelDir(dir)) {
    const { model } = loadHFModel(backend, dir);
    return { model, codec: hfModelCodec(dir, model.config.vocab), source: 'hf' };
  }
  const r = loadRun(backend, dir);
  return { model: r.model, codec: r.codec, source: 'run' };
}

/**
 * Whether `dir` is a Hugging Face model directory: config.json with a string model_type, plus model.safetensors
 * or a sharded index (lmlab run configs have no model_type).
 */
export function isHfModelDir(dir: string): boolean {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath) || !(existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')))) return false;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  return typeof raw === 'object' && raw !== null && typeof (raw as { model_type?: unknown }).model_type === 'string';
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
