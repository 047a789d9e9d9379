/**
 * Small seeded PRNG and hashing helpers for the emergence tasks.
 *
 * Every task generator takes a `RandomSource` — anything with `nextU32()` — so both the `Rng` below and
 * the engine's `Rng` (src/engine/rng.ts, which has the same method) can drive it. The helpers that
 * turn uint32s into integers, picks and shuffles are free functions over `RandomSource`: the examples
 * depend only on the uint32 stream, not on the class that produced it.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state), seeded by
 * splitmix32 from a number or from a string (hashed with FNV-1a + murmur3 finalizer).
 */

/** Anything that yields uniformly distributed uint32 values. */
export interface RandomSource {
  nextU32(): number;
}

/**
 * Accept any of the generators in the tree: objects with `nextU32()` (this file, src/engine/rng.ts) are
 * returned as they are; objects with `u32()` (src/data/rng.ts) are wrapped.
 */
export type AnyRandom = RandomSource | { u32(): number };

export function toRandomSource(r: AnyRandom): RandomSource {
  if (typeof (r as RandomSource).nextU32 === 'function') return r as RandomSource;
  if (typeof (r as { u32(): number }).u32 === 'function') {
    const src = r as { u32(): number };
    return { nextU32: () => src.u32() };
  }
  throw new RngError('expected a random generator with nextU32() or u32()');
}

/** Serializable state of `Rng`: the four 32-bit words of sfc32. */
export interface EmergenceRngState {
  s: [number, number, number, number];
}

export class RngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RngError';
  }
}

/** sfc32, seeded with splitmix32. Deterministic across platforms (only 32-bit integer arithmetic). */
export class Rng implements RandomSource {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number | string | EmergenceRngState = 0) {
    if (typeof seed === 'object') {
      this.setState(seed);
      return;
    }
    let x: number;
    if (typeof seed === 'string') x = hash32(seed);
    else {
      if (!Number.isFinite(seed)) throw new RngError(`rng seed must be a finite number or a string, got ${seed}`);
      const v = Math.floor(Math.abs(seed));
      x = ((v % 0x100000000) ^ Math.floor(v / 0x100000000) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0;
    }
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1; // sfc32 convention: counter starts at 1
    for (let i = 0; i < 12; i++) this.nextU32(); // warm-up, as recommended for sfc
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform double in [0, 1). */
  float(): number {
    return uniform(this);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return randInt(this, n);
  }

  getState(): EmergenceRngState {
    return { s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0] };
  }

  setState(st: EmergenceRngState): void {
    if (!st || !Array.isArray(st.s) || st.s.length !== 4 || st.s.some((v) => !Number.isInteger(v))) {
      throw new RngError('rng state must be { s: [four uint32 integers] }');
    }
    [this.a, this.b, this.c, this.d] = st.s.map((v) => v | 0) as [number, number, number, number];
  }

  /** An independent stream derived from this generator's next output and a label. */
  fork(label: string): Rng {
    return new Rng(`${label}:${this.nextU32()}:${this.nextU32()}`);
  }
}

/** Uniform double in [0, 1) with 53 random bits. */
export function uniform(rng: RandomSource): number {
  const hi = rng.nextU32() >>> 5;
  const lo = rng.nextU32() >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Unbiased uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (rejection sampling). */
export function randInt(rng: RandomSource, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RngError(`randInt needs an integer n in [1, 2^32], got ${n}`);
  if (n === 1) return 0;
  const limit = 0x100000000 - (0x100000000 % n); // accept u < limit
  for (;;) {
    const u = rng.nextU32();
    if (u < limit) return u % n;
  }
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randRange(rng: RandomSource, lo: number, hi: number): number {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RngError(`randRange needs integers lo ≤ hi, got ${lo}, ${hi}`);
  const span = hi - lo + 1;
  if (span <= 0x100000000) return lo + randInt(rng, span);
  // wide ranges (up to 2^53): combine two draws
  for (;;) {
    const v = Math.floor(uniform(rng) * span);
    if (v < span) return lo + v;
  }
}

export function pick<T>(rng: RandomSource, arr: readonly T[]): T {
  if (arr.length === 0) throw new RngError('pick from an empty array');
  return arr[randInt(rng, arr.length)]!;
}

/** Fisher–Yates shuffle, in place; returns the array. */
export function shuffle<T>(rng: RandomSource, arr: T[]): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const t = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = t;
  }
  return arr;
}

/** k distinct elements of arr in random order. */
export function sample<T>(rng: RandomSource, arr: readonly T[], k: number): T[] {
  if (k > arr.length || k < 0) throw new RngError(`sample: cannot draw ${k} distinct items from ${arr.length}`);
  const copy = arr.slice();
  for (let i = 0; i < k; i++) {
    const j = i + randInt(rng, copy.length - i);
    const t = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = t;
  }
  return copy.slice(0, k);
}

/** Standard normal deviate (Box–Muller, no caching so the stream stays simple). */
export function normal(rng: RandomSource): number {
  let u = 0;
  while (u === 0) u = uniform(rng);
  const v = uniform(rng);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** 32-bit hash of a string: FNV-1a over UTF-16 code units, then the murmur3 fmix32 finalizer. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a string mapped to [0, 1). */
export function hashUnit(s: string): number {
  return hash32(s) / 0x100000000;
}
