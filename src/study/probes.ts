/**
 * Probes the study runs on its trained suite:
 * - memorization: discoverable memorization (Carlini 2022 / Biderman 2023: prompt with k tokens of a
 *   training sequence, greedy-decode l tokens, score = share of the true continuation reproduced) of the
 *   planted duplicated documents, by duplicate count, plus random training windows (count 1) as control;
 * - canaries: exposure (Carlini 2019) of every planted canary, estimated from R random secrets of the
 *   same format with a skew-normal fit, against its number of copies.
 * Everything is measured on the models; nothing here is a constant standing in for a measurement.
 */
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { Rng } from '../engine/rng.ts';
import { openShards } from '../data/shards.ts';
import { readTokenizerFile } from '../data/hf.ts';
import type { GPT } from '../model/gpt.ts';
import { generate, scoreContinuations } from '../train/generate.ts';
import { loadRun } from '../train/runs.ts';
import { bidermanScore } from '../memorization/metrics.ts';
import { exposureSkewNormal, exposureFromRank, rankOf } from '../memorization/exposure.ts';

export interface MemorizationProbe {
  model: string;
  N: number;
  k: number;
  l: number;
  /** per duplicate count: sequences probed, mean Biderman score, share exactly memorized */
  byCount: { count: number; n: number; meanScore: number; exact: number }[];
}

export interface CanaryProbe {
  model: string;
  N: number;
  /** random same-format secrets scored per canary */
  candidates: number;
  canaries: { id: string; count: number; nll: number; sampledRank: number; exposureSampled: number; exposureSkewNormal: number }[];
  /** log2 of the candidate space (10^digits): the largest exposure possible */
  maxExposure: number;
}

/** Discoverable memorization of planted duplicates (and random single-copy windows as control). */
export function memorizationProbe(model: GPT, runId: string, N: number, corpus: string, o: { k?: number; l?: number; control?: number; seed?: number } = {}): MemorizationProbe {
  const k = o.k ?? 32, l = o.l ?? 32;
  if (k + l > model.config.ctx) throw new RangeError(`memorization probe: k + l = ${k + l} exceeds the model context ${model.config.ctx}`);
  const sh = openShards(corpus);
  const groups = new Map<number, Int32Array[]>();
  for (const d of sh.manifest.planted.duplicates) {
    const off = d.tokenOffsets[0];
    if (off === undefined || d.tokens < k + l) continue;
    const seq = sh.read('train', off, k + l);
    (groups.get(d.count) ?? groups.set(d.count, []).get(d.count)!).push(seq);
  }
  const rng = new Rng(o.seed ?? 11);
  const control: Int32Array[] = [];
  for (let i = 0; i < (o.control ?? 16); i++) control.push(sh.read('train', rng.int(sh.trainTokens - k - l), k + l));
  groups.set(1, control);
  const byCount: MemorizationProbe['byCount'] = [];
  for (const [count, seqs] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    const g = generate(model, seqs.map((s) => Array.from(s.subarray(0, k))), { maxNewTokens: l, temperature: 0 });
    const scores = seqs.map((s, i) => bidermanScore(s.subarray(k), g.tokens[i]!));
    byCount.push({ count, n: seqs.length, meanScore: scores.reduce((a, b) => a + b, 0) / scores.length, exact: scores.filter((x) => x === 1).length / scores.length });
  }
  return { model: runId, N, k, l, byCount };
}

/** Exposure of every planted canary, from R random secrets of the same format. */
export function canaryProbe(model: GPT, runId: string, N: number, corpus: string, o: { candidates?: number; seed?: number } = {}): CanaryProbe {
  const sh = openShards(corpus);
  const tok = readTokenizerFile(join(corpus, 'tokenizer.json'));
  const canaries = sh.manifest.planted.canaries;
  if (canaries.length === 0) throw new RangeError(`${corpus}: the corpus has no planted canaries`);
  const first = canaries[0]!;
  const prefix = first.text.slice(0, first.text.length - first.secret.length);
  const digits = first.secret.length;
  const R = o.candidates ?? 300;
  const rng = new Rng(o.seed ?? 5);
  const nll = (texts: string[]): number[] => {
    const pairs = texts.map((t) => {
      const ids = Array.from(tok.encode(t));
      return { context: ids.slice(0, 1), continuation: ids.slice(1) };
    });
    return scoreContinuations(model, pairs, 32).map((lp) => -lp.reduce((a, b) => a + b, 0));
  };
  const randomSecrets = Array.from({ length: R }, () => Array.from({ length: digits }, () => String(rng.int(10))).join(''));
  const sample = nll(randomSecrets.map((s) => prefix + s));
  const scores = nll(canaries.map((c) => c.text));
  return {
    model: runId, N, candidates: R, maxExposure: digits * Math.log2(10),
    canaries: canaries.map((c, i) => {
      const rank = rankOf(scores[i]!, [...sample, scores[i]!], 'optimistic');
      return {
        id: c.id, count: c.count, nll: scores[i]!, sampledRank: rank,
        exposureSampled: exposureFromRank(rank, R + 1),
        exposureSkewNormal: exposureSkewNormal(scores[i]!, sample).exposure,
      };
    }),
  };
}

/** Run both probes on one trained run directory. */
export function runProbes(backend: Backend, runDir: string, runId: string, N: number, corpus: string): { memorization: MemorizationProbe; canaries: CanaryProbe } {
  const { model } = loadRun(backend, runDir);
  return { memorization: memorizationProbe(model, runId, N, corpus), canaries: canaryProbe(model, runId, N, corpus) };
}
