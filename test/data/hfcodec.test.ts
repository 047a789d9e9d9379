// Hugging Face tokenizer.json of any kind behind one codec: a hand-built SentencePiece-style (Llama) BPE with
// byte fallback goes through @huggingface/tokenizers and gives the ids worked out by hand from its merges;
// byte-level BPE stays on lmlab's tokenizer; malformed or unsupported files are refused naming file and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHfTokenizer, decodeContinuation } from '../../src/data/hfcodec.ts';
import { gpt2Tokenizer, tokenizerToJSON } from '../../src/data/hf.ts';
import { TokenizerFormatError } from '../../src/data/errors.ts';
import { spTokenizerJson, SP_TOKENIZER_CONFIG, PIECES, ID, SP } from './sp-fixture.ts';

function dirWith(files: Record<string, unknown>): string {
  const d = mkdtempSync(join(tmpdir(), 'lmlab-hfcodec-'));
  for (const [name, v] of Object.entries(files)) writeFileSync(join(d, name), typeof v === 'string' ? v : JSON.stringify(v));
  return d;
}

// Worked out by hand from the 15 merges of sp-fixture.ts (ranks 1–15), after the normalizer turns
// "x y" into "▁x▁y":
//  "hello world": ▁ h e l l o ▁ w o r l d → (he) (ll) (hell) (hello) (▁hello) (or) (wor) (ld) (world) (▁world)
//  "the cat sat": ▁ t h e ▁ c a t ▁ s a t → (he) (▁t) (▁the) (at ×2) (▁c) (▁cat); "▁ s at" has no merge left
//  "Hello\n": "H" is no piece → its byte <0x48>; (ll); "\n" → <0x0A>
//  "é": no piece → bytes C3 A9;  "qq x": no piece and no byte token for q/x → <unk>, fused (fuse_unk)
const HAND: [string, string[], number[]][] = [
  ['hello world', [SP + 'hello', SP + 'world'], [22, 27]],
  ['the cat sat', [SP + 'the', SP + 'cat', SP, 's', 'at'], [29, 32, 6, 15, 30]],
  ['Hello\n', [SP, '<0x48>', 'e', 'll', 'o', '<0x0A>'], [6, 40, 10, 19, 13, 3]],
  ['é', [SP, '<0xC3>', '<0xA9>'], [6, 4, 5]],
  ['qq x', [SP, '<unk>', SP, '<unk>'], [6, 0, 6, 0]],
  ['hello  world', [SP + 'hello', SP, SP + 'world'], [22, 6, 27]],
];

for (const layout of ['legacy', 'metaspace'] as const) {
  test(`SentencePiece-style BPE (${layout} layout) through @huggingface/tokenizers: hand-computed ids`, () => {
    assert.equal(PIECES.length, 72, 'the fixture tokenizer has the llama-tiny vocabulary size');
    const c = openHfTokenizer(dirWith({ 'tokenizer.json': spTokenizerJson(layout), 'tokenizer_config.json': SP_TOKENIZER_CONFIG }));
    assert.equal(c.engine, '@huggingface/tokenizers');
    assert.match(c.fallbackReason!, /byte_fallback/, 'lmlab\'s byte-level reader says why it did not take it');
    assert.equal(c.vocabSize, 72);
    for (const [text, pieces, ids] of HAND) {
      assert.deepEqual(pieces.map((p) => ID[p]), ids, `fixture ids of ${JSON.stringify(text)}`);
      assert.deepEqual(c.encode(text), ids, `encode ${JSON.stringify(text)}`);
      assert.deepEqual(c.encodeInput(text), [1, ...ids], `encodeInput adds <s> (the template post-processor)`);
      const back = text.includes('q') ? text.replace(/q+/g, '<unk>').replace('x', '<unk>') : text;
      assert.equal(c.decode(ids), back, `decode ${JSON.stringify(text)}`);
    }
    // decode keeps special tokens, skips ids the tokenizer does not have, and handles the empty list
    assert.equal(c.decode([1, 22, 27, 2]), '<s> hello world</s>');
    assert.equal(c.decode([22, 500, 27]), 'hello world');
    assert.equal(c.decode([]), '');
    assert.deepEqual(c.encode(''), []);
    // leading space: Llama 2 (legacy) keeps an extra ▁ piece; Metaspace prepend_scheme "first" does not add one
    assert.deepEqual(c.encode(' hello'), layout === 'legacy' ? [6, 22] : [22]);
    // the continuation of a prompt keeps the space that the Strip decoder removes from a first token
    assert.equal(c.decode([27]), 'world');
    assert.equal(decodeContinuation(c, [1, 22], [27, 31, 30]), ' world cat');
  });
}

test('tokenizer_config.json: clean_up_tokenization_spaces is honoured only when true', () => {
  const json = spTokenizerJson('legacy');
  const ids = [22, 6, 3]; // "hello \n"
  const plain = openHfTokenizer(dirWith({ 'tokenizer.json': json }));
  assert.equal(plain.decode(ids), 'hello \n');
  // the JS library would clean " ." style spaces by default; lmlab leaves text as decoded unless asked
  const dotJson = spTokenizerJson('legacy') as { model: { vocab: Record<string, number> } };
  delete dotJson.model.vocab['g'];
  dotJson.model.vocab['.'] = 71;
  const d1 = openHfTokenizer(dirWith({ 'tokenizer.json': dotJson }));
  assert.equal(d1.decode([22, 6, 71]), 'hello .');
  const d2 = openHfTokenizer(dirWith({ 'tokenizer.json': dotJson, 'tokenizer_config.json': { clean_up_tokenization_spaces: true } }));
  assert.equal(d2.decode([22, 6, 71]), 'hello.');
});

test('byte-level BPE stays on lmlab\'s tokenizer (GPT-2 ids)', () => {
  const c = openHfTokenizer(dirWith({ 'tokenizer.json': tokenizerToJSON(gpt2Tokenizer()) }));
  assert.equal(c.engine, 'lmlab');
  assert.equal(c.fallbackReason, null);
  assert.equal(c.vocabSize, 50257);
  // GPT-2's published ids for "Hello world" (tiktoken / transformers: [15496, 995])
  assert.deepEqual(c.encode('Hello world'), [15496, 995]);
  assert.deepEqual(c.encodeInput('Hello world'), [15496, 995], 'no special tokens added');
  assert.equal(c.decode([15496, 995]), 'Hello world');
});

test('missing, malformed and unsupported tokenizer files are refused naming the file and field', () => {
  const empty = mkdtempSync(join(tmpdir(), 'lmlab-hfcodec-'));
  const expectErr = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof TokenizerFormatError && re.test(e.message), String(re));
  };
  expectErr(() => openHfTokenizer(empty), /tokenizer\.json: not found \(expected a Hugging Face tokenizer\.json\)/);
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': '{"model": ' })), /tokenizer\.json: not valid JSON/);
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': [1, 2] })), /tokenizer\.json: expected a JSON object/);
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': { version: '1.0' } })), /tokenizer\.json: model: missing/);
  const noVocab = spTokenizerJson() as { model: Record<string, unknown> };
  delete noVocab.model['vocab'];
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': noVocab })), /model\.vocab: missing/);
  const badDecoder = { ...spTokenizerJson(), decoder: { type: 'Telepathy' } };
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': badDecoder })), /tokenizer\.json: @huggingface\/tokenizers cannot load it: Unknown Decoder type: Telepathy/);
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': spTokenizerJson(), 'tokenizer_config.json': '{' })), /tokenizer_config\.json: not valid JSON/);
  const dropout = spTokenizerJson() as { model: Record<string, unknown> };
  dropout.model['dropout'] = 0.1;
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': dropout })), /model\.dropout/);
  // Metaspace split:true with a merge across a ▁ boundary: the JS port would differ from Rust, so refused
  const split = spTokenizerJson('metaspace') as { pre_tokenizer: Record<string, unknown>; model: { merges: string[]; vocab: Record<string, number> } };
  split.pre_tokenizer['split'] = true;
  split.model.merges.push(`o ${SP}`);
  split.model.vocab[`o${SP}`] = 71;
  delete split.model.vocab['g'];
  expectErr(() => openHfTokenizer(dirWith({ 'tokenizer.json': split })), /model\.merges\[15\].*split: true/);
  // without such a merge, split:true is accepted and gives the same ids as split:false
  const okSplit = spTokenizerJson('metaspace') as { pre_tokenizer: Record<string, unknown> };
  okSplit.pre_tokenizer['split'] = true;
  assert.deepEqual(openHfTokenizer(dirWith({ 'tokenizer.json': okSplit })).encode('the cat sat'), [29, 32, 6, 15, 30]);
});

test('byte-level BPE that lmlab\'s reader refuses (Llama 3 layout: Split + ByteLevel) goes through the JS library with the same ids', () => {
  const gpt2 = gpt2Tokenizer();
  const json = tokenizerToJSON(gpt2) as Record<string, unknown>;
  json['pre_tokenizer'] = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  const c = openHfTokenizer(dirWith({ 'tokenizer.json': json }));
  assert.equal(c.engine, '@huggingface/tokenizers');
  assert.match(c.fallbackReason!, /pre_tokenizer\.type/);
  const text = "Hello world, it's 2024!\n  Ünïcödé — ok?  \t tabs\n\n";
  assert.deepEqual(c.encode(text), Array.from(gpt2.encode(text)), 'same ids as lmlab\'s GPT-2 tokenizer');
  assert.equal(c.decode(c.encode(text)), text);
});
