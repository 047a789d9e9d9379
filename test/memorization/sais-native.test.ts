/**
 * The native SA-IS (native/sais.c through the addon, src/memorization/sais-native.ts) against the TypeScript
 * SA-IS (sais.ts, the oracle) and brute force: random, repeated, periodic, run-heavy, Fibonacci and unary
 * texts of every integer type and alphabet regime (byte, 16-bit, large names → every bucket-placement branch
 * of the recursion), document-bounded corpora with unique separators, and the error contract.
 * The native tests are skipped (with the reason) when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suffixArray, SuffixArrayError, type IntText } from '../../src/memorization/sais.ts';
import {
  buildSuffixArray, nativeSuffixArray, nativeSuffixArrayStatus, resolveSuffixArrayBackend,
} from '../../src/memorization/sais-native.ts';
import { buildCorpusSuffixArray } from '../../src/memorization/corpus.ts';
import { rng, bruteSA, bruteCorpusSA } from './helpers.ts';
import { randomCorpus } from './corpus-fixture.ts';

const status = nativeSuffixArrayStatus();
const skipNative = status.available ? false : `native addon unavailable: ${status.reason}`;

type Gen = (n: number, r: () => number, k: number) => number[];
const gens: Record<string, Gen> = {
  random: (n, r, k) => Array.from({ length: n }, () => Math.floor(r() * k)),
  skewed: (n, r, k) => Array.from({ length: n }, () => Math.floor(Math.pow(r(), 4) * k)),
  unary: (n) => new Array<number>(n).fill(0),
  periodic: (n, r, k) => { const p = 1 + Math.floor(r() * 7); const base = Array.from({ length: p }, () => Math.floor(r() * k)); return Array.from({ length: n }, (_, i) => base[i % p]!); },
  periodicMutated: (n, r, k) => { const p = 2 + Math.floor(r() * 5); const base = Array.from({ length: p }, () => Math.floor(r() * k)); return Array.from({ length: n }, (_, i) => (r() < 0.02 ? Math.floor(r() * k) : base[i % p]!)); },
  repeatedBlocks: (n, r, k) => {
    const out: number[] = [];
    while (out.length < n) {
      if (out.length > 8 && r() < 0.6) { const s = Math.floor(r() * out.length); const len = 1 + Math.floor(r() * 40); for (let j = 0; j < len && out.length < n; j++) out.push(out[s + j] ?? 0); }
      else out.push(Math.floor(r() * k));
    }
    return out;
  },
  runs: (n, r, k) => { const out: number[] = []; while (out.length < n) { const c = Math.floor(r() * k); const len = 1 + Math.floor(r() * 30); for (let j = 0; j < len && out.length < n; j++) out.push(c); } return out; },
  fibonacci: (n) => { let a = [0]; let b = [0, 1]; while (b.length < n) { const c = b.concat(a); a = b; b = c; } return b.slice(0, n); },
};

function typed(a: number[], kind: number): IntText {
  const mx = a.reduce((x, y) => Math.max(x, y), 0);
  if (kind === 0 && mx < 256) return Uint8Array.from(a);
  if (kind <= 1 && mx < 65536) return Uint16Array.from(a);
  if (kind === 2) return Uint32Array.from(a);
  return Int32Array.from(a);
}

function same(a: Int32Array, b: Int32Array | number[], msg: string): void {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${msg}: first difference at rank ${i}: ${a[i]} vs ${b[i]}`);
}

test('native SA-IS equals TypeScript SA-IS and brute force on small texts of every type and alphabet size', { skip: skipNative }, () => {
  const r = rng(31337);
  let cases = 0;
  for (const [name, g] of Object.entries(gens)) {
    for (let it = 0; it < 90; it++) {
      const n = it < 8 ? it : 1 + Math.floor(r() * 300);
      const k = [2, 3, 4, 26, 256, 300, 5000, 70000][it % 8]!;
      const a = g(n, r, k);
      const T = typed(a, it % 4);
      const want = bruteSA(a);
      const nat = nativeSuffixArray(T);
      same(nat, want, `${name} n=${n} k=${k} ${T.constructor.name} native vs brute`);
      same(suffixArray(T), want, `${name} n=${n} ${T.constructor.name} typescript vs brute`);
      // an explicit, larger alphabet must not change the result
      same(nativeSuffixArray(T, { k: k + 17 }), want, `${name} n=${n} k+17 native`);
      cases++;
    }
  }
  assert.ok(cases >= 700);
});

test('native SA-IS equals TypeScript SA-IS on larger texts (recursion with small, medium and huge name alphabets)', { skip: skipNative }, () => {
  const r = rng(4711);
  const inputs: [string, IntText][] = [];
  // word-like bytes (names recursion with k < 256 and > 256 at the next level)
  const words = Array.from({ length: 800 }, () => Array.from({ length: 1 + Math.floor(r() * 9) }, () => 97 + Math.floor(r() * 26)));
  const text: number[] = [];
  while (text.length < 300_000) text.push(...words[Math.floor(Math.pow(r(), 3) * words.length)]!, 32);
  inputs.push(['words-u8', Uint8Array.from(text.slice(0, 300_000))]);
  inputs.push(['words-u16', Uint16Array.from(text.slice(0, 200_000).map((c, i) => (c * 131 + (i % 3)) % 60000))]);
  for (const k of [2, 4, 300, 1000, 3000, 40_000, 1_000_000]) {
    for (const [name, g] of Object.entries(gens)) {
      if (name === 'unary' && k > 2) continue;
      const n = 20_000 + Math.floor(r() * 30_000);
      const a = g(n, r, k);
      inputs.push([`${name}-k${k}`, k <= 256 ? Uint8Array.from(a) : k <= 65536 ? Uint16Array.from(a) : Uint32Array.from(a)]);
      inputs.push([`${name}-k${k}-i32`, Int32Array.from(a)]);
    }
  }
  // a run of the largest symbol, then low/high pairs (lows alternating between two halves of their range, or in
  // pairs), optionally repeated: reduced problems with about n/2 LMS names and free space about the run length,
  // which reach the recursion's rarer bucket placements (heap B with C in SA; C recounted when it cannot be kept)
  const alt = (L: number, half: number, lows: number, reps: number, strict: boolean): Uint8Array => {
    const body: number[] = [];
    for (let i = 0; i < half; i++) {
      const first = strict ? i % 2 === 0 : i % 4 < 2;
      body.push(first ? Math.floor(r() * lows) : lows + Math.floor(r() * lows), 20 + Math.floor(r() * 8));
    }
    const out: number[] = new Array<number>(L).fill(40);
    for (let c = 0; c < reps; c++) out.push(...body);
    return Uint8Array.from(out);
  };
  for (const [L, lows, reps, strict] of [[300, 3, 2, false], [700, 5, 2, true], [900, 5, 1, true], [1100, 5, 3, false]] as const) {
    inputs.push([`alt-L${L}-lows${lows}-x${reps}`, alt(L, 2000, lows, reps, strict)]);
  }
  inputs.push(['periodic-1M', Uint8Array.from({ length: 1_000_000 }, (_, i) => [1, 0, 1, 1, 0][i % 5]!)]);
  inputs.push(['unary-500k', new Uint16Array(500_000)]);
  for (const [name, T] of inputs) same(nativeSuffixArray(T), suffixArray(T), `${name} n=${T.length}`);
});


test('document-bounded corpus suffix array: native = TypeScript = brute force (unique separators, repeated documents)', { skip: skipNative }, () => {
  const r = rng(777);
  for (let it = 0; it < 150; it++) {
    const n = 1 + Math.floor(r() * 200);
    const { tokens, starts } = randomCorpus(r, n, 1 + Math.floor(r() * 5), 1 + Math.floor(r() * 15));
    const want = bruteCorpusSA(tokens, starts);
    same(buildCorpusSuffixArray(tokens, starts, { backend: 'native' }), want, `it=${it} native`);
    same(buildCorpusSuffixArray(tokens, starts, { backend: 'typescript' }), want, `it=${it} typescript`);
  }
  // many identical documents (every separator decides an order) and a large one, native vs TypeScript
  const doc = [5, 1, 5, 1, 2];
  const tokens = Uint16Array.from({ length: 5 * 3000 }, (_, i) => doc[i % 5]!);
  const starts = Array.from({ length: 3000 }, (_, d) => d * 5);
  same(buildCorpusSuffixArray(tokens, starts, { backend: 'native' }), buildCorpusSuffixArray(tokens, starts, { backend: 'typescript' }), 'identical documents');
  same(buildCorpusSuffixArray(tokens.subarray(0, 40), starts.slice(0, 8), { backend: 'native' }), bruteCorpusSA(tokens.subarray(0, 40), [...starts.slice(0, 8), 40]), 'identical documents, brute');
  const big = randomCorpus(r, 120_000, 50, 400);
  same(buildCorpusSuffixArray(big.tokens, big.starts, { backend: 'native' }), buildCorpusSuffixArray(big.tokens, big.starts, { backend: 'typescript' }), 'big corpus');
});

test('native builder: same errors as the TypeScript builder, out reuse, backend selection', { skip: skipNative }, () => {
  const bad: [IntText, number | undefined][] = [
    [Uint8Array.from([1, 5, 2]), 4],
    [Int32Array.from([1, -1, 2]), undefined],
    [Int32Array.from([1, -1, 2]), 8],
    [Uint32Array.from([1, 2 ** 31 + 5, 2]), undefined],
    [Uint16Array.from([1, 2]), 0],
  ];
  for (const [T, k] of bad) {
    let tsMsg = '';
    try { suffixArray(T, k === undefined ? {} : { k }); } catch (e) { assert.ok(e instanceof SuffixArrayError); tsMsg = (e as Error).message; }
    assert.notEqual(tsMsg, '', `TypeScript builder accepted ${T.constructor.name} [${Array.from(T)}] k=${k}`);
    assert.throws(() => nativeSuffixArray(T, k === undefined ? {} : { k }), (e: unknown) => e instanceof SuffixArrayError && (e as Error).message === tsMsg);
  }
  assert.throws(() => nativeSuffixArray(Uint8Array.from([1, 2, 3]), { out: new Int32Array(2) }), SuffixArrayError);
  same(nativeSuffixArray(new Uint8Array(0)), [], 'empty');
  same(nativeSuffixArray(Uint8Array.from([9])), [0], 'one symbol');
  const out = new Int32Array(10).fill(-7);
  const T = Uint8Array.from([2, 1, 2, 1, 0, 2]);
  const sa = nativeSuffixArray(T, { out });
  assert.equal(sa.buffer, out.buffer);
  same(sa, bruteSA(Array.from(T)), 'out');
  assert.equal(out[6], -7);
  assert.equal(resolveSuffixArrayBackend('native'), 'native');
  assert.equal(resolveSuffixArrayBackend('typescript'), 'typescript');
  assert.equal(resolveSuffixArrayBackend('auto'), 'native');
  assert.throws(() => resolveSuffixArrayBackend('gpu' as never), /unknown suffix-array backend "gpu"/);
  same(buildSuffixArray(T, { backend: 'typescript' }), bruteSA(Array.from(T)), 'typescript via buildSuffixArray');
});

test('the TypeScript builder is used when asked for, and buildSuffixArray works with or without the addon', () => {
  const r = rng(5);
  const a = gens.repeatedBlocks!(500, r, 4);
  const T = Uint8Array.from(a);
  same(buildSuffixArray(T, { backend: 'typescript' }), bruteSA(a), 'typescript');
  same(buildSuffixArray(T), bruteSA(a), `auto (${resolveSuffixArrayBackend()})`);
  if (!status.available) assert.throws(() => buildSuffixArray(T, { backend: 'native' }), /native suffix-array builder unavailable/);
});
