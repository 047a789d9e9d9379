/**
 * Safetensors dtypes and exact float conversions (little-endian storage, as the format requires).
 *
 * - bf16 → f32 is exact: the bf16 bits are the top half of the f32 bits.
 * - f16 → f32 is exact for every one of the 65536 values (subnormals, ±0, ±inf, NaN payloads kept).
 * - f32 → bf16 / f16 round to nearest, ties to even (IEEE 754 default); overflow gives ±inf; NaN stays
 *   NaN (quiet, sign kept).
 */

/** Every dtype lmlab reads and writes. */
export const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'] as const;
export type Dtype = (typeof DTYPES)[number];

/** Dtypes the safetensors format defines that lmlab does not handle (named in errors so users know why). */
export const KNOWN_UNSUPPORTED_DTYPES = ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64', 'C128'] as const;

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && (DTYPES as readonly string[]).includes(s);
}

/** The typed array each dtype is read into (F16 / BF16 as their raw bits in Uint16Array, BOOL as 0/1 bytes). */
export interface DtypeArrayMap {
  F64: Float64Array; F32: Float32Array; F16: Uint16Array; BF16: Uint16Array;
  I64: BigInt64Array; I32: Int32Array; I16: Int16Array; I8: Int8Array;
  U64: BigUint64Array; U32: Uint32Array; U16: Uint16Array; U8: Uint8Array; BOOL: Uint8Array;
}
export type DtypeArray = DtypeArrayMap[Dtype];

type Ctor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): DtypeArray; readonly BYTES_PER_ELEMENT: number };
const CTOR: Readonly<Record<Dtype, Ctor>> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array,
  I64: BigInt64Array, I32: Int32Array, I16: Int16Array, I8: Int8Array,
  U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};

/** The constructor of the typed array for a dtype. */
export function arrayCtor(dtype: Dtype): Ctor {
  return CTOR[dtype];
}

/** View `bytes` (length a multiple of the element size, byteOffset aligned) as the dtype's typed array. No copy. */
export function viewAs<D extends Dtype>(dtype: D, bytes: Uint8Array): DtypeArrayMap[D] {
  const C = CTOR[dtype];
  return new C(bytes.buffer, bytes.byteOffset, bytes.byteLength / C.BYTES_PER_ELEMENT) as DtypeArrayMap[D];
}

// ------------------------------------------------------------------ bf16

/** bf16 bits → f32, exact. `out.length` ≥ `bits.length`. */
export function bf16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const n = bits.length;
  const o = new Uint32Array(out.buffer, out.byteOffset, n);
  if (bits.byteOffset % 4 === 0) {
    // two halves per 32-bit load (~1.6× faster than one at a time)
    const w = new Uint32Array(bits.buffer, bits.byteOffset, n >>> 1);
    const m = w.length;
    for (let i = 0; i < m; i++) {
      const x = w[i]!;
      o[2 * i] = x << 16;
      o[2 * i + 1] = x & 0xffff0000;
    }
    if (n & 1) o[n - 1] = bits[n - 1]! << 16;
  } else {
    for (let i = 0; i < n; i++) o[i] = bits[i]! << 16;
  }
  return out;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Round the f32 bit pattern `x` to bf16 bits, nearest-even. */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x0040) & 0xffff; // NaN: keep sign and top payload, force quiet
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** f32 → bf16 bits, round to nearest even. */
export function f32ToBf16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const s = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < s.length; i++) out[i] = f32BitsToBf16(s[i]!);
  return out;
}

/** One number → bf16 bits (the number is first rounded to f32; for exact f64 inputs use values already in f32). */
export function toBf16Bits(v: number): number {
  f32buf[0] = v;
  return f32BitsToBf16(u32buf[0]!);
}

// ------------------------------------------------------------------ f16

let F16_TABLE: Float32Array | null = null;

/** f16 bits → f32 value for one half (exact, by bit manipulation). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  let bits: number;
  if (exp === 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
  } else if (exp !== 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13); // normal: rebias 15 → 127
  } else if (mant === 0) {
    bits = sign; // ±0
  } else {
    // subnormal: value = mant · 2^-24; normalise
    let e = 113; // exponent field for 2^-14 in f32 is 127-14 = 113
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
  }
  u32buf[0] = bits >>> 0;
  return f32buf[0]!;
}

function f16Table(): Float32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    t[h] = f16BitsToF32(h);
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) {
      // NaN: write the bits directly so the payload survives (a float store may canonicalise it)
      u[h] = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
    }
  }
  F16_TABLE = t;
  return t;
}

/** f16 bits → f32, exact (table lookup). `out.length` ≥ `bits.length`. */
export function f16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const t = new Uint32Array(f16Table().buffer);
  const n = bits.length;
  const o = new Uint32Array(out.buffer, out.byteOffset, n);
  if (bits.byteOffset % 4 === 0) {
    const w = new Uint32Array(bits.buffer, bits.byteOffset, n >>> 1);
    const m = w.length;
    for (let i = 0; i < m; i++) {
      const x = w[i]!;
      o[2 * i] = t[x & 0xffff]!;
      o[2 * i + 1] = t[x >>> 16]!;
    }
    if (n & 1) o[n - 1] = t[bits[n - 1]!]!;
  } else {
    for (let i = 0; i < n; i++) o[i] = t[bits[i]!]!;
  }
  return out;
}

/** Round the f32 bit pattern `x` to f16 bits, nearest-even; overflow → ±inf; NaN → quiet NaN. */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  // unbiased exponent e = exp - 127; f16 normal range e ∈ [-14, 15]
  if (exp >= 143) return sign | 0x7c00; // ≥ 2^16: overflow
  if (exp >= 113) {
    // normal in f16 (before rounding): keep 10 of 23 mantissa bits
    const base = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    const half = 0x1000;
    const up = rest > half || (rest === half && (base & 1) === 1) ? 1 : 0;
    return sign | (base + up); // a carry into the exponent is correct, including to 0x7c00 = inf
  }
  if (exp < 102) return sign; // < 2^-25: rounds to ±0 (2^-25 exactly is handled below, ties to even → 0)
  // subnormal in f16: value = m · 2^-24 with m = (1.mant) · 2^(e + 24)
  const full = mant | 0x800000; // 24-bit significand, value = full · 2^(exp - 150)
  const shift = 126 - exp; // we want full · 2^(exp-150) / 2^-24 = full >> (126 - exp)
  const base = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  const up = rest > half || (rest === half && (base & 1) === 1) ? 1 : 0;
  return sign | (base + up); // a carry to 0x400 is the smallest normal, correctly encoded
}

/** f32 → f16 bits, round to nearest even. */
export function f32ToF16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const s = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < s.length; i++) out[i] = f32BitsToF16(s[i]!);
  return out;
}

/** One number → f16 bits (rounded to f32 first). */
export function toF16Bits(v: number): number {
  f32buf[0] = v;
  return f32BitsToF16(u32buf[0]!);
}

/**
 * Convert `src` (a typed array of `dtype`, as read from a file) to f32 into `out` (length ≥ src.length).
 * Integers and f64 round to nearest f32 (I64/U64 pass through a double first: exact below 2^53).
 * BOOL gives 0 / 1 (any non-zero byte is 1).
 */
export function toF32(dtype: Dtype, src: DtypeArray, out: Float32Array = new Float32Array(src.length)): Float32Array {
  switch (dtype) {
    case 'BF16':
      return bf16ToF32(src as Uint16Array, out);
    case 'F16':
      return f16ToF32(src as Uint16Array, out);
    case 'I64':
    case 'U64': {
      const s = src as BigInt64Array | BigUint64Array;
      for (let i = 0; i < s.length; i++) out[i] = Number(s[i]!);
      return out;
    }
    case 'BOOL': {
      const s = src as Uint8Array;
      for (let i = 0; i < s.length; i++) out[i] = s[i] ? 1 : 0;
      return out;
    }
    default:
      // F64, F32, I32, I16, I8, U32, U16, U8: TypedArray.set converts with IEEE round-to-nearest-even
      out.set(src as Float64Array, 0);
      return out;
  }
}
