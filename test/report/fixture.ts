/**
 * A complete synthetic report input for tests: points drawn from a known Chinchilla-form law with seeded
 * noise, an IsoFLOP design, emergence curves, memorization rates, activations and a sink map. The numbers are
 * computed here (not typed in), so tests can recompute them independently.
 */
import type { ReportInput } from '../../src/report/types.ts';

export const LAW = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
export const lossND = (N: number, D: number) => LAW.E + LAW.A / N ** LAW.alpha + LAW.B / D ** LAW.beta;

/** mulberry32: a small seeded PRNG for test data */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const grid = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));

export function sampleInput(): ReportInput {
  const r = rng(7);
  const Ns = [1e5, 3e5, 1e6, 3e6, 1e7];
  const D = 2e8;
  const runs = Ns.map((N, i) => ({
    run: `sweeps/demo/L${i + 1}-N${N}`,
    points: Array.from({ length: 60 }, (_, s) => {
      const step = (s + 1) * 10, tokens = step * 4096;
      const loss = lossND(N, tokens) + 0.02 * (r() - 0.5);
      return { step, tokens, loss, val_loss: s % 10 === 9 ? lossND(N, tokens) + 0.03 : null };
    }),
  }));
  const pts = Ns.slice(0, 4).map((N, i) => ({ x: N, loss: lossND(N, D) * (1 + 0.005 * (r() - 0.5)), run: runs[i]!.run }));
  const curveX = grid(5e4, 2e7, 24);
  const lN = (N: number, a: number) => LAW.E + LAW.B / D ** LAW.beta + a / N ** LAW.alpha;
  const bandCurves = Array.from({ length: 50 }, () => { const a = LAW.A * (1 + 0.2 * (r() - 0.5)); return curveX.map((x) => lN(x, a)); });
  const budgets = [1e15, 1e16, 1e17];
  const isoNs = grid(1e5, 1e8, 7);
  return {
    title: 'Synthetic study',
    subtitle: 'test fixture',
    generatedAt: '2025-01-01T00:00:00.000Z',
    provenance: { workspace: '/tmp/ws', study: 'fixture' },
    runs: { source: 'fixture', rows: runs.map((x, i) => ({ id: x.run, sweep: 'demo', status: 'completed', params: Ns[i]! * 1.2, non_embedding: Ns[i]!, flops_per_token: 6 * Ns[i]!, steps: 600, tokens: 600 * 4096, final_loss: x.points.at(-1)!.loss, final_val_loss: 3, evaluations: 2 })) },
    training: { source: 'fixture metrics', runs },
    scaling: {
      source: 'fixture fit',
      fits: [
        { axis: 'N', law: { form: 'power', formula: 'L(N) = E′ + A·N^-α', params: { A: LAW.A, alpha: LAW.alpha } }, points: pts, curve: curveX.map((x) => ({ x, y: lN(x, LAW.A) })), bandSamples: { level: 0.9, curves: bandCurves }, heldOut: { x: Ns[4]!, loss: lossND(Ns[4]!, D), run: runs[4]!.run, predicted: lN(Ns[4]!, LAW.A), lo: lN(Ns[4]!, LAW.A) - 0.01, hi: lN(Ns[4]!, LAW.A) + 0.01 } },
        { axis: 'D', law: { form: 'power', formula: 'L(D) = E″ + B·D^-β', params: { B: LAW.B, beta: LAW.beta } }, points: [1e7, 1e8, 1e9].map((d, i) => ({ x: d, loss: lossND(1e7, d), run: `d-run-${i}` })), curve: grid(5e6, 2e9, 20).map((x) => ({ x, y: lossND(1e7, x) })), band: { level: 0.95, resamples: 100, points: grid(5e6, 2e9, 20).map((x) => ({ x, lo: lossND(1e7, x) - 0.02, hi: lossND(1e7, x) + 0.02 })) } },
        { axis: 'C', law: { form: 'power', formula: 'L(C) = E + k·C^-γ', params: { k: 20, gamma: 0.05 } }, points: budgets.map((C, i) => ({ x: C, loss: 1.69 + 20 * C ** -0.05, run: `c-run-${i}` })), curve: grid(5e14, 2e17, 20).map((x) => ({ x, y: 1.69 + 20 * x ** -0.05 })) },
      ],
    },
    frontier: {
      source: 'fixture approach 2',
      points: budgets.map((C, i) => ({ C, N: 0.1 * C ** 0.5, run: `iso-opt-${i}` })),
      fit: { label: 'N_opt ∝ C^0.5', law: { form: 'power', formula: 'N_opt = G·C^a', params: { G: 0.1, a: 0.5 } }, points: grid(1e15, 1e17, 10).map((C) => ({ C, N: 0.1 * C ** 0.5 })) },
      published: [{ name: 'Chinchilla (Hoffmann et al. 2022)', citation: 'Hoffmann et al. 2022, Approach 1: a = 0.50', points: grid(1e15, 1e17, 10).map((C) => ({ C, N: 0.09 * C ** 0.5 })) }],
    },
    isoflop: {
      source: 'fixture isoflop sweep',
      profiles: budgets.map((C) => {
        const points = isoNs.map((N) => ({ N, loss: lossND(N, C / (6 * N)), run: `iso-C${C}-N${Math.round(N)}` }));
        const best = points.reduce((a, b) => (b.loss < a.loss ? b : a));
        return { C, points, fit: grid(1e5, 1e8, 30).map((N) => ({ N, loss: lossND(N, C / (6 * N)) })), optimum: { N: best.N, loss: best.loss } };
      }),
    },
    emergence: {
      source: 'fixture evaluations',
      xLabel: 'non-embedding parameters N',
      curves: [
        { metric: 'exact match', task: 'add3', shape: 'emergent', points: Ns.map((N, i) => ({ x: N, y: i < 3 ? 0.01 : 0.6 * i, run: runs[i]!.run })) },
        { metric: 'token edit distance', task: 'add3', shape: 'smooth', points: Ns.map((N) => ({ x: N, y: 1 / Math.log10(N) })) },
        { metric: 'brier', shape: 'U-shaped', reasons: ['interior minimum'], points: Ns.map((N, i) => ({ x: N, y: (i - 2) ** 2 / 4 })) },
      ],
    },
    memorization: {
      source: 'fixture extraction',
      definition: 'greedy 32-token continuation of a 32-token prefix is exact',
      byDuplicates: ['small', 'large'].flatMap((model, m) => [1, 2, 4, 8, 16, 32].map((d) => ({ model, duplicates: d, rate: Math.min(1, 0.01 * d * (m + 1)), n: 200 }))),
      bySize: Ns.map((N, i) => ({ model: `m${i}`, params: N, rate: 0.01 * (i + 1) })),
      goodTuring: { quantity: 'distinct memorized sequences', method: 'Good-Turing (N1/n)', observed: [1e3, 2e3, 4e3].map((s) => ({ samples: s, value: 5 * Math.log(s) })), extrapolated: grid(4e3, 1e5, 8).map((s) => ({ samples: s, value: 5 * Math.log(s), lo: 4.5 * Math.log(s), hi: 5.5 * Math.log(s) })) },
    },
    activations: { source: 'fixture hooks', model: 'gpt2-fixture', stat: '|x| of blocks.{l}.hook_resid_post', layers: Array.from({ length: 6 }, (_, l) => ({ layer: l, top: [l === 2 ? 900 : 20 + l, 15 + l, 10 + l], median: 0.5 + 0.01 * l })) },
    attentionSinks: { source: 'fixture hooks', maps: [{ model: 'gpt2-fixture', metric: 'mean attention on token 0', values: Array.from({ length: 4 }, (_, l) => Array.from({ length: 6 }, (_, h) => (l * 6 + h) / 24)) }] },
    quantization: { source: 'fixture quantize', columns: [{ key: 'method', label: 'method' }, { key: 'bits', label: 'bits' }, { key: 'ppl', label: 'perplexity', digits: 3 }], rows: [{ method: 'fp32', bits: 32, ppl: 20.1 }, { method: 'int8 absmax', bits: 8, ppl: 20.4 }] },
  };
}
