/**
 * Seeded pseudo-random numbers for the data layer (and anyone who needs reproducible draws).
 *
 * Generator: xoshiro128** (Blackman & Vigna 2018), 32-bit state words, seeded through splitmix32 so that
 * nearby seeds give unrelated streams. All arithmetic is 32-bit integer arithmetic (Math.imul), so the
 * stream is bit-identical on every JavaScript engine.
 *
 * The whole state is four uint32 words: `getState()` / `setState()` (or `Rng.fromState`) let a training run
 * checkpoint its data position and resume it exactly.
 */

/** Serialisable generator state: four uint32 words. */
export interface RngState {
  readonly algo: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
}

/** splitmix32 step (used for seeding and hashing). Returns [next state, output]. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [x, z >>> 0];
}

/** 32-bit FNV-1a over a string's UTF-16 code units, finished with a murmur3 avalanche. */
export function hashString32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
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

/** Splits a JS number seed (integer up to 2^53, or any finite number) into two 32-bit words. */
function seedWords(seed: number): [number, number] {
  if (!Number.isFinite(seed)) throw new RangeError(`rng: seed must be a finite number, got ${seed}`);
  const s = Math.floor(Math.abs(seed));
  const lo = s % 4294967296;
  const hi = Math.floor(s / 4294967296) % 4294967296;
  return [lo >>> 0, (hi ^ (seed < 0 ? 0x80000000 : 0)) >>> 0];
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** A generator seeded from `seed` (an integer; different seeds give unrelated streams). */
  constructor(seed = 0) {
    const [lo, hi] = seedWords(seed);
    let x = lo ^ Math.imul(hi, 0x27d4eb2d);
    let out: number;
    [x, out] = splitmix32(x); this.s0 = out;
    [x, out] = splitmix32(x ^ hi); this.s1 = out;
    [x, out] = splitmix32(x); this.s2 = out;
    [x, out] = splitmix32(x); this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator derived from a base seed and a list of labels (strings or numbers): the same inputs always
   * give the same stream, and different labels give unrelated streams. Used so that e.g. each corpus source
   * has its own stream that does not shift when another source changes.
   */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    const [lo, hi] = seedWords(seed);
    let h = hashString32(labels.map(String).join('\u0000'), lo ^ Math.imul(hi, 0x9e3779b1));
    const r = new Rng(0);
    let out: number;
    [h, out] = splitmix32(h ^ lo); r.s0 = out;
    [h, out] = splitmix32(h ^ hi); r.s1 = out;
    [h, out] = splitmix32(h); r.s2 = out;
    [h, out] = splitmix32(h); r.s3 = out;
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    return r;
  }

  /** Restores a generator from `getState()` output (e.g. read back from a checkpoint's state.json). */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    return { algo: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  setState(state: RngState): void {
    if (!state || state.algo !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4 ||
      !state.s.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new TypeError(`rng: invalid state ${JSON.stringify(state)}; expected {algo: 'xoshiro128**', s: [4 uint32]}`);
    }
    if (state.s.every((v) => v === 0)) throw new TypeError('rng: the all-zero state is invalid for xoshiro128**');
    const s = state.s as readonly number[];
    this.s0 = s[0]! | 0;
    this.s1 = s[1]! | 0;
    this.s2 = s[2]! | 0;
    this.s3 = s[3]! | 0;
    this.spare = null;
  }

  /** A copy with the same state (both then produce the same stream). */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }

  /** Next uint32 in [0, 2^32). */
  u32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). n must be a positive integer ≤ 2^53. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`rng.int: n must be a positive integer, got ${n}`);
    if (n <= 4294967296) {
      if ((n & (n - 1)) === 0 && n <= 2147483648) return this.u32() & (n - 1);
      const limit = 4294967296 - (4294967296 % n);
      for (;;) {
        const x = this.u32();
        if (x < limit) return x % n;
      }
    }
    for (;;) {
      const x = Math.floor(this.float() * n);
      if (x < n) return x;
    }
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.float() - 1;
      const v = 2 * this.float() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt(-2 * Math.log(s) / s);
        this.spare = v * m;
        return u * m;
      }
    }
  }

  /** Gamma(shape, 1) variate (Marsaglia & Tsang 2000; shape < 1 via the boost u^(1/shape)). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      const u = this.float();
      return this.gamma(shape + 1) * Math.pow(u === 0 ? Number.MIN_VALUE : u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** A uniformly random element. */
  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new RangeError('rng.pick: empty array');
    return a[this.int(a.length)]!;
  }

  /** Index drawn with probability proportional to weights[i] (weights ≥ 0, not all 0). */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    if (!(total > 0)) throw new RangeError('rng.weighted: weights must contain a positive value');
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
