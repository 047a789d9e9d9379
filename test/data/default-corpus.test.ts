import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec } from '../../src/data/spec.ts';
import { buildCorpus } from '../../src/data/build.ts';
import { openShards } from '../../src/data/shards.ts';

test('the default spec builds the built-in corpus reproducibly and lists every planted canary with its count', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'lmlab-default-'));
  try {
    const spec = loadSpec('default');
    assert.deepEqual(spec.spec.sources.map((s) => s.type), ['sotu', 'moby-dick', 'spam-assassin']);
    const m1 = buildCorpus(spec, join(root, 'a'));
    const m2 = buildCorpus(loadSpec('default'), join(root, 'b'));
    const files = readdirSync(join(root, 'a')).sort();
    assert.deepEqual(files, ['manifest.json', 'tokenizer.json', 'train.bin', 'train.docs.jsonl', 'train.idx', 'val.bin', 'val.docs.jsonl', 'val.idx']);
    for (const f of files) assert.ok(readFileSync(join(root, 'a', f)).equals(readFileSync(join(root, 'b', f))), `${f} differs`);
    assert.equal(m1.splits.train.sha256, m2.splits.train.sha256);

    assert.equal(m1.dtype, 'uint16');
    assert.equal(m1.tokenizer.vocabSize, 4096);
    assert.ok(m1.splits.train.tokens > 3e6, `${m1.splits.train.tokens} train tokens`);
    assert.ok(m1.splits.val.tokens > 1e5);

    // Every canary of the spec, with its count, at its recorded positions.
    const cs = spec.spec.plant.canaries!;
    const expected = cs.counts.flatMap((c) => Array(cs.perCount).fill(c));
    assert.deepEqual(m1.planted.canaries.map((c) => c.count), expected);
    const sh = openShards(join(root, 'a'));
    try {
      for (const c of m1.planted.canaries) {
        assert.equal(c.tokenOffsets.length, c.count);
        for (const off of c.tokenOffsets) assert.deepEqual(Array.from(sh.read('train', off, c.tokens.length + 1)), [...c.tokens, sh.eotId]);
      }
      const ds = spec.spec.plant.duplicates!;
      assert.deepEqual(m1.planted.duplicates.map((d) => d.count), ds.counts.flatMap((c) => Array(ds.perCount).fill(c)));
      for (const d of m1.planted.duplicates) {
        assert.equal(d.tokenOffsets.length, d.count);
        const first = sh.document('train', d.docIndices[0]!);
        for (const i of d.docIndices) assert.deepEqual(sh.document('train', i), first);
      }
    } finally {
      sh.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
