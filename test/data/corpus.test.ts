import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec } from '../../src/data/spec.ts';
import { buildCorpus } from '../../src/data/build.ts';
import { openShards } from '../../src/data/shards.ts';
import { dataStats } from '../../src/data/stats.ts';
import { readTokenizerFile, saveTokenizer } from '../../src/data/hf.ts';
import { trainBpe } from '../../src/data/train.ts';
import { Tokenizer } from '../../src/data/tokenizer.ts';
import { registerTask, unregisterTask } from '../../src/data/tasks.ts';
import { Rng } from '../../src/data/rng.ts';
import { SpecError, SourceNotFoundError, VocabTooLargeError, EmptyCorpusError, TokenizerFormatError, TokenizerError, DataError } from '../../src/data/errors.ts';

let root: string;
const td = new TextDecoder();

before(() => {
  root = mkdtempSync(join(tmpdir(), 'lmlab-corpus-'));
  mkdirSync(join(root, 'texts', 'sub'), { recursive: true });
  writeFileSync(join(root, 'texts', 'a.txt'), 'The first note. It talks about whales and ships.\n'.repeat(20));
  writeFileSync(join(root, 'texts', 'b.txt'), 'A second note, quite different: numbers 123 456 and e-mail x@y.org.\n'.repeat(15));
  writeFileSync(join(root, 'texts', 'sub', 'a-copy.txt'), 'The first note. It talks about whales and ships.\n'.repeat(20));
  writeFileSync(join(root, 'texts', 'sub', 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe, 0x0a, 0x41]));
  writeFileSync(join(root, 'empty.txt'), '');
  registerTask({
    name: 'test-copy',
    create(params) {
      const len = params.length ?? 8;
      if (typeof len !== 'number' || !Number.isInteger(len) || len < 1) throw new Error(`length: expected a positive integer, got ${JSON.stringify(len)}`);
      return {
        next(rng: Rng) {
          let s = '';
          for (let i = 0; i < len; i++) s += String.fromCharCode(97 + rng.int(26));
          return { text: `copy: ${s} -> ${s}` };
        },
        info: () => ({ length: len }),
      };
    },
  });
});

after(() => {
  unregisterTask('test-copy');
  rmSync(root, { recursive: true, force: true });
});

function miniSpec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'mini',
    seed: 5,
    sources: [
      { type: 'files', name: 'notes', paths: ['texts'] },
      { type: 'moby-dick', maxDocuments: 30 },
      { type: 'markov', name: 'mk', order: 1, alphabet: 'ab', documents: 20, docLength: 200 },
      { type: 'task', name: 'copy', task: 'test-copy', params: { length: 10 }, documents: 60 },
    ],
    split: { valFraction: 0.15 },
    dedup: true,
    tokenizer: { type: 'train', vocabSize: 600 },
    plant: {
      canaries: { counts: [0, 1, 3], perCount: 2, length: 6 },
      duplicates: { counts: [2, 5], perCount: 1, minBytes: 100, maxBytes: 30000, sources: ['moby-dick'] },
    },
    ...over,
  };
}

const build = (spec: Record<string, unknown>, out: string, force = false) =>
  buildCorpus(parseSpec(spec, 'mini.json', root), join(root, out), { force });

/** No output and no temporary directories left next to `out`. */
function assertNothingLeft(out: string) {
  assert.ok(!existsSync(join(root, out)), `${out} must not exist`);
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith(`.${out}`)), [], 'temporary directories left behind');
}

test('build is reproducible, records planted items at the right positions, and shards read back', () => {
  const m = build(miniSpec(), 'out1');
  build(miniSpec(), 'out2');
  for (const f of ['manifest.json', 'tokenizer.json', 'train.bin', 'val.bin', 'train.idx', 'val.idx', 'train.docs.jsonl', 'val.docs.jsonl']) {
    assert.deepEqual(readFileSync(join(root, 'out1', f)), readFileSync(join(root, 'out2', f)), `${f} differs between two builds`);
  }
  const m3 = build(miniSpec({ seed: 6 }), 'out3');
  assert.notEqual(m3.splits.train.sha256, m.splits.train.sha256);
  assert.equal(m.dtype, 'uint16');
  assert.equal(m.dedup.removedDocuments, 1, 'the exact copy a-copy.txt is removed');

  const sh = openShards(join(root, 'out1'));
  try {
    const tok = readTokenizerFile(join(root, 'out1', 'tokenizer.json'));
    assert.equal(tok.hash(), m.tokenizer.hash);
    const eot = sh.eotId;
    // Canaries: every count listed, every copy at its recorded offset.
    assert.deepEqual(m.planted.canaries.map((c) => c.count), [0, 0, 1, 1, 3, 3]);
    assert.equal(new Set(m.planted.canaries.map((c) => c.secret)).size, 6);
    for (const c of m.planted.canaries) {
      assert.match(c.text, /^my secret code is \d{6}$/);
      assert.equal(c.tokenOffsets.length, c.count);
      assert.equal(c.docIndices.length, c.count);
      assert.deepEqual(c.tokens, Array.from(tok.encode(c.text)));
      for (let k = 0; k < c.count; k++) {
        const got = sh.read('train', c.tokenOffsets[k]!, c.tokens.length + 1);
        assert.deepEqual(Array.from(got), [...c.tokens, eot]);
        assert.deepEqual(Array.from(sh.document('train', c.docIndices[k]!)), c.tokens);
      }
    }
    // Duplicates: `count` occurrences of the same document.
    assert.deepEqual(m.planted.duplicates.map((d) => d.count), [2, 5]);
    for (const d of m.planted.duplicates) {
      assert.equal(d.docIndices.length, d.count);
      const texts = d.docIndices.map((i) => td.decode(tok.decodeBytes(sh.document('train', i))));
      assert.equal(new Set(texts).size, 1);
      assert.equal(Buffer.byteLength(texts[0]!), d.bytes);
    }
    // Provenance file aligned with the index; file documents decode to their bytes.
    const prov = readFileSync(join(root, 'out1', 'train.docs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(prov.length, m.splits.train.documents);
    assert.equal(sh.documentOffsets('train').length, prov.length + 1);
    prov.forEach((p, i) => {
      if (p.source === 'notes') {
        const bytes = readFileSync(join(root, p.id));
        assert.deepEqual(Buffer.from(tok.decodeBytes(sh.document('train', i))), bytes, p.id);
      }
    });
    assert.equal(prov.filter((p) => p.kind === 'canary').length, 0 + 0 + 1 + 1 + 3 + 3);
    // Markov source: entropy recorded.
    const mk = m.sources.find((s) => s.name === 'mk') as Record<string, any>;
    assert.ok(mk.info.entropyRateBitsPerSymbol > 0 && mk.info.entropyRateBitsPerSymbol <= 1);
    assert.ok(mk.entropy.natsPerToken > 0 && mk.entropy.symbols > 0);
    assert.ok(Math.abs(mk.entropy.bitsPerSymbol - mk.info.entropyRateBitsPerSymbol) < 0.2, JSON.stringify(mk));

    // Full arrays for independent checks.
    const train = sh.read('train', 0, sh.trainTokens);
    const val = sh.read('val', 0, sh.valTokens);
    assert.equal(train[train.length - 1], eot);
    // sampleBatch: rows are windows of the train stream, y is x shifted by one, deterministic in the rng.
    const rng = new Rng(3);
    const state = rng.getState();
    const { x, y } = sh.sampleBatch(rng, 4, 16);
    for (let b = 0; b < 4; b++) {
      const row = [...x.subarray(b * 16, b * 16 + 16), y[b * 16 + 15]!];
      for (let t = 0; t < 15; t++) assert.equal(y[b * 16 + t], x[b * 16 + t + 1]);
      let found = false;
      for (let o = 0; o + 17 <= train.length && !found; o++) {
        let ok = true;
        for (let t = 0; t < 17 && ok; t++) if (train[o + t] !== row[t]) ok = false;
        found = ok;
      }
      assert.ok(found, 'sampled window is a contiguous slice of train.bin');
    }
    const again = sh.sampleBatch(Rng.fromState(state), 4, 16);
    assert.deepEqual(again.x, x);
    // Validation windows: deterministic, non-overlapping, equal to the array.
    const wins = [...sh.windows(32)];
    assert.equal(wins.length, Math.floor((val.length - 1) / 32));
    wins.forEach((w, i) => {
      assert.equal(w.offset, 32 * i);
      assert.deepEqual(w.x, val.slice(32 * i, 32 * i + 32));
      assert.deepEqual(w.y, val.slice(32 * i + 1, 32 * i + 33));
    });
    const batches = [...sh.valBatches(5, 32, { maxWindows: 12 })];
    assert.deepEqual(batches.map((b) => b.offsets.length), [5, 5, 2]);
    const vb = sh.valBatch(1, 3, 2, 8);
    assert.equal(vb.x.length, 16);
    assert.equal(sh.valTokensArray().length, sh.valTokens);

    // Stats against an independent count.
    const st = dataStats(join(root, 'out1'));
    const counts = new Map<number, number>();
    for (const t of train) counts.set(t, (counts.get(t) ?? 0) + 1);
    let H = 0;
    for (const c of counts.values()) H -= (c / train.length) * Math.log2(c / train.length);
    assert.ok(Math.abs(st.train.unigramEntropyBits - H) < 1e-9);
    assert.equal(st.train.distinctTokens, counts.size);
    assert.equal(st.train.tokens, train.length);
    assert.equal(st.train.documents, m.splits.train.documents);
    // Duplicate groups: the two planted documents and the two canaries inserted 3 times.
    assert.equal(st.train.duplicateGroups, 4);
    assert.equal(st.train.duplicateCopies, 1 + 4 + 2 + 2);
    assert.equal(st.train.maxCopies, 5);
    assert.equal(st.planted.canaryInsertions, 8);
    assert.equal(st.planted.heldOutCanaries, 2);
    assert.equal(st.valDocsInTrain, 0);
  } finally {
    sh.close();
  }
});

test('weights are byte shares of the mixture', () => {
  const spec = miniSpec({
    sources: [
      { type: 'moby-dick', weight: 3 },
      { type: 'markov', name: 'mk', order: 2, alphabet: 'abcd', docLength: 300, weight: 1 },
    ],
    targetBytes: 200000,
    plant: {},
  });
  const m = build(spec, 'wout');
  const sel = Object.fromEntries(m.sources.map((s) => [s.name, (s as Record<string, any>).selected]));
  assert.ok(sel['moby-dick'].bytes >= 150000 && sel['moby-dick'].bytes < 150000 + 46000, JSON.stringify(sel));
  assert.ok(sel.mk.bytes >= 50000 && sel.mk.bytes < 50300);
  assert.equal(sel.mk.documents, Math.ceil(50000 / 300));
});

test('a markov-only corpus with a byte vocabulary: one token per symbol, E known exactly', () => {
  const m = build({
    name: 'mk', seed: 3, sources: [{ type: 'markov', order: 2, alphabet: 'abcde', concentration: 0.4, docLength: 400, documents: 50 }],
    split: { valFraction: 0.1 }, tokenizer: { type: 'train', vocabSize: 257 },
  }, 'mkout');
  const src = m.sources[0] as Record<string, any>;
  assert.equal(src.entropy.tokens, src.entropy.symbols, 'one token per symbol');
  assert.ok(Math.abs(src.entropy.natsPerToken - src.entropy.bitsPerSymbol * Math.LN2) < 1e-12);
  // Realised surprisal per symbol is close to the source's entropy rate (LLN over ~18,000 symbols).
  assert.ok(Math.abs(src.entropy.bitsPerSymbol - src.info.entropyRateBitsPerSymbol) < 0.05, JSON.stringify(src.entropy));
});

test('dedup keeps deliberate upsampling repeats; a truncated shard is a clear error', () => {
  const spec = miniSpec({ sources: [{ type: 'moby-dick', maxDocuments: 5, weight: 1 }], plant: {}, split: { valFraction: 0 } });
  const m1 = build({ ...spec, targetBytes: 1 }, 'rep1');
  assert.equal(m1.splits.train.documents, 1, 'the first document already reaches a 1-byte target');
  // More bytes than the five documents hold: the pool is repeated (and dedup does not undo it).
  const m = build({ ...spec, targetBytes: 3 * 5 * 30000 }, 'rep3');
  const sel = (m.sources[0] as Record<string, any>).selected;
  assert.ok(sel.repeats >= 1, JSON.stringify(sel));
  assert.equal(m.splits.train.documents, sel.documents);
  assert.ok(m.splits.train.documents > 5);
  // Truncated token file.
  const sh = openShards(join(root, 'rep3'));
  sh.close();
  const bin = join(root, 'rep3', 'train.bin');
  writeFileSync(bin, readFileSync(bin).subarray(0, 100));
  assert.throws(() => openShards(join(root, 'rep3')), /train\.bin: size 100 bytes, expected/);
  assert.throws(() => openShards(join(root, 'nowhere')), /manifest\.json: missing/);
});

test('uint32 shards when the vocabulary needs them; a vocab too large for uint16 is a clear error', () => {
  const base = trainBpe(['hello world, hello shards'], { vocabSize: 300, specials: [] }).tokenizer;
  const big = new Tokenizer({
    tokens: [...Array(base.ordinarySize)].map((_, i) => base.tokenBytes(i)),
    merges: base.merges,
    specials: [{ id: 70000, content: '<|endoftext|>' }],
  });
  saveTokenizer(big, join(root, 'big-tokenizer.json'));
  const spec = miniSpec({ tokenizer: { type: 'file', path: 'big-tokenizer.json' }, plant: {} });
  assert.throws(() => build({ ...spec, dtype: 'uint16' }, 'big16'), (e: unknown) => e instanceof VocabTooLargeError && /70001 tokens.*uint16/.test((e as Error).message));
  assertNothingLeft('big16');
  const m = build(spec, 'big32');
  assert.equal(m.dtype, 'uint32');
  const sh = openShards(join(root, 'big32'));
  try {
    const train = sh.read('train', 0, sh.trainTokens);
    assert.equal(train.filter((t) => t === 70000).length, m.splits.train.documents);
    assert.equal(td.decode(big.decodeBytes(sh.document('train', 0))).length > 0, true);
  } finally {
    sh.close();
  }
});

test('bad input: clear errors, nothing half-written', () => {
  // Missing source path.
  assert.throws(() => build(miniSpec({ sources: [{ type: 'files', paths: ['nope/'] }], plant: {} }), 'bad1'),
    (e: unknown) => e instanceof SourceNotFoundError && /"files".*"nope\/" does not exist/.test((e as Error).message));
  assertNothingLeft('bad1');
  // Unknown task plug-in.
  assert.throws(() => build(miniSpec({ sources: [{ type: 'task', task: 'no-such-task', documents: 3 }], plant: {} }), 'bad2'),
    (e: unknown) => e instanceof SourceNotFoundError && /no-such-task.*registered: .*test-copy/.test((e as Error).message));
  // Task params rejected by the plug-in.
  assert.throws(() => build(miniSpec({ sources: [{ type: 'task', task: 'test-copy', params: { length: -1 }, documents: 3 }], plant: {} }), 'bad2b'),
    (e: unknown) => e instanceof SpecError && /sources\[0\]\.params.*length/.test((e as Error).message));
  // Empty corpus.
  assert.throws(() => build(miniSpec({ sources: [{ type: 'files', paths: ['empty.txt'] }], plant: {} }), 'bad3'), EmptyCorpusError);
  assertNothingLeft('bad3');
  // Malformed tokenizer file.
  writeFileSync(join(root, 'bad-tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: 5, merges: [] }, pre_tokenizer: { type: 'ByteLevel' } }));
  assert.throws(() => build(miniSpec({ tokenizer: { type: 'file', path: 'bad-tokenizer.json' }, plant: {} }), 'bad4'),
    (e: unknown) => e instanceof TokenizerFormatError && /bad-tokenizer\.json: model\.vocab/.test((e as Error).message));
  assertNothingLeft('bad4');
  // A tokenizer that cannot encode the corpus (its vocabulary lacks bytes): fails while writing, cleans up.
  writeFileSync(join(root, 'tiny-tokenizer.json'), JSON.stringify({
    added_tokens: [{ id: 2, content: '<|endoftext|>', special: true }],
    model: { type: 'BPE', vocab: { T: 0, h: 1, '<|endoftext|>': 2 }, merges: [] }, pre_tokenizer: { type: 'ByteLevel' },
  }));
  assert.throws(() => build(miniSpec({ tokenizer: { type: 'file', path: 'tiny-tokenizer.json' }, plant: {} }), 'bad4b'),
    (e: unknown) => e instanceof TokenizerError && /document ".*" of source ".*": cannot encode byte 0x/.test((e as Error).message));
  assertNothingLeft('bad4b');
  // Existing output without --force.
  mkdirSync(join(root, 'exists'));
  assert.throws(() => build(miniSpec(), 'exists'), (e: unknown) => e instanceof DataError && /already exists.*--force/.test((e as Error).message));
  // Too many planted duplicates for the candidates.
  assert.throws(() => build(miniSpec({ plant: { duplicates: { counts: [2], perCount: 500, sources: ['moby-dick'] } } }), 'bad5'),
    (e: unknown) => e instanceof SpecError && /plant\.duplicates/.test((e as Error).message));
  assertNothingLeft('bad5');
});

test('spec validation names the field', () => {
  const err = (spec: unknown, re: RegExp) => assert.throws(() => parseSpec(spec, 'c.json'), (e: unknown) => e instanceof SpecError && re.test((e as Error).message), JSON.stringify(spec));
  err({ sources: [] , tokenizer: { type: 'gpt2' } }, /^c\.json: sources: /);
  err({ sources: [{ type: 'nope' }], tokenizer: { type: 'gpt2' } }, /sources\[0\]\.type/);
  err({ sources: [{ type: 'sotu', weight: -1 }], tokenizer: { type: 'gpt2' } }, /sources\[0\]\.weight/);
  err({ sources: [{ type: 'sotu', wieght: 1 }], tokenizer: { type: 'gpt2' } }, /wieght/);
  err({ sources: [{ type: 'sotu', weight: 1 }, { type: 'moby-dick' }], tokenizer: { type: 'gpt2' } }, /every source has a "weight"/);
  err({ sources: [{ type: 'sotu' }, { type: 'sotu' }], tokenizer: { type: 'gpt2' } }, /sources\[1\]\.name.*duplicate/);
  err({ sources: [{ type: 'markov', order: 1, alphabet: 'ab' }], tokenizer: { type: 'gpt2' } }, /sources\[0\].*unbounded/);
  err({ sources: [{ type: 'sotu' }] }, /tokenizer/);
  err({ sources: [{ type: 'sotu' }], tokenizer: { type: 'train', vocabSize: 100 } }, /tokenizer\.vocabSize/);
  err({ sources: [{ type: 'sotu' }], tokenizer: { type: 'gpt2' }, plant: { canaries: { counts: [1], format: 'no placeholder' } } }, /plant\.canaries\.format/);
  err({ sources: [{ type: 'sotu' }], tokenizer: { type: 'gpt2' }, plant: { duplicates: { counts: [2], sources: ['x'] } } }, /plant\.duplicates\.sources\[0\].*no source named "x"/);
  const ok = parseSpec({ sources: [{ type: 'sotu' }], tokenizer: { type: 'gpt2' } }, 'c.json');
  assert.equal(ok.spec.split.valFraction, 0.05);
  assert.equal(ok.spec.dtype, 'auto');
});
