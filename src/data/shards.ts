/**
 * Token shards: format and reader.
 *
 * A shard directory holds
 *   manifest.json            what the corpus is (see ShardManifest)
 *   tokenizer.json           the tokenizer that produced the ids (Hugging Face format)
 *   train.bin, val.bin       token ids, little-endian uint16 or uint32, every document followed by <|endoftext|>
 *   train.idx, val.idx       document boundaries: uint64 LE token offsets of each document start, plus the
 *                            total token count (documents + 1 entries)
 *   train.docs.jsonl, val.docs.jsonl   provenance of document i: {"source", "id", "kind"}
 *
 * `openShards` never loads a .bin file into memory: batches and windows are read with fs.readSync at offsets.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { z } from 'zod';

/** Anything with a uniform integer draw (data/rng.ts Rng, engine/rng.ts Rng ...). */
export interface IntRng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}
import { ShardFormatError } from './errors.ts';

export type ShardDtype = 'uint16' | 'uint32';
export type Split = 'train' | 'val';

const SplitInfoSchema = z.looseObject({
  bin: z.string(),
  idx: z.string(),
  docs: z.string(),
  documents: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
});

const PlantedCanarySchema = z.looseObject({
  id: z.string(),
  secret: z.string(),
  text: z.string(),
  count: z.number().int().nonnegative(),
  tokens: z.array(z.number().int()),
  docIndices: z.array(z.number().int()),
  tokenOffsets: z.array(z.number().int()),
});

const PlantedDuplicateSchema = z.looseObject({
  source: z.string(),
  docId: z.string(),
  count: z.number().int(),
  bytes: z.number().int(),
  tokens: z.number().int(),
  docIndices: z.array(z.number().int()),
  tokenOffsets: z.array(z.number().int()),
});

export const ShardManifestSchema = z.looseObject({
  format: z.literal('lmlab-shards'),
  version: z.literal(1),
  name: z.string(),
  seed: z.number().int(),
  specHash: z.string(),
  spec: z.unknown(),
  dtype: z.enum(['uint16', 'uint32']),
  tokenizer: z.looseObject({
    file: z.string(),
    hash: z.string(),
    vocabSize: z.number().int().positive(),
    eotId: z.number().int().nonnegative(),
    kind: z.string(),
  }),
  splits: z.looseObject({ train: SplitInfoSchema, val: SplitInfoSchema }),
  sources: z.array(z.looseObject({ name: z.string(), type: z.string() })),
  dedup: z.looseObject({ enabled: z.boolean(), removedDocuments: z.number().int(), removedBytes: z.number().int() }),
  planted: z.looseObject({
    canaries: z.array(PlantedCanarySchema),
    duplicates: z.array(PlantedDuplicateSchema),
  }),
});

export type ShardManifest = z.infer<typeof ShardManifestSchema>;
export type PlantedCanary = z.infer<typeof PlantedCanarySchema>;
export type PlantedDuplicate = z.infer<typeof PlantedDuplicateSchema>;

export function bytesPerToken(dtype: ShardDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

/** Reads and validates manifest.json of a shard directory. */
export function readManifest(dir: string): ShardManifest {
  const path = join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ShardFormatError(path, code === 'ENOENT' ? 'missing (not a shard directory built by `lmlab data build`?)' : `unreadable: ${(e as Error).message}`);
  }
  const r = ShardManifestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ShardFormatError(path, `${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

/** A batch of B windows of T tokens: y[i] is the token after x[i]. Row-major [B, T]. */
export interface Batch {
  x: Int32Array;
  y: Int32Array;
}

const LE = endianness() === 'LE';

/** One split's token file, read at offsets. */
class TokenFile {
  readonly fd: number;
  readonly tokens: number;
  private readonly bpt: number;
  private buf = new Uint8Array(0);

  constructor(readonly path: string, readonly dtype: ShardDtype, expectedTokens: number) {
    if (!existsSync(path)) throw new ShardFormatError(path, 'missing token file');
    this.fd = openSync(path, 'r');
    this.bpt = bytesPerToken(dtype);
    const size = fstatSync(this.fd).size;
    if (size !== expectedTokens * this.bpt) {
      closeSync(this.fd);
      throw new ShardFormatError(path, `size ${size} bytes, expected ${expectedTokens} tokens × ${this.bpt} bytes = ${expectedTokens * this.bpt} (truncated or from another build?)`);
    }
    this.tokens = expectedTokens;
  }

  /** Reads count tokens from token offset `offset` into out[outOff..]. */
  read(offset: number, count: number, out: Int32Array, outOff = 0): void {
    if (offset < 0 || offset + count > this.tokens) throw new RangeError(`${this.path}: read [${offset}, ${offset + count}) outside [0, ${this.tokens})`);
    const nbytes = count * this.bpt;
    if (this.buf.length < nbytes) this.buf = new Uint8Array(Math.max(nbytes, 4096));
    let got = 0;
    while (got < nbytes) {
      const r = readSync(this.fd, this.buf, got, nbytes - got, offset * this.bpt + got);
      if (r <= 0) throw new ShardFormatError(this.path, `short read at token ${offset}`);
      got += r;
    }
    if (LE) {
      const v = this.dtype === 'uint16' ? new Uint16Array(this.buf.buffer, 0, count) : new Uint32Array(this.buf.buffer, 0, count);
      for (let i = 0; i < count; i++) out[outOff + i] = v[i]!;
    } else {
      const dv = new DataView(this.buf.buffer);
      for (let i = 0; i < count; i++) out[outOff + i] = this.dtype === 'uint16' ? dv.getUint16(2 * i, true) : dv.getUint32(4 * i, true);
    }
  }
}

export interface WindowOptions {
  /** Distance between window starts (default T: non-overlapping). */
  stride?: number;
  /** Keep at most this many windows, evenly spaced over the split (deterministic). */
  maxWindows?: number;
}

export class Shards {
  readonly dir: string;
  readonly manifest: ShardManifest;
  readonly vocabSize: number;
  readonly eotId: number;
  readonly dtype: ShardDtype;
  readonly trainTokens: number;
  readonly valTokens: number;
  private readonly files: Record<Split, TokenFile>;
  private readonly docCache: Partial<Record<Split, Float64Array>> = {};

  constructor(dir: string) {
    this.dir = dir;
    this.manifest = readManifest(dir);
    const m = this.manifest;
    this.vocabSize = m.tokenizer.vocabSize;
    this.eotId = m.tokenizer.eotId;
    this.dtype = m.dtype;
    const train = new TokenFile(join(dir, m.splits.train.bin), m.dtype, m.splits.train.tokens);
    let val: TokenFile;
    try {
      val = new TokenFile(join(dir, m.splits.val.bin), m.dtype, m.splits.val.tokens);
    } catch (e) {
      closeSync(train.fd);
      throw e;
    }
    this.files = { train, val };
    this.trainTokens = train.tokens;
    this.valTokens = val.tokens;
  }

  tokens(split: Split): number {
    return this.files[split].tokens;
  }

  /** Reads `count` tokens of a split starting at token `offset`. */
  read(split: Split, offset: number, count: number): Int32Array {
    const out = new Int32Array(count);
    this.files[split].read(offset, count, out, 0);
    return out;
  }

  /**
   * B random windows of T tokens (x) and their next-token targets (y), offsets uniform over the split.
   * All randomness comes from `rng`, so a run that checkpoints rng.getState() resumes the same stream.
   */
  sampleBatch(rng: IntRng, B: number, T: number, split: Split = 'train'): Batch {
    const f = this.files[split];
    if (f.tokens < T + 1) throw new RangeError(`${split} split has ${f.tokens} tokens; a window of T=${T} needs ${T + 1}`);
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    const tmp = new Int32Array(T + 1);
    for (let b = 0; b < B; b++) {
      const off = rng.int(f.tokens - T);
      f.read(off, T + 1, tmp, 0);
      x.set(tmp.subarray(0, T), b * T);
      y.set(tmp.subarray(1, T + 1), b * T);
    }
    return { x, y };
  }

  /** Start offsets of the deterministic evaluation windows of a split. */
  windowOffsets(split: Split, T: number, opts: WindowOptions = {}): number[] {
    const n = this.files[split].tokens;
    const stride = opts.stride ?? T;
    if (!(stride >= 1) || !Number.isInteger(stride)) throw new RangeError(`stride must be a positive integer, got ${stride}`);
    const all: number[] = [];
    for (let o = 0; o + T + 1 <= n; o += stride) all.push(o);
    if (opts.maxWindows === undefined || all.length <= opts.maxWindows) return all;
    const k = Math.max(0, Math.floor(opts.maxWindows));
    const out: number[] = [];
    for (let i = 0; i < k; i++) out.push(all[Math.floor((i * all.length) / k)]!);
    return out;
  }

  /** Deterministic windows of a split (default val): x = tokens[o, o+T), y = tokens[o+1, o+T+1). */
  *windows(T: number, opts: WindowOptions & { split?: Split } = {}): Generator<{ x: Int32Array; y: Int32Array; offset: number }> {
    const split = opts.split ?? 'val';
    const tmp = new Int32Array(T + 1);
    for (const o of this.windowOffsets(split, T, opts)) {
      this.files[split].read(o, T + 1, tmp, 0);
      yield { x: tmp.slice(0, T), y: tmp.slice(1, T + 1), offset: o };
    }
  }

  /** The same windows grouped into batches of up to B rows (the last batch may be smaller). */
  *valBatches(B: number, T: number, opts: WindowOptions & { split?: Split } = {}): Generator<Batch & { offsets: number[] }> {
    const split = opts.split ?? 'val';
    const offs = this.windowOffsets(split, T, opts);
    const tmp = new Int32Array(T + 1);
    for (let i = 0; i < offs.length; i += B) {
      const rows = Math.min(B, offs.length - i);
      const x = new Int32Array(rows * T);
      const y = new Int32Array(rows * T);
      for (let r = 0; r < rows; r++) {
        this.files[split].read(offs[i + r]!, T + 1, tmp, 0);
        x.set(tmp.subarray(0, T), r * T);
        y.set(tmp.subarray(1, T + 1), r * T);
      }
      yield { x, y, offsets: offs.slice(i, i + rows) };
    }
  }

  /**
   * The i-th of nBatches fixed validation batches of B windows: window starts evenly spaced over the val
   * split (the same layout as the trainer's in-memory token source), so every evaluation sees the same data.
   */
  valBatch(i: number, nBatches: number, B: number, T: number): Batch {
    const f = this.files.val;
    const span = f.tokens - T - 1;
    if (span < 0) throw new RangeError(`val split has ${f.tokens} tokens; need at least ${T + 1} for T=${T}`);
    const total = nBatches * B;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    const tmp = new Int32Array(T + 1);
    for (let b = 0; b < B; b++) {
      const s = Math.floor(((i * B + b) * span) / Math.max(1, total - 1));
      f.read(s, T + 1, tmp, 0);
      x.set(tmp.subarray(0, T), b * T);
      y.set(tmp.subarray(1, T + 1), b * T);
    }
    return { x, y };
  }

  /** The whole validation split in memory (it is small: a few % of the corpus). */
  valTokensArray(): Int32Array {
    return this.read('val', 0, this.valTokens);
  }

  describe(): string {
    return `${this.dir}: ${this.trainTokens} train / ${this.valTokens} val tokens, vocab ${this.vocabSize} (${this.dtype}, corpus "${this.manifest.name}")`;
  }

  /** Document start offsets of a split (documents + 1 entries; the last is the token count). */
  documentOffsets(split: Split): Float64Array {
    const cached = this.docCache[split];
    if (cached) return cached;
    const info = this.manifest.splits[split];
    const path = join(this.dir, info.idx);
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch {
      throw new ShardFormatError(path, 'missing document index');
    }
    if (raw.length !== (info.documents + 1) * 8) throw new ShardFormatError(path, `size ${raw.length}, expected (${info.documents} documents + 1) × 8 bytes`);
    const out = new Float64Array(info.documents + 1);
    for (let i = 0; i <= info.documents; i++) out[i] = Number(raw.readBigUInt64LE(8 * i));
    if (out[info.documents] !== info.tokens) throw new ShardFormatError(path, `last offset ${out[info.documents]} ≠ token count ${info.tokens}`);
    this.docCache[split] = out;
    return out;
  }

  /** Tokens of document i of a split (without its trailing <|endoftext|>). */
  document(split: Split, i: number): Int32Array {
    const offs = this.documentOffsets(split);
    if (i < 0 || i >= offs.length - 1) throw new RangeError(`${split} has ${offs.length - 1} documents, asked for ${i}`);
    const start = offs[i]!;
    const end = offs[i + 1]! - 1;
    return this.read(split, start, end - start);
  }

  close(): void {
    closeSync(this.files.train.fd);
    closeSync(this.files.val.fd);
  }
}

/** Opens a shard directory built by `buildCorpus` / `lmlab data build`. */
export function openShards(dir: string): Shards {
  return new Shards(dir);
}
