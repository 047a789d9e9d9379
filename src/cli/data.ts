/**
 * Data commands: `lmlab tokenizer train|encode|decode|inspect`, `lmlab data build|stats`.
 * Thin shells over src/data (logic lives there).
 */
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  buildCorpus, builtinDocuments, dataStats, loadSpec, loadTokenizer, progressBar, saveTokenizer, trainBpe,
  DataError, type Document, type Tokenizer,
} from '../data/index.ts';
import { action } from './util.ts';

const BUILTIN = ['sotu', 'moby-dick', 'spam-assassin'] as const;

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new DataError(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch {
    return Buffer.alloc(0);
  }
}

function collectFiles(p: string, out: string[]): void {
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new DataError(`--input: ${p} does not exist`);
  }
  if (st.isFile()) { out.push(p); return; }
  for (const e of readdirSync(p).sort()) if (!e.startsWith('.')) collectFiles(join(p, e), out);
}

function inputText(opts: { text?: string; file?: string }): Buffer {
  if (opts.text !== undefined && opts.file !== undefined) throw new DataError('give --text or --file, not both');
  if (opts.text !== undefined) return Buffer.from(opts.text, 'utf8');
  if (opts.file !== undefined) {
    try { return readFileSync(opts.file); } catch (e) { throw new DataError(`--file: cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  }
  return readStdin();
}

function describeTokenizer(tok: Tokenizer, top: number): Record<string, unknown> {
  const lens: { id: number; len: number }[] = [];
  for (let id = 0; id < tok.ordinarySize; id++) {
    if (tok.isSpecial(id)) continue;
    try { lens.push({ id, len: tok.tokenBytes(id).length }); } catch { /* hole */ }
  }
  lens.sort((a, b) => b.len - a.len || a.id - b.id);
  const show = (id: number) => ({ id, token: tok.idToToken(id), text: Buffer.from(tok.tokenBytes(id)).toString('utf8') });
  return {
    name: tok.name,
    hash: tok.hash(),
    vocabSize: tok.vocabSize,
    merges: tok.merges.length,
    specials: tok.specials,
    eotId: tok.eotId ?? null,
    addPrefixSpace: tok.addPrefixSpace,
    normalizer: tok.normalizer,
    meanTokenBytes: lens.reduce((a, x) => a + x.len, 0) / Math.max(1, lens.length),
    longest: lens.slice(0, top).map((x) => show(x.id)),
    firstMerges: tok.merges.slice(0, top).map(([a, b]) => `${tok.idToToken(a)} ${tok.idToToken(b)}`),
    lastMerges: tok.merges.slice(-top).map(([a, b]) => `${tok.idToToken(a)} ${tok.idToToken(b)}`),
  };
}

export function register(program: Command): void {
  const tk = program.command('tokenizer').description('byte-level BPE tokenizers (train, encode, decode, inspect)');

  tk.command('train')
    .description('train a byte-level BPE tokenizer and write tokenizer.json (Hugging Face format)')
    .option('--input <paths...>', 'text files or folders (each file one document)')
    .option('--source <names...>', `built-in sources: ${BUILTIN.join(', ')}`)
    .requiredOption('--vocab-size <n>', 'total vocabulary size, special tokens included')
    .option('--min-frequency <n>', 'stop when the best pair occurs fewer times', '2')
    .option('--special <tokens...>', 'special tokens appended after the merges', ['<|endoftext|>'])
    .option('--max-bytes <n>', 'train on at most this many bytes (documents in order)')
    .requiredOption('-o, --out <file>', 'tokenizer.json to write')
    .option('--json', 'print the summary as JSON')
    .action(action((opts: { input?: string[]; source?: string[]; vocabSize: string; minFrequency: string; special: string[]; maxBytes?: string; out: string; json?: boolean }) => {
      const vocabSize = positiveInt('--vocab-size', opts.vocabSize)!;
      const minFrequency = Number(opts.minFrequency);
      if (!Number.isInteger(minFrequency) || minFrequency < 0) throw new DataError(`--min-frequency: expected an integer ≥ 0, got ${opts.minFrequency}`);
      const maxBytes = positiveInt('--max-bytes', opts.maxBytes);
      if (!opts.input?.length && !opts.source?.length) throw new DataError('give --input <paths...> and/or --source <names...>');
      const docs: Uint8Array[] = [];
      let bytes = 0;
      const push = (b: Uint8Array) => {
        if (maxBytes !== undefined && bytes >= maxBytes) return;
        docs.push(b);
        bytes += b.length;
      };
      for (const s of opts.source ?? []) {
        if (!(BUILTIN as readonly string[]).includes(s)) throw new DataError(`--source: unknown source ${JSON.stringify(s)} (known: ${BUILTIN.join(', ')})`);
        builtinDocuments(s as (typeof BUILTIN)[number]).forEach((d: Document) => push(d.bytes));
      }
      const files: string[] = [];
      for (const p of opts.input ?? []) collectFiles(p, files);
      for (const f of files) push(readFileSync(f));
      const bar = progressBar('tokenizer');
      const t0 = performance.now();
      const { tokenizer, stats } = trainBpe(docs, { vocabSize, minFrequency, specials: opts.special, onProgress: bar });
      bar.stop();
      saveTokenizer(tokenizer, opts.out);
      const summary = { out: opts.out, hash: tokenizer.hash(), vocabSize: tokenizer.vocabSize, documents: docs.length, seconds: (performance.now() - t0) / 1000, ...stats };
      if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else {
        process.stdout.write(`wrote ${opts.out}: vocab ${tokenizer.vocabSize} (${stats.merges} merges${stats.stoppedEarly ? ', stopped early: no pair left above --min-frequency' : ''}), ` +
          `trained on ${docs.length} documents / ${stats.bytes} bytes / ${stats.uniqueWords} distinct words in ${summary.seconds.toFixed(1)} s\nhash ${summary.hash}\n`);
      }
    }));

  tk.command('encode')
    .description('encode text to token ids (from --text, --file or stdin)')
    .requiredOption('-t, --tokenizer <path>', 'tokenizer.json, a directory containing one, or "gpt2"')
    .option('--text <text>', 'text to encode')
    .option('--file <path>', 'file to encode (raw bytes)')
    .option('--allow-special', 'map special-token strings in the input to their ids')
    .option('--json', 'print {ids, tokens} as JSON')
    .action(action((opts: { tokenizer: string; text?: string; file?: string; allowSpecial?: boolean; json?: boolean }) => {
      const tok = loadTokenizer(opts.tokenizer);
      const bytes = inputText(opts);
      const ids = tok.encode(bytes, { allowSpecial: opts.allowSpecial });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ids: Array.from(ids), tokens: Array.from(ids, (id) => tok.idToToken(id)) }) + '\n');
      } else {
        process.stdout.write(Array.from(ids).join(' ') + '\n');
      }
    }));

  tk.command('decode')
    .description('decode token ids (arguments or stdin, separated by spaces/commas) to text on stdout')
    .requiredOption('-t, --tokenizer <path>', 'tokenizer.json, a directory containing one, or "gpt2"')
    .argument('[ids...]', 'token ids')
    .option('--skip-special', 'drop special tokens')
    .action(action((ids: string[], opts: { tokenizer: string; skipSpecial?: boolean }) => {
      const tok = loadTokenizer(opts.tokenizer);
      const raw = ids.length ? ids.join(' ') : readStdin().toString('utf8');
      const list = raw.split(/[\s,\[\]]+/).filter((s) => s.length > 0).map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 0) throw new DataError(`ids: ${JSON.stringify(s)} is not a token id`);
        return n;
      });
      process.stdout.write(Buffer.from(tok.decodeBytes(list, { skipSpecial: opts.skipSpecial })));
    }));

  tk.command('inspect')
    .description('summary of a tokenizer: size, specials, hash, longest tokens, merges; optionally the pieces of a text')
    .requiredOption('-t, --tokenizer <path>', 'tokenizer.json, a directory containing one, or "gpt2"')
    .option('--top <n>', 'how many tokens / merges to list', '10')
    .option('--text <text>', 'also show how this text is split')
    .option('--json', 'print as JSON')
    .action(action((opts: { tokenizer: string; top: string; text?: string; json?: boolean }) => {
      const tok = loadTokenizer(opts.tokenizer);
      const info = describeTokenizer(tok, positiveInt('--top', opts.top)!);
      if (opts.text !== undefined) {
        const ids = tok.encode(opts.text);
        info.pieces = Array.from(ids, (id) => ({ id, token: tok.idToToken(id) }));
      }
      if (opts.json) { process.stdout.write(JSON.stringify(info, null, 2) + '\n'); return; }
      const lines = [
        `tokenizer ${info.name}`,
        `  hash         ${info.hash}`,
        `  vocab size   ${info.vocabSize} (${info.merges} merges)`,
        `  specials     ${tok.specials.map((s) => `${s.content}=${s.id}`).join(', ') || '(none)'}`,
        `  prefix space ${info.addPrefixSpace}, normalizer ${info.normalizer ?? 'none'}`,
        `  mean token   ${(info.meanTokenBytes as number).toFixed(2)} bytes`,
        `  longest      ${(info.longest as { id: number; token: string }[]).map((x) => `${x.id}:${JSON.stringify(x.token)}`).join(' ')}`,
        `  first merges ${(info.firstMerges as string[]).map((m) => JSON.stringify(m)).join(' ')}`,
        `  last merges  ${(info.lastMerges as string[]).map((m) => JSON.stringify(m)).join(' ')}`,
      ];
      if (info.pieces) lines.push(`  pieces       ${(info.pieces as { id: number; token: string }[]).map((p) => `${JSON.stringify(p.token)}(${p.id})`).join(' ')}`);
      process.stdout.write(lines.join('\n') + '\n');
    }));

  const data = program.command('data').description('corpora and token shards (build, stats)');

  data.command('build')
    .description('build token shards from a corpus spec (default: the built-in sotu + moby-dick + spam-assassin corpus)')
    .option('--spec <file>', 'corpus spec JSON, or "default"', 'default')
    .option('-o, --out <dir>', 'output directory (default: .lmlab/data/<spec name>)')
    .option('--force', 'replace an existing output directory')
    .option('--json', 'print the manifest summary as JSON')
    .action(action((opts: { spec: string; out?: string; force?: boolean; json?: boolean }) => {
      const resolved = loadSpec(opts.spec);
      const out = opts.out ?? join('.lmlab', 'data', resolved.spec.name);
      const bar = progressBar('data build');
      const t0 = performance.now();
      let m;
      try {
        m = buildCorpus(resolved, out, { force: opts.force, onProgress: bar });
      } finally {
        bar.stop();
      }
      const secs = (performance.now() - t0) / 1000;
      const summary = {
        out, seconds: secs, name: m.name, dtype: m.dtype, tokenizer: m.tokenizer,
        train: m.splits.train, val: m.splits.val,
        sources: m.sources.map((s) => ({ name: s.name, selected: (s as Record<string, unknown>).selected })),
        canaries: m.planted.canaries.map((c) => ({ id: c.id, secret: c.secret, count: c.count })),
        duplicates: m.planted.duplicates.map((d) => ({ source: d.source, docId: d.docId, count: d.count })),
        dedup: m.dedup,
      };
      if (opts.json) { process.stdout.write(JSON.stringify(summary, null, 2) + '\n'); return; }
      const t = m.splits.train, v = m.splits.val;
      process.stdout.write([
        `built ${out} in ${secs.toFixed(1)} s`,
        `  tokenizer  ${m.tokenizer.kind}, vocab ${m.tokenizer.vocabSize}, ${m.dtype}, hash ${m.tokenizer.hash.slice(0, 16)}…`,
        `  train      ${t.documents} documents, ${t.tokens} tokens, ${t.bytes} bytes (sha256 ${t.sha256.slice(0, 16)}…)`,
        `  val        ${v.documents} documents, ${v.tokens} tokens, ${v.bytes} bytes`,
        ...m.sources.map((s) => { const x = s as unknown as { selected: { documents: number; bytes: number; repeats: number } }; return `  source     ${s.name}: ${x.selected.documents} documents, ${x.selected.bytes} bytes${x.selected.repeats ? `, repeated ${x.selected.repeats}×` : ''}`; }),
        `  dedup      ${m.dedup.enabled ? `${m.dedup.removedDocuments} documents removed` : 'off'}`,
        `  canaries   ${m.planted.canaries.length} (${m.planted.canaries.map((c) => `×${c.count}`).join(' ')})`,
        `  duplicates ${m.planted.duplicates.length} (${m.planted.duplicates.map((d) => `×${d.count}`).join(' ')})`,
      ].join('\n') + '\n');
    }));

  data.command('stats')
    .description('documents, tokens, bytes/token, unigram entropy, duplicates and planted items of a shard directory')
    .argument('[dir]', 'shard directory (default: .lmlab/data/default)')
    .option('--json', 'print as JSON')
    .action(action((dir: string | undefined, opts: { json?: boolean }) => {
      const d = dir ?? join('.lmlab', 'data', 'default');
      const bar = progressBar('data stats');
      let s;
      try { s = dataStats(d, { onProgress: bar }); } finally { bar.stop(); }
      if (opts.json) { process.stdout.write(JSON.stringify(s, null, 2) + '\n'); return; }
      const row = (name: string, x: typeof s.train) =>
        `  ${name.padEnd(5)} ${String(x.documents).padStart(8)} ${String(x.tokens).padStart(11)} ${String(x.bytes).padStart(12)} ${x.bytesPerToken.toFixed(3).padStart(9)} ${x.unigramEntropyBits.toFixed(3).padStart(9)} ${String(x.distinctTokens).padStart(8)} ${`${x.duplicateGroups}/${x.duplicateCopies}`.padStart(10)}`;
      process.stdout.write([
        `${s.dir}: corpus "${s.name}", vocab ${s.vocabSize} (${s.dtype}), tokenizer ${s.tokenizerHash.slice(0, 16)}…`,
        `  split  documents      tokens        bytes  bytes/tok  H1 bits  distinct  dup grp/copies`,
        row('train', s.train),
        row('val', s.val),
        `  val documents also in train: ${s.valDocsInTrain}`,
        ...s.sources.map((x) => `  source ${x.name} (${x.type}): ${x.trainDocuments} train documents, ${x.trainBytes} bytes, ${x.trainTokens} tokens; ${x.valDocuments} val documents`),
        `  dedup: ${s.dedup.enabled ? `${s.dedup.removedDocuments} documents / ${s.dedup.removedBytes} bytes removed` : 'off'}`,
        `  planted canaries: ${s.planted.canaries} (${s.planted.heldOutCanaries} held out), ${s.planted.canaryInsertions} insertions; by count ${JSON.stringify(s.planted.canaryCounts)}`,
        `  planted duplicates: ${s.planted.duplicates} documents, ${s.planted.duplicateCopies} extra copies; by count ${JSON.stringify(s.planted.duplicateCounts)}`,
      ].join('\n') + '\n');
    }));
}

