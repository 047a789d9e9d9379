/**
 * Training-speed benchmark, side by side with the PyTorch peer (../shared/reference/torch_reference.py bench):
 * the same GPT-2-shaped model (6 layers, 6 heads, d=384, ctx 256, batch 8, vocab 512), the same thread count
 * and the same OpenBLAS core type, random tokens, AdamW + clipping each step. Prints one JSON line per side
 * and the ratio. Usage: npm run bench:train [-- --steps 20 --threads 2 --backend native --no-peer]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/engine/index.ts';
import { cpuInfo } from '../src/engine/cpu.ts';
import { Rng } from '../src/engine/rng.ts';
import { resolveConfig } from '../src/model/config.ts';
import { createModel } from '../src/model/init.ts';
import { countParams, flopsPerToken } from '../src/model/layout.ts';
import { AdamW, globalNorm } from '../src/train/optimizer.ts';

const { values: a } = parseArgs({
  options: {
    n_layer: { type: 'string', default: '6' }, n_head: { type: 'string', default: '6' }, d_model: { type: 'string', default: '384' },
    ctx: { type: 'string', default: '256' }, batch: { type: 'string', default: '8' }, vocab: { type: 'string', default: '512' },
    steps: { type: 'string', default: '20' }, warmup: { type: 'string', default: '3' }, threads: { type: 'string', default: String(cpuInfo().cores) },
    backend: { type: 'string', default: 'native' }, 'no-peer': { type: 'boolean', default: false }, rounds: { type: 'string', default: '2' },
  },
});
const n = (k: keyof typeof a) => Number(a[k]);
process.env.OMP_NUM_THREADS ??= String(n('threads'));

const peerScript = join(import.meta.dirname, '../../shared/reference/torch_reference.py');

function runPeer(): Record<string, unknown> | null {
  if (a['no-peer'] || !existsSync(peerScript)) return null;
  const r = spawnSync('/usr/bin/python3', [peerScript, 'bench', '--n_layer', a.n_layer!, '--n_head', a.n_head!, '--d_model', a.d_model!, '--ctx', a.ctx!,
    '--batch', a.batch!, '--steps', a.steps!, '--warmup', a.warmup!, '--threads', a.threads!, '--vocab', a.vocab!], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    console.error(`PyTorch peer failed (is python3-torch installed?): ${r.stderr.trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

async function runLmlab(): Promise<Record<string, unknown>> {
  const be = await createBackend(a.backend!);
  const cfg = resolveConfig({ n_layer: n('n_layer'), n_head: n('n_head'), d_model: n('d_model'), ctx: n('ctx'), vocab: n('vocab'), activation: 'gelu_tanh' });
  const model = createModel(be, cfg, 0);
  const opt = new AdamW(be, model.layout, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decay: 'matrices' });
  const B = n('batch'), T = n('ctx'), rng = new Rng(0);
  const step = (): number => {
    const x = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab)), y = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab));
    model.zeroGrads();
    const loss = model.forward(x, B, T, y);
    model.backward();
    const norm = globalNorm(be, model.grads!);
    opt.update(model.params, model.grads!, 3e-4, norm > 1 ? 1 / norm : 1);
    return loss;
  };
  for (let i = 0; i < n('warmup'); i++) step();
  const t = performance.now();
  for (let i = 0; i < n('steps'); i++) step();
  const dt = (performance.now() - t) / 1000;
  const tps = (B * T * n('steps')) / dt;
  const flops = flopsPerToken(cfg, T).chinchillaWithLogits;
  const cpu = cpuInfo();
  return {
    side: `lmlab ${be.name}`, threads: be.threads, tokens_per_s: tps, step_ms: (1000 * dt) / n('steps'),
    non_embedding_params: countParams(cfg).nonEmbedding, gflops: (tps * flops) / 1e9, mfu: (tps * flops) / cpu.peakFlops,
    peak_gflops: cpu.peakFlops / 1e9,
  };
}

console.log(`# training benchmark: ${a.n_layer} layers, ${a.n_head} heads, d=${a.d_model}, ctx ${a.ctx}, batch ${a.batch}, vocab ${a.vocab}, ` +
  `${a.steps} timed steps, ${a.threads} threads, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}`);
// alternate the two sides so machine noise hits both alike; report the best round of each
const lm: Record<string, unknown>[] = [], pt: Record<string, unknown>[] = [];
for (let r = 0; r < n('rounds'); r++) {
  lm.push(await runLmlab());
  const p = runPeer();
  if (p) pt.push(p);
}
console.log(`# per round, tok/s: lmlab ${lm.map((x) => Math.round(x['tokens_per_s'] as number)).join(', ')}` +
  (pt.length ? `; pytorch ${pt.map((x) => Math.round(x['tokens_per_s'] as number)).join(', ')}` : ''));
const best = (xs: Record<string, unknown>[]) => xs.reduce((b, x) => ((x['tokens_per_s'] as number) > (b['tokens_per_s'] as number) ? x : b));
const l = best(lm);
console.log(JSON.stringify(l));
if (pt.length) {
  const p = best(pt);
  console.log(JSON.stringify(p));
  const ratio = (l['tokens_per_s'] as number) / (p['tokens_per_s'] as number);
  console.log(`ratio lmlab/pytorch tokens/s: ${ratio.toFixed(2)}× (lmlab ${Math.round(l['tokens_per_s'] as number)} vs pytorch ${Math.round(p['tokens_per_s'] as number)} tok/s; lmlab MFU ${(100 * (l['mfu'] as number)).toFixed(1)}% of an estimated ${Math.round(l['peak_gflops'] as number)} GFLOP/s peak)`);
}
