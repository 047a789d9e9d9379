// The strict JSON parser against JSON.parse (the independent oracle) on valid and invalid inputs, plus
// what JSON.parse cannot do: duplicate keys, depth bound, exact number literals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumber, JsonParseError, parseJsonStrict, parseJsonTree } from '../../src/io/json.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0), s / 2 ** 32);
}

/** Re-create objects with the ordinary prototype so deepEqual compares content only. */
function norm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 5 : 7));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, -0.5, 1e21, 123456789, -3.25e-7, 2 ** 53 + 1][Math.floor(r() * 6)];
    case 3: return ['', 'a', 'é\u2028"\\/\n\t\u0001', '𝄞 x', '__proto__'][Math.floor(r() * 5)];
    case 4: return 'str' + Math.floor(r() * 100);
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[['k', 'key', 'é', 'a b'][Math.floor(r() * 4)]! + i] = randomValue(r, depth + 1);
      return o;
    }
  }
}

test('agrees with JSON.parse on random valid documents (incl. whitespace and escapes)', () => {
  const r = rng(1);
  for (let i = 0; i < 2000; i++) {
    const v = randomValue(r, 0);
    const text = JSON.stringify(v, null, i % 3 === 0 ? 2 : undefined);
    assert.deepEqual(norm(parseJsonStrict(text)), JSON.parse(text), text);
  }
  // escapes decoded as JSON.parse does
  const t = '{"a\\u00e9\\ud834\\udd1e":"\\"\\\\\\/\\b\\f\\n\\r\\t"}';
  assert.deepEqual({ ...(parseJsonStrict(t) as object) }, JSON.parse(t));
});

test('rejects what JSON.parse rejects (random corruptions of valid documents)', () => {
  const r = rng(2);
  const junk = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u12', 'tru', 'nul', '01', '-', '1.', '.5', '1e', '+1', 'NaN', '\u0000', "'", '//'];
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const text = JSON.stringify(randomValue(r, 0));
    const at = Math.floor(r() * (text.length + 1));
    const bad = text.slice(0, at) + junk[Math.floor(r() * junk.length)] + text.slice(at + (r() < 0.5 ? 1 : 0));
    let ref: unknown;
    let refOk = true;
    try {
      ref = JSON.parse(bad);
    } catch {
      refOk = false;
    }
    let mine: unknown;
    let mineErr: unknown;
    try {
      mine = parseJsonStrict(bad);
    } catch (e) {
      mineErr = e;
    }
    if (!refOk) {
      assert.ok(mineErr instanceof JsonParseError, `accepted invalid JSON ${JSON.stringify(bad)}`);
      rejected++;
    } else if (mineErr) {
      // only a duplicate key may make us stricter than JSON.parse
      assert.ok(mineErr instanceof JsonParseError && mineErr.code === 'duplicate_key', `rejected valid JSON ${JSON.stringify(bad)}: ${mineErr}`);
    } else {
      assert.deepEqual(norm(mine), norm(ref));
    }
  }
  assert.ok(rejected > 1000);
});

test('duplicate keys are rejected at any depth, with key and path', () => {
  const cases: [string, string[], string][] = [
    ['{"a":1,"a":2}', [], 'a'],
    ['{"x":{"dtype":"F32","dtype":"F16"}}', ['x'], 'dtype'],
    ['{"x":[{"q":1,"q":1}]}', ['x'], 'q'],
    ['{"a\\u0062":1,"ab":2}', [], 'ab'], // same key after unescaping
  ];
  for (const [text, path, key] of cases) {
    assert.throws(() => parseJsonTree(text), (e: unknown) => e instanceof JsonParseError && e.code === 'duplicate_key' && e.key === key && JSON.stringify(e.path) === JSON.stringify(path), text);
  }
  assert.deepEqual(Object.keys(parseJsonStrict('{"a":{"b":1},"b":{"b":2}}') as object), ['a', 'b']);
});

test('nesting depth is bounded without stack overflow; numbers keep their literal', () => {
  const deep = '['.repeat(200000) + ']'.repeat(200000);
  assert.throws(() => parseJsonTree(deep), (e: unknown) => e instanceof JsonParseError && e.code === 'too_deep');
  assert.doesNotThrow(() => parseJsonTree('['.repeat(64) + ']'.repeat(64)));
  assert.throws(() => parseJsonTree('['.repeat(65) + ']'.repeat(65)), /deeper than 64/);
  const v = parseJsonTree('[18446744073709551616, 9007199254740991, 9007199254740992, 1e3, 0, -1, 1.0, 007]'.replace(', 007', '')) as JsonNumber[];
  assert.deepEqual(v.map((x) => x.raw), ['18446744073709551616', '9007199254740991', '9007199254740992', '1e3', '0', '-1', '1.0']);
  assert.deepEqual(v.map((x) => x.safeNonNegativeInteger()), [null, 9007199254740991, null, null, 0, null, null]);
  // __proto__ is an ordinary key
  const o = parseJsonStrict('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), null);
  assert.deepEqual(Object.keys(o), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
