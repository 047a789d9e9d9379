/**
 * Corpus build: spec → documents → exact dedup → mixture → split → planting → tokenizer → shards.
 *
 * Everything is a deterministic function of the spec (and its seed): the same spec gives the same bytes.
 * Output is written into a temporary sibling directory and renamed into place at the end; on any error
 * the temporary directory is removed, so nothing half-written is left behind.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { Rng, hashString32 } from './rng.ts';
import { loadSource, type Document, type LoadedSource } from './sources.ts';
import type { CorpusSpec, ResolvedSpec } from './spec.ts';
import { loadTokenizer, gpt2Tokenizer, saveTokenizer } from './hf.ts';
import { trainBpe, type TrainStats } from './train.ts';
import type { Tokenizer } from './tokenizer.ts';
import type { PlantedCanary, PlantedDuplicate, ShardDtype, ShardManifest } from './shards.ts';
import { DataError, EmptyCorpusError, SpecError, TokenizerError, VocabTooLargeError } from './errors.ts';

export interface BuildProgress {
  phase: 'load' | 'tokenizer-count' | 'tokenizer-merge' | 'encode';
  done: number;
  total: number;
}

export interface BuildOptions {
  /** Replace an existing output directory. */
  force?: boolean;
  onProgress?: (p: BuildProgress) => void;
}

type Kind = 'doc' | 'duplicate' | 'canary';
interface Item {
  doc: Document;
  kind: Kind;
  /** Index into planted canaries / duplicates for planted items. */
  plant?: number;
}

/** Canonical JSON (sorted keys) for hashing. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Buffered little-endian token writer with a running SHA-256. */
class TokenWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private used = 0;
  private readonly hash = createHash('sha256');
  tokens = 0;

  constructor(readonly path: string, readonly dtype: ShardDtype) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.alloc(1 << 20);
  }

  write(ids: ArrayLike<number>): void {
    const bpt = this.dtype === 'uint16' ? 2 : 4;
    for (let i = 0; i < ids.length; i++) {
      if (this.used + bpt > this.buf.length) this.flush();
      if (bpt === 2) this.buf.writeUInt16LE(ids[i]!, this.used);
      else this.buf.writeUInt32LE(ids[i]!, this.used);
      this.used += bpt;
    }
    this.tokens += ids.length;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.hash.update(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): string {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    return this.hash.digest('hex');
  }

  abort(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
  }
}

/** Exact deduplication by content hash, in spec order (the first occurrence is kept). */
class Dedup {
  private readonly seen = new Set<string>();
  removedDocuments = 0;
  removedBytes = 0;
  readonly removedBySource = new Map<string, number>();
  constructor(readonly enabled: boolean) {}
  keep(d: Document): boolean {
    const h = createHash('sha1').update(d.bytes).digest('base64');
    if (!this.seen.has(h)) {
      this.seen.add(h);
      return true;
    }
    this.removedDocuments++;
    this.removedBytes += d.bytes.length;
    this.removedBySource.set(d.source, (this.removedBySource.get(d.source) ?? 0) + 1);
    return false;
  }
}

interface Selected {
  source: LoadedSource;
  docs: Document[];
  bytes: number;
  repeats: number;
}

/** Picks each source's documents according to the mixture weights (see docs/data.md). */
function selectDocuments(spec: CorpusSpec, sources: LoadedSource[], dd: Dedup): Selected[] {
  const weighted = spec.sources.every((s) => s.weight !== undefined);
  const pools = sources.map((src) => {
    if (!src.documents) return null;
    let docs = dd.enabled ? src.documents.filter((d) => dd.keep(d)) : src.documents;
    if (src.spec.maxDocuments !== undefined) {
      docs = Rng.derive(spec.seed, 'cap', src.name).shuffle([...docs]).slice(0, src.spec.maxDocuments);
    }
    return docs;
  });
  let quotas: number[] | null = null;
  if (weighted) {
    const wsum = spec.sources.reduce((a, s) => a + s.weight!, 0);
    const shares = spec.sources.map((s) => s.weight! / wsum);
    let total = spec.targetBytes;
    if (total === undefined) {
      total = Infinity;
      pools.forEach((p, i) => {
        if (!p) return;
        const size = p.reduce((a, d) => a + d.bytes.length, 0);
        total = Math.min(total!, size / shares[i]!);
      });
    }
    quotas = shares.map((s) => s * total!);
  }
  return sources.map((src, i) => {
    const pool = pools[i];
    const out: Document[] = [];
    let bytes = 0;
    let repeats = 0;
    if (pool) {
      if (!quotas) {
        for (const d of pool) { out.push(d); bytes += d.bytes.length; }
      } else {
        const q = quotas[i]!;
        const total = pool.reduce((a, d) => a + d.bytes.length, 0);
        if (pool.length === 0 || total === 0) {
          throw new EmptyCorpusError(`source "${src.name}" has no documents with content, but its weight asks for ${Math.round(q)} bytes`);
        }
        const rng = Rng.derive(spec.seed, 'select', src.name);
        for (let pass = 0; bytes < q; pass++) {
          if (pass > 0) repeats++;
          const order = rng.shuffle(pool.map((_, k) => k));
          for (const k of order) {
            if (bytes >= q) break;
            out.push(pool[k]!);
            bytes += pool[k]!.bytes.length;
          }
        }
      }
    } else {
      const gen = src.generate!;
      const maxDocs = src.spec.type === 'markov' || src.spec.type === 'task' ? src.spec.documents : undefined;
      const q = quotas ? quotas[i]! : Infinity;
      const cap = maxDocs ?? Infinity;
      let rejected = 0;
      while (out.length < cap && bytes < q) {
        const d = gen();
        if (dd.enabled && !dd.keep(d)) {
          if (++rejected > 10000) break; // 10,000 duplicates in a row: the source's space is exhausted
          continue;
        }
        rejected = 0;
        out.push(d);
        bytes += d.bytes.length;
        if (d.bytes.length === 0 && out.length > 1e6) throw new EmptyCorpusError(`source "${src.name}" generates empty documents`);
      }
    }
    return { source: src, docs: out, bytes, repeats };
  });
}

/** Builds the shard directory `outDir` from a spec. Returns the manifest. */
export function buildCorpus(resolved: ResolvedSpec, outDir: string, opts: BuildOptions = {}): ShardManifest {
  const { spec, file } = resolved;
  const out = resolve(outDir);
  if (existsSync(out) && !opts.force) {
    throw new DataError(`output directory ${out} already exists (use --force to replace it)`);
  }
  const progress = opts.onProgress ?? (() => {});

  // 1. Sources.
  const sources = spec.sources.map((s, index) => {
    progress({ phase: 'load', done: index, total: spec.sources.length });
    return loadSource(s, { seed: spec.seed, baseDir: resolved.baseDir, file, index });
  });
  progress({ phase: 'load', done: spec.sources.length, total: spec.sources.length });

  // 2. Exact dedup of the source documents (before mixing, so deliberate repeats from upsampling stay),
  // then the mixture.
  const dd = new Dedup(spec.dedup);
  const selected = selectDocuments(spec, sources, dd);
  const all: Document[] = selected.flatMap((s) => s.docs);
  const totalBytes = all.reduce((a, d) => a + d.bytes.length, 0);
  if (all.length === 0 || totalBytes === 0) {
    throw new EmptyCorpusError(`${file}: the corpus is empty (${all.length} documents, ${totalBytes} bytes after selection); check the sources and their filters`);
  }
  const { removedDocuments, removedBytes, removedBySource } = dd;
  const kept = all.filter((d) => d.bytes.length > 0);

  // 3. Document-level split: a document goes to val when hash(seed, source, id) < valFraction.
  const vf = spec.split.valFraction;
  const u = (d: Document): number => hashString32(`${d.source}\u0000${d.id}`, spec.seed) / 4294967296;
  let train: Document[] = [];
  let val: Document[] = [];
  for (const d of kept) (u(d) < vf ? val : train).push(d);
  if (vf > 0 && val.length === 0 && train.length >= 2) {
    // Too few documents for the fraction to pick one: move the one with the smallest hash.
    let best = 0;
    for (let k = 1; k < train.length; k++) if (u(train[k]!) < u(train[best]!)) best = k;
    const id = `${train[best]!.source}\u0000${train[best]!.id}`;
    val = train.filter((d) => `${d.source}\u0000${d.id}` === id);
    train = train.filter((d) => `${d.source}\u0000${d.id}` !== id);
  }
  if (train.length === 0) throw new EmptyCorpusError(`${file}: the train split is empty (${kept.length} documents, valFraction ${vf})`);
  Rng.derive(spec.seed, 'order', 'train').shuffle(train);
  Rng.derive(spec.seed, 'order', 'val').shuffle(val);
  const items: Item[] = train.map((doc) => ({ doc, kind: 'doc' as const }));

  // 4. Planting (train split only).
  const plantRng = Rng.derive(spec.seed, 'plant');
  const canaries: PlantedCanary[] = [];
  const duplicates: PlantedDuplicate[] = [];
  const planted: Item[] = [];
  const dspec = spec.plant.duplicates;
  if (dspec) {
    const allowed = new Set(dspec.sources ?? spec.sources.filter((s) => s.type !== 'markov' && s.type !== 'task').map((s) => s.name ?? s.type));
    const idCount = new Map<string, number>();
    for (const d of train) idCount.set(`${d.source}\u0000${d.id}`, (idCount.get(`${d.source}\u0000${d.id}`) ?? 0) + 1);
    const candidates = train.filter((d) => allowed.has(d.source) && d.bytes.length >= dspec.minBytes && d.bytes.length <= dspec.maxBytes &&
      idCount.get(`${d.source}\u0000${d.id}`) === 1);
    const need = dspec.counts.length * dspec.perCount;
    if (candidates.length < need) {
      throw new SpecError(file, 'plant.duplicates', `needs ${need} distinct train documents of ${dspec.minBytes}..${dspec.maxBytes} bytes from ${[...allowed].join(', ')}, found ${candidates.length}`);
    }
    for (const count of dspec.counts) {
      for (let k = 0; k < dspec.perCount; k++) {
        const pick = candidates.splice(plantRng.int(candidates.length), 1)[0]!;
        const idx = duplicates.length;
        duplicates.push({ source: pick.source, docId: pick.id, count, bytes: pick.bytes.length, tokens: 0, docIndices: [], tokenOffsets: [] });
        // Mark the original too, so its position is recorded.
        const orig = items.find((it) => it.doc === pick)!;
        orig.kind = 'duplicate';
        orig.plant = idx;
        for (let c = 1; c < count; c++) planted.push({ doc: pick, kind: 'duplicate', plant: idx });
      }
    }
  }
  const cspec = spec.plant.canaries;
  if (cspec) {
    const letters = [...cspec.alphabet];
    const space = Math.pow(letters.length, cspec.length);
    const total = cspec.counts.length * cspec.perCount;
    if (total > space / 2) throw new SpecError(file, 'plant.canaries', `${total} distinct secrets requested from a space of only ${space}`);
    const secrets = new Set<string>();
    for (const count of cspec.counts) {
      for (let k = 0; k < cspec.perCount; k++) {
        let secret: string;
        do {
          secret = '';
          for (let i = 0; i < cspec.length; i++) secret += letters[plantRng.int(letters.length)];
        } while (secrets.has(secret));
        secrets.add(secret);
        const text = cspec.format.split('{secret}').join(secret);
        const idx = canaries.length;
        const id = `canary-${idx}`;
        canaries.push({ id, secret, text, count, tokens: [], docIndices: [], tokenOffsets: [] });
        const doc: Document = { source: 'canary', id, bytes: Buffer.from(text, 'utf8') };
        for (let c = 0; c < count; c++) planted.push({ doc, kind: 'canary', plant: idx });
      }
    }
  }
  for (const it of planted) items.splice(plantRng.int(items.length + 1), 0, it);

  // 5. Tokenizer.
  let tok: Tokenizer;
  let trainStats: TrainStats | undefined;
  const ts = spec.tokenizer;
  if (ts.type === 'gpt2') {
    tok = gpt2Tokenizer();
  } else if (ts.type === 'file') {
    tok = loadTokenizer(resolve(resolved.baseDir, ts.path));
  } else {
    // Trained on the train split before planting (planted copies and canaries do not shape the vocabulary).
    const tdocs: Uint8Array[] = [];
    let b = 0;
    for (const d of train) {
      if (ts.maxBytes !== undefined && b >= ts.maxBytes) break;
      tdocs.push(d.bytes);
      b += d.bytes.length;
    }
    const r = trainBpe(tdocs, {
      vocabSize: ts.vocabSize, minFrequency: ts.minFrequency, specials: ts.specials, name: spec.name,
      onProgress: (p) => progress({ phase: p.phase === 'count' ? 'tokenizer-count' : 'tokenizer-merge', done: p.done, total: p.total }),
    });
    tok = r.tokenizer;
    trainStats = r.stats;
  }
  if (tok.eotId === undefined) {
    throw new DataError(`tokenizer ${tok.name} has no <|endoftext|> special token; shards need it as the document separator`);
  }
  const eot = tok.eotId;
  for (const c of canaries) c.tokens = Array.from(tok.encode(c.text));
  let dtype: ShardDtype;
  if (spec.dtype === 'auto') dtype = tok.vocabSize <= 65536 ? 'uint16' : 'uint32';
  else dtype = spec.dtype;
  if (dtype === 'uint16' && tok.vocabSize > 65536) throw new VocabTooLargeError(tok.vocabSize, dtype);

  // 6. Write into a temporary sibling directory, then rename.
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(tmp);
  const writers: TokenWriter[] = [];
  try {
    saveTokenizer(tok, join(tmp, 'tokenizer.json'));
    const perSource = new Map<string, { train: { documents: number; bytes: number; tokens: number }; val: { documents: number; bytes: number; tokens: number }; surprisalBits: number; symbols: number; syntheticTokens: number }>();
    const stat = (name: string) => {
      let s = perSource.get(name);
      if (!s) {
        s = { train: { documents: 0, bytes: 0, tokens: 0 }, val: { documents: 0, bytes: 0, tokens: 0 }, surprisalBits: 0, symbols: 0, syntheticTokens: 0 };
        perSource.set(name, s);
      }
      return s;
    };
    const totalDocs = items.length + val.length;
    let done = 0;
    const writeSplit = (split: 'train' | 'val', list: Item[]) => {
      const w = new TokenWriter(join(tmp, `${split}.bin`), dtype);
      writers.push(w);
      const offsets: number[] = [];
      const prov: string[] = [];
      let bytes = 0;
      const canaryIds = new Map<number, Uint32Array>();
      for (let i = 0; i < list.length; i++) {
        const it = list[i]!;
        offsets.push(w.tokens);
        let ids: Uint32Array;
        if (it.kind === 'canary') {
          const c = canaries[it.plant!]!;
          ids = canaryIds.get(it.plant!) ?? Uint32Array.from(c.tokens);
          canaryIds.set(it.plant!, ids);
          c.docIndices.push(i);
          c.tokenOffsets.push(w.tokens);
        } else {
          try {
            ids = tok.encode(it.doc.bytes);
          } catch (e) {
            if (e instanceof TokenizerError) throw new TokenizerError(`document ${JSON.stringify(it.doc.id)} of source "${it.doc.source}": ${e.message}`);
            throw e;
          }
          if (it.kind === 'duplicate') {
            const d = duplicates[it.plant!]!;
            d.tokens = ids.length;
            d.docIndices.push(i);
            d.tokenOffsets.push(w.tokens);
          }
          const s = stat(it.doc.source)[split];
          s.documents++;
          s.bytes += it.doc.bytes.length;
          s.tokens += ids.length + 1;
          if (it.doc.surprisalBits !== undefined) {
            const st = stat(it.doc.source);
            if (split === 'train') {
              st.surprisalBits += it.doc.surprisalBits;
              st.symbols += it.doc.symbols ?? 0;
              st.syntheticTokens += ids.length;
            }
          }
        }
        w.write(ids);
        w.write([eot]);
        bytes += it.doc.bytes.length;
        prov.push(JSON.stringify({ source: it.doc.source, id: it.doc.id, kind: it.kind }));
        if ((++done & 255) === 0) progress({ phase: 'encode', done, total: totalDocs });
      }
      offsets.push(w.tokens);
      const sha256 = w.close();
      const idx = Buffer.alloc(offsets.length * 8);
      offsets.forEach((o, k) => idx.writeBigUInt64LE(BigInt(o), 8 * k));
      writeFileAtomic(join(tmp, `${split}.idx`), idx);
      writeFileAtomic(join(tmp, `${split}.docs.jsonl`), prov.length ? prov.join('\n') + '\n' : '');
      return { bin: `${split}.bin`, idx: `${split}.idx`, docs: `${split}.docs.jsonl`, documents: list.length, tokens: w.tokens, bytes, sha256 };
    };
    const trainInfo = writeSplit('train', items);
    const valInfo = writeSplit('val', val.map((doc) => ({ doc, kind: 'doc' as const })));
    progress({ phase: 'encode', done: totalDocs, total: totalDocs });

    const manifest: ShardManifest = {
      format: 'lmlab-shards',
      version: 1,
      name: spec.name,
      seed: spec.seed,
      specHash: createHash('sha256').update(canonical(spec)).digest('hex'),
      spec,
      dtype,
      tokenizer: {
        file: 'tokenizer.json',
        hash: tok.hash(),
        vocabSize: tok.vocabSize,
        eotId: eot,
        kind: ts.type,
        ...(trainStats ? { training: { vocabSize: ts.type === 'train' ? ts.vocabSize : tok.vocabSize, minFrequency: ts.type === 'train' ? ts.minFrequency : undefined, bytes: trainStats.bytes, uniqueWords: trainStats.uniqueWords, merges: trainStats.merges, stoppedEarly: trainStats.stoppedEarly } } : {}),
      },
      splits: { train: trainInfo, val: valInfo },
      sources: selected.map((s) => {
        const st = perSource.get(s.source.name);
        const entry: Record<string, unknown> = {
          name: s.source.name,
          type: s.source.type,
          info: s.source.info,
          selected: { documents: s.docs.length, bytes: s.bytes, repeats: s.repeats },
          dedupRemoved: removedBySource.get(s.source.name) ?? 0,
          train: st?.train ?? { documents: 0, bytes: 0, tokens: 0 },
          val: st?.val ?? { documents: 0, bytes: 0, tokens: 0 },
        };
        if (s.source.type === 'markov' && st && st.syntheticTokens > 0) {
          entry.entropy = {
            note: 'train split; tokens exclude <|endoftext|>; the ideal predictor\'s loss on these documents',
            surprisalBits: st.surprisalBits,
            symbols: st.symbols,
            tokens: st.syntheticTokens,
            bitsPerSymbol: st.surprisalBits / st.symbols,
            natsPerToken: (st.surprisalBits * Math.LN2) / st.syntheticTokens,
          };
        }
        return entry as ShardManifest['sources'][number];
      }),
      dedup: { enabled: spec.dedup, removedDocuments, removedBytes },
      planted: { canaries, duplicates },
    };
    writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');

    // Swap into place.
    if (existsSync(out)) {
      const old = join(dirname(out), `.${basename(out)}.old-${process.pid}-${Date.now().toString(36)}`);
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
    return manifest;
  } catch (e) {
    for (const w of writers) w.abort();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
