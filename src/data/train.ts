/**
 * Byte-level BPE trainer.
 *
 * 1. Count pre-tokens ("words"): GPT-2 pre-tokenisation over the UTF-8 bytes of every document, counted in a
 *    byte-keyed hash table (no string per word).
 * 2. Merge: the classic incremental algorithm (Sennrich et al. 2016 as implemented by HF tokenizers): pair
 *    counts weighted by word frequency, for each pair the list of words that contain it, and a max-heap of
 *    pairs with lazy invalidation. A merge touches only the words that contain the pair and updates only the
 *    pairs next to each replaced occurrence — no recount per merge. The total work is bounded by the number
 *    of symbols in the unique words, not by merges × corpus.
 *
 * Vocabulary layout of a trained tokenizer: ids 0..255 are the 256 bytes in GPT-2's byte order (so they equal
 * GPT-2's first 256 ids), then one id per new token in merge order, then the special tokens.
 * Ties between pairs with equal counts go to the pair with the smaller (left id, right id), so training is
 * deterministic.
 */
import { GPT2_BYTE_ORDER } from './bytelevel.ts';
import { nextPretokenEnd } from './pretokenize.ts';
import { Tokenizer, type SpecialToken } from './tokenizer.ts';
import { DataError, EmptyCorpusError } from './errors.ts';

export interface TrainProgress {
  phase: 'count' | 'merge';
  done: number;
  total: number;
}

export interface TrainOptions {
  /** Total vocabulary size, special tokens included (≥ 256 + number of specials). */
  vocabSize: number;
  /** Special tokens appended after the merges. Default ['<|endoftext|>']. */
  specials?: readonly string[];
  /** Stop early when the best pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
  name?: string;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainStats {
  uniqueWords: number;
  totalWords: number;
  bytes: number;
  merges: number;
  /** Merges whose result already existed (produced by another merge): recorded, no new id. */
  duplicateMerges: number;
  /** True when training stopped before reaching vocabSize (no pair left, or minFrequency). */
  stoppedEarly: boolean;
  countMs: number;
  mergeMs: number;
}

const FNV_OFFSET = 0x811c9dc5 | 0;

/** Counts GPT-2 pre-tokens over byte strings. */
export class WordCounter {
  private slots = new Int32Array(1 << 16);
  private hashes = new Int32Array(1 << 15);
  private offs = new Int32Array(1 << 15);
  private lens = new Int32Array(1 << 15);
  private counts = new Float64Array(1 << 15);
  private arena = new Uint8Array(1 << 20);
  private used = 0;
  /** Number of distinct words. */
  size = 0;
  /** Number of words counted (with repetition). */
  total = 0;
  /** Number of bytes counted. */
  bytes = 0;

  add(doc: string | Uint8Array): void {
    const b = typeof doc === 'string' ? Buffer.from(doc, 'utf8') : doc;
    const end = b.length;
    this.bytes += end;
    let i = 0;
    while (i < end) {
      const j = nextPretokenEnd(b, i, end);
      this.addWord(b, i, j, 1);
      i = j;
    }
  }

  /** Adds count occurrences of the word b[i..j). */
  addWord(b: Uint8Array, i: number, j: number, count: number): void {
    let h = FNV_OFFSET;
    for (let k = i; k < j; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
    const len = j - i;
    this.total += count;
    let mask = this.slots.length - 1;
    let s = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const e = this.slots[s]! - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.lens[e] === len) {
        const o = this.offs[e]!;
        let k = 0;
        while (k < len && this.arena[o + k] === b[i + k]) k++;
        if (k === len) {
          this.counts[e] += count;
          return;
        }
      }
      s = (s + 1) & mask;
    }
    // New word.
    if (this.size === this.hashes.length) this.growEntries();
    if (this.used + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.used + len));
      a.set(this.arena.subarray(0, this.used));
      this.arena = a;
    }
    const e = this.size++;
    this.hashes[e] = h;
    this.lens[e] = len;
    this.offs[e] = this.used;
    this.counts[e] = count;
    this.arena.set(b.subarray(i, j), this.used);
    this.used += len;
    if (this.size * 2 > this.slots.length) {
      this.rehash();
    } else {
      this.slots[s] = e + 1;
    }
    void mask;
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    const g32 = (a: Int32Array) => { const b = new Int32Array(n); b.set(a); return b; };
    this.hashes = g32(this.hashes);
    this.offs = g32(this.offs);
    this.lens = g32(this.lens);
    const c = new Float64Array(n);
    c.set(this.counts);
    this.counts = c;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      const h = this.hashes[e]!;
      let s = (h ^ (h >>> 15)) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
  }

  /** Calls fn(bytes, count) for every distinct word, in insertion order. `bytes` is a view: copy to keep. */
  forEach(fn: (bytes: Uint8Array, count: number) => void): void {
    for (let e = 0; e < this.size; e++) {
      const o = this.offs[e]!;
      fn(this.arena.subarray(o, o + this.lens[e]!), this.counts[e]!);
    }
  }

  /** Raw arrays (for the trainer). */
  raw(): { arena: Uint8Array; offs: Int32Array; lens: Int32Array; counts: Float64Array; size: number } {
    return { arena: this.arena, offs: this.offs, lens: this.lens, counts: this.counts, size: this.size };
  }
}

/** Trains a byte-level BPE tokenizer on documents (strings are UTF-8 encoded; bytes are used as given). */
export function trainBpe(docs: Iterable<string | Uint8Array>, opts: TrainOptions): { tokenizer: Tokenizer; stats: TrainStats } {
  const t0 = performance.now();
  const wc = new WordCounter();
  let n = 0;
  const arr = Array.isArray(docs) ? docs : null;
  for (const d of docs) {
    wc.add(d);
    n++;
    if (opts.onProgress && (n & 255) === 0) opts.onProgress({ phase: 'count', done: n, total: arr ? arr.length : n });
  }
  if (opts.onProgress) opts.onProgress({ phase: 'count', done: n, total: n });
  const countMs = performance.now() - t0;
  const r = trainBpeFromCounts(wc, opts);
  r.stats.countMs = countMs;
  return r;
}

/** Trains from word counts (see WordCounter). */
export function trainBpeFromCounts(wc: WordCounter, opts: TrainOptions): { tokenizer: Tokenizer; stats: TrainStats } {
  const t0 = performance.now();
  const specials = opts.specials ?? ['<|endoftext|>'];
  const minFreq = opts.minFrequency ?? 2;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 + specials.length) {
    throw new DataError(`vocabSize: must be an integer ≥ ${256 + specials.length} (256 bytes + ${specials.length} special tokens), got ${opts.vocabSize}`);
  }
  if (new Set(specials).size !== specials.length || specials.some((s) => s.length === 0)) {
    throw new DataError(`specials: must be distinct non-empty strings, got ${JSON.stringify(specials)}`);
  }
  if (wc.size === 0) throw new EmptyCorpusError('cannot train a tokenizer on an empty corpus (no bytes)');
  const targetTokens = opts.vocabSize - specials.length;

  // Base vocabulary: bytes in GPT-2 order.
  const tokens: Uint8Array[] = GPT2_BYTE_ORDER.map((b) => Uint8Array.of(b));
  const byteToId = new Int32Array(256);
  GPT2_BYTE_ORDER.forEach((b, i) => { byteToId[b] = i; });
  const idByBytes = new Map<string, number>();
  tokens.forEach((t, i) => idByBytes.set(String.fromCharCode(t[0]!), i));

  // Words as symbol arrays.
  const { arena, offs, lens, counts, size: W } = wc.raw();
  let totalSyms = 0;
  for (let w = 0; w < W; w++) totalSyms += lens[w]!;
  const syms = new Int32Array(totalSyms);
  const woff = new Int32Array(W);
  const wlen = new Int32Array(W);
  const wcount = new Float64Array(W);
  {
    let o = 0;
    for (let w = 0; w < W; w++) {
      woff[w] = o;
      wlen[w] = lens[w]!;
      wcount[w] = counts[w]!;
      const a = offs[w]!;
      for (let k = 0; k < lens[w]!; k++) syms[o + k] = byteToId[arena[a + k]!]!;
      o += lens[w]!;
    }
  }
  const wstamp = new Int32Array(W).fill(-1);

  // Pair table.
  let pcap = 1 << 16;
  while (pcap < totalSyms / 4) pcap *= 2;
  let pslots = new Int32Array(pcap * 2);
  let pa = new Int32Array(pcap);
  let pb = new Int32Array(pcap);
  let pcnt = new Float64Array(pcap);
  let phead = new Int32Array(pcap);
  let plast = new Int32Array(pcap);
  let pinc = new Int32Array(pcap);
  let np = 0;
  const hashPair = (a: number, b: number): number => {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    return h ^ (h >>> 15);
  };
  const findPair = (a: number, b: number): number => {
    const mask = pslots.length - 1;
    let s = hashPair(a, b) & mask;
    for (;;) {
      const e = pslots[s]! - 1;
      if (e < 0) return -1;
      if (pa[e] === a && pb[e] === b) return e;
      s = (s + 1) & mask;
    }
  };
  const growPairs = (): void => {
    const cap = pa.length * 2;
    const g32 = (x: Int32Array) => { const y = new Int32Array(cap); y.set(x); return y; };
    pa = g32(pa); pb = g32(pb); phead = g32(phead); plast = g32(plast); pinc = g32(pinc);
    const c = new Float64Array(cap); c.set(pcnt); pcnt = c;
    pslots = new Int32Array(cap * 2);
    const mask = pslots.length - 1;
    for (let e = 0; e < np; e++) {
      let s = hashPair(pa[e]!, pb[e]!) & mask;
      while (pslots[s] !== 0) s = (s + 1) & mask;
      pslots[s] = e + 1;
    }
  };
  const getOrCreatePair = (a: number, b: number): number => {
    const mask = pslots.length - 1;
    let s = hashPair(a, b) & mask;
    for (;;) {
      const e = pslots[s]! - 1;
      if (e < 0) break;
      if (pa[e] === a && pb[e] === b) return e;
      s = (s + 1) & mask;
    }
    if (np === pa.length) {
      growPairs();
      return getOrCreatePair(a, b);
    }
    const e = np++;
    pa[e] = a; pb[e] = b; pcnt[e] = 0; phead[e] = -1; plast[e] = -1; pinc[e] = -1;
    pslots[s] = e + 1;
    return e;
  };

  // Pool of (word, next) list nodes: for each pair, the words that (may) contain it.
  let poolW = new Int32Array(Math.max(1024, totalSyms));
  let poolN = new Int32Array(poolW.length);
  let npool = 0;
  const addWordToPair = (p: number, w: number): void => {
    if (plast[p] === w) return;
    plast[p] = w;
    if (npool === poolW.length) {
      const cap = poolW.length * 2;
      const a = new Int32Array(cap); a.set(poolW); poolW = a;
      const b = new Int32Array(cap); b.set(poolN); poolN = b;
    }
    poolW[npool] = w;
    poolN[npool] = phead[p]!;
    phead[p] = npool++;
  };

  for (let w = 0; w < W; w++) {
    const o = woff[w]!;
    const c = wcount[w]!;
    for (let k = 0; k + 1 < wlen[w]!; k++) {
      const p = getOrCreatePair(syms[o + k]!, syms[o + k + 1]!);
      pcnt[p] += c;
      addWordToPair(p, w);
    }
  }

  // Max-heap of (count, pair); ties → smaller (a, b).
  let hp = new Int32Array(Math.max(1024, np * 2));
  let hc = new Float64Array(hp.length);
  let hn = 0;
  const above = (c1: number, p1: number, c2: number, p2: number): boolean =>
    c1 > c2 || (c1 === c2 && (pa[p1]! < pa[p2]! || (pa[p1] === pa[p2] && pb[p1]! < pb[p2]!)));
  const heapPush = (p: number, c: number): void => {
    if (hn === hp.length) {
      const a = new Int32Array(hp.length * 2); a.set(hp); hp = a;
      const b = new Float64Array(hc.length * 2); b.set(hc); hc = b;
    }
    let i = hn++;
    while (i > 0) {
      const par = (i - 1) >> 1;
      if (!above(c, p, hc[par]!, hp[par]!)) break;
      hp[i] = hp[par]!; hc[i] = hc[par]!;
      i = par;
    }
    hp[i] = p; hc[i] = c;
  };
  const heapPopTo = (): void => {
    const lp = hp[--hn]!;
    const lc = hc[hn]!;
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= hn) break;
      if (m + 1 < hn && above(hc[m + 1]!, hp[m + 1]!, hc[m]!, hp[m]!)) m++;
      if (!above(hc[m]!, hp[m]!, lc, lp)) break;
      hp[i] = hp[m]!; hc[i] = hc[m]!;
      i = m;
    }
    if (hn > 0) { hp[i] = lp; hc[i] = lc; }
  };
  for (let p = 0; p < np; p++) if (pcnt[p]! > 0) heapPush(p, pcnt[p]!);

  const merges: [number, number][] = [];
  let duplicateMerges = 0;
  let stoppedEarly = false;
  const incList: number[] = [];
  const totalMerges = targetTokens - tokens.length;
  let m = 0;
  while (tokens.length < targetTokens) {
    // Best valid pair.
    let p = -1;
    while (hn > 0) {
      const q = hp[0]!;
      const c = hc[0]!;
      heapPopTo();
      const cur = pcnt[q]!;
      if (cur === c && cur > 0) { p = q; break; }
      if (cur > 0 && cur < c) heapPush(q, cur);
    }
    if (p < 0 || pcnt[p]! < minFreq) { stoppedEarly = true; break; }
    const a = pa[p]!;
    const b = pb[p]!;
    const ta = tokens[a]!;
    const tb = tokens[b]!;
    const nb = new Uint8Array(ta.length + tb.length);
    nb.set(ta, 0);
    nb.set(tb, ta.length);
    const key = Buffer.from(nb.buffer).toString('latin1');
    let id = idByBytes.get(key);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(nb);
      idByBytes.set(key, id);
    } else {
      duplicateMerges++;
    }
    merges.push([a, b]);
    incList.length = 0;
    const stamp = m;
    // Apply the merge in every word that contains (a, b).
    for (let node = phead[p]!; node >= 0; node = poolN[node]!) {
      const w = poolW[node]!;
      if (wstamp[w] === stamp) continue;
      wstamp[w] = stamp;
      const off = woff[w]!;
      const end = off + wlen[w]!;
      const c = wcount[w]!;
      let o = off;
      let i = off;
      while (i < end) {
        if (i + 1 < end && syms[i] === a && syms[i + 1] === b) {
          if (o > off) {
            const L = syms[o - 1]!;
            pcnt[findPair(L, a)] -= c;
            const q = getOrCreatePair(L, id);
            pcnt[q] += c;
            addWordToPair(q, w);
            if (pinc[q] !== stamp) { pinc[q] = stamp; incList.push(q); }
          }
          if (i + 2 < end) {
            const R = syms[i + 2]!;
            pcnt[findPair(b, R)] -= c;
            const q = getOrCreatePair(id, R);
            pcnt[q] += c;
            addWordToPair(q, w);
            if (pinc[q] !== stamp) { pinc[q] = stamp; incList.push(q); }
          }
          syms[o++] = id;
          i += 2;
        } else {
          syms[o++] = syms[i++]!;
        }
      }
      wlen[w] = o - off;
    }
    pcnt[p] = 0;
    phead[p] = -1;
    for (const q of incList) if (pcnt[q]! > 0) heapPush(q, pcnt[q]!);
    m++;
    if (opts.onProgress && (m & 255) === 0) opts.onProgress({ phase: 'merge', done: tokens.length - 256, total: totalMerges });
  }
  if (opts.onProgress) opts.onProgress({ phase: 'merge', done: tokens.length - 256, total: totalMerges });

  const specialTokens: SpecialToken[] = specials.map((content, k) => ({ id: tokens.length + k, content }));
  const tokenizer = new Tokenizer({ tokens, merges, specials: specialTokens, name: opts.name ?? 'lmlab-bpe' });
  return {
    tokenizer,
    stats: {
      uniqueWords: W,
      totalWords: wc.total,
      bytes: wc.bytes,
      merges: merges.length,
      duplicateMerges,
      stoppedEarly,
      countMs: 0,
      mergeMs: performance.now() - t0,
    },
  };
}
