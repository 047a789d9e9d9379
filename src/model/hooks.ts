/**
 * Hook points (TransformerLens vocabulary). Each names an activation buffer of the forward pass; a hook
 * can read it or return a replacement of the same length, which is copied in before the pass goes on.
 *
 * | name                          | shape                    |
 * |-------------------------------|--------------------------|
 * | hook_embed                    | [B, T, d_model]          | token (+ position) embedding
 * | blocks.{l}.hook_resid_pre     | [B, T, d_model]          | block input
 * | blocks.{l}.attn.hook_pattern  | [B, H, T, T (+1 k′ slot)] | attention probabilities
 * | blocks.{l}.hook_attn_out      | [B, T, d_model]          | attention output projection
 * | blocks.{l}.hook_resid_mid     | [B, T, d_model]          | after attention (sequential blocks only)
 * | blocks.{l}.mlp.hook_pre       | [B, T, d_ff]             | down-projection input (after activation)
 * | blocks.{l}.hook_mlp_out       | [B, T, d_model]          | down-projection output
 * | blocks.{l}.hook_resid_post    | [B, T, d_model]          | block output
 * | hook_logits                   | [B, T, vocab]            |
 */
import type { Arr } from '../engine/backend.ts';

export interface HookContext {
  readonly name: string;
  readonly shape: readonly number[];
  /** layer index, or -1 for hook_embed / hook_logits */
  readonly layer: number;
}

/** Read the activation (do not keep the array: it is reused) or return a replacement of the same length. */
export type HookFn = (act: Arr, ctx: HookContext) => Arr | void;

export const BLOCK_HOOKS = [
  'hook_resid_pre',
  'attn.hook_pattern',
  'hook_attn_out',
  'hook_resid_mid',
  'mlp.hook_pre',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

/** Every hook name of a model with n_layer blocks, in forward order. */
export function hookNames(nLayer: number): string[] {
  const names = ['hook_embed'];
  for (let l = 0; l < nLayer; l++) for (const h of BLOCK_HOOKS) names.push(`blocks.${l}.${h}`);
  names.push('hook_logits');
  return names;
}

export class HookError extends Error {
  override name = 'HookError';
}
