import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suffixArray, lcpKasai, SuffixArrayError, type IntText } from '../../src/memorization/sais.ts';
import { buildCorpusSuffixArray, corpusLcp } from '../../src/memorization/corpus.ts';
import { SuffixArrayIndex, buildSuffixArrayIndex, IndexFormatError, memorizedKgramCounts } from '../../src/memorization/index-file.ts';
import { rng, bruteSA, bruteCorpusSA, bruteCount, bruteLongest, docEndOf } from './helpers.ts';
import { randomCorpus } from './corpus-fixture.ts';

type Gen = (n: number, r: () => number) => number[];
const gens: Record<string, Gen> = {
  random2: (n, r) => Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)),
  random4: (n, r) => Array.from({ length: n }, () => Math.floor(r() * 4)),
  random300: (n, r) => Array.from({ length: n }, () => Math.floor(r() * 300)),
  unary: (n) => new Array<number>(n).fill(0),
  periodic: (n, r) => { const p = 1 + Math.floor(r() * 6); const base = Array.from({ length: p }, () => Math.floor(r() * 3)); return Array.from({ length: n }, (_, i) => base[i % p]!); },
  periodicMutated: (n, r) => { const p = 2 + Math.floor(r() * 5); const base = Array.from({ length: p }, () => Math.floor(r() * 3)); return Array.from({ length: n }, (_, i) => (r() < 0.03 ? 3 : base[i % p]!)); },
  runs: (n, r) => { const out: number[] = []; while (out.length < n) { const c = Math.floor(r() * 3); const len = 1 + Math.floor(r() * 40); for (let j = 0; j < len && out.length < n; j++) out.push(c); } return out; },
  fibonacci: (n) => { let a = [0]; let b = [0, 1]; while (b.length < n) { const c = b.concat(a); a = b; b = c; } return b.slice(0, n); },
  tandem: (n, r) => { const blk = Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * 5)); const out: number[] = []; while (out.length < n) out.push(...blk); return out.slice(0, n); },
  bigAlphabet: (n, r) => Array.from({ length: n }, () => Math.floor(r() * 70000)),
};

function asType(a: number[], kind: number): IntText {
  const mx = a.reduce((x, y) => Math.max(x, y), 0);
  if (kind === 0 && mx < 256) return Uint8Array.from(a);
  if (kind === 1 && mx < 65536) return Uint16Array.from(a);
  if (kind === 2) return Uint32Array.from(a);
  return Int32Array.from(a);
}

/** O(n) suffix array check (as in divsufsort's sufcheck): permutation + adjacent order via inverse ranks. */
function checkSA(T: IntText, sa: Int32Array): void {
  const n = T.length;
  const rank = new Int32Array(n + 1).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = sa[i]!;
    assert.ok(p >= 0 && p < n && rank[p] === -1, `sa[${i}]=${p} is not a fresh position`);
    rank[p] = i;
  }
  rank[n] = -1;
  for (let i = 0; i + 1 < n; i++) {
    const a = sa[i]!; const b = sa[i + 1]!;
    assert.ok(T[a]! <= T[b]!, `first symbols out of order at ${i}`);
    if (T[a] === T[b]) assert.ok(rank[a + 1]! < rank[b + 1]!, `suffixes ${a}, ${b} out of order at ${i}`);
  }
}

test('SA-IS equals brute force on random, periodic, unary, run-heavy and tandem inputs of all integer types', () => {
  const r = rng(12345);
  let cases = 0;
  for (const [name, g] of Object.entries(gens)) {
    for (let it = 0; it < 120; it++) {
      const n = it < 10 ? it : 1 + Math.floor(r() * 260);
      const a = g(n, r);
      const T = asType(a, it % 4);
      const sa = suffixArray(T);
      assert.deepEqual(Array.from(sa), bruteSA(a), `${name} n=${n} type=${T.constructor.name}`);
      cases++;
    }
  }
  assert.ok(cases > 1000);
});

test('SA-IS on larger inputs passes the O(n) order check (200k random-ish, 100k periodic, 100k unary)', () => {
  const r = rng(7);
  const text: number[] = [];
  const words = Array.from({ length: 500 }, () => Array.from({ length: 1 + Math.floor(r() * 8) }, () => 97 + Math.floor(r() * 26)));
  while (text.length < 200_000) { text.push(...words[Math.floor(Math.pow(r(), 3) * words.length)]!, 32); }
  for (const a of [Uint8Array.from(text.slice(0, 200_000)), Uint8Array.from(gens.periodic!(100_000, r)), new Uint16Array(100_000), Uint32Array.from(gens.bigAlphabet!(50_000, r))]) {
    checkSA(a, suffixArray(a));
  }
});

test('suffixArray rejects symbols outside the alphabet and negative symbols', () => {
  assert.throws(() => suffixArray(Uint8Array.from([1, 5, 2]), { k: 4 }), SuffixArrayError);
  assert.throws(() => suffixArray(Int32Array.from([1, -1, 2])), SuffixArrayError);
  assert.deepEqual(Array.from(suffixArray(new Uint8Array(0))), []);
  assert.deepEqual(Array.from(suffixArray(Uint8Array.from([9]))), [0]);
});

test('Kasai LCP equals brute force', () => {
  const r = rng(99);
  for (let it = 0; it < 200; it++) {
    const a = gens[Object.keys(gens)[it % 9]!]!(1 + Math.floor(r() * 120), r);
    const T = Int32Array.from(a);
    const sa = suffixArray(T);
    const lcp = lcpKasai(T, sa);
    for (let i = 1; i < a.length; i++) {
      let h = 0;
      while (sa[i]! + h < a.length && sa[i - 1]! + h < a.length && a[sa[i]! + h] === a[sa[i - 1]! + h]) h++;
      assert.equal(lcp[i], h);
    }
  }
});


test('document-bounded corpus suffix array and LCP equal brute force (incl. empty and one-token documents)', () => {
  const r = rng(2024);
  for (let it = 0; it < 150; it++) {
    const n = 1 + Math.floor(r() * 150);
    const { tokens, starts } = randomCorpus(r, n, 1 + Math.floor(r() * 4), 1 + Math.floor(r() * 12));
    // boundaries given with duplicates, 0 and N, unsorted: all must be accepted
    const given = [...starts, ...starts.slice(0, 2)].reverse();
    const sa = buildCorpusSuffixArray(tokens, given);
    assert.deepEqual(Array.from(sa), bruteCorpusSA(tokens, starts), `it=${it} starts=${starts}`);
    const lcp = corpusLcp(tokens, sa, starts);
    for (let i = 1; i < n; i++) {
      const a = sa[i - 1]!; const b = sa[i]!;
      const ea = docEndOf(starts, a); const eb = docEndOf(starts, b);
      let h = 0;
      while (a + h < ea && b + h < eb && tokens[a + h] === tokens[b + h]) h++;
      assert.equal(lcp[i], h, `lcp it=${it} i=${i}`);
    }
  }
});

test('count / contains / positions / longest matches equal brute force, never across documents; file and memory agree', () => {
  const r = rng(4242);
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-sa-'));
  try {
    for (let it = 0; it < 12; it++) {
      const n = 200 + Math.floor(r() * 400);
      const { tokens, starts } = randomCorpus(r, n, 2 + (it % 4), 1 + Math.floor(r() * 10));
      const path = join(dir, `idx${it}.sa`);
      const header = buildSuffixArrayIndex(path, tokens, starts, { lcp: it % 2 === 0 });
      assert.equal(header.nTokens, n);
      assert.equal(header.nDocs, starts.length - 1);
      const mem = SuffixArrayIndex.build(tokens, starts);
      const paged = SuffixArrayIndex.open(path, { blockSize: 64, cacheBytes: 512 });
      const loaded = SuffixArrayIndex.open(path, { inMemory: true });
      for (let q = 0; q < 60; q++) {
        let pat: number[];
        if (q % 3 === 0) pat = Array.from({ length: 1 + Math.floor(r() * 6) }, () => Math.floor(r() * 5));
        else { const p = Math.floor(r() * n); pat = Array.from(tokens.slice(p, p + 1 + Math.floor(r() * 12))); }
        const expected = bruteCount(tokens, starts, pat);
        for (const idx of [mem, paged, loaded]) {
          assert.equal(idx.count(pat), expected, `count it=${it} pat=${pat}`);
          assert.equal(idx.contains(pat), expected > 0);
        }
        const pos = mem.positions(pat);
        assert.equal(pos.length, expected);
        for (const p of pos) assert.deepEqual(Array.from(tokens.slice(p, p + pat.length)), pat);
        for (const p of pos) assert.ok(p + pat.length <= docEndOf(starts, p), 'occurrence crosses a document boundary');
      }
      // a k-gram that exists only across a document boundary must not be found
      if (starts.length > 2) {
        const b = starts[1]!;
        if (b >= 2 && b + 2 <= n) {
          const cross = Array.from(tokens.slice(b - 2, b + 2));
          assert.equal(mem.count(cross), bruteCount(tokens, starts, cross));
        }
      }
      // generated sequences: spliced corpus spans plus noise
      for (let g = 0; g < 4; g++) {
        const seq: number[] = [];
        while (seq.length < 80) {
          if (r() < 0.6) { const p = Math.floor(r() * n); seq.push(...tokens.slice(p, p + 1 + Math.floor(r() * 30))); }
          else seq.push(Math.floor(r() * 6));
        }
        const exp = bruteLongest(tokens, starts, seq);
        assert.deepEqual(Array.from(mem.longestMatches(seq)), exp, `longest it=${it}`);
        assert.deepEqual(Array.from(paged.longestMatches(seq)), exp);
        const scan = mem.scanMemorized(seq, 8);
        const cov = new Array<number>(seq.length).fill(0);
        exp.forEach((l, i) => { if (l >= 8) for (let j = i; j < i + l; j++) cov[j] = 1; });
        assert.deepEqual(Array.from(scan.covered), cov);
        assert.equal(scan.fractionMemorized, cov.reduce((a, b) => a + b, 0) / seq.length);
        assert.deepEqual(scan.kgramStarts, exp.flatMap((l, i) => (l >= 8 ? [i] : [])));
      }
      paged.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memorizedKgramCounts counts every emitted memorized k-gram', () => {
  const tokens = Uint16Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const idx = SuffixArrayIndex.build(tokens, [0, 5]);
  const counts = memorizedKgramCounts(idx, [[1, 2, 3, 9, 1, 2, 3], [2, 3, 4, 5, 6]], 3);
  assert.deepEqual(Object.fromEntries(counts), { '1,2,3': 2, '2,3,4': 1, '3,4,5': 1 });
  // 4,5,6 spans the document boundary at 5: not memorized
  assert.equal(idx.count([4, 5, 6]), 0);
  assert.equal(idx.count([5, 6]), 0);
  assert.equal(idx.count([6, 7]), 1);
});

test('index files: bad magic, truncation and wrong version are reported with the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-sa-'));
  try {
    const p = join(dir, 'x.sa');
    buildSuffixArrayIndex(p, Uint16Array.from([3, 1, 2, 3, 1]));
    const ok = SuffixArrayIndex.open(p);
    assert.equal(ok.count([3, 1]), 2);
    ok.close();
    const bytes = readFileSync(p);
    writeFileSync(join(dir, 'bad.sa'), Buffer.concat([Buffer.from('NOTANIDX'), bytes.subarray(8)]));
    assert.throws(() => SuffixArrayIndex.open(join(dir, 'bad.sa')), (e: unknown) => e instanceof IndexFormatError && /bad\.sa.*magic/.test(e.message));
    writeFileSync(join(dir, 'short.sa'), bytes.subarray(0, bytes.length - 8));
    assert.throws(() => SuffixArrayIndex.open(join(dir, 'short.sa')), IndexFormatError);
    const v2 = Buffer.from(bytes);
    const at = v2.indexOf('"version":1');
    v2.write('"version":2', at, 'latin1');
    writeFileSync(join(dir, 'v2.sa'), v2);
    assert.throws(() => SuffixArrayIndex.open(join(dir, 'v2.sa')), /version 2/);
    assert.throws(() => buildSuffixArrayIndex(join(dir, 'y.sa'), Uint16Array.from([1, 2]), [0, 5]), /boundary/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
