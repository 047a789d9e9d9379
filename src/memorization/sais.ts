/**
 * Suffix array construction by induced sorting (SA-IS, Nong, Zhang & Chan 2009), O(n) time over an integer
 * alphabet {0..k-1}, in the memory-frugal form of Yuta Mori's sais-lite 2.4.1 (MIT licence, (c) 2008-2010
 * Yuta Mori): the reduced problem, its suffix array and (where they fit) the bucket arrays all live inside
 * the output array, so the working set is the text plus 4 bytes per suffix plus O(k) for buckets.
 * This is a TypeScript translation of that algorithm (pointer arithmetic → integer offsets into one
 * Int32Array; recursion passes the same array with a new free-space size `fs`).
 *
 * Conventions: the suffix array of T[0..n) lists all n suffixes in increasing lexicographic order, where a
 * suffix that is a proper prefix of another sorts first (a virtual sentinel smaller than every symbol).
 * Limits: n ≤ 2^30 − 1 (flags use j + n inside int32), every symbol an integer in [0, k).
 *
 * sais-lite licence notice (MIT): Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal in the Software without
 * restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute,
 * sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do
 * so, subject to the following conditions: The above copyright notice and this permission notice shall be
 * included in all copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT
 * WARRANTY OF ANY KIND.
 */

/** Any integer text the builder accepts. Symbols must lie in [0, k). */
export type IntText = Uint8Array | Uint16Array | Uint32Array | Int32Array;

export class SuffixArrayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SuffixArrayError';
  }
}

/** Largest text the builder accepts (int32 flags need 2n < 2^31). */
export const MAX_SA_LENGTH = 0x3fffffff;
const MINBUCKETSIZE = 256;
const EMPTY = new Int32Array(0);

function getCounts(T: IntText, C: Int32Array, n: number, k: number): void {
  C.fill(0, 0, k);
  for (let i = 0; i < n; ++i) C[T[i]!]!++;
}

function getBuckets(C: Int32Array, B: Int32Array, k: number, end: boolean): void {
  let sum = 0;
  if (end) {
    for (let i = 0; i < k; ++i) { sum += C[i]!; B[i] = sum; }
  } else {
    for (let i = 0; i < k; ++i) { const c = C[i]!; sum += c; B[i] = sum - c; }
  }
}

/** Sort all LMS substrings (stage 1, one-bucket-array variant). SA holds "position to induce next" values. */
function lmsSort1(T: IntText, SA: Int32Array, C: Int32Array, B: Int32Array, n: number, k: number): void {
  if (C === B) getCounts(T, C, n, k);
  getBuckets(C, B, k, false);
  let j = n - 1;
  let c1 = T[j]!;
  let b = B[c1]!;
  --j;
  SA[b++] = T[j]! < c1 ? ~j : j;
  for (let i = 0; i < n; ++i) {
    j = SA[i]!;
    if (j > 0) {
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      --j;
      SA[b++] = T[j]! < c1 ? ~j : j;
      SA[i] = 0;
    } else if (j < 0) {
      SA[i] = ~j;
    }
  }
  if (C === B) getCounts(T, C, n, k);
  getBuckets(C, B, k, true);
  c1 = 0;
  b = B[c1]!;
  for (let i = n - 1; i >= 0; --i) {
    j = SA[i]!;
    if (j > 0) {
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      --j;
      SA[--b] = T[j]! > c1 ? ~(j + 1) : j;
      SA[i] = 0;
    }
  }
}

/** Compact sorted LMS substrings into SA[0..m) and name them; returns the number of distinct names. */
function lmsPostproc1(T: IntText, SA: Int32Array, n: number, m: number): number {
  let i = 0;
  let j: number;
  let p: number;
  for (; (p = SA[i]!) < 0; ++i) SA[i] = ~p;
  if (i < m) {
    for (j = i, ++i; ; ++i) {
      if ((p = SA[i]!) < 0) {
        SA[j++] = ~p;
        SA[i] = 0;
        if (j === m) break;
      }
    }
  }
  // store the length of every LMS substring at SA[m + (pos >> 1)]
  i = n - 1;
  j = n - 1;
  let c0 = T[n - 1]!;
  let c1: number;
  do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
  while (i >= 0) {
    do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) <= c1);
    if (i >= 0) {
      SA[m + ((i + 1) >> 1)] = j - i;
      j = i + 1;
      do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
    }
  }
  // lexicographic names
  let name = 0;
  let q = n;
  let qlen = 0;
  for (i = 0; i < m; ++i) {
    p = SA[i]!;
    const plen = SA[m + (p >> 1)]!;
    let diff = true;
    if (plen === qlen && q + plen < n) {
      for (j = 0; j < plen && T[p + j] === T[q + j]; ++j) { /* compare */ }
      if (j === plen) diff = false;
    }
    if (diff) { ++name; q = p; qlen = plen; }
    SA[m + (p >> 1)] = name;
  }
  return name;
}

/** Stage 1 variant that names LMS substrings during induction (needs 2k extra words in D). */
function lmsSort2(T: IntText, SA: Int32Array, C: Int32Array, B: Int32Array, D: Int32Array, dOff: number, n: number, k: number): void {
  getBuckets(C, B, k, false);
  let j = n - 1;
  let c1 = T[j]!;
  let b = B[c1]!;
  --j;
  let t = T[j]! < c1 ? 1 : 0;
  j += n;
  SA[b++] = t & 1 ? ~j : j;
  let d = 0;
  for (let i = 0; i < n; ++i) {
    j = SA[i]!;
    if (j > 0) {
      if (n <= j) { d += 1; j -= n; }
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      --j;
      t = (c0 << 1) | (T[j]! < c1 ? 1 : 0);
      if (D[dOff + t] !== d) { j += n; D[dOff + t] = d; }
      SA[b++] = t & 1 ? ~j : j;
      SA[i] = 0;
    } else if (j < 0) {
      SA[i] = ~j;
    }
  }
  for (let i = n - 1; i >= 0; --i) {
    if (SA[i]! > 0) {
      if (SA[i]! < n) {
        SA[i]! += n;
        let jj = i - 1;
        for (; SA[jj]! < n; --jj) { /* find previous flagged */ }
        SA[jj]! -= n;
        i = jj;
      }
    }
  }
  getBuckets(C, B, k, true);
  d += 1;
  c1 = 0;
  b = B[c1]!;
  for (let i = n - 1; i >= 0; --i) {
    j = SA[i]!;
    if (j > 0) {
      if (n <= j) { d += 1; j -= n; }
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      --j;
      t = (c0 << 1) | (T[j]! > c1 ? 1 : 0);
      if (D[dOff + t] !== d) { j += n; D[dOff + t] = d; }
      SA[--b] = t & 1 ? ~(j + 1) : j;
      SA[i] = 0;
    }
  }
}

function lmsPostproc2(SA: Int32Array, n: number, m: number): number {
  let i = 0;
  let j: number;
  let name = 0;
  for (; (j = SA[i]!) < 0; ++i) {
    j = ~j;
    if (n <= j) name += 1;
    SA[i] = j;
  }
  if (i < m) {
    for (let d = i, ii = i + 1; ; ++ii) {
      if ((j = SA[ii]!) < 0) {
        j = ~j;
        if (n <= j) name += 1;
        SA[d++] = j;
        SA[ii] = 0;
        if (d === m) break;
      }
    }
  }
  if (name < m) {
    for (let ii = m - 1, d = name + 1; ii >= 0; --ii) {
      if (n <= (j = SA[ii]!)) { j -= n; --d; }
      SA[m + (j >> 1)] = d;
    }
  } else {
    for (let ii = 0; ii < m; ++ii) {
      if (n <= (j = SA[ii]!)) { j -= n; SA[ii] = j; }
    }
  }
  return name;
}

/** Stage 3: induce L-type then S-type suffixes from the sorted LMS suffixes at their bucket ends. */
function induceSA(T: IntText, SA: Int32Array, C: Int32Array, B: Int32Array, n: number, k: number): void {
  if (C === B) getCounts(T, C, n, k);
  getBuckets(C, B, k, false);
  let j = n - 1;
  let c1 = T[j]!;
  let b = B[c1]!;
  SA[b++] = j > 0 && T[j - 1]! < c1 ? ~j : j;
  for (let i = 0; i < n; ++i) {
    j = SA[i]!;
    SA[i] = ~j;
    if (j > 0) {
      --j;
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      SA[b++] = j > 0 && T[j - 1]! < c1 ? ~j : j;
    }
  }
  if (C === B) getCounts(T, C, n, k);
  getBuckets(C, B, k, true);
  c1 = 0;
  b = B[c1]!;
  for (let i = n - 1; i >= 0; --i) {
    j = SA[i]!;
    if (j > 0) {
      --j;
      const c0 = T[j]!;
      if (c0 !== c1) { B[c1] = b; c1 = c0; b = B[c1]!; }
      SA[--b] = j === 0 || T[j - 1]! > c1 ? ~j : j;
    } else {
      SA[i] = ~j;
    }
  }
}

/**
 * Core recursion. SA must have at least n + fs entries; SA[n..n+fs) is free space the routine may use.
 */
function saisMain(T: IntText, SA: Int32Array, fs: number, n: number, k: number): void {
  let C: Int32Array;
  let B: Int32Array;
  let flags: number;
  if (k <= MINBUCKETSIZE) {
    C = new Int32Array(k);
    if (k <= fs) { B = SA.subarray(n + fs - k, n + fs); flags = 1; } else { B = new Int32Array(k); flags = 3; }
  } else if (k <= fs) {
    C = SA.subarray(n + fs - k, n + fs);
    if (k <= fs - k) { B = SA.subarray(n + fs - 2 * k, n + fs - k); flags = 0; }
    else if (k <= MINBUCKETSIZE * 4) { B = new Int32Array(k); flags = 2; }
    else { B = C; flags = 8; }
  } else {
    C = B = new Int32Array(k);
    flags = 4 | 8;
  }
  if (n <= MAX_SA_LENGTH && 2 <= Math.floor(n / k)) {
    if (flags & 1) flags |= k * 2 <= fs - k ? 32 : 16;
    else if (flags === 0 && k * 2 <= fs - k * 2) flags |= 32;
  }

  // stage 1: bucket the LMS positions (stored as pos − 1) at their bucket ends, then sort LMS substrings
  getCounts(T, C, n, k);
  getBuckets(C, B, k, true);
  SA.fill(0, 0, n);
  let bIdx = -1;
  let i = n - 1;
  let j = n;
  let m = 0;
  let c0 = T[n - 1]!;
  let c1: number;
  do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
  while (i >= 0) {
    do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) <= c1);
    if (i >= 0) {
      if (bIdx >= 0) SA[bIdx] = j;
      bIdx = --B[c1]!;
      j = i;
      ++m;
      do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
    }
  }

  let name: number;
  if (m > 1) {
    if (flags & (16 | 32)) {
      let D: Int32Array;
      let dOff: number;
      if (flags & 16) { D = new Int32Array(k * 2); dOff = 0; }
      else { D = SA; dOff = B.byteOffset / 4 - SA.byteOffset / 4 - k * 2; }
      B[T[j + 1]!]!++;
      for (let ii = 0, s = 0; ii < k; ++ii) {
        s += C[ii]!;
        if (B[ii] !== s) SA[B[ii]!]! += n;
        D[dOff + ii] = 0;
        D[dOff + ii + k] = 0;
      }
      lmsSort2(T, SA, C, B, D, dOff, n, k);
      name = lmsPostproc2(SA, n, m);
    } else {
      lmsSort1(T, SA, C, B, n, k);
      name = lmsPostproc1(T, SA, n, m);
    }
  } else if (m === 1) {
    SA[bIdx] = j + 1;
    name = 1;
  } else {
    name = 0;
  }

  // stage 2: solve the reduced problem, recursing while names are not unique
  if (name < m) {
    let newfs = n + fs - m * 2;
    if ((flags & (1 | 4 | 8)) === 0) {
      if (k + name <= newfs) newfs -= k;
      else flags |= 8;
    }
    const raOff = m + newfs;
    for (let ii = m + (n >> 1) - 1, jj = m - 1; m <= ii; --ii) {
      if (SA[ii] !== 0) SA[raOff + jj--] = SA[ii]! - 1;
    }
    const RA = SA.subarray(raOff, raOff + m);
    // release heap bucket arrays during the recursion (sais-lite frees and re-allocates them)
    if (flags & 4) { C = B = EMPTY; }
    if (flags & 2) { B = EMPTY; }
    saisMain(RA, SA, newfs, m, name);

    i = n - 1;
    j = m - 1;
    c0 = T[n - 1]!;
    do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
    while (i >= 0) {
      do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) <= c1);
      if (i >= 0) {
        RA[j--] = i + 1;
        do { c1 = c0; } while (--i >= 0 && (c0 = T[i]!) >= c1);
      }
    }
    for (let ii = 0; ii < m; ++ii) SA[ii] = RA[SA[ii]!]!;
    if (flags & 4) { C = B = new Int32Array(k); }
    if (flags & 2) { B = new Int32Array(k); }
  }

  // stage 3: place the sorted LMS suffixes at their bucket ends and induce everything
  if (flags & 8) getCounts(T, C, n, k);
  if (m > 1) {
    getBuckets(C, B, k, true);
    i = m - 1;
    j = n;
    let p = SA[m - 1]!;
    c1 = T[p]!;
    do {
      c0 = c1;
      const q = B[c0]!;
      while (q < j) SA[--j] = 0;
      do {
        SA[--j] = p;
        if (--i < 0) break;
        p = SA[i]!;
      } while ((c1 = T[p]!) === c0);
    } while (i >= 0);
    while (j > 0) SA[--j] = 0;
  }
  induceSA(T, SA, C, B, n, k);
}

/** Largest symbol + 1 of a text (the alphabet size the builder needs). */
export function alphabetSize(T: IntText): number {
  let mx = 0;
  for (let i = 0; i < T.length; i++) if (T[i]! > mx) mx = T[i]!;
  return mx + 1;
}

export interface SaisOptions {
  /** Alphabet size k (all symbols < k). Computed from the text when omitted. */
  k?: number;
  /** Reuse this array (length ≥ n) for the output instead of allocating one. */
  out?: Int32Array;
}

/**
 * Suffix array of T in O(n) time with the SA-IS algorithm. Returns an Int32Array of length n (a view of
 * `opts.out` when given). Memory: the text, 4n bytes for the result and O(k) words for buckets.
 */
export function suffixArray(T: IntText, opts: SaisOptions = {}): Int32Array {
  const n = T.length;
  if (n > MAX_SA_LENGTH) throw new SuffixArrayError(`suffixArray: text length ${n} exceeds the limit ${MAX_SA_LENGTH}`);
  const k = opts.k ?? alphabetSize(T);
  if (!Number.isInteger(k) || k < 1 || k > 0x7fffffff) throw new SuffixArrayError(`suffixArray: alphabet size k=${k} must be an integer in [1, 2^31)`);
  let SA: Int32Array;
  if (opts.out) {
    if (opts.out.length < n) throw new SuffixArrayError(`suffixArray: out has length ${opts.out.length}, need at least ${n}`);
    SA = opts.out.subarray(0, n);
  } else {
    SA = new Int32Array(n);
  }
  if (n <= 1) { if (n === 1) SA[0] = 0; return SA; }
  if (opts.k !== undefined) {
    for (let i = 0; i < n; i++) {
      const c = T[i]!;
      if (c >= k) throw new SuffixArrayError(`suffixArray: symbol ${c} at position ${i} is not below k=${k}`);
    }
  }
  if (T instanceof Int32Array) {
    for (let i = 0; i < n; i++) if (T[i]! < 0) throw new SuffixArrayError(`suffixArray: negative symbol ${T[i]} at position ${i}`);
  }
  saisMain(T, SA, 0, n, k);
  return SA;
}

/**
 * Kasai et al. (2001) LCP array in O(n): lcp[i] = length of the longest common prefix of the suffixes at
 * SA[i−1] and SA[i] (lcp[0] = 0). `rankOut` (length ≥ n) may be passed to avoid an allocation; it is used
 * as scratch for the inverse suffix array. Plain text: no document boundaries (see corpus.ts for those).
 */
export function lcpKasai(T: IntText, SA: Int32Array, rankOut?: Int32Array): Int32Array {
  const n = SA.length;
  const rank = rankOut ? rankOut.subarray(0, n) : new Int32Array(n);
  for (let i = 0; i < n; i++) rank[SA[i]!] = i;
  const lcp = new Int32Array(n);
  let h = 0;
  for (let i = 0; i < n; i++) {
    const r = rank[i]!;
    if (r > 0) {
      const j = SA[r - 1]!;
      while (i + h < n && j + h < n && T[i + h] === T[j + h]) h++;
      lcp[r] = h;
      if (h > 0) h--;
    } else {
      h = 0;
    }
  }
  return lcp;
}
