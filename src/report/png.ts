/**
 * PNG figures for papers: SVG -> PNG through a headless Chromium driven by playwright-core (no browser
 * download: it uses the system's Chromium, e.g. Debian's `chromium` package). Node has no canvas here, so
 * PNGs need the browser; SVG output never does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.ts';
import { ReportError } from './types.ts';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** The Chromium to use: LMLAB_CHROMIUM, else the usual system paths; null when there is none. */
export function findChromium(): string | null {
  const env = process.env.LMLAB_CHROMIUM;
  if (env) return existsSync(env) ? env : null;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']) if (existsSync(p)) return p;
  return null;
}

export class NoBrowserError extends ReportError {
  override name = 'NoBrowserError';
}

/** Write <name>.png beside each <name>.svg, at `scale` × the SVG's size (default 2). Returns the PNG paths. */
export async function svgsToPng(svgPaths: readonly string[], opts: { executablePath?: string; scale?: number } = {}): Promise<string[]> {
  const exe = opts.executablePath ?? findChromium();
  if (!exe) throw new NoBrowserError('PNG figures need a Chromium: install it (Debian: apt-get install chromium) or set LMLAB_CHROMIUM to its path; the SVG figures are written without one');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS });
  const out: string[] = [];
  try {
    const page = await browser.newPage({ deviceScaleFactor: opts.scale ?? 2 });
    for (const p of svgPaths) {
      const svg = readFileSync(p, 'utf8').replace(/^<\?xml[^>]*>\s*/, '');
      await page.setContent(`<!doctype html><html><body style="margin:0;background:white">${svg}</body></html>`);
      const png = await page.locator('svg').first().screenshot({ type: 'png' });
      const dest = p.replace(/\.svg$/, '') + '.png';
      writeFileAtomic(dest, png);
      out.push(dest);
    }
  } finally {
    await browser.close();
  }
  return out;
}
