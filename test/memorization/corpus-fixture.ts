/** Random token corpora with repeated spans (so that matches are long) and random document cuts, for suffix-array tests. */
import { normalizeDocStarts } from '../../src/memorization/corpus.ts';

export function randomCorpus(r: () => number, n: number, vocab: number, nDocs: number): { tokens: Uint16Array; starts: number[] } {
  const tokens = new Uint16Array(n);
  // repeated material so that matches are long: copy earlier spans now and then
  for (let i = 0; i < n; i++) {
    if (i > 20 && r() < 0.05) {
      const src = Math.floor(r() * (i - 10)); const len = Math.min(n - i, 1 + Math.floor(r() * 15));
      for (let j = 0; j < len; j++) tokens[i + j] = tokens[src + j]!;
      i += len - 1;
    } else tokens[i] = Math.floor(r() * vocab);
  }
  const cuts = new Set<number>();
  for (let d = 1; d < nDocs; d++) cuts.add(Math.floor(r() * n));
  return { tokens, starts: Array.from(normalizeDocStarts(n, Array.from(cuts))) };
}
