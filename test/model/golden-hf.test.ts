// HF checkpoints: gpt2 / neox / llama fixtures load through the converters and reproduce PyTorch logits
// (llama from BF16 weights) within 1e-4 relative, on every available backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackend } from '../../src/engine/index.ts';
import { RefBackend } from '../../src/engine/ref/index.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { openSafetensors } from '../../src/io/safetensors.ts';
import { loadHFModel, hfConfig } from '../../src/model/convert/hf.ts';

const FIX = join(import.meta.dirname, '../../../shared/fixtures');

const bes: Backend[] = [new RefBackend('f32')];
try { bes.push(await createBackend('native')); } catch { /* not built */ }

for (const be of bes) {
  for (const name of ['gpt2-tiny', 'neox-tiny', 'llama-tiny']) {
    test(`${name} logits match PyTorch (${be.name})`, () => {
      const dir = join(FIX, name);
      const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8'));
      const ids = Int32Array.from(golden.input_ids.flat() as number[]);
      const B = golden.input_ids.length, T = golden.input_ids[0].length;
      const { model } = loadHFModel(be, dir);
      model.forward(ids, B, T);
      const got = model.logits();
      const want = openSafetensors(join(dir, 'golden.safetensors')).readF32('logits');
      assert.equal(got.length, want.length);
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < want.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!)); maxAbs = Math.max(maxAbs, Math.abs(want[i]!)); }
      assert.ok(maxDiff / maxAbs < 1e-4, `${name}: max rel err ${maxDiff / maxAbs}`);
    });
  }
}

test('unsupported HF configs are refused with the field named', () => {
  assert.throws(() => hfConfig({ model_type: 'bert' }), /model_type/);
  assert.throws(() => hfConfig({ model_type: 'llama', hidden_act: 'gelu', num_attention_heads: 4, hidden_size: 32, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 9 }), /hidden_act/);
  assert.throws(() => hfConfig({ model_type: 'gpt2', n_embd: 'x' }), /n_embd/);
});
