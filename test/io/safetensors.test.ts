// Safetensors reader/writer: round trips of every dtype, byte-identity with the reference (PyTorch-side)
// writer on the shared fixtures, fixture contents checked against an independent header parse and the
// golden loss, sharded directories, and one crafted file per rejection reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  DTYPES, SafetensorsError, openSafetensors, openSafetensorsDir, parseSafetensors, serializeSafetensors,
  writeSafetensors, writeSafetensorsSharded, type Dtype, type SafetensorsErrorReason, type TensorToWrite,
} from '../../src/io/safetensors.ts';

const FIX = new URL('../../../shared/fixtures/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'lmlab-st-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Independent header parse (JSON.parse; fine for trusted fixtures). */
function rawHeader(path: string): { n: number; h: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; buf: Buffer } {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return { n, h: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), buf };
}

function expectReason(fn: () => unknown, reason: SafetensorsErrorReason, mention?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.equal(e.reason, reason, e.message);
    if (mention) assert.ok(e.message.includes(mention), `message ${JSON.stringify(e.message)} should mention ${mention}`);
    return true;
  });
}

// ------------------------------------------------------------------ round trips

function sampleTensors(): Record<string, TensorToWrite> {
  const f32 = Float32Array.from([0, -0, 1.5, -2.25e-39 /* subnormal */, 3.4028234663852886e38, Infinity, -Infinity, NaN, 1e-45, Math.PI]);
  return {
    f64: { dtype: 'F64', shape: [2, 3], data: Float64Array.from([0, -0, Number.MIN_VALUE, Number.MAX_VALUE, -Infinity, NaN]) },
    f32: { dtype: 'F32', shape: [10], data: f32 },
    f16: { dtype: 'F16', shape: [5, 2], data: Uint16Array.from([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3c00]) },
    bf16: { dtype: 'BF16', shape: [2, 5], data: Uint16Array.from([0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0x3f80]) },
    i64: { dtype: 'I64', shape: [4], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]) },
    i32: { dtype: 'I32', shape: [3], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 16777217]) },
    i16: { dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    i8: { dtype: 'I8', shape: [2], data: Int8Array.from([-128, 127]) },
    u64: { dtype: 'U64', shape: [2], data: BigUint64Array.from([0n, 2n ** 64n - 1n]) },
    u32: { dtype: 'U32', shape: [2], data: Uint32Array.from([0, 2 ** 32 - 1]) },
    u16: { dtype: 'U16', shape: [2], data: Uint16Array.from([0, 65535]) },
    u8: { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
    bool: { dtype: 'BOOL', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.from([42]) },
    empty: { dtype: 'F16', shape: [0, 7], data: new Uint16Array(0) },
    'zero.i64': { dtype: 'I64', shape: [3, 0], data: new BigInt64Array(0) },
  };
}

/** Expected f32 value of element i of a tensor, computed independently of dtype.ts. */
function expectedF32(dtype: Dtype, v: number | bigint): number {
  if (dtype === 'F16') {
    const h = v as number;
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  if (dtype === 'BF16') return new DataView(new Uint8Array([0, 0, (v as number) & 0xff, (v as number) >> 8]).buffer).getFloat32(0, true);
  if (dtype === 'BOOL') return v ? 1 : 0;
  return Math.fround(Number(v));
}

test('round trip of every dtype (edge values, scalar, empty), read() and readF32()', () => {
  const tensors = sampleTensors();
  assert.deepEqual(new Set(Object.values(tensors).map((t) => t.dtype)), new Set(DTYPES), 'sample covers every dtype');
  const path = join(tmp, 'all.safetensors');
  writeSafetensors(path, tensors, { format: 'pt', note: 'é ✓ 𝄞', __proto__x: '1' });
  const r = openSafetensors(path);
  assert.deepEqual({ ...r.metadata }, { format: 'pt', note: 'é ✓ 𝄞', __proto__x: '1' });
  assert.deepEqual([...r.tensors.keys()], Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const info = r.info(name);
    assert.equal(info.dtype, t.dtype);
    assert.deepEqual(info.shape, t.shape);
    const got = r.read(name);
    assert.equal(got.constructor, t.data!.constructor, name);
    const gb = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
    const wb = new Uint8Array(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
    assert.deepEqual(gb, wb, `${name}: bytes differ`);
    const f = r.readF32(name);
    assert.equal(f.length, t.data!.length);
    for (let i = 0; i < f.length; i++) {
      const want = expectedF32(t.dtype, (t.data as unknown as ArrayLike<number | bigint>)[i]!);
      assert.ok(Object.is(f[i], want) || (Number.isNaN(want) && Number.isNaN(f[i]!)), `${name}[${i}]: ${f[i]} vs ${want}`);
    }
  }
  r.close();
  expectReason(() => r.read('f32'), 'closed', 'all.safetensors');
  // a metadata key named __proto__ is data, not a prototype
  const md = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
  const r2 = parseSafetensors(serializeSafetensors({}, md));
  assert.deepEqual(Object.entries(r2.metadata), [['__proto__', 'x'], ['a', 'b']]);
});

test('writer converts Float32Array to F16/BF16 (nearest even) and F64↔F32; header padded to 8', () => {
  const x = Float32Array.from([1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
  const bytes = serializeSafetensors({
    h: { dtype: 'F16', shape: [6], data: x },
    b: { dtype: 'BF16', shape: [6], data: x },
    w: { dtype: 'F64', shape: [6], data: x },
    n: { dtype: 'F32', shape: [2], data: Float64Array.from([0.1, 1e300]) },
  });
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const r = parseSafetensors(bytes);
  assert.deepEqual([...r.read('h')], [0x3c00, 0x3c00, 0x3c02, 0x7c00, 0x3c04, 0x3c0c]);
  assert.deepEqual([...r.readF32('b')], [1, 1, 1, 65536, 1, 1 + 2 ** -6]);
  assert.deepEqual([...r.read('w')], [...x]);
  assert.deepEqual([...r.read('n')], [Math.fround(0.1), Infinity]);
});

test('writer rejects bad input with invalid_argument', () => {
  const p = join(tmp, 'bad.safetensors');
  expectReason(() => writeSafetensors(p, { a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), 'invalid_argument', '"a"');
  expectReason(() => writeSafetensors(p, { a: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }), 'invalid_argument', 'Int32Array');
  expectReason(() => writeSafetensors(p, { a: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([0, 2]) } }), 'invalid_argument', '0 or 1');
  expectReason(() => writeSafetensors(p, { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }), 'invalid_argument', 'reserved');
  expectReason(() => writeSafetensors(p, { a: { dtype: 'X' as Dtype, shape: [0], data: new Uint8Array(0) } }), 'invalid_argument');
  expectReason(() => writeSafetensors(p, { a: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } }), 'invalid_argument');
  expectReason(() => writeSafetensors(p, {}, { k: 5 as unknown as string }), 'invalid_argument', 'metadata');
  // raw bytes path
  writeSafetensors(p, { a: { dtype: 'I16', shape: [2], bytes: Uint8Array.from([1, 0, 255, 255]) } });
  assert.deepEqual([...openSafetensors(p).read('a')], [1, -1]);
});

// ------------------------------------------------------------------ fixtures

test('fixtures: rewriting every fixture file with our writer reproduces it byte for byte', () => {
  for (const f of ['gpt2-tiny/model.safetensors', 'gpt2-tiny/golden.safetensors', 'llama-tiny/model.safetensors', 'neox-tiny/model.safetensors', 'neox-tiny/golden.safetensors', 'llama-tiny/golden.safetensors']) {
    const r = openSafetensors(FIX + f);
    const m = new Map([...r.tensors.values()].map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: r.read(t.name) }]));
    const ours = serializeSafetensors(m, Object.keys(r.metadata).length ? { ...r.metadata } : null);
    r.close();
    assert.ok(Buffer.from(ours).equals(readFileSync(FIX + f)), `${f} differs from the reference writer's bytes`);
  }
});

test('fixtures: gpt2-tiny names, shapes and F32 values match an independent parse', () => {
  const path = FIX + 'gpt2-tiny/model.safetensors';
  const { n, h, buf } = rawHeader(path);
  const r = openSafetensorsDir(FIX + 'gpt2-tiny');
  assert.equal(r.metadata.format, 'pt');
  const names = ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias'];
  for (let l = 0; l < 2; l++) for (const s of ['ln_1.weight', 'ln_1.bias', 'attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias', 'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias']) names.push(`transformer.h.${l}.${s}`);
  assert.deepEqual([...r.tensors.keys()].sort(), names.sort());
  assert.deepEqual(r.info('transformer.wte.weight').shape, [96, 32]);
  assert.deepEqual(r.info('transformer.wpe.weight').shape, [16, 32]);
  assert.deepEqual(r.info('transformer.h.1.attn.c_attn.weight').shape, [32, 96]); // Conv1D [in, out]
  assert.deepEqual(r.info('transformer.h.0.mlp.c_proj.weight').shape, [128, 32]);
  for (const [name, e] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    const t = r.info(name);
    assert.equal(t.dtype, 'F32');
    assert.deepEqual(t.dataOffsets, e.data_offsets);
    const got = r.readF32(name);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], buf.readFloatLE(8 + n + e.data_offsets[0] + 4 * i));
  }
  // sane values: wte ~ N(0, 0.02), ln weights ~ 1 + N(0, 0.1)
  const wte = r.readF32('transformer.wte.weight');
  const sd = Math.sqrt(wte.reduce((a, x) => a + x * x, 0) / wte.length);
  assert.ok(sd > 0.015 && sd < 0.025, `wte std ${sd}`);
  const ln = r.readF32('transformer.ln_f.weight');
  assert.ok(Math.abs(ln.reduce((a, x) => a + x, 0) / ln.length - 1) < 0.1);
  r.close();
});

test('fixtures: gpt2 golden logits [2,16,96] (F64) reproduce the golden loss', () => {
  const g = openSafetensors(FIX + 'gpt2-tiny/golden.safetensors');
  const gold = JSON.parse(readFileSync(FIX + 'gpt2-tiny/golden.json', 'utf8')) as { targets: number[][]; loss: number };
  const info = g.info('logits');
  assert.equal(info.dtype, 'F64');
  assert.deepEqual(info.shape, [2, 16, 96]);
  assert.equal(g.tensors.size, 1 + 28 + 28);
  const logits = g.read('logits') as Float64Array;
  assert.ok(logits instanceof Float64Array);
  let loss = 0;
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < 16; t++) {
      const row = logits.subarray((b * 16 + t) * 96, (b * 16 + t + 1) * 96);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      loss += lse - row[gold.targets[b]![t]!]!;
    }
  }
  loss /= 32;
  assert.ok(Math.abs(loss - gold.loss) < 1e-12, `loss ${loss} vs golden ${gold.loss}`);
  g.close();
});

test('fixtures: llama-tiny BF16 converts exactly (bits << 16) and values are sane; neox logits shape', () => {
  const path = FIX + 'llama-tiny/model.safetensors';
  const { n, h, buf } = rawHeader(path);
  const r = openSafetensors(path);
  assert.equal(r.tensors.size, 21);
  assert.deepEqual(r.info('model.layers.0.self_attn.k_proj.weight').shape, [16, 32]); // 2 KV heads × 8
  assert.deepEqual(r.info('model.layers.1.mlp.down_proj.weight').shape, [32, 88]);
  for (const [name, e] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    assert.equal(e.dtype, 'BF16');
    const f = r.readF32(name);
    const bits = r.read(name) as Uint16Array;
    assert.ok(bits instanceof Uint16Array);
    for (let i = 0; i < f.length; i++) {
      const off = 8 + n + e.data_offsets[0] + 2 * i;
      const want = new DataView(new Uint8Array([0, 0, buf[off]!, buf[off + 1]!]).buffer).getFloat32(0, true);
      assert.equal(f[i], want);
      assert.ok(Number.isFinite(f[i]));
    }
  }
  const norm = r.readF32('model.norm.weight');
  const mean = norm.reduce((a, x) => a + x, 0) / norm.length;
  assert.ok(Math.abs(mean - 1) < 0.1, `norm mean ${mean}`);
  const q = r.readF32('model.layers.0.self_attn.q_proj.weight');
  const sd = Math.sqrt(q.reduce((a, x) => a + x * x, 0) / q.length);
  assert.ok(sd > 0.015 && sd < 0.025, `q std ${sd}`);
  r.close();
  const gl = openSafetensors(FIX + 'llama-tiny/golden.safetensors');
  assert.deepEqual(gl.info('logits').shape, [2, 12, 72]);
  gl.close();
  const gn = openSafetensors(FIX + 'neox-tiny/golden.safetensors');
  assert.deepEqual(gn.info('logits').shape, [2, 12, 80]);
  gn.close();
});

// ------------------------------------------------------------------ lazy reading

test('readF32Into converts in bounded chunks (tiny chunk size gives the same result), F32 reads in place', () => {
  const n = 1001;
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
  const bytes = serializeSafetensors({
    a: { dtype: 'BF16', shape: [n], data: x },
    b: { dtype: 'F16', shape: [7, 143], data: x },
    c: { dtype: 'I64', shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 7919 - 3000)) },
    d: { dtype: 'F32', shape: [n], data: x },
    e: { dtype: 'F64', shape: [n], data: x },
  });
  const big = parseSafetensors(bytes);
  const small = parseSafetensors(bytes, 'small', { chunkBytes: 24 });
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    const out = new Float32Array(n + 10).fill(-7);
    small.readF32Into(name, out.subarray(5, 5 + n));
    assert.deepEqual(out.subarray(5, 5 + n), big.readF32(name), name);
    assert.equal(out[4], -7);
    assert.equal(out[5 + n], -7);
  }
  assert.deepEqual(big.readF32('d'), x);
  expectReason(() => big.readF32Into('a', new Float32Array(3)), 'invalid_argument', '"a"');
  expectReason(() => big.read('nope'), 'unknown_tensor', '"nope"');
});

test('a file that shrinks after opening gives short_read, not garbage', () => {
  const p = join(tmp, 'shrink.safetensors');
  writeSafetensors(p, { a: { dtype: 'F32', shape: [100], data: new Float32Array(100) }, b: { dtype: 'F32', shape: [100], data: new Float32Array(100) } });
  const r = openSafetensors(p);
  truncateSync(p, 500);
  expectReason(() => r.read('b'), 'short_read', 'shrink.safetensors');
  r.close();
  expectReason(() => openSafetensors(join(tmp, 'missing.safetensors')), 'io_error', 'missing.safetensors');
  expectReason(() => openSafetensors(tmp), 'io_error', 'not a regular file');
  // a FIFO must be rejected, not block waiting for a writer
  const fifo = join(tmp, 'fifo.safetensors');
  if (spawnSync('mkfifo', [fifo]).status === 0) expectReason(() => openSafetensors(fifo), 'io_error', 'not a regular file');
});

test('large tensors are read in several requests (maxReadBytes) with identical results', () => {
  const p = join(tmp, 'pieces.safetensors');
  const x = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5);
  writeSafetensors(p, { a: { dtype: 'F32', shape: [1000], data: x }, b: { dtype: 'I16', shape: [3], data: Int16Array.from([1, 2, 3]) } });
  const r = openSafetensors(p, { maxReadBytes: 7 });
  assert.deepEqual(r.read('a'), x);
  assert.deepEqual(r.readF32('a'), x);
  assert.deepEqual([...r.read('b')], [1, 2, 3]);
  r.close();
});

// ------------------------------------------------------------------ sharded

test('sharded write/read: shards, index, weight_map validation', () => {
  const dir = join(tmp, 'sharded');
  const tensors: Record<string, TensorToWrite> = {};
  for (let i = 0; i < 7; i++) tensors[`layer.${i}.w`] = { dtype: 'F32', shape: [10, 10], data: Float32Array.from({ length: 100 }, (_, j) => i * 1000 + j) };
  tensors['emb'] = { dtype: 'BF16', shape: [300], data: new Float32Array(300).fill(0.5) };
  const files = writeSafetensorsSharded(dir, tensors, { maxShardBytes: 500, metadata: { format: 'pt' } });
  assert.equal(files.length, 8 + 1); // the 600-byte emb is above the limit: a shard of its own
  assert.ok(files[0]!.endsWith('model-00001-of-00008.safetensors'));
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(index.metadata.total_size, 7 * 400 + 600);
  const r = openSafetensorsDir(dir);
  assert.equal(r.files.length, 8);
  assert.equal(r.indexMetadata!.total_size, 3400);
  assert.equal(r.metadata.format, 'pt');
  assert.deepEqual([...r.tensors.keys()].sort(), Object.keys(tensors).sort());
  for (let i = 0; i < 7; i++) assert.deepEqual(r.readF32(`layer.${i}.w`), tensors[`layer.${i}.w`]!.data);
  assert.deepEqual([...r.readF32('emb')], new Array(300).fill(0.5));
  assert.equal(r.info('layer.3.w').file, join(dir, index.weight_map['layer.3.w']));
  r.close();

  const idx = join(dir, 'model.safetensors.index.json');
  const orig = readFileSync(idx, 'utf8');
  const withIndex = (mut: (o: { weight_map: Record<string, string> }) => void) => {
    const o = JSON.parse(orig);
    mut(o);
    writeFileSync(idx, JSON.stringify(o));
  };
  withIndex((o) => (o.weight_map['layer.0.w'] = o.weight_map['layer.1.w']!));
  expectReason(() => openSafetensorsDir(dir), 'index_mismatch', '"layer.0.w"');
  writeFileSync(idx, orig);
  // a shard holding a tensor the weight_map does not list
  const shard1 = readFileSync(files[0]!);
  writeSafetensors(files[0]!, { emb: tensors['emb']!, extra: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) } });
  expectReason(() => openSafetensorsDir(dir), 'index_mismatch', 'does not list it');
  writeFileSync(files[0]!, shard1);
  withIndex((o) => (o.weight_map['ghost'] = o.weight_map['emb']!));
  expectReason(() => openSafetensorsDir(dir), 'index_mismatch', '"ghost"');
  withIndex((o) => (o.weight_map['emb'] = '../../etc/passwd'));
  expectReason(() => openSafetensorsDir(dir), 'invalid_index', 'plain file name');
  withIndex((o) => (o.weight_map['emb'] = 5 as unknown as string));
  expectReason(() => openSafetensorsDir(dir), 'invalid_index', '"emb"');
  withIndex((o) => (o.weight_map = undefined as unknown as Record<string, string>));
  expectReason(() => openSafetensorsDir(dir), 'invalid_index', 'weight_map');
  writeFileSync(idx, orig.replace('"weight_map": {', '"weight_map": {"emb": "model-00001-of-00008.safetensors",'));
  expectReason(() => openSafetensorsDir(dir), 'invalid_index', 'duplicate JSON key "emb"');
  writeFileSync(idx, orig);
  unlinkSync(files[3]!);
  expectReason(() => openSafetensorsDir(dir), 'missing_shard', 'model-00004-of-00008.safetensors');
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  expectReason(() => openSafetensorsDir(empty), 'no_checkpoint', empty);
  // everything fits one shard → plain model.safetensors, no index
  const one = writeSafetensorsSharded(join(tmp, 'one'), tensors);
  assert.deepEqual(one, [join(tmp, 'one', 'model.safetensors')]);
  assert.equal(openSafetensorsDir(join(tmp, 'one')).tensors.size, 8);
});

// ------------------------------------------------------------------ one crafted file per reason

function craft(header: string, data: Uint8Array | number = 0, lengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(h.length));
  return Buffer.concat([len, h, typeof data === 'number' ? Buffer.alloc(data) : data]);
}
const E = (dtype: string, shape: unknown, offs: unknown) => JSON.stringify({ dtype, shape, data_offsets: offs });

test('every malformed-header class is rejected with its reason and names file and tensor', () => {
  const cases: [string, Uint8Array, SafetensorsErrorReason, string?][] = [
    ['tiny', Uint8Array.from([1, 2, 3]), 'file_too_small'],
    ['huge-length', craft('{}', 0, 2n ** 63n), 'header_too_large', '9223372036854775808'],
    ['truncated-header', craft('{"a":' + E('F32', [1], [0, 4]) + '}', 0, 200n), 'header_out_of_bounds'],
    ['bad-utf8', craft('{"a":1}').map((b, i) => (i === 10 ? 0xff : b)), 'invalid_utf8'],
    ['not-json', craft('{"a":}'), 'invalid_json'],
    ['array-header', craft('[1,2]   '), 'invalid_json', "start with '{'"],
    ['leading-space', craft(' {}'), 'invalid_json'],
    ['deep', craft('{"a":' + '['.repeat(50) + ']'.repeat(50) + '}'), 'invalid_json', 'deeper'],
    ['dup-tensor', craft(`{"w":${E('F32', [1], [0, 4])},"w":${E('F32', [1], [4, 8])}}`, 8), 'duplicate_tensor', '"w"'],
    ['dup-entry-key', craft(`{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, 4), 'invalid_tensor_entry', '"w"'],
    ['dup-metadata', craft('{"__metadata__":{"a":"1","a":"2"}}'), 'invalid_metadata', '"a"'],
    ['metadata-number', craft('{"__metadata__":{"a":1}}'), 'invalid_metadata', '"a"'],
    ['metadata-array', craft('{"__metadata__":["a"]}'), 'invalid_metadata'],
    ['entry-string', craft('{"w":"F32"}'), 'invalid_tensor_entry', '"w"'],
    ['entry-extra-key', craft(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), 'invalid_tensor_entry', '"x"'],
    ['entry-missing', craft(`{"w":{"dtype":"F32","shape":[1]}}`, 4), 'invalid_tensor_entry', 'data_offsets'],
    ['empty-name', craft(`{"":${E('F32', [1], [0, 4])}}`, 4), 'invalid_tensor_entry', 'empty'],
    ['dtype-f8', craft(`{"w":${E('F8_E4M3', [1], [0, 1])}}`, 1), 'unsupported_dtype', 'does not support'],
    ['dtype-junk', craft(`{"w":${E('float', [1], [0, 4])}}`, 4), 'unsupported_dtype', '"w"'],
    ['shape-neg', craft(`{"w":${E('F32', [-1], [0, 4])}}`, 4), 'invalid_shape', '"w"'],
    ['shape-float', craft(`{"w":${E('F32', [1.5], [0, 4])}}`, 4), 'invalid_shape'],
    ['shape-exp', craft(`{"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, 4), 'invalid_shape'],
    ['shape-huge', craft(`{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}`, 4), 'invalid_shape'],
    ['shape-rank', craft(`{"w":${E('F32', new Array(65).fill(1), [0, 4])}}`, 4), 'invalid_shape', '65 dimensions'],
    ['offsets-3', craft(`{"w":${E('F32', [1], [0, 4, 8])}}`, 4), 'invalid_offsets'],
    ['offsets-rev', craft(`{"w":${E('F32', [0], [4, 0])}}`, 4), 'invalid_offsets', 'begin 4 > end 0'],
    ['offsets-str', craft(`{"w":${E('F32', [1], ['0', '4'])}}`, 4), 'invalid_offsets'],
    ['size', craft(`{"w":${E('F32', [2], [0, 4])}}`, 4), 'size_mismatch', 'needs 8 bytes'],
    ['size-overflow', craft(`{"w":${E('F64', [2 ** 30, 2 ** 30, 2 ** 30], [0, 8])}}`, 8), 'size_mismatch', 'more than 2^53'],
    ['oob', craft(`{"w":${E('F32', [2], [0, 8])}}`, 4), 'offset_out_of_bounds', '"w"'],
    ['overlap', craft(`{"a":${E('F32', [2], [0, 8])},"b":${E('F32', [1], [4, 8])}}`, 8), 'overlap', '"a"'],
    ['gap', craft(`{"a":${E('F32', [1], [0, 4])},"b":${E('F32', [1], [8, 12])}}`, 12), 'gap', '"b"'],
    ['gap-start', craft(`{"a":${E('F32', [1], [4, 8])}}`, 8), 'gap', '"a"'],
    ['trailing', craft(`{"a":${E('F32', [1], [0, 4])}}`, 12), 'trailing_data', '8 trailing bytes'],
  ];
  for (const [label, bytes, reason, mention] of cases) {
    expectReason(() => parseSafetensors(bytes, `crafted-${label}.safetensors`, { maxHeaderBytes: 1 << 20 }), reason, mention);
    expectReason(() => parseSafetensors(bytes, `crafted-${label}.safetensors`), reason, `crafted-${label}.safetensors`);
  }
  // the header-size bound applies before allocating
  expectReason(() => parseSafetensors(craft('{}' + ' '.repeat(2000)), 'x', { maxHeaderBytes: 1000 }), 'header_too_large', 'limit of 1000');
  // valid edge cases: empty header, zero-size tensors sharing an offset, trailing whitespace padding
  assert.equal(parseSafetensors(craft('{}')).tensors.size, 0);
  assert.equal(parseSafetensors(craft(`{"a":${E('F32', [0], [0, 0])},"b":${E('F32', [1], [0, 4])},"c":${E('U8', [0, 3], [4, 4])}} \t\n`, 4)).tensors.size, 3);
});

test('SafetensorsError on a real file names the path', () => {
  const p = join(tmp, 'named.safetensors');
  writeFileSync(p, craft(`{"w":${E('F32', [2], [0, 8])}}`, 4));
  expectReason(() => openSafetensors(p), 'offset_out_of_bounds', p);
  expectReason(() => openSafetensors(p), 'offset_out_of_bounds', 'tensor "w"');
});
