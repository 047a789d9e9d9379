/**
 * A Hugging Face checkpoint's tokenizer (tokenizer.json, plus tokenizer_config.json when present) as a text
 * codec, whatever its kind:
 *
 * - byte-level BPE (GPT-2, Pythia, lmlab's own exports) goes through lmlab's tokenizer (src/data/hf.ts);
 * - anything lmlab's reader refuses (SentencePiece-style Llama / Mistral BPE with byte fallback and the
 *   Metaspace / Prepend+Replace layout, Unigram, WordPiece, byte-level tokenizers with a split pre-tokenizer
 *   such as Llama 3's) goes through the JS port of Hugging Face tokenizers, `@huggingface/tokenizers`.
 *
 * `encode` gives the ids of the text alone (no BOS/EOS: the form used to score continuations); `encodeInput`
 * adds what the tokenizer's post-processor adds to a fresh input (e.g. Llama's `<s>`), as transformers'
 * `tokenizer(text)` does. `decode` keeps special tokens, does not "clean up tokenization spaces" unless
 * tokenizer_config.json asks for it, and (as the Rust library) skips ids the tokenizer does not know.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { tokenizerFromJSON } from './hf.ts';
import { TokenizerFormatError } from './errors.ts';

/** Text ↔ ids for a checkpoint's tokenizer. */
export interface HfTokenizerCodec {
  /** The tokenizer.json path. */
  readonly name: string;
  /** Which implementation reads it. */
  readonly engine: 'lmlab' | '@huggingface/tokenizers';
  /** Why lmlab's byte-level reader did not take it (null when it did). */
  readonly fallbackReason: string | null;
  /** 1 + the largest id the tokenizer can produce (vocabulary and added tokens). */
  readonly vocabSize: number;
  encode(text: string): number[];
  encodeInput(text: string): number[];
  decode(ids: readonly number[]): string;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerFormatError(path, '', `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new TokenizerFormatError(path, '', `not valid JSON (expected ${what}): ${(e as Error).message}`);
  }
}

/** Largest id in model.vocab (object or Unigram [piece, score] list) and added_tokens, plus one. */
function idSpan(j: Record<string, unknown>, file: string): number {
  const m = j['model'] as Record<string, unknown>;
  let max = -1;
  const v = m['vocab'];
  if (Array.isArray(v)) max = v.length - 1;
  else if (isObject(v)) {
    for (const [tok, id] of Object.entries(v)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerFormatError(file, `model.vocab[${JSON.stringify(tok)}]`, `expected a non-negative integer id, got ${JSON.stringify(id)}`);
      max = Math.max(max, id);
    }
  } else {
    throw new TokenizerFormatError(file, 'model.vocab', 'missing (expected an object {token: id}, or a Unigram list of [piece, score])');
  }
  const added = j['added_tokens'];
  if (added != null) {
    if (!Array.isArray(added)) throw new TokenizerFormatError(file, 'added_tokens', 'expected a list of {id, content, …}');
    for (const [k, a] of added.entries()) {
      if (!isObject(a) || typeof a['id'] !== 'number' || !Number.isInteger(a['id']) || (a['id'] as number) < 0 || typeof a['content'] !== 'string') {
        throw new TokenizerFormatError(file, `added_tokens[${k}]`, 'expected {id: non-negative integer, content: string, …}');
      }
      max = Math.max(max, a['id'] as number);
    }
  }
  return max + 1;
}

/**
 * Cases where @huggingface/tokenizers (JS) would silently differ from the Rust library, refused by name.
 * Metaspace `split: true` (the Rust default) splits before every ▁; the JS port never splits, which matters
 * only when a merge would join across a ▁ boundary.
 */
function checkJsLimits(j: Record<string, unknown>, file: string): void {
  const m = j['model'] as Record<string, unknown>;
  if (typeof m['dropout'] === 'number' && m['dropout'] !== 0) throw new TokenizerFormatError(file, 'model.dropout', `BPE dropout ${m['dropout']} is not supported (expected null or 0)`);
  const pts: unknown[] = [];
  const pt = j['pre_tokenizer'];
  if (isObject(pt)) {
    if (pt['type'] === 'Sequence' && Array.isArray(pt['pretokenizers'])) pts.push(...pt['pretokenizers']);
    else pts.push(pt);
  }
  for (const p of pts) {
    if (!isObject(p) || p['type'] !== 'Metaspace' || p['split'] === false) continue;
    const rep = typeof p['replacement'] === 'string' ? p['replacement'] : '\u2581';
    const merges = Array.isArray(m['merges']) ? m['merges'] : [];
    for (const [r, mr] of merges.entries()) {
      const joined = typeof mr === 'string' ? mr.split(' ').join('') : Array.isArray(mr) ? mr.join('') : '';
      if (joined.indexOf(rep, 1) > 0) {
        throw new TokenizerFormatError(file, `model.merges[${r}]`, `${JSON.stringify(mr)} joins across a ${JSON.stringify(rep)} boundary, which the Metaspace pre-tokenizer (split: true) forbids; @huggingface/tokenizers does not split there, so its ids would differ from the Rust library's`);
      }
    }
  }
}

/** tokenizer_config.json as the JS library wants it (string special tokens; no space clean-up unless asked). */
function jsConfig(dir: string): Record<string, unknown> {
  const path = join(dir, 'tokenizer_config.json');
  let cfg: Record<string, unknown> = {};
  if (existsSync(path)) {
    const raw = readJson(path, 'a Hugging Face tokenizer_config.json');
    if (!isObject(raw)) throw new TokenizerFormatError(path, '', 'expected a JSON object');
    cfg = { ...raw };
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const v = cfg[k];
      if (isObject(v) && typeof v['content'] === 'string') cfg[k] = v['content'];
    }
    if (cfg['additional_special_tokens'] != null) {
      if (!Array.isArray(cfg['additional_special_tokens'])) throw new TokenizerFormatError(path, 'additional_special_tokens', 'expected a list');
      cfg['additional_special_tokens'] = (cfg['additional_special_tokens'] as unknown[]).map((t) => (isObject(t) && typeof t['content'] === 'string' ? t['content'] : t));
    }
  }
  // transformers ≥ 4.45 defaults to no clean-up; the JS library defaults to clean-up (lossy: " ." → ".").
  cfg['clean_up_tokenization_spaces'] = cfg['clean_up_tokenization_spaces'] === true;
  return cfg;
}

/**
 * Opens `tokenizer.json` in `dir` (or the file itself when `pathOrDir` is a file; tokenizer_config.json is then
 * looked for beside it). Errors (TokenizerFormatError) name the file and what was expected.
 */
export function openHfTokenizer(pathOrDir: string): HfTokenizerCodec {
  let file = pathOrDir;
  let dir: string;
  if (existsSync(pathOrDir) && statSync(pathOrDir).isDirectory()) {
    dir = pathOrDir;
    file = join(pathOrDir, 'tokenizer.json');
  } else {
    dir = join(pathOrDir, '..');
  }
  if (!existsSync(file)) throw new TokenizerFormatError(file, '', 'not found (expected a Hugging Face tokenizer.json)');
  const json = readJson(file, 'a Hugging Face tokenizer.json');
  if (!isObject(json)) throw new TokenizerFormatError(file, '', 'expected a JSON object (a Hugging Face tokenizer.json)');
  if (!isObject(json['model'])) throw new TokenizerFormatError(file, 'model', 'missing (expected the tokenizer model: {"type": "BPE" | "Unigram" | "WordPiece", "vocab": …})');
  const vocabSize = idSpan(json, file);

  // 1. byte-level BPE: lmlab's own tokenizer.
  let reason: string;
  try {
    const tok = tokenizerFromJSON(json, file);
    const encode = (t: string): number[] => Array.from(tok.encode(t));
    return {
      name: file, engine: 'lmlab', fallbackReason: null, vocabSize: Math.max(vocabSize, tok.vocabSize),
      encode, encodeInput: encode, decode: (ids) => tok.decode(ids),
    };
  } catch (e) {
    if (!(e instanceof TokenizerFormatError)) throw e;
    reason = e.message;
  }

  // 2. everything else: @huggingface/tokenizers.
  checkJsLimits(json, file);
  const forLib: Record<string, unknown> = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
  for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) if (forLib[k] === undefined) forLib[k] = null;
  if (forLib['added_tokens'] == null) forLib['added_tokens'] = [];
  let hf: HFTokenizer;
  try {
    hf = new HFTokenizer(forLib, jsConfig(dir));
    hf.encode('a', { add_special_tokens: true });
  } catch (e) {
    if (e instanceof TokenizerFormatError) throw e;
    throw new TokenizerFormatError(file, '', `@huggingface/tokenizers cannot load it: ${(e as Error).message} (lmlab's byte-level reader refused it too: ${reason})`);
  }
  const known = (id: number): boolean => hf.id_to_token(id) !== undefined;
  const check = (ids: number[], text: string): number[] => {
    for (const id of ids) {
      if (typeof id !== 'number' || !Number.isInteger(id)) throw new TokenizerFormatError(file, 'model', `encoding ${JSON.stringify(text.slice(0, 40))} gave a non-id ${String(id)} (no unk_token for an unknown piece?)`);
    }
    return ids;
  };
  return {
    name: file,
    engine: '@huggingface/tokenizers',
    fallbackReason: reason,
    vocabSize,
    encode: (t) => (t.length === 0 ? [] : check(hf.encode(t, { add_special_tokens: false }).ids, t)),
    encodeInput: (t) => check(hf.encode(t, { add_special_tokens: true }).ids, t),
    decode: (ids) => {
      const kept = ids.filter(known);
      return kept.length === 0 ? '' : hf.decode(kept, { skip_special_tokens: false });
    },
  };
}

/**
 * The text generated after `prefix`: decode(prefix + ids) minus decode(prefix) when the former starts with the
 * latter (SentencePiece decoders strip the first token's leading space, so decoding `ids` alone would lose it),
 * else decode(ids).
 */
export function decodeContinuation(codec: { decode(ids: readonly number[]): string }, prefix: readonly number[], ids: readonly number[]): string {
  if (prefix.length === 0) return codec.decode(ids);
  const p = codec.decode(prefix);
  const all = codec.decode([...prefix, ...ids]);
  return all.startsWith(p) ? all.slice(p.length) : codec.decode(ids);
}
