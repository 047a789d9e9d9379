/**
 * Byte-level BPE tokenizer (GPT-2 style): GPT-2 pre-tokenisation, merges applied by rank, special tokens.
 *
 * Encoding works on UTF-8 bytes end to end: a string is converted once (Buffer.from), pre-tokens are found
 * by the byte scanner in pretokenize.ts, and each pre-token is looked up in a byte-keyed cache of hot words
 * before BPE runs. Any byte sequence — valid UTF-8 or not — encodes, and `decodeBytes(encode(x))` gives x
 * back exactly.
 *
 * Merge semantics are those of Hugging Face tokenizers (Rust and JS): inside a word, repeatedly merge the
 * adjacent pair with the lowest merge rank, the leftmost one on ties. For merge lists where no token is
 * produced by two different merges (GPT-2's, for instance) this equals GPT-2's original "merge every
 * occurrence of the best pair" loop.
 */
import { createHash } from 'node:crypto';
import { BYTE_TO_CHAR, bytesToByteLevel } from './bytelevel.ts';
import { nextPretokenEnd } from './pretokenize.ts';
import { TokenizerError } from './errors.ts';

/** A special (added) token: its id and its literal content. */
export interface SpecialToken {
  readonly id: number;
  readonly content: string;
}

/** Everything that defines a byte-level BPE tokenizer. */
export interface TokenizerDef {
  /** Bytes of each ordinary token, indexed by id; null where the id is a special token or unused. */
  readonly tokens: readonly (Uint8Array | null)[];
  /** Merges in rank order, as pairs of token ids. The result of a merge is the token with the
   * concatenated bytes (it must exist in `tokens`). */
  readonly merges: readonly (readonly [number, number])[];
  /** Special tokens (their ids are outside `tokens` or null there). */
  readonly specials?: readonly SpecialToken[];
  /** Prepend a space to every input segment that does not start with one (HF ByteLevel add_prefix_space). */
  readonly addPrefixSpace?: boolean;
  /** Unicode normalisation applied to string input before encoding (HF NFC normalizer). */
  readonly normalizer?: 'NFC' | null;
  /** Free-form name shown by `inspect`. */
  readonly name?: string;
}

export interface EncodeOptions {
  /** Split on special-token strings in the input and emit their ids (as Hugging Face does). Default false:
   * the input is all ordinary text, so a document that contains "<|endoftext|>" cannot inject the id. */
  allowSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens instead of writing their content. */
  skipSpecial?: boolean;
}

const NO_RANK = 0x7fffffff;
/** Inputs up to this many bytes are encoded through reusable scratch buffers. */
const SCRATCH_BYTES = 1 << 16;
/** Words longer than this (in bytes) use the O(n log n) heap merge instead of the O(n²) scan. */
const HEAP_THRESHOLD = 96;

/** Open-addressing hash map (a, b) → (rank, result id) for the merges. */
class MergeTable {
  private readonly mask: number;
  private readonly ka: Int32Array;
  private readonly kb: Int32Array;
  private readonly rank: Int32Array;
  private readonly res: Int32Array;
  /** Result id of the last successful `lookup`. */
  lastResult = -1;

  constructor(n: number) {
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.mask = cap - 1;
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.res = new Int32Array(cap);
  }

  private static h(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    return h;
  }

  /** Inserts or overwrites (a later duplicate merge replaces the earlier rank, as HF does). */
  set(a: number, b: number, rank: number, res: number): void {
    let s = MergeTable.h(a, b) & this.mask;
    for (;;) {
      const k = this.ka[s]!;
      if (k === -1 || (k === a && this.kb[s] === b)) {
        this.ka[s] = a;
        this.kb[s] = b;
        this.rank[s] = rank;
        this.res[s] = res;
        return;
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Rank of merge (a, b) or NO_RANK; sets `lastResult`. */
  lookup(a: number, b: number): number {
    let s = MergeTable.h(a, b) & this.mask;
    for (;;) {
      const k = this.ka[s]!;
      if (k === a && this.kb[s] === b) {
        this.lastResult = this.res[s]!;
        return this.rank[s]!;
      }
      if (k === -1) return NO_RANK;
      s = (s + 1) & this.mask;
    }
  }
}

/** Key of a byte string for JS Maps (latin1: one char per byte). */
function bytesKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export class Tokenizer {
  /** Number of ids (1 + the largest id, ordinary or special). */
  readonly vocabSize: number;
  readonly specials: readonly SpecialToken[];
  readonly addPrefixSpace: boolean;
  readonly normalizer: 'NFC' | null;
  readonly name: string;
  /** Merges in rank order (pairs of ids). */
  readonly merges: readonly (readonly [number, number])[];
  /** Id of `<|endoftext|>` when the tokenizer has it. */
  readonly eotId: number | undefined;
  /** Bytes without a single-byte token (empty for complete byte-level vocabularies). */
  readonly missingBytes: readonly number[];

  private readonly tokens: readonly (Uint8Array | null)[];
  private readonly table: MergeTable;
  private readonly byteToId = new Int32Array(256);
  private readonly specialById = new Map<number, Uint8Array>();
  private readonly specialBytes: { id: number; bytes: Buffer }[];
  private idByBytes: Map<string, number> | null = null;
  private hashCache: string | null = null;

  private inScratch: Buffer | null = null;
  private outScratch: Uint32Array<ArrayBuffer> | null = null;

  // Scratch buffers for BPE on one word.
  private syms = new Int32Array(256);
  private ranks = new Int32Array(256);
  private results = new Int32Array(256);

  // Hot-word cache: byte-keyed open addressing, cleared when full.
  private readonly cacheCap: number;
  private readonly maxCachedLen = 64;
  private cSlots: Int32Array;
  private cHash: Int32Array;
  private cKeyOff: Int32Array;
  private cKeyLen: Int32Array;
  private cIdsOff: Int32Array;
  private cIdsLen: Int32Array;
  private cKeys: Uint8Array;
  private cIds: Uint32Array;
  private cCount = 0;
  private cKeyUsed = 0;
  private cIdsUsed = 0;

  constructor(def: TokenizerDef, opts: { cacheSize?: number } = {}) {
    this.tokens = def.tokens;
    this.merges = def.merges;
    this.specials = [...(def.specials ?? [])].sort((a, b) => a.id - b.id);
    this.addPrefixSpace = def.addPrefixSpace ?? false;
    this.normalizer = def.normalizer ?? null;
    this.name = def.name ?? 'bpe';
    let maxId = def.tokens.length - 1;
    for (const s of this.specials) {
      if (!Number.isInteger(s.id) || s.id < 0) throw new TokenizerError(`special token ${JSON.stringify(s.content)}: invalid id ${s.id}`);
      if (s.id < def.tokens.length && def.tokens[s.id]) {
        throw new TokenizerError(`special token ${JSON.stringify(s.content)} has id ${s.id}, which is also the ordinary token ${JSON.stringify(bytesToByteLevel(def.tokens[s.id]!))}`);
      }
      if (s.content.length === 0) throw new TokenizerError(`special token with id ${s.id} has empty content`);
      if (this.specialById.has(s.id)) throw new TokenizerError(`two special tokens share id ${s.id}`);
      this.specialById.set(s.id, Buffer.from(s.content, 'utf8'));
      maxId = Math.max(maxId, s.id);
    }
    this.vocabSize = maxId + 1;
    this.specialBytes = this.specials.map((s) => ({ id: s.id, bytes: Buffer.from(s.content, 'utf8') }))
      .sort((a, b) => b.bytes.length - a.bytes.length);
    this.eotId = this.specials.find((s) => s.content === '<|endoftext|>')?.id;

    // Single-byte tokens. A vocabulary may lack some (Hugging Face's trainer only adds the bytes it saw);
    // such a tokenizer loads, and encoding input that contains one of those bytes is an error.
    this.byteToId.fill(-1);
    const ids = this.bytesIndex();
    const missing: number[] = [];
    for (let b = 0; b < 256; b++) {
      const id = ids.get(String.fromCharCode(b));
      if (id === undefined) missing.push(b);
      else this.byteToId[b] = id;
    }
    this.missingBytes = missing;
    if (missing.length === 256) throw new TokenizerError('the vocabulary has no single-byte tokens at all; a byte-level BPE needs them');
    // Merge table.
    this.table = new MergeTable(def.merges.length);
    for (let r = 0; r < def.merges.length; r++) {
      const [a, b] = def.merges[r]!;
      const ta = this.tokens[a];
      const tb = this.tokens[b];
      if (!ta || !tb) throw new TokenizerError(`merge ${r} (${a}, ${b}) refers to an id that is not an ordinary token`);
      const joined = new Uint8Array(ta.length + tb.length);
      joined.set(ta, 0);
      joined.set(tb, ta.length);
      const res = ids.get(bytesKey(joined));
      if (res === undefined) {
        throw new TokenizerError(`merge ${r} (${JSON.stringify(bytesToByteLevel(ta))} ${JSON.stringify(bytesToByteLevel(tb))}) produces ${JSON.stringify(bytesToByteLevel(joined))}, which is not in the vocabulary`);
      }
      this.table.set(a, b, r, res);
    }

    this.cacheCap = Math.max(0, opts.cacheSize ?? 1 << 16);
    let slots = 16;
    while (slots < this.cacheCap * 2) slots *= 2;
    this.cSlots = new Int32Array(this.cacheCap > 0 ? slots : 1);
    this.cHash = new Int32Array(this.cacheCap);
    this.cKeyOff = new Int32Array(this.cacheCap);
    this.cKeyLen = new Int32Array(this.cacheCap);
    this.cIdsOff = new Int32Array(this.cacheCap);
    this.cIdsLen = new Int32Array(this.cacheCap);
    this.cKeys = new Uint8Array(this.cacheCap * 12 + 64);
    this.cIds = new Uint32Array(this.cacheCap * 4 + 64);
  }

  /** Map from token bytes (latin1 key) to id, built on first use. */
  private bytesIndex(): Map<string, number> {
    if (!this.idByBytes) {
      const m = new Map<string, number>();
      for (let id = 0; id < this.tokens.length; id++) {
        const t = this.tokens[id];
        if (!t) continue;
        const k = bytesKey(t);
        if (m.has(k)) throw new TokenizerError(`tokens ${m.get(k)} and ${id} have the same bytes ${JSON.stringify(bytesToByteLevel(t))}`);
        m.set(k, id);
      }
      this.idByBytes = m;
    }
    return this.idByBytes;
  }

  /** Number of ordinary (non-special) token slots. */
  get ordinarySize(): number {
    return this.tokens.length;
  }

  /** Bytes of token `id` (special tokens: their UTF-8 content). */
  tokenBytes(id: number): Uint8Array {
    const t = id >= 0 && id < this.tokens.length ? this.tokens[id] : undefined;
    if (t) return t;
    const s = this.specialById.get(id);
    if (s) return s;
    throw new TokenizerError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
  }

  isSpecial(id: number): boolean {
    return this.specialById.has(id);
  }

  /** Token as shown in vocab files: byte-level string for ordinary tokens, the content for specials. */
  idToToken(id: number): string {
    const s = this.specials.find((x) => x.id === id);
    if (s) return s.content;
    return bytesToByteLevel(this.tokenBytes(id));
  }

  /** Id of a token given in vocab-file form, or undefined. */
  tokenToId(token: string): number | undefined {
    const s = this.specials.find((x) => x.content === token);
    if (s) return s.id;
    const bytes: number[] = [];
    for (const ch of token) {
      const b = CHAR_BYTE.get(ch);
      if (b === undefined) return undefined;
      bytes.push(b);
    }
    return this.bytesIndex().get(String.fromCharCode(...bytes));
  }

  /** Id of the token whose bytes are exactly `bytes`, or undefined. */
  idOfBytes(bytes: Uint8Array): number | undefined {
    return this.bytesIndex().get(bytesKey(bytes));
  }

  /**
   * Encodes text (string, UTF-8 encoded) or raw bytes (any bytes, valid UTF-8 or not) to token ids.
   * Every id covers at least one input byte, so the result never has more ids than input bytes.
   */
  encode(input: string | Uint8Array, opts: EncodeOptions = {}): Uint32Array {
    let bytes: Uint8Array;
    if (typeof input === 'string') {
      const s = this.normalizer === 'NFC' ? input.normalize('NFC') : input;
      // Small inputs go through reusable scratch buffers (no allocation per call but the result).
      if (s.length * 3 <= SCRATCH_BYTES) {
        if (!this.inScratch) this.inScratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
        const len = this.inScratch.write(s, 0, 'utf8');
        bytes = this.inScratch.subarray(0, len);
      } else {
        bytes = Buffer.from(s, 'utf8');
      }
    } else {
      bytes = input;
    }
    let out: Uint32Array<ArrayBuffer>;
    if (bytes.length + 2 <= SCRATCH_BYTES) {
      if (!this.outScratch) this.outScratch = new Uint32Array(SCRATCH_BYTES);
      out = this.outScratch;
    } else {
      out = new Uint32Array(bytes.length + 2);
    }
    let n = 0;
    if (opts.allowSpecial && this.specialBytes.length > 0) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let pos = 0;
      for (;;) {
        let best = -1;
        let bestId = -1;
        let bestLen = 0;
        for (const s of this.specialBytes) {
          const at = buf.indexOf(s.bytes, pos);
          if (at >= 0 && (best < 0 || at < best || (at === best && s.bytes.length > bestLen))) {
            best = at;
            bestId = s.id;
            bestLen = s.bytes.length;
          }
        }
        const segEnd = best < 0 ? bytes.length : best;
        if (segEnd > pos) {
          if (out.length < n + (segEnd - pos) + 2) out = grow(out, n + (segEnd - pos) + 2);
          n = this.encodeSegment(bytes, pos, segEnd, out, n);
        }
        if (best < 0) break;
        if (out.length < n + 1) out = grow(out, n + 1);
        out[n++] = bestId;
        pos = best + bestLen;
      }
    } else {
      n = this.encodeSegment(bytes, 0, bytes.length, out, n);
    }
    return out.slice(0, n);
  }

  /** Encodes b[start..end) as ordinary text into out starting at n; returns the new n. */
  private encodeSegment(b: Uint8Array, start: number, end: number, out: Uint32Array, n: number): number {
    if (this.addPrefixSpace && start < end && b[start] !== 0x20) {
      const tmp = new Uint8Array(end - start + 1);
      tmp[0] = 0x20;
      tmp.set(b.subarray(start, end), 1);
      return this.encodeOrdinary(tmp, 0, tmp.length, out, n);
    }
    return this.encodeOrdinary(b, start, end, out, n);
  }

  /** Core loop: pre-tokenise b[start..end) and BPE each pre-token (through the cache). */
  encodeOrdinary(b: Uint8Array, start: number, end: number, out: Uint32Array, n: number): number {
    if (this.missingBytes.length > 0) {
      for (let k = start; k < end; k++) {
        if (this.byteToId[b[k]!]! < 0) {
          throw new TokenizerError(`cannot encode byte 0x${b[k]!.toString(16).padStart(2, '0')} at offset ${k}: tokenizer ${this.name} has no token for it (its vocabulary lacks ${this.missingBytes.length} of the 256 bytes)`);
        }
      }
    }
    const byteToId = this.byteToId;
    const useCache = this.cacheCap > 0;
    const maxLen = this.maxCachedLen;
    let i = start;
    while (i < end) {
      const j = nextPretokenEnd(b, i, end);
      const len = j - i;
      if (len === 1) {
        out[n++] = byteToId[b[i]!]!;
      } else if (useCache && len <= maxLen) {
        // FNV-1a over the word's bytes.
        let h = 0x811c9dc5;
        for (let k = i; k < j; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
        const mask = this.cSlots.length - 1;
        let s = (h ^ (h >>> 16)) & mask;
        let found = -1;
        for (;;) {
          const e = this.cSlots[s]! - 1;
          if (e < 0) break;
          if (this.cHash[e] === h && this.cKeyLen[e] === len) {
            const ko = this.cKeyOff[e]!;
            let k = 0;
            while (k < len && this.cKeys[ko + k] === b[i + k]) k++;
            if (k === len) { found = e; break; }
          }
          s = (s + 1) & mask;
        }
        if (found >= 0) {
          const io = this.cIdsOff[found]!;
          const il = this.cIdsLen[found]!;
          for (let k = 0; k < il; k++) out[n + k] = this.cIds[io + k]!;
          n += il;
        } else {
          const n0 = n;
          n = this.bpeWord(b, i, j, out, n);
          this.cacheInsert(b, i, len, h, s, out, n0, n - n0);
        }
      } else {
        n = this.bpeWord(b, i, j, out, n);
      }
      i = j;
    }
    return n;
  }

  private cacheInsert(b: Uint8Array, i: number, len: number, h: number, slot: number, out: Uint32Array, io: number, il: number): void {
    if (this.cCount >= this.cacheCap || this.cKeyUsed + len > this.cKeys.length || this.cIdsUsed + il > this.cIds.length) {
      // Full: start over (hot words come back at once).
      this.cSlots.fill(0);
      this.cCount = 0;
      this.cKeyUsed = 0;
      this.cIdsUsed = 0;
      const mask = this.cSlots.length - 1;
      slot = (h ^ (h >>> 16)) & mask;
      if (len > this.cKeys.length || il > this.cIds.length) return;
    }
    const e = this.cCount++;
    this.cHash[e] = h;
    this.cKeyLen[e] = len;
    this.cKeyOff[e] = this.cKeyUsed;
    this.cKeys.set(b.subarray(i, i + len), this.cKeyUsed);
    this.cKeyUsed += len;
    this.cIdsOff[e] = this.cIdsUsed;
    this.cIdsLen[e] = il;
    for (let k = 0; k < il; k++) this.cIds[this.cIdsUsed + k] = out[io + k]!;
    this.cIdsUsed += il;
    this.cSlots[slot] = e + 1;
  }

  /** Empties the hot-word cache (for benchmarks). */
  clearCache(): void {
    this.cSlots.fill(0);
    this.cCount = 0;
    this.cKeyUsed = 0;
    this.cIdsUsed = 0;
  }

  /** BPE of one pre-token b[i..j) (j - i ≥ 1); writes ids to out at n, returns the new n. */
  private bpeWord(b: Uint8Array, i: number, j: number, out: Uint32Array, n: number): number {
    const len = j - i;
    if (len > HEAP_THRESHOLD) return this.bpeWordHeap(b, i, j, out, n);
    const syms = this.syms;
    const ranks = this.ranks;
    const results = this.results;
    const table = this.table;
    const byteToId = this.byteToId;
    for (let k = 0; k < len; k++) syms[k] = byteToId[b[i + k]!]!;
    let L = len;
    for (let p = 0; p < L - 1; p++) {
      ranks[p] = table.lookup(syms[p]!, syms[p + 1]!);
      results[p] = table.lastResult;
    }
    while (L > 1) {
      let best = NO_RANK;
      let bp = -1;
      for (let p = 0; p < L - 1; p++) {
        const r = ranks[p]!;
        if (r < best) { best = r; bp = p; }
      }
      if (bp < 0) break;
      syms[bp] = results[bp]!;
      for (let q = bp + 1; q < L - 1; q++) {
        syms[q] = syms[q + 1]!;
        ranks[q] = ranks[q + 1]!;
        results[q] = results[q + 1]!;
      }
      L--;
      if (bp > 0) {
        ranks[bp - 1] = table.lookup(syms[bp - 1]!, syms[bp]!);
        results[bp - 1] = table.lastResult;
      }
      if (bp < L - 1) {
        ranks[bp] = table.lookup(syms[bp]!, syms[bp + 1]!);
        results[bp] = table.lastResult;
      }
    }
    for (let k = 0; k < L; k++) out[n + k] = syms[k]!;
    return n + L;
  }

  /** Same result as the scan in `bpeWord`, in O(n log n): a heap of (rank, position) over a linked list. */
  private bpeWordHeap(b: Uint8Array, i: number, j: number, out: Uint32Array, n: number): number {
    const len = j - i;
    const table = this.table;
    const sym = new Int32Array(len);
    const next = new Int32Array(len);
    const prev = new Int32Array(len);
    for (let k = 0; k < len; k++) {
      sym[k] = this.byteToId[b[i + k]!]!;
      next[k] = k + 1 < len ? k + 1 : -1;
      prev[k] = k - 1;
    }
    // Binary min-heap of keys rank * 2^32 + pos (exact in float64 for rank < 2^21).
    let heap = new Float64Array(len + 16);
    let hn = 0;
    const push = (key: number): void => {
      if (hn === heap.length) {
        const h2 = new Float64Array(heap.length * 2);
        h2.set(heap);
        heap = h2;
      }
      let c = hn++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (heap[p]! <= key) break;
        heap[c] = heap[p]!;
        c = p;
      }
      heap[c] = key;
    };
    const pop = (): number => {
      const top = heap[0]!;
      const last = heap[--hn]!;
      let c = 0;
      for (;;) {
        let m = 2 * c + 1;
        if (m >= hn) break;
        if (m + 1 < hn && heap[m + 1]! < heap[m]!) m++;
        if (heap[m]! >= last) break;
        heap[c] = heap[m]!;
        c = m;
      }
      if (hn > 0) heap[c] = last;
      return top;
    };
    for (let k = 0; k + 1 < len; k++) {
      const r = table.lookup(sym[k]!, sym[k + 1]!);
      if (r !== NO_RANK) push(r * 4294967296 + k);
    }
    while (hn > 0) {
      const key = pop();
      const r = Math.floor(key / 4294967296);
      const pos = key - r * 4294967296;
      if (sym[pos]! < 0) continue;
      const nx = next[pos]!;
      if (nx < 0) continue;
      if (table.lookup(sym[pos]!, sym[nx]!) !== r) continue;
      sym[pos] = table.lastResult;
      sym[nx] = -1;
      const nn = next[nx]!;
      next[pos] = nn;
      if (nn >= 0) prev[nn] = pos;
      const pv = prev[pos]!;
      if (pv >= 0) {
        const r2 = table.lookup(sym[pv]!, sym[pos]!);
        if (r2 !== NO_RANK) push(r2 * 4294967296 + pv);
      }
      if (nn >= 0) {
        const r3 = table.lookup(sym[pos]!, sym[nn]!);
        if (r3 !== NO_RANK) push(r3 * 4294967296 + pos);
      }
    }
    for (let k = 0; k >= 0; k = next[k]!) out[n++] = sym[k]!;
    return n;
  }

  /** Ids → bytes (exact inverse of `encode` on bytes). */
  decodeBytes(ids: ArrayLike<number>, opts: DecodeOptions = {}): Uint8Array {
    let total = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (opts.skipSpecial && this.specialById.has(id)) continue;
      total += this.tokenBytes(id).length;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (opts.skipSpecial && this.specialById.has(id)) continue;
      const t = this.tokenBytes(id);
      out.set(t, o);
      o += t.length;
    }
    return out;
  }

  /** Ids → string (invalid UTF-8 becomes U+FFFD; use decodeBytes for an exact round trip). */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return Buffer.from(this.decodeBytes(ids, opts).buffer).toString('utf8');
  }

  /** SHA-256 of the tokenizer's definition (tokens, merges, specials, options), hex. Independent of the
   * file format it was read from. */
  hash(): string {
    if (this.hashCache) return this.hashCache;
    const h = createHash('sha256');
    h.update(`lmlab-bpe-v1 prefix=${this.addPrefixSpace} norm=${this.normalizer ?? 'none'} n=${this.tokens.length}\n`);
    const len = Buffer.alloc(4);
    for (const t of this.tokens) {
      if (!t) { len.writeInt32LE(-1); h.update(len); continue; }
      len.writeInt32LE(t.length);
      h.update(len);
      h.update(t);
    }
    const m = new Int32Array(this.merges.length * 2);
    this.merges.forEach(([a, b], r) => { m[2 * r] = a; m[2 * r + 1] = b; });
    h.update(new Uint8Array(m.buffer));
    for (const s of this.specials) h.update(`\nspecial ${s.id} ${JSON.stringify(s.content)}`);
    this.hashCache = h.digest('hex');
    return this.hashCache;
  }
}

const CHAR_BYTE = new Map<string, number>();
for (let b = 0; b < 256; b++) CHAR_BYTE.set(BYTE_TO_CHAR[b]!, b);

function grow(a: Uint32Array, need: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
