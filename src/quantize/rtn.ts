/**
 * Round-to-nearest asymmetric quantization (DOMAIN.md §5):
 *   Δ = (max − min) / (2^bits − 1),  q = round((x − min) / Δ) with round-half-to-even (as torch.round),
 *   x̂ = Δ·q + min.
 * Degenerate ranges (max = min) give Δ = 0, q = 0, x̂ = min. Values outside [min, max] (after clipping) are
 * clamped to q ∈ [0, 2^bits − 1].
 *
 * Granularity: per tensor (block = 0) or block-wise, blocks of `block` consecutive elements within one row of
 * a [rows, cols] matrix (a block never crosses a row; the last block of a row may be shorter).
 *
 * Options, each applied per block:
 * - hold-out: given flat indices (super weights) and/or outliers with |z| > zOutlier (z from the block's
 *   mean and UNBIASED standard deviation) are excluded from min/max, quantized as the rest would be, and
 *   restored in full precision afterwards;
 * - z-score clipping (Yu et al.): the range is [max(min, μ − z·s), min(max, μ + z·s)], s the unbiased std of
 *   the block's non-held-out values; values beyond are clamped;
 * - clipping search: shrink the range by α ∈ grid (default 1, 0.95, …, 0.5: [α·min, α·max] around 0, or
 *   around the midpoint when 0 is outside the range) and keep the α with the least squared error.
 */

/** Round half to even (banker's rounding), as torch.round / numpy.round. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // rounds .5 up
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

export class QuantizeError extends Error {
  override name = 'QuantizeError';
}

/** Quantization step of a range. */
export function quantStep(min: number, max: number, bits: number): number {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 16)) throw new QuantizeError(`bits: expected an integer in [1, 16], got ${bits}`);
  return (max - min) / (2 ** bits - 1);
}

/** Quantize one value given (min, Δ, levels − 1). */
export function quantizeValue(x: number, min: number, step: number, qmax: number): number {
  if (step === 0) return 0;
  const q = roundHalfEven((x - min) / step);
  return q < 0 ? 0 : q > qmax ? qmax : q;
}

/** Quantize and dequantize a vector with its own min and max: codes, Δ, min and x̂. */
export function quantizeVector(x: ArrayLike<number>, bits: number): { q: Int32Array; step: number; min: number; xhat: Float64Array } {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    min = Math.min(min, x[i]!);
    max = Math.max(max, x[i]!);
  }
  const step = quantStep(min, max, bits), qmax = 2 ** bits - 1;
  const q = new Int32Array(x.length), xhat = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    q[i] = quantizeValue(x[i]!, min, step, qmax);
    xhat[i] = step * q[i]! + min;
  }
  return { q, step, min, xhat };
}

export type ClipOption = { kind: 'none' } | { kind: 'zscore'; z: number } | { kind: 'search'; grid?: number[] };

export interface QuantOptions {
  bits: number;
  /** elements per block within a row; 0 = one block for the whole tensor */
  block: number;
  clip?: ClipOption;
  /** flat indices kept in full precision (super weights) */
  holdOut?: readonly number[];
  /** also keep entries with |z| > zOutlier in full precision (z per block, unbiased std) */
  zOutlier?: number;
}

export interface QuantizedTensor {
  /** dequantized values (held-out entries restored) */
  xhat: Float32Array;
  /** codes (0 at held-out entries) */
  q: Uint8Array | Uint16Array;
  /** per block: Δ and min */
  blocks: { step: number; min: number }[];
  /** flat indices kept in full precision */
  heldOut: number[];
  /** sum of squared errors over all entries */
  sse: number;
  /** storage in bits: codes + 32 bits (fp16 Δ and min) per block + 64 bits (fp32 value + int32 index) per held-out entry */
  bits: number;
}

const DEFAULT_GRID = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5];

/** Quantize a [rows, cols] tensor (row-major) with the options; `x` is not modified. */
export function quantizeTensor(x: ArrayLike<number>, rows: number, cols: number, o: QuantOptions): QuantizedTensor {
  const n = rows * cols;
  if (x.length !== n) throw new QuantizeError(`tensor has ${x.length} values; shape [${rows}, ${cols}] needs ${n}`);
  if (!(Number.isInteger(o.block) && o.block >= 0)) throw new QuantizeError(`block: expected an integer ≥ 0, got ${o.block}`);
  const qmax = 2 ** o.bits - 1;
  quantStep(0, 1, o.bits); // validates bits
  const xhat = new Float32Array(n), q = o.bits <= 8 ? new Uint8Array(n) : new Uint16Array(n);
  const held = new Set(o.holdOut ?? []);
  for (const i of held) if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new QuantizeError(`holdOut: index ${i} is outside the tensor [0, ${n})`);
  const clip = o.clip ?? { kind: 'none' };
  const blocks: { step: number; min: number }[] = [];
  const heldOut: number[] = [];
  let sse = 0;
  // block ranges
  const ranges: [number, number][] = [];
  if (o.block === 0) ranges.push([0, n]);
  else for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s += o.block) ranges.push([r * cols + s, r * cols + Math.min(cols, s + o.block)]);
  for (const [a, b] of ranges) {
    // members: indices not held out
    const keep: number[] = [];
    const isHeld = (i: number): boolean => held.has(i);
    for (let i = a; i < b; i++) if (!isHeld(i)) keep.push(i);
    if (o.zOutlier !== undefined && keep.length > 1) {
      const { mean, std } = unbiased(keep.map((i) => x[i]!));
      const out = keep.filter((i) => std > 0 && Math.abs((x[i]! - mean) / std) > o.zOutlier!);
      for (const i of out) held.add(i);
      if (out.length) keep.splice(0, keep.length, ...keep.filter((i) => !held.has(i)));
    }
    let lo = Infinity, hi = -Infinity;
    for (const i of keep) {
      lo = Math.min(lo, x[i]!);
      hi = Math.max(hi, x[i]!);
    }
    if (keep.length === 0) lo = hi = 0;
    if (clip.kind === 'zscore' && keep.length > 1) {
      const { mean, std } = unbiased(keep.map((i) => x[i]!));
      lo = Math.max(lo, mean - clip.z * std);
      hi = Math.min(hi, mean + clip.z * std);
    } else if (clip.kind === 'search' && keep.length > 1) {
      let best = { err: Infinity, lo, hi };
      for (const alpha of clip.grid ?? DEFAULT_GRID) {
        const [l2, h2] = shrink(lo, hi, alpha);
        const step = (h2 - l2) / qmax;
        let err = 0;
        for (const i of keep) {
          const d = step * quantizeValue(x[i]!, l2, step, qmax) + l2 - x[i]!;
          err += d * d;
        }
        if (err < best.err) best = { err, lo: l2, hi: h2 };
      }
      lo = best.lo;
      hi = best.hi;
    }
    const step = (hi - lo) / qmax;
    blocks.push({ step, min: lo });
    for (let i = a; i < b; i++) {
      if (held.has(i)) {
        q[i] = 0;
        xhat[i] = x[i]!;
        heldOut.push(i);
        continue;
      }
      q[i] = quantizeValue(x[i]!, lo, step, qmax);
      xhat[i] = step * q[i]! + lo;
      const d = xhat[i]! - x[i]!;
      sse += d * d;
    }
  }
  return { xhat, q, blocks, heldOut, sse, bits: n * o.bits + 32 * blocks.length + 64 * heldOut.length };
}

/** Shrink [lo, hi] by α towards 0 when 0 is inside, else towards the midpoint. */
function shrink(lo: number, hi: number, alpha: number): [number, number] {
  if (lo <= 0 && hi >= 0) return [alpha * lo, alpha * hi];
  const mid = (lo + hi) / 2, half = ((hi - lo) / 2) * alpha;
  return [mid - half, mid + half];
}

/** Mean and unbiased (n − 1) standard deviation. */
export function unbiased(xs: readonly number[]): { mean: number; std: number } {
  const n = xs.length;
  if (n < 2) return { mean: xs[0] ?? NaN, std: 0 };
  const m = xs.reduce((a, b) => a + b, 0) / n;
  let v = 0;
  for (const x of xs) v += (x - m) * (x - m);
  return { mean: m, std: Math.sqrt(v / (n - 1)) };
}
