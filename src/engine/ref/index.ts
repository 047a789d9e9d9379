/**
 * The reference backend: plain TypeScript loops, the oracle every other backend is tested against.
 *
 * - dtype 'f32' (default): every float buffer is a Float32Array; reductions (dot products, sums, softmax,
 *   statistics) run in JS numbers (float64) and are rounded once when stored.
 * - dtype 'f64': every float buffer is a Float64Array, for finite-difference gradient checks.
 *
 * Each method validates its buffers (type and minimum length) and shape numbers, throwing a BackendError
 * that names the kernel and the argument, then calls the kernel in the module beside it.
 */
import {
  BackendError,
  type AdamWArgs, type Arr, type AttnShape, type Backend, type GeluKind, type KVBias, type KVBiasGrad,
  type RotaryShape,
} from '../backend.ts';
import * as act from './activations.ts';
import * as attn from './attention.ts';
import * as mm from './gemm.ts';
import * as loss from './loss.ts';
import * as misc from './misc.ts';
import * as norms from './norms.ts';
import * as rope from './rotary.ts';

export type RefDtype = 'f32' | 'f64';

export class RefBackend implements Backend {
  readonly name = 'ref' as const;
  readonly dtype: RefDtype;
  readonly threads = 1;
  private readonly Ctor: Float32ArrayConstructor | Float64ArrayConstructor;

  constructor(dtype: RefDtype = 'f32') {
    if (dtype !== 'f32' && dtype !== 'f64') {
      throw new BackendError(`RefBackend: dtype must be 'f32' or 'f64', got ${JSON.stringify(dtype)}`);
    }
    this.dtype = dtype;
    this.Ctor = dtype === 'f32' ? Float32Array : Float64Array;
  }

  alloc(n: number): Arr {
    int('alloc', 'n', n);
    return new this.Ctor(n);
  }

  // ---------------------------------------------------------------- checks
  /** a is a buffer of this backend's dtype with at least n elements. */
  private buf(kernel: string, name: string, a: Arr, n: number): void {
    if (!(a instanceof this.Ctor)) {
      const got = (a as unknown as { constructor?: { name?: string } } | null)?.constructor?.name ?? String(a);
      throw new BackendError(`ref.${kernel}: ${name} must be a ${this.Ctor.name} (backend dtype ${this.dtype}), got ${got}`);
    }
    if (a.length < n) {
      throw new BackendError(`ref.${kernel}: ${name} has ${a.length} elements, expected at least ${n}`);
    }
  }

  private attnShape(kernel: string, s: AttnShape): void {
    for (const k of ['B', 'T', 'H', 'KV', 'D'] as const) int(kernel, `shape.${k}`, s[k]);
    if (s.KV < 1 || s.H < 1 || s.D < 1 || s.H % s.KV !== 0) {
      throw new BackendError(`ref.${kernel}: need H, KV, D >= 1 and H % KV === 0, got H=${s.H} KV=${s.KV} D=${s.D}`);
    }
  }

  private kvBias(kernel: string, kb: KVBias | null, s: AttnShape): void {
    if (kb === null) return;
    this.buf(kernel, 'kvBias.k', kb.k, s.H * s.D);
    this.buf(kernel, 'kvBias.v', kb.v, s.H * s.D);
  }

  // ---------------------------------------------------------------- GEMM
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Arr, B: Arr, beta: number, C: Arr,
    batch = 1, strideA = M * K, strideB = K * N, strideC = M * N,
  ): void {
    const k = 'gemm';
    int(k, 'M', M); int(k, 'N', N); int(k, 'K', K); int(k, 'batch', batch);
    int(k, 'strideA', strideA); int(k, 'strideB', strideB); int(k, 'strideC', strideC);
    if (batch === 0 || M === 0 || N === 0) return;
    this.buf(k, 'A', A, (batch - 1) * strideA + M * K);
    this.buf(k, 'B', B, (batch - 1) * strideB + K * N);
    this.buf(k, 'C', C, (batch - 1) * strideC + M * N);
    mm.gemm(transA, transB, M, N, K, alpha, A, B, beta, C, batch, strideA, strideB, strideC);
  }

  // ---------------------------------------------------------------- linear layer
  linearForward(out: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, IC: number, OC: number): void {
    const k = 'linearForward';
    int(k, 'N', N); int(k, 'IC', IC); int(k, 'OC', OC);
    this.buf(k, 'out', out, N * OC);
    this.buf(k, 'inp', inp, N * IC);
    this.buf(k, 'w', w, OC * IC);
    if (b !== null) this.buf(k, 'b', b, OC);
    mm.linearForward(out, inp, w, b, N, IC, OC);
  }

  linearBackward(
    dinp: Arr | null, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, N: number, IC: number, OC: number,
  ): void {
    const k = 'linearBackward';
    int(k, 'N', N); int(k, 'IC', IC); int(k, 'OC', OC);
    if (dinp !== null) this.buf(k, 'dinp', dinp, N * IC);
    this.buf(k, 'dw', dw, OC * IC);
    if (db !== null) this.buf(k, 'db', db, OC);
    this.buf(k, 'dout', dout, N * OC);
    this.buf(k, 'inp', inp, N * IC);
    this.buf(k, 'w', w, OC * IC);
    mm.linearBackward(dinp, dw, db, dout, inp, w, N, IC, OC);
  }

  // ---------------------------------------------------------------- embeddings
  private ids(kernel: string, ids: Int32Array, BT: number, rows: number): void {
    if (!(ids instanceof Int32Array)) throw new BackendError(`ref.${kernel}: ids must be an Int32Array`);
    if (ids.length < BT) throw new BackendError(`ref.${kernel}: ids has ${ids.length} elements, expected at least ${BT}`);
    for (let n = 0; n < BT; n++) {
      if (ids[n] < 0 || ids[n] >= rows) {
        throw new BackendError(`ref.${kernel}: ids[${n}] = ${ids[n]} is outside the embedding table [0, ${rows})`);
      }
    }
  }

  embedForward(out: Arr, ids: Int32Array, wte: Arr, wpe: Arr | null, BT: number, T: number, C: number): void {
    const k = 'embedForward';
    int(k, 'BT', BT); int(k, 'T', T); int(k, 'C', C);
    if (BT > 0 && T < 1) throw new BackendError(`ref.${k}: T must be >= 1, got ${T}`);
    this.buf(k, 'out', out, BT * C);
    this.buf(k, 'wte', wte, 0);
    if (wpe !== null) this.buf(k, 'wpe', wpe, Math.min(T, BT) * C);
    this.ids(k, ids, BT, C > 0 ? Math.floor(wte.length / C) : Infinity);
    misc.embedForward(out, ids, wte, wpe, BT, T, C);
  }

  embedBackward(dwte: Arr, dwpe: Arr | null, dout: Arr, ids: Int32Array, BT: number, T: number, C: number): void {
    const k = 'embedBackward';
    int(k, 'BT', BT); int(k, 'T', T); int(k, 'C', C);
    if (BT > 0 && T < 1) throw new BackendError(`ref.${k}: T must be >= 1, got ${T}`);
    this.buf(k, 'dwte', dwte, 0);
    if (dwpe !== null) this.buf(k, 'dwpe', dwpe, Math.min(T, BT) * C);
    this.buf(k, 'dout', dout, BT * C);
    this.ids(k, ids, BT, C > 0 ? Math.floor(dwte.length / C) : Infinity);
    misc.embedBackward(dwte, dwpe, dout, ids, BT, T, C);
  }

  // ---------------------------------------------------------------- normalisation
  layernormForward(out: Arr, mean: Arr, rstd: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, C: number, eps: number): void {
    const k = 'layernormForward';
    int(k, 'N', N); int(k, 'C', C);
    this.buf(k, 'out', out, N * C);
    this.buf(k, 'mean', mean, N);
    this.buf(k, 'rstd', rstd, N);
    this.buf(k, 'inp', inp, N * C);
    this.buf(k, 'w', w, C);
    if (b !== null) this.buf(k, 'b', b, C);
    norms.layernormForward(out, mean, rstd, inp, w, b, N, C, eps);
  }

  layernormBackward(
    dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, mean: Arr, rstd: Arr, N: number, C: number,
  ): void {
    const k = 'layernormBackward';
    int(k, 'N', N); int(k, 'C', C);
    this.buf(k, 'dinp', dinp, N * C);
    this.buf(k, 'dw', dw, C);
    if (db !== null) this.buf(k, 'db', db, C);
    this.buf(k, 'dout', dout, N * C);
    this.buf(k, 'inp', inp, N * C);
    this.buf(k, 'w', w, C);
    this.buf(k, 'mean', mean, N);
    this.buf(k, 'rstd', rstd, N);
    norms.layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
  }

  rmsnormForward(out: Arr, rstd: Arr, inp: Arr, w: Arr, N: number, C: number, eps: number): void {
    const k = 'rmsnormForward';
    int(k, 'N', N); int(k, 'C', C);
    this.buf(k, 'out', out, N * C);
    this.buf(k, 'rstd', rstd, N);
    this.buf(k, 'inp', inp, N * C);
    this.buf(k, 'w', w, C);
    norms.rmsnormForward(out, rstd, inp, w, N, C, eps);
  }

  rmsnormBackward(dinp: Arr, dw: Arr, dout: Arr, inp: Arr, w: Arr, rstd: Arr, N: number, C: number): void {
    const k = 'rmsnormBackward';
    int(k, 'N', N); int(k, 'C', C);
    this.buf(k, 'dinp', dinp, N * C);
    this.buf(k, 'dw', dw, C);
    this.buf(k, 'dout', dout, N * C);
    this.buf(k, 'inp', inp, N * C);
    this.buf(k, 'w', w, C);
    this.buf(k, 'rstd', rstd, N);
    norms.rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C);
  }

  // ---------------------------------------------------------------- activations
  geluForward(out: Arr, inp: Arr, n: number, kind: GeluKind): void {
    const k = 'geluForward';
    int(k, 'n', n); geluKind(k, kind);
    this.buf(k, 'out', out, n);
    this.buf(k, 'inp', inp, n);
    act.geluForward(out, inp, n, kind);
  }

  geluBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: GeluKind): void {
    const k = 'geluBackward';
    int(k, 'n', n); geluKind(k, kind);
    this.buf(k, 'dinp', dinp, n);
    this.buf(k, 'inp', inp, n);
    this.buf(k, 'dout', dout, n);
    act.geluBackward(dinp, inp, dout, n, kind);
  }

  swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void {
    const k = 'swigluForward';
    int(k, 'n', n);
    this.buf(k, 'out', out, n);
    this.buf(k, 'gate', gate, n);
    this.buf(k, 'up', up, n);
    act.swigluForward(out, gate, up, n);
  }

  swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void {
    const k = 'swigluBackward';
    int(k, 'n', n);
    this.buf(k, 'dgate', dgate, n);
    this.buf(k, 'dup', dup, n);
    this.buf(k, 'dout', dout, n);
    this.buf(k, 'gate', gate, n);
    this.buf(k, 'up', up, n);
    act.swigluBackward(dgate, dup, dout, gate, up, n);
  }

  // ---------------------------------------------------------------- rotary
  private rotaryShape(kernel: string, x: Arr, s: RotaryShape): void {
    this.attnShape(kernel, s);
    int(kernel, 'shape.rot', s.rot);
    int(kernel, 'shape.pos0', s.pos0);
    if (s.rot % 2 !== 0 || s.rot > s.D) {
      throw new BackendError(`ref.${kernel}: shape.rot must be even and <= D (${s.D}), got ${s.rot}`);
    }
    if (!(s.base > 0)) throw new BackendError(`ref.${kernel}: shape.base must be > 0, got ${s.base}`);
    this.buf(kernel, kernel === 'rotaryForward' ? 'qkv' : 'dqkv', x, s.B * s.T * (s.H + 2 * s.KV) * s.D);
  }

  rotaryForward(qkv: Arr, s: RotaryShape): void {
    this.rotaryShape('rotaryForward', qkv, s);
    rope.rotaryForward(qkv, s);
  }

  rotaryBackward(dqkv: Arr, s: RotaryShape): void {
    this.rotaryShape('rotaryBackward', dqkv, s);
    rope.rotaryBackward(dqkv, s);
  }

  // ---------------------------------------------------------------- attention
  attentionForward(out: Arr, att: Arr, qkv: Arr, kvBias: KVBias | null, s: AttnShape): void {
    const k = 'attentionForward';
    this.attnShape(k, s);
    const { B, T, H, KV, D } = s;
    const e = kvBias !== null ? 1 : 0;
    this.buf(k, 'out', out, B * T * H * D);
    this.buf(k, 'att', att, B * H * T * (T + e));
    this.buf(k, 'qkv', qkv, B * T * (H + 2 * KV) * D);
    this.kvBias(k, kvBias, s);
    attn.attentionForward(out, att, qkv, kvBias, s);
  }

  attentionBackward(
    dqkv: Arr, dkvBias: KVBiasGrad | null, dout: Arr, qkv: Arr, att: Arr, kvBias: KVBias | null, s: AttnShape,
  ): void {
    const k = 'attentionBackward';
    this.attnShape(k, s);
    const { B, T, H, KV, D } = s;
    const e = kvBias !== null ? 1 : 0;
    this.buf(k, 'dqkv', dqkv, B * T * (H + 2 * KV) * D);
    if (dkvBias !== null) {
      if (kvBias === null) throw new BackendError(`ref.${k}: dkvBias given without kvBias`);
      this.buf(k, 'dkvBias.dk', dkvBias.dk, H * D);
      this.buf(k, 'dkvBias.dv', dkvBias.dv, H * D);
    }
    this.buf(k, 'dout', dout, B * T * H * D);
    this.buf(k, 'qkv', qkv, B * T * (H + 2 * KV) * D);
    this.buf(k, 'att', att, B * H * T * (T + e));
    this.kvBias(k, kvBias, s);
    attn.attentionBackward(dqkv, dkvBias, dout, qkv, att, kvBias, s);
  }

  attentionDecode(
    out: Arr, att: Arr | null, qkv: Arr, kCache: Arr, vCache: Arr, kvBias: KVBias | null,
    s: AttnShape & { pos0: number; Tmax: number },
  ): void {
    const k = 'attentionDecode';
    this.attnShape(k, s);
    int(k, 'shape.pos0', s.pos0);
    int(k, 'shape.Tmax', s.Tmax);
    const { B, T, H, KV, D, pos0, Tmax } = s;
    if (pos0 + T > Tmax) {
      throw new BackendError(`ref.${k}: pos0 + T = ${pos0 + T} exceeds the cache length Tmax = ${Tmax}`);
    }
    const e = kvBias !== null ? 1 : 0;
    this.buf(k, 'out', out, B * T * H * D);
    if (att !== null) this.buf(k, 'att', att, B * H * T * (pos0 + T + e));
    this.buf(k, 'qkv', qkv, B * T * (H + 2 * KV) * D);
    this.buf(k, 'kCache', kCache, B * KV * Tmax * D);
    this.buf(k, 'vCache', vCache, B * KV * Tmax * D);
    this.kvBias(k, kvBias, s);
    attn.attentionDecode(out, att, qkv, kCache, vCache, kvBias, s);
  }

  // ---------------------------------------------------------------- loss
  private targets(kernel: string, targets: Int32Array, N: number, V: number): void {
    if (!(targets instanceof Int32Array)) throw new BackendError(`ref.${kernel}: targets must be an Int32Array`);
    if (targets.length < N) {
      throw new BackendError(`ref.${kernel}: targets has ${targets.length} elements, expected at least ${N}`);
    }
    for (let n = 0; n < N; n++) {
      if (targets[n] >= V) throw new BackendError(`ref.${kernel}: targets[${n}] = ${targets[n]} is >= V = ${V}`);
    }
  }

  crossEntropyForward(losses: Arr, logits: Arr, targets: Int32Array, N: number, V: number): void {
    const k = 'crossEntropyForward';
    int(k, 'N', N); int(k, 'V', V);
    this.buf(k, 'losses', losses, N);
    this.buf(k, 'logits', logits, N * V);
    this.targets(k, targets, N, V);
    loss.crossEntropyForward(losses, logits, targets, N, V);
  }

  crossEntropyBackward(dlogits: Arr, logits: Arr, targets: Int32Array, dloss: Arr, N: number, V: number): void {
    const k = 'crossEntropyBackward';
    int(k, 'N', N); int(k, 'V', V);
    this.buf(k, 'dlogits', dlogits, N * V);
    this.buf(k, 'logits', logits, N * V);
    this.buf(k, 'dloss', dloss, N);
    this.targets(k, targets, N, V);
    loss.crossEntropyBackward(dlogits, logits, targets, dloss, N, V);
  }

  logSoftmax(out: Arr, logits: Arr, N: number, V: number): void {
    const k = 'logSoftmax';
    int(k, 'N', N); int(k, 'V', V);
    this.buf(k, 'out', out, N * V);
    this.buf(k, 'logits', logits, N * V);
    loss.logSoftmax(out, logits, N, V);
  }

  // ---------------------------------------------------------------- elementwise and reductions
  add(out: Arr, a: Arr, b: Arr, n: number): void {
    int('add', 'n', n);
    this.buf('add', 'out', out, n);
    this.buf('add', 'a', a, n);
    this.buf('add', 'b', b, n);
    misc.add(out, a, b, n);
  }

  accumulate(dst: Arr, src: Arr, n: number): void {
    int('accumulate', 'n', n);
    this.buf('accumulate', 'dst', dst, n);
    this.buf('accumulate', 'src', src, n);
    misc.accumulate(dst, src, n);
  }

  sumSquares(x: Arr, n: number): number {
    int('sumSquares', 'n', n);
    this.buf('sumSquares', 'x', x, n);
    return misc.sumSquares(x, n);
  }

  allFinite(x: Arr, n: number): boolean {
    int('allFinite', 'n', n);
    this.buf('allFinite', 'x', x, n);
    return misc.allFinite(x, n);
  }

  // ---------------------------------------------------------------- optimizer
  adamw(p: Arr, g: Arr, m: Arr, v: Arr, n: number, a: AdamWArgs): void {
    const k = 'adamw';
    int(k, 'n', n);
    if (!Number.isInteger(a.step) || a.step < 1) {
      throw new BackendError(`ref.${k}: args.step must be an integer >= 1 (1-based), got ${a.step}`);
    }
    this.buf(k, 'p', p, n);
    this.buf(k, 'g', g, n);
    this.buf(k, 'm', m, n);
    this.buf(k, 'v', v, n);
    misc.adamw(p, g, m, v, n, a);
  }
}

/** Creates the reference backend ('f32' by default; 'f64' for gradient checks). */
export function createRefBackend(dtype: RefDtype = 'f32'): RefBackend {
  return new RefBackend(dtype);
}

function int(kernel: string, name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0) {
    throw new BackendError(`ref.${kernel}: ${name} must be a non-negative integer, got ${x}`);
  }
}

function geluKind(kernel: string, kind: GeluKind): void {
  if (kind !== 'erf' && kind !== 'tanh') {
    throw new BackendError(`ref.${kernel}: kind must be 'erf' or 'tanh', got ${JSON.stringify(kind)}`);
  }
}
