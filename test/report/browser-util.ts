/** Shared set-up of the browser tests: the Chromium to use (or why they skip), a workspace with runs, console watching. */
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../src/report/png.ts';
import { Store } from '../../src/store/store.ts';

export const chromiumPath = findChromium();
export const skip: string | false = chromiumPath ? false : 'no Chromium found (install Debian\'s chromium: apt-get install chromium, or set LMLAB_CHROMIUM)';
export const artifacts = join(import.meta.dirname, '../../test-artifacts/report');

export async function launch(): Promise<Browser> {
  mkdirSync(artifacts, { recursive: true });
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS });
}

/** A fresh workspace (realpath) under the system temp dir. */
export function tempWorkspace(prefix: string): string {
  return join(realpathSync(mkdtempSync(join(tmpdir(), prefix))), 'ws');
}

/** loss(step) = LOSS_SCALE[run] · exp(-(step-1)/30) */
export const LOSS_SCALE = { a: 4, b: 4.4, live: 3.6 } as const;

/**
 * Runs a and b (finished, 40 steps, validation every 10) and `live` (running, 12 steps so far) in sweep
 * `demo`; returns the live run's directory.
 */
export function seedRuns(ws: string): string {
  const st = new Store(ws);
  st.upsertSweep('demo', 'grid', {});
  const model = { n_layer: 1, d_model: 16, n_head: 1, vocab: 64, ctx: 16 };
  for (const [name, n] of [['a', 40], ['b', 40], ['live', 12]] as const) {
    const dir = join(ws, 'sweeps', 'demo', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ steps: 40, seq_len: 16, model }));
    const k = LOSS_SCALE[name];
    writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ step: i + 1, tokens: 16 * (i + 1), loss: k * Math.exp(-i / 30), ...(i % 10 === 9 ? { val_loss: 1.05 * k * Math.exp(-i / 30) } : {}) })).join('\n') + '\n');
    if (name === 'live') st.upsertRun({ dir, status: 'running', config: JSON.stringify({ steps: 40, model }), sweep: 'demo' });
    else st.syncRun(dir, { sweep: 'demo' });
  }
  st.close();
  return join(ws, 'sweeps', 'demo', 'live');
}

/** Console errors and uncaught exceptions of a page (CSP violations show up here too). */
export function watch(page: Page): string[] {
  const errs: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
  page.on('pageerror', (e) => errs.push(String(e)));
  return errs;
}
