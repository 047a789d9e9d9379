// Browser test of the dashboard (playwright-core driving the system Chromium): the runs table, live training
// curves that follow a running run, report links, the live report page. Screenshots go to
// test-artifacts/report/. Skipped, with the reason, when no Chromium is installed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../src/report/server.ts';
import { artifacts, launch, LOSS_SCALE, seedRuns, skip, tempWorkspace, watch } from './browser-util.ts';

const ws = tempWorkspace('lmlab-browser-dash-');
let dash: Dashboard, browser: Browser, liveDir: string;

before(async () => {
  if (skip) return;
  liveDir = seedRuns(ws);
  mkdirSync(join(ws, 'reports', 'older'), { recursive: true });
  writeFileSync(join(ws, 'reports', 'older', 'report.html'), '<!doctype html><title>older</title><p>an older report</p>');
  [dash, browser] = await Promise.all([startDashboard({ workspace: ws, port: 0, pollMs: 300 }), launch()]);
});

after(async () => {
  await browser?.close();
  await dash?.close();
});

test('the dashboard: runs table, live training curves that follow a running run', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errs = watch(page);
  await page.goto(dash.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  const rows = await page.$$eval('#runs-body tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.run));
  assert.deepEqual([...rows].sort(), ['sweeps/demo/a', 'sweeps/demo/b', 'sweeps/demo/live'], 'every run in the table');
  const status = await page.$eval('#runs-body tr[data-run="sweeps/demo/live"] td.st-running', (td) => td.textContent);
  assert.equal(status, 'running', 'the live run is shown running');
  // 40 + 40 + 12 training points and 4 + 4 + 1 validation points
  await page.waitForFunction(() => document.getElementById('chart')?.dataset.points === '101', undefined, { timeout: 10_000 });
  const lines = await page.$$eval('#chart svg path[aria-roledescription="line mark"]', (p) => p.length);
  assert.ok(lines >= 3, `line paths drawn for the runs (${lines})`);
  await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
  // the running run logs five more steps; the chart must pick them up by polling
  appendFileSync(join(liveDir, 'metrics.jsonl'), Array.from({ length: 5 }, (_, i) => JSON.stringify({ step: 13 + i, tokens: 16 * (13 + i), loss: LOSS_SCALE.live * Math.exp(-(12 + i) / 30) })).join('\n') + '\n');
  await page.waitForFunction(() => document.getElementById('chart')?.dataset.points === '106', undefined, { timeout: 10_000 });
  await page.screenshot({ path: join(artifacts, 'dashboard-updated.png'), fullPage: true });
  // unticking a run removes its curve
  await page.uncheck('#runs-body tr[data-run="sweeps/demo/b"] input[type=checkbox]');
  await page.waitForFunction(() => document.getElementById('chart')?.dataset.points === '62', undefined, { timeout: 10_000 });
  // the sweep filter lists the sweep and links its report
  await page.selectOption('#sweep', 'demo');
  assert.equal(await page.getAttribute('#sweep-report', 'href'), '/report?sweep=demo', 'report link of the sweep');
  assert.equal(await page.$$eval('#runs-body tr', (t) => t.length), 3, 'the sweep\'s runs');
  const links = await page.$$eval('#reports a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.includes('/files/reports/older/report.html') && links.includes('/report'), `the reports are linked: ${links.join(', ')}`);
  assert.deepEqual(errs, [], `no console errors: ${errs.join('; ')}`);
  await page.close();
});

test('the live report page of the store renders its training curves', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errs = watch(page);
  const res = await page.goto(`${dash.url}report`);
  assert.equal(res?.status(), 200, 'live report');
  const n = await page.$$eval('figure[data-figure="training-curves"] g.training_lines_marks > path', (p) => p.length);
  assert.ok(n >= 3, `training curve paths (${n})`);
  const runs = await page.$$eval('table.runs tbody tr', (trs) => trs.length);
  assert.equal(runs, 3, 'runs table of the store');
  await page.screenshot({ path: join(artifacts, 'live-report.png'), fullPage: true });
  assert.deepEqual(errs, [], `no console errors: ${errs.join('; ')}`);
  await page.close();
});
