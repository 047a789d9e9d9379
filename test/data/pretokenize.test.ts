import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2_PATTERN, pretokenize, pretokenizeBytes, pretokenEnds } from '../../src/data/pretokenize.ts';
import { builtinDocuments } from '../../src/data/sources.ts';
import { Rng } from '../../src/data/rng.ts';

const td = new TextDecoder();
const regexPieces = (s: string) => s.match(GPT2_PATTERN) ?? [];

// Characters chosen to hit every branch: contractions, the optional space, letters/numbers of other
// scripts, JS-specific whitespace (U+FEFF yes, U+0085 and U+001C no), astral characters, lone surrogates.
const ALPHABET = [' ', ' ', '  ', '\n', '\t', '\r\n', '\u000b', '\f', 'a', 'Z', 'é', 'ß', 'Ω', 'ж', '中', 'ª', '1', '²', '٣', 'Ⅻ', '½',
  "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", 's', 't', 'r', 'e', 'v', 'l', 'd', 'm', ',', '.', '!', '"', '-', '_', '@',
  '\u00a0', '\ufeff', '\u0085', '\u001c', '\u2028', '\u3000', '\u200b', '😀', '𝔘', '\ufffd', '\ud800', '\udc00', '\u0000'];

test('scanner equals the GPT-2 regex on random strings', () => {
  const rng = new Rng(1);
  for (let t = 0; t < 30000; t++) {
    let s = '';
    const n = 1 + rng.int(14);
    for (let i = 0; i < n; i++) s += rng.pick(ALPHABET);
    // Lone surrogates become U+FFFD in UTF-8; the regex sees them as "other" either way.
    const expect = regexPieces(s).map((p) => td.decode(Buffer.from(p, 'utf8')));
    assert.deepEqual(pretokenize(s), expect, JSON.stringify(s));
  }
});

test('invalid UTF-8 bytes behave like the U+FFFD a lossy decoder puts in their place', () => {
  const rng = new Rng(2);
  const pieces = ['a', ' ', '  ', '\n', '1', "'s", '.', 'é', '中', '😀', ' b'].map((s) => [...Buffer.from(s, 'utf8')]);
  const bad = [[0xff], [0xc0, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xc3], [0xf0, 0x9f, 0x98]];
  for (let t = 0; t < 20000; t++) {
    const bytes: number[] = [];
    const n = 1 + rng.int(10);
    for (let i = 0; i < n; i++) bytes.push(...(rng.int(3) === 0 ? rng.pick(bad) : rng.pick(pieces)));
    const b = Uint8Array.from(bytes);
    const got = pretokenizeBytes(b);
    // Pieces tile the input exactly.
    assert.deepEqual(Buffer.concat(got), Buffer.from(b));
    const lossy = td.decode(b);
    assert.deepEqual(got.map((p) => td.decode(p)), regexPieces(lossy), JSON.stringify(bytes));
  }
});

test('scanner equals the regex on real text (Moby Dick, raw spam e-mails with 8-bit bytes)', () => {
  const docs = [...builtinDocuments('moby-dick'), ...builtinDocuments('spam-assassin').filter((d) => d.id.startsWith('spam-1/'))];
  let pieces = 0;
  for (const d of docs) {
    const s = td.decode(d.bytes);
    const expect = regexPieces(s);
    const ends = pretokenEnds(d.bytes);
    assert.equal(ends.length, expect.length, d.id);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      assert.equal(td.decode(d.bytes.subarray(start, ends[i])), expect[i], `${d.id} piece ${i}`);
      start = ends[i]!;
    }
    pieces += ends.length;
  }
  assert.ok(pieces > 300000);
});

test('edge cases', () => {
  assert.deepEqual(pretokenize(''), []);
  assert.deepEqual(pretokenize("I'm here  now\n\n"), ['I', "'m", ' here', ' ', ' now', '\n\n']);
  assert.deepEqual(pretokenize("don't 'LL ..'s"), ['don', "'t", " '", 'LL', ' ..\'', 's']);
  assert.deepEqual(pretokenize('  \n x'), ['  \n', ' x']);
});
