/**
 * Dequantized evaluation: the perplexity table of a model in float32, with naive round-to-nearest weights
 * (per tensor and block-wise) and with the outlier-aware variants (super weights held out, z-score outliers
 * held out, clipping search, z-score clipping + super weights held out as in Yu et al.), plus activation
 * quantization (W8A8 simulation) with and without the super activation kept in full precision; with the
 * size of each quantized model.
 */
import type { GPT } from '../model/gpt.ts';
import type { HookFn } from '../model/hooks.ts';
import { evaluateTokens } from '../train/evaluate.ts';
import { activationQuantHooks, quantizeModel, type KeptActivation, type ModelQuantOptions, type WeightCoord } from './model.ts';
import { QuantizeError } from './rtn.ts';

export interface QuantEvalRow {
  label: string;
  /** weight format, e.g. "fp32", "int4 block 128" */
  weights: string;
  /** activation format, e.g. "fp32", "int8 per-sequence" */
  activations: string;
  loss: number;
  perplexity: number;
  /** model size in bytes (weights as stored) */
  bytes: number;
  /** fp32 size / this size */
  compression: number;
  /** entries kept in full precision (weights held out, or activation entries kept during evaluation) */
  keptFullPrecision: number;
}

export interface QuantTableOptions {
  evalTokens: ArrayLike<number>;
  /** evaluation window */
  T: number;
  /** weight bit widths (default 8, 4, 3) */
  bits?: readonly number[];
  /** block size of the block-wise rows (default 128; capped at the row length by quantizeTensor) */
  block?: number;
  /** super weights to hold out (adds the outlier-aware rows) */
  keep?: readonly WeightCoord[];
  /** add rows holding out |z| > zOutlier outliers */
  zOutlier?: number;
  /** add rows with the clipping search */
  clipSearch?: boolean;
  /** add rows with z-score clipping at this z plus the super weights held out (Yu et al.'s recipe) */
  zClip?: number;
  /** add the activation-quantization rows at this bit width (e.g. 8); null/undefined = none */
  actBits?: number | null;
  /** super activations kept in full precision in the activation rows */
  keepActivations?: readonly KeptActivation[];
  scope?: ModelQuantOptions['scope'];
}

/** Evaluate a model under temporary hooks (restoring the model's own hooks). */
function evalWith(model: GPT, hooks: Map<string, HookFn>, tokens: ArrayLike<number>, T: number): { loss: number; perplexity: number } {
  const saved = new Map(model.hooks);
  for (const [k, v] of hooks) model.addHook(k, v);
  try {
    const r = evaluateTokens(model, tokens, T);
    return { loss: r.loss, perplexity: r.perplexity };
  } finally {
    model.clearHooks();
    for (const [k, v] of saved) model.hooks.set(k, v);
  }
}

/** The perplexity table (see the file comment). Rows are evaluated on the same windows. */
export function quantizationTable(model: GPT, o: QuantTableOptions): QuantEvalRow[] {
  const bitsList = o.bits ?? [8, 4, 3], block = o.block ?? 128, scope = o.scope ?? 'linear';
  if (block < 1) throw new QuantizeError(`block: expected ≥ 1, got ${block}`);
  const fp32Bytes = model.layout.total * 4;
  const rows: QuantEvalRow[] = [];
  const base = evalWith(model, new Map(), o.evalTokens, o.T);
  rows.push({ label: 'fp32', weights: 'fp32', activations: 'fp32', ...base, bytes: fp32Bytes, compression: 1, keptFullPrecision: 0 });
  const wrow = (label: string, weights: string, q: ModelQuantOptions): void => {
    const { model: qm, report } = quantizeModel(model, { ...q, scope });
    const r = evalWith(qm, new Map(), o.evalTokens, o.T);
    rows.push({ label, weights, activations: 'fp32', ...r, bytes: report.bytesQuantized, compression: report.compression, keptFullPrecision: report.tensors.reduce((a, t) => a + t.heldOut, 0) });
  };
  for (const b of bitsList) {
    wrow(`W${b} naive per-tensor`, `int${b} per-tensor`, { bits: b, block: 0 });
    if (o.keep?.length) wrow(`W${b} per-tensor + super weights held out`, `int${b} per-tensor + ${o.keep.length} fp32`, { bits: b, block: 0, keep: o.keep });
    wrow(`W${b} naive block`, `int${b} block ${block}`, { bits: b, block });
    if (o.keep?.length) wrow(`W${b} block + super weights held out`, `int${b} block ${block} + ${o.keep.length} fp32`, { bits: b, block, keep: o.keep });
    if (o.zOutlier !== undefined) wrow(`W${b} block + |z|>${o.zOutlier} outliers held out`, `int${b} block ${block} + outliers fp32`, { bits: b, block, zOutlier: o.zOutlier });
    if (o.clipSearch) wrow(`W${b} block + clip search`, `int${b} block ${block} clipped`, { bits: b, block, clip: { kind: 'search' } });
    if (o.zClip !== undefined) wrow(`W${b} block + z-clip ${o.zClip}${o.keep?.length ? ' + super weights held out' : ''}`, `int${b} block ${block} z-clipped`, { bits: b, block, clip: { kind: 'zscore', z: o.zClip }, keep: o.keep });
  }
  if (o.actBits) {
    const a = o.actBits;
    const { model: w8, report } = quantizeModel(model, { bits: a, block: 0, scope });
    const actRow = (label: string, m: GPT, weights: string, bytes: number, keep: readonly KeptActivation[]): void => {
      const stats = { kept: 0 };
      const r = evalWith(m, activationQuantHooks(m, { bits: a, keep }, stats), o.evalTokens, o.T);
      rows.push({ label, weights, activations: `int${a} per-sequence${keep.length ? ' + super activation fp32' : ''}`, ...r, bytes, compression: fp32Bytes / bytes, keptFullPrecision: stats.kept });
    };
    actRow(`A${a} naive (fp32 weights)`, model, 'fp32', fp32Bytes, []);
    if (o.keepActivations?.length) actRow(`A${a} + super activation kept (fp32 weights)`, model, 'fp32', fp32Bytes, o.keepActivations);
    actRow(`W${a}A${a} naive`, w8, `int${a} per-tensor`, report.bytesQuantized, []);
    if (o.keepActivations?.length) actRow(`W${a}A${a} + super activation kept`, w8, `int${a} per-tensor`, report.bytesQuantized, o.keepActivations);
  }
  return rows;
}

/** The table as aligned text. */
export function formatQuantTable(rows: readonly QuantEvalRow[]): string {
  const head = ['configuration', 'weights', 'activations', 'loss', 'ppl', 'Δppl', 'size (KB)', '×', 'fp32 kept'];
  const base = rows[0]?.perplexity ?? NaN;
  const body = rows.map((r) => [r.label, r.weights, r.activations, r.loss.toFixed(4), r.perplexity.toFixed(3),
    (r.perplexity - base >= 0 ? '+' : '') + (r.perplexity - base).toFixed(3), (r.bytes / 1024).toFixed(1), r.compression.toFixed(2), String(r.keptFullPrecision)]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n') + '\n';
}
