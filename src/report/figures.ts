/**
 * Figures as Vega-Lite specs, one builder per report section. A builder turns a validated section into
 * figures: a spec whose data is inline and named (so a render can be checked against it), a caption that
 * names the data (source, run ids, fit parameters), and, per named mark, how many items it must draw.
 */
import type {
  ActivationsSection, AttentionSinksSection, EmergenceSection, FrontierSection, IsoflopSection, Law,
  MemorizationSection, ReportData, ScalingFit, ScalingSection, TrainingCurves,
} from './types.ts';

/** A Vega-Lite spec as plain JSON (the library's own types are too strict for generated layers). */
export type VlSpec = Record<string, unknown>;

export interface Figure {
  /** file-safe id, unique within a report: the SVG is figures/<id>.svg */
  id: string;
  section: keyof ReportData;
  title: string;
  spec: VlSpec;
  /** what data made the figure: source, runs, fit parameters, method */
  caption: string;
  /** every run whose data is drawn */
  runs: string[];
  /** rows per named data set */
  datasets: Record<string, number>;
  /** named marks and how many items each must draw: one per row of its data (a line's or area's items are its vertices) */
  marks: Record<string, number>;
}

export const PANEL = { width: 380, height: 260 };
const FONT = 'Helvetica, Arial, sans-serif';

/** 4 significant digits; exponent form outside [1e-3, 1e5). */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

export function fmtLaw(law: Law): string {
  const ps = Object.entries(law.params).map(([k, v]) => `${k} = ${fmt(v)}`).join(', ');
  return `${law.formula} (${law.form}${ps ? `; ${ps}` : ''})`;
}

function uniq(xs: Iterable<string | undefined | null>): string[] {
  const s = new Set<string>();
  for (const x of xs) if (x) s.add(x);
  return [...s];
}

function base(title: string, description: string): VlSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    description,
    background: 'white',
    padding: 8,
    config: { font: FONT, axis: { labelFontSize: 10, titleFontSize: 11, grid: true, gridOpacity: 0.5 }, legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 420 }, view: { stroke: '#ccc' } },
  };
}

const logX = (field: string, title: string) => ({ field, type: 'quantitative', title, scale: { type: 'log', nice: false, padding: 10 }, axis: { format: '~s' } });
const logY = (field: string, title: string, format = '~g') => ({ field, type: 'quantitative', title, scale: { type: 'log', nice: false, padding: 10 }, axis: { format } });
const linY = (field: string, title: string) => ({ field, type: 'quantitative', title, scale: { zero: false } });
const named = (name: string, values: unknown[]) => ({ name, values });

/** Keep at most `max` points of a series (every k-th, plus the last): the caption says when it thinned. */
export function thin<T>(xs: readonly T[], max: number): { points: T[]; every: number } {
  if (xs.length <= max) return { points: [...xs], every: 1 };
  const every = Math.ceil(xs.length / max);
  const out: T[] = [];
  for (let i = 0; i < xs.length; i += every) out.push(xs[i]!);
  if ((xs.length - 1) % every !== 0) out.push(xs[xs.length - 1]!);
  return { points: out, every };
}

/**
 * Pointwise quantile band of bootstrap curves: for each grid index, the (1-level)/2 and (1+level)/2
 * quantiles of the curves' values there (linear interpolation between order statistics, type 7).
 */
export function quantileBand(curves: readonly (readonly number[])[], level: number): { lo: number[]; hi: number[] } {
  const n = curves[0]?.length ?? 0, lo: number[] = [], hi: number[] = [];
  const q = (sorted: number[], p: number) => {
    const h = (sorted.length - 1) * p, i = Math.floor(h);
    return i + 1 < sorted.length ? sorted[i]! + (h - i) * (sorted[i + 1]! - sorted[i]!) : sorted[i]!;
  };
  for (let j = 0; j < n; j++) {
    const col = curves.map((c) => c[j]!).sort((a, b) => a - b);
    lo.push(q(col, (1 - level) / 2));
    hi.push(q(col, (1 + level) / 2));
  }
  return { lo, hi };
}

/** Name the runs in a caption: all of them when few, else a count (the full list is under the figure). */
export function runsPhrase(runs: readonly string[], max = 6): string {
  if (runs.length === 0) return 'no run ids given';
  if (runs.length <= max) return `${runs.length === 1 ? 'run' : `${runs.length} runs:`} ${runs.join(', ')}`;
  return `${runs.length} runs (${runs.slice(0, 2).join(', ')}, …; all listed under the figure)`;
}

function rangePhrase(xs: readonly number[]): string {
  const lo = Math.min(...xs), hi = Math.max(...xs);
  return lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Training curves

export const MAX_CURVE_POINTS = 1500;

export function trainingFigures(s: TrainingCurves): Figure[] {
  const rows: { run: string; step: number; loss: number; kind: string }[] = [];
  let thinned = 1;
  for (const r of s.runs) {
    const label = r.label || r.run;
    const tr = r.points.filter((p) => typeof p.loss === 'number');
    const va = r.points.filter((p) => typeof p.val_loss === 'number');
    const t = thin(tr, MAX_CURVE_POINTS);
    thinned = Math.max(thinned, t.every);
    for (const p of t.points) rows.push({ run: label, step: p.step, loss: p.loss!, kind: 'train' });
    for (const p of va) rows.push({ run: label, step: p.step, loss: p.val_loss!, kind: 'validation' });
  }
  const runs = s.runs.map((r) => r.run);
  const valRows = rows.filter((r) => r.kind === 'validation').length;
  const spec: VlSpec = {
    ...base('Training curves', 'loss against step per run'),
    width: 620, height: 320,
    data: named('training', rows),
    layer: [
      {
        name: 'training_lines',
        mark: { type: 'line', strokeWidth: 1.4, interpolate: 'linear' },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step' },
          y: logY('loss', 'loss (nats/token, log scale)'),
          color: { field: 'run', type: 'nominal', title: 'run', legend: runs.length > 24 ? null : {} },
          strokeDash: { field: 'kind', type: 'nominal', title: 'curve', scale: { domain: ['train', 'validation'], range: [[1, 0], [5, 3]] } },
          detail: { field: 'kind' },
        },
      },
      {
        name: 'training_val_points',
        transform: [{ filter: "datum.kind === 'validation'" }],
        mark: { type: 'point', size: 18, filled: true },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'loss', type: 'quantitative' },
          color: { field: 'run', type: 'nominal' },
          tooltip: [{ field: 'run' }, { field: 'step' }, { field: 'loss', format: '.4f' }],
        },
      },
    ],
  };
  const caption = `Training (solid) and validation (dashed, dots) loss per logged step for ${runsPhrase(runs)}. `
    + `Source: ${s.source}.${thinned > 1 ? ` Training curves with more than ${MAX_CURVE_POINTS} logged steps are drawn every ${thinned}th step (and the last).` : ''}`;
  return [{ id: 'training-curves', section: 'training', title: 'Training curves', spec, caption, runs, datasets: { training: rows.length }, marks: { training_lines: rows.length, training_val_points: valRows } }];
}

// ---------------------------------------------------------------------------------------------------------
// Scaling fits

const AXIS_TITLE: Record<ScalingFit['axis'], string> = {
  N: 'non-embedding parameters N',
  D: 'training tokens D',
  C: 'training compute C (FLOPs)',
};

export function scalingFigures(s: ScalingSection): Figure[] {
  const seen = new Map<string, number>();
  return s.fits.map((f) => {
    const k = (seen.get(f.axis) ?? 0) + 1;
    seen.set(f.axis, k);
    const id = `scaling-L${f.axis}${k > 1 ? `-${k}` : ''}`, tag = id.replace(/-/g, '_');
    const pts = f.points.map((p) => ({ x: p.x, loss: p.loss, run: p.run }));
    const curve = f.curve.map((c) => ({ x: c.x, y: c.y }));
    let band: { x: number; lo: number; hi: number }[] = [], bandText = 'no bootstrap band given';
    if (f.band) {
      band = f.band.points.map((b) => ({ x: b.x, lo: b.lo, hi: b.hi }));
      bandText = `band: ${Math.round(f.band.level * 100)}% bootstrap interval (${f.band.resamples} resamples)`;
    } else if (f.bandSamples) {
      const q = quantileBand(f.bandSamples.curves, f.bandSamples.level);
      band = f.curve.map((c, i) => ({ x: c.x, lo: q.lo[i]!, hi: q.hi[i]! }));
      bandText = `band: pointwise ${Math.round(f.bandSamples.level * 100)}% quantiles of ${f.bandSamples.curves.length} bootstrap refits`;
    }
    const held = f.heldOut ? [{ x: f.heldOut.x, loss: f.heldOut.loss, predicted: f.heldOut.predicted, lo: f.heldOut.lo ?? f.heldOut.predicted, hi: f.heldOut.hi ?? f.heldOut.predicted, run: f.heldOut.run }] : [];
    const xt = f.xLabel || AXIS_TITLE[f.axis];
    const x = logX('x', `${xt} (log)`);
    const layer: VlSpec[] = [];
    const marks: Record<string, number> = {};
    const datasets: Record<string, number> = {};
    if (band.length) {
      datasets[`${tag}_band`] = band.length;
      marks[`${tag}_band`] = band.length;
      layer.push({ name: `${tag}_band`, data: named(`${tag}_band`, band), mark: { type: 'area', opacity: 0.22, color: '#4c78a8' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } });
    }
    datasets[`${tag}_curve`] = curve.length;
    marks[`${tag}_curve`] = curve.length;
    layer.push({ name: `${tag}_curve`, data: named(`${tag}_curve`, curve), mark: { type: 'line', color: '#4c78a8', strokeWidth: 2 }, encoding: { x, y: logY('y', 'loss (log)') } });
    datasets[`${tag}_points`] = pts.length;
    marks[`${tag}_points`] = pts.length;
    layer.push({
      name: `${tag}_points`, data: named(`${tag}_points`, pts), mark: { type: 'point', filled: true, size: 36, color: '#222' },
      encoding: { x, y: { field: 'loss', type: 'quantitative' }, tooltip: [{ field: 'run' }, { field: 'x', format: '.4~s' }, { field: 'loss', format: '.4f' }] },
    });
    if (held.length) {
      datasets[`${tag}_heldout`] = 1;
      marks[`${tag}_heldout_interval`] = 1;
      marks[`${tag}_heldout_observed`] = 1;
      marks[`${tag}_heldout_predicted`] = 1;
      const hd = named(`${tag}_heldout`, held);
      layer.push({ name: `${tag}_heldout_interval`, data: hd, mark: { type: 'rule', color: '#e45756', strokeWidth: 2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } });
      layer.push({ name: `${tag}_heldout_predicted`, data: hd, mark: { type: 'tick', color: '#e45756', thickness: 2, size: 14, orient: 'horizontal' }, encoding: { x, y: { field: 'predicted', type: 'quantitative' } } });
      layer.push({
        name: `${tag}_heldout_observed`, data: hd, mark: { type: 'point', shape: 'diamond', filled: true, size: 110, color: '#e45756' },
        encoding: { x, y: { field: 'loss', type: 'quantitative' }, tooltip: [{ field: 'run' }, { field: 'loss', format: '.4f' }, { field: 'predicted', format: '.4f' }, { field: 'lo', format: '.4f' }, { field: 'hi', format: '.4f' }] },
      });
    }
    const runs = uniq([...f.points.map((p) => p.run), f.heldOut?.run]);
    const spec: VlSpec = { ...base(`L(${f.axis})`, `${f.law.formula} fitted to ${pts.length} runs`), ...PANEL, layer };
    const h = f.heldOut;
    const caption = `L(${f.axis}): ${fmtLaw(f.law)}, fitted to ${pts.length} point${pts.length > 1 ? 's' : ''} (black) from ${runsPhrase(uniq(f.points.map((p) => p.run)))}; ${bandText}.`
      + (h ? ` Held out of the fit (red diamond): run ${h.run} at ${f.axis} = ${fmt(h.x)}, observed loss ${fmt(h.loss)}, predicted ${fmt(h.predicted)}${h.lo !== undefined && h.hi !== undefined ? ` [${fmt(h.lo)}, ${fmt(h.hi)}]` : ''} (red tick and bar).` : ' No held-out point given.')
      + ` Source: ${s.source}.`;
    return { id, section: 'scaling' as const, title: `L(${f.axis})`, spec, caption, runs, datasets, marks };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Compute-optimal frontier

export function frontierFigures(s: FrontierSection): Figure[] {
  const rows: { series: string; C: number; N: number; kind: string; run: string }[] = [];
  for (const p of s.points) rows.push({ series: 'this study (optima)', C: p.C, N: p.N, kind: 'ours', run: p.run ?? '' });
  const lineRows: { series: string; C: number; N: number; kind: string }[] = [];
  if (s.fit) for (const p of s.fit.points) lineRows.push({ series: `this study: ${s.fit.label}`, C: p.C, N: p.N, kind: 'ours' });
  for (const l of s.published) for (const p of l.points) lineRows.push({ series: l.name, C: p.C, N: p.N, kind: 'published' });
  const nLines = (s.fit ? 1 : 0) + s.published.length;
  const color = { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } };
  const layer: VlSpec[] = [];
  if (lineRows.length) layer.push({
    name: 'frontier_lines', data: named('frontier_lines', lineRows), mark: { type: 'line', strokeWidth: 1.8 },
    encoding: { x: logX('C', 'training compute C (FLOPs, log)'), y: logY('N', 'compute-optimal N (log)', '~s'), color, strokeDash: { field: 'kind', type: 'nominal', legend: null, scale: { domain: ['ours', 'published'], range: [[1, 0], [6, 3]] } } },
  });
  layer.push({
    name: 'frontier_points', data: named('frontier_points', rows), mark: { type: 'point', filled: true, size: 60, shape: 'circle' },
    encoding: { x: logX('C', 'training compute C (FLOPs, log)'), y: logY('N', 'compute-optimal N (log)', '~s'), color, tooltip: [{ field: 'C', format: '.3~s' }, { field: 'N', format: '.3~s' }, { field: 'run' }] },
  });
  const runs = uniq(s.points.map((p) => p.run));
  const spec: VlSpec = { ...base('Compute-optimal frontier', 'compute-optimal model size against compute, beside published laws'), width: 480, height: 300, layer };
  const caption = `Compute-optimal N against compute C: ${s.points.length} optim${s.points.length > 1 ? 'a' : 'um'} of this study (dots${runs.length ? `; ${runsPhrase(runs)}` : ''})`
    + (s.fit ? `, our frontier ${fmtLaw(s.fit.law)} (solid)` : '')
    + (s.published.length ? `; published laws (dashed): ${s.published.map((l) => `${l.name} — ${l.citation}`).join('; ')}` : '; no published law given')
    + `. Source: ${s.source}.`;
  return [{ id: 'frontier', section: 'frontier', title: 'Compute-optimal frontier', spec, caption, runs, datasets: { frontier_points: rows.length, ...(lineRows.length ? { frontier_lines: lineRows.length } : {}) }, marks: { frontier_points: rows.length, ...(nLines ? { frontier_lines: lineRows.length } : {}) } }];
}

// ---------------------------------------------------------------------------------------------------------
// IsoFLOP profiles

export function isoflopFigures(s: IsoflopSection): Figure[] {
  const budget = (C: number) => `C = ${fmt(C, 3)}`;
  const pts = s.profiles.flatMap((p) => p.points.map((q) => ({ budget: budget(p.C), C: p.C, N: q.N, loss: q.loss, run: q.run })));
  const fits = s.profiles.flatMap((p) => (p.fit ?? []).map((q) => ({ budget: budget(p.C), C: p.C, N: q.N, loss: q.loss })));
  const opt = s.profiles.flatMap((p) => (p.optimum ? [{ budget: budget(p.C), C: p.C, N: p.optimum.N, loss: p.optimum.loss }] : []));
  const color = { field: 'budget', type: 'ordinal', title: 'budget (FLOPs)', sort: { field: 'C' }, scale: { scheme: 'viridis' } };
  const x = logX('N', 'non-embedding parameters N (log)');
  const layer: VlSpec[] = [];
  if (fits.length) layer.push({ name: 'isoflop_fits', data: named('isoflop_fits', fits), mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y: linY('loss', 'loss at the budget'), color } });
  layer.push({ name: 'isoflop_points', data: named('isoflop_points', pts), mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y: linY('loss', 'loss at the budget'), color, tooltip: [{ field: 'run' }, { field: 'N', format: '.3~s' }, { field: 'loss', format: '.4f' }] } });
  if (opt.length) layer.push({ name: 'isoflop_optima', data: named('isoflop_optima', opt), mark: { type: 'point', shape: 'cross', size: 150, strokeWidth: 2.5, color: '#e45756' }, encoding: { x, y: { field: 'loss', type: 'quantitative' } } });
  const runs = uniq(pts.map((p) => p.run));
  const nFit = s.profiles.filter((p) => (p.fit ?? []).length > 0).length;
  const spec: VlSpec = { ...base('IsoFLOP profiles', 'loss against model size at fixed compute'), width: 480, height: 300, layer };
  const caption = `Loss against N at ${s.profiles.length} fixed budget${s.profiles.length > 1 ? 's' : ''} (${s.profiles.map((p) => fmt(p.C, 3)).join(', ')} FLOPs); ${pts.length} points from ${runsPhrase(runs)}.`
    + (nFit ? ` Lines: the fitted profile of ${nFit} budget${nFit > 1 ? 's' : ''}.` : '')
    + (opt.length ? ` Red crosses: each profile's optimum (${opt.map((o) => `N* = ${fmt(o.N, 3)} at ${fmt(o.C, 3)}`).join('; ')}).` : '')
    + ` Source: ${s.source}.`;
  return [{ id: 'isoflop', section: 'isoflop', title: 'IsoFLOP profiles', spec, caption, runs, datasets: { isoflop_points: pts.length, ...(fits.length ? { isoflop_fits: fits.length } : {}), ...(opt.length ? { isoflop_optima: opt.length } : {}) }, marks: { isoflop_points: pts.length, ...(fits.length ? { isoflop_fits: fits.length } : {}), ...(opt.length ? { isoflop_optima: opt.length } : {}) } }];
}

// ---------------------------------------------------------------------------------------------------------
// Emergence

export function emergenceFigures(s: EmergenceSection): Figure[] {
  const rows = s.curves.flatMap((c, i) => c.points.map((p) => ({
    panel: `${c.metric}${c.task ? ` · ${c.task}` : ''} — ${c.shape}`, order: i, metric: c.metric, shape: c.shape, x: p.x, y: p.y, run: p.run ?? '',
  })));
  const x = s.xLog ? logX('x', `${s.xLabel} (log)`) : { field: 'x', type: 'quantitative', title: s.xLabel };
  const cols = Math.min(4, s.curves.length);
  const spec: VlSpec = {
    ...base('Emergence curves', 'one panel per metric, titled with its shape label'),
    data: named('emergence', rows),
    facet: { field: 'panel', type: 'nominal', title: null, sort: { field: 'order' }, header: { labelFontSize: 11, labelFontWeight: 'bold', labelLimit: 0, labelExpr: "split(datum.value, ' — ')" } },
    columns: cols,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 220, height: 160,
      layer: [
        { name: 'emergence_lines', mark: { type: 'line', color: '#4c78a8' }, encoding: { x, y: linY('y', 'metric value') } },
        { name: 'emergence_points', mark: { type: 'point', filled: true, size: 30, color: '#4c78a8' }, encoding: { x, y: { field: 'y', type: 'quantitative' }, tooltip: [{ field: 'metric' }, { field: 'x', format: '.3~s' }, { field: 'y', format: '.4~g' }, { field: 'run' }] } },
      ],
    },
  };
  const runs = uniq(rows.map((r) => r.run));
  const caption = `${s.curves.length} metric curve${s.curves.length > 1 ? 's' : ''} against ${s.xLabel}, one panel each, titled metric — shape label. `
    + s.curves.map((c) => `${c.metric}${c.task ? ` (${c.task})` : ''}: ${c.shape}${c.reasons?.length ? ` (${c.reasons.join('; ')})` : ''}`).join('. ')
    + `. ${runs.length ? `Data from ${runsPhrase(runs)}. ` : ''}Source: ${s.source}.`;
  return [{ id: 'emergence', section: 'emergence', title: 'Emergence curves', spec, caption, runs, datasets: { emergence: rows.length }, marks: { emergence_points: rows.length, emergence_lines: rows.length } }];
}

// ---------------------------------------------------------------------------------------------------------
// Memorization

export function memorizationFigures(s: MemorizationSection): Figure[] {
  const out: Figure[] = [];
  const rateY = { field: 'rate', type: 'quantitative', title: 'memorized fraction', axis: { format: '.1%' } };
  if (s.byDuplicates?.length) {
    const rows = s.byDuplicates.map((r) => ({ ...r }));
    const models = uniq(rows.map((r) => r.model));
    out.push({
      id: 'memorization-duplicates', section: 'memorization', title: 'Memorization vs duplicates',
      spec: {
        ...base('Memorization vs duplicate count', 'memorized fraction against how often a sequence occurs in training'), ...PANEL,
        data: named('memorization_duplicates', rows),
        layer: [
          { name: 'memorization_duplicates_lines', mark: { type: 'line' }, encoding: { x: logX('duplicates', 'copies in the training data (log)'), y: rateY, color: { field: 'model', type: 'nominal' } } },
          { name: 'memorization_duplicates_points', mark: { type: 'point', filled: true, size: 36 }, encoding: { x: { field: 'duplicates', type: 'quantitative' }, y: { field: 'rate', type: 'quantitative' }, color: { field: 'model', type: 'nominal' }, tooltip: [{ field: 'model' }, { field: 'duplicates' }, { field: 'rate', format: '.2%' }, { field: 'n' }] } },
        ],
      },
      caption: `Fraction memorized (${s.definition}) against the number of copies in the training data, for ${models.join(', ')}`
        + `${rows.some((r) => r.n) ? `; sequences tested per point: ${rangePhrase(rows.flatMap((r) => (r.n ? [r.n] : [])))}` : ''}. Source: ${s.source}.`,
      runs: models, datasets: { memorization_duplicates: rows.length }, marks: { memorization_duplicates_points: rows.length, memorization_duplicates_lines: rows.length },
    });
  }
  if (s.canaries?.rows.length) {
    const c = s.canaries;
    // copies + 1 on a log axis keeps the never-planted baseline (0 copies) visible
    const rows = c.rows.map((r) => ({ ...r, copies1: r.copies + 1 }));
    const models = uniq(rows.map((r) => r.model));
    out.push({
      id: 'memorization-canaries', section: 'memorization', title: 'Canary exposure vs copies',
      spec: {
        ...base('Canary exposure vs copies', 'exposure (bits) of each planted canary against its number of copies in training'), ...PANEL,
        data: named('memorization_canaries', rows),
        layer: [
          { name: 'memorization_canaries_points', mark: { type: 'point', filled: true, size: 40 }, encoding: { x: logX('copies1', 'copies in the training data + 1 (log)'), y: { field: 'exposure', type: 'quantitative', title: `exposure (bits; max ${c.maxExposure.toFixed(1)})` }, color: { field: 'model', type: 'nominal' }, tooltip: [{ field: 'model' }, { field: 'canary' }, { field: 'copies' }, { field: 'exposure', format: '.2f' }] } },
        ],
      },
      caption: `Exposure of each planted canary (${c.method}; at most ${c.maxExposure.toFixed(1)} bits) against its number of copies, for ${models.join(', ')}. Canaries with 0 copies were never in the training data and show the exposure of chance. Source: ${s.source}.`,
      runs: models, datasets: { memorization_canaries: rows.length }, marks: { memorization_canaries_points: rows.length },
    });
  }
  if (s.bySize?.length) {
    const rows = s.bySize.map((r) => ({ ...r }));
    const models = uniq(rows.map((r) => r.model));
    out.push({
      id: 'memorization-size', section: 'memorization', title: 'Memorization vs model size',
      spec: {
        ...base('Memorization vs model size', 'memorized fraction against parameters'), ...PANEL,
        data: named('memorization_size', rows),
        layer: [
          { name: 'memorization_size_lines', mark: { type: 'line', color: '#4c78a8' }, encoding: { x: logX('params', 'parameters (log)'), y: rateY } },
          { name: 'memorization_size_points', mark: { type: 'point', filled: true, size: 40, color: '#4c78a8' }, encoding: { x: { field: 'params', type: 'quantitative' }, y: { field: 'rate', type: 'quantitative' }, tooltip: [{ field: 'model' }, { field: 'params', format: '.3~s' }, { field: 'rate', format: '.2%' }] } },
        ],
      },
      caption: `Fraction memorized (${s.definition}) against parameters, models ${rows.map((r) => `${r.model} (N = ${fmt(r.params, 3)}: ${fmt(r.rate * 100, 3)}%)`).join(', ')}. Source: ${s.source}.`,
      runs: models, datasets: { memorization_size: rows.length }, marks: { memorization_size_points: rows.length, memorization_size_lines: rows.length },
    });
  }
  if (s.goodTuring) {
    const g = s.goodTuring;
    const obs = g.observed.map((p) => ({ samples: p.samples, value: p.value }));
    const ext = g.extrapolated.map((p) => ({ samples: p.samples, value: p.value, lo: p.lo ?? p.value, hi: p.hi ?? p.value }));
    const hasBand = g.extrapolated.some((p) => p.lo !== undefined && p.hi !== undefined);
    const x = logX('samples', 'samples drawn (log)');
    const layer: VlSpec[] = [];
    if (hasBand) layer.push({ name: 'goodturing_band', data: named('goodturing_extrapolated', ext), mark: { type: 'area', opacity: 0.2, color: '#e45756' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } });
    layer.push({ name: 'goodturing_extrapolated', data: named('goodturing_extrapolated', ext), mark: { type: 'line', color: '#e45756', strokeDash: [6, 3], strokeWidth: 2 }, encoding: { x, y: { field: 'value', type: 'quantitative', title: g.quantity } } });
    layer.push({ name: 'goodturing_observed', data: named('goodturing_observed', obs), mark: { type: 'point', filled: true, size: 40, color: '#222' }, encoding: { x, y: { field: 'value', type: 'quantitative' }, tooltip: [{ field: 'samples' }, { field: 'value' }] } });
    out.push({
      id: 'memorization-good-turing', section: 'memorization', title: 'Good-Turing extrapolation',
      spec: { ...base('Good-Turing extrapolation', `${g.quantity}: observed and extrapolated`), ...PANEL, layer },
      caption: `${g.quantity}: observed (dots, ${obs.length} sample sizes up to ${fmt(Math.max(...obs.map((o) => o.samples)), 3)}) and extrapolated by ${g.method} (dashed${hasBand ? ', band: its interval' : ''}) to ${fmt(Math.max(...ext.map((e) => e.samples)), 3)} samples. Source: ${s.source}.`,
      runs: [], datasets: { goodturing_observed: obs.length, goodturing_extrapolated: ext.length }, marks: { goodturing_observed: obs.length, goodturing_extrapolated: ext.length, ...(hasBand ? { goodturing_band: ext.length } : {}) },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Massive activations

export function activationFigures(s: ActivationsSection): Figure[] {
  const rows: { layer: number; series: string; rank: number; value: number }[] = [];
  const k = Math.min(3, ...s.layers.map((l) => l.top.length));
  for (const l of s.layers) {
    for (let i = 0; i < k; i++) rows.push({ layer: l.layer, series: `top-${i + 1}`, rank: i, value: l.top[i]! });
    rows.push({ layer: l.layer, series: 'median', rank: k, value: l.median });
  }
  const positive = rows.every((r) => r.value > 0);
  const color = { field: 'series', type: 'nominal', title: null, sort: { field: 'rank' } };
  const y = positive ? logY('value', 'magnitude (log)') : linY('value', 'magnitude');
  const spec: VlSpec = {
    ...base(`Activation magnitudes: ${s.model}`, 'largest and median activation magnitude per layer'), ...PANEL,
    data: named('activations', rows),
    layer: [
      { name: 'activations_lines', mark: { type: 'line' }, encoding: { x: { field: 'layer', type: 'quantitative', title: 'layer', axis: { tickMinStep: 1, format: 'd' } }, y, color } },
      { name: 'activations_points', mark: { type: 'point', filled: true, size: 30 }, encoding: { x: { field: 'layer', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, color, tooltip: [{ field: 'layer' }, { field: 'series' }, { field: 'value', format: '.4~g' }] } },
    ],
  };
  const peak = s.layers.reduce((a, l) => (l.top[0]! > a.top[0]! ? l : a));
  const caption = `${s.model}: top-${k} and median of ${s.stat}, per layer (${s.layers.length} layers${positive ? '; log scale' : ''}). Largest: ${fmt(peak.top[0]!)} at layer ${peak.layer} (median there ${fmt(peak.median)}, ratio ${fmt(peak.median > 0 ? peak.top[0]! / peak.median : NaN)}). Source: ${s.source}.`;
  return [{ id: 'activations', section: 'activations', title: 'Activation magnitudes', spec, caption, runs: [s.model], datasets: { activations: rows.length }, marks: { activations_points: rows.length, activations_lines: rows.length } }];
}

// ---------------------------------------------------------------------------------------------------------
// Attention sinks

export function attentionSinkFigures(s: AttentionSinksSection): Figure[] {
  return s.maps.map((m, i) => {
    const rows = m.values.flatMap((row, l) => row.map((v, h) => ({ layer: l, head: h, value: v })));
    const L = m.values.length, H = m.values[0]!.length;
    const max = rows.reduce((a, r) => (r.value > a.value ? r : a));
    const mean = rows.reduce((a, r) => a + r.value, 0) / rows.length;
    const spec: VlSpec = {
      ...base(`Attention sinks: ${m.model}`, m.metric),
      width: Math.max(160, Math.min(520, H * 26)), height: Math.max(120, Math.min(420, L * 22)),
      data: named(`sinks_${i}`, rows),
      mark: { type: 'rect' },
      name: `sinks_${i}_cells`,
      encoding: {
        x: { field: 'head', type: 'ordinal', title: 'head' },
        y: { field: 'layer', type: 'ordinal', title: 'layer' },
        color: { field: 'value', type: 'quantitative', title: null, scale: { scheme: 'viridis' } },
        tooltip: [{ field: 'layer' }, { field: 'head' }, { field: 'value', format: '.4~g' }],
      },
    };
    const caption = `${m.model}: ${m.metric}, per layer (rows, ${L}) and head (columns, ${H}). Mean ${fmt(mean)}; largest ${fmt(max.value)} at layer ${max.layer}, head ${max.head}. Source: ${s.source}.`;
    return { id: `attention-sinks${s.maps.length > 1 ? `-${i + 1}` : ''}`, section: 'attentionSinks' as const, title: `Attention sinks: ${m.model}`, spec, caption, runs: [m.model], datasets: { [`sinks_${i}`]: rows.length }, marks: { [`sinks_${i}_cells`]: rows.length } };
  });
}

/** Every figure of a report, in section order. */
export function buildFigures(d: ReportData): Figure[] {
  return [
    ...(d.training ? trainingFigures(d.training) : []),
    ...(d.scaling ? scalingFigures(d.scaling) : []),
    ...(d.frontier ? frontierFigures(d.frontier) : []),
    ...(d.isoflop ? isoflopFigures(d.isoflop) : []),
    ...(d.emergence ? emergenceFigures(d.emergence) : []),
    ...(d.memorization ? memorizationFigures(d.memorization) : []),
    ...(d.activations ? activationFigures(d.activations) : []),
    ...(d.attentionSinks ? attentionSinkFigures(d.attentionSinks) : []),
  ];
}
