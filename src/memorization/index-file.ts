/**
 * On-disk suffix-array index of a token corpus and its queries.
 *
 * File layout (little-endian, every section 8-byte aligned):
 *   bytes 0..8    magic "LMSAIDX1"
 *   bytes 8..12   u32 length L of the JSON header
 *   bytes 12..    header JSON (IndexHeader), padded with spaces to a multiple of 8
 *   sections      tokens (N × 2 or 4 bytes, dtype), docStarts (D + 1 × u32), sa (N × u32), lcp (optional, N × u32)
 * The file is written in one atomic write (temp file, fsync, rename). Readers keep only the header and the
 * document starts in memory and fetch tokens and suffix-array entries with positioned reads through a small
 * block cache, so queries never load the whole index (`open(path, { inMemory: true })` loads it for bulk work).
 *
 * Order of the suffix array: document-bounded suffixes (see corpus.ts). A pattern never matches across a
 * document boundary.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../io/atomic.ts';
import { buildCorpusSuffixArray, corpusLcp, docOf, normalizeDocStarts, TokenArray } from './corpus.ts';
import { alphabetSize } from './sais.ts';

export const INDEX_MAGIC = 'LMSAIDX1';
export type TokenDtype = 'uint16' | 'uint32';

export class IndexFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexFormatError';
  }
}

interface Section { offset: number; length: number }
export interface IndexHeader {
  version: 1;
  dtype: TokenDtype;
  nTokens: number;
  nDocs: number;
  vocabSize: number;
  sections: { tokens: Section; docStarts: Section; sa: Section; lcp?: Section };
  buildSeconds?: number;
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new IndexFormatError('suffix-array index files are little-endian; this host is big-endian');
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export interface WriteIndexInput {
  tokens: Uint16Array | Uint32Array;
  docStarts: Uint32Array;
  sa: Int32Array;
  lcp?: Int32Array;
  vocabSize?: number;
  buildSeconds?: number;
}

/** Write an index file atomically. `docStarts` must be normalised (normalizeDocStarts). */
export function writeSuffixArrayIndex(path: string, inp: WriteIndexInput): IndexHeader {
  assertLittleEndian();
  const n = inp.tokens.length;
  if (inp.sa.length !== n) throw new IndexFormatError(`${path}: sa has ${inp.sa.length} entries for ${n} tokens`);
  if (inp.lcp && inp.lcp.length !== n) throw new IndexFormatError(`${path}: lcp has ${inp.lcp.length} entries for ${n} tokens`);
  const dtype: TokenDtype = inp.tokens instanceof Uint16Array ? 'uint16' : 'uint32';
  const align = (x: number) => Math.ceil(x / 8) * 8;
  // sections are laid out after a header whose length we do not know yet: fix the header size by iterating
  let headerLen = 256;
  for (;;) {
    let off = align(12 + headerLen);
    const sec = (len: number): Section => { const s = { offset: off, length: len }; off = align(off + len); return s; };
    const sections: IndexHeader['sections'] = {
      tokens: sec(inp.tokens.byteLength),
      docStarts: sec(inp.docStarts.byteLength),
      sa: sec(inp.sa.byteLength),
    };
    if (inp.lcp) sections.lcp = sec(inp.lcp.byteLength);
    const header: IndexHeader = {
      version: 1, dtype, nTokens: n, nDocs: inp.docStarts.length - 1,
      vocabSize: inp.vocabSize ?? alphabetSize(inp.tokens), sections,
      ...(inp.buildSeconds !== undefined ? { buildSeconds: inp.buildSeconds } : {}),
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length > headerLen) { headerLen = align(json.length + 64); continue; }
    const head = Buffer.alloc(align(12 + headerLen), 0x20);
    head.write(INDEX_MAGIC, 0, 'latin1');
    head.writeUInt32LE(headerLen, 8);
    json.copy(head, 12);
    const parts: Uint8Array[] = [head];
    let pos = head.length;
    const push = (s: Section, a: ArrayBufferView) => {
      if (pos < s.offset) { parts.push(new Uint8Array(s.offset - pos)); pos = s.offset; }
      parts.push(bytesOf(a));
      pos += a.byteLength;
    };
    push(sections.tokens, inp.tokens);
    push(sections.docStarts, inp.docStarts);
    push(sections.sa, inp.sa);
    if (inp.lcp && sections.lcp) push(sections.lcp, inp.lcp);
    writeFileAtomic(path, parts);
    return header;
  }
}

export interface BuildIndexOptions {
  /** Also compute and store the document-bounded LCP array (Kasai). */
  lcp?: boolean;
  vocabSize?: number;
}

/** Build the suffix array of a corpus and write the index file. Returns the header. */
export function buildSuffixArrayIndex(path: string, tokens: Uint16Array | Uint32Array, boundaries?: ArrayLike<number>, opts: BuildIndexOptions = {}): IndexHeader {
  const t0 = performance.now();
  const docStarts = normalizeDocStarts(tokens.length, boundaries);
  const vocab = opts.vocabSize ?? alphabetSize(tokens);
  const sa = buildCorpusSuffixArray(tokens, docStarts, { vocabSize: vocab });
  const lcp = opts.lcp ? corpusLcp(tokens, sa, docStarts) : undefined;
  const buildSeconds = (performance.now() - t0) / 1000;
  return writeSuffixArrayIndex(path, { tokens, docStarts, sa, vocabSize: vocab, buildSeconds, ...(lcp ? { lcp } : {}) });
}

/** Positioned reads through a bounded LRU block cache. */
class PagedFile {
  private cache = new Map<number, Buffer>();
  constructor(private fd: number, private size: number, private blockSize: number, private maxBlocks: number) {}
  private block(b: number): Buffer {
    let buf = this.cache.get(b);
    if (buf) {
      this.cache.delete(b);
      this.cache.set(b, buf);
      return buf;
    }
    const start = b * this.blockSize;
    const len = Math.min(this.blockSize, this.size - start);
    buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, buf, got, len - got, start + got);
      if (r === 0) throw new IndexFormatError(`index file truncated at byte ${start + got}`);
      got += r;
    }
    this.cache.set(b, buf);
    if (this.cache.size > this.maxBlocks) this.cache.delete(this.cache.keys().next().value as number);
    return buf;
  }
  u32(off: number): number {
    const b = Math.floor(off / this.blockSize);
    const o = off - b * this.blockSize;
    return this.block(b).readUInt32LE(o);
  }
  u16(off: number): number {
    const b = Math.floor(off / this.blockSize);
    const o = off - b * this.blockSize;
    return this.block(b).readUInt16LE(o);
  }
  bytes(off: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const b = Math.floor((off + done) / this.blockSize);
      const o = off + done - b * this.blockSize;
      const blk = this.block(b);
      const take = Math.min(len - done, blk.length - o);
      blk.copy(out, done, o, o + take);
      done += take;
    }
    return out;
  }
}

export interface OpenIndexOptions {
  /** Load tokens and suffix array into memory (fast bulk queries). Default false: positioned reads. */
  inMemory?: boolean;
  /** Block size of the read cache in bytes (default 64 KiB). */
  blockSize?: number;
  /** Bound on the read cache in bytes (default 32 MiB). */
  cacheBytes?: number;
}

/** Result of a memorization scan of one generated sequence against the index. */
export interface MemorizationScan {
  /** longest[i] = length of the longest prefix of seq[i..] that occurs in one training document. */
  longest: Int32Array;
  /** covered[j] = 1 where token j lies inside a match of at least k tokens. */
  covered: Uint8Array;
  /** Fraction of tokens covered by a ≥ k-token training match. */
  fractionMemorized: number;
  /** Start offsets i with longest[i] ≥ k (each marks a memorized k-gram seq[i..i+k)). */
  kgramStarts: number[];
}

/**
 * A suffix-array index over a token corpus, in memory or backed by an index file.
 * All query methods take token sequences as arrays of non-negative integers.
 */
export class SuffixArrayIndex {
  readonly nTokens: number;
  readonly nDocs: number;
  readonly docStarts: Uint32Array;
  readonly dtype: TokenDtype;
  private tokMem: TokenArray | null = null;
  private saMem: Int32Array | Uint32Array | null = null;
  private file: PagedFile | null = null;
  private fd: number | null = null;
  private tokOff = 0;
  private saOff = 0;

  private constructor(nTokens: number, docStarts: Uint32Array, dtype: TokenDtype) {
    this.nTokens = nTokens;
    this.docStarts = docStarts;
    this.nDocs = docStarts.length - 1;
    this.dtype = dtype;
  }

  /** Wrap arrays already in memory (e.g. straight after buildCorpusSuffixArray). */
  static fromArrays(tokens: TokenArray, sa: Int32Array, boundaries?: ArrayLike<number>): SuffixArrayIndex {
    const idx = new SuffixArrayIndex(tokens.length, normalizeDocStarts(tokens.length, boundaries), tokens instanceof Uint16Array ? 'uint16' : 'uint32');
    if (sa.length !== tokens.length) throw new IndexFormatError(`suffix array has ${sa.length} entries for ${tokens.length} tokens`);
    idx.tokMem = tokens;
    idx.saMem = sa;
    return idx;
  }

  /** Build in memory from tokens (and boundaries). */
  static build(tokens: TokenArray, boundaries?: ArrayLike<number>): SuffixArrayIndex {
    const starts = normalizeDocStarts(tokens.length, boundaries);
    return SuffixArrayIndex.fromArrays(tokens, buildCorpusSuffixArray(tokens, starts), starts);
  }

  /** Open an index file. */
  static open(path: string, opts: OpenIndexOptions = {}): SuffixArrayIndex {
    assertLittleEndian();
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const pre = Buffer.alloc(12);
      if (size < 12 || readSync(fd, pre, 0, 12, 0) !== 12 || pre.toString('latin1', 0, 8) !== INDEX_MAGIC) {
        throw new IndexFormatError(`${path}: not a suffix-array index (magic ${INDEX_MAGIC} missing)`);
      }
      const hl = pre.readUInt32LE(8);
      if (12 + hl > size) throw new IndexFormatError(`${path}: header length ${hl} runs past the end of the file`);
      const hb = Buffer.alloc(hl);
      readSync(fd, hb, 0, hl, 12);
      let header: IndexHeader;
      try { header = JSON.parse(hb.toString('utf8')) as IndexHeader; } catch (e) {
        throw new IndexFormatError(`${path}: header is not valid JSON (${(e as Error).message})`);
      }
      if (header.version !== 1) throw new IndexFormatError(`${path}: unsupported index version ${String(header.version)} (expected 1)`);
      if (header.dtype !== 'uint16' && header.dtype !== 'uint32') throw new IndexFormatError(`${path}: header.dtype must be uint16 or uint32, got ${String(header.dtype)}`);
      const s = header.sections;
      for (const [name, sec] of Object.entries(s)) {
        if (sec && sec.offset + sec.length > size) throw new IndexFormatError(`${path}: section ${name} (${sec.offset}+${sec.length}) runs past the end of the file (${size} bytes)`);
      }
      const width = header.dtype === 'uint16' ? 2 : 4;
      if (s.tokens.length !== header.nTokens * width || s.sa.length !== header.nTokens * 4 || s.docStarts.length !== (header.nDocs + 1) * 4) {
        throw new IndexFormatError(`${path}: section sizes do not match nTokens=${header.nTokens}, nDocs=${header.nDocs}`);
      }
      const dsb = Buffer.alloc(s.docStarts.length);
      readSync(fd, dsb, 0, dsb.length, s.docStarts.offset);
      const docStarts = new Uint32Array(dsb.buffer, dsb.byteOffset, header.nDocs + 1).slice();
      const idx = new SuffixArrayIndex(header.nTokens, docStarts, header.dtype);
      if (opts.inMemory) {
        const tb = Buffer.alloc(s.tokens.length);
        readFully(fd, tb, s.tokens.offset);
        idx.tokMem = header.dtype === 'uint16' ? new Uint16Array(tb.buffer, tb.byteOffset, header.nTokens) : new Uint32Array(tb.buffer, tb.byteOffset, header.nTokens);
        const sb = Buffer.alloc(s.sa.length);
        readFully(fd, sb, s.sa.offset);
        idx.saMem = new Uint32Array(sb.buffer, sb.byteOffset, header.nTokens);
        closeSync(fd);
      } else {
        const blockSize = opts.blockSize ?? 65536;
        idx.file = new PagedFile(fd, size, blockSize, Math.max(4, Math.floor((opts.cacheBytes ?? 32 << 20) / blockSize)));
        idx.fd = fd;
        idx.tokOff = s.tokens.offset;
        idx.saOff = s.sa.offset;
      }
      return idx;
    } catch (e) {
      try { closeSync(fd); } catch { /* already closed */ }
      throw e;
    }
  }

  /** Release the file handle (no-op for in-memory indexes). */
  close(): void {
    if (this.fd !== null) { closeSync(this.fd); this.fd = null; this.file = null; }
  }

  /** Token at corpus position p. */
  tokenAt(p: number): number {
    if (this.tokMem) return this.tokMem[p]!;
    const f = this.fileOrThrow();
    return this.dtype === 'uint16' ? f.u16(this.tokOff + 2 * p) : f.u32(this.tokOff + 4 * p);
  }

  /** i-th entry of the suffix array (a corpus position). */
  saAt(i: number): number {
    if (this.saMem) return this.saMem[i]!;
    return this.fileOrThrow().u32(this.saOff + 4 * i);
  }

  /** Tokens [p, p+len) as an array (clipped to the corpus). */
  readTokens(p: number, len: number): number[] {
    const end = Math.min(this.nTokens, p + len);
    const out: number[] = [];
    for (let q = p; q < end; q++) out.push(this.tokenAt(q));
    return out;
  }

  /** End (exclusive) of the document containing position p. */
  docEnd(p: number): number {
    return this.docStarts[docOf(this.docStarts, p) + 1]!;
  }

  private fileOrThrow(): PagedFile {
    if (!this.file) throw new IndexFormatError('suffix-array index is closed');
    return this.file;
  }

  /**
   * Compare the document-bounded suffix at `pos` with pattern[from..to) starting `off` tokens into both
   * (the first `off` tokens are known equal). Returns −1 if the suffix sorts before, +1 after, 0 if the
   * pattern slice is a prefix of it.
   */
  private cmp(pos: number, pattern: ArrayLike<number>, base: number, off: number, to: number, end: number): number {
    for (let j = off; j < to; j++) {
      if (pos + j >= end) return -1;
      const t = this.tokenAt(pos + j);
      const c = pattern[base + j]!;
      if (t < c) return -1;
      if (t > c) return 1;
    }
    return 0;
  }

  /** SA interval [lo, hi) of the suffixes that start with pattern[0..len) (len defaults to pattern.length). */
  range(pattern: ArrayLike<number>, len = pattern.length): [number, number] {
    return this.narrow(pattern, 0, 0, len, 0, this.nTokens);
  }

  /**
   * Within [lo, hi), where all suffixes share pattern[base..base+off), find those that also match
   * pattern[base+off..base+to).
   */
  private narrow(pattern: ArrayLike<number>, base: number, off: number, to: number, lo: number, hi: number): [number, number] {
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const pos = this.saAt(mid);
      if (this.cmp(pos, pattern, base, off, to, this.docEnd(pos)) < 0) a = mid + 1;
      else b = mid;
    }
    const first = a;
    b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const pos = this.saAt(mid);
      if (this.cmp(pos, pattern, base, off, to, this.docEnd(pos)) <= 0) a = mid + 1;
      else b = mid;
    }
    return [first, a];
  }

  /** Number of occurrences of the token sequence inside single documents. */
  count(pattern: ArrayLike<number>): number {
    if (pattern.length === 0) return this.nTokens;
    const [lo, hi] = this.range(pattern);
    return hi - lo;
  }

  /** Whether the k-gram occurs in the training data (inside one document). */
  contains(pattern: ArrayLike<number>): boolean {
    return this.count(pattern) > 0;
  }

  /** Corpus positions of the occurrences (sorted ascending), at most `limit` of them. */
  positions(pattern: ArrayLike<number>, limit = Infinity): number[] {
    const [lo, hi] = this.range(pattern);
    const out: number[] = [];
    for (let i = lo; i < hi && out.length < limit; i++) out.push(this.saAt(i));
    return out.sort((x, y) => x - y);
  }

  /**
   * For every start i of seq, the length of the longest prefix of seq[i..] that occurs inside one training
   * document (matching statistics). Uses ℓ(i+1) ≥ ℓ(i) − 1: the search for i+1 starts from the known match.
   */
  longestMatches(seq: ArrayLike<number>, maxLen = Infinity): Int32Array {
    const L = seq.length;
    const out = new Int32Array(L);
    let prev = 0;
    for (let i = 0; i < L; i++) {
      let len = Math.max(prev - 1, 0);
      let [lo, hi] = len > 0 ? this.narrow(seq, i, 0, len, 0, this.nTokens) : [0, this.nTokens];
      while (i + len < L && len < maxLen) {
        const [a, b] = this.narrow(seq, i, len, len + 1, lo, hi);
        if (a >= b) break;
        lo = a; hi = b; len++;
      }
      out[i] = len;
      prev = len;
    }
    return out;
  }

  /**
   * Memorization scan (Nasr et al. 2023): a generated token is memorized if it lies inside a substring of at
   * least k tokens (default 50) that occurs in one training document.
   */
  scanMemorized(seq: ArrayLike<number>, k = 50): MemorizationScan {
    const longest = this.longestMatches(seq);
    const covered = new Uint8Array(seq.length);
    const kgramStarts: number[] = [];
    let reach = 0;
    for (let i = 0; i < seq.length; i++) {
      const l = longest[i]!;
      if (l >= k) {
        kgramStarts.push(i);
        for (let j = Math.max(i, reach); j < i + l; j++) covered[j] = 1;
        reach = Math.max(reach, i + l);
      }
    }
    let c = 0;
    for (let j = 0; j < covered.length; j++) c += covered[j]!;
    return { longest, covered, fractionMemorized: seq.length ? c / seq.length : 0, kgramStarts };
  }
}

function sliceArr(a: ArrayLike<number>, s: number, e: number): number[] {
  const out = new Array<number>(e - s);
  for (let i = s; i < e; i++) out[i - s] = a[i]!;
  return out;
}

function readFully(fd: number, buf: Buffer, pos: number): void {
  let got = 0;
  while (got < buf.length) {
    const r = readSync(fd, buf, got, buf.length - got, pos + got);
    if (r === 0) throw new IndexFormatError(`index file truncated at byte ${pos + got}`);
    got += r;
  }
}

/**
 * Unique memorized k-grams across many generations and their frequencies: key = the k-gram's tokens joined by
 * ','; value = number of times it was emitted (the input to Good-Turing / SGT extrapolation).
 */
export function memorizedKgramCounts(index: SuffixArrayIndex, generations: ArrayLike<number>[], k = 50): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of generations) {
    const scan = index.scanMemorized(g, k);
    for (const i of scan.kgramStarts) {
      const key = sliceArr(g, i, i + k).join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}
