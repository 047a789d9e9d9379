/**
 * Generation-speed benchmark with the KV cache: the training-benchmark model (6 layers, 6 heads, d=384,
 * ctx 256, vocab 512), 16-token prompts, 128 new tokens sampled per row, at batch 1 and 32.
 * Reports generated tokens/s per batch size (and, for reference, the same decode without the cache:
 * a full forward pass over the growing sequence per token, batch 1).
 * Usage: npm run bench:generate [-- --backend native --new 128]
 */
import { parseArgs } from 'node:util';
import { createBackend } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { resolveConfig } from '../src/model/config.ts';
import { createModel } from '../src/model/init.ts';
import { generate } from '../src/train/generate.ts';

const { values: a } = parseArgs({ options: {
  backend: { type: 'string', default: 'native' }, new: { type: 'string', default: '128' }, prompt: { type: 'string', default: '16' },
  batches: { type: 'string', default: '1,32' },
} });
const be = await createBackend(a.backend!);
const cfg = resolveConfig({ n_layer: 6, n_head: 6, d_model: 384, ctx: 256, vocab: 512 });
const model = createModel(be, cfg, 0);
const nNew = Number(a.new), nPrompt = Number(a.prompt);
const rng = new Rng(1);
console.log(`# generation benchmark: backend ${be.name} (${be.threads} threads), 6L d=384 vocab 512, prompt ${nPrompt}, ${nNew} new tokens, temperature 1 top-k 40`);
for (const B of a.batches!.split(',').map(Number)) {
  const prompts = Array.from({ length: B }, () => Array.from({ length: nPrompt }, () => rng.int(cfg.vocab)));
  generate(model, prompts, { maxNewTokens: 4, temperature: 1, topK: 40, seed: 0 }); // warm-up
  const t = performance.now();
  const g = generate(model, prompts, { maxNewTokens: nNew, temperature: 1, topK: 40, seed: 0 });
  const dt = (performance.now() - t) / 1000;
  const toks = g.tokens.reduce((s, x) => s + x.length, 0);
  console.log(JSON.stringify({ batch: B, new_tokens: toks, seconds: Number(dt.toFixed(3)), tokens_per_s: Number((toks / dt).toFixed(1)), ms_per_step: Number(((1000 * dt) / nNew).toFixed(2)) }));
}
// without a cache: each new token re-runs the whole sequence (what the cache saves)
{
  const seq = Array.from({ length: nPrompt }, () => rng.int(cfg.vocab));
  const steps = Math.min(32, nNew);
  const t = performance.now();
  for (let i = 0; i < steps; i++) {
    model.forward(Int32Array.from(seq), 1, seq.length);
    seq.push(rng.int(cfg.vocab));
  }
  const dt = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ batch: 1, no_cache: true, new_tokens: steps, tokens_per_s: Number((steps / dt).toFixed(1)) }));
}
