// The reference backend is the oracle other backends are tested against, so it is tested here against
// independent computations: central finite differences (every backward kernel, f64 mode), naive loops,
// hand-computed values, and numbers printed by PyTorch 1.13 (float64) and Python's math.erf.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError, type KVBias } from '../../src/engine/backend.ts';
import { RefBackend, createRefBackend } from '../../src/engine/ref/index.ts';
import { erf, erfc } from '../../src/engine/ref/special.ts';

const be = new RefBackend('f64');

// ---------------------------------------------------------------- helpers
function rng(seed: number): () => number {
  // mulberry32, mapped to [-1, 1)
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}
const r = rng(12345);
function rand(n: number, scale = 1): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = r() * scale;
  return x;
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** max |a - b| / max |b| (infinity-norm relative error). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  const s = maxAbs(b);
  return s === 0 ? m : m / s;
}
function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, msg: string): void {
  const e = relErr(a, b);
  assert.ok(e <= tol, `${msg}: relative error ${e.toExponential(3)} > ${tol}`);
}
/** |a - b| <= tol, with a message (assert.ok without one can hang under tsx while it reads the source). */
function near(a: number, b: number, tol: number, msg: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b} (tolerance ${tol})`);
}
function numGrad(x: Float64Array, loss: () => number, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = loss();
    x[i] = x0 - h;
    const lm = loss();
    x[i] = x0;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

interface Wrt { name: string; x: Float64Array; g: Float64Array }
/**
 * Fills each gradient buffer with random "prior" values, calls backward twice, and checks
 * (1) after one call, g - prior matches central finite differences of loss w.r.t. x (relative error < tol);
 * (2) after two calls, g - prior is twice the single-call gradient (backward accumulates).
 */
function gradcheck(label: string, wrt: Wrt[], loss: () => number, backward: () => void, tol = 1e-6): void {
  const prior = wrt.map((w) => {
    const p = rand(w.g.length);
    w.g.set(p);
    return p;
  });
  backward();
  const once = wrt.map((w, i) => w.g.map((v, j) => v - prior[i][j]));
  backward();
  wrt.forEach((w, i) => {
    const twice = w.g.map((v, j) => v - prior[i][j]);
    assertClose(twice, once[i].map((v) => 2 * v), 1e-12, `${label}: d${w.name} accumulates`);
  });
  wrt.forEach((w, i) => {
    assert.ok(maxAbs(once[i]) > 0, `${label}: d${w.name} is all zeros`);
    assertClose(once[i], numGrad(w.x, loss), tol, `${label}: d${w.name} vs finite differences`);
  });
}

// ---------------------------------------------------------------- gradient checks
describe('ref backend (f64): backward vs central finite differences, accumulate semantics', () => {
  test('linear (with and without bias, null dinp/db)', () => {
    const N = 3, IC = 5, OC = 7;
    for (const withBias of [true, false]) {
      const inp = rand(N * IC), w = rand(OC * IC), b = withBias ? rand(OC) : null, R = rand(N * OC);
      const loss = () => {
        const out = be.alloc(N * OC);
        be.linearForward(out, inp, w, b, N, IC, OC);
        return dot(out, R);
      };
      const dinp = rand(N * IC), dw = rand(OC * IC), db = rand(OC);
      const wrt: Wrt[] = [{ name: 'inp', x: inp, g: dinp }, { name: 'w', x: w, g: dw }];
      if (b) wrt.push({ name: 'b', x: b, g: db });
      gradcheck(`linear bias=${withBias}`, wrt, loss, () =>
        be.linearBackward(dinp, dw, b ? db : null, R, inp, w, N, IC, OC));
    }
    // dinp = null and db = null: dw is still computed
    const inp = rand(N * IC), w = rand(OC * IC), R = rand(N * OC), dw = new Float64Array(OC * IC);
    be.linearBackward(null, dw, null, R, inp, w, N, IC, OC);
    const dw2 = new Float64Array(OC * IC);
    be.linearBackward(new Float64Array(N * IC), dw2, new Float64Array(OC), R, inp, w, N, IC, OC);
    assert.deepEqual(dw, dw2);
  });

  test('embedding (with and without wpe, repeated ids)', () => {
    const B = 2, T = 3, C = 5, V = 4;
    const ids = Int32Array.from([1, 3, 1, 0, 1, 2]);
    for (const withPos of [true, false]) {
      const wte = rand(V * C), wpe = withPos ? rand(T * C) : null, R = rand(B * T * C);
      const loss = () => {
        const out = be.alloc(B * T * C);
        be.embedForward(out, ids, wte, wpe, B * T, T, C);
        return dot(out, R);
      };
      const dwte = rand(V * C), dwpe = rand(T * C);
      const wrt: Wrt[] = [{ name: 'wte', x: wte, g: dwte }];
      if (wpe) wrt.push({ name: 'wpe', x: wpe, g: dwpe });
      gradcheck(`embed wpe=${withPos}`, wrt, loss, () => be.embedBackward(dwte, wpe ? dwpe : null, R, ids, B * T, T, C));
    }
  });

  test('layernorm (with and without bias)', () => {
    const N = 3, C = 5, eps = 1e-5;
    for (const withBias of [true, false]) {
      const inp = rand(N * C, 2), w = rand(C), b = withBias ? rand(C) : null, R = rand(N * C);
      const mean = be.alloc(N), rstd = be.alloc(N);
      be.layernormForward(be.alloc(N * C), mean, rstd, inp, w, b, N, C, eps);
      const loss = () => {
        const out = be.alloc(N * C);
        be.layernormForward(out, be.alloc(N), be.alloc(N), inp, w, b, N, C, eps);
        return dot(out, R);
      };
      const dinp = rand(N * C), dw = rand(C), db = rand(C);
      const wrt: Wrt[] = [{ name: 'inp', x: inp, g: dinp }, { name: 'w', x: w, g: dw }];
      if (b) wrt.push({ name: 'b', x: b, g: db });
      gradcheck(`layernorm bias=${withBias}`, wrt, loss, () =>
        be.layernormBackward(dinp, dw, b ? db : null, R, inp, w, mean, rstd, N, C));
    }
  });

  test('rmsnorm', () => {
    const N = 3, C = 5, eps = 1e-6;
    const inp = rand(N * C, 2), w = rand(C), R = rand(N * C), rstd = be.alloc(N);
    be.rmsnormForward(be.alloc(N * C), rstd, inp, w, N, C, eps);
    const loss = () => {
      const out = be.alloc(N * C);
      be.rmsnormForward(out, be.alloc(N), inp, w, N, C, eps);
      return dot(out, R);
    };
    const dinp = rand(N * C), dw = rand(C);
    gradcheck('rmsnorm', [{ name: 'inp', x: inp, g: dinp }, { name: 'w', x: w, g: dw }], loss, () =>
      be.rmsnormBackward(dinp, dw, R, inp, w, rstd, N, C));
  });

  for (const kind of ['erf', 'tanh'] as const) {
    test(`gelu ${kind}`, () => {
      const n = 13;
      const inp = rand(n, 4), R = rand(n);
      const loss = () => {
        const out = be.alloc(n);
        be.geluForward(out, inp, n, kind);
        return dot(out, R);
      };
      const dinp = rand(n);
      gradcheck(`gelu ${kind}`, [{ name: 'inp', x: inp, g: dinp }], loss, () => be.geluBackward(dinp, inp, R, n, kind));
    });
  }

  test('swiglu', () => {
    const n = 13;
    const gate = rand(n, 4), up = rand(n, 2), R = rand(n);
    const loss = () => {
      const out = be.alloc(n);
      be.swigluForward(out, gate, up, n);
      return dot(out, R);
    };
    const dgate = rand(n), dup = rand(n);
    gradcheck('swiglu', [{ name: 'gate', x: gate, g: dgate }, { name: 'up', x: up, g: dup }], loss, () =>
      be.swigluBackward(dgate, dup, R, gate, up, n));
  });

  test('rotary (partial and full rot; backward is the transpose, in place)', () => {
    const B = 2, T = 4, H = 4, KV = 2, D = 6;
    for (const rot of [4, 6]) {
      const s = { B, T, H, KV, D, rot, base: 100, pos0: 3 };
      const n = B * T * (H + 2 * KV) * D;
      const x = rand(n), R = rand(n);
      const loss = () => {
        const y = Float64Array.from(x);
        be.rotaryForward(y, s);
        return dot(y, R);
      };
      const g = Float64Array.from(R);
      be.rotaryBackward(g, s);
      assertClose(g, numGrad(x, loss), 1e-6, `rotary rot=${rot}: backward vs finite differences`);
    }
  });

  const attnCases = [
    { B: 2, T: 4, H: 4, KV: 2, D: 6 }, // GQA
    { B: 1, T: 5, H: 3, KV: 3, D: 4 }, // MHA
    { B: 2, T: 3, H: 2, KV: 1, D: 5 }, // MQA
  ];
  for (const s of attnCases) {
    for (const withBias of [false, true]) {
      test(`attention B=${s.B} T=${s.T} H=${s.H} KV=${s.KV} D=${s.D} kvBias=${withBias}`, () => {
        const { B, T, H, KV, D } = s;
        const e = withBias ? 1 : 0;
        const qkv = rand(B * T * (H + 2 * KV) * D, 1.5), R = rand(B * T * H * D);
        const kb: KVBias | null = withBias ? { k: rand(H * D, 1.5), v: rand(H * D) } : null;
        const att = be.alloc(B * H * T * (T + e));
        be.attentionForward(be.alloc(B * T * H * D), att, qkv, kb, s);
        const loss = () => {
          const out = be.alloc(B * T * H * D);
          be.attentionForward(out, be.alloc(B * H * T * (T + e)), qkv, kb, s);
          return dot(out, R);
        };
        const dqkv = rand(qkv.length), dk = rand(H * D), dv = rand(H * D);
        const wrt: Wrt[] = [{ name: 'qkv', x: qkv, g: dqkv }];
        if (kb) wrt.push({ name: 'kvBias.k', x: kb.k as Float64Array, g: dk }, { name: 'kvBias.v', x: kb.v as Float64Array, g: dv });
        gradcheck(`attention kvBias=${withBias}`, wrt, loss, () =>
          be.attentionBackward(dqkv, kb ? { dk, dv } : null, R, qkv, att, kb, s));
      });
    }
  }

  test('cross-entropy (ignored targets get no gradient)', () => {
    const N = 5, V = 7;
    const logits = rand(N * V, 3), targets = Int32Array.from([2, -1, 6, 0, -100]), dloss = rand(N);
    const loss = () => {
      const l = be.alloc(N);
      be.crossEntropyForward(l, logits, targets, N, V);
      return dot(l, dloss);
    };
    const dlogits = rand(N * V);
    const before = Float64Array.from(dlogits);
    gradcheck('cross-entropy', [{ name: 'logits', x: logits, g: dlogits }], loss, () =>
      be.crossEntropyBackward(dlogits, logits, targets, dloss, N, V));
    // the prior was replaced inside gradcheck; check rows 1 and 4 directly
    const g = new Float64Array(N * V);
    be.crossEntropyBackward(g, logits, targets, dloss, N, V);
    for (const row of [1, 4]) for (let v = 0; v < V; v++) assert.equal(g[row * V + v], 0);
    assert.equal(before.length, dlogits.length);
  });
});

// ---------------------------------------------------------------- forward values
describe('ref backend: forward values vs independent computations', () => {
  function naiveGemm(
    tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float64Array, B: Float64Array, beta: number, C: Float64Array, oA = 0, oB = 0, oC = 0,
  ): void {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const a = tA ? A[oA + k * M + i] : A[oA + i * K + k];
          const b = tB ? B[oB + j * K + k] : B[oB + k * N + j];
          s += a * b;
        }
        C[oC + i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C[oC + i * N + j]);
      }
    }
  }

  test('gemm: all 4 transpose combos, batched, alpha/beta, beta=0 ignores NaN in C', () => {
    const M = 3, N = 5, K = 4, batch = 3;
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (const [alpha, beta] of [[1, 0], [0.7, -0.3]]) {
          const A = rand(batch * M * K), B = rand(batch * K * N), C0 = rand(batch * M * N);
          if (beta === 0) C0.fill(NaN);
          const C = Float64Array.from(C0), E = Float64Array.from(C0);
          be.gemm(tA, tB, M, N, K, alpha, A, B, beta, C, batch);
          for (let p = 0; p < batch; p++) naiveGemm(tA, tB, M, N, K, alpha, A, B, beta, E, p * M * K, p * K * N, p * M * N);
          assertClose(C, E, 1e-14, `gemm tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`);
          // batch 1 with the default strides
          const C1 = Float64Array.from(C0.subarray(0, M * N)), E1 = Float64Array.from(C1);
          be.gemm(tA, tB, M, N, K, alpha, A, B, beta, C1);
          naiveGemm(tA, tB, M, N, K, alpha, A, B, beta, E1);
          assertClose(C1, E1, 1e-14, `gemm batch=1 tA=${tA} tB=${tB}`);
        }
      }
    }
    // explicit strides: B shared by every batch item (strideB = 0), C padded
    const A = rand(batch * M * K), B = rand(K * N), C = new Float64Array(batch * (M * N + 2)), E = new Float64Array(C.length);
    be.gemm(false, false, M, N, K, 1, A, B, 0, C, batch, M * K, 0, M * N + 2);
    for (let p = 0; p < batch; p++) naiveGemm(false, false, M, N, K, 1, A, B, 0, E, p * M * K, 0, p * (M * N + 2));
    assertClose(C, E, 1e-14, 'gemm strideB=0');
  });

  test('gemm and linear in f32 mode agree with f64 to float32 rounding', () => {
    const f32 = createRefBackend('f32');
    const M = 7, N = 9, K = 33;
    const A = rand(M * K), B = rand(K * N);
    const C64 = new Float64Array(M * N), C32 = f32.alloc(M * N);
    be.gemm(false, false, M, N, K, 1, A, B, 0, C64);
    f32.gemm(false, false, M, N, K, 1, Float32Array.from(A), Float32Array.from(B), 0, C32);
    assert.ok(C32 instanceof Float32Array, 'f32 alloc gives a Float32Array');
    assertClose(C32, C64, 1e-6, 'gemm f32 vs f64');
    const out32 = f32.alloc(M * N), out64 = new Float64Array(M * N), w = rand(N * K), b = rand(N);
    f32.linearForward(out32, Float32Array.from(A), Float32Array.from(w), Float32Array.from(b), M, K, N);
    be.linearForward(out64, A, w, b, M, K, N);
    assertClose(out32, out64, 1e-6, 'linear f32 vs f64');
  });

  test('linear forward vs naive loop', () => {
    const N = 3, IC = 5, OC = 4;
    const inp = rand(N * IC), w = rand(OC * IC), b = rand(OC), out = be.alloc(N * OC);
    be.linearForward(out, inp, w, b, N, IC, OC);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OC; o++) {
        let s = b[o];
        for (let i = 0; i < IC; i++) s += inp[n * IC + i] * w[o * IC + i];
        near(out[n * OC + o], s, 1e-14, `linear out[${n},${o}]`);
      }
    }
  });

  test('embedding forward picks rows and adds positions', () => {
    const C = 2;
    const wte = Float64Array.from([0, 1, 10, 11, 20, 21]), wpe = Float64Array.from([100, 200, 300, 400]);
    const out = be.alloc(4 * C);
    be.embedForward(out, Int32Array.from([2, 0, 1, 1]), wte, wpe, 4, 2, C);
    assert.deepEqual([...out], [120, 221, 300, 401, 110, 211, 310, 411]);
    assert.throws(() => be.embedForward(out, Int32Array.from([3, 0, 0, 0]), wte, null, 4, 2, C), BackendError);
  });

  test('layernorm and rmsnorm: hand-computed rows', () => {
    const out = be.alloc(4), mean = be.alloc(1), rstd = be.alloc(1);
    be.layernormForward(out, mean, rstd, Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 1, 2, 1]),
      Float64Array.from([0, 0, 0, 0.5]), 1, 4, 0);
    const s = Math.sqrt(1.25); // mean 2.5, biased variance 1.25
    near(mean[0], 2.5, 1e-15, 'layernorm mean');
    near(rstd[0], 1 / s, 1e-15, 'layernorm rstd');
    assertClose(out, [-1.5 / s, -0.5 / s, 1 / s, 1.5 / s + 0.5], 1e-15, 'layernorm row');
    // eps enters as 1/sqrt(var + eps)
    be.layernormForward(out, mean, rstd, Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 1, 1, 1]), null, 1, 4, 0.75);
    near(rstd[0], 1 / Math.sqrt(2), 1e-15, 'layernorm rstd with eps');
    const o2 = be.alloc(2), r2 = be.alloc(1);
    be.rmsnormForward(o2, r2, Float64Array.from([3, 4]), Float64Array.from([1, 2]), 1, 2, 0);
    assertClose(o2, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], 1e-15, 'rmsnorm row');
  });

  test('erf / erfc vs Python math.erf / math.erfc', () => {
    const erfRef: [number, number][] = [
      [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [1.5, 0.9661051464753108],
      [2, 0.9953222650189527], [3, 0.9999779095030014],
    ];
    for (const [x, e] of erfRef) {
      assert.ok(Math.abs(erf(x) - e) <= 4e-16 * e, `erf(${x}) = ${erf(x)}, expected ${e}`);
      assert.ok(Math.abs(erf(-x) + e) <= 4e-16 * e, `erf(${-x})`);
    }
    const erfcRef: [number, number][] = [
      [1.5, 0.033894853524689274], [2, 0.004677734981047265], [3, 2.2090496998585438e-5],
      [5, 1.5374597944280351e-12], [10, 2.088487583762545e-45], [20, 5.3958656116079005e-176],
    ];
    for (const [x, e] of erfcRef) assert.ok(Math.abs(erfc(x) - e) <= 1e-13 * e, `erfc(${x}) = ${erfc(x)}, expected ${e}`);
    assert.equal(erf(0), 0);
    assert.equal(erf(40), 1);
    assert.equal(erf(-40), -1);
    assert.ok(Number.isNaN(erf(NaN)), 'erf(NaN) is NaN');
  });

  test('gelu erf and tanh vs PyTorch F.gelu (float64)', () => {
    const x = Float64Array.from([-6, -3, -1.5, -0.5, -1e-3, 0, 0.3, 1, 2.5, 5]);
    const torchErf = [-5.919525869479969e-9, -0.00404969409489031, -0.10021080190328704, -0.15426876936299344,
      -0.000499601057786089, 0, 0.1853734266566858, 0.841344746068543, 2.4844758366855597, 4.999998566742141];
    const torchTanh = [-8.43964897967453e-11, -0.0036373920817729943, -0.10042842301976707, -0.15428599017485606,
      -0.000499601057786418, 0, 0.18537092354275922, 0.8411919906082768, 2.484915733910001, 4.999999770820381];
    for (const [kind, ref] of [['erf', torchErf], ['tanh', torchTanh]] as const) {
      const out = be.alloc(x.length);
      be.geluForward(out, x, x.length, kind);
      for (let i = 0; i < x.length; i++) {
        assert.ok(Math.abs(out[i] - ref[i]) <= 1e-15 + 1e-12 * Math.abs(ref[i]), `gelu ${kind}(${x[i]}) = ${out[i]}, torch ${ref[i]}`);
      }
    }
  });

  test('swiglu: hand-computed value', () => {
    const out = be.alloc(2);
    be.swigluForward(out, Float64Array.from([1, -800]), Float64Array.from([2, 3]), 2);
    near(out[0], 2 / (1 + Math.exp(-1)), 1e-15, 'swiglu(1, 2)');
    assert.ok(Object.is(out[1], -0) || out[1] === 0, 'silu(-800) underflows to 0, no NaN');
  });

  test('rotary: identity at pos 0, hand-computed angles, norms preserved, other dims untouched, inverse', () => {
    const B = 2, T = 3, H = 4, KV = 2, D = 6, W = (H + 2 * KV) * D;
    const x = rand(B * W); // T = 1 at pos0 = 0
    const y = Float64Array.from(x);
    be.rotaryForward(y, { B, T: 1, H, KV, D, rot: 4, base: 10000, pos0: 0 });
    assert.deepEqual(y, x);
    // D = 4, rot = 4, base = 100: inv_freq = [1, 0.1]; token at pos 2: angles 2 and 0.2 for pairs (0,2), (1,3)
    const q = Float64Array.from([1, 2, 3, 4, /* k */ 5, 6, 7, 8, /* v */ 9, 10, 11, 12]);
    be.rotaryForward(q, { B: 1, T: 1, H: 1, KV: 1, D: 4, rot: 4, base: 100, pos0: 2 });
    const rot = (x1: number, x2: number, a: number) => [x1 * Math.cos(a) - x2 * Math.sin(a), x2 * Math.cos(a) + x1 * Math.sin(a)];
    const [q0, q2] = rot(1, 3, 2), [q1, q3] = rot(2, 4, 0.2), [k0, k2] = rot(5, 7, 2), [k1, k3] = rot(6, 8, 0.2);
    assertClose(q, [q0, q1, q2, q3, k0, k1, k2, k3, 9, 10, 11, 12], 1e-15, 'rotary hand-computed');
    // partial rotation: norms of every q/k head preserved, dims >= rot and value heads untouched
    const s = { B, T, H, KV, D, rot: 4, base: 10000, pos0: 5 };
    const a = rand(B * T * W), z = Float64Array.from(a);
    be.rotaryForward(z, s);
    for (let tok = 0; tok < B * T; tok++) {
      for (let head = 0; head < H + 2 * KV; head++) {
        const o = tok * W + head * D;
        const n0 = dot(a.subarray(o, o + 4), a.subarray(o, o + 4)), n1 = dot(z.subarray(o, o + 4), z.subarray(o, o + 4));
        assert.ok(Math.abs(n0 - n1) < 1e-14, 'norm preserved');
        for (let d = head < H + KV ? 4 : 0; d < D; d++) assert.equal(z[o + d], a[o + d]);
      }
    }
    be.rotaryBackward(z, s); // the inverse rotation
    assertClose(z, a, 1e-15, 'rotaryBackward inverts rotaryForward');
  });

  /** Independent attention: full score matrix with -Infinity masking, softmax per row. */
  function naiveAttention(qkv: Float64Array, kb: KVBias | null, B: number, T: number, H: number, KV: number, D: number) {
    const W = (H + 2 * KV) * D, e = kb ? 1 : 0;
    const out = new Float64Array(B * T * H * D), att = new Float64Array(B * H * T * (T + e));
    const get = (b: number, t: number, head: number, d: number) => qkv[(b * T + t) * W + head * D + d];
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const g = Math.floor((h * KV) / H);
      for (let t = 0; t < T; t++) {
        const sc: number[] = [];
        for (let u = 0; u < T + e; u++) {
          let z = 0;
          for (let d = 0; d < D; d++) z += get(b, t, h, d) * (u < T ? get(b, u, H + g, d) : kb!.k[h * D + d]);
          sc.push(u <= t || u === T ? z / Math.sqrt(D) : -Infinity);
        }
        const mx = Math.max(...sc), ex = sc.map((z) => Math.exp(z - mx)), sum = ex.reduce((p, c) => p + c, 0);
        for (let u = 0; u < T + e; u++) {
          const pr = ex[u] / sum;
          att[((b * H + h) * T + t) * (T + e) + u] = pr;
          for (let d = 0; d < D; d++) {
            out[(b * T + t) * H * D + h * D + d] += pr * (u < T ? get(b, u, H + KV + g, d) : kb!.v[h * D + d]);
          }
        }
      }
    }
    return { out, att };
  }

  test('attention vs an independent masked-softmax implementation; att rows sum to 1, masked entries 0', () => {
    const B = 2, T = 5, H = 4, KV = 2, D = 6;
    for (const withBias of [false, true]) {
      const e = withBias ? 1 : 0;
      const qkv = rand(B * T * (H + 2 * KV) * D, 2);
      const kb = withBias ? { k: rand(H * D, 2), v: rand(H * D) } : null;
      const out = be.alloc(B * T * H * D).fill(NaN), att = be.alloc(B * H * T * (T + e)).fill(NaN);
      be.attentionForward(out, att, qkv, kb, { B, T, H, KV, D });
      const ref = naiveAttention(qkv, kb, B, T, H, KV, D);
      assertClose(out, ref.out, 1e-14, `attention out kvBias=${withBias}`);
      assertClose(att, ref.att, 1e-14, `attention att kvBias=${withBias}`);
      for (let row = 0; row < B * H * T; row++) {
        const t = row % T;
        let s = 0;
        for (let u = 0; u < T + e; u++) {
          const p = att[row * (T + e) + u];
          if (u > t && u < T) assert.equal(p, 0);
          s += p;
        }
        near(s, 1, 1e-14, `att row ${row} sum`);
      }
    }
  });

  test('attention with T = 1 returns v (and mixes in v′ with the bias slot)', () => {
    const B = 2, H = 4, KV = 2, D = 3, W = (H + 2 * KV) * D;
    const qkv = rand(B * W), out = be.alloc(B * H * D), att = be.alloc(B * H);
    be.attentionForward(out, att, qkv, null, { B, T: 1, H, KV, D });
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) {
      assert.equal(out[b * H * D + h * D + d], qkv[b * W + (H + KV + Math.floor(h / 2)) * D + d]);
    }
    assert.deepEqual([...att], new Array(B * H).fill(1));
    // one head with a bias slot: p = softmax([q.k, q.k′] / sqrt(D))
    const q = [1, 0, 2], k = [0.5, 1, -1], v = [1, 2, 3], kp = [1, 1, 1], vp = [-1, 0, 4];
    const o1 = be.alloc(3), a1 = be.alloc(2);
    be.attentionForward(o1, a1, Float64Array.from([...q, ...k, ...v]), { k: Float64Array.from(kp), v: Float64Array.from(vp) },
      { B: 1, T: 1, H: 1, KV: 1, D: 3 });
    const s0 = -1.5 / Math.sqrt(3), s1 = 3 / Math.sqrt(3);
    const p0 = 1 / (1 + Math.exp(s1 - s0)), p1 = 1 - p0;
    assertClose(a1, [p0, p1], 1e-15, 'bias-slot probabilities');
    assertClose(o1, v.map((x, d) => p0 * x + p1 * vp[d]), 1e-15, 'bias-slot output');
  });

  test('attentionDecode over a KV cache matches attentionForward (token by token and in chunks)', () => {
    const B = 2, T = 5, H = 4, KV = 2, D = 6, W = (H + 2 * KV) * D, Tmax = 8;
    for (const withBias of [false, true]) {
      const e = withBias ? 1 : 0;
      const qkv = rand(B * T * W, 2);
      const kb = withBias ? { k: rand(H * D, 2), v: rand(H * D) } : null;
      const out = be.alloc(B * T * H * D), att = be.alloc(B * H * T * (T + e));
      be.attentionForward(out, att, qkv, kb, { B, T, H, KV, D });
      for (const chunks of [[1, 1, 1, 1, 1], [2, 3], [5]]) {
        const kC = be.alloc(B * KV * Tmax * D), vC = be.alloc(B * KV * Tmax * D);
        let pos0 = 0;
        for (const Tn of chunks) {
          const part = be.alloc(B * Tn * W);
          for (let b = 0; b < B; b++) part.set(qkv.subarray((b * T + pos0) * W, (b * T + pos0 + Tn) * W), b * Tn * W);
          const L = pos0 + Tn + e;
          const o = be.alloc(B * Tn * H * D), a = be.alloc(B * H * Tn * L).fill(NaN);
          be.attentionDecode(o, a, part, kC, vC, kb, { B, T: Tn, H, KV, D, pos0, Tmax });
          for (let b = 0; b < B; b++) for (let t = 0; t < Tn; t++) {
            const got = o.subarray((b * Tn + t) * H * D, (b * Tn + t + 1) * H * D);
            const want = out.subarray((b * T + pos0 + t) * H * D, (b * T + pos0 + t + 1) * H * D);
            assertClose(got, want, 1e-14, `decode out chunks=${chunks} kvBias=${withBias}`);
            for (let h = 0; h < H; h++) {
              const row = a.subarray(((b * H + h) * Tn + t) * L, ((b * H + h) * Tn + t + 1) * L);
              const full = att.subarray(((b * H + h) * T + pos0 + t) * (T + e), ((b * H + h) * T + pos0 + t + 1) * (T + e));
              // decode row: keys 0 … pos0+Tn-1, then the bias slot; full row: keys 0 … T-1, then the bias slot
              assertClose(row.subarray(0, pos0 + Tn), full.subarray(0, pos0 + Tn), 1e-14, 'decode att keys');
              if (withBias) assert.ok(Math.abs(row[pos0 + Tn] - full[T]) < 1e-14, 'decode att bias slot');
            }
          }
          // the cache holds the new keys / values
          for (let b = 0; b < B; b++) for (let j = 0; j < KV; j++) for (let t = 0; t < Tn; t++) for (let d = 0; d < D; d++) {
            const c = ((b * KV + j) * Tmax + pos0 + t) * D + d;
            assert.equal(kC[c], part[(b * Tn + t) * W + (H + j) * D + d]);
            assert.equal(vC[c], part[(b * Tn + t) * W + (H + KV + j) * D + d]);
          }
          pos0 += Tn;
        }
      }
    }
    assert.throws(() => be.attentionDecode(be.alloc(H * D), null, be.alloc(W), be.alloc(KV * 2 * D), be.alloc(KV * 2 * D), null,
      { B: 1, T: 1, H, KV, D, pos0: 2, Tmax: 2 }), BackendError);
  });

  test('cross-entropy: naive value, stability at large logits, ignored targets, bad targets throw', () => {
    const logits = Float64Array.from([1, 2, 3, 1000, 1001, 999, 0, 0, 0]), targets = Int32Array.from([2, 0, -1]);
    const l = be.alloc(3);
    be.crossEntropyForward(l, logits, targets, 3, 3);
    near(l[0], Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3, 1e-15, 'cross-entropy row 0');
    // lse(1000, 1001, 999) - 1000 = log(1 + e + 1/e): no overflow at large logits
    near(l[1], Math.log(1 + Math.E + 1 / Math.E), 1e-13, 'cross-entropy row 1 (large logits)');
    assert.equal(l[2], 0);
    assert.throws(() => be.crossEntropyForward(l, logits, Int32Array.from([0, 3, 0]), 3, 3), BackendError);
  });

  test('logSoftmax: rows exp-sum to 1, in place equals out of place, stable', () => {
    const N = 4, V = 9;
    const x = rand(N * V, 5);
    x[0] = 800;
    const out = be.alloc(N * V);
    be.logSoftmax(out, x, N, V);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(out[n * V + v]);
      near(s, 1, 1e-14, `logSoftmax row ${n} exp-sum`);
    }
    const y = Float64Array.from(x);
    be.logSoftmax(y, y, N, V);
    assert.deepEqual(y, out);
  });

  test('adamw: one step by hand, three steps vs torch.optim.AdamW (float64)', () => {
    // p=1, g=0.5*gradScale 2 = 1: m=0.1, v=0.001, mhat=vhat=1; p = 1*(1 - 0.1*0.1) - 0.1 * 1/(1 + 1e-8)
    const p = Float64Array.from([1]), m = be.alloc(1), v = be.alloc(1);
    be.adamw(p, Float64Array.from([0.5]), m, v, 1, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1, gradScale: 2 });
    near(m[0], 0.1, 1e-16, 'adamw m');
    near(v[0], 0.001, 1e-18, 'adamw v');
    assert.ok(Math.abs(p[0] - (0.99 - 0.1 / (1 + 1e-8))) < 1e-15, `p = ${p[0]}`);
    // torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.05), float64
    const P = Float64Array.from([1, -2, 0.5, 0]), M = be.alloc(4), Vv = be.alloc(4);
    const grads = [[0.3, -1, 2, 0], [-0.2, 0.5, 1, 1e-3], [0.1, 0.1, -3, -2]];
    const torchP = [
      [0.9895000333332222, -1.98900000999999, 0.48975000499999755, 0],
      [0.9875588242399543, -1.985338519082815, 0.48017065589233165, -0.007414138953960671],
      [0.9842727386152569, -1.9828595762021748, 0.48074901174364565, -0.0010538983786080114],
    ];
    grads.forEach((g, i) => {
      // gradScale 0.5 on doubled gradients: same update
      be.adamw(P, Float64Array.from(g.map((x) => 2 * x)), M, Vv, 4,
        { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-6, weightDecay: 0.05, step: i + 1, gradScale: 0.5 });
      assertClose(P, torchP[i], 1e-13, `adamw step ${i + 1} vs torch`);
    });
    assertClose(M, [0.016299999999999995, -0.026, -0.04799999999999999, -0.19990999999999995], 1e-13, 'exp_avg');
    assertClose(Vv, [0.001378090000000001, 0.01237600000000001, 0.13910400000000012, 0.040000009900000036], 1e-13, 'exp_avg_sq');
  });

  test('add (aliasing), accumulate, sumSquares, allFinite', () => {
    const a = Float64Array.from([1, 2, 3]), b = Float64Array.from([10, 20, 30]);
    be.add(a, a, b, 3);
    assert.deepEqual([...a], [11, 22, 33]);
    be.accumulate(a, b, 2);
    assert.deepEqual([...a], [21, 42, 33]);
    const f32 = createRefBackend('f32');
    const x = f32.alloc(3);
    x.set([3, 4, 1e20]);
    assert.equal(f32.sumSquares(x, 2), 25);
    assert.equal(f32.sumSquares(x, 3), 25 + Math.fround(1e20) ** 2); // no float32 overflow
    assert.equal(f32.allFinite(x, 3), true);
    x[1] = NaN;
    assert.equal(f32.allFinite(x, 3), false);
    x[1] = -Infinity;
    assert.equal(f32.allFinite(x, 1), true);
    assert.equal(f32.allFinite(x, 2), false);
  });

  test('argument checks throw BackendError naming the kernel and argument', () => {
    const f32 = createRefBackend('f32');
    assert.throws(() => f32.add(new Float64Array(2), f32.alloc(2), f32.alloc(2), 2), /ref\.add: out must be a Float32Array/);
    assert.throws(() => be.linearForward(be.alloc(5), be.alloc(6), be.alloc(6), null, 2, 3, 3), /ref\.linearForward: out has 5/);
    assert.throws(() => be.attentionForward(be.alloc(99), be.alloc(99), be.alloc(99), null, { B: 1, T: 1, H: 3, KV: 2, D: 2 }), BackendError);
    assert.throws(() => be.rotaryForward(be.alloc(99), { B: 1, T: 1, H: 1, KV: 1, D: 4, rot: 3, base: 1e4, pos0: 0 }), /rot must be even/);
    assert.throws(() => be.adamw(be.alloc(1), be.alloc(1), be.alloc(1), be.alloc(1), 1,
      { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 0, gradScale: 1 }), /step must be an integer >= 1/);
    assert.throws(() => new RefBackend('f16' as never), BackendError);
    assert.equal(be.alloc(3).constructor, Float64Array);
    assert.equal(f32.alloc(3).constructor, Float32Array);
  });
});
