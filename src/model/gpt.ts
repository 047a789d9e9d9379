/**
 * The GPT model: one flat parameter buffer with named views, a forward pass that reads top to bottom,
 * its backward pass, hook points, and a KV-cache decode step. All arithmetic goes through a Backend.
 */
import type { Arr, Backend, KVBias, KVBiasGrad } from '../engine/backend.ts';
import type { GPTConfig } from './config.ts';
import { buildLayout, view, type ParamLayout, type ParamSpec } from './layout.ts';
import { HookError, hookNames, type HookFn } from './hooks.ts';

/** Raised for inputs that do not fit the model (ids out of range, sequence too long, ...). */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** Per-block weights as views (null where the config has no such tensor). */
interface BlockParams {
  ln1w: Arr; ln1b: Arr | null; qkvw: Arr; qkvb: Arr | null; projw: Arr; projb: Arr | null;
  kvBias: KVBias | null; ln2w: Arr; ln2b: Arr | null;
  fcw: Arr; fcb: Arr | null; upw: Arr | null; upb: Arr | null; downw: Arr; downb: Arr | null;
}

/** Activations of one block saved for backward. Shapes with N = B*T. */
interface BlockActs {
  ln1: Arr; ln1Mean: Arr; ln1Rstd: Arr; // [N,C], [N], [N]
  qkv: Arr; // [N, (H+2KV)*D], rotated
  att: Arr; // [B,H,T,T+e]
  y: Arr; // [N, H*D] attention output before projection
  attnOut: Arr; // [N,C]
  mid: Arr; // [N,C] resid_mid (sequential blocks)
  ln2: Arr; ln2Mean: Arr; ln2Rstd: Arr;
  fc: Arr; // [N,F] activation input (gelu) or gate (swiglu)
  up: Arr | null; // [N,F] swiglu up projection
  act: Arr; // [N,F] down-projection input
  mlpOut: Arr; // [N,C]
}

interface Acts {
  B: number; T: number;
  ids: Int32Array;
  /** targets of the last forward (a view of targetsBuf), or null when it had none */
  targets: Int32Array | null;
  targetsBuf: Int32Array;
  resid: Arr[]; // L+1 × [N,C]
  blocks: BlockActs[];
  lnf: Arr; lnfMean: Arr; lnfRstd: Arr;
  logits: Arr; // [N,V]
  losses: Arr; // [N]
}

interface Scratch {
  dresid: Arr; dln: Arr; dqkv: Arr; dy: Arr; dact: Arr; dfc: Arr; dup: Arr | null; dlogits: Arr; dloss: Arr;
}

/** Key/value cache for incremental decoding. */
export interface KVCache {
  readonly B: number;
  readonly Tmax: number;
  /** per layer [B, KV, Tmax, D] */
  readonly k: Arr[];
  readonly v: Arr[];
  /** tokens already in the cache (same for every row) */
  pos: number;
}

export class GPT {
  readonly layout: ParamLayout;
  readonly params: Arr;
  /** gradient buffer, same layout as params (allocated on first backward) */
  grads: Arr | null = null;
  readonly hooks = new Map<string, HookFn>();
  private readonly blockParams: BlockParams[];
  private readonly gradBlocks: BlockParams[] = [];
  private acts: Acts | null = null;
  private scratch: Scratch | null = null;
  private readonly validHooks: Set<string>;
  private decodeBufs: { key: string; a: Acts } | null = null;

  constructor(readonly backend: Backend, readonly config: GPTConfig, params?: Arr) {
    this.layout = buildLayout(config);
    if (params && params.length !== this.layout.total) {
      throw new ModelError(`parameter buffer has ${params.length} elements; config needs ${this.layout.total}`);
    }
    this.params = params ?? backend.alloc(this.layout.total);
    this.blockParams = this.blockViews(this.params);
    this.validHooks = new Set(hookNames(config.n_layer));
  }

  /** View of a named parameter. */
  p(name: string): Arr {
    return view(this.params, this.spec(name));
  }

  /** View of a named gradient (allocates the gradient buffer if needed). */
  g(name: string): Arr {
    return view(this.ensureGrads(), this.spec(name));
  }

  spec(name: string): ParamSpec {
    const s = this.layout.byName.get(name);
    if (!s) throw new ModelError(`no parameter named '${name}' (have: ${[...this.layout.byName.keys()].slice(0, 8).join(', ')}, …)`);
    return s;
  }

  ensureGrads(): Arr {
    if (!this.grads) {
      this.grads = this.backend.alloc(this.layout.total);
      this.gradBlocks.push(...this.blockViews(this.grads));
    }
    return this.grads;
  }

  zeroGrads(): void {
    this.ensureGrads().fill(0);
  }

  private blockViews(buf: Arr): BlockParams[] {
    const c = this.config;
    const opt = (n: string): Arr | null => (this.layout.byName.has(n) ? view(buf, this.layout.byName.get(n)!) : null);
    const req = (n: string): Arr => view(buf, this.layout.byName.get(n)!);
    const out: BlockParams[] = [];
    for (let l = 0; l < c.n_layer; l++) {
      const p = `blocks.${l}.`;
      const sw = c.activation === 'swiglu';
      out.push({
        ln1w: req(p + 'ln1.w'), ln1b: opt(p + 'ln1.b'),
        qkvw: req(p + 'attn.qkv.w'), qkvb: opt(p + 'attn.qkv.b'),
        projw: req(p + 'attn.proj.w'), projb: opt(p + 'attn.proj.b'),
        kvBias: c.attn_kv_bias ? { k: req(p + 'attn.k_bias'), v: req(p + 'attn.v_bias') } : null,
        ln2w: req(p + 'ln2.w'), ln2b: opt(p + 'ln2.b'),
        fcw: req(p + (sw ? 'mlp.gate.w' : 'mlp.fc.w')), fcb: opt(p + (sw ? 'mlp.gate.b' : 'mlp.fc.b')),
        upw: sw ? req(p + 'mlp.up.w') : null, upb: sw ? opt(p + 'mlp.up.b') : null,
        downw: req(p + (sw ? 'mlp.down.w' : 'mlp.proj.w')), downb: opt(p + (sw ? 'mlp.down.b' : 'mlp.proj.b')),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------ hooks
  /** Register a hook at a canonical hook point (see hooks.ts). Replaces an existing hook of that name. */
  addHook(name: string, fn: HookFn): void {
    if (!this.validHooks.has(name)) {
      throw new HookError(`unknown hook point '${name}'; valid names look like hook_embed, blocks.0.hook_resid_pre, blocks.0.attn.hook_pattern, blocks.0.mlp.hook_pre, hook_logits (${this.validHooks.size} in all)`);
    }
    this.hooks.set(name, fn);
  }

  clearHooks(): void {
    this.hooks.clear();
  }

  private fire(name: string, buf: Arr, shape: number[], layer: number): boolean {
    if (this.hooks.size === 0) return false;
    const fn = this.hooks.get(name);
    if (!fn) return false;
    const r = fn(buf, { name, shape, layer });
    if (!r) return false;
    if (r.length !== buf.length) throw new HookError(`hook '${name}' returned ${r.length} values; expected ${buf.length} (shape [${shape}])`);
    if (r !== buf) buf.set(r);
    return true;
  }

  /**
   * Run fn with temporary hooks that copy every activation whose name passes `filter`; returns the copies.
   * The model's own hooks at those names are kept (they run after the copy is taken).
   */
  runWithCache<R>(filter: (name: string) => boolean, fn: () => R): { result: R; cache: Map<string, Float32Array> } {
    const cache = new Map<string, Float32Array>();
    const saved = new Map(this.hooks);
    for (const name of this.validHooks) {
      if (!filter(name)) continue;
      const inner = saved.get(name);
      this.hooks.set(name, (act, ctx) => {
        const r = inner ? inner(act, ctx) : undefined;
        cache.set(name, Float32Array.from(r ?? act));
        return r;
      });
    }
    try {
      return { result: fn(), cache };
    } finally {
      this.hooks.clear();
      for (const [k, v] of saved) this.hooks.set(k, v);
    }
  }

  // ------------------------------------------------------------------ buffers
  private allocActs(B: number, T: number, forDecode = false): Acts {
    const c = this.config, al = (n: number) => this.backend.alloc(n);
    const N = B * T, C = c.d_model, F = c.d_ff, H = c.n_head, D = c.d_head;
    const QKV = (H + 2 * c.n_kv_head) * D, e = c.attn_kv_bias ? 1 : 0;
    const blocks: BlockActs[] = [];
    // decode keeps no per-layer activations: one set is shared by every layer
    const nb = forDecode ? 1 : c.n_layer;
    for (let l = 0; l < nb; l++) {
      blocks.push({
        ln1: al(N * C), ln1Mean: al(N), ln1Rstd: al(N), qkv: al(N * QKV),
        att: forDecode ? al(0) : al(B * H * T * (T + e)), y: al(N * H * D), attnOut: al(N * C), mid: al(N * C),
        ln2: al(N * C), ln2Mean: al(N), ln2Rstd: al(N), fc: al(N * F), up: c.activation === 'swiglu' ? al(N * F) : null,
        act: al(N * F), mlpOut: al(N * C),
      });
    }
    const resid = Array.from({ length: forDecode ? 2 : c.n_layer + 1 }, () => al(N * C));
    return {
      B, T, ids: new Int32Array(N), targets: null, targetsBuf: new Int32Array(forDecode ? 0 : N), resid, blocks,
      lnf: al(N * C), lnfMean: al(N), lnfRstd: al(N), logits: al(N * c.vocab), losses: al(N),
    };
  }

  private ensureActs(B: number, T: number): Acts {
    if (!this.acts || this.acts.B !== B || this.acts.T !== T) {
      this.acts = null; // let the old set be collected before allocating the new one
      this.scratch = null;
      this.acts = this.allocActs(B, T);
    }
    return this.acts;
  }

  private ensureScratch(): Scratch {
    const a = this.acts!;
    if (!this.scratch) {
      const c = this.config, al = (n: number) => this.backend.alloc(n), N = a.B * a.T;
      const QKV = (c.n_head + 2 * c.n_kv_head) * c.d_head;
      this.scratch = {
        dresid: al(N * c.d_model), dln: al(N * c.d_model), dqkv: al(N * QKV), dy: al(N * c.n_head * c.d_head),
        dact: al(N * c.d_ff), dfc: al(N * c.d_ff), dup: c.activation === 'swiglu' ? al(N * c.d_ff) : null,
        dlogits: al(N * c.vocab), dloss: al(N),
      };
    }
    return this.scratch;
  }

  private checkIds(ids: Int32Array, N: number, what: string): void {
    if (ids.length < N) throw new ModelError(`${what}: expected ${N} ids, got ${ids.length}`);
    const V = this.config.vocab;
    for (let i = 0; i < N; i++) {
      const t = ids[i]!;
      if (t < 0 || t >= V) throw new ModelError(`${what}: token id ${t} at position ${i} is outside the vocabulary [0, ${V})`);
    }
  }

  // ------------------------------------------------------------------ forward
  /**
   * Forward pass over ids[B*T] (row-major [B, T]). With targets[B*T] (-1 = ignore) returns the mean
   * cross-entropy over the counted positions; without, returns NaN. Logits stay available via `logits()`.
   */
  forward(ids: Int32Array, B: number, T: number, targets?: Int32Array | null): number {
    const c = this.config, be = this.backend;
    if (T > c.ctx && c.positions === 'learned') throw new ModelError(`sequence length ${T} exceeds ctx ${c.ctx} (learned positions)`);
    if (T < 1 || B < 1) throw new ModelError(`need B ≥ 1 and T ≥ 1 (got B=${B}, T=${T})`);
    const N = B * T, C = c.d_model, F = c.d_ff, H = c.n_head, KV = c.n_kv_head, D = c.d_head, V = c.vocab;
    this.checkIds(ids, N, 'input ids');
    const a = this.ensureActs(B, T);
    a.ids.set(ids.subarray(0, N));
    if (targets) {
      if (targets.length < N) throw new ModelError(`targets: expected ${N} ids, got ${targets.length}`);
      a.targetsBuf.set(targets.subarray(0, N));
      a.targets = a.targetsBuf;
    } else a.targets = null;
    const wpe = c.positions === 'learned' ? this.p('wpe') : null;
    const shape = { B, T, H, KV, D };
    const rot = { ...shape, rot: c.rot_dims, base: c.rope_base, pos0: 0 };
    const e = c.attn_kv_bias ? 1 : 0;
    const norm = (out: Arr, mean: Arr, rstd: Arr, x: Arr, w: Arr, b: Arr | null): void => {
      if (c.norm === 'layernorm') be.layernormForward(out, mean, rstd, x, w, b, N, C, c.norm_eps);
      else be.rmsnormForward(out, rstd, x, w, N, C, c.norm_eps);
    };

    be.embedForward(a.resid[0]!, a.ids, this.p('wte'), wpe, N, T, C);
    this.fire('hook_embed', a.resid[0]!, [B, T, C], -1);
    for (let l = 0; l < c.n_layer; l++) {
      const w = this.blockParams[l]!, s = a.blocks[l]!, x = a.resid[l]!, out = a.resid[l + 1]!;
      const hp = `blocks.${l}.`;
      this.fire(hp + 'hook_resid_pre', x, [B, T, C], l);
      // attention branch
      norm(s.ln1, s.ln1Mean, s.ln1Rstd, x, w.ln1w, w.ln1b);
      be.linearForward(s.qkv, s.ln1, w.qkvw, w.qkvb, N, C, (H + 2 * KV) * D);
      if (c.positions === 'rotary') be.rotaryForward(s.qkv, rot);
      be.attentionForward(s.y, s.att, s.qkv, w.kvBias, shape);
      if (this.fire(hp + 'attn.hook_pattern', s.att, [B, H, T, T + e], l)) this.attendWithPattern(s, w.kvBias, B, T);
      be.linearForward(s.attnOut, s.y, w.projw, w.projb, N, H * D, C);
      this.fire(hp + 'hook_attn_out', s.attnOut, [B, T, C], l);
      // MLP branch: reads resid_mid (sequential) or the block input (parallel residual)
      let mlpIn = x;
      if (!c.parallel_residual) {
        be.add(s.mid, x, s.attnOut, N * C);
        this.fire(hp + 'hook_resid_mid', s.mid, [B, T, C], l);
        mlpIn = s.mid;
      }
      norm(s.ln2, s.ln2Mean, s.ln2Rstd, mlpIn, w.ln2w, w.ln2b);
      be.linearForward(s.fc, s.ln2, w.fcw, w.fcb, N, C, F);
      if (c.activation === 'swiglu') {
        be.linearForward(s.up!, s.ln2, w.upw!, w.upb, N, C, F);
        be.swigluForward(s.act, s.fc, s.up!, N * F);
      } else {
        be.geluForward(s.act, s.fc, N * F, c.activation === 'gelu' ? 'erf' : 'tanh');
      }
      this.fire(hp + 'mlp.hook_pre', s.act, [B, T, F], l);
      be.linearForward(s.mlpOut, s.act, w.downw, w.downb, N, F, C);
      this.fire(hp + 'hook_mlp_out', s.mlpOut, [B, T, C], l);
      if (c.parallel_residual) {
        be.add(out, x, s.attnOut, N * C);
        be.add(out, out, s.mlpOut, N * C);
      } else {
        be.add(out, s.mid, s.mlpOut, N * C);
      }
      this.fire(hp + 'hook_resid_post', out, [B, T, C], l);
    }
    const xf = a.resid[c.n_layer]!;
    if (c.norm === 'layernorm') be.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, xf, this.p('lnf.w'), c.biases ? this.p('lnf.b') : null, N, C, c.norm_eps);
    else be.rmsnormForward(a.lnf, a.lnfRstd, xf, this.p('lnf.w'), N, C, c.norm_eps);
    be.linearForward(a.logits, a.lnf, this.headWeight(this.params), null, N, C, V);
    this.fire('hook_logits', a.logits, [B, T, V], -1);
    if (!a.targets) return NaN;
    be.crossEntropyForward(a.losses, a.logits, a.targets, N, V);
    let sum = 0, count = 0;
    for (let i = 0; i < N; i++) {
      if (a.targets[i]! >= 0) {
        sum += a.losses[i]!;
        count++;
      }
    }
    return count > 0 ? sum / count : NaN;
  }

  /** Logits of the last forward pass: [B*T, vocab] (a view, overwritten by the next pass). */
  logits(): Arr {
    if (!this.acts) throw new ModelError('no forward pass has run yet');
    return this.acts.logits;
  }

  /** Per-position losses of the last forward pass with targets: [B*T]. */
  losses(): Arr {
    if (!this.acts?.targets) throw new ModelError('no forward pass with targets has run yet');
    return this.acts.losses;
  }

  private headWeight(buf: Arr): Arr {
    return view(buf, this.layout.byName.get(this.config.tied_embeddings ? 'wte' : 'lm_head')!);
  }

  /** Recompute y = pattern @ V after a hook replaced the attention pattern (plain loops; rare path). */
  private attendWithPattern(s: BlockActs, kvBias: KVBias | null, B: number, T: number): void {
    const c = this.config, H = c.n_head, KV = c.n_kv_head, D = c.d_head, QKV = (H + 2 * KV) * D;
    const e = kvBias ? 1 : 0, W = T + e, g = H / KV;
    s.y.fill(0);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const arow = ((b * H + h) * T + t) * W, yo = (b * T + t) * H * D + h * D;
          for (let j = 0; j <= t; j++) {
            const p = s.att[arow + j]!, vo = (b * T + j) * QKV + (H + KV + Math.floor(h / g)) * D;
            for (let d = 0; d < D; d++) s.y[yo + d]! += p * s.qkv[vo + d]!;
          }
          if (kvBias) {
            const p = s.att[arow + T]!;
            for (let d = 0; d < D; d++) s.y[yo + d]! += p * kvBias.v[h * D + d]!;
          }
        }
  }

  // ------------------------------------------------------------------ backward
  /**
   * Backward pass of the last forward (which must have had targets): ACCUMULATES d(mean loss)/dθ into
   * `grads` (call zeroGrads() first for a fresh gradient). `lossScale` multiplies the loss (e.g. 1/accum).
   */
  backward(lossScale = 1): void {
    const a = this.acts;
    if (!a || !a.targets) throw new ModelError('backward() needs a forward pass with targets first');
    const c = this.config, be = this.backend, G = this.ensureGrads(), sc = this.ensureScratch();
    const { B, T } = a, N = B * T, C = c.d_model, F = c.d_ff, H = c.n_head, KV = c.n_kv_head, D = c.d_head, V = c.vocab;
    const shape = { B, T, H, KV, D };
    const rot = { ...shape, rot: c.rot_dims, base: c.rope_base, pos0: 0 };
    let count = 0;
    for (let i = 0; i < N; i++) if (a.targets[i]! >= 0) count++;
    sc.dloss.fill(count > 0 ? lossScale / count : 0);
    const gv = (n: string): Arr => view(G, this.layout.byName.get(n)!);
    const normBack = (dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, x: Arr, w: Arr, mean: Arr, rstd: Arr): void => {
      if (c.norm === 'layernorm') be.layernormBackward(dinp, dw, db, dout, x, w, mean, rstd, N, C);
      else be.rmsnormBackward(dinp, dw, dout, x, w, rstd, N, C);
    };

    // loss -> logits -> final norm
    sc.dlogits.fill(0);
    be.crossEntropyBackward(sc.dlogits, a.logits, a.targets, sc.dloss, N, V);
    sc.dln.fill(0);
    be.linearBackward(sc.dln, this.headWeight(G), null, sc.dlogits, a.lnf, this.headWeight(this.params), N, C, V);
    sc.dresid.fill(0);
    normBack(sc.dresid, gv('lnf.w'), this.layout.byName.has('lnf.b') ? gv('lnf.b') : null, sc.dln,
      a.resid[c.n_layer]!, this.p('lnf.w'), a.lnfMean, a.lnfRstd);

    // blocks in reverse; sc.dresid holds d(block output) and becomes d(block input)
    for (let l = c.n_layer - 1; l >= 0; l--) {
      const w = this.blockParams[l]!, gw = this.gradBlocks[l]!, s = a.blocks[l]!, x = a.resid[l]!;
      const mlpIn = c.parallel_residual ? x : s.mid;
      // MLP branch (its output adds to the residual: dmlp_out = dresid)
      sc.dact.fill(0);
      be.linearBackward(sc.dact, gw.downw, gw.downb, sc.dresid, s.act, w.downw, N, F, C);
      sc.dfc.fill(0);
      if (c.activation === 'swiglu') {
        sc.dup!.fill(0);
        be.swigluBackward(sc.dfc, sc.dup!, sc.dact, s.fc, s.up!, N * F);
      } else {
        be.geluBackward(sc.dfc, s.fc, sc.dact, N * F, c.activation === 'gelu' ? 'erf' : 'tanh');
      }
      // parallel residual: the attention projection reads d(block output) before the MLP's norm adds to it
      sc.dy.fill(0);
      if (c.parallel_residual) be.linearBackward(sc.dy, gw.projw, gw.projb, sc.dresid, s.y, w.projw, N, H * D, C);
      sc.dln.fill(0);
      be.linearBackward(sc.dln, gw.fcw, gw.fcb, sc.dfc, s.ln2, w.fcw, N, C, F);
      if (c.activation === 'swiglu') be.linearBackward(sc.dln, gw.upw!, gw.upb, sc.dup!, s.ln2, w.upw!, N, C, F);
      normBack(sc.dresid, gw.ln2w, gw.ln2b, sc.dln, mlpIn, w.ln2w, s.ln2Mean, s.ln2Rstd);
      // attention branch (sequential: dresid is now d(resid_mid))
      if (!c.parallel_residual) be.linearBackward(sc.dy, gw.projw, gw.projb, sc.dresid, s.y, w.projw, N, H * D, C);
      sc.dqkv.fill(0);
      be.attentionBackward(sc.dqkv, gw.kvBias ? ({ dk: gw.kvBias.k, dv: gw.kvBias.v } as KVBiasGrad) : null,
        sc.dy, s.qkv, s.att, w.kvBias, shape);
      if (c.positions === 'rotary') be.rotaryBackward(sc.dqkv, rot);
      sc.dln.fill(0);
      be.linearBackward(sc.dln, gw.qkvw, gw.qkvb, sc.dqkv, s.ln1, w.qkvw, N, C, (H + 2 * KV) * D);
      normBack(sc.dresid, gw.ln1w, gw.ln1b, sc.dln, x, w.ln1w, s.ln1Mean, s.ln1Rstd);
    }
    be.embedBackward(gv('wte'), c.positions === 'learned' ? gv('wpe') : null, sc.dresid, a.ids, N, T, C);
  }

  // ------------------------------------------------------------------ KV-cache decoding
  /** A fresh cache for B rows of up to Tmax tokens. */
  newCache(B: number, Tmax = this.config.ctx): KVCache {
    const c = this.config;
    if (c.positions === 'learned' && Tmax > c.ctx) throw new ModelError(`cache length ${Tmax} exceeds ctx ${c.ctx} (learned positions)`);
    const n = B * c.n_kv_head * Tmax * c.d_head;
    return {
      B, Tmax, pos: 0,
      k: Array.from({ length: c.n_layer }, () => this.backend.alloc(n)),
      v: Array.from({ length: c.n_layer }, () => this.backend.alloc(n)),
    };
  }

  /**
   * Feed Tn new tokens per row (ids[B*Tn]) at cache position cache.pos; returns logits [B*Tn, vocab]
   * (a view reused by the next call) and advances cache.pos. Hooks do not fire here.
   */
  decode(ids: Int32Array, Tn: number, cache: KVCache): Arr {
    const c = this.config, be = this.backend, B = cache.B, N = B * Tn;
    if (cache.pos + Tn > cache.Tmax) throw new ModelError(`KV cache full: ${cache.pos} + ${Tn} > ${cache.Tmax}`);
    this.checkIds(ids, N, 'decode ids');
    const key = `${B}x${Tn}`;
    if (this.decodeBufs?.key !== key) this.decodeBufs = { key, a: this.allocActs(B, Tn, true) };
    const a = this.decodeBufs.a, s = a.blocks[0]!, x = a.resid[0]!, tmp = a.resid[1]!;
    a.ids.set(ids.subarray(0, N));
    const C = c.d_model, F = c.d_ff, H = c.n_head, KV = c.n_kv_head, D = c.d_head, pos0 = cache.pos;
    const shape = { B, T: Tn, H, KV, D, pos0, Tmax: cache.Tmax };
    const norm = (out: Arr, xx: Arr, w: Arr, b: Arr | null): void => {
      if (c.norm === 'layernorm') be.layernormForward(out, s.ln1Mean, s.ln1Rstd, xx, w, b, N, C, c.norm_eps);
      else be.rmsnormForward(out, s.ln1Rstd, xx, w, N, C, c.norm_eps);
    };
    const wpe = c.positions === 'learned' ? this.p('wpe').subarray(pos0 * C) : null;
    be.embedForward(x, a.ids, this.p('wte'), wpe, N, Tn, C);
    for (let l = 0; l < c.n_layer; l++) {
      const w = this.blockParams[l]!;
      norm(s.ln1, x, w.ln1w, w.ln1b);
      be.linearForward(s.qkv, s.ln1, w.qkvw, w.qkvb, N, C, (H + 2 * KV) * D);
      if (c.positions === 'rotary') be.rotaryForward(s.qkv, { B, T: Tn, H, KV, D, rot: c.rot_dims, base: c.rope_base, pos0 });
      be.attentionDecode(s.y, null, s.qkv, cache.k[l]!, cache.v[l]!, w.kvBias, shape);
      be.linearForward(s.attnOut, s.y, w.projw, w.projb, N, H * D, C);
      let mlpIn = x;
      if (!c.parallel_residual) {
        be.add(s.mid, x, s.attnOut, N * C);
        mlpIn = s.mid;
      }
      norm(s.ln2, mlpIn, w.ln2w, w.ln2b);
      be.linearForward(s.fc, s.ln2, w.fcw, w.fcb, N, C, F);
      if (c.activation === 'swiglu') {
        be.linearForward(s.up!, s.ln2, w.upw!, w.upb, N, C, F);
        be.swigluForward(s.act, s.fc, s.up!, N * F);
      } else be.geluForward(s.act, s.fc, N * F, c.activation === 'gelu' ? 'erf' : 'tanh');
      be.linearForward(s.mlpOut, s.act, w.downw, w.downb, N, F, C);
      if (c.parallel_residual) {
        be.add(tmp, x, s.attnOut, N * C);
        be.add(x, tmp, s.mlpOut, N * C);
      } else be.add(x, s.mid, s.mlpOut, N * C);
    }
    if (c.norm === 'layernorm') be.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, x, this.p('lnf.w'), c.biases ? this.p('lnf.b') : null, N, C, c.norm_eps);
    else be.rmsnormForward(a.lnf, a.lnfRstd, x, this.p('lnf.w'), N, C, c.norm_eps);
    be.linearForward(a.logits, a.lnf, this.headWeight(this.params), null, N, C, c.vocab);
    cache.pos += Tn;
    return a.logits;
  }
}
