/**
 * Parameter initialisation (GPT-2 / nanoGPT scheme): weights ~ N(0, init_std), residual output
 * projections (attn.proj, mlp.proj / mlp.down) ~ N(0, init_std / sqrt(2 n_layer)), biases 0, norm gains 1,
 * k′/v′ attention biases ~ N(0, init_std). Deterministic for a given seed.
 */
import { Rng } from '../engine/rng.ts';
import type { Backend } from '../engine/backend.ts';
import type { GPTConfig } from './config.ts';
import { GPT } from './gpt.ts';

/** Fill the model's parameters in place from `seed`. */
export function initParams(model: GPT, seed: number): void {
  const c = model.config, rng = new Rng(seed);
  const residStd = c.init_std / Math.sqrt(2 * c.n_layer);
  for (const s of model.layout.specs) {
    const v = model.p(s.name);
    const leaf = s.name.split('.').slice(-2).join('.');
    if (/(^|\.)(ln1|ln2|lnf)\.w$/.test(s.name) || s.name === 'lnf.w') v.fill(1);
    else if (s.name.endsWith('.b')) v.fill(0);
    else {
      const std = leaf === 'proj.w' || leaf === 'down.w' ? residStd : c.init_std;
      for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
    }
  }
}

/** A freshly initialised model. */
export function createModel(backend: Backend, config: GPTConfig, seed = 0): GPT {
  const m = new GPT(backend, config);
  initParams(m, seed);
  return m;
}
