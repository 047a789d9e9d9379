/**
 * Export an lmlab model to a Hugging Face GPT-2 directory: config.json (GPT2LMHeadModel), model.safetensors
 * with HF names and Conv1D [in, out] weights, and the tokenizer.json when one is given. Only GPT-2-shaped
 * models can be written this way (LayerNorm with biases, learned positions, GELU, tied head, biases,
 * sequential blocks, no k′/v′ bias); anything else is refused with the field that prevents it.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import type { GPTConfig } from '../config.ts';
import { ModelError, type GPT } from '../gpt.ts';
import { exportGpt2 } from './gpt2.ts';

/** Why a config cannot be written as HF GPT-2, or null when it can. */
export function gpt2ExportBlocker(c: GPTConfig): string | null {
  if (c.norm !== 'layernorm') return `norm is '${c.norm}' (GPT-2 uses layernorm)`;
  if (c.positions !== 'learned') return `positions are '${c.positions}' (GPT-2 uses learned positions)`;
  if (c.activation === 'swiglu') return "activation is 'swiglu' (GPT-2 uses GELU)";
  if (!c.tied_embeddings) return 'tied_embeddings is false (GPT2LMHeadModel ties lm_head to wte)';
  if (!c.biases) return 'biases is false (GPT-2 has biases)';
  if (c.parallel_residual) return 'parallel_residual is true (GPT-2 blocks are sequential)';
  if (c.attn_kv_bias) return 'attn_kv_bias is true (GPT-2 has no k′/v′ slot)';
  if (c.n_kv_head !== c.n_head) return 'n_kv_head differs from n_head (GPT-2 has no grouped-query attention)';
  return null;
}

/** The id of the tokenizer's end-of-text special token (`<|endoftext|>`, else `</s>`), or null when it has none. */
function endOfTextId(tokenizerJson: string): number | null {
  let tok: unknown;
  try {
    tok = JSON.parse(readFileSync(tokenizerJson, 'utf8'));
  } catch (e) {
    throw new ModelError(`${tokenizerJson}: not valid JSON (${(e as Error).message})`);
  }
  const added = (tok as { added_tokens?: { id?: unknown; content?: unknown }[] }).added_tokens;
  if (!Array.isArray(added)) return null;
  for (const name of ['<|endoftext|>', '</s>']) {
    const t = added.find((a) => a && a.content === name && typeof a.id === 'number');
    if (t) return t.id as number;
  }
  return null;
}

/** Write `model` as an HF GPT-2 directory; returns the files written. */
export function exportHFGpt2(model: GPT, dir: string, tokenizerJson?: string): string[] {
  const c = model.config;
  const why = gpt2ExportBlocker(c);
  if (why) throw new ModelError(`cannot export as HF GPT-2: ${why}`);
  mkdirSync(dir, { recursive: true });
  const eos = tokenizerJson ? endOfTextId(tokenizerJson) : null;
  const config = {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: c.vocab, n_positions: c.ctx, n_ctx: c.ctx,
    n_embd: c.d_model, n_layer: c.n_layer, n_head: c.n_head, n_inner: c.d_ff === 4 * c.d_model ? null : c.d_ff,
    activation_function: c.activation === 'gelu' ? 'gelu' : 'gelu_new', layer_norm_epsilon: c.norm_eps,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, tie_word_embeddings: true, torch_dtype: 'float32',
    // GPT2Config defaults both to 50256, outside a small vocabulary: write the tokenizer's end-of-text id, or null
    bos_token_id: eos, eos_token_id: eos,
  };
  const files = [join(dir, 'config.json'), join(dir, 'model.safetensors')];
  writeFileAtomic(files[0]!, JSON.stringify(config, null, 2) + '\n');
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of exportGpt2(model)) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  writeSafetensors(files[1]!, tensors, { format: 'pt' });
  if (tokenizerJson) {
    files.push(join(dir, 'tokenizer.json'));
    copyFileSync(tokenizerJson, files[2]!);
  }
  return files;
}
