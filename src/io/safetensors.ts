/**
 * Safetensors reader and writer (https://github.com/huggingface/safetensors, format: 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON header, then the data section; each header entry
 * `name: {dtype, shape, data_offsets: [begin, end]}` with offsets relative to the data section; an optional
 * `__metadata__` string → string map).
 *
 * Reading is lazy: opening reads and validates only the header; each tensor is read on demand with
 * fs.readSync at its offset into a fresh, aligned buffer (or straight into a caller's Float32Array with
 * `readF32Into`, converting in bounded chunks), so a checkpoint never needs twice its size in memory.
 *
 * Files are untrusted. Before any tensor is read the header is checked completely: length bounded
 * (≤ maxHeaderBytes, default 100 MB, and ≤ file size − 8), valid UTF-8, strict JSON starting with '{'
 * (duplicate keys rejected at any level, nesting bounded), entries with exactly dtype / shape /
 * data_offsets, known dtype, shape of non-negative safe integers, offsets inside the data section with no
 * overlaps, gaps or trailing bytes, and dtype size × shape product = byte length; `__metadata__` a
 * string → string map. Every violation throws a SafetensorsError with a `reason` code and a message
 * naming the file (and the tensor where there is one). No allocation exceeds the header length or the
 * size of the tensor being read, both bounded by the file size.
 *
 * Sharded checkpoints (HF `model.safetensors.index.json` + shards) open with `openSafetensorsDir`.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import {
  DTYPES, DTYPE_SIZE, KNOWN_UNSUPPORTED_DTYPES, arrayCtor, f32ToBf16, f32ToF16, isDtype, toF32,
  type Dtype, type DtypeArray, type DtypeArrayMap,
} from './dtype.ts';
import { JsonNumber, JsonParseError, jsonKind, parseJsonTree, type JsonValue } from './json.ts';

export { DTYPES, DTYPE_SIZE, type Dtype, type DtypeArray, type DtypeArrayMap } from './dtype.ts';

// ------------------------------------------------------------------ errors

/** Why a file (or a call) was rejected. */
export const SAFETENSORS_ERROR_REASONS = [
  'io_error', // the file could not be opened / stat'ed / read (ENOENT, EACCES, not a regular file)
  'file_too_small', // fewer than 8 bytes
  'header_too_large', // declared header length above maxHeaderBytes
  'header_out_of_bounds', // declared header length above file size − 8 (truncated file)
  'invalid_utf8', // header bytes are not UTF-8
  'invalid_json', // header is not strict JSON / does not start with '{' / nests too deep
  'header_not_object', // (unused when invalid_json fires first; kept for completeness)
  'duplicate_tensor', // the same tensor name twice in the header
  'invalid_metadata', // __metadata__ not an object of string values (or duplicate keys in it)
  'invalid_tensor_entry', // entry not an object / missing or unknown keys / duplicate keys / empty name
  'unsupported_dtype', // dtype not a string lmlab handles
  'invalid_shape', // shape not an array of non-negative safe integers, or too many dimensions
  'invalid_offsets', // data_offsets not [begin, end] safe integers with begin ≤ end
  'size_mismatch', // dtype size × product(shape) ≠ end − begin
  'offset_out_of_bounds', // end beyond the data section
  'overlap', // two tensors share bytes
  'gap', // unused bytes between tensors (or before the first)
  'trailing_data', // unused bytes after the last tensor
  'short_read', // the file ended early while reading (changed after it was opened)
  'unknown_tensor', // read() of a name the file does not hold
  'closed', // read after close()
  'invalid_argument', // bad arguments to the writer / readInto (wrong array type or length)
  'allocation_failed', // the runtime refused a buffer for the tensor (e.g. readBytes of more than 4 GiB)
  'unsupported_platform', // big-endian host
  'no_checkpoint', // directory has neither model.safetensors nor model.safetensors.index.json
  'invalid_index', // index JSON malformed (weight_map missing, non-string values, bad shard names)
  'missing_shard', // a shard named in the index does not exist
  'index_mismatch', // weight_map and the shards disagree (tensor absent, in another shard, or not indexed)
] as const;
export type SafetensorsErrorReason = (typeof SAFETENSORS_ERROR_REASONS)[number];

/** A rejected safetensors file or call: `reason` is a stable code, the message names the file and tensor. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly reason: SafetensorsErrorReason,
    readonly file: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor !== undefined ? `tensor ${quoteName(tensor)}: ` : ''}${detail} [${reason}]`);
  }
}

function quoteName(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 200 ? q.slice(0, 200) + '…"' : q;
}

// ------------------------------------------------------------------ byte sources

/** Where a reader's bytes come from: a file descriptor or an in-memory buffer. */
export interface ByteSource {
  /** file path or a label for messages */
  readonly label: string;
  readonly size: number;
  /** fill `dst` from absolute position `pos`; throws SafetensorsError('short_read') if the source ends first */
  readAt(pos: number, dst: Uint8Array): void;
  close(): void;
}

const MAX_READ = 1 << 30; // readSync length must fit an int32

class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | null;
  constructor(readonly label: string) {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then rejected as not a regular file)
      fd = openSync(label, fsConstants.O_NONBLOCK !== undefined ? fsConstants.O_RDONLY | fsConstants.O_NONBLOCK : 'r');
    } catch (e) {
      throw new SafetensorsError('io_error', label, `cannot open: ${(e as Error).message}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new SafetensorsError('io_error', label, 'not a regular file');
      this.size = st.size;
    } catch (e) {
      closeSync(fd);
      if (e instanceof SafetensorsError) throw e;
      throw new SafetensorsError('io_error', label, `cannot stat: ${(e as Error).message}`);
    }
    this.fd = fd;
  }
  readAt(pos: number, dst: Uint8Array): void {
    if (this.fd === null) throw new SafetensorsError('closed', this.label, 'file is closed');
    let off = 0;
    while (off < dst.byteLength) {
      let n: number;
      try {
        n = readSync(this.fd, dst, off, Math.min(dst.byteLength - off, MAX_READ), pos + off);
      } catch (e) {
        throw new SafetensorsError('io_error', this.label, `read failed at byte ${pos + off}: ${(e as Error).message}`);
      }
      if (n === 0) {
        throw new SafetensorsError('short_read', this.label, `file ended at byte ${pos + off} while reading ${dst.byteLength} bytes at ${pos} (did it change after opening?)`);
      }
      off += n;
    }
  }
  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

class BufferSource implements ByteSource {
  readonly size: number;
  private closed = false;
  constructor(private readonly bytes: Uint8Array, readonly label: string) {
    this.size = bytes.byteLength;
  }
  readAt(pos: number, dst: Uint8Array): void {
    if (this.closed) throw new SafetensorsError('closed', this.label, 'reader is closed');
    if (pos + dst.byteLength > this.size) {
      throw new SafetensorsError('short_read', this.label, `buffer ends at ${this.size}, wanted ${dst.byteLength} bytes at ${pos}`);
    }
    dst.set(this.bytes.subarray(pos, pos + dst.byteLength));
  }
  close(): void {
    this.closed = true;
  }
}

// ------------------------------------------------------------------ header parsing

/** One tensor of a safetensors file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** number of elements (product of shape; 1 for a scalar []) */
  readonly numel: number;
  /** absolute byte offset in the file (8 + header length + data_offsets[0]) */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** data_offsets as stored: relative to the start of the data section */
  readonly dataOffsets: readonly [number, number];
  /** the file holding it (the shard, for sharded checkpoints) */
  readonly file: string;
}

export interface SafetensorsOpenOptions {
  /** largest header accepted, bytes (default 100 MB) */
  maxHeaderBytes?: number;
  /** largest number of dimensions accepted (default 64) */
  maxRank?: number;
  /** bytes per chunk when converting into a caller's buffer (default 4 MiB) */
  chunkBytes?: number;
  /** largest single read request (default and maximum 1 GiB; smaller values exist for tests) */
  maxReadBytes?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

/** The parsed, validated header of one file. */
export interface SafetensorsHeader {
  readonly headerLength: number;
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
}

const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];

/**
 * Read and validate the header from `src` (never reads tensor data). Throws SafetensorsError.
 * Allocation is bounded by min(declared header length, maxHeaderBytes, size − 8).
 */
export function readSafetensorsHeader(src: ByteSource, options: SafetensorsOpenOptions = {}): SafetensorsHeader {
  const file = src.label;
  const maxHeader = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const maxRank = options.maxRank ?? 64;
  const err = (reason: SafetensorsErrorReason, detail: string, tensor?: string) => new SafetensorsError(reason, file, detail, tensor);

  if (endianness() !== 'LE') throw err('unsupported_platform', 'safetensors data is little-endian; this host is big-endian (byte swapping not implemented)');
  if (src.size < 8) throw err('file_too_small', `file has ${src.size} bytes; a safetensors file has at least an 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  src.readAt(0, lenBytes);
  const n64 = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n64 > BigInt(maxHeader)) throw err('header_too_large', `header length ${n64} exceeds the limit of ${maxHeader} bytes`);
  const n = Number(n64);
  if (n > src.size - 8) throw err('header_out_of_bounds', `header length ${n} exceeds the ${src.size - 8} bytes after the length field (truncated file?)`);
  if (n < 2) throw err('invalid_json', `header length ${n} is too short for a JSON object`);

  const hbytes = new Uint8Array(n);
  src.readAt(8, hbytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(hbytes);
  } catch {
    throw err('invalid_utf8', 'header is not valid UTF-8');
  }
  if (text.charCodeAt(0) !== 0x7b) throw err('invalid_json', `header must start with '{', found ${JSON.stringify(text.slice(0, 1))}`);
  let tree: JsonValue;
  try {
    tree = parseJsonTree(text, { maxDepth: 8 });
  } catch (e) {
    if (!(e instanceof JsonParseError)) throw e;
    if (e.code === 'duplicate_key') {
      const [top] = e.path;
      if (e.path.length === 0) {
        if (e.key === '__metadata__') throw err('invalid_metadata', 'duplicate "__metadata__" key in header');
        throw err('duplicate_tensor', 'tensor name appears twice in the header (JSON.parse would silently keep the last)', e.key);
      }
      if (top === '__metadata__') throw err('invalid_metadata', `duplicate key ${quoteName(e.key ?? '')} in __metadata__`);
      throw err('invalid_tensor_entry', `duplicate key ${quoteName(e.key ?? '')} in its header entry`, top);
    }
    throw err('invalid_json', `header: ${e.message}`);
  }
  if (!(tree instanceof Map)) throw err('header_not_object', `header is a JSON ${jsonKind(tree)}, expected an object`);

  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  const metadata: Record<string, string> = Object.create(null);
  const tensors = new Map<string, TensorInfo>();

  for (const [name, entry] of tree) {
    if (name === '__metadata__') {
      if (!(entry instanceof Map)) throw err('invalid_metadata', `__metadata__ is a ${jsonKind(entry)}, expected an object of strings`);
      for (const [k, v] of entry) {
        if (typeof v !== 'string') throw err('invalid_metadata', `__metadata__[${quoteName(k)}] is a ${jsonKind(v)}, expected a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (name.length === 0) throw err('invalid_tensor_entry', 'empty tensor name');
    if (!(entry instanceof Map)) throw err('invalid_tensor_entry', `entry is a ${jsonKind(entry)}, expected {dtype, shape, data_offsets}`, name);
    for (const k of entry.keys()) {
      if (!ENTRY_KEYS.includes(k)) throw err('invalid_tensor_entry', `unknown key ${quoteName(k)} (expected only dtype, shape, data_offsets)`, name);
    }
    for (const k of ENTRY_KEYS) if (!entry.has(k)) throw err('invalid_tensor_entry', `missing "${k}"`, name);

    const dt = entry.get('dtype');
    if (!isDtype(dt)) {
      const known = typeof dt === 'string' && (KNOWN_UNSUPPORTED_DTYPES as readonly string[]).includes(dt);
      throw err('unsupported_dtype', `dtype ${typeof dt === 'string' ? quoteName(dt) : jsonKind(dt)} is ${known ? 'a safetensors dtype lmlab does not support' : 'not a known dtype'} (supported: ${DTYPES.join(', ')})`, name);
    }

    const sh = entry.get('shape');
    if (!Array.isArray(sh)) throw err('invalid_shape', `shape is a ${jsonKind(sh)}, expected an array of non-negative integers`, name);
    if (sh.length > maxRank) throw err('invalid_shape', `shape has ${sh.length} dimensions (limit ${maxRank})`, name);
    const shape: number[] = [];
    let numel = 1;
    for (const d of sh) {
      const v = d instanceof JsonNumber ? d.safeNonNegativeInteger() : null;
      if (v === null) throw err('invalid_shape', `shape entry ${jsonKind(d)} is not a non-negative integer ≤ 2^53−1`, name);
      shape.push(v);
      numel *= v; // may exceed 2^53 (then inexact) — only compared below after a bound check
    }

    const off = entry.get('data_offsets');
    if (!Array.isArray(off) || off.length !== 2) throw err('invalid_offsets', `data_offsets is ${Array.isArray(off) ? `an array of ${off.length}` : `a ${jsonKind(off)}`}, expected [begin, end]`, name);
    const b = off[0] instanceof JsonNumber ? off[0].safeNonNegativeInteger() : null;
    const e = off[1] instanceof JsonNumber ? off[1].safeNonNegativeInteger() : null;
    if (b === null || e === null) throw err('invalid_offsets', `data_offsets [${jsonKind(off[0])}, ${jsonKind(off[1])}] are not non-negative integers ≤ 2^53−1`, name);
    if (b > e) throw err('invalid_offsets', `data_offsets begin ${b} > end ${e}`, name);

    const byteLength = e - b;
    const itemsize = DTYPE_SIZE[dt];
    if (numel > Number.MAX_SAFE_INTEGER / itemsize || numel * itemsize !== byteLength) {
      throw err('size_mismatch', `dtype ${dt} with shape [${shape.join(', ')}] needs ${numel > Number.MAX_SAFE_INTEGER / itemsize ? 'more than 2^53' : numel * itemsize} bytes but data_offsets [${b}, ${e}] span ${byteLength}`, name);
    }
    if (e > dataLen) throw err('offset_out_of_bounds', `data_offsets end ${e} is beyond the data section of ${dataLen} bytes (truncated file?)`, name);

    tensors.set(name, { name, dtype: dt, shape, numel, byteOffset: dataStart + b, byteLength, dataOffsets: [b, e], file });
  }

  // coverage: sorted by (begin, end), every tensor must start where the previous ended
  const sorted = [...tensors.values()].sort((x, y) => x.dataOffsets[0] - y.dataOffsets[0] || x.dataOffsets[1] - y.dataOffsets[1]);
  let pos = 0;
  let prev: TensorInfo | null = null;
  for (const t of sorted) {
    const [b, e] = t.dataOffsets;
    if (b < pos) throw err('overlap', `bytes [${b}, ${e}) overlap ${prev ? `tensor ${quoteName(prev.name)} [${prev.dataOffsets[0]}, ${prev.dataOffsets[1]})` : 'another tensor'}`, t.name);
    if (b > pos) throw err('gap', `starts at data offset ${b} but the previous tensor${prev ? ` (${quoteName(prev.name)})` : ''} ends at ${pos}: ${b - pos} unused bytes`, t.name);
    pos = e;
    prev = t;
  }
  if (pos !== dataLen) throw err('trailing_data', `tensors cover ${pos} bytes of the ${dataLen}-byte data section: ${dataLen - pos} trailing bytes`);

  return { headerLength: n, tensors, metadata };
}

// ------------------------------------------------------------------ readers

/** A lazily read checkpoint: one safetensors file, or a sharded directory. */
export interface SafetensorsReader {
  /** the file, or the directory for sharded checkpoints */
  readonly path: string;
  /** every file read from (one, or the shards) */
  readonly files: readonly string[];
  /** tensors by name (header order of each file, shards in index order) */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** `__metadata__` (for a sharded checkpoint: the first shard's; see `indexMetadata`) */
  readonly metadata: Readonly<Record<string, string>>;
  /** the index file's "metadata" object for sharded checkpoints (null otherwise) */
  readonly indexMetadata: Readonly<Record<string, unknown>> | null;
  /** the tensor's info, or a SafetensorsError('unknown_tensor') */
  info(name: string): TensorInfo;
  /** raw little-endian bytes in a fresh buffer */
  readBytes(name: string): Uint8Array;
  /** a fresh typed array of the tensor's own dtype (F16/BF16 as Uint16Array bits, BOOL as Uint8Array) */
  read(name: string): DtypeArray;
  /** a fresh Float32Array (F16/BF16 exact, F64/integers rounded to nearest) */
  readF32(name: string): Float32Array;
  /** convert into `out` (length = numel) without a full-size temporary (F32 reads directly into it) */
  readF32Into(name: string, out: Float32Array): Float32Array;
  /** close the file(s); later reads throw SafetensorsError('closed') */
  close(): void;
}

class SingleReader implements SafetensorsReader {
  readonly files: readonly string[];
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly indexMetadata = null;
  readonly headerLength: number;
  private readonly chunkBytes: number;
  private readonly maxReadBytes: number;
  private scratch = new Uint8Array(0);
  private closed = false;
  constructor(private readonly src: ByteSource, options: SafetensorsOpenOptions) {
    try {
      const h = readSafetensorsHeader(src, options);
      this.tensors = h.tensors;
      this.metadata = h.metadata;
      this.headerLength = h.headerLength;
    } catch (e) {
      src.close();
      throw e;
    }
    this.files = [src.label];
    this.chunkBytes = Math.max(8, Math.floor((options.chunkBytes ?? 4 << 20) / 8) * 8);
    this.maxReadBytes = Math.max(1, Math.min(MAX_READ, Math.floor(options.maxReadBytes ?? MAX_READ)));
  }
  get path(): string {
    return this.src.label;
  }
  info(name: string): TensorInfo {
    if (this.closed) throw new SafetensorsError('closed', this.src.label, 'reader is closed', name);
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError('unknown_tensor', this.src.label, `no such tensor (the file holds ${this.tensors.size})`, name);
    return t;
  }
  /** a fresh ArrayBuffer holding the tensor's bytes (read in ≤ 1 GiB pieces: works above 4 GiB) */
  private load(t: TensorInfo): ArrayBuffer {
    let buf: ArrayBuffer;
    try {
      buf = new ArrayBuffer(t.byteLength);
    } catch (e) {
      throw new SafetensorsError('allocation_failed', this.src.label, `cannot allocate ${t.byteLength} bytes: ${(e as Error).message}`, t.name);
    }
    this.fill(t, buf, 0);
    return buf;
  }
  private fill(t: TensorInfo, buf: ArrayBufferLike, byteOffset: number): void {
    const step = this.maxReadBytes;
    for (let off = 0; off < t.byteLength; off += step) {
      this.src.readAt(t.byteOffset + off, new Uint8Array(buf, byteOffset + off, Math.min(step, t.byteLength - off)));
    }
  }
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    const buf = this.load(t);
    try {
      return new Uint8Array(buf);
    } catch (e) {
      throw new SafetensorsError('allocation_failed', this.src.label, `${t.byteLength} bytes do not fit one Uint8Array (${(e as Error).message}); use read()`, t.name);
    }
  }
  read(name: string): DtypeArray {
    const t = this.info(name);
    const C = arrayCtor(t.dtype);
    return new C(this.load(t), 0, t.numel);
  }
  readF32(name: string): Float32Array {
    const t = this.info(name);
    let out: Float32Array;
    try {
      out = new Float32Array(t.numel);
    } catch (e) {
      throw new SafetensorsError('allocation_failed', this.src.label, `cannot allocate ${t.numel} floats: ${(e as Error).message}`, t.name);
    }
    return this.readF32Into(name, out);
  }
  readF32Into(name: string, out: Float32Array): Float32Array {
    const t = this.info(name);
    if (!(out instanceof Float32Array) || out.length !== t.numel) {
      throw new SafetensorsError('invalid_argument', this.src.label, `readF32Into needs a Float32Array of length ${t.numel}, got ${out?.constructor?.name} of length ${(out as { length?: number })?.length}`, name);
    }
    if (t.dtype === 'F32') {
      this.fill(t, out.buffer, out.byteOffset);
      return out;
    }
    const size = DTYPE_SIZE[t.dtype];
    const C = arrayCtor(t.dtype);
    const chunkElems = Math.max(1, Math.floor(this.chunkBytes / size));
    // one scratch buffer per reader, reused across calls (so converting a whole checkpoint allocates it once)
    const need = Math.min(t.byteLength, chunkElems * size);
    if (this.scratch.byteLength < need) this.scratch = new Uint8Array(Math.min(this.chunkBytes, Math.max(need, 4096)));
    const chunk = this.scratch;
    for (let i = 0; i < t.numel; i += chunkElems) {
      const m = Math.min(chunkElems, t.numel - i);
      const bytes = chunk.subarray(0, m * size);
      this.src.readAt(t.byteOffset + i * size, bytes);
      toF32(t.dtype, new C(chunk.buffer, 0, m), out.subarray(i, i + m));
    }
    return out;
  }
  close(): void {
    this.closed = true;
    this.scratch = new Uint8Array(0);
    this.src.close();
  }
}

/**
 * Open a safetensors file lazily: reads and validates the header only. Throws SafetensorsError.
 * Call close() when done (the file descriptor stays open until then).
 */
export function openSafetensors(path: string, options: SafetensorsOpenOptions = {}): SafetensorsReader {
  return new SingleReader(new FileSource(path), options);
}

/** Parse a safetensors file held in memory (validated exactly like a file; reads copy out of `bytes`). */
export function parseSafetensors(bytes: Uint8Array, label = '<buffer>', options: SafetensorsOpenOptions = {}): SafetensorsReader {
  return new SingleReader(new BufferSource(bytes, label), options);
}

/** Open over any ByteSource (for custom storage). */
export function openSafetensorsSource(src: ByteSource, options: SafetensorsOpenOptions = {}): SafetensorsReader {
  return new SingleReader(src, options);
}

// ------------------------------------------------------------------ sharded directories

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

class ShardedReader implements SafetensorsReader {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  constructor(
    readonly path: string,
    private readonly shards: Map<string, SafetensorsReader>,
    private readonly owner: Map<string, SafetensorsReader>,
    readonly indexMetadata: Readonly<Record<string, unknown>>,
  ) {
    const all = new Map<string, TensorInfo>();
    for (const r of shards.values()) for (const [k, t] of r.tensors) all.set(k, t);
    this.tensors = all;
    this.metadata = shards.values().next().value?.metadata ?? Object.create(null);
  }
  get files(): readonly string[] {
    return [...this.shards.values()].map((r) => r.path);
  }
  private shard(name: string): SafetensorsReader {
    const r = this.owner.get(name);
    if (!r) throw new SafetensorsError('unknown_tensor', this.path, `no such tensor (the checkpoint holds ${this.owner.size})`, name);
    return r;
  }
  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }
  readBytes(name: string): Uint8Array {
    return this.shard(name).readBytes(name);
  }
  read(name: string): DtypeArray {
    return this.shard(name).read(name);
  }
  readF32(name: string): Float32Array {
    return this.shard(name).readF32(name);
  }
  readF32Into(name: string, out: Float32Array): Float32Array {
    return this.shard(name).readF32Into(name, out);
  }
  close(): void {
    for (const r of this.shards.values()) r.close();
  }
}

/**
 * Open a Hugging Face checkpoint directory: `model.safetensors.index.json` (sharded) if present, else
 * `model.safetensors`. For a sharded checkpoint every shard must exist and be a plain file name in the
 * directory, every weight_map entry must be in the shard it names, and every tensor in a shard must be in
 * the weight_map. Throws SafetensorsError.
 */
export function openSafetensorsDir(dir: string, options: SafetensorsOpenOptions = {}): SafetensorsReader {
  const indexPath = join(dir, INDEX_FILE_NAME);
  if (!existsSync(indexPath)) {
    const single = join(dir, SINGLE_FILE_NAME);
    if (!existsSync(single)) throw new SafetensorsError('no_checkpoint', dir, `neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME} found`);
    return openSafetensors(single, options);
  }
  const bad = (detail: string) => new SafetensorsError('invalid_index', indexPath, detail);
  let text: string;
  try {
    const st = statSync(indexPath);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > (options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES)) throw bad(`index is ${st.size} bytes, above the limit`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(indexPath));
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    if (e instanceof TypeError) throw bad('index is not valid UTF-8');
    throw new SafetensorsError('io_error', indexPath, `cannot read: ${(e as Error).message}`);
  }
  let tree: JsonValue;
  try {
    tree = parseJsonTree(text, { maxDepth: 16 });
  } catch (e) {
    if (e instanceof JsonParseError) throw bad(e.message);
    throw e;
  }
  if (!(tree instanceof Map)) throw bad(`index is a JSON ${jsonKind(tree)}, expected an object`);
  const wm = tree.get('weight_map');
  if (!(wm instanceof Map)) throw bad(`"weight_map" is ${jsonKind(wm)}, expected an object of tensor name → shard file`);
  const md = tree.get('metadata');
  if (md !== undefined && md !== null && !(md instanceof Map)) throw bad(`"metadata" is a ${jsonKind(md)}, expected an object`);
  const indexMetadata: Record<string, unknown> = Object.create(null);
  if (md instanceof Map) for (const [k, v] of md) indexMetadata[k] = v instanceof JsonNumber ? v.value : v;

  const shardNames: string[] = [];
  for (const [name, f] of wm) {
    if (typeof f !== 'string') throw bad(`weight_map[${quoteName(name)}] is a ${jsonKind(f)}, expected a shard file name`);
    if (f.length === 0 || f !== basename(f) || f === '.' || f === '..' || f.includes('/') || f.includes('\\')) {
      throw bad(`weight_map[${quoteName(name)}] = ${quoteName(f)} is not a plain file name in the checkpoint directory`);
    }
    if (!shardNames.includes(f)) shardNames.push(f);
  }
  if (wm.size === 0) throw bad('weight_map is empty');

  const shards = new Map<string, SafetensorsReader>();
  const owner = new Map<string, SafetensorsReader>();
  try {
    for (const f of shardNames) {
      const p = join(dir, f);
      if (!existsSync(p)) throw new SafetensorsError('missing_shard', indexPath, `shard ${quoteName(f)} named in weight_map does not exist in ${dir}`);
      shards.set(f, openSafetensors(p, options));
    }
    for (const [name, f] of wm) {
      const r = shards.get(f as string)!;
      if (!r.tensors.has(name)) {
        const elsewhere = [...shards.entries()].find(([, s]) => s.tensors.has(name));
        throw new SafetensorsError('index_mismatch', indexPath, `weight_map puts it in ${quoteName(f as string)}, but that shard does not hold it${elsewhere ? ` (it is in ${quoteName(elsewhere[0])})` : ''}`, name);
      }
      owner.set(name, r);
    }
    for (const [f, r] of shards) {
      for (const name of r.tensors.keys()) {
        const mapped = wm.get(name);
        if (mapped !== f) {
          throw new SafetensorsError('index_mismatch', indexPath, mapped === undefined ? `shard ${quoteName(f)} holds it but weight_map does not list it` : `also present in shard ${quoteName(f)}, while weight_map names ${quoteName(mapped as string)}`, name);
        }
      }
    }
  } catch (e) {
    for (const r of shards.values()) r.close();
    throw e;
  }
  return new ShardedReader(dir, shards, owner, indexMetadata);
}

// ------------------------------------------------------------------ writer

/**
 * A tensor to write. `data` is the dtype's own typed array (see DtypeArrayMap), or for F16/BF16 a
 * Float32Array (converted, round to nearest even), for F32 a Float64Array (rounded), for F64 a
 * Float32Array (widened exactly). Or give `bytes`: the raw little-endian bytes.
 */
export interface TensorToWrite {
  dtype: Dtype;
  shape: readonly number[];
  data?: DtypeArray | Float32Array | Float64Array;
  bytes?: Uint8Array;
}

export type TensorsToWrite = Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>;

/** Order of Python's sorted() on str: by Unicode code point (differs from JS's UTF-16 order above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1; // a surrogate (code point ≥ U+10000) sorts after any BMP unit
    return x - y;
  }
  return a.length - b.length;
}

function entriesOf(t: TensorsToWrite): [string, TensorToWrite][] {
  return t instanceof Map ? [...t.entries()] : Object.entries(t as Record<string, TensorToWrite>);
}

function tensorBytes(file: string, name: string, t: TensorToWrite): Uint8Array {
  const bad = (d: string) => new SafetensorsError('invalid_argument', file, d, name);
  if (!t || typeof t !== 'object') throw bad('expected {dtype, shape, data}');
  if (!isDtype(t.dtype)) throw bad(`dtype ${String(t.dtype)} is not one of ${DTYPES.join(', ')}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`shape ${JSON.stringify(t.shape)} is not an array of non-negative integers`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const size = DTYPE_SIZE[t.dtype];
  if (!Number.isSafeInteger(numel * size)) throw bad(`shape ${JSON.stringify(t.shape)} is too large`);
  const nbytes = numel * size;
  if ((t.data === undefined) === (t.bytes === undefined)) throw bad('give exactly one of data (typed array) or bytes (raw little-endian)');
  if (t.bytes !== undefined) {
    if (!(t.bytes instanceof Uint8Array)) throw bad('bytes must be a Uint8Array');
    if (t.bytes.byteLength !== nbytes) throw bad(`bytes has ${t.bytes.byteLength} bytes, ${t.dtype} [${t.shape.join(', ')}] needs ${nbytes}`);
    return t.bytes;
  }
  const d = t.data!;
  if (d.length !== numel) throw bad(`data has ${d.length} elements, shape [${t.shape.join(', ')}] needs ${numel}`);
  const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const Native = arrayCtor(t.dtype);
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && d instanceof Float32Array) return raw(t.dtype === 'F16' ? f32ToF16(d) : f32ToBf16(d));
  if (t.dtype === 'F32' && d instanceof Float64Array) return raw(Float32Array.from(d));
  if (t.dtype === 'F64' && d instanceof Float32Array) return raw(Float64Array.from(d));
  if (!(d instanceof Native)) throw bad(`data is a ${d.constructor.name}; dtype ${t.dtype} takes ${Native.name}${t.dtype === 'F16' || t.dtype === 'BF16' ? ' (bits) or Float32Array' : ''}`);
  if (t.dtype === 'BOOL') {
    for (let i = 0; i < d.length; i++) if ((d as Uint8Array)[i]! > 1) throw bad(`BOOL data must be 0 or 1, found ${(d as Uint8Array)[i]} at ${i}`);
  }
  return raw(d);
}

/** Build the header and data parts of a safetensors file (names sorted by code point, header padded to 8). */
export function encodeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string> | null, file = '<buffer>'): Uint8Array[] {
  if (endianness() !== 'LE') throw new SafetensorsError('unsupported_platform', file, 'writing on a big-endian host is not implemented');
  const entries = entriesOf(tensors).sort((a, b) => compareCodePoints(a[0], b[0]));
  const parts: string[] = [];
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of entries) {
    if (name.length === 0) throw new SafetensorsError('invalid_argument', file, 'empty tensor name');
    if (name === '__metadata__') throw new SafetensorsError('invalid_argument', file, '"__metadata__" is reserved and cannot name a tensor');
    const b = tensorBytes(file, name, t);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${off},${off + b.byteLength}]}`);
    blobs.push(b);
    off += b.byteLength;
  }
  if (metadata && Object.keys(metadata).length > 0) {
    const m: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError('invalid_argument', file, `metadata[${quoteName(k)}] is a ${typeof v}, must be a string`);
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.byteLength % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.byteLength));
  return [len, header, ...blobs.filter((b) => b.byteLength > 0)];
}

/** Write a safetensors file atomically (temp file, fsync, rename). Tensor data is written without copying when its dtype matches. */
export function writeSafetensors(path: string, tensors: TensorsToWrite, metadata?: Record<string, string> | null): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

/** Concatenate encodeSafetensors' parts into one buffer (a plain Uint8Array, not a pooled Buffer). */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string> | null): Uint8Array {
  const parts = encodeSafetensors(tensors, metadata);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export interface ShardedWriteOptions {
  /** start a new shard when the next tensor would take a shard above this many bytes (default 5 GB, as HF) */
  maxShardBytes?: number;
  metadata?: Record<string, string> | null;
  /** file name stem (default "model": model-00001-of-00003.safetensors) */
  stem?: string;
}

/**
 * Write a checkpoint directory the way HF does: one `model.safetensors` when everything fits one shard,
 * else `model-0000i-of-0000n.safetensors` shards (names in code-point order, greedily packed; a tensor
 * bigger than the limit gets a shard of its own) plus `model.safetensors.index.json` with
 * `metadata.total_size` and the `weight_map`. Returns the files written (index last).
 */
export function writeSafetensorsSharded(dir: string, tensors: TensorsToWrite, options: ShardedWriteOptions = {}): string[] {
  const max = options.maxShardBytes ?? 5_000_000_000;
  const stem = options.stem ?? 'model';
  const entries = entriesOf(tensors).sort((a, b) => compareCodePoints(a[0], b[0]));
  const nbytes = (t: TensorToWrite) => t.shape.reduce((a, b) => a * b, 1) * (DTYPE_SIZE[t.dtype] ?? 0);
  const groups: [string, TensorToWrite][][] = [];
  let cur: [string, TensorToWrite][] = [];
  let curBytes = 0;
  let total = 0;
  for (const e of entries) {
    const b = nbytes(e[1]);
    total += b;
    if (cur.length > 0 && curBytes + b > max) {
      groups.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(e);
    curBytes += b;
  }
  if (cur.length > 0 || groups.length === 0) groups.push(cur);
  if (groups.length === 1) {
    const p = join(dir, `${stem}.safetensors`);
    writeSafetensors(p, new Map(groups[0]), options.metadata);
    return [p];
  }
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, '0');
  const files: string[] = [];
  const weightMap: [string, string][] = [];
  groups.forEach((g, i) => {
    const f = `${stem}-${pad(i + 1)}-of-${pad(n)}.safetensors`;
    writeSafetensors(join(dir, f), new Map(g), options.metadata);
    files.push(join(dir, f));
    for (const [name] of g) weightMap.push([name, f]);
  });
  const wm = weightMap.map(([k, f]) => `    ${JSON.stringify(k)}: ${JSON.stringify(f)}`).join(',\n');
  const index = `{\n  "metadata": {\n    "total_size": ${total}\n  },\n  "weight_map": {\n${wm}\n  }\n}\n`;
  const ip = join(dir, `${stem}.safetensors.index.json`);
  writeFileAtomic(ip, index);
  files.push(ip);
  return files;
}
