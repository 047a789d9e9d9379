import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashString32 } from '../../src/data/rng.ts';

/** Independent xoshiro128** in BigInt arithmetic (straight from the reference C code). */
function refXoshiro(s: bigint[], n: number): number[] {
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = (rotl((s[1]! * 5n) & M, 7n) * 9n) & M;
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!; s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
    out.push(Number(result));
  }
  return out;
}

test('xoshiro128** matches an independent BigInt implementation', () => {
  for (const st of [[1, 2, 3, 4], [0xdeadbeef, 0x12345678, 0xffffffff, 7]] as const) {
    const r = Rng.fromState({ algo: 'xoshiro128**', s: [...st] as [number, number, number, number] });
    const ours = Array.from({ length: 1000 }, () => r.u32());
    assert.deepEqual(ours, refXoshiro(st.map(BigInt), 1000));
  }
  // Published first output for state {1,2,3,4}: rotl(2*5, 7) * 9 = 11520.
  assert.equal(Rng.fromState({ algo: 'xoshiro128**', s: [1, 2, 3, 4] }).u32(), 11520);
});

test('state export/import resumes the exact stream', () => {
  const a = new Rng(42);
  for (let i = 0; i < 17; i++) a.u32();
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const next = Array.from({ length: 50 }, () => a.int(1000));
  const b = Rng.fromState(saved);
  assert.deepEqual(Array.from({ length: 50 }, () => b.int(1000)), next);
  assert.throws(() => Rng.fromState({ algo: 'xoshiro128**', s: [0, 0, 0, 0] }), /all-zero/);
  assert.throws(() => Rng.fromState({ algo: 'nope', s: [1, 2, 3, 4] } as never), /invalid state/);
});

test('seeds and derived streams are deterministic and distinct', () => {
  assert.deepEqual([new Rng(7).u32(), new Rng(7).u32()], [new Rng(7).u32(), new Rng(7).u32()]);
  assert.notEqual(new Rng(7).u32(), new Rng(8).u32());
  assert.equal(Rng.derive(1, 'a', 2).u32(), Rng.derive(1, 'a', 2).u32());
  assert.notEqual(Rng.derive(1, 'a').u32(), Rng.derive(1, 'b').u32());
  assert.notEqual(Rng.derive(1, 'a').u32(), Rng.derive(2, 'a').u32());
  assert.notEqual(new Rng(2 ** 40).u32(), new Rng(2 ** 40 + 1).u32());
  assert.equal(hashString32('abc'), hashString32('abc'));
  assert.notEqual(hashString32('abc'), hashString32('abd'));
});

test('int(n) is uniform (chi-square) and float in [0,1)', () => {
  const r = new Rng(123);
  const n = 7, N = 70000;
  const c = new Array(n).fill(0);
  for (let i = 0; i < N; i++) c[r.int(n)]++;
  const chi = c.reduce((a, x) => a + (x - N / n) ** 2 / (N / n), 0);
  assert.ok(chi < 22.46, `chi-square ${chi} (df 6, p=0.001 critical 22.46)`);
  let lo = 1, hi = 0;
  for (let i = 0; i < 10000; i++) { const f = r.float(); lo = Math.min(lo, f); hi = Math.max(hi, f); }
  assert.ok(lo >= 0 && hi < 1 && lo < 0.01 && hi > 0.99);
  assert.throws(() => r.int(0), /positive integer/);
  const big = r.int(2 ** 40);
  assert.ok(big >= 0 && big < 2 ** 40 && Number.isInteger(big));
});

test('gamma and normal have the right moments', () => {
  const r = new Rng(5);
  for (const k of [0.3, 1, 4.5]) {
    let s = 0, s2 = 0;
    const N = 40000;
    for (let i = 0; i < N; i++) { const g = r.gamma(k); s += g; s2 += g * g; }
    const mean = s / N, v = s2 / N - mean * mean;
    assert.ok(Math.abs(mean - k) < 4 * Math.sqrt(k / N), `gamma(${k}) mean ${mean}`);
    assert.ok(Math.abs(v - k) / k < 0.08, `gamma(${k}) var ${v}`);
  }
  let s = 0, s2 = 0;
  for (let i = 0; i < 40000; i++) { const x = r.normal(); s += x; s2 += x * x; }
  assert.ok(Math.abs(s / 40000) < 0.02 && Math.abs(s2 / 40000 - 1) < 0.03);
});

test('shuffle is a permutation; weighted follows weights', () => {
  const r = new Rng(9);
  const a = Array.from({ length: 100 }, (_, i) => i);
  const b = r.shuffle([...a]);
  assert.notDeepEqual(b, a);
  assert.deepEqual([...b].sort((x, y) => x - y), a);
  const c = [0, 0, 0];
  for (let i = 0; i < 30000; i++) c[r.weighted([1, 0, 3])]++;
  assert.equal(c[1], 0);
  assert.ok(Math.abs(c[2]! / 30000 - 0.75) < 0.015);
});
