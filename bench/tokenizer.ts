/**
 * Tokenizer benchmark, peers side by side in one run.
 *
 * Text: the first --mb MB of the built-in corpus (State of the Union addresses, Moby Dick, then SpamAssassin
 * e-mails, in package order; e-mails decoded as UTF-8 with U+FFFD for invalid bytes because the Rust trainer
 * only reads valid UTF-8), written to a temporary file.
 *
 * Training: lmlab's trainBpe vs the `tokenizers` npm package (Hugging Face's Rust BpeTrainer through
 * Node-API), both with the GPT-2 byte-level pre-tokenizer, on the same lines of the same file (the Rust
 * trainer reads files line by line, so lmlab gets the same lines). The npm binding exposes no trainer
 * options: `Tokenizer.train(files)` always uses BpeTrainer::default(), i.e. vocab_size 30000 and
 * min_frequency 0, so --vocab defaults to 30000 and lmlab is run with min_frequency 0 and no special tokens.
 * The Rust trainer runs its counting and pair updates on all cores (rayon); lmlab is single-threaded.
 * Wall time and process CPU time are both reported.
 *
 * Encoding (MB/s of UTF-8 input): lmlab vs @huggingface/tokenizers (pure JS) vs gpt-3-encoder, all on the same
 * lines, with GPT-2's vocabulary and with the trained vocabulary; the Rust `tokenizers` encodeBatch is listed
 * for reference. Slow peers run on a prefix of the lines (sizes printed); ids are checked to be identical.
 *
 * Scaling check (alone): --scale-mb 100 trains a 32,768-token vocabulary on N MB made of the whole built-in
 * corpus plus Caesar-shifted copies of it (each shift gives new distinct words) and prints time and peak RSS.
 *
 * Usage: npx tsx bench/tokenizer.ts [--mb 20] [--vocab 30000] [--reps 3] [--hf-mb 4] [--g3-mb 1] [--no-rust] [--json]
 *        npx tsx bench/tokenizer.ts --scale-mb 100
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { builtinDocuments } from '../src/data/sources.ts';
import { trainBpe } from '../src/data/train.ts';
import { gpt2Tokenizer, tokenizerToJSON } from '../src/data/hf.ts';
import type { Tokenizer } from '../src/data/tokenizer.ts';

const { values: opt } = parseArgs({
  options: {
    mb: { type: 'string', default: '20' },
    vocab: { type: 'string', default: '30000' },
    'hf-mb': { type: 'string', default: '4' },
    'g3-mb': { type: 'string', default: '1' },
    'no-rust': { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    'scale-mb': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const require = createRequire(import.meta.url);
const MB = Number(opt.mb);
const VOCAB = Number(opt.vocab);

if (opt['scale-mb'] !== undefined) {
  const want = Number(opt['scale-mb']) * 1e6;
  const base = [...builtinDocuments('sotu'), ...builtinDocuments('moby-dick'), ...builtinDocuments('spam-assassin')].map((d) => d.bytes);
  const all: Uint8Array[] = [];
  let total = 0;
  const caesar = (b: Uint8Array, k: number) => b.map((x) => (x >= 97 && x <= 122 ? 97 + ((x - 97 + k) % 26) : x >= 65 && x <= 90 ? 65 + ((x - 65 + k) % 26) : x));
  for (let k = 0; total < want; k++) {
    for (const b of base) {
      if (total >= want) break;
      const c = k === 0 ? b : caesar(b, k);
      all.push(c);
      total += c.length;
    }
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = trainBpe(all, { vocabSize: 32768 });
  const c = process.cpuUsage(c0);
  const out = {
    mb: total / 1e6, documents: all.length, wallS: (performance.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6,
    uniqueWords: r.stats.uniqueWords, merges: r.stats.merges, countS: r.stats.countMs / 1000, mergeS: r.stats.mergeMs / 1000,
    peakRssMB: process.resourceUsage().maxRSS / 1024, loadavg: loadavg()[0],
  };
  process.stdout.write((opt.json ? JSON.stringify(out, null, 2) : Object.entries(out).map(([k, v]) => `${k}: ${typeof v === 'number' ? +v.toFixed(2) : v}`).join('\n')) + '\n');
  process.exit(0);
}

// ---- Text ----
const td = new TextDecoder();
const docs: string[] = [];
let bytes = 0;
const target = MB * 1e6;
outer: for (const src of ['sotu', 'moby-dick', 'spam-assassin'] as const) {
  for (const d of builtinDocuments(src)) {
    let s = td.decode(d.bytes);
    const b = Buffer.byteLength(s);
    if (bytes + b > target) {
      // Cut the last document at a line boundary near the target.
      const buf = Buffer.from(s);
      let cut = target - bytes;
      while (cut > 0 && buf[cut - 1] !== 0x0a) cut--;
      s = td.decode(buf.subarray(0, cut));
      docs.push(s);
      bytes += Buffer.byteLength(s);
      break outer;
    }
    docs.push(s);
    bytes += b;
  }
}
const text = docs.join('');
const lines = text.split(/(?<=\n)/);
const dir = mkdtempSync(join(tmpdir(), 'lmlab-bench-tok-'));
const file = join(dir, 'corpus.txt');
writeFileSync(file, text);
const textBytes = Buffer.byteLength(text);

const results: Record<string, unknown> = { mb: textBytes / 1e6, lines: lines.length, documents: docs.length, vocab: VOCAB, cpus: cpus().length, loadavgStart: loadavg()[0] };
const log = (s: string) => { if (!opt.json) process.stdout.write(s + '\n'); };
log(`text: ${(textBytes / 1e6).toFixed(2)} MB, ${docs.length} documents, ${lines.length} lines; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`);

const REPS = Math.max(1, Number(opt.reps));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]!; };
/** Runs fn REPS times; wall and CPU seconds are medians. */
function timed<T>(fn: () => T): { value: T; wall: number; cpu: number; walls: number[] } {
  let value!: T;
  const walls: number[] = [];
  const cpusS: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    value = fn();
    walls.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpusS.push((c.user + c.system) / 1e6);
  }
  return { value, wall: median(walls), cpu: median(cpusS), walls };
}

// ---- Training ----
const ours = timed(() => trainBpe(lines, { vocabSize: VOCAB, minFrequency: 0, specials: [] }));
const oursTok = ours.value.tokenizer;
log(`\n## Training to vocab ${VOCAB} (median of ${REPS})`);
log(`lmlab trainBpe              wall ${ours.wall.toFixed(2)} s [${ours.walls.map((w) => w.toFixed(2)).join(' ')}]  cpu ${ours.cpu.toFixed(2)} s  (count ${(ours.value.stats.countMs / 1000).toFixed(2)} s, merges ${(ours.value.stats.mergeMs / 1000).toFixed(2)} s; ${ours.value.stats.uniqueWords} distinct words)`);
results.train = { lmlab: { wall: ours.wall, cpu: ours.cpu, countS: ours.value.stats.countMs / 1000, mergeS: ours.value.stats.mergeMs / 1000, vocab: oursTok.vocabSize } };
let rustVocab: Record<string, number> | null = null;
if (!opt['no-rust']) {
  const rust = require('tokenizers');
  const rt = new rust.Tokenizer(rust.BPE.empty());
  rt.setPreTokenizer(rust.byteLevelPreTokenizer(false, true));
  const r = timed(() => { rt.setModel(rust.BPE.empty()); rt.train([file]); });
  rustVocab = rt.getVocab(true) as Record<string, number>;
  const ourTokens = new Set<string>();
  for (let id = 0; id < oursTok.ordinarySize; id++) ourTokens.add(oursTok.idToToken(id));
  let shared = 0;
  for (const t of Object.keys(rustVocab)) if (ourTokens.has(t)) shared++;
  log(`HF tokenizers (Rust) train  wall ${r.wall.toFixed(2)} s [${r.walls.map((w) => w.toFixed(2)).join(' ')}]  cpu ${r.cpu.toFixed(2)} s  (vocab ${rt.getVocabSize(true)})`);
  log(`ratio lmlab / Rust: wall ${(ours.wall / r.wall).toFixed(2)}×, cpu ${(ours.cpu / r.cpu).toFixed(2)}×; vocabularies share ${shared} of ${Object.keys(rustVocab).length} tokens`);
  (results.train as Record<string, unknown>).rust = { wall: r.wall, cpu: r.cpu, vocab: rt.getVocabSize(true), sharedTokens: shared };
}
for (const v of [4096, 8192]) {
  if (v >= VOCAB) continue;
  const t = timed(() => trainBpe(lines, { vocabSize: v, minFrequency: 0, specials: [] }));
  log(`lmlab trainBpe vocab ${v}      wall ${t.wall.toFixed(2)} s  cpu ${t.cpu.toFixed(2)} s`);
  (results.train as Record<string, unknown>)[`lmlab_${v}`] = { wall: t.wall, cpu: t.cpu };
}

// ---- Encoding ----
function prefix(mb: number): string[] {
  const out: string[] = [];
  let b = 0;
  for (const l of lines) {
    if (b >= mb * 1e6) break;
    out.push(l);
    b += Buffer.byteLength(l);
  }
  return out;
}
const mbOf = (ls: string[]) => ls.reduce((a, l) => a + Buffer.byteLength(l), 0) / 1e6;
const gpt2 = gpt2Tokenizer();
const enc: Record<string, unknown> = {};
results.encode = enc;
log(`\n## Encoding (MB/s of UTF-8 input; same lines for every encoder)`);

/** Median of REPS runs, each from an empty hot-word cache. */
function encodeOurs(tok: Tokenizer, ls: string[]): { ids: number; secs: number } {
  let n = 0;
  const secs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    tok.clearCache();
    n = 0;
    const t0 = performance.now();
    for (const l of ls) n += tok.encode(l).length;
    secs.push((performance.now() - t0) / 1000);
  }
  return { ids: n, secs: median(secs) };
}
const hfPrefix = prefix(Number(opt['hf-mb']));
const g3Prefix = prefix(Number(opt['g3-mb']));
for (const [name, tok] of [['GPT-2', gpt2], [`trained ${VOCAB}`, oursTok]] as const) {
  const row: Record<string, unknown> = {};
  enc[name] = row;
  const o = encodeOurs(tok, lines);
  const oursMBs = mbOf(lines) / o.secs;
  row.lmlab = { mb: mbOf(lines), secs: o.secs, mbPerS: oursMBs, tokens: o.ids };
  const docsSecs = encodeOurs(tok, docs).secs;
  row.lmlabWholeDocuments = { mbPerS: textBytes / 1e6 / docsSecs };
  log(`${name}: lmlab ${oursMBs.toFixed(1)} MB/s on ${mbOf(lines).toFixed(1)} MB (${(textBytes / 1e6 / docsSecs).toFixed(1)} MB/s encoding whole documents); ${(textBytes / o.ids).toFixed(2)} bytes/token`);
  const hf = new HFTokenizer(tokenizerToJSON(tok), {});
  const t0 = performance.now();
  const hfIds: number[][] = [];
  for (const l of hfPrefix) hfIds.push(hf.encode(l, { add_special_tokens: false }).ids);
  const hfSecs = (performance.now() - t0) / 1000;
  const hfMBs = mbOf(hfPrefix) / hfSecs;
  let same = hfPrefix.every((l, i) => { const a = tok.encode(l); const b = hfIds[i]!; return a.length === b.length && a.every((x, k) => x === b[k]); });
  row.huggingfaceJs = { mb: mbOf(hfPrefix), secs: hfSecs, mbPerS: hfMBs, idsIdentical: same };
  log(`${name}: @huggingface/tokenizers ${hfMBs.toFixed(2)} MB/s on ${mbOf(hfPrefix).toFixed(1)} MB → lmlab is ${(oursMBs / hfMBs).toFixed(1)}× faster; ids identical: ${same}`);
  if (name === 'GPT-2') {
    const g3 = require('gpt-3-encoder') as { encode(s: string): number[] };
    const t1 = performance.now();
    const g3Ids = g3Prefix.map((l) => g3.encode(l));
    const g3Secs = (performance.now() - t1) / 1000;
    const g3MBs = mbOf(g3Prefix) / g3Secs;
    same = g3Prefix.every((l, i) => { const a = tok.encode(l); const b = g3Ids[i]!; return a.length === b.length && a.every((x, k) => x === b[k]); });
    row.gpt3Encoder = { mb: mbOf(g3Prefix), secs: g3Secs, mbPerS: g3MBs, idsIdentical: same };
    log(`${name}: gpt-3-encoder ${g3MBs.toFixed(3)} MB/s on ${mbOf(g3Prefix).toFixed(1)} MB → lmlab is ${(oursMBs / g3MBs).toFixed(0)}× faster; ids identical: ${same}`);
  }
  if (!opt['no-rust']) {
    const rust = require('tokenizers');
    const rt = rust.Tokenizer.fromString(JSON.stringify(tokenizerToJSON(tok)));
    const t2 = performance.now();
    const batch = 10000;
    const tasks: Promise<unknown>[] = [];
    for (let i = 0; i < hfPrefix.length; i += batch) tasks.push(rt.encodeBatch(hfPrefix.slice(i, i + batch)));
    await Promise.all(tasks);
    const rs = (performance.now() - t2) / 1000;
    row.rustEncodeBatch = { mb: mbOf(hfPrefix), mbPerS: mbOf(hfPrefix) / rs };
    log(`${name}: (reference) HF tokenizers Rust encodeBatch ${(mbOf(hfPrefix) / rs).toFixed(1)} MB/s on ${mbOf(hfPrefix).toFixed(1)} MB, all cores`);
  }
}
results.loadavgEnd = loadavg()[0];
log(`\nload average at the end: ${loadavg()[0]!.toFixed(2)}`);
if (opt.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
rmSync(dir, { recursive: true, force: true });
