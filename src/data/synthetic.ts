/**
 * Synthetic sources with a known entropy rate, so that the irreducible loss E of a model trained on them is
 * known exactly.
 *
 * MarkovSource: a random k-th order Markov chain over an alphabet of A symbols. Each of the A^k contexts has
 * its next-symbol distribution drawn from a symmetric Dirichlet(α). Documents start in the stationary
 * distribution π over contexts, so the process is stationary and its entropy rate is
 *   h = Σ_s π(s) · H(P(·|s))   bits per symbol,
 * and a document of n ≥ k symbols has expected information H(π) + (n − k)·h bits. Each generated document
 * also carries its realised surprisal −log2 P(doc), which is the loss (in bits) of the ideal predictor on
 * exactly that document.
 */
import { Rng } from './rng.ts';
import { DataError } from './errors.ts';

export interface MarkovParams {
  /** Context length k ≥ 0 (0 = i.i.d. symbols). */
  order: number;
  /** Symbols (each a non-empty string; documents are the symbols joined by `separator`). */
  alphabet: readonly string[];
  /** Dirichlet concentration α > 0 (small α → peaked, low-entropy transitions). */
  concentration: number;
}

export interface MarkovDocument {
  symbols: Int32Array;
  /** −log2 P(symbols) under the source. */
  surprisalBits: number;
}

const LOG2E = Math.LOG2E;

export class MarkovSource {
  readonly order: number;
  readonly alphabet: readonly string[];
  readonly numStates: number;
  /** Transition probabilities, row-major [state, symbol]. */
  readonly P: Float64Array;
  /** Stationary distribution over contexts (the last k symbols). */
  readonly stationary: Float64Array;
  /** Entropy rate in bits per symbol. */
  readonly entropyRateBits: number;
  /** Entropy of the stationary context distribution H(π) in bits (information in the first k symbols). */
  readonly initialEntropyBits: number;
  private readonly cum: Float64Array;
  private readonly cumPi: Float64Array;

  /** Draws the transition table from `rng`. */
  constructor(params: MarkovParams, rng: Rng) {
    const A = params.alphabet.length;
    const k = params.order;
    if (!Number.isInteger(k) || k < 0) throw new DataError(`markov: order must be an integer ≥ 0, got ${k}`);
    if (A < 2) throw new DataError(`markov: alphabet needs at least 2 symbols, got ${A}`);
    if (!(params.concentration > 0)) throw new DataError(`markov: concentration must be > 0, got ${params.concentration}`);
    const S = Math.pow(A, k);
    if (S * A > 1 << 22) throw new DataError(`markov: ${A}^${k} contexts × ${A} symbols = ${S * A} table entries, more than the 4,194,304 allowed`);
    this.order = k;
    this.alphabet = params.alphabet;
    this.numStates = S;
    const P = new Float64Array(S * A);
    for (let s = 0; s < S; s++) {
      let sum = 0;
      for (let x = 0; x < A; x++) {
        const g = rng.gamma(params.concentration);
        P[s * A + x] = g;
        sum += g;
      }
      if (!(sum > 0)) { // every gamma underflowed: fall back to uniform
        for (let x = 0; x < A; x++) P[s * A + x] = 1 / A;
      } else {
        for (let x = 0; x < A; x++) P[s * A + x]! /= sum;
      }
    }
    this.P = P;
    // Stationary distribution by power iteration (the chain is irreducible and aperiodic when all
    // transition probabilities are positive, which Dirichlet draws are almost surely).
    let pi = new Float64Array(S).fill(1 / S);
    let next = new Float64Array(S);
    for (let it = 0; it < 100000 && S > 1; it++) {
      next.fill(0);
      for (let s = 0; s < S; s++) {
        const ps = pi[s]!;
        if (ps === 0) continue;
        const base = (s * A) % S;
        for (let x = 0; x < A; x++) next[base + x]! += ps * P[s * A + x]!;
      }
      let diff = 0;
      let tot = 0;
      for (let s = 0; s < S; s++) tot += next[s]!;
      for (let s = 0; s < S; s++) {
        next[s]! /= tot;
        diff += Math.abs(next[s]! - pi[s]!);
      }
      [pi, next] = [next, pi];
      if (diff < 1e-15) break;
    }
    this.stationary = pi;
    let h = 0;
    for (let s = 0; s < S; s++) {
      let hs = 0;
      for (let x = 0; x < A; x++) {
        const p = P[s * A + x]!;
        if (p > 0) hs -= p * Math.log(p) * LOG2E;
      }
      h += pi[s]! * hs;
    }
    this.entropyRateBits = h;
    let h0 = 0;
    for (let s = 0; s < S; s++) {
      const p = pi[s]!;
      if (p > 0) h0 -= p * Math.log(p) * LOG2E;
    }
    this.initialEntropyBits = h0;
    this.cum = new Float64Array(S * A);
    for (let s = 0; s < S; s++) {
      let c = 0;
      for (let x = 0; x < A; x++) {
        c += P[s * A + x]!;
        this.cum[s * A + x] = c;
      }
    }
    this.cumPi = new Float64Array(S);
    let c = 0;
    for (let s = 0; s < S; s++) {
      c += pi[s]!;
      this.cumPi[s] = c;
    }
  }

  /** Expected information of an n-symbol document, in bits. */
  expectedDocBits(n: number): number {
    return n <= this.order ? NaN : this.initialEntropyBits + (n - this.order) * this.entropyRateBits;
  }

  /** Generates n ≥ order symbols starting from the stationary distribution. */
  generate(rng: Rng, n: number): MarkovDocument {
    const A = this.alphabet.length;
    const S = this.numStates;
    const k = this.order;
    if (n < k) throw new DataError(`markov: document length ${n} is shorter than the order ${k}`);
    const out = new Int32Array(n);
    let bits = 0;
    let s = 0;
    if (k > 0) {
      s = sampleCum(this.cumPi, 0, S, rng.float());
      bits -= Math.log(this.stationary[s]!) * LOG2E;
      // Unpack the context into its k symbols (most significant = oldest).
      let v = s;
      for (let i = k - 1; i >= 0; i--) {
        out[i] = v % A;
        v = Math.floor(v / A);
      }
    }
    for (let i = k; i < n; i++) {
      const x = sampleCum(this.cum, s * A, A, rng.float());
      bits -= Math.log(this.P[s * A + x]!) * LOG2E;
      out[i] = x;
      s = S === 1 ? 0 : (s * A + x) % S;
    }
    return { symbols: out, surprisalBits: bits };
  }
}

/** Index i in [0, n) with cum[off + i] > u (cum non-decreasing, last ≈ 1). */
function sampleCum(cum: Float64Array, off: number, n: number, u: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[off + mid]! > u) hi = mid; else lo = mid + 1;
  }
  // Guard against rounding (cum[last] slightly < 1): skip zero-probability tail entries.
  while (lo > 0 && cum[off + lo]! === cum[off + lo - 1]!) lo--;
  return lo;
}
