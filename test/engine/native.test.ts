/**
 * The native backend against the reference backend (f32), kernel by kernel, on random data and on shapes
 * that are not multiples of any tile (1, 3, 17, 65, 129 ...). Skipped (with the reason) when the addon is
 * not built. GEMM-based kernels run once per GEMM strategy compiled in (OpenBLAS split / OpenBLAS threads /
 * built-in), so the built-in GEMM is tested even in an OpenBLAS build.
 *
 * Tolerances: the reference accumulates in float64 and rounds once; the native kernels accumulate in float32
 * (GEMM, attention) or float64 (norm statistics, logsumexp, column sums). We accept
 * |got - want| <= rtol * |want| + atol * max|want| with rtol = atol = 1e-5 unless a case says otherwise
 * (long float32 dot products get an atol that grows like sqrt(K) * 2^-24).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError, type Arr, type Backend, type KVBias } from '../../src/engine/backend.ts';
import {
  createNativeBackend, measureGemmGflops, nativeAvailable, nativeInfo, setNativeGemmMode, threadEnvDefaults,
  type NativeGemmMode,
} from '../../src/engine/native/index.ts';
import { createRefBackend } from '../../src/engine/ref/index.ts';

const available = nativeAvailable();
const skip: string | false = available ? false : `native addon unavailable: ${nativeInfo().error}`;
const nat: Backend | null = available ? createNativeBackend() : null;
const ref = createRefBackend('f32');
const info = available ? nativeInfo().info! : null;
const gemmModes: NativeGemmMode[] = info?.blas === 'openblas' ? ['split', 'threads', 'builtin'] : ['builtin'];

// ------------------------------------------------------------------ helpers
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(12345);
function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}
function ints(n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo));
  return a;
}
function copy(a: Float32Array): Float32Array {
  return a.slice();
}

function close(name: string, got: Arr, want: Arr, rtol = 1e-5, atol = 1e-5, n = want.length): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = -1, worstErr = 0;
  for (let i = 0; i < n; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    const err = Math.abs(g - w);
    const lim = rtol * Math.abs(w) + atol * scale;
    if (!(err <= lim) && (worst < 0 || err - lim > worstErr)) {
      worst = i;
      worstErr = err - lim;
    }
  }
  if (worst >= 0) {
    assert.fail(`${name}: element ${worst} is ${got[worst]}, expected ${want[worst]} (scale ${scale}, rtol ${rtol}, atol ${atol})`);
  }
}

function withModes(fn: (mode: NativeGemmMode) => void): void {
  try {
    for (const m of gemmModes) {
      setNativeGemmMode(m);
      fn(m);
    }
  } finally {
    setNativeGemmMode('auto');
  }
}

// ------------------------------------------------------------------ environment defaults (no addon needed)
test('native: thread and OpenBLAS core-type defaults', () => {
  const zen4 = 'fpu vme sse4_2 avx avx2 fma avx512f avx512dq avx512_bf16';
  assert.deepEqual(threadEnvDefaults({}, zen4, 16), { OMP_NUM_THREADS: '16', OPENBLAS_NUM_THREADS: '16', OPENBLAS_CORETYPE: 'SkylakeX' });
  assert.deepEqual(threadEnvDefaults({ OPENBLAS_CORETYPE: 'Zen', OMP_NUM_THREADS: '3' }, zen4, 2), { OPENBLAS_NUM_THREADS: '2' });
  assert.deepEqual(threadEnvDefaults({ OMP_NUM_THREADS: '', OPENBLAS_NUM_THREADS: '1' }, 'fpu sse4_2 avx avx2 fma', 2),
    { OMP_NUM_THREADS: '2' });
  assert.deepEqual(threadEnvDefaults({}, 'avx512fx avx512vl', 1), { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
});

// ------------------------------------------------------------------ info and errors
test('native: info reports the build', { skip }, () => {
  const i = info!;
  assert.ok(i.blas === 'openblas' || i.blas === 'builtin');
  assert.ok(i.threads >= 1);
  assert.equal(nat!.name, 'native');
  assert.equal(nat!.dtype, 'f32');
  assert.equal(nat!.threads, i.threads);
  if (i.blas === 'openblas') {
    assert.match(i.blasConfig, /OpenBLAS/);
    assert.ok(i.coreType.length > 0);
    assert.equal(i.gemmMode, 'split');
  }
  const gf = measureGemmGflops(0.05);
  assert.ok(gf > 0.1 && Number.isFinite(gf), `measureGemmGflops ${gf}`);
});

test('native: bad arguments throw BackendError, never write out of bounds', { skip }, () => {
  const b = nat!;
  const A = new Float32Array(12), B = new Float32Array(12), C = new Float32Array(8);
  assert.throws(() => b.gemm(false, false, 3, 3, 4, 1, A, B, 0, C), BackendError); // C needs 9
  assert.throws(() => b.gemm(false, false, 3, 3, 5, 1, A, new Float32Array(15), 0, new Float32Array(9)), /A has 12 elements/);
  assert.throws(() => b.gemm(false, false, 2, 2, 2, 1, A, B, 0, C, 3, 4, 4, 4), /C has 8 elements, expected at least 12/);
  assert.throws(() => b.gemm(false, false, 1.5, 2, 2, 1, A, B, 0, C), /M must be a non-negative integer/);
  assert.throws(() => b.add(new Float64Array(4), new Float64Array(4), new Float64Array(4), 4), /Float32Array/);
  assert.throws(() => b.embedForward(new Float32Array(8), new Int32Array([0, 4]), new Float32Array(16), null, 2, 2, 4),
    /ids\[1\] = 4 is outside the embedding table \[0, 4\)/);
  assert.throws(() => b.crossEntropyForward(new Float32Array(1), new Float32Array(3), new Int32Array([3]), 1, 3), /targets\[0\] = 3/);
  assert.throws(() => b.attentionForward(new Float32Array(8), new Float32Array(4), new Float32Array(24), null,
    { B: 1, T: 2, H: 2, KV: 1, D: 2 }), /att has 4 elements, expected at least 8/);
  assert.throws(() => b.attentionForward(new Float32Array(8), new Float32Array(8), new Float32Array(24), null,
    { B: 1, T: 2, H: 3, KV: 2, D: 2 }), /H % KV/);
  assert.throws(() => b.attentionDecode(new Float32Array(4), null, new Float32Array(8), new Float32Array(8),
    new Float32Array(8), null, { B: 1, T: 1, H: 1, KV: 1, D: 4, pos0: 2, Tmax: 2 }), /exceeds the cache length/);
  assert.throws(() => b.rotaryForward(new Float32Array(12), { B: 1, T: 1, H: 1, KV: 1, D: 4, rot: 3, base: 1e4, pos0: 0 }),
    /rot must be even/);
  assert.throws(() => b.geluForward(new Float32Array(2), new Float32Array(2), 2, 'relu' as 'erf'), BackendError);
  assert.throws(() => b.adamw(new Float32Array(2), new Float32Array(2), new Float32Array(2), new Float32Array(2), 2,
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 0, gradScale: 1 }), /step/);
  // a view whose underlying buffer is larger must still be bounded by the view's own length
  const big = new Float32Array(100);
  assert.throws(() => b.accumulate(big.subarray(10, 20), big.subarray(50, 70), 11), /dst has 10 elements/);
});

// ------------------------------------------------------------------ GEMM
const gemmShapes: [number, number, number][] = [
  [1, 1, 1], [3, 17, 5], [17, 65, 129], [129, 3, 65], [65, 129, 17], [1, 129, 300], [1, 1, 65], [300, 1, 17],
  [97, 130, 257], [5, 3100, 3], [200, 257, 300], [2, 2, 0],
];

test('native: gemm agrees with ref (all transposes, alpha/beta, odd shapes, every GEMM strategy)', { skip }, () => {
  for (const [M, N, K] of gemmShapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]]) {
        const A = randn(M * K), B = randn(K * N);
        const C0 = beta === 0 ? new Float32Array(M * N).fill(NaN) : randn(M * N); // beta = 0: C is not read
        const Cr = copy(C0);
        ref.gemm(ta, tb, M, N, K, alpha, A, B, beta, Cr);
        withModes((mode) => {
          const Cn = copy(C0);
          nat!.gemm(ta, tb, M, N, K, alpha, A, B, beta, Cn);
          close(`gemm[${mode}] ${M}x${N}x${K} tA=${ta} tB=${tb} a=${alpha} b=${beta}`, Cn, Cr, 1e-5,
            2e-6 * Math.sqrt(Math.max(K, 1)));
        });
      }
    }
  }
});

test('native: batched gemm with strides (incl. broadcast B) and subarray views', { skip }, () => {
  withModes((mode) => {
    for (const [M, N, K, batch] of [[3, 5, 7, 4], [17, 65, 33, 3], [64, 64, 64, 5], [2, 3, 1, 7]]) {
      // default dense strides
      const A = randn(batch * M * K), B = randn(batch * K * N), C0 = randn(batch * M * N);
      const Cn = copy(C0), Cr = copy(C0);
      nat!.gemm(false, true, M, N, K, 1, A, B, 0.5, Cn, batch);
      ref.gemm(false, true, M, N, K, 1, A, B, 0.5, Cr, batch);
      close(`batched[${mode}] ${M}x${N}x${K}x${batch}`, Cn, Cr, 1e-5, 1e-5);
      // broadcast B (stride 0) and padded A / C strides
      const sA = M * K + 3, sC = M * N + 5;
      const A2 = randn(batch * sA), B2 = randn(K * N), C2 = randn(batch * sC);
      const Cn2 = copy(C2), Cr2 = copy(C2);
      nat!.gemm(true, false, M, N, K, 2, A2, B2, 1, Cn2, batch, sA, 0, sC);
      ref.gemm(true, false, M, N, K, 2, A2, B2, 1, Cr2, batch, sA, 0, sC);
      close(`batched-bcast[${mode}] ${M}x${N}x${K}x${batch}`, Cn2, Cr2, 1e-5, 1e-5);
    }
    // subarray views with unaligned byte offsets
    const M = 19, N = 23, K = 29;
    const bufA = randn(M * K + 7), bufB = randn(K * N + 3), bufC = randn(M * N + 11);
    const A = bufA.subarray(7), B = bufB.subarray(1, 1 + K * N), C = bufC.subarray(5, 5 + M * N);
    const before = copy(bufC);
    const want = copy(C);
    ref.gemm(false, false, M, N, K, 1, A, B, 1, want);
    nat!.gemm(false, false, M, N, K, 1, A, B, 1, C);
    close(`views[${mode}]`, C, want);
    for (let i = 0; i < 5; i++) assert.equal(bufC[i], before[i], 'bytes before the view untouched');
    for (let i = 5 + M * N; i < bufC.length; i++) assert.equal(bufC[i], before[i], 'bytes after the view untouched');
  });
});

// ------------------------------------------------------------------ linear
test('native: linear forward/backward agree with ref (with/without bias, null dinp)', { skip }, () => {
  withModes((mode) => {
    for (const [N, IC, OC] of [[1, 1, 1], [17, 65, 129], [3, 129, 17], [130, 65, 67]]) {
      for (const bias of [true, false]) {
        const inp = randn(N * IC), w = randn(OC * IC), b = bias ? randn(OC) : null;
        const on = new Float32Array(N * OC), or = new Float32Array(N * OC);
        nat!.linearForward(on, inp, w, b, N, IC, OC);
        ref.linearForward(or, inp, w, b, N, IC, OC);
        close(`linearForward[${mode}] ${N},${IC},${OC} bias=${bias}`, on, or, 1e-5, 2e-6 * Math.sqrt(IC));
        const dout = randn(N * OC);
        for (const withDinp of [true, false]) {
          const di0 = randn(N * IC), dw0 = randn(OC * IC), db0 = randn(OC);
          const din = withDinp ? copy(di0) : null, dir = withDinp ? copy(di0) : null;
          const dwn = copy(dw0), dwr = copy(dw0);
          const dbn = bias ? copy(db0) : null, dbr = bias ? copy(db0) : null;
          nat!.linearBackward(din, dwn, dbn, dout, inp, w, N, IC, OC);
          ref.linearBackward(dir, dwr, dbr, dout, inp, w, N, IC, OC);
          const tag = `linearBackward[${mode}] ${N},${IC},${OC} bias=${bias} dinp=${withDinp}`;
          if (din && dir) close(`${tag} dinp`, din, dir, 1e-5, 2e-6 * Math.sqrt(OC));
          close(`${tag} dw`, dwn, dwr, 1e-5, 2e-6 * Math.sqrt(N));
          if (dbn && dbr) close(`${tag} db`, dbn, dbr);
        }
      }
    }
  });
});

// ------------------------------------------------------------------ embeddings
test('native: embedding forward/backward agree with ref (repeated ids, with/without wpe)', { skip }, () => {
  for (const [B, T, C, V] of [[1, 1, 1, 1], [2, 17, 65, 5], [8, 64, 129, 300]]) {
    const BT = B * T;
    const ids = ints(BT, 0, V), wte = randn(V * C), wpe = randn(T * C);
    for (const pos of [true, false]) {
      const on = new Float32Array(BT * C), or = new Float32Array(BT * C);
      nat!.embedForward(on, ids, wte, pos ? wpe : null, BT, T, C);
      ref.embedForward(or, ids, wte, pos ? wpe : null, BT, T, C);
      close(`embedForward ${B},${T},${C} wpe=${pos}`, on, or, 0, 0);
      const dout = randn(BT * C), dte = randn(V * C), dpe = randn(T * C);
      const dten = copy(dte), dter = copy(dte), dpen = copy(dpe), dper = copy(dpe);
      nat!.embedBackward(dten, pos ? dpen : null, dout, ids, BT, T, C);
      ref.embedBackward(dter, pos ? dper : null, dout, ids, BT, T, C);
      close(`embedBackward dwte ${B},${T},${C}`, dten, dter, 0, 0);
      close(`embedBackward dwpe ${B},${T},${C}`, dpen, dper, 0, 0);
    }
  }
});

// ------------------------------------------------------------------ norms
test('native: layernorm and rmsnorm forward/backward agree with ref', { skip }, () => {
  for (const [N, C] of [[1, 1], [3, 17], [65, 129], [257, 384]]) {
    const inp = randn(N * C, 3), w = randn(C), b = randn(C);
    for (const bias of [true, false]) {
      const on = new Float32Array(N * C), or = new Float32Array(N * C);
      const mn = new Float32Array(N), mr = new Float32Array(N), rn = new Float32Array(N), rr = new Float32Array(N);
      nat!.layernormForward(on, mn, rn, inp, w, bias ? b : null, N, C, 1e-5);
      ref.layernormForward(or, mr, rr, inp, w, bias ? b : null, N, C, 1e-5);
      close(`layernormForward ${N},${C} out`, on, or);
      close(`layernormForward ${N},${C} mean`, mn, mr);
      close(`layernormForward ${N},${C} rstd`, rn, rr);
      const dout = randn(N * C), di0 = randn(N * C), dw0 = randn(C), db0 = randn(C);
      const din = copy(di0), dir = copy(di0), dwn = copy(dw0), dwr = copy(dw0);
      const dbn = copy(db0), dbr = copy(db0);
      nat!.layernormBackward(din, dwn, bias ? dbn : null, dout, inp, w, mr, rr, N, C);
      ref.layernormBackward(dir, dwr, bias ? dbr : null, dout, inp, w, mr, rr, N, C);
      close(`layernormBackward ${N},${C} dinp`, din, dir, 1e-5, 2e-5);
      close(`layernormBackward ${N},${C} dw`, dwn, dwr, 1e-5, 2e-5);
      close(`layernormBackward ${N},${C} db`, dbn, dbr);
    }
    const on = new Float32Array(N * C), or = new Float32Array(N * C);
    const rn = new Float32Array(N), rr = new Float32Array(N);
    nat!.rmsnormForward(on, rn, inp, w, N, C, 1e-6);
    ref.rmsnormForward(or, rr, inp, w, N, C, 1e-6);
    close(`rmsnormForward ${N},${C} out`, on, or);
    close(`rmsnormForward ${N},${C} rstd`, rn, rr);
    const dout = randn(N * C), di0 = randn(N * C), dw0 = randn(C);
    const din = copy(di0), dir = copy(di0), dwn = copy(dw0), dwr = copy(dw0);
    nat!.rmsnormBackward(din, dwn, dout, inp, w, rr, N, C);
    ref.rmsnormBackward(dir, dwr, dout, inp, w, rr, N, C);
    close(`rmsnormBackward ${N},${C} dinp`, din, dir, 1e-5, 2e-5);
    close(`rmsnormBackward ${N},${C} dw`, dwn, dwr, 1e-5, 2e-5);
  }
});

// ------------------------------------------------------------------ activations
test('native: gelu (erf, tanh) and swiglu agree with ref, including the tails', { skip }, () => {
  const n = 70001; // above the parallel threshold, odd
  const inp = randn(n, 6);
  const special = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 3, -3, 5.5, -5.5, 8, -8, 10, -10, 12, -12, 20, -20, 40, -40, 100, -100];
  inp.set(special, 0);
  for (const kind of ['erf', 'tanh'] as const) {
    const on = new Float32Array(n), or = new Float32Array(n);
    nat!.geluForward(on, inp, n, kind);
    ref.geluForward(or, inp, n, kind);
    // relative accuracy where |gelu| is not negligible, absolute 1e-5 * max elsewhere (far left tail)
    close(`gelu ${kind} forward`, on, or, 2e-6, 1e-7);
    const dout = randn(n), d0 = randn(n);
    const dn = copy(d0), dr = copy(d0);
    nat!.geluBackward(dn, inp, dout, n, kind);
    ref.geluBackward(dr, inp, dout, n, kind);
    close(`gelu ${kind} backward`, dn, dr, 1e-5, 1e-6);
  }
  const gate = randn(n, 8), up = randn(n);
  const on = new Float32Array(n), or = new Float32Array(n);
  nat!.swigluForward(on, gate, up, n);
  ref.swigluForward(or, gate, up, n);
  close('swiglu forward', on, or, 2e-6, 1e-7);
  const dout = randn(n), g0 = randn(n), u0 = randn(n);
  const dgn = copy(g0), dgr = copy(g0), dun = copy(u0), dur = copy(u0);
  nat!.swigluBackward(dgn, dun, dout, gate, up, n);
  ref.swigluBackward(dgr, dur, dout, gate, up, n);
  close('swiglu backward dgate', dgn, dgr, 1e-5, 1e-6);
  close('swiglu backward dup', dun, dur, 1e-5, 1e-6);
});

// ------------------------------------------------------------------ rotary
test('native: rotary forward/backward agree with ref (full and partial rot, GQA, pos0)', { skip }, () => {
  for (const s of [
    { B: 2, T: 17, H: 4, KV: 2, D: 16, rot: 16, base: 10000, pos0: 0 },
    { B: 1, T: 65, H: 3, KV: 3, D: 64, rot: 16, base: 10000, pos0: 7 }, // NeoX rotary_pct = 0.25
    { B: 3, T: 1, H: 2, KV: 1, D: 6, rot: 2, base: 500000, pos0: 300 },
    { B: 1, T: 3, H: 2, KV: 2, D: 8, rot: 8, base: 10000, pos0: 70000 }, // beyond the cached table
  ]) {
    const n = s.B * s.T * (s.H + 2 * s.KV) * s.D;
    const x = randn(n);
    const xn = copy(x), xr = copy(x);
    nat!.rotaryForward(xn, s);
    ref.rotaryForward(xr, s);
    close(`rotaryForward ${JSON.stringify(s)}`, xn, xr, 1e-5, 1e-6);
    const g = randn(n), gn = copy(g), gr = copy(g);
    nat!.rotaryBackward(gn, s);
    ref.rotaryBackward(gr, s);
    close(`rotaryBackward ${JSON.stringify(s)}`, gn, gr, 1e-5, 1e-6);
    nat!.rotaryBackward(xn, s); // inverse of the forward
    close(`rotary round trip ${JSON.stringify(s)}`, xn, x, 1e-5, 1e-6);
  }
});

// ------------------------------------------------------------------ attention
const attnShapes = [
  { B: 2, T: 65, H: 4, KV: 2, D: 16 }, // GQA, crosses the 64-row block
  { B: 1, T: 1, H: 2, KV: 2, D: 8 },
  { B: 3, T: 17, H: 3, KV: 1, D: 3 }, // MQA, odd D
  { B: 1, T: 129, H: 2, KV: 2, D: 64 },
];

test('native: attention forward/backward agree with ref (GQA, kvBias, dkvBias null)', { skip }, () => {
  for (const s of attnShapes) {
    const { B, T, H, KV, D } = s;
    const qkv = randn(B * T * (H + 2 * KV) * D, 2);
    for (const withBias of [false, true]) {
      const kvb: KVBias | null = withBias ? { k: randn(H * D, 2), v: randn(H * D) } : null;
      const e = withBias ? 1 : 0;
      const or = new Float32Array(B * T * H * D), ar = new Float32Array(B * H * T * (T + e));
      ref.attentionForward(or, ar, qkv, kvb, s);
      const dout = randn(or.length);
      const backs = (withBias ? [true, false] : [false]).map((withDBias) => {
        const d0 = randn(qkv.length), gk = randn(H * D), gv = randn(H * D);
        const dr = copy(d0);
        const gr = withDBias ? { dk: copy(gk), dv: copy(gv) } : null;
        ref.attentionBackward(dr, gr, dout, qkv, ar, kvb, s);
        return { withDBias, d0, gk, gv, dr, gr };
      });
      withModes((mode) => {
        const tag = `attention[${mode}] ${JSON.stringify(s)} bias=${withBias}`;
        const on = new Float32Array(or.length), an = new Float32Array(ar.length).fill(NaN);
        nat!.attentionForward(on, an, qkv, kvb, s);
        close(`${tag} out`, on, or, 1e-5, 1e-5);
        close(`${tag} att`, an, ar, 1e-5, 1e-6);
        for (const { withDBias, d0, gk, gv, dr, gr } of backs) {
          const dn = copy(d0);
          const gn = withDBias ? { dk: copy(gk), dv: copy(gv) } : null;
          nat!.attentionBackward(dn, gn, dout, qkv, ar, kvb, s);
          close(`${tag} dqkv dbias=${withDBias}`, dn, dr, 1e-5, 2e-5);
          if (gn && gr) {
            close(`${tag} dk'`, gn.dk, gr.dk, 1e-5, 2e-5);
            close(`${tag} dv'`, gn.dv, gr.dv, 1e-5, 2e-5);
          }
        }
      });
    }
  }
});

test('native: attentionDecode agrees with ref (prefill then single steps, att null or not, kvBias)', { skip }, () => {
  withModes((mode) => {
    for (const s0 of [{ B: 2, H: 4, KV: 2, D: 16 }, { B: 1, H: 3, KV: 1, D: 64 }]) {
      const { B, H, KV, D } = s0;
      const Tmax = 80;
      for (const withBias of [false, true]) {
        const kvb: KVBias | null = withBias ? { k: randn(H * D, 2), v: randn(H * D) } : null;
        const e = withBias ? 1 : 0;
        const kcn = new Float32Array(B * KV * Tmax * D), vcn = new Float32Array(B * KV * Tmax * D);
        const kcr = new Float32Array(B * KV * Tmax * D), vcr = new Float32Array(B * KV * Tmax * D);
        let pos0 = 0;
        for (const Tn of [67, 1, 1, 3, 1]) {
          const s = { ...s0, T: Tn, pos0, Tmax };
          const qkv = randn(B * Tn * (H + 2 * KV) * D, 2);
          const on = new Float32Array(B * Tn * H * D), or = new Float32Array(B * Tn * H * D);
          const L = pos0 + Tn + e;
          const withAtt = Tn !== 3;
          const an = withAtt ? new Float32Array(B * H * Tn * L).fill(NaN) : null;
          const ar = withAtt ? new Float32Array(B * H * Tn * L) : null;
          nat!.attentionDecode(on, an, qkv, kcn, vcn, kvb, s);
          ref.attentionDecode(or, ar, qkv, kcr, vcr, kvb, s);
          const tag = `decode[${mode}] ${JSON.stringify(s)} bias=${withBias}`;
          close(`${tag} out`, on, or, 1e-5, 1e-5);
          if (an && ar) close(`${tag} att`, an, ar, 1e-5, 1e-6);
          close(`${tag} kCache`, kcn, kcr, 0, 0);
          close(`${tag} vCache`, vcn, vcr, 0, 0);
          pos0 += Tn;
        }
      }
    }
  });
});

test('native: attentionDecode over a full prefill equals attentionForward', { skip }, () => {
  const s = { B: 2, T: 33, H: 4, KV: 2, D: 8 };
  const qkv = randn(s.B * s.T * (s.H + 2 * s.KV) * s.D);
  const kvb = { k: randn(s.H * s.D), v: randn(s.H * s.D) };
  const o1 = new Float32Array(s.B * s.T * s.H * s.D), o2 = new Float32Array(o1.length);
  const a1 = new Float32Array(s.B * s.H * s.T * (s.T + 1)), a2 = new Float32Array(a1.length);
  nat!.attentionForward(o1, a1, qkv, kvb, s);
  const kc = new Float32Array(s.B * s.KV * 40 * s.D), vc = new Float32Array(kc.length);
  nat!.attentionDecode(o2, a2, qkv, kc, vc, kvb, { ...s, pos0: 0, Tmax: 40 });
  close('decode == forward out', o2, o1, 1e-6, 1e-6);
  close('decode == forward att', a2, a1, 1e-6, 1e-6);
});

// ------------------------------------------------------------------ loss
test('native: cross-entropy forward/backward and logSoftmax agree with ref (ignored targets)', { skip }, () => {
  for (const [N, V] of [[1, 1], [3, 3], [17, 129], [65, 1000], [64, 50257]]) {
    const logits = randn(N * V, 8);
    const targets = ints(N, -1, V); // some -1: ignored
    const ln = new Float32Array(N), lr = new Float32Array(N);
    nat!.crossEntropyForward(ln, logits, targets, N, V);
    ref.crossEntropyForward(lr, logits, targets, N, V);
    close(`crossEntropyForward ${N},${V}`, ln, lr, 1e-5, 1e-6);
    const dloss = randn(N), d0 = randn(N * V, 1e-3);
    const dn = copy(d0), dr = copy(d0);
    nat!.crossEntropyBackward(dn, logits, targets, dloss, N, V);
    ref.crossEntropyBackward(dr, logits, targets, dloss, N, V);
    close(`crossEntropyBackward ${N},${V}`, dn, dr, 1e-5, 1e-6);
    const on = copy(logits), or = new Float32Array(N * V);
    nat!.logSoftmax(on, on, N, V); // in place
    ref.logSoftmax(or, logits, N, V);
    close(`logSoftmax ${N},${V}`, on, or, 1e-6, 1e-6);
  }
});

// ------------------------------------------------------------------ elementwise, reductions, optimizer
test('native: add, accumulate, sumSquares, allFinite, adamw agree with ref', { skip }, () => {
  for (const n of [0, 1, 17, 129, 100003]) {
    const a = randn(n), b = randn(n);
    const on = new Float32Array(n), or = new Float32Array(n);
    nat!.add(on, a, b, n);
    ref.add(or, a, b, n);
    close(`add ${n}`, on, or, 0, 0);
    const inPlace = copy(a);
    nat!.add(inPlace, inPlace, b, n);
    close(`add in place ${n}`, inPlace, or, 0, 0);
    const dn = copy(a), dr = copy(a);
    nat!.accumulate(dn, b, n);
    ref.accumulate(dr, b, n);
    close(`accumulate ${n}`, dn, dr, 0, 0);
    const ssn = nat!.sumSquares(a, n), ssr = ref.sumSquares(a, n);
    assert.ok(Math.abs(ssn - ssr) <= 1e-12 * Math.max(1, ssr), `sumSquares ${n}: ${ssn} vs ${ssr}`);
    assert.equal(nat!.allFinite(a, n), true);
    if (n > 0) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const x = copy(a);
        x[n - 1] = bad;
        assert.equal(nat!.allFinite(x, n), false, `allFinite ${n} with ${bad} last`);
        assert.equal(nat!.allFinite(x, n - 1), true, 'allFinite only looks at the first n');
      }
    }
    const p = randn(n), g = randn(n), m = randn(n, 0.1), v = randn(n, 0.01).map(Math.abs);
    const pn = copy(p), pr = copy(p), mn = copy(m), mr = copy(m), vn = copy(v), vr = copy(v);
    for (const step of [1, 2, 1000]) {
      const args = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, gradScale: 0.5 };
      nat!.adamw(pn, g, mn, vn, n, args);
      ref.adamw(pr, g, mr, vr, n, args);
    }
    close(`adamw p ${n}`, pn, pr, 1e-6, 1e-7);
    close(`adamw m ${n}`, mn, mr, 1e-5, 1e-7);
    close(`adamw v ${n}`, vn, vr, 1e-5, 1e-7);
  }
});

// ------------------------------------------------------------------ thread pool
test('native: thousands of back-to-back parallel calls stay correct and deterministic', { skip }, () => {
  const n = 50_000; // above the parallel threshold: every call is a pool job
  const a = randn(n), b = randn(n), out = new Float32Array(n);
  const want = new Float32Array(n);
  ref.add(want, a, b, n);
  const ss0 = nat!.sumSquares(a, n);
  const N = 512, C = 384, x = randn(N * C), w = randn(C), y = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
  const dx = new Float32Array(N * C), dw = new Float32Array(C), dw0 = new Float32Array(C);
  nat!.layernormBackward(dx, dw0, null, x, x, w, mean.fill(0.1), rstd.fill(2), N, C);
  for (let it = 0; it < 3000; it++) {
    const k = it % 3;
    if (k === 0) {
      out.fill(0);
      nat!.add(out, a, b, n);
      if (it % 300 === 0) close(`add #${it}`, out, want, 0, 0);
    } else if (k === 1) {
      assert.equal(nat!.sumSquares(a, n), ss0, `sumSquares #${it} is deterministic`);
    } else {
      nat!.layernormForward(y, mean, rstd, x, w, null, N, C, 1e-5);
      dw.fill(0);
      nat!.layernormBackward(dx, dw, null, x, x, w, mean.fill(0.1), rstd.fill(2), N, C);
      if (it % 300 === 2) assert.deepEqual(dw, dw0, `layernormBackward dw #${it} is deterministic`);
    }
  }
});
