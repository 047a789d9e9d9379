/**
 * Statistics of a shard directory: documents, tokens, bytes per token, unigram entropy, exact duplicate
 * documents (by token content), train/val overlap, planted items. Streams the .bin files in chunks.
 */
import { openShards, type Shards, type Split } from './shards.ts';

export interface SplitStats {
  documents: number;
  tokens: number;
  /** Tokens without the <|endoftext|> separators. */
  contentTokens: number;
  bytes: number;
  /** bytes / contentTokens. */
  bytesPerToken: number;
  /** Entropy of the unigram token distribution (separators included), bits per token. */
  unigramEntropyBits: number;
  distinctTokens: number;
  /** Documents whose exact token sequence occurs more than once in the split. */
  duplicateGroups: number;
  /** Extra copies (occurrences beyond the first) over all duplicate groups. */
  duplicateCopies: number;
  /** Largest number of occurrences of one document. */
  maxCopies: number;
}

export interface DataStats {
  dir: string;
  name: string;
  dtype: string;
  vocabSize: number;
  tokenizerHash: string;
  train: SplitStats;
  val: SplitStats;
  /** Val documents whose exact token sequence also occurs in train. */
  valDocsInTrain: number;
  sources: { name: string; type: string; trainDocuments: number; trainBytes: number; trainTokens: number; valDocuments: number; entropy?: unknown }[];
  dedup: { enabled: boolean; removedDocuments: number; removedBytes: number };
  planted: {
    canaries: number;
    canaryInsertions: number;
    heldOutCanaries: number;
    canaryCounts: Record<string, number>;
    duplicates: number;
    duplicateCopies: number;
    duplicateCounts: Record<string, number>;
  };
}

function splitStats(sh: Shards, split: Split, seen: Map<string, number> | null, lookup: Map<string, number> | null, onChunk?: () => void): { stats: SplitStats; inOther: number; hashes: Map<string, number> } {
  const info = sh.manifest.splits[split];
  const offs = sh.documentOffsets(split);
  const N = sh.tokens(split);
  const counts = new Float64Array(sh.vocabSize);
  const hashes = seen ?? new Map<string, number>();
  const CH = 1 << 20;
  let doc = 0;
  let h1 = 0x811c9dc5;
  let h2 = 0x12345678;
  let inOther = 0;
  const local = new Map<string, number>();
  for (let start = 0; start < N; start += CH) {
    const n = Math.min(CH, N - start);
    const chunk = sh.read(split, start, n);
    for (let i = 0; i < n; i++) {
      const t = chunk[i]!;
      counts[t]!++;
      const pos = start + i;
      if (pos === offs[doc + 1]! - 1) {
        // Last token of the document (its separator): finish the document hash.
        const key = `${h1 >>> 0}:${h2 >>> 0}:${offs[doc + 1]! - offs[doc]!}`;
        local.set(key, (local.get(key) ?? 0) + 1);
        if (lookup && lookup.has(key)) inOther++;
        doc++;
        h1 = 0x811c9dc5;
        h2 = 0x12345678;
      } else {
        h1 = Math.imul(h1 ^ t, 0x01000193);
        h2 = Math.imul(h2 ^ t, 0x5bd1e995) ^ (h2 >>> 13);
      }
    }
    onChunk?.();
  }
  let dupGroups = 0;
  let dupCopies = 0;
  let maxCopies = info.documents > 0 ? 1 : 0;
  for (const [k, c] of local) {
    hashes.set(k, (hashes.get(k) ?? 0) + c);
    if (c > 1) {
      dupGroups++;
      dupCopies += c - 1;
      maxCopies = Math.max(maxCopies, c);
    }
  }
  let H = 0;
  let distinct = 0;
  for (let t = 0; t < counts.length; t++) {
    const c = counts[t]!;
    if (c > 0) {
      distinct++;
      const p = c / N;
      H -= p * Math.log2(p);
    }
  }
  const content = N - info.documents;
  return {
    stats: {
      documents: info.documents,
      tokens: N,
      contentTokens: content,
      bytes: info.bytes,
      bytesPerToken: content > 0 ? info.bytes / content : 0,
      unigramEntropyBits: H,
      distinctTokens: distinct,
      duplicateGroups: dupGroups,
      duplicateCopies: dupCopies,
      maxCopies,
    },
    inOther,
    hashes: local,
  };
}

export function dataStats(dir: string, opts: { onProgress?: (e: { phase: string; done: number; total: number }) => void } = {}): DataStats {
  const sh = openShards(dir);
  try {
    const m = sh.manifest;
    const totalChunks = Math.ceil(sh.trainTokens / (1 << 20)) + Math.ceil(sh.valTokens / (1 << 20));
    let done = 0;
    const tick = () => opts.onProgress?.({ phase: 'scan', done: ++done, total: totalChunks });
    const tr = splitStats(sh, 'train', null, null, tick);
    const va = splitStats(sh, 'val', null, tr.hashes, tick);
    const canaryCounts: Record<string, number> = {};
    for (const c of m.planted.canaries) canaryCounts[c.count] = (canaryCounts[c.count] ?? 0) + 1;
    const duplicateCounts: Record<string, number> = {};
    for (const d of m.planted.duplicates) duplicateCounts[d.count] = (duplicateCounts[d.count] ?? 0) + 1;
    return {
      dir,
      name: m.name,
      dtype: m.dtype,
      vocabSize: m.tokenizer.vocabSize,
      tokenizerHash: m.tokenizer.hash,
      train: tr.stats,
      val: va.stats,
      valDocsInTrain: va.inOther,
      sources: m.sources.map((s) => {
        const x = s as Record<string, unknown> & { train?: { documents: number; bytes: number; tokens: number }; val?: { documents: number } };
        return {
          name: s.name, type: s.type,
          trainDocuments: x.train?.documents ?? 0, trainBytes: x.train?.bytes ?? 0, trainTokens: x.train?.tokens ?? 0,
          valDocuments: x.val?.documents ?? 0,
          ...(x.entropy ? { entropy: x.entropy } : {}),
        };
      }),
      dedup: m.dedup,
      planted: {
        canaries: m.planted.canaries.length,
        canaryInsertions: m.planted.canaries.reduce((a, c) => a + c.count, 0),
        heldOutCanaries: m.planted.canaries.filter((c) => c.count === 0).length,
        canaryCounts,
        duplicates: m.planted.duplicates.length,
        duplicateCopies: m.planted.duplicates.reduce((a, d) => a + d.count - 1, 0),
        duplicateCounts,
      },
    };
  } finally {
    sh.close();
  }
}
