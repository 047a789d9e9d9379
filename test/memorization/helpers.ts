/** Shared helpers for the memorization tests: a seeded PRNG and brute-force references. */

/** mulberry32: small seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Brute-force suffix array (plain suffixes, shorter-is-smaller). */
export function bruteSA(T: ArrayLike<number>): number[] {
  const n = T.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => {
    while (a < n && b < n) {
      if (T[a] !== T[b]) return T[a]! - T[b]!;
      a++; b++;
    }
    return a === n ? (b === n ? 0 : -1) : 1;
  });
  return idx;
}

/** Document starts [0, ..., N] → end of the document containing p. */
export function docEndOf(starts: number[], p: number): number {
  for (let d = 0; d + 1 < starts.length; d++) if (p < starts[d + 1]!) return starts[d + 1]!;
  return starts[starts.length - 1]!;
}

/**
 * Brute-force document-bounded suffix array: suffix p = tokens[p..docEnd(p)) followed by the document's
 * unique separator; separators sort below every token, the last document's (the end of text) lowest, the
 * others by document index.
 */
export function bruteCorpusSA(T: ArrayLike<number>, starts: number[]): number[] {
  const n = T.length;
  const D = starts.length - 1;
  const docIdx = (p: number) => { let d = 0; while (starts[d + 1]! <= p) d++; return d; };
  const sepRank = (d: number) => (d === D - 1 ? -1 : d);
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => {
    const da = docIdx(a); const db = docIdx(b);
    const ea = starts[da + 1]!; const eb = starts[db + 1]!;
    let i = a; let j = b;
    while (i < ea && j < eb) {
      if (T[i] !== T[j]) return T[i]! - T[j]!;
      i++; j++;
    }
    if (i === ea && j === eb) return sepRank(da) - sepRank(db);
    return i === ea ? -1 : 1;
  });
  return idx;
}

/** Brute-force occurrence count of pat inside single documents. */
export function bruteCount(T: ArrayLike<number>, starts: number[], pat: ArrayLike<number>): number {
  let c = 0;
  for (let p = 0; p < T.length; p++) {
    const e = docEndOf(starts, p);
    if (p + pat.length > e) continue;
    let ok = true;
    for (let j = 0; j < pat.length; j++) if (T[p + j] !== pat[j]) { ok = false; break; }
    if (ok) c++;
  }
  return c;
}

/** Brute-force matching statistics: longest prefix of seq[i..] occurring inside one document. */
export function bruteLongest(T: ArrayLike<number>, starts: number[], seq: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    let best = 0;
    for (let p = 0; p < T.length; p++) {
      const e = docEndOf(starts, p);
      let l = 0;
      while (i + l < seq.length && p + l < e && T[p + l] === seq[i + l]) l++;
      if (l > best) best = l;
    }
    out.push(best);
  }
  return out;
}

/** Standard normal deviates by Box–Muller from a uniform generator. */
export function normals(r: () => number, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - r(); const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out.push(m * Math.cos(2 * Math.PI * v), m * Math.sin(2 * Math.PI * v));
  }
  return out.slice(0, n);
}

/** Skew-normal samples: ξ + ω(δ|U0| + √(1−δ²) U1), δ = α/√(1+α²). */
export function skewNormalSamples(r: () => number, n: number, xi: number, omega: number, alpha: number): number[] {
  const d = alpha / Math.sqrt(1 + alpha * alpha);
  const u0 = normals(r, n); const u1 = normals(r, n);
  return u0.map((a, i) => xi + omega * (d * Math.abs(a) + Math.sqrt(1 - d * d) * u1[i]!));
}
