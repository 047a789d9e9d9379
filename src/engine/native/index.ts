/**
 * The native backend: a Node-API addon (C + pthreads, OpenBLAS sgemm when found at build time, a built-in packed
 * GEMM otherwise) built by node-gyp from native/ into build/Release/lmlab_native.node at install time.
 *
 * Before the addon (and with it libopenblas) is loaded, this module sets thread and CPU defaults in the
 * environment, because they are read only once, when the libraries load:
 * - OMP_NUM_THREADS and OPENBLAS_NUM_THREADS default to the number of usable cores;
 * - OPENBLAS_CORETYPE=SkylakeX when the CPU has AVX-512F and the variable is unset: OpenBLAS 0.3.21 (Debian 12)
 *   does not recognise recent AVX-512 CPUs (AMD Zen 4/5) and would otherwise fall back to slow kernels.
 * What was set is reported by nativeInfo().env.
 *
 * Threading: every kernel parallelises over the addon's own thread pool (native/pool.c: chunks claimed with an
 * atomic counter, the calling thread works too and never waits for a worker that has not started, so a busy
 * machine does not turn each kernel call into a scheduler time slice, as OpenMP's end-of-region barrier did);
 * OpenBLAS runs single-threaded inside it (a large GEMM is split into row or column blocks), so OpenBLAS's own
 * thread pool never competes for cores. Threads: LMLAB_THREADS, else OMP_NUM_THREADS, else the usable cores.
 * LMLAB_GEMM=threads|builtin|split (or setNativeGemmMode) selects another GEMM strategy for comparison.
 * LMLAB_NATIVE_ADDON=<path> loads another build of the addon (e.g. one built with LMLAB_NO_BLAS=1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BackendError,
  type AdamWArgs, type Arr, type AttnShape, type Backend, type GeluKind, type KVBias, type KVBiasGrad,
  type RotaryShape,
} from '../backend.ts';

/** Where the addon is looked for (LMLAB_NATIVE_ADDON overrides). */
export const NATIVE_ADDON_PATH: string = process.env.LMLAB_NATIVE_ADDON
  ? resolve(process.env.LMLAB_NATIVE_ADDON)
  : join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'Release', 'lmlab_native.node');

/** GEMM strategy: 'split' (the pool splits, single-threaded OpenBLAS per block; the default with OpenBLAS),
 * 'threads' (one OpenBLAS call on its own thread pool), 'builtin' (the built-in packed GEMM). */
export type NativeGemmMode = 'auto' | 'split' | 'threads' | 'builtin';

/** What the addon was built with and runs on (addon.info()). */
export interface NativeAddonInfo {
  blas: 'openblas' | 'builtin';
  /** openblas_get_config(), '' without OpenBLAS */
  blasConfig: string;
  /** openblas_get_corename(): the kernel set OpenBLAS chose, '' without OpenBLAS */
  coreType: string;
  /** OpenBLAS's own thread count (1 in 'split' mode), 0 without OpenBLAS */
  blasThreads: number;
  /** threads used inside a kernel call (LMLAB_THREADS, else OMP_NUM_THREADS, else the usable cores) */
  threads: number;
  gemmMode: Exclude<NativeGemmMode, 'auto'>;
  /** SIMD instruction sets the addon was compiled for (-march=native) */
  simd: string[];
  /** micro-kernel of the built-in GEMM */
  builtinKernel: string;
  /** how kernels parallelise */
  threading: string;
  compiler: string;
}

export interface NativeInfo {
  available: boolean;
  path: string;
  /** why the addon could not be loaded (when !available) */
  error?: string;
  info?: NativeAddonInfo;
  /** environment defaults this module set before loading the addon (name -> value) */
  env: Record<string, string>;
}

interface Addon {
  setErrorClass(ctor: new (msg: string) => Error): void;
  info(): NativeAddonInfo;
  setGemmMode(mode: NativeGemmMode): Exclude<NativeGemmMode, 'auto'>;
  gemm(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Arr, B: Arr, beta: number,
    C: Arr, batch: number, sA: number, sB: number, sC: number): void;
  linearForward(out: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, IC: number, OC: number): void;
  linearBackward(dinp: Arr | null, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, N: number, IC: number,
    OC: number): void;
  embedForward(out: Arr, ids: Int32Array, wte: Arr, wpe: Arr | null, BT: number, T: number, C: number): void;
  embedBackward(dwte: Arr, dwpe: Arr | null, dout: Arr, ids: Int32Array, BT: number, T: number, C: number): void;
  layernormForward(out: Arr, mean: Arr, rstd: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, C: number,
    eps: number): void;
  layernormBackward(dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, mean: Arr, rstd: Arr,
    N: number, C: number): void;
  rmsnormForward(out: Arr, rstd: Arr, inp: Arr, w: Arr, N: number, C: number, eps: number): void;
  rmsnormBackward(dinp: Arr, dw: Arr, dout: Arr, inp: Arr, w: Arr, rstd: Arr, N: number, C: number): void;
  geluForward(out: Arr, inp: Arr, n: number, kind: number): void;
  geluBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: number): void;
  swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void;
  swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void;
  rotary(x: Arr, B: number, T: number, H: number, KV: number, D: number, rot: number, base: number, pos0: number,
    dir: number): void;
  attentionForward(out: Arr, att: Arr, qkv: Arr, kb: Arr | null, vb: Arr | null, B: number, T: number, H: number,
    KV: number, D: number): void;
  attentionBackward(dqkv: Arr, dkb: Arr | null, dvb: Arr | null, dout: Arr, qkv: Arr, att: Arr, kb: Arr | null,
    vb: Arr | null, B: number, T: number, H: number, KV: number, D: number): void;
  attentionDecode(out: Arr, att: Arr | null, qkv: Arr, kc: Arr, vc: Arr, kb: Arr | null, vb: Arr | null, B: number,
    T: number, H: number, KV: number, D: number, pos0: number, Tmax: number): void;
  crossEntropyForward(losses: Arr, logits: Arr, targets: Int32Array, N: number, V: number): void;
  crossEntropyBackward(dlogits: Arr, logits: Arr, targets: Int32Array, dloss: Arr, N: number, V: number): void;
  logSoftmax(out: Arr, logits: Arr, N: number, V: number): void;
  add(out: Arr, a: Arr, b: Arr, n: number): void;
  accumulate(dst: Arr, src: Arr, n: number): void;
  sumSquares(x: Arr, n: number): number;
  allFinite(x: Arr, n: number): boolean;
  adamw(p: Arr, g: Arr, m: Arr, v: Arr, n: number, lr: number, beta1: number, beta2: number, eps: number,
    wd: number, step: number, gradScale: number): void;
  chinchillaObjective(data: Float64Array, w: Float64Array, n: number, delta: number, x: Float64Array, g: Float64Array): number;
  sais?(T: SaisText, SA: Int32Array, k: number): void;
  saisMaxSymbol?(T: SaisText): number;
}

/** Texts the native suffix-array builder takes (symbols read as unsigned). */
export type SaisText = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** The native SA-IS entry points (native/sais.c), used by src/memorization/sais-native.ts. */
export interface NativeSaisKernels {
  /** suffix array of T into SA[0..T.length), every symbol < k (checked) */
  sais(T: SaisText, SA: Int32Array, k: number): void;
  /** largest symbol of T, −1 when empty */
  saisMaxSymbol(T: SaisText): number;
}

const envSet: Record<string, string> = {};
let addon: Addon | null = null;
let loadError: string | null = null;
let tried = false;

/**
 * The environment defaults to set before libgomp / OpenBLAS load (pure: for tests): OMP_NUM_THREADS and
 * OPENBLAS_NUM_THREADS = cores when unset or empty; OPENBLAS_CORETYPE = SkylakeX when unset and the CPU flags
 * (the `flags` line of /proc/cpuinfo) include avx512f.
 */
export function threadEnvDefaults(env: Record<string, string | undefined>, cpuFlags: string, cores: number): Record<string, string> {
  const set: Record<string, string> = {};
  const n = String(Math.max(1, Math.floor(cores)));
  for (const name of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS']) {
    if (env[name] === undefined || env[name] === '') set[name] = n;
  }
  if ((env.OPENBLAS_CORETYPE === undefined || env.OPENBLAS_CORETYPE === '') && /(^|\s)avx512f(\s|$)/.test(cpuFlags)) {
    set.OPENBLAS_CORETYPE = 'SkylakeX';
  }
  return set;
}

/** The `flags` line of /proc/cpuinfo ('' when unreadable, e.g. not Linux). */
function cpuFlags(): string {
  try {
    const m = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : '';
  } catch {
    return '';
  }
}

/** Applies threadEnvDefaults to process.env; must run before the addon is loaded. */
function prepareEnv(): void {
  const set = threadEnvDefaults(process.env, cpuFlags(), availableParallelism());
  for (const [k, v] of Object.entries(set)) {
    process.env[k] = v;
    envSet[k] = v;
  }
}

function load(): Addon | null {
  if (tried) return addon;
  tried = true;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `native addon not built: ${NATIVE_ADDON_PATH} does not exist (run \`npm run build:native\`; ` +
      'it needs a C compiler, and libopenblas-dev for the fast GEMM)';
    return null;
  }
  prepareEnv();
  try {
    const req = createRequire(import.meta.url);
    const a = req(NATIVE_ADDON_PATH) as Addon;
    a.setErrorClass(BackendError);
    addon = a;
  } catch (e) {
    loadError = `native addon ${NATIVE_ADDON_PATH} failed to load: ${(e as Error).message}`;
    addon = null;
  }
  return addon;
}

/** Whether the addon is built and loads. */
export function nativeAvailable(): boolean {
  return load() !== null;
}

/** Build and runtime facts of the native backend, or why it is unavailable (for `lmlab doctor`). */
export function nativeInfo(): NativeInfo {
  const a = load();
  if (a === null) return { available: false, path: NATIVE_ADDON_PATH, error: loadError ?? 'unknown', env: { ...envSet } };
  return { available: true, path: NATIVE_ADDON_PATH, info: a.info(), env: { ...envSet } };
}

function requireAddon(): Addon {
  const a = load();
  if (a === null) throw new BackendError(loadError ?? 'native addon unavailable');
  return a;
}

/**
 * The native Chinchilla approach-3 objective (native/fit.c, AVX2 when compiled for it), or null when the addon
 * is unavailable. `(data, w, n, delta, x, g) → f` with data = [ln N | ln D | ln L] (n each), w the n weights, x = [a, b, e, α, β],
 * g receiving the gradient: the same function as `chinchillaObjectiveReference` in src/scaling/chinchilla.ts.
 */
export function nativeChinchillaObjective(): ((data: Float64Array, w: Float64Array, n: number, delta: number, x: Float64Array, g: Float64Array) => number) | null {
  const a = load();
  if (a === null || typeof a.chinchillaObjective !== 'function') return null;
  return a.chinchillaObjective.bind(a);
}

/**
 * The native suffix-array builder, or null when the addon is unavailable or an older build without it
 * (nativeInfo() says why the addon itself is unavailable).
 */
export function nativeSaisKernels(): NativeSaisKernels | null {
  const a = load();
  if (a === null || typeof a.sais !== 'function' || typeof a.saisMaxSymbol !== 'function') return null;
  return { sais: a.sais.bind(a), saisMaxSymbol: a.saisMaxSymbol.bind(a) };
}

/** Selects the GEMM strategy of the (process-wide) addon; returns the mode in effect. */
export function setNativeGemmMode(mode: NativeGemmMode): Exclude<NativeGemmMode, 'auto'> {
  return requireAddon().setGemmMode(mode);
}

function geluKind(kind: GeluKind): number {
  if (kind === 'erf') return 0;
  if (kind === 'tanh') return 1;
  throw new BackendError(`native.gelu: kind must be 'erf' or 'tanh', got ${JSON.stringify(kind)}`);
}

function shapeInt(kernel: string, name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0) {
    throw new BackendError(`native.${kernel}: ${name} must be a non-negative integer, got ${x}`);
  }
}

class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly dtype = 'f32' as const;
  readonly threads: number;
  private readonly a: Addon;

  constructor(a: Addon) {
    this.a = a;
    this.threads = a.info().threads;
  }

  alloc(n: number): Arr {
    shapeInt('alloc', 'n', n);
    return new Float32Array(n);
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Arr, B: Arr, beta: number, C: Arr,
    batch = 1, strideA = M * K, strideB = K * N, strideC = M * N,
  ): void {
    this.a.gemm(transA, transB, M, N, K, alpha, A, B, beta, C, batch, strideA, strideB, strideC);
  }

  linearForward(out: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, IC: number, OC: number): void {
    this.a.linearForward(out, inp, w, b, N, IC, OC);
  }

  linearBackward(
    dinp: Arr | null, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, N: number, IC: number, OC: number,
  ): void {
    this.a.linearBackward(dinp, dw, db, dout, inp, w, N, IC, OC);
  }

  embedForward(out: Arr, ids: Int32Array, wte: Arr, wpe: Arr | null, BT: number, T: number, C: number): void {
    this.a.embedForward(out, ids, wte, wpe, BT, T, C);
  }

  embedBackward(dwte: Arr, dwpe: Arr | null, dout: Arr, ids: Int32Array, BT: number, T: number, C: number): void {
    this.a.embedBackward(dwte, dwpe, dout, ids, BT, T, C);
  }

  layernormForward(out: Arr, mean: Arr, rstd: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, C: number, eps: number): void {
    this.a.layernormForward(out, mean, rstd, inp, w, b, N, C, eps);
  }

  layernormBackward(
    dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, mean: Arr, rstd: Arr, N: number, C: number,
  ): void {
    this.a.layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
  }

  rmsnormForward(out: Arr, rstd: Arr, inp: Arr, w: Arr, N: number, C: number, eps: number): void {
    this.a.rmsnormForward(out, rstd, inp, w, N, C, eps);
  }

  rmsnormBackward(dinp: Arr, dw: Arr, dout: Arr, inp: Arr, w: Arr, rstd: Arr, N: number, C: number): void {
    this.a.rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C);
  }

  geluForward(out: Arr, inp: Arr, n: number, kind: GeluKind): void {
    this.a.geluForward(out, inp, n, geluKind(kind));
  }

  geluBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: GeluKind): void {
    this.a.geluBackward(dinp, inp, dout, n, geluKind(kind));
  }

  swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void {
    this.a.swigluForward(out, gate, up, n);
  }

  swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void {
    this.a.swigluBackward(dgate, dup, dout, gate, up, n);
  }

  rotaryForward(qkv: Arr, s: RotaryShape): void {
    this.a.rotary(qkv, s.B, s.T, s.H, s.KV, s.D, s.rot, s.base, s.pos0, 1);
  }

  rotaryBackward(dqkv: Arr, s: RotaryShape): void {
    this.a.rotary(dqkv, s.B, s.T, s.H, s.KV, s.D, s.rot, s.base, s.pos0, -1);
  }

  attentionForward(out: Arr, att: Arr, qkv: Arr, kvBias: KVBias | null, s: AttnShape): void {
    this.a.attentionForward(out, att, qkv, kvBias?.k ?? null, kvBias?.v ?? null, s.B, s.T, s.H, s.KV, s.D);
  }

  attentionBackward(
    dqkv: Arr, dkvBias: KVBiasGrad | null, dout: Arr, qkv: Arr, att: Arr, kvBias: KVBias | null, s: AttnShape,
  ): void {
    this.a.attentionBackward(dqkv, dkvBias?.dk ?? null, dkvBias?.dv ?? null, dout, qkv, att,
      kvBias?.k ?? null, kvBias?.v ?? null, s.B, s.T, s.H, s.KV, s.D);
  }

  attentionDecode(
    out: Arr, att: Arr | null, qkv: Arr, kCache: Arr, vCache: Arr, kvBias: KVBias | null,
    s: AttnShape & { pos0: number; Tmax: number },
  ): void {
    this.a.attentionDecode(out, att, qkv, kCache, vCache, kvBias?.k ?? null, kvBias?.v ?? null,
      s.B, s.T, s.H, s.KV, s.D, s.pos0, s.Tmax);
  }

  crossEntropyForward(losses: Arr, logits: Arr, targets: Int32Array, N: number, V: number): void {
    this.a.crossEntropyForward(losses, logits, targets, N, V);
  }

  crossEntropyBackward(dlogits: Arr, logits: Arr, targets: Int32Array, dloss: Arr, N: number, V: number): void {
    this.a.crossEntropyBackward(dlogits, logits, targets, dloss, N, V);
  }

  logSoftmax(out: Arr, logits: Arr, N: number, V: number): void {
    this.a.logSoftmax(out, logits, N, V);
  }

  add(out: Arr, a: Arr, b: Arr, n: number): void {
    this.a.add(out, a, b, n);
  }

  accumulate(dst: Arr, src: Arr, n: number): void {
    this.a.accumulate(dst, src, n);
  }

  sumSquares(x: Arr, n: number): number {
    return this.a.sumSquares(x, n);
  }

  allFinite(x: Arr, n: number): boolean {
    return this.a.allFinite(x, n);
  }

  adamw(p: Arr, g: Arr, m: Arr, v: Arr, n: number, a: AdamWArgs): void {
    this.a.adamw(p, g, m, v, n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.step, a.gradScale);
  }
}

/** Creates the native backend; throws a BackendError saying why when the addon is missing or fails to load. */
export function createNativeBackend(): Backend {
  return new NativeBackend(requireAddon());
}

/**
 * Measures the single-precision GEMM throughput of the native backend in GFLOP/s (~0.2 s): repeated
 * C[512,1152] = A[512,384] @ B[384,1152] (a QKV projection of the training preset), after one warm-up call.
 */
export function measureGemmGflops(seconds = 0.2): number {
  const a = requireAddon();
  const M = 512, K = 384, N = 1152;
  const A = new Float32Array(M * K), B = new Float32Array(K * N), C = new Float32Array(M * N);
  for (let i = 0; i < A.length; i++) A[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < B.length; i++) B[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  a.gemm(false, false, M, N, K, 1, A, B, 0, C, 1, M * K, K * N, M * N);
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    a.gemm(false, false, M, N, K, 1, A, B, 0, C, 1, M * K, K * N, M * N);
    calls++;
    t = performance.now();
  }
  return (2 * M * N * K * calls) / ((t - t0) / 1000) / 1e9;
}
