// Export to HF GPT-2: the files use the fixture's names, shapes and Conv1D layout, and re-importing them
// gives identical logits; non-GPT-2 shapes are refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { openSafetensors } from '../../src/io/safetensors.ts';
import { exportHFGpt2 } from '../../src/model/convert/export.ts';
import { hfConfig, loadHFModel } from '../../src/model/convert/hf.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/init.ts';

const FIX = join(import.meta.dirname, '../../../shared/fixtures/gpt2-tiny');

test('export → re-import gives identical logits; names, shapes and layout match the HF gpt2 fixture', () => {
  const be = new RefBackend();
  // the fixture's own architecture, as lmlab resolves it, with fresh weights
  const cfg = hfConfig(JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8'))).config;
  const model = createModel(be, resolveConfig({ ...cfg, init_std: 0.2 }), 3);
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-export-'));
  exportHFGpt2(model, dir);
  const ours = openSafetensors(join(dir, 'model.safetensors')), theirs = openSafetensors(join(FIX, 'model.safetensors'));
  assert.deepEqual([...ours.tensors.keys()].sort(), [...theirs.tensors.keys()].sort(), 'same tensor names as the HF fixture');
  for (const [n, t] of theirs.tensors) assert.deepEqual(ours.tensors.get(n)!.shape, t.shape, `shape of ${n}`);
  // Conv1D layout: c_attn.weight is [in, out], i.e. the transpose of lmlab's [out, in] qkv.w
  const q = model.p('blocks.0.attn.qkv.w'), c = ours.readF32('transformer.h.0.attn.c_attn.weight');
  const C = cfg.d_model;
  assert.equal(c[1 * 3 * C + 5], q[5 * C + 1], 'c_attn.weight[in=1, out=5] equals qkv.w[out=5, in=1]');
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const fx = JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8'));
  for (const k of ['model_type', 'vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'tie_word_embeddings']) {
    assert.deepEqual(hf[k], fx[k], `config.json field ${k}`);
  }
  const back = loadHFModel(be, dir).model;
  const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 7) % cfg.vocab);
  model.forward(ids, 2, 16);
  const a = Float32Array.from(model.logits());
  back.forward(ids, 2, 16);
  assert.deepEqual(Array.from(back.logits()), Array.from(a), 'identical logits after the round trip');
});

test('models that are not GPT-2-shaped are refused with the field that prevents export', () => {
  const be = new RefBackend();
  const m = createModel(be, resolveConfig({ n_layer: 1, d_model: 16, n_head: 2, vocab: 11, ctx: 8, norm: 'rmsnorm' }), 0);
  assert.throws(() => exportHFGpt2(m, mkdtempSync(join(tmpdir(), 'lmlab-export-'))), /norm is 'rmsnorm'/);
});
