/**
 * Model-level quantization (simulated: weights are quantized and dequantized back to float32, so the
 * ordinary forward pass evaluates the quantized model), and activation quantization through hooks.
 *
 * Weights: every linear weight of the blocks (attn.qkv.w, attn.proj.w, mlp.fc/proj.w or mlp.gate/up/down.w)
 * — and, with scope 'all-matrices', the embedding and unembedding matrices — is quantized with rtn.ts;
 * norms, biases and k′/v′ stay float32. Super weights (or any coordinates) can be held out in full precision.
 *
 * Size accounting: quantized tensors as counted by quantizeTensor (codes + fp16 Δ and min per block +
 * fp32 value and int32 index per held-out entry), every other parameter at 32 bits.
 *
 * Activations (W8A8-style simulation): fake quantization (quantize then dequantize, RTN asymmetric, round
 * half to even) of the activations lmlab's hooks expose at the linear layers — the MLP down-projection
 * input (mlp.hook_pre), its output (hook_mlp_out) and the attention output projection's output
 * (hook_attn_out) — per sequence ('tensor') or per token. The normalised inputs of qkv and fc have no hook
 * point and are NOT quantized. Super activations (given layer, channel and magnitude at hook_mlp_out) can be
 * kept in full precision: excluded from the range and restored (Yu et al. §4.1).
 */
import type { Arr } from '../engine/backend.ts';
import { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import { QuantizeError, quantStep, quantizeTensor, quantizeValue, type ClipOption } from './rtn.ts';

/** A weight coordinate: parameter name and flat index. */
export interface WeightCoord {
  tensor: string;
  index: number;
}

export interface ModelQuantOptions {
  bits: number;
  /** elements per block within a row; 0 = per tensor */
  block: number;
  clip?: ClipOption;
  /** keep entries with |z| > zOutlier (per block) in full precision */
  zOutlier?: number;
  /** coordinates held out in full precision (super weights) */
  keep?: readonly WeightCoord[];
  /** 'linear' (default): block linear weights; 'all-matrices': also the embedding and unembedding */
  scope?: 'linear' | 'all-matrices';
}

export interface TensorQuantStats {
  name: string;
  rows: number;
  cols: number;
  blocks: number;
  heldOut: number;
  /** root-mean-square error of the dequantized tensor */
  rmse: number;
  bits: number;
}

export interface ModelQuantReport {
  options: { bits: number; block: number; clip: string; zOutlier: number | null; keep: number; scope: string };
  tensors: TensorQuantStats[];
  /** parameters quantized / total */
  quantizedParams: number;
  totalParams: number;
  bytesFp32: number;
  bytesQuantized: number;
  /** bytesFp32 / bytesQuantized */
  compression: number;
}

/** Names of the tensors a scope quantizes. */
export function quantizedTensorNames(model: GPT, scope: 'linear' | 'all-matrices' = 'linear'): string[] {
  const linear = /^blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc|proj|gate|up|down))\.w$/;
  return model.layout.specs
    .filter((s) => linear.test(s.name) || (scope === 'all-matrices' && (s.name === 'wte' || s.name === 'lm_head')))
    .map((s) => s.name);
}

export function clipLabel(c: ClipOption | undefined): string {
  if (!c || c.kind === 'none') return 'none';
  return c.kind === 'zscore' ? `z-score ${c.z}` : `search (${(c.grid ?? []).length || 11} ratios)`;
}

/** A copy of the model with quantized-then-dequantized weights, and the report. */
export function quantizeModel(model: GPT, o: ModelQuantOptions): { model: GPT; report: ModelQuantReport } {
  const scope = o.scope ?? 'linear';
  const params = model.backend.alloc(model.layout.total);
  params.set(model.params);
  const q = new GPT(model.backend, model.config, params);
  const names = quantizedTensorNames(model, scope);
  const keep = o.keep ?? [];
  for (const k of keep) {
    if (!names.includes(k.tensor)) throw new QuantizeError(`keep: '${k.tensor}' is not among the quantized tensors (${scope})`);
  }
  const tensors: TensorQuantStats[] = [];
  let qParams = 0, qBits = 0;
  for (const name of names) {
    const spec = model.spec(name), [rows, cols] = spec.shape as [number, number];
    const src = model.p(name);
    const res = quantizeTensor(src, rows, cols, {
      bits: o.bits, block: o.block, clip: o.clip, zOutlier: o.zOutlier,
      holdOut: keep.filter((k) => k.tensor === name).map((k) => k.index),
    });
    q.p(name).set(res.xhat);
    tensors.push({ name, rows, cols, blocks: res.blocks.length, heldOut: res.heldOut.length, rmse: Math.sqrt(res.sse / (rows * cols)), bits: res.bits });
    qParams += rows * cols;
    qBits += res.bits;
  }
  const total = model.layout.total;
  const bytesQuantized = (qBits + 32 * (total - qParams)) / 8;
  return {
    model: q,
    report: {
      options: { bits: o.bits, block: o.block, clip: clipLabel(o.clip), zOutlier: o.zOutlier ?? null, keep: keep.length, scope },
      tensors, quantizedParams: qParams, totalParams: total, bytesFp32: total * 4, bytesQuantized, compression: (total * 4) / bytesQuantized,
    },
  };
}

/** A super activation to keep in full precision: entries of `channel` at hook_mlp_out of `layer` with |x| ≥ minAbs. */
export interface KeptActivation {
  layer: number;
  channel: number;
  minAbs: number;
}

export type ActPoint = 'mlp_pre' | 'mlp_out' | 'attn_out';

export interface ActQuantOptions {
  bits: number;
  /** hook points quantized (default all three) */
  points?: readonly ActPoint[];
  /** one range per sequence (default) or per token */
  granularity?: 'tensor' | 'token';
  keep?: readonly KeptActivation[];
}

/** Fake-quantize x[a..b) (stride 1) in place, skipping `skip` indices (they keep full precision). */
function fakeQuant(x: Arr, a: number, b: number, bits: number, skip: Set<number> | null): void {
  let lo = Infinity, hi = -Infinity;
  for (let i = a; i < b; i++) {
    if (skip?.has(i)) continue;
    lo = Math.min(lo, x[i]!);
    hi = Math.max(hi, x[i]!);
  }
  if (lo === Infinity) return;
  const step = quantStep(lo, hi, bits), qmax = 2 ** bits - 1;
  for (let i = a; i < b; i++) {
    if (skip?.has(i)) continue;
    x[i] = step * quantizeValue(x[i]!, lo, step, qmax) + lo;
  }
}

/** Hooks that fake-quantize activations; `stats.kept` counts entries kept in full precision. */
export function activationQuantHooks(model: GPT, o: ActQuantOptions, stats = { kept: 0 }): Map<string, HookFn> {
  const c = model.config;
  const points = o.points ?? ['mlp_pre', 'mlp_out', 'attn_out'];
  const gran = o.granularity ?? 'tensor';
  quantStep(0, 1, o.bits);
  for (const k of o.keep ?? []) {
    if (!(k.layer >= 0 && k.layer < c.n_layer && k.channel >= 0 && k.channel < c.d_model)) throw new QuantizeError(`keep activation: layer ${k.layer}, channel ${k.channel} is outside the model`);
  }
  const hooks = new Map<string, HookFn>();
  for (let l = 0; l < c.n_layer; l++) {
    const keep = (o.keep ?? []).filter((k) => k.layer === l);
    for (const p of points) {
      const name = p === 'mlp_pre' ? `blocks.${l}.mlp.hook_pre` : p === 'mlp_out' ? `blocks.${l}.hook_mlp_out` : `blocks.${l}.hook_attn_out`;
      hooks.set(name, (act, ctx) => {
        const [B, T, W] = ctx.shape as [number, number, number];
        let skip: Set<number> | null = null;
        if (p === 'mlp_out' && keep.length) {
          skip = new Set();
          for (let n = 0; n < B * T; n++) for (const k of keep) if (Math.abs(act[n * W + k.channel]!) >= k.minAbs) skip.add(n * W + k.channel);
          stats.kept += skip.size;
        }
        if (gran === 'tensor') for (let b = 0; b < B; b++) fakeQuant(act, b * T * W, (b + 1) * T * W, o.bits, skip);
        else for (let n = 0; n < B * T; n++) fakeQuant(act, n * W, (n + 1) * W, o.bits, skip);
        return act;
      });
    }
  }
  return hooks;
}
