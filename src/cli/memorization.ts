/**
 * `lmlab index build|query`: suffix-array index of a token corpus (thin shell over src/memorization).
 *   lmlab index build --tokens train.bin --dtype uint16 [--docs boundaries.json] --out train.sa [--lcp]
 *   lmlab index query --index train.sa --seq "1,2,3" [--mode count|contains|longest|scan] [--k 50]
 */
import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { buildSuffixArrayIndex, SuffixArrayIndex, type TokenDtype } from '../memorization/index-file.ts';
import { parseTokenList, readBoundaryFile, readTokenFile } from '../memorization/token-file.ts';

export function register(program: Command): void {
  const index = program.command('index').description('suffix-array index over a token corpus (memorization verification)');

  index
    .command('build')
    .description('build a suffix-array index from a token .bin file (uint16/uint32 little-endian)')
    .requiredOption('--tokens <file>', 'token file (.bin)')
    .option('--dtype <dtype>', 'uint16 or uint32', 'uint16')
    .option('--docs <file>', 'JSON array of document start offsets (matches never cross documents)')
    .requiredOption('--out <file>', 'index file to write')
    .option('--lcp', 'also store the LCP array')
    .option('--json', 'print the result as JSON')
    .action((o: { tokens: string; dtype: string; docs?: string; out: string; lcp?: boolean; json?: boolean }) => {
      const tokens = readTokenFile(o.tokens, o.dtype as TokenDtype);
      const boundaries = o.docs ? readBoundaryFile(o.docs) : undefined;
      const h = buildSuffixArrayIndex(o.out, tokens, boundaries, { lcp: !!o.lcp });
      const res = { index: o.out, nTokens: h.nTokens, nDocs: h.nDocs, vocabSize: h.vocabSize, buildSeconds: h.buildSeconds, fileBytes: statSync(o.out).size };
      if (o.json) console.log(JSON.stringify(res));
      else console.log(`wrote ${o.out}: ${h.nTokens} tokens, ${h.nDocs} documents, vocab ${h.vocabSize}, built in ${h.buildSeconds?.toFixed(2)} s, ${res.fileBytes} bytes`);
    });

  index
    .command('query')
    .description('count occurrences / test a k-gram / longest training match at every position')
    .requiredOption('--index <file>', 'index file')
    .option('--seq <tokens>', 'token ids, e.g. "1,2,3"')
    .option('--seq-file <file>', 'JSON array of token ids (or array of arrays)')
    .option('--mode <mode>', 'count | contains | longest | scan', 'count')
    .option('--k <k>', 'scan: minimum match length counted as memorized', '50')
    .option('--in-memory', 'load the index into memory instead of positioned reads')
    .option('--json', 'print the result as JSON')
    .action((o: { index: string; seq?: string; seqFile?: string; mode: string; k: string; inMemory?: boolean; json?: boolean }) => {
      let seqs: number[][];
      if (o.seq !== undefined) seqs = [parseTokenList(o.seq)];
      else if (o.seqFile) {
        const v = JSON.parse(readFileSync(o.seqFile, 'utf8')) as unknown;
        const arr = Array.isArray(v) && Array.isArray(v[0]) ? (v as unknown[][]) : [v as unknown[]];
        seqs = arr.map((s, i) => parseTokenList(JSON.stringify(s), `${o.seqFile}[${i}]`));
      } else throw new Error('index query: give --seq or --seq-file');
      const k = Number(o.k);
      if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be a positive integer, got ${o.k}`);
      const idx = SuffixArrayIndex.open(o.index, { inMemory: !!o.inMemory });
      try {
        const out = seqs.map((s) => {
          switch (o.mode) {
            case 'count': return { count: idx.count(s) };
            case 'contains': return { contains: idx.contains(s) };
            case 'longest': return { longest: Array.from(idx.longestMatches(s)) };
            case 'scan': { const r = idx.scanMemorized(s, k); return { fractionMemorized: r.fractionMemorized, kgramStarts: r.kgramStarts, longest: Array.from(r.longest) }; }
            default: throw new Error(`--mode must be count, contains, longest or scan, got ${o.mode}`);
          }
        });
        if (o.json) console.log(JSON.stringify(out.length === 1 ? out[0] : out));
        else for (const r of out) console.log(Object.entries(r).map(([a, b]) => `${a}: ${Array.isArray(b) ? b.join(' ') : String(b)}`).join('\n'));
      } finally {
        idx.close();
      }
    });
}
