/**
 * Rendering: Vega-Lite spec -> Vega -> SVG in Node (a headless View with renderer 'none'; no browser, no
 * canvas), a check that every named mark drew the items its data calls for, and the self-contained HTML
 * report (inline SVG and CSS, no scripts) with each SVG and its spec also written to figures/.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { writeFileAtomic } from '../io/atomic.ts';
import { escapeHtml } from './html.ts';
import { buildFigures, fmt, type Figure, type VlSpec } from './figures.ts';
import { parseReportInput, ReportError, SECTIONS, type QuantizationSection, type ReportData, type ReportInput, type RunsSection } from './types.ts';

export const VERSIONS = { vega: vega.version, vegaLite: vl.version };

export interface RenderedFigure extends Figure {
  svg: string;
  /** items drawn per named mark (summed over facets) */
  items: Record<string, number>;
  /** warnings from Vega-Lite's compiler and Vega's runtime */
  warnings: string[];
}

/** A figure whose render does not match its data (a mark drew fewer or more items than rows/series). */
export class FigureRenderError extends ReportError {
  override name = 'FigureRenderError';
}

export { escapeHtml };

function collectLogger(warnings: string[]) {
  let lvl = vega.Warn;
  const push = (...a: unknown[]) => { warnings.push(a.map(String).join(' ')); };
  const logger = {
    level(l?: number) { if (l === undefined) return lvl; lvl = l; return logger; },
    error: push, warn: push, info: () => logger, debug: () => logger,
  };
  return logger as unknown as vega.LoggerInterface;
}

interface SceneNode { marktype?: string; name?: string; items?: SceneNode[] }

/** Count items per named mark in a Vega scenegraph (Vega-Lite names a unit's marks `<name>_marks`). */
function countItems(root: SceneNode): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (n: SceneNode) => {
    if (n.marktype && n.name) out[n.name] = (out[n.name] ?? 0) + (n.items?.length ?? 0);
    for (const c of n.items ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** Make an SVG's ids (clip paths, gradients) unique to `prefix`, so several can share one HTML page. */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/\bhref="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/** Compile and render a Vega-Lite spec to an SVG string, with the items drawn per named mark. */
export async function specToSvg(spec: VlSpec): Promise<{ svg: string; items: Record<string, number>; warnings: string[] }> {
  const warnings: string[] = [];
  const logger = collectLogger(warnings);
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    await view.runAsync();
    const items = countItems((view.scenegraph() as unknown as { root: SceneNode }).root);
    const svg = await view.toSVG();
    return { svg, items, warnings };
  } finally {
    view.finalize();
  }
}

/** Render one figure and check that each named mark drew what its data calls for. */
export async function renderFigure(f: Figure): Promise<RenderedFigure> {
  const { svg, items, warnings } = await specToSvg(f.spec);
  const drawn: Record<string, number> = {};
  for (const [name, want] of Object.entries(f.marks)) {
    const got = items[`${name}_marks`] ?? 0;
    drawn[name] = got;
    if (got !== want) throw new FigureRenderError(`figure '${f.id}': mark '${name}' drew ${got} item(s); its data calls for ${want}`);
  }
  const desc = `<desc>${escapeHtml(f.caption)}</desc>`;
  return { ...f, svg: svg.replace(/^(<svg[^>]*>)/, `$1<title>${escapeHtml(f.title)}</title>${desc}`), items: drawn, warnings };
}

// ---------------------------------------------------------------------------------------------------------
// HTML

const CSS = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:1280px;margin:0 auto;padding:20px 28px 60px;background:#fff}
h1{font-size:24px;margin:6px 0 2px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 10px}dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:12px;color:#444}
dl.prov dt{font-weight:bold}dl.prov dd{margin:0;font-family:ui-monospace,Menlo,monospace;word-break:break-all}
nav ol{columns:2;font-size:13px}.not-run{color:#999;font-style:italic}
.figs{display:flex;flex-wrap:wrap;gap:18px}figure.lm-figure{margin:0;flex:0 1 auto;max-width:100%}
figure.lm-figure svg{max-width:100%;height:auto}
figcaption{font-size:12px;color:#333;max-width:640px;margin-top:4px}figcaption b{color:#000}
details{font-size:11px;color:#555;max-width:640px}details code{word-break:break-all}
table{border-collapse:collapse;font-size:12px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f2f2f2}td.t,th.t{text-align:left;font-family:ui-monospace,Menlo,monospace}
.warn{color:#a40}footer{margin-top:40px;font-size:11px;color:#777}
`;

function table(cols: { key: string; label: string; text?: boolean; digits?: number }[], rows: Record<string, unknown>[], cls = ''): string {
  const cell = (v: unknown, c: { text?: boolean; digits?: number }) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return escapeHtml(c.digits !== undefined ? v.toFixed(c.digits) : fmt(v, 5));
    return escapeHtml(String(v));
  };
  return `<table class="${cls}"><thead><tr>${cols.map((c) => `<th class="${c.text ? 't' : ''}">${escapeHtml(c.label)}</th>`).join('')}</tr></thead><tbody>`
    + rows.map((r) => `<tr>${cols.map((c) => `<td class="${c.text || typeof r[c.key] === 'string' ? 't' : ''}">${cell(r[c.key], c)}</td>`).join('')}</tr>`).join('')
    + '</tbody></table>';
}

function runsTable(s: RunsSection): string {
  const cols = [
    { key: 'id', label: 'run', text: true }, { key: 'sweep', label: 'sweep', text: true }, { key: 'status', label: 'status', text: true },
    { key: 'params', label: 'params' }, { key: 'non_embedding', label: 'N (non-emb.)' }, { key: 'flops_per_token', label: 'FLOPs/token' },
    { key: 'steps', label: 'steps' }, { key: 'tokens', label: 'tokens D' }, { key: 'final_loss', label: 'final loss', digits: 4 },
    { key: 'final_val_loss', label: 'final val loss', digits: 4 }, { key: 'evaluations', label: 'evaluations' },
  ];
  return `<p>${s.rows.length} run${s.rows.length === 1 ? '' : 's'}. Source: ${escapeHtml(s.source)}.</p>${table(cols, s.rows as unknown as Record<string, unknown>[], 'runs')}`;
}

function quantTable(s: QuantizationSection): string {
  return table(s.columns.map((c) => ({ key: c.key, label: c.label, digits: c.digits })), s.rows, 'quantization')
    + `<p class="cap">${s.rows.length} row${s.rows.length === 1 ? '' : 's'}.${s.note ? ` ${escapeHtml(s.note)}` : ''} Source: ${escapeHtml(s.source)}.</p>`;
}

function figureHtml(f: RenderedFigure, svgHref: string | null): string {
  const data = JSON.stringify({ id: f.id, runs: f.runs, datasets: f.datasets, marks: f.marks, items: f.items }).replace(/</g, '\\u003c');
  return `<figure class="lm-figure" id="fig-${escapeHtml(f.id)}" data-figure="${escapeHtml(f.id)}" data-rows="${Object.values(f.datasets).reduce((a, b) => a + b, 0)}">`
    + prefixSvgIds(f.svg, `fig-${f.id}`)
    + `<figcaption><b>${escapeHtml(f.title)}.</b> ${escapeHtml(f.caption)}${svgHref ? ` <a href="${escapeHtml(svgHref)}">SVG</a>` : ''}</figcaption>`
    + (f.runs.length ? `<details><summary>${f.runs.length} data source id${f.runs.length > 1 ? 's' : ''}</summary><code>${f.runs.map(escapeHtml).join(', ')}</code></details>` : '')
    + (f.warnings.length ? `<p class="warn">Renderer warnings: ${escapeHtml(f.warnings.join('; '))}</p>` : '')
    + `<script type="application/json" class="lm-figure-data">${data}</script></figure>`;
}

export interface HtmlOptions {
  /** link each figure to figures/<id>.svg (true when the SVGs are written beside the HTML) */
  linkSvgs?: boolean;
}

/** Build the report page from a validated input and its rendered figures. */
export function reportHtml(d: ReportData, figs: RenderedFigure[], opts: HtmlOptions = {}): string {
  const generated = d.generatedAt ?? new Date().toISOString();
  const prov = Object.entries(d.provenance);
  const parts: string[] = [];
  const toc: string[] = [];
  for (const [key, heading] of SECTIONS) {
    const sec = d[key];
    const mine = figs.filter((f) => f.section === key);
    toc.push(`<li><a href="#sec-${key}">${escapeHtml(heading)}</a>${sec ? (mine.length ? ` (${mine.length} figure${mine.length > 1 ? 's' : ''})` : '') : ' <span class="not-run">not run</span>'}</li>`);
    let body: string;
    if (!sec) body = '<p class="not-run">not run</p>';
    else if (key === 'runs') body = runsTable(sec as RunsSection);
    else if (key === 'quantization') body = quantTable(sec as QuantizationSection);
    else if (mine.length === 0) body = `<p class="not-run">no data in this section (source: ${escapeHtml((sec as { source: string }).source)})</p>`;
    else body = `<div class="figs">${mine.map((f) => figureHtml(f, opts.linkSvgs ? `figures/${f.id}.svg` : null)).join('')}</div>`;
    parts.push(`<section id="sec-${key}" data-section="${key}" data-status="${sec ? 'present' : 'not-run'}"><h2>${escapeHtml(heading)}</h2>${body}</section>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="lmlab report (Vega ${VERSIONS.vega}, Vega-Lite ${VERSIONS.vegaLite})">
<title>${escapeHtml(d.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(d.title)}</h1>${d.subtitle ? `<p class="sub">${escapeHtml(d.subtitle)}</p>` : ''}
<dl class="prov"><dt>generated</dt><dd>${escapeHtml(generated)}</dd>${prov.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
<nav><ol>${toc.join('')}</ol></nav>
${parts.join('\n')}
<footer>Made by lmlab from the data named in each caption. Figures: Vega-Lite ${VERSIONS.vegaLite} / Vega ${VERSIONS.vega}, rendered to SVG.</footer>
</main></body></html>
`;
}

export interface BuiltReport {
  data: ReportData;
  figures: RenderedFigure[];
  html: string;
}

/** Validate, build and render a report in memory (nothing is written). */
export async function buildReport(input: ReportInput | ReportData, opts: HtmlOptions & { where?: string } = {}): Promise<BuiltReport> {
  const data = parseReportInput(input, opts.where);
  const figures: RenderedFigure[] = [];
  for (const f of buildFigures(data)) figures.push(await renderFigure(f));
  return { data, figures, html: reportHtml(data, figures, opts) };
}

export interface RenderResult {
  /** the HTML text (also written to <outDir>/report.html) */
  html: string;
  htmlPath: string;
  /** the SVG files written, figures/<id>.svg */
  figures: string[];
  /** each figure's Vega-Lite spec with its data inline, figures/<id>.vl.json (re-render or restyle for a paper) */
  specs: string[];
  /** the validated input, <outDir>/report-input.json */
  inputPath: string;
  warnings: string[];
}

/**
 * Write a report: <outDir>/report.html (self-contained: inline SVG and CSS, no scripts or external files),
 * <outDir>/figures/<id>.svg and <id>.vl.json, and <outDir>/report-input.json (the data it was made from).
 */
export async function renderReport(input: ReportInput | ReportData, outDir: string, opts: { where?: string } = {}): Promise<RenderResult> {
  const dir = resolve(outDir);
  const built = await buildReport(input, { linkSvgs: true, where: opts.where });
  mkdirSync(join(dir, 'figures'), { recursive: true });
  const figures: string[] = [], specs: string[] = [];
  for (const f of built.figures) {
    const svgPath = join(dir, 'figures', `${f.id}.svg`), specPath = join(dir, 'figures', `${f.id}.vl.json`);
    writeFileAtomic(svgPath, `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg}\n`);
    writeFileAtomic(specPath, JSON.stringify(f.spec, null, 1) + '\n');
    figures.push(svgPath);
    specs.push(specPath);
  }
  const inputPath = join(dir, 'report-input.json');
  writeFileAtomic(inputPath, JSON.stringify(built.data, null, 1) + '\n');
  const htmlPath = join(dir, 'report.html');
  writeFileAtomic(htmlPath, built.html);
  return { html: built.html, htmlPath, figures, specs, inputPath, warnings: built.figures.flatMap((f) => f.warnings.map((w) => `${f.id}: ${w}`)) };
}
