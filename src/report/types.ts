/**
 * The report's input: a typed (and, for JSON files, validated) description of everything a report shows.
 * The report draws what it is given and computes nothing scientific itself (apart from bootstrap quantiles
 * when it is handed raw bootstrap curves): fits, frontiers, shape labels, Good-Turing estimates come from
 * the analyses, through the study. Every section names its `source` (a store path, sweep id, file) and its
 * points carry run ids where they come from runs, so each figure can say what data made it.
 *
 * Every section is optional; an absent section is shown as "not run".
 */
import { z } from 'zod';

export class ReportError extends Error {
  override name = 'ReportError';
}

/** The report input (or a field of it) is not what the report expects. */
export class ReportInputError extends ReportError {
  override name = 'ReportInputError';
}

const num = z.number(); // zod 4: finite numbers only (NaN and ±Infinity are refused)
const pos = z.number().positive();
const text = z.string().min(1);
/** Where a section's data came from: a store (workspace/lmlab.sqlite), a sweep id, a file path, a study directory. */
const source = text;

/** A fitted law as the analysis reported it. */
export const LawSchema = z.object({
  /** e.g. 'chinchilla', 'kaplan', 'power' */
  form: text,
  /** human-readable formula, e.g. 'L(N) = E + A·N^-α' */
  formula: text,
  params: z.record(z.string(), num),
});

export const TrainingCurvesSchema = z.object({
  source,
  runs: z.array(z.object({
    run: text,
    /** optional display label (defaults to the run id) */
    label: z.string().optional(),
    points: z.array(z.object({
      step: z.number().nonnegative(),
      tokens: num.nullable().optional(),
      loss: num.nullable().optional(),
      val_loss: num.nullable().optional(),
    })),
  })).min(1),
});

export const ScalingFitSchema = z.object({
  /** which variable the law is in: parameters N, training tokens D, or compute C (FLOPs) */
  axis: z.enum(['N', 'D', 'C']),
  /** axis title; defaults to a description of N / D / C */
  xLabel: z.string().optional(),
  law: LawSchema,
  /** the observations the law was fitted to */
  points: z.array(z.object({ x: pos, loss: pos, run: text })).min(1),
  /** the fitted law evaluated on a grid (computed by the caller from `law`) */
  curve: z.array(z.object({ x: pos, y: num })).min(2),
  /** bootstrap band, as quantiles per grid x ... */
  band: z.object({
    level: z.number().gt(0).lt(1),
    resamples: z.number().int().positive(),
    points: z.array(z.object({ x: pos, lo: num, hi: num })).min(2),
  }).optional(),
  /** ... or as the raw bootstrap curves (each evaluated on `curve`'s x grid); the report takes their quantiles */
  bandSamples: z.object({
    level: z.number().gt(0).lt(1),
    curves: z.array(z.array(num)).min(2),
  }).optional(),
  /** a point kept out of the fit and the law's prediction for it (with its bootstrap interval) */
  heldOut: z.object({
    x: pos, loss: pos, run: text, predicted: num,
    lo: num.optional(), hi: num.optional(),
  }).optional(),
});

export const ScalingSectionSchema = z.object({ source, fits: z.array(ScalingFitSchema).min(1) });

export const FrontierSectionSchema = z.object({
  source,
  /** our compute-optimal points: for each budget C the optimal N (and D) */
  points: z.array(z.object({ C: pos, N: pos, D: pos.optional(), run: z.string().optional() })).min(1),
  /** our fitted frontier N_opt(C) on a grid, with the law that made it */
  fit: z.object({ label: text, law: LawSchema, points: z.array(z.object({ C: pos, N: pos })).min(2) }).optional(),
  /** published laws' N_opt(C) over the same range (computed by the caller from their published coefficients) */
  published: z.array(z.object({
    name: text,
    /** the paper and where in it the coefficients are (e.g. 'Hoffmann et al. 2022, Table 3, Approach 1') */
    citation: text,
    points: z.array(z.object({ C: pos, N: pos })).min(2),
  })).default([]),
});

export const IsoflopSectionSchema = z.object({
  source,
  profiles: z.array(z.object({
    C: pos,
    points: z.array(z.object({ N: pos, loss: pos, run: text })).min(1),
    /** the fitted profile (e.g. a parabola in log N) on a grid */
    fit: z.array(z.object({ N: pos, loss: num })).optional(),
    optimum: z.object({ N: pos, loss: num }).optional(),
  })).min(1),
});

export const EmergenceSectionSchema = z.object({
  source,
  /** what the curves' x is, e.g. 'non-embedding parameters N' */
  xLabel: text,
  /** log-scale x (the default: sizes and compute) */
  xLog: z.boolean().default(true),
  curves: z.array(z.object({
    metric: text,
    task: z.string().optional(),
    /** the shape label from the curve analysis (flat, U-shaped, inverse, uncorrelated, emergent, smooth) */
    shape: text,
    /** why the analysis chose the label (shown in the caption) */
    reasons: z.array(z.string()).optional(),
    points: z.array(z.object({ x: pos, y: num, run: z.string().optional() })).min(1),
  })).min(1),
});

export const MemorizationSectionSchema = z.object({
  source,
  /** what counts as memorized, e.g. 'exact 50-token continuation of a 32-token prefix' */
  definition: text,
  byDuplicates: z.array(z.object({ model: text, duplicates: pos, rate: z.number().min(0).max(1), n: z.number().int().positive().optional() })).optional(),
  bySize: z.array(z.object({ model: text, params: pos, rate: z.number().min(0).max(1), n: z.number().int().positive().optional() })).optional(),
  /** canary exposure (Carlini 2019) against the canary's number of copies (0 = never in training: the baseline) */
  canaries: z.object({
    /** how exposure was estimated, e.g. 'skew-normal fit to 300 random secrets' */
    method: text,
    /** log2 of the candidate space: the largest exposure possible */
    maxExposure: pos,
    rows: z.array(z.object({ model: text, copies: z.number().int().nonnegative(), exposure: z.number().nonnegative(), canary: z.string().optional() })).min(1),
  }).optional(),
  goodTuring: z.object({
    /** what is counted, e.g. 'distinct memorized sequences' */
    quantity: text,
    /** the estimate's formula / method, shown in the caption */
    method: text,
    observed: z.array(z.object({ samples: pos, value: z.number().nonnegative() })).min(1),
    extrapolated: z.array(z.object({ samples: pos, value: z.number().nonnegative(), lo: num.optional(), hi: num.optional() })).min(1),
  }).optional(),
});

export const ActivationsSectionSchema = z.object({
  source,
  model: text,
  /** which activation and statistic, e.g. '|x| of blocks.{l}.hook_resid_post, max over tokens of 100 sequences' */
  stat: text,
  layers: z.array(z.object({
    layer: z.number().int().nonnegative(),
    /** the largest magnitudes, descending: top-1, top-2, ... */
    top: z.array(z.number().nonnegative()).min(1),
    median: z.number().nonnegative(),
  })).min(1),
});

export const AttentionSinksSectionSchema = z.object({
  source,
  maps: z.array(z.object({
    model: text,
    /** what each cell holds, e.g. 'mean attention on token 0 (blocks.{l}.attn.hook_pattern)' */
    metric: text,
    /** values[layer][head] */
    values: z.array(z.array(num).min(1)).min(1),
  })).min(1),
});

export const QuantizationSectionSchema = z.object({
  source,
  columns: z.array(z.object({ key: text, label: text, digits: z.number().int().min(0).max(12).optional() })).min(1),
  rows: z.array(z.record(z.string(), z.union([z.string(), num, z.null()]))).min(1),
  note: z.string().optional(),
});

export const RunsSectionSchema = z.object({
  source,
  rows: z.array(z.object({
    id: text,
    sweep: z.string().nullable(),
    status: z.string(),
    params: num.nullable(),
    non_embedding: num.nullable(),
    flops_per_token: num.nullable(),
    steps: num.nullable(),
    tokens: num.nullable(),
    final_loss: num.nullable(),
    final_val_loss: num.nullable(),
    evaluations: z.number().int().nonnegative().optional(),
  })),
});

export const ReportInputSchema = z.object({
  title: text,
  subtitle: z.string().optional(),
  /** ISO time; defaults to now (give it for reproducible output) */
  generatedAt: z.string().optional(),
  /** where the whole report came from: workspace, study directory, the command that made it */
  provenance: z.record(z.string(), z.string()).default({}),
  runs: RunsSectionSchema.optional(),
  training: TrainingCurvesSchema.optional(),
  scaling: ScalingSectionSchema.optional(),
  frontier: FrontierSectionSchema.optional(),
  isoflop: IsoflopSectionSchema.optional(),
  emergence: EmergenceSectionSchema.optional(),
  memorization: MemorizationSectionSchema.optional(),
  activations: ActivationsSectionSchema.optional(),
  attentionSinks: AttentionSinksSectionSchema.optional(),
  quantization: QuantizationSectionSchema.optional(),
});

/** What callers build (defaults may be left out). */
export type ReportInput = z.input<typeof ReportInputSchema>;
/** The validated input, defaults filled in. */
export type ReportData = z.output<typeof ReportInputSchema>;
export type Law = z.output<typeof LawSchema>;
export type TrainingCurves = z.output<typeof TrainingCurvesSchema>;
export type ScalingFit = z.output<typeof ScalingFitSchema>;
export type ScalingSection = z.output<typeof ScalingSectionSchema>;
export type FrontierSection = z.output<typeof FrontierSectionSchema>;
export type IsoflopSection = z.output<typeof IsoflopSectionSchema>;
export type EmergenceSection = z.output<typeof EmergenceSectionSchema>;
export type MemorizationSection = z.output<typeof MemorizationSectionSchema>;
export type ActivationsSection = z.output<typeof ActivationsSectionSchema>;
export type AttentionSinksSection = z.output<typeof AttentionSinksSectionSchema>;
export type QuantizationSection = z.output<typeof QuantizationSectionSchema>;
export type RunsSection = z.output<typeof RunsSectionSchema>;

/** The sections in report order, with their headings. */
export const SECTIONS = [
  ['runs', 'Runs'],
  ['training', 'Training curves'],
  ['scaling', 'Scaling laws: L(N), L(D), L(C)'],
  ['frontier', 'Compute-optimal frontier'],
  ['isoflop', 'IsoFLOP profiles'],
  ['emergence', 'Emergence'],
  ['memorization', 'Memorization'],
  ['activations', 'Massive activations'],
  ['attentionSinks', 'Attention sinks'],
  ['quantization', 'Quantization'],
] as const satisfies readonly (readonly [keyof ReportData, string])[];

function issuePath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s || '(top level)';
}

/** Validate a report input (from code or a JSON file); errors name the field and, if given, the file. */
export function parseReportInput(value: unknown, where = 'report input'): ReportData {
  const r = ReportInputSchema.safeParse(value);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 8).map((i) => `  ${issuePath(i.path)}: ${i.message}`);
    const more = r.error.issues.length > 8 ? `\n  … and ${r.error.issues.length - 8} more` : '';
    throw new ReportInputError(`${where}: not a valid report input:\n${lines.join('\n')}${more}`);
  }
  const d = r.data;
  for (const [i, f] of (d.scaling?.fits ?? []).entries()) {
    const n = f.curve.length;
    for (const [j, c] of (f.bandSamples?.curves ?? []).entries()) {
      if (c.length !== n) throw new ReportInputError(`${where}: scaling.fits[${i}].bandSamples.curves[${j}] has ${c.length} values; expected ${n} (one per curve point)`);
    }
  }
  for (const [i, m] of (d.attentionSinks?.maps ?? []).entries()) {
    const h = m.values[0]!.length;
    for (const [l, row] of m.values.entries()) {
      if (row.length !== h) throw new ReportInputError(`${where}: attentionSinks.maps[${i}].values[${l}] has ${row.length} heads; layer 0 has ${h}`);
    }
  }
  return d;
}
