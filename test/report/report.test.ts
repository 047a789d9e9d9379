// Report rendering without a browser: quantile bands, figure data checks, traceability, "not run" sections,
// input validation, escaping, self-containedness, and the report of a store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFigures, fmt, quantileBand, thin, type Figure } from '../../src/report/figures.ts';
import { buildReport, FigureRenderError, renderFigure, renderReport } from '../../src/report/render.ts';
import { parseMetricsJsonl, reportFromStore } from '../../src/report/store.ts';
import { parseReportInput, ReportInputError, SECTIONS, type ReportInput } from '../../src/report/types.ts';
import { Store } from '../../src/store/store.ts';
import { rng, sampleInput } from './fixture.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lmlab-report-'));

test('quantileBand matches order statistics computed directly', () => {
  // 101 curves whose values at every grid point are a permutation of 0..100: the 5% and 95% quantiles are 5 and 95
  const r = rng(3);
  const cols = 4, curves: number[][] = Array.from({ length: 101 }, () => new Array<number>(cols).fill(0));
  for (let j = 0; j < cols; j++) {
    const perm = Array.from({ length: 101 }, (_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) { const k = Math.floor(r() * (i + 1)); [perm[i], perm[k]] = [perm[k]!, perm[i]!]; }
    for (let i = 0; i < 101; i++) curves[i]![j] = perm[i]! * (j + 1);
  }
  const q = quantileBand(curves, 0.9);
  for (let j = 0; j < cols; j++) {
    assert.ok(Math.abs(q.lo[j]! - 5 * (j + 1)) < 1e-12, `lo[${j}] = ${q.lo[j]}, expected ${5 * (j + 1)}`);
    assert.ok(Math.abs(q.hi[j]! - 95 * (j + 1)) < 1e-12, `hi[${j}] = ${q.hi[j]}, expected ${95 * (j + 1)}`);
  }
  // interpolation between order statistics: 4 values, level 0.5 -> p = 0.25 -> h = 0.75
  const b = quantileBand([[0], [10], [20], [30]], 0.5);
  assert.ok(Math.abs(b.lo[0]! - 7.5) < 1e-12 && Math.abs(b.hi[0]! - 22.5) < 1e-12, `got ${b.lo[0]}, ${b.hi[0]}`);
});

test('thin keeps the first and last point and at most max+1 points', () => {
  const xs = Array.from({ length: 10_001 }, (_, i) => i);
  const t = thin(xs, 1500);
  assert.ok(t.points.length <= 1501, `kept ${t.points.length}`);
  assert.equal(t.points[0], 0, 'first point kept');
  assert.equal(t.points.at(-1), 10_000, 'last point kept');
  assert.deepEqual(thin([1, 2, 3], 10).points, [1, 2, 3], 'short series untouched');
});

// the full report is rendered once (about 2 s) and shared by the tests that only read it
const fullOut = join(tmp, 'full');
let full: Promise<Awaited<ReturnType<typeof renderReport>>> | null = null;
const renderFull = () => (full ??= renderReport(sampleInput(), fullOut));

test('every figure of a full report draws one item per data row, with no renderer warnings', async () => {
  const input = sampleInput();
  const out = fullOut;
  const r = await renderFull();
  const d = parseReportInput(input);
  const figs = buildFigures(d);
  assert.equal(r.figures.length, figs.length, 'one SVG per figure');
  assert.deepEqual(r.warnings, [], `renderer warnings: ${r.warnings.join('; ')}`);
  // expected counts recomputed from the input, independently of the figure builders
  const tr = input.training!.runs.flatMap((x) => x.points);
  const trainingRows = tr.filter((p) => typeof p.loss === 'number').length + tr.filter((p) => typeof p.val_loss === 'number').length;
  const want: Record<string, Record<string, number>> = {
    'training-curves': { training_lines: trainingRows, training_val_points: tr.filter((p) => typeof p.val_loss === 'number').length },
    'scaling-LN': { scaling_LN_points: 4, scaling_LN_curve: 24, scaling_LN_band: 24, scaling_LN_heldout_observed: 1 },
    'scaling-LD': { scaling_LD_points: 3, scaling_LD_band: 20 },
    'scaling-LC': { scaling_LC_points: 3, scaling_LC_curve: 20 },
    frontier: { frontier_points: 3, frontier_lines: 20 },
    isoflop: { isoflop_points: 21, isoflop_fits: 90, isoflop_optima: 3 },
    emergence: { emergence_points: 15 },
    'memorization-duplicates': { memorization_duplicates_points: 12 },
    'memorization-size': { memorization_size_points: 5 },
    'memorization-good-turing': { goodturing_observed: 3, goodturing_extrapolated: 8 },
    activations: { activations_points: 24 },
    'attention-sinks': { sinks_0_cells: 24 },
  };
  for (const [id, marks] of Object.entries(want)) {
    const svgPath = join(out, 'figures', `${id}.svg`);
    assert.ok(existsSync(svgPath), `${svgPath} written`);
    const svg = readFileSync(svgPath, 'utf8');
    assert.ok(svg.includes('<svg') && svg.includes('</svg>'), `${id}: an SVG document`);
    for (const [mark, n] of Object.entries(marks)) {
      const g = new RegExp(`<g class="mark-[a-z]+ role-mark ${mark}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g');
      const blocks = [...svg.matchAll(g)].map((m) => m[1]!);
      assert.ok(blocks.length > 0, `${id}: mark ${mark} present in the SVG`);
    }
    const fig = figs.find((f) => f.id === id);
    assert.ok(fig, `figure ${id} built`);
    for (const [mark, n] of Object.entries(marks)) assert.equal(fig.marks[mark], n, `${id}: ${mark} should draw ${n} items`);
  }
  assert.ok(existsSync(join(out, 'report-input.json')) && existsSync(join(out, 'figures', 'scaling-LN.vl.json')), 'input and specs written beside the report');
});

test('plotted positions follow the data: L(N) points run left to right and up as the loss rises', async () => {
  const input = sampleInput();
  const figs = buildFigures(parseReportInput(input));
  const f = await renderFigure(figs.find((x) => x.id === 'scaling-LN')!);
  const block = /<g class="mark-symbol role-mark scaling_LN_points_marks"[^>]*>([\s\S]*?)<\/g>/.exec(f.svg);
  assert.ok(block, 'points group in the SVG');
  const xy = [...block[1]!.matchAll(/translate\(([-\d.]+),([-\d.]+)\)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const pts = input.scaling!.fits[0]!.points;
  assert.equal(xy.length, pts.length, 'one symbol per point');
  const order = pts.map((p, i) => [p.x, p.loss, i] as const).sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < order.length; k++) {
    const a = xy[order[k - 1]![2]]!, b = xy[order[k]![2]]!;
    assert.ok(b[0] > a[0], `x pixel increases with N (${a[0]} → ${b[0]})`);
    // higher loss = smaller y pixel (SVG y grows downwards)
    assert.equal(Math.sign(a[1] - b[1]), Math.sign(order[k]![1] - order[k - 1]![1]), `y pixel order follows loss order at ${k}`);
  }
  // log scale: equal ratios of N give equal pixel steps (the N grid is 1e5, 3e5, 1e6, 3e6)
  const x = order.map((o) => xy[o[2]]![0]);
  const ratio = (x[2]! - x[0]!) / (x[3]! - x[1]!);
  assert.ok(Math.abs(ratio - 1) < 0.02, `log-x spacing ratio ${ratio}`);
});

test('captions name the data: every run id, the fit parameters and the held-out prediction appear', async () => {
  const input = sampleInput();
  const { html } = await renderFull();
  const figures = buildFigures(parseReportInput(input));
  for (const r of input.training!.runs) assert.ok(html.includes(r.run), `run id ${r.run} in the report`);
  for (const f of input.scaling!.fits) for (const [k, v] of Object.entries(f.law.params)) assert.ok(html.includes(`${k} = ${fmt(v)}`), `fit parameter ${k} = ${fmt(v)} in the report`);
  const h = input.scaling!.fits[0]!.heldOut!;
  assert.ok(html.includes(`predicted ${fmt(h.predicted)}`), 'held-out prediction in the caption');
  for (const f of figures) {
    assert.ok(f.caption.includes('Source: '), `${f.id}: caption names its source`);
    assert.ok(html.includes(`id="fig-${f.id}"`), `${f.id}: figure in the page`);
    assert.ok(readFileSync(join(fullOut, 'figures', `${f.id}.svg`), 'utf8').includes('<desc>'), `${f.id}: the SVG carries its caption`);
  }
  for (const [key] of SECTIONS) assert.ok(html.includes(`data-section="${key}" data-status="present"`), `section ${key} present`);
});

test('absent sections are shown as "not run"', async () => {
  const full = sampleInput();
  const { html, figures } = await buildReport({ title: 'only training', training: full.training });
  assert.equal(figures.length, 1, 'one figure');
  for (const [key] of SECTIONS) {
    const present = key === 'training';
    assert.ok(html.includes(`data-section="${key}" data-status="${present ? 'present' : 'not-run'}"`), `section ${key} is ${present ? 'present' : 'not run'}`);
  }
  const m = html.match(/<p class="not-run">not run<\/p>/g) ?? [];
  assert.equal(m.length, SECTIONS.length - 1, 'a "not run" note per absent section');
});

test('the HTML is self-contained and escapes what it is given', async () => {
  const all = sampleInput();
  const input: ReportInput = { title: '', training: all.training, scaling: all.scaling, quantization: all.quantization };
  const evil = '<script>alert(1)</script>';
  input.title = `t <img src=x onerror=alert(2)>`;
  input.training!.runs[0]!.run = evil;
  input.scaling!.fits[0]!.points[0]!.run = evil;
  input.quantization!.rows.push({ method: evil, bits: 4, ppl: 30 });
  const { html } = await buildReport(input);
  assert.ok(!html.includes('<script>alert'), 'no injected script element');
  assert.ok(!/<img/i.test(html), 'no injected img element');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the run id is shown escaped');
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.ok(scripts.every((s) => s.includes('type="application/json"')), `only data blocks, no executable scripts: ${scripts.join(' ')}`);
  assert.ok(!/\bsrc\s*=/.test(html.replace(/&lt;[^&]*&gt;/g, '')), 'no src= attributes (nothing loaded from elsewhere)');
  assert.ok(!/<link\b/i.test(html) && !/@import/.test(html) && !/url\(\s*['"]?https?:/i.test(html), 'no stylesheets or fonts from elsewhere');
  // the JSON data blocks cannot close their script element
  for (const m of html.matchAll(/<script type="application\/json" class="lm-figure-data">([\s\S]*?)<\/script>/g)) {
    assert.doesNotThrow(() => JSON.parse(m[1]!), 'figure data block is valid JSON');
  }
});

test('invalid input is refused with the field named', () => {
  const bad = sampleInput();
  bad.scaling!.fits[0]!.points[1]!.loss = -1;
  assert.throws(() => parseReportInput(bad, 'study.json'), (e: Error) => e instanceof ReportInputError && e.message.includes('study.json') && e.message.includes('scaling.fits[0].points[1].loss'), 'negative loss refused, naming the field');
  const nan = sampleInput();
  nan.training!.runs[0]!.points[3]!.loss = Number.NaN;
  assert.throws(() => parseReportInput(nan), (e: Error) => e instanceof ReportInputError && e.message.includes('training.runs[0].points[3].loss'), 'NaN refused');
  const band = sampleInput();
  band.scaling!.fits[0]!.bandSamples!.curves[2] = [1, 2];
  assert.throws(() => parseReportInput(band), /bandSamples\.curves\[2\] has 2 values; expected 24/, 'ragged bootstrap curves refused');
  const sinks = sampleInput();
  sinks.attentionSinks!.maps[0]!.values[1] = [0.1];
  assert.throws(() => parseReportInput(sinks), /values\[1\] has 1 heads; layer 0 has 6/, 'ragged heat map refused');
  assert.throws(() => parseReportInput({ training: { source: 's', runs: [] } }), /title/, 'title required');
});

test('a figure whose render does not match its data fails loudly', async () => {
  const fig = buildFigures(parseReportInput(sampleInput())).find((f) => f.id === 'frontier')!;
  const wrong: Figure = { ...fig, marks: { ...fig.marks, frontier_points: fig.marks.frontier_points! + 1 } };
  await assert.rejects(renderFigure(wrong), (e: Error) => e instanceof FigureRenderError && /frontier_points' drew 3 item\(s\); its data calls for 4/.test(e.message), 'count mismatch detected');
});

test('reportFromStore: runs table and curves come from the store, running runs from metrics.jsonl', async () => {
  const ws = join(tmp, 'ws');
  const st = new Store(ws);
  const model = { n_layer: 1, d_model: 16, n_head: 1, vocab: 64, ctx: 16 };
  const want = new Map<string, { step: number; loss: number; val_loss?: number }[]>();
  for (const [name, steps] of [['a', 30], ['b', 20]] as const) {
    const dir = join(ws, 'runs', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ steps, seq_len: 16, model }));
    const lines = Array.from({ length: steps }, (_, i) => ({ step: i + 1, tokens: (i + 1) * 64, loss: 4 - i / steps + (name === 'b' ? 0.3 : 0), ...(i % 10 === 9 ? { val_loss: 4.1 - i / steps } : {}) }));
    writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    st.syncRun(dir);
    want.set(`runs/${name}`, lines);
  }
  // a running run: the store has its row but no metrics; its metrics.jsonl grows
  const live = join(ws, 'runs', 'live');
  mkdirSync(live, { recursive: true });
  writeFileSync(join(live, 'config.json'), JSON.stringify({ steps: 100, seq_len: 16, model }));
  st.upsertRun({ dir: live, status: 'running', config: JSON.stringify({ steps: 100 }) });
  const liveLines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ step: i + 1, tokens: 64 * (i + 1), loss: 5 - i * 0.1 }));
  appendFileSync(join(live, 'metrics.jsonl'), liveLines.join('\n') + '\n{"step": 8, "lo'); // last line half written
  st.close();

  const input = reportFromStore(ws);
  const d = parseReportInput(input);
  assert.deepEqual(d.runs!.rows.map((r) => r.id).sort(), ['runs/a', 'runs/b', 'runs/live'], 'every run in the table');
  const a = d.runs!.rows.find((r) => r.id === 'runs/a')!;
  assert.equal(a.final_loss, want.get('runs/a')!.at(-1)!.loss, 'final loss from the store');
  assert.ok(a.non_embedding! > 0 && a.params! > a.non_embedding!, 'parameter counts from the store');
  for (const [id, lines] of want) {
    const c = d.training!.runs.find((r) => r.run === id)!;
    assert.deepEqual(c.points.map((p) => p.loss), lines.map((l) => l.loss), `${id}: losses are the store's`);
    assert.deepEqual(c.points.filter((p) => p.val_loss !== null).map((p) => p.step), lines.filter((l) => l.val_loss !== undefined).map((l) => l.step), `${id}: validation steps`);
  }
  const lc = d.training!.runs.find((r) => r.run === 'runs/live')!;
  assert.deepEqual(lc.points.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7], 'the running run comes from its metrics.jsonl (partial last line skipped)');
  assert.ok(d.training!.source.includes('metrics.jsonl of the running run(s) runs/live'), 'the caption source says so');
  assert.deepEqual(parseMetricsJsonl('{"step":1,"loss":2}\n{"step":1,"val_loss":3}\n'), [{ step: 1, tokens: null, loss: 2, val_loss: 3 }], 'lines for one step merge');

  const r = await renderReport(input, join(ws, 'reports', 'store'));
  assert.ok(r.html.includes('runs/live') && r.html.includes(join(ws, 'lmlab.sqlite')), 'the report names its runs and store');
  assert.throws(() => reportFromStore(ws, { runs: ['nope'] }), /no run 'nope'/, 'unknown run id refused');
  assert.throws(() => reportFromStore(join(tmp, 'empty')), /no experiment store/, 'missing store refused');
});
