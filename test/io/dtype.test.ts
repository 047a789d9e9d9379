// Float conversions checked against independent computations: the IEEE formulas evaluated in float64
// (exhaustively over all 65536 halves / bfloats), brute-force nearest-value search with ties-to-even for
// the rounding direction (every midpoint between neighbours tested, plus random bit patterns), and,
// where python3 with torch is installed, torch's own .to(float16/bfloat16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f16BitsToF32, toF32 } from '../../src/io/dtype.ts';

/** f16 value by the textbook formula (float64 arithmetic, exact). */
function f16Formula(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** bf16 value by formula: 1 sign, 8 exponent, 7 mantissa bits. */
function bf16Formula(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0) return s * m * 2 ** -133;
  if (e === 255) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 128) * 2 ** (e - 127);
}

function same(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test('f16 → f32 is exact for all 65536 bit patterns (subnormals, ±0, ±inf, NaN)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const out = f16ToF32(all);
  for (let h = 0; h < 65536; h++) {
    const want = f16Formula(h);
    assert.ok(same(out[h]!, want), `f16 0x${h.toString(16)}: got ${out[h]}, want ${want}`);
    assert.ok(same(f16BitsToF32(h), want), `f16BitsToF32 0x${h.toString(16)}`);
  }
  // NaN payload and sign survive the table path
  const u = new Uint32Array(f16ToF32(new Uint16Array([0xfc01, 0x7e00])).buffer);
  assert.equal(u[0], 0xff802000);
  assert.equal(u[1], 0x7fc00000);
});

test('bf16 → f32 is exact for all 65536 bit patterns', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const out = bf16ToF32(all);
  for (let h = 0; h < 65536; h++) assert.ok(same(out[h]!, bf16Formula(h)), `bf16 0x${h.toString(16)}`);
});

/** Brute-force round-to-nearest-even into a format whose non-negative finite values are vals[0..maxBits]. */
function bruteRound(x: number, vals: Float64Array, maxBits: number, infBits: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const max = vals[maxBits]!;
  const ulpTop = max - vals[maxBits - 1]!;
  if (a >= max + ulpTop / 2) return sign | infBits; // at or past the midpoint to the next (inf): ties go to even = inf
  let lo = 0;
  let hi = maxBits;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (vals[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (a >= max) return sign | maxBits;
  const dl = a - vals[lo]!;
  const dh = vals[hi]! - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

function f32Of(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
}

function checkRounding(name: string, conv: (s: Float32Array) => Uint16Array, formula: (h: number) => number, maxBits: number, infBits: number) {
  const vals = new Float64Array(maxBits + 1).map((_, i) => formula(i));
  const xs: number[] = [];
  // every midpoint between neighbours (representable in f32), and its f32 neighbours
  for (let i = 0; i < maxBits; i++) {
    const m = (vals[i]! + vals[i + 1]!) / 2;
    const f = Math.fround(m);
    if (f !== m) continue; // not representable (cannot happen for f16 / bf16 ranges, kept as a guard)
    const b = new Uint32Array(new Float32Array([f]).buffer)[0]!;
    xs.push(f, f32Of(b + 1), b > 0 ? f32Of(b - 1) : 0, -f);
  }
  // random bit patterns (uniform over all f32) and random values in the format's range
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  for (let i = 0; i < 200000; i++) xs.push(f32Of(rnd()));
  for (let i = 0; i < 100000; i++) xs.push(Math.fround((rnd() / 2 ** 32 - 0.5) * 2 * vals[maxBits]! * 1.01));
  xs.push(0, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, 1e-45, -1e-45);
  const src = Float32Array.from(xs);
  const got = conv(src);
  for (let i = 0; i < src.length; i++) {
    const want = bruteRound(src[i]!, vals, maxBits, infBits);
    if (want === -1) {
      assert.ok(Number.isNaN(formula(got[i]!)), `${name}: NaN input gave 0x${got[i]!.toString(16)}`);
      continue;
    }
    assert.equal(got[i], want, `${name}(${src[i]}): got 0x${got[i]!.toString(16)}, want 0x${want.toString(16)}`);
  }
}

test('f32 → f16 rounds to nearest, ties to even (brute force over all midpoints + random)', () => {
  checkRounding('f32ToF16', (s) => f32ToF16(s), f16Formula, 0x7bff, 0x7c00);
});

test('f32 → bf16 rounds to nearest, ties to even (brute force over all midpoints + random)', () => {
  checkRounding('f32ToBf16', (s) => f32ToBf16(s), bf16Formula, 0x7f7f, 0x7f80);
});

test('unaligned and odd-length inputs take the one-at-a-time path with the same results', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const b = bf16ToF32(all);
  const h = f16ToF32(all);
  const u = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const sub = all.subarray(1); // byteOffset 2: not 4-aligned
  assert.deepEqual(u(bf16ToF32(sub)), u(b).subarray(1));
  assert.deepEqual(u(f16ToF32(sub)), u(h).subarray(1));
  const odd = all.subarray(2, 2 + 12345); // aligned, odd length
  assert.deepEqual(u(bf16ToF32(odd)), u(b).subarray(2, 2 + 12345));
  assert.deepEqual(u(f16ToF32(odd)), u(h).subarray(2, 2 + 12345));
});

test('f16 and bf16 survive f32 round trips bit-exactly (all non-NaN patterns)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back16 = f32ToF16(f16ToF32(all));
  const backB = f32ToBf16(bf16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    if (!Number.isNaN(f16Formula(h))) assert.equal(back16[h], h, `f16 0x${h.toString(16)}`);
    else assert.ok(Number.isNaN(f16Formula(back16[h]!)));
    if (!Number.isNaN(bf16Formula(h))) assert.equal(backB[h], h, `bf16 0x${h.toString(16)}`);
    else assert.ok(Number.isNaN(bf16Formula(backB[h]!)));
  }
});

test('toF32 converts integers, f64 and bool with IEEE rounding', () => {
  assert.deepEqual([...toF32('I8', Int8Array.from([-128, 127, 0]))], [-128, 127, 0]);
  assert.deepEqual([...toF32('U32', Uint32Array.from([4294967295, 16777217]))], [4294967296, 16777216]);
  assert.deepEqual([...toF32('I64', BigInt64Array.from([-(2n ** 63n), 5n]))], [-(2 ** 63), 5]);
  assert.deepEqual([...toF32('U64', BigUint64Array.from([2n ** 64n - 1n]))], [2 ** 64]);
  assert.deepEqual([...toF32('BOOL', Uint8Array.from([0, 1, 7]))], [0, 1, 1]);
  assert.deepEqual([...toF32('F64', Float64Array.from([1 + 2 ** -24, 1 + 3 * 2 ** -24, 1e300]))], [1, 1 + 2 ** -22, Infinity]);
});

test('f16 / bf16 rounding agrees with torch (skipped without python3 + torch)', (t) => {
  const py = `
import sys, struct, torch
n = int(sys.argv[1]); g = torch.Generator().manual_seed(7)
bits = torch.randint(0, 2**32, (n,), generator=g, dtype=torch.int64).to(torch.int32)
x = bits.view(torch.float32)
x = torch.cat([x, torch.randn(n, generator=g) * 1000, torch.randn(n, generator=g) * 1e-5])
x = x[~torch.isnan(x)]
sys.stdout.buffer.write(struct.pack('<I', x.numel()))
sys.stdout.buffer.write(x.numpy().tobytes())
sys.stdout.buffer.write(x.to(torch.float16).view(torch.int16).numpy().tobytes())
sys.stdout.buffer.write(x.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
`;
  // the python on PATH may lack torch while the Debian one (python3-torch) has it
  const candidates = [process.env.LMLAB_PYTHON, 'python3', '/usr/bin/python3'].filter((x): x is string => !!x);
  let r = spawnSync('false');
  for (const exe of candidates) {
    r = spawnSync(exe, ['-c', py, '20000'], { maxBuffer: 1 << 26, timeout: 60000 });
    if (r.status === 0) break;
  }
  if (r.status !== 0 || !r.stdout || r.stdout.length < 4) {
    t.skip('python3 with torch not available');
    return;
  }
  const buf = new Uint8Array(r.stdout);
  const n = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
  const copy = (off: number, bytes: number) => buf.slice(4 + off, 4 + off + bytes).buffer;
  const x = new Float32Array(copy(0, 4 * n));
  const h = new Uint16Array(copy(4 * n, 2 * n));
  const b = new Uint16Array(copy(6 * n, 2 * n));
  assert.deepEqual(f32ToF16(x), h);
  assert.deepEqual(f32ToBf16(x), b);
});
