/**
 * What every `lmlab experiment …` command shares: number-flag parsers, the common flags (--out, --backend,
 * --quiet, --json, --no-svg), the progress logger, figure rendering (FigureSpec → Vega-Lite → SVG) and
 * `finishExperiment`, which writes the result file, CSVs and figures. Used by experiment.ts (the emergence
 * experiments) and memorization.ts (the memorization experiments).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { ExperimentError, type ExperimentResult, type FigureSpec, type Row, writeExperiment } from '../emergence/experiments/common.ts';
import { specToSvg, type VlSpec } from '../report/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** Parse an optional number flag, naming the flag on error. */
export function num(v: string | undefined, flag: string, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new ExperimentError(`${flag}: '${v}' is not a number`);
  if (opts.int && !Number.isInteger(x)) throw new ExperimentError(`${flag}: expected an integer, got ${v}`);
  if (opts.min !== undefined && x < opts.min) throw new ExperimentError(`${flag}: must be ≥ ${opts.min}, got ${v}`);
  return x;
}

/** Parse an optional comma-separated number list. */
export function numList(v: string | undefined, flag: string): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new ExperimentError(`${flag}: expected a comma-separated list of numbers, got '${v}'`);
  return parts.map((p) => num(p, flag)!);
}

export interface Common {
  out?: string;
  backend?: string;
  json?: boolean;
  quiet?: boolean;
  svg?: boolean;
}

/**
 * A Vega-Lite spec for one experiment figure (rendered to SVG by the report module's specToSvg). Several y
 * columns are folded into (metric, value); with a series column too, or with a facet column, the metrics
 * go to separate panels with independent y scales. Log axes drop non-positive values.
 */
export function figureSpec(f: FigureSpec, rows: readonly Row[]): VlSpec {
  const multi = f.y.length > 1;
  const panels = f.facet !== undefined || (multi && f.series !== undefined) || (multi && f.id.startsWith('mirage-metrics'));
  const filters: string[] = [];
  if (f.xLog) filters.push(`datum['${f.x}'] > 0`);
  const data = rows.map((r) => ({ ...r }));
  const transform: Record<string, unknown>[] = [];
  if (filters.length) transform.push({ filter: filters.join(' && ') });
  transform.push({ fold: f.y, as: ['metric', 'value'] });
  if (f.yLog) transform.push({ filter: 'datum.value > 0' });
  const xType = f.kind === 'bar' ? 'nominal' : 'quantitative';
  const encoding: Record<string, unknown> = {
    x: { field: f.x, type: xType, ...(f.xLog ? { scale: { type: 'log' } } : {}), title: f.x },
    y: { field: 'value', type: 'quantitative', ...(f.yLog ? { scale: { type: 'log' } } : {}), title: multi ? 'value' : f.y[0] },
  };
  if (f.series !== undefined) encoding.color = { field: f.series, type: 'nominal' };
  else if (multi && !panels) encoding.color = { field: 'metric', type: 'nominal' };
  if (f.series !== undefined && multi && !panels) encoding.strokeDash = { field: 'metric', type: 'nominal' };
  if (f.kind === 'bar' && multi && !panels) encoding.xOffset = { field: 'metric', type: 'nominal' };
  const mark = f.kind === 'bar' ? { type: 'bar' } : f.kind === 'scatter' ? { type: 'point' } : { type: 'line', point: rows.length <= 60 };
  const inner: Record<string, unknown> = { mark, encoding };
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title: f.title, data: { values: data }, transform };
  if (panels) {
    const facetField = f.facet ?? 'metric';
    return { ...base, facet: { field: facetField, type: 'nominal', title: null }, columns: 3, spec: { width: 190, height: 130, ...inner }, resolve: { scale: { y: 'independent' } } } as unknown as VlSpec;
  }
  const layers: Record<string, unknown>[] = [inner];
  for (const m of f.markers ?? []) layers.push({ mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' }, data: { values: [{ x: m.x }] }, encoding: { x: { field: 'x', type: 'quantitative' } } });
  for (const h of f.hlines ?? []) layers.push({ mark: { type: 'rule', strokeDash: [2, 2], color: 'black' }, data: { values: [{ y: h.y }] }, encoding: { y: { field: 'y', type: 'quantitative' } } });
  return (layers.length === 1 ? { ...base, width: 480, height: 260, ...inner } : { ...base, width: 480, height: 260, layer: layers }) as unknown as VlSpec;
}

/** Render every figure of a result to `<dir>/figures/<id>.svg`; returns the paths (failures become warnings). */
export async function renderFigures(dir: string, result: ExperimentResult, tables: Record<string, Row[]>, warn: (s: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const f of result.figures) {
    try {
      const { svg } = await specToSvg(figureSpec(f, tables[f.file] ?? []));
      const p = join(dir, 'figures', `${f.id}.svg`);
      writeFileAtomic(p, svg);
      out.push(p);
    } catch (e) {
      warn(`figure ${f.id}: not rendered (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}

/** Writes an experiment's result file, CSV tables and (unless --no-svg) figures into --out (default experiments/<name>),
 * then prints the result as JSON (--json) or as a short summary. Shared by every `lmlab experiment` command. */
export async function finishExperiment(name: string, o: Pick<Common, 'out' | 'json' | 'svg'>, run: { result: ExperimentResult; tables: Record<string, Row[]> }): Promise<void> {
  const dir = o.out ?? `experiments/${name}`;
  const paths = writeExperiment(dir, run.result, run.tables);
  if (o.svg !== false) paths.push(...(await renderFigures(dir, run.result, run.tables, (s) => void process.stderr.write(`lmlab: ${s}\n`))));
  if (o.json) {
    process.stdout.write(JSON.stringify(run.result, null, 2) + '\n');
    return;
  }
  process.stdout.write(`${name}: ${run.result.seconds.toFixed(0)} s on the ${run.result.backend} backend\n`);
  for (const n of run.result.notes) process.stdout.write(`  - ${n}\n`);
  process.stdout.write(`wrote ${paths.join(', ')}\n`);
}

/** Progress lines on stderr unless --quiet or --json. */
export const experimentLogger = (o: Pick<Common, 'quiet' | 'json'>) => (o.quiet || o.json ? () => {} : (s: string) => void process.stderr.write(s + '\n'));

/** The flags every `lmlab experiment` command has: --out, --backend, --quiet, --json, --no-svg. */
export function experimentFlags(cmd: Command, name: string): Command {
  return cmd
    .option('--out <dir>', 'output directory', `experiments/${name}`)
    .option('--backend <kind>', 'ref | native | auto (default: LMLAB_BACKEND or auto)')
    .option('--quiet', 'no progress lines on stderr')
    .option('--json', 'print the result JSON instead of a summary')
    .option('--no-svg', 'do not render the figures to SVG (the CSV data is always written)');
}
