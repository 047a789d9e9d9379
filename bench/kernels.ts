/**
 * Kernel benchmark of the native backend, peers side by side in one run:
 * - GEMM GFLOP/s on the shapes of the training preset (6 layers, d=384, ctx 256, batch 8 -> N = 2048 rows,
 *   vocab 512): forward x @ W^T, backward dinp = dout @ W and dW = dout^T @ x, for every linear layer,
 *   with OpenBLAS split across the OpenMP team (the default), OpenBLAS on its own threads, the built-in GEMM,
 *   the reference backend (on a 128-row / 128-deep slice: it is ~1000x slower) and PyTorch (python3-torch,
 *   same thread count) when available;
 * - causal attention forward / backward for B=8, H=6, T=256, D=64 (native, ref, PyTorch autograd);
 * - the other per-step kernels (layernorm, GELU, cross-entropy, AdamW) native vs ref.
 * Timings are medians of wall-clock times; with --cpu-time they are process CPU time instead (user + system, all
 * threads), which on a shared, oversubscribed machine measures the work rather than the waiting — use it with
 * --threads 1. The load average is printed with the results.
 * Usage: npm run bench:kernels [-- --threads 2 --seconds 0.3 --cpu-time --no-ref --no-torch --json]
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/engine/backend.ts';

const { values: opt } = parseArgs({
  options: {
    threads: { type: 'string', default: String(availableParallelism()) },
    seconds: { type: 'string', default: '0.3' },
    'no-ref': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'cpu-time': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const threads = Number(opt.threads);
process.env.OMP_NUM_THREADS ??= String(threads);
process.env.OPENBLAS_NUM_THREADS ??= String(threads);
const minSeconds = Number(opt.seconds);

// imported after the environment is set: libgomp / OpenBLAS read it when the addon loads
const { createNativeBackend, nativeInfo, setNativeGemmMode } = await import('../src/engine/native/index.ts');
const { createRefBackend } = await import('../src/engine/ref/index.ts');

const nat = createNativeBackend();
const ref = createRefBackend('f32');
const ninfo = nativeInfo();
const hasBlas = ninfo.info?.blas === 'openblas';

function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

interface Timing { median: number; best: number; reps: number }

const cpuTime = opt['cpu-time'];
/** ms: wall clock, or process CPU time (--cpu-time) */
function clock(): number {
  if (!cpuTime) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** ms per call: one warm-up, then repeats until minSeconds and 3 calls (at most 200). */
function time(fn: () => void, secs = minSeconds, minReps = 3): Timing {
  fn();
  const ts: number[] = [];
  const t0 = performance.now();
  while (ts.length < 200 && (ts.length < minReps || performance.now() - t0 < secs * 1000)) {
    const t = clock();
    fn();
    ts.push(clock() - t);
  }
  ts.sort((x, y) => x - y);
  return { median: ts[Math.floor(ts.length / 2)], best: ts[0], reps: ts.length };
}

/** one call, for the (slow) reference backend */
function timeOnce(fn: () => void): Timing {
  const t = clock();
  fn();
  const ms = clock() - t;
  return { median: ms, best: ms, reps: 1 };
}

// ------------------------------------------------------------------ GEMM
const NROWS = 2048, D = 384, VOCAB = 512;
const linears: [string, number, number][] = [ // name, IC, OC
  ['attn.qkv', D, 3 * D], ['attn.proj', D, D], ['mlp.fc', D, 4 * D], ['mlp.proj', 4 * D, D], ['lm_head', D, VOCAB],
];
interface GemmCase { name: string; ta: boolean; tb: boolean; M: number; N: number; K: number; perStep: number }
const gemms: GemmCase[] = [];
for (const [name, IC, OC] of linears) {
  const per = name === 'lm_head' ? 1 : 6;
  gemms.push({ name: `${name} fwd  x@W^T`, ta: false, tb: true, M: NROWS, N: OC, K: IC, perStep: per });
  gemms.push({ name: `${name} dinp dY@W`, ta: false, tb: false, M: NROWS, N: IC, K: OC, perStep: per });
  gemms.push({ name: `${name} dW   dY^T@x`, ta: true, tb: false, M: OC, N: IC, K: NROWS, perStep: per });
}

const gflops = (c: { M: number; N: number; K: number }, ms: number) => (2 * c.M * c.N * c.K) / (ms * 1e6);

function gemmBench(c: GemmCase, b: Backend): Timing {
  const A = randn(c.M * c.K), B = randn(c.K * c.N), C = new Float32Array(c.M * c.N);
  return time(() => b.gemm(c.ta, c.tb, c.M, c.N, c.K, 1, A, B, 0, C));
}

function refGemm(c: GemmCase): number {
  // a slice of the same product (128 rows, or 128-deep for dW) is enough for a rate
  const s = { ...c, M: c.ta ? c.M : 128, K: c.ta ? 128 : c.K };
  const A = randn(s.M * s.K), B = randn(s.K * s.N), C = new Float32Array(s.M * s.N);
  ref.gemm(s.ta, s.tb, 8, s.N, s.K, 1, A, B, 0, C); // warm up the JIT
  return gflops(s, timeOnce(() => ref.gemm(s.ta, s.tb, s.M, s.N, s.K, 1, A, B, 0, C)).median);
}

// ------------------------------------------------------------------ PyTorch peer
const ATT = { B: 8, H: 6, T: 256, D: 64 };
const torchScript = String.raw`
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1])); secs = float(sys.argv[2]); cases = json.loads(sys.argv[3]); att = json.loads(sys.argv[4])
clock = time.process_time if sys.argv[5] == '1' else time.perf_counter
def bench(fn):
    fn(); ts = []; t0 = time.perf_counter()
    while len(ts) < 200 and (len(ts) < 3 or time.perf_counter() - t0 < secs):
        t = clock(); fn(); ts.append(clock() - t)
    ts.sort(); return ts[len(ts) // 2] * 1e3
out = {'gemm': [], 'torch': torch.__version__, 'threads': torch.get_num_threads()}
for c in cases:
    a = torch.randn(c['K'], c['M']) if c['ta'] else torch.randn(c['M'], c['K'])
    b = torch.randn(c['N'], c['K']) if c['tb'] else torch.randn(c['K'], c['N'])
    aa = a.t() if c['ta'] else a; bb = b.t() if c['tb'] else b
    out['gemm'].append(bench(lambda: torch.mm(aa, bb)))
B, H, T, D = att['B'], att['H'], att['T'], att['D']
q = torch.randn(B, H, T, D, requires_grad=True); k = torch.randn(B, H, T, D, requires_grad=True); v = torch.randn(B, H, T, D, requires_grad=True)
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
def fwd():
    s = (q @ k.transpose(-1, -2)) * (1.0 / D ** 0.5)
    return torch.softmax(s.masked_fill(mask, float('-inf')), -1) @ v
g = torch.randn(B, H, T, D)
def fwd_nograd():
    with torch.no_grad(): fwd()
def fwdbwd():
    q.grad = k.grad = v.grad = None; fwd().backward(g)
out['attFwd'] = bench(fwd_nograd); out['attFwdBwd'] = bench(fwdbwd)
print(json.dumps(out))
`;

function torchPeer(): { gemm: number[]; attFwd: number; attFwdBwd: number; torch: string; threads: number } | null {
  if (opt['no-torch']) return null;
  const r = spawnSync('/usr/bin/python3', ['-c', torchScript, String(threads), String(minSeconds),
    JSON.stringify(gemms.map(({ ta, tb, M, N, K }) => ({ ta, tb, M, N, K }))), JSON.stringify(ATT), cpuTime ? '1' : '0'],
  { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) {
    console.error(`PyTorch peer unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// ------------------------------------------------------------------ run
const pad = (s: string | number, n: number) => String(s).padStart(n);
const f1 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1));

const load0 = loadavg()[0];
console.log(`lmlab bench:kernels — ${threads} threads, ${cpuTime ? 'CPU time' : 'wall time'}, load average ${load0.toFixed(1)} ` +
  `on ${availableParallelism()} cores; native: ${ninfo.info?.blas} (${ninfo.info?.blasConfig || 'built-in GEMM'}, ` +
  `core ${ninfo.info?.coreType || '-'}), simd ${ninfo.info?.simd.join(',')}; env set: ${JSON.stringify(ninfo.env)}`);

const torch = torchPeer();
if (torch) console.log(`PyTorch ${torch.torch} peer, ${torch.threads} threads`);

const modes = hasBlas ? (['split', 'threads', 'builtin'] as const) : (['builtin'] as const);
const rows: Record<string, unknown>[] = [];
console.log('\nGEMM GFLOP/s (median)        M     N     K  ' + modes.map((m) => pad(m, 8)).join('') + pad('ref', 8) + pad('torch', 8) +
  pad('best/torch', 11));
const stepMs: Record<string, number> = {};
gemms.forEach((c, i) => {
  const r: Record<string, number | string> = { name: c.name, M: c.M, N: c.N, K: c.K };
  for (const m of modes) {
    setNativeGemmMode(m);
    const t = gemmBench(c, nat);
    r[m] = gflops(c, t.median);
    stepMs[m] = (stepMs[m] ?? 0) + t.median * c.perStep;
  }
  setNativeGemmMode('auto');
  r.ref = opt['no-ref'] ? NaN : refGemm(c);
  r.torch = torch ? gflops(c, torch.gemm[i]) : NaN;
  if (torch) stepMs.torch = (stepMs.torch ?? 0) + torch.gemm[i] * c.perStep;
  const best = Math.max(...modes.map((m) => r[m] as number));
  rows.push(r);
  console.log(`${c.name.padEnd(24)}${pad(c.M, 6)}${pad(c.N, 6)}${pad(c.K, 6)}  ` + modes.map((m) => pad(f1(r[m] as number), 8)).join('') +
    pad(f1(r.ref as number), 8) + pad(f1(r.torch as number), 8) + pad(torch ? (best / (r.torch as number)).toFixed(2) : '-', 11));
});
console.log('GEMM ms per training step (6 layers x 4 linears x 3 products + lm_head): ' +
  Object.entries(stepMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '));

// attention
const { B, H, T, D: HD } = ATT;
const s = { B, T, H, KV: H, D: HD };
const qkv = randn(B * T * 3 * H * HD), out = new Float32Array(B * T * H * HD), att = new Float32Array(B * H * T * T);
const dout = randn(out.length), dqkv = new Float32Array(qkv.length);
const attFlopsFwd = B * H * 2 * T * T * HD; // causal: two T x T/2 x D products, 2 flops per MAC
console.log(`\nattention B=${B} H=${H} T=${T} D=${HD} (ms, median)   forward   backward   fwd GFLOP/s  bwd GFLOP/s`);
const attRows: Record<string, unknown>[] = [];
for (const m of modes) {
  setNativeGemmMode(m);
  const f = time(() => nat.attentionForward(out, att, qkv, null, s));
  const b = time(() => nat.attentionBackward(dqkv, null, dout, qkv, att, null, s));
  attRows.push({ impl: `native ${m}`, fwd: f.median, bwd: b.median });
  console.log(`  native (${m})`.padEnd(40) + pad(f.median.toFixed(2), 9) + pad(b.median.toFixed(2), 11) +
    pad(f1(attFlopsFwd / (f.median * 1e6)), 13) + pad(f1((2 * attFlopsFwd) / (b.median * 1e6)), 13));
}
setNativeGemmMode('auto');
if (!opt['no-ref']) {
  const f = timeOnce(() => ref.attentionForward(out, att, qkv, null, s));
  const b = timeOnce(() => ref.attentionBackward(dqkv, null, dout, qkv, att, null, s));
  attRows.push({ impl: 'ref', fwd: f.median, bwd: b.median });
  console.log('  ref'.padEnd(40) + pad(f.median.toFixed(1), 9) + pad(b.median.toFixed(1), 11));
}
if (torch) {
  attRows.push({ impl: 'torch', fwd: torch.attFwd, bwd: torch.attFwdBwd - torch.attFwd });
  console.log('  PyTorch (matmul+mask+softmax, autograd)'.padEnd(40) + pad(torch.attFwd.toFixed(2), 9) +
    pad((torch.attFwdBwd - torch.attFwd).toFixed(2), 11));
}

// other per-step kernels
console.log('\nother kernels (ms, median)                 native        ref   ref/native');
const other: Record<string, unknown>[] = [];
function pair(name: string, fn: (b: Backend) => void): void {
  const n = time(() => fn(nat));
  const r = opt['no-ref'] ? null : timeOnce(() => fn(ref));
  other.push({ name, native: n.median, ref: r?.median ?? null });
  console.log(`  ${name}`.padEnd(40) + pad(n.median.toFixed(3), 10) + pad(r ? r.median.toFixed(1) : '-', 11) +
    pad(r ? (r.median / n.median).toFixed(0) : '-', 12));
}
{
  const N = NROWS, C = D, F = 4 * D, P = 10_800_000;
  const x = randn(N * C), w = randn(C), b = randn(C), y = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
  const dx = new Float32Array(N * C), dw = new Float32Array(C), db = new Float32Array(C);
  pair(`layernorm fwd [${N}x${C}]`, (be) => be.layernormForward(y, mean, rstd, x, w, b, N, C, 1e-5));
  pair(`layernorm bwd [${N}x${C}]`, (be) => be.layernormBackward(dx, dw, db, y, x, w, mean, rstd, N, C));
  const h = randn(N * F), g = new Float32Array(N * F), dh = new Float32Array(N * F);
  for (const kind of ['tanh', 'erf'] as const) {
    pair(`gelu ${kind} fwd [${N}x${F}]`, (be) => be.geluForward(g, h, N * F, kind));
    pair(`gelu ${kind} bwd [${N}x${F}]`, (be) => be.geluBackward(dh, h, g, N * F, kind));
  }
  const logits = randn(N * VOCAB), tg = new Int32Array(N).map((_, i) => (i * 31) % VOCAB), losses = new Float32Array(N);
  const dl = new Float32Array(N * VOCAB), dloss = new Float32Array(N).fill(1 / N);
  pair(`cross-entropy fwd+bwd [${N}x${VOCAB}]`, (be) => {
    be.crossEntropyForward(losses, logits, tg, N, VOCAB);
    be.crossEntropyBackward(dl, logits, tg, dloss, N, VOCAB);
  });
  const p = randn(P), pg = randn(P), m = new Float32Array(P), v = new Float32Array(P);
  pair(`adamw [${(P / 1e6).toFixed(1)}M params]`, (be) => be.adamw(p, pg, m, v, P,
    { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 10, gradScale: 1 }));
  pair(`sumSquares [${(P / 1e6).toFixed(1)}M]`, (be) => be.sumSquares(pg, P));
}

console.log(`\nload average: ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`);
if (opt.json) {
  console.log(JSON.stringify({ threads, native: ninfo, torch: torch ? { version: torch.torch, threads: torch.threads } : null,
    gemm: rows, gemmStepMs: stepMs, attention: attRows, other }));
}
