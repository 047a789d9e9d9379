// Browser test of the report (playwright-core driving the system Chromium): every figure rendered with data
// and a caption; per-figure screenshots and PNG export go to test-artifacts/report/. Skipped, with the
// reason, when no Chromium is installed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { svgsToPng } from '../../src/report/png.ts';
import { renderReport, type RenderResult } from '../../src/report/render.ts';
import { startDashboard, type Dashboard } from '../../src/report/server.ts';
import { artifacts, chromiumPath, launch, skip, tempWorkspace, watch } from './browser-util.ts';
import { sampleInput } from './fixture.ts';

const ws = tempWorkspace('lmlab-browser-report-');
let dash: Dashboard, browser: Browser, report: RenderResult;

before(async () => {
  if (skip) return;
  [report, browser] = await Promise.all([renderReport(sampleInput(), join(ws, 'reports', 'fixture')), launch()]);
  dash = await startDashboard({ workspace: ws, port: 0 });
});

after(async () => {
  await browser?.close();
  await dash?.close();
});

test('the report: every figure rendered with data, captions present, screenshots saved', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errs = watch(page);
  const res = await page.goto(`${dash.url}files/reports/fixture/report.html`);
  assert.equal(res?.status(), 200, 'report served through the dashboard');
  const figs = await page.$$eval('figure.lm-figure', (els) => els.map((el) => {
    const data = JSON.parse(el.querySelector('script.lm-figure-data')!.textContent!) as { id: string; marks: Record<string, number> };
    const box = el.querySelector('svg')?.getBoundingClientRect();
    const drawn: Record<string, number> = {};
    for (const name of Object.keys(data.marks)) {
      drawn[name] = [...el.querySelectorAll(`g.${name}_marks`)].reduce((a, g) => a + g.querySelectorAll(':scope > path, :scope > line, :scope > rect').length, 0);
    }
    return { id: data.id, marks: data.marks, drawn, w: box?.width ?? 0, h: box?.height ?? 0, caption: el.querySelector('figcaption')?.textContent ?? '' };
  }));
  assert.equal(figs.length, report.figures.length, `${figs.length} figures in the page, ${report.figures.length} written`);
  for (const f of figs) {
    assert.ok(f.w > 100 && f.h > 80, `${f.id}: the SVG has a size (${f.w}×${f.h})`);
    assert.ok(f.caption.includes('Source:'), `${f.id}: caption names its source`);
    for (const [name, want] of Object.entries(f.marks)) {
      const got = f.drawn[name]!;
      assert.ok(got > 0, `${f.id}: mark ${name} drew something in the browser`);
      // a line or an area is one SVG path per series whatever its vertex count; points, ticks, rules and cells are one element per row
      if (!/_(lines|curve|band|fits|extrapolated)$/.test(name)) assert.equal(got, want, `${f.id}: mark ${name} drew ${got} elements, data has ${want} rows`);
    }
    await page.locator(`#fig-${f.id}`).screenshot({ path: join(artifacts, `figure-${f.id}.png`) });
  }
  await page.screenshot({ path: join(artifacts, 'report-top.png') });
  const notRun = await page.$$eval('section[data-status="not-run"]', (s) => s.length);
  assert.equal(notRun, 0, 'the fixture fills every section');
  assert.deepEqual(errs, [], `no console errors: ${errs.join('; ')}`);
  await page.close();
});

test('PNG export of a figure (SVG -> PNG through Chromium) at twice its size', { skip }, async () => {
  const svgPath = report.figures.find((f) => f.endsWith('scaling-LN.svg'))!;
  const [png] = await svgsToPng([svgPath], { executablePath: chromiumPath! });
  assert.ok(png && existsSync(png), `${png} written`);
  const b = readFileSync(png);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${png}: a PNG`);
  const w = b.readUInt32BE(16), h = b.readUInt32BE(20);
  const svg = readFileSync(svgPath, 'utf8');
  const svgW = Number(/width="(\d+)"/.exec(svg)![1]), svgH = Number(/height="(\d+)"/.exec(svg)![1]);
  assert.equal(w, 2 * svgW, `width: ${w} vs SVG ${svgW}`);
  assert.equal(h, 2 * svgH, `height: ${h} vs SVG ${svgH}`);
  writeFileSync(join(artifacts, 'png-export-scaling-LN.png'), b);
});
