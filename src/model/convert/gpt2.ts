/**
 * HF GPT-2 ⇄ lmlab canonical layout. HF stores Conv1D weights [in, out]; lmlab stores Linear [out, in],
 * so c_attn / c_proj / c_fc weights are transposed on the way in and out. lm_head is tied to wte.
 */
import type { GPTConfig } from '../config.ts';
import { GPT, ModelError } from '../gpt.ts';
import type { Backend } from '../../engine/backend.ts';

/** A source of float32 tensors by HF name (e.g. a safetensors file), with shapes. */
export interface TensorSource {
  has(name: string): boolean;
  shape(name: string): readonly number[];
  readF32(name: string): Float32Array;
  names(): Iterable<string>;
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** Map from lmlab name to [HF name, transpose?] for GPT-2. */
export function gpt2NameMap(c: GPTConfig): Map<string, [string, boolean]> {
  const m = new Map<string, [string, boolean]>([
    ['wte', ['transformer.wte.weight', false]], ['wpe', ['transformer.wpe.weight', false]],
    ['lnf.w', ['transformer.ln_f.weight', false]], ['lnf.b', ['transformer.ln_f.bias', false]],
  ]);
  for (let l = 0; l < c.n_layer; l++) {
    const h = `transformer.h.${l}.`, p = `blocks.${l}.`;
    const pairs: [string, string, boolean][] = [
      ['ln1.w', 'ln_1.weight', false], ['ln1.b', 'ln_1.bias', false],
      ['attn.qkv.w', 'attn.c_attn.weight', true], ['attn.qkv.b', 'attn.c_attn.bias', false],
      ['attn.proj.w', 'attn.c_proj.weight', true], ['attn.proj.b', 'attn.c_proj.bias', false],
      ['ln2.w', 'ln_2.weight', false], ['ln2.b', 'ln_2.bias', false],
      ['mlp.fc.w', 'mlp.c_fc.weight', true], ['mlp.fc.b', 'mlp.c_fc.bias', false],
      ['mlp.proj.w', 'mlp.c_proj.weight', true], ['mlp.proj.b', 'mlp.c_proj.bias', false],
    ];
    for (const [a, b, t] of pairs) m.set(p + a, [h + b, t]);
  }
  if (!c.tied_embeddings) m.set('lm_head', ['lm_head.weight', false]);
  return m;
}

/** HF buffers that are not parameters and are ignored on import. */
const IGNORED = /(\.attn\.bias|\.attn\.masked_bias)$/;

/** Load HF GPT-2 weights into a new lmlab model. Unknown extra tensors are refused by name. */
export function loadGpt2(backend: Backend, config: GPTConfig, src: TensorSource, source = 'model.safetensors'): GPT {
  const model = new GPT(backend, config);
  const map = gpt2NameMap(config);
  const used = new Set<string>();
  for (const [name, [hf, t]] of map) {
    const spec = model.spec(name);
    const hfName = src.has(hf) ? hf : src.has(hf.replace(/^transformer\./, '')) ? hf.replace(/^transformer\./, '') : null;
    if (!hfName) throw new ModelError(`${source}: missing tensor '${hf}' (needed for ${name})`);
    used.add(hfName);
    const shape = src.shape(hfName);
    const want = t ? [spec.shape[1]!, spec.shape[0]!] : [...spec.shape];
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
      throw new ModelError(`${source}: tensor '${hfName}' has shape [${shape}], expected [${want}]`);
    }
    const data = src.readF32(hfName);
    model.p(name).set(t ? transpose(data, want[0]!, want[1]!) : data);
  }
  for (const n of src.names()) {
    if (used.has(n) || IGNORED.test(n)) continue;
    if (n === 'lm_head.weight' && config.tied_embeddings) continue;
    throw new ModelError(`${source}: unexpected tensor '${n}' for a GPT-2 checkpoint`);
  }
  return model;
}

/** Export an lmlab GPT-2-shaped model's parameters as HF GPT-2 tensors (Conv1D layout). */
export function exportGpt2(model: GPT): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, [hf, t]] of gpt2NameMap(model.config)) {
    const spec = model.spec(name);
    const data = Float32Array.from(model.p(name));
    if (t) out.set(hf, { shape: [spec.shape[1]!, spec.shape[0]!], data: transpose(data, spec.shape[0]!, spec.shape[1]!) });
    else out.set(hf, { shape: [...spec.shape], data });
  }
  return out;
}
