// Golden test: the gpt2-tiny fixture (HF GPT-2 names, Conv1D layout) must reproduce PyTorch's float64
// logits, loss, every parameter gradient and the 10-step AdamW trajectory, on every available backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackend } from '../../src/engine/index.ts';
import { RefBackend } from '../../src/engine/ref/index.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { openSafetensors } from '../../src/io/safetensors.ts';
import { loadGpt2, exportGpt2 } from '../../src/model/convert/gpt2.ts';
import { hfConfig } from '../../src/model/convert/hf.ts';
import { GPT } from '../../src/model/gpt.ts';
import { AdamW, globalNorm } from '../../src/train/optimizer.ts';

const FIX = join(import.meta.dirname, '../../../shared/fixtures/gpt2-tiny');
const golden = JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8'));
const gold = openSafetensors(join(FIX, 'golden.safetensors'));
const hfCfg = JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8'));

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let maxDiff = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
  }
  return maxDiff / Math.max(maxAbs, 1e-30);
}

async function backends(): Promise<Backend[]> {
  const out: Backend[] = [new RefBackend('f32')];
  try {
    out.push(await createBackend('native'));
  } catch { /* native not built: covered by the ref run */ }
  return out;
}

function load(be: Backend): { model: GPT; ids: Int32Array; tg: Int32Array; B: number; T: number } {
  const cfg = hfConfig(hfCfg).config;
  const f = openSafetensors(join(FIX, 'model.safetensors'));
  const src = { has: (n: string) => f.tensors.has(n), shape: (n: string) => f.tensors.get(n)!.shape, readF32: (n: string) => f.readF32(n), names: () => f.tensors.keys() };
  const model = loadGpt2(be, cfg, src);
  f.close();
  const B = golden.input_ids.length, T = golden.input_ids[0].length;
  return { model, ids: Int32Array.from(golden.input_ids.flat()), tg: Int32Array.from(golden.targets.flat()), B, T };
}

for (const be of await backends()) {
  test(`gpt2-tiny golden logits, loss and gradients (${be.name})`, () => {
    const { model, ids, tg, B, T } = load(be);
    const loss = model.forward(ids, B, T, tg);
    assert.ok(Math.abs(loss - golden.loss) / golden.loss < 1e-4, `loss ${loss} vs ${golden.loss}`);
    const e = relErr(model.logits(), gold.readF32('logits'));
    assert.ok(e < 1e-4, `logits rel err ${e}`);
    model.zeroGrads();
    model.backward();
    const g = exportGpt2(new GPT(be, model.config, model.grads!));
    for (const [name, t] of g) {
      const ge = relErr(t.data, gold.readF32('grad.' + name));
      assert.ok(ge < 1e-3, `grad ${name} rel err ${ge}`);
    }
  });

  test(`gpt2-tiny golden 10-step AdamW trajectory (${be.name})`, () => {
    const { model, ids, tg, B, T } = load(be);
    const a = golden.adamw;
    const opt = new AdamW(be, model.layout, { beta1: a.betas[0], beta2: a.betas[1], eps: a.eps, weightDecay: a.weight_decay, decay: 'matrices' });
    for (let s = 0; s < a.steps; s++) {
      model.zeroGrads();
      const loss = model.forward(ids, B, T, tg);
      model.backward();
      const norm = globalNorm(be, model.grads!);
      assert.ok(Math.abs(loss - a.losses_before_each_step[s]) < 1e-4, `step ${s}: loss ${loss} vs ${a.losses_before_each_step[s]}`);
      assert.ok(Math.abs(norm - a.grad_norms_before_clipping[s]) / a.grad_norms_before_clipping[s] < 1e-3, `step ${s}: grad norm ${norm}`);
      opt.update(model.params, model.grads!, a.lr, norm > a.grad_clip ? a.grad_clip / norm : 1);
    }
    for (const [name, t] of exportGpt2(model)) {
      const e = relErr(t.data, gold.readF32('after10.' + name));
      assert.ok(e < 1e-3, `after10 ${name} rel err ${e}`);
    }
  });
}
