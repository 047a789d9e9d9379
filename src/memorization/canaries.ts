/**
 * Exposure (Carlini et al. 2019) of the canaries planted in a built corpus (manifest `planted.canaries`), measured
 * on a model: every canary and R random secrets of the same format (same prefix, alphabet and length) are scored
 * by their total negative log-likelihood under the model; exposure = log2 |R| − log2 rank, estimated from the
 * sampled rank and from a skew-normal fit to the sampled scores (the space, e.g. 10^9 secrets, is too large to
 * enumerate). Canaries with 0 copies were generated but never inserted: their exposure is the no-memorization
 * baseline.
 */
import type { GPT } from '../model/gpt.ts';
import { scoreContinuations } from '../train/generate.ts';
import type { TextCodec } from '../train/runs.ts';
import { Rng } from '../engine/rng.ts';
import type { PlantedCanary } from '../data/shards.ts';
import { exposureFromRank, exposureSkewNormal, rankOf } from './exposure.ts';
import { MemorizationDriverError } from './discoverable.ts';

export interface CanaryFormat {
  /** text with "{secret}" where the secret goes */
  format: string;
  alphabet: string;
  length: number;
}

export interface CanaryExposure {
  id: string;
  secret: string;
  copies: number;
  /** total negative log-likelihood of the canary text (nats; the first token is the context) */
  nll: number;
  /** rank among the R sampled secrets plus the canary (1 = most likely) */
  sampledRank: number;
  exposureSampled: number;
  /** skew-normal estimate, capped at log2 |R| (a rank cannot be below 1) */
  exposureSkewNormal: number;
  /** the uncapped skew-normal estimate −log2 F(nll) (the fit's tail can pass log2 |R|) */
  exposureSkewNormalRaw: number;
}

export interface CanaryReport {
  candidates: number;
  /** log2 of the size of the secret space: the largest exposure possible */
  maxExposure: number;
  format: CanaryFormat;
  canaries: CanaryExposure[];
  /** mean skew-normal exposure per copy count */
  byCopies: { copies: number; n: number; exposure: number; exposureSampled: number }[];
}

/** The canary format from a manifest's spec (plant.canaries), falling back to what the canaries show. */
export function canaryFormat(spec: unknown, canaries: readonly PlantedCanary[]): CanaryFormat {
  const c = (spec as { plant?: { canaries?: Partial<CanaryFormat> } } | null)?.plant?.canaries;
  const first = canaries[0];
  if (!first) throw new MemorizationDriverError('the corpus has no planted canaries (manifest planted.canaries is empty)');
  const format = c?.format ?? first.text.slice(0, first.text.length - first.secret.length) + '{secret}';
  const alphabet = c?.alphabet ?? [...new Set(canaries.flatMap((x) => [...x.secret]))].sort().join('');
  return { format, alphabet, length: c?.length ?? first.secret.length };
}

/** Exposure of every planted canary on one model. */
export function canaryExposures(model: GPT, codec: TextCodec, canaries: readonly PlantedCanary[], fmt: CanaryFormat, o: { candidates?: number; seed?: number; batchSize?: number } = {}): CanaryReport {
  if (canaries.length === 0) throw new MemorizationDriverError('no canaries to measure');
  const R = o.candidates ?? 500;
  if (!Number.isInteger(R) || R < 10) throw new MemorizationDriverError(`candidates must be an integer ≥ 10, got ${R}`);
  const letters = [...fmt.alphabet];
  const rng = new Rng(o.seed ?? 5);
  const nll = (texts: string[]): number[] => scoreContinuations(model, texts.map((t) => {
    const ids = codec.encode(t);
    if (ids.length < 2) throw new MemorizationDriverError(`canary text ${JSON.stringify(t)} encodes to fewer than 2 tokens`);
    if (ids.some((x) => x >= model.config.vocab)) throw new MemorizationDriverError(`canary text encodes to tokens outside the model vocabulary (${model.config.vocab}): is the model trained on this corpus?`);
    return { context: ids.slice(0, 1), continuation: ids.slice(1) };
  }), o.batchSize ?? 32).map((lp) => -lp.reduce((a, b) => a + b, 0));
  const secrets = Array.from({ length: R }, () => Array.from({ length: fmt.length }, () => letters[rng.int(letters.length)]).join(''));
  const sample = nll(secrets.map((s) => fmt.format.split('{secret}').join(s)));
  const scores = nll(canaries.map((c) => c.text));
  const maxExposure = fmt.length * Math.log2(letters.length);
  const rows = canaries.map((c, i): CanaryExposure => {
    const rank = rankOf(scores[i]!, [...sample, scores[i]!], 'optimistic');
    const raw = exposureSkewNormal(scores[i]!, sample).exposure;
    return {
      id: c.id, secret: c.secret, copies: c.count, nll: scores[i]!, sampledRank: rank,
      exposureSampled: exposureFromRank(rank, R + 1),
      exposureSkewNormal: Math.min(raw, maxExposure), exposureSkewNormalRaw: raw,
    };
  });
  const groups = new Map<number, CanaryExposure[]>();
  for (const r of rows) (groups.get(r.copies) ?? groups.set(r.copies, []).get(r.copies)!).push(r);
  return {
    candidates: R, maxExposure, format: fmt, canaries: rows,
    byCopies: [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([copies, g]) => ({
      copies, n: g.length,
      exposure: g.reduce((a, x) => a + x.exposureSkewNormal, 0) / g.length,
      exposureSampled: g.reduce((a, x) => a + x.exposureSampled, 0) / g.length,
    })),
  };
}
