// Fuzz: thousands of mutated, truncated and structurally corrupted safetensors files, generated here from
// valid ones. Every file must either open (and then every tensor reads back exactly the bytes its header
// points at) or be rejected with a SafetensorsError whose reason is one of the documented codes and whose
// message names the file. No other exception, no case slower than a bound (hang), and no read request
// larger than the file (allocation bound, measured by an instrumented byte source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SAFETENSORS_ERROR_REASONS, SafetensorsError, openSafetensors, openSafetensorsSource, serializeSafetensors,
  type ByteSource, type SafetensorsReader, type TensorToWrite,
} from '../../src/io/safetensors.ts';

const N_CASES = 6000;
const N_FILE_CASES = 400;
const CASE_MS_LIMIT = 1000; // generous: the machine is shared; a hang would blow far past it

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0), s / 2 ** 32);
  return { f: next, int: (n: number) => Math.floor(next() * n), pick: <T,>(a: readonly T[]) => a[Math.floor(next() * a.length)]! };
}
type R = ReturnType<typeof rng>;

/** A byte source over memory that records the largest and total bytes requested. */
class CountingSource implements ByteSource {
  maxRequest = 0;
  totalRequested = 0;
  constructor(private readonly bytes: Uint8Array, readonly label: string) {}
  get size() {
    return this.bytes.byteLength;
  }
  readAt(pos: number, dst: Uint8Array): void {
    this.maxRequest = Math.max(this.maxRequest, dst.byteLength);
    this.totalRequested += dst.byteLength;
    if (pos < 0 || pos + dst.byteLength > this.bytes.byteLength) throw new SafetensorsError('short_read', this.label, 'beyond end');
    dst.set(this.bytes.subarray(pos, pos + dst.byteLength));
  }
  close() {}
}

function baseFiles(): Uint8Array[] {
  const r = rng(99);
  const f32 = (n: number) => Float32Array.from({ length: n }, () => r.f() - 0.5);
  const sets: [Record<string, TensorToWrite>, Record<string, string> | null][] = [
    [{ 'a.weight': { dtype: 'F32', shape: [3, 4], data: f32(12) }, 'a.bias': { dtype: 'F32', shape: [4], data: f32(4) } }, { format: 'pt' }],
    [
      {
        w16: { dtype: 'F16', shape: [2, 3], data: f32(6) }, wb: { dtype: 'BF16', shape: [5], data: f32(5) },
        i64: { dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, -2n]) }, u8: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
        b: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([0, 1]) }, e: { dtype: 'F64', shape: [0], data: new Float64Array(0) },
        s: { dtype: 'I32', shape: [], data: Int32Array.from([7]) },
      },
      { format: 'pt', note: 'fuzz ✓' },
    ],
    [{ x: { dtype: 'I8', shape: [1], data: Int8Array.from([-1]) } }, null],
    [{}, { only: 'metadata' }],
  ];
  const many: Record<string, TensorToWrite> = {};
  for (let i = 0; i < 40; i++) many[`model.layers.${i}.w`] = { dtype: i % 3 ? 'F32' : 'BF16', shape: [2, i % 4], data: f32(2 * (i % 4)) };
  sets.push([many, { format: 'pt' }]);
  return sets.map(([t, m]) => serializeSafetensors(t, m));
}

function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.byteLength));
  return out;
}
function split(file: Uint8Array): { n: number; header: string; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { n, header: new TextDecoder().decode(file.subarray(8, 8 + n)), data: file.subarray(8 + n) };
}
function build(header: string, data: Uint8Array, r: R): Uint8Array {
  let h: Uint8Array = new TextEncoder().encode(header);
  if (r.f() < 0.5) h = concat(h, new Uint8Array((8 - (h.length % 8)) % 8).fill(0x20));
  return concat(u64le(BigInt(h.length)), h, data);
}

const WEIRD_NUMBERS = ['-1', '1.5', '1e3', '-0', '18446744073709551616', '9007199254740993', '99999999999999999999999', '1e999', '0.0', '00', '4294967296', '2147483648'];
const WEIRD_VALUES = ['null', 'true', '"x"', '[]', '{}', '[[]]', '{"a":1}', '"F32"', '[0]', '[0,0]', '"\\u0000"', '"\\ud800"', ...WEIRD_NUMBERS];
const DTYPE_STRINGS = ['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'f32', 'float32', '', 'C64'];
const TOKENS = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u', ' ', '\n', 'null', '"__metadata__"', '"dtype"', '"shape"', '"data_offsets"', '\u0000', 'é', '\ud83d', ...WEIRD_NUMBERS];

/** Structural mutation: edit the parsed header (JSON.parse is fine: the base header is ours) and rebuild. */
function structural(file: Uint8Array, r: R): Uint8Array {
  const { header, data } = split(file);
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(header) as Record<string, unknown>;
    if (!h || typeof h !== 'object' || Array.isArray(h)) throw new Error('not an object');
    for (const [k, v] of Object.entries(h)) if (k !== '__metadata__' && (!v || typeof v !== 'object' || !Array.isArray((v as { shape?: unknown }).shape) || !Array.isArray((v as { data_offsets?: unknown }).data_offsets))) throw new Error('odd entry');
  } catch {
    return file.slice(0, Math.max(0, file.length - 1)); // an already-broken header: just truncate it
  }
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  const name = names.length ? r.pick(names) : 'new';
  const e = (h[name] ?? { dtype: 'F32', shape: [1], data_offsets: [0, 4] }) as Record<string, unknown>;
  h[name] = e;
  let text: string | null = null;
  let d = data;
  switch (r.int(16)) {
    case 0: e.dtype = r.pick(DTYPE_STRINGS); break;
    case 1: (e.shape as number[]).push(r.pick([0, 1, 2, 3, 2 ** 40])); break;
    case 2: e.shape = (e.shape as number[]).slice(1); break;
    case 3: {
      const o = e.data_offsets as number[];
      const delta = r.pick([-8, -4, -2, -1, 1, 2, 4, 8, 1e6, 2 ** 53]);
      if (r.f() < 0.5) o[r.int(2)] += delta; // size changes
      else (o[0] += delta, (o[1] += delta)); // same size, moved: overlap / gap / out of bounds
      break;
    }
    case 4: e.data_offsets = [...(e.data_offsets as number[])].reverse(); break;
    case 5: delete e[r.pick(['dtype', 'shape', 'data_offsets'])]; break;
    case 6: e[r.pick(['extra', 'Dtype', 'offsets'])] = 1; break;
    case 7: h['__metadata__'] = r.pick<unknown>([{ a: 1 }, ['x'], 'str', null, { a: { b: 'c' } }, { a: 'b', c: true }]); break;
    case 8: {
      // duplicate a key by text splicing (JSON.parse would keep the last)
      const base = JSON.stringify(h);
      const dupKey = r.f() < 0.7 ? name : 'dtype';
      const ent = dupKey === name ? `${JSON.stringify(name)}:${JSON.stringify(e)}` : `"dtype":${JSON.stringify(e.dtype)}`;
      const at = dupKey === name ? 1 : base.indexOf('{', base.indexOf(JSON.stringify(name)) + 1) + 1;
      text = base.slice(0, at) + ent + ',' + base.slice(at);
      break;
    }
    case 9: d = d.subarray(0, r.int(d.length + 1)); break;
    case 10: d = concat(d, new Uint8Array(1 + r.int(16))); break;
    case 11: {
      // swap two tensors' offsets (sizes may then disagree)
      if (names.length >= 2) {
        const b = h[r.pick(names)] as Record<string, unknown>;
        [e.data_offsets, b.data_offsets] = [b.data_offsets, e.data_offsets];
      }
      break;
    }
    case 12: {
      // replace a value with weird JSON
      const base = JSON.stringify(h);
      const key = r.pick(['"dtype":', '"shape":', '"data_offsets":', '"__metadata__":']);
      const at = base.indexOf(key);
      if (at >= 0) {
        const vs = at + key.length;
        let depth = 0, j = vs;
        for (; j < base.length; j++) {
          const c = base[j];
          if (c === '[' || c === '{') depth++;
          else if (c === ']' || c === '}') { if (depth === 0) break; depth--; }
          else if (c === ',' && depth === 0) break;
          else if (c === '"') { j++; while (base[j] !== '"') j += base[j] === '\\' ? 2 : 1; }
        }
        text = base.slice(0, vs) + r.pick(WEIRD_VALUES) + base.slice(j);
      }
      break;
    }
    case 13: {
      // many zero-size tensors / a long name / deep nesting
      const k = r.int(3);
      if (k === 0) for (let i = 0; i < 2000; i++) h[`z${i}`] = { dtype: 'U8', shape: [0], data_offsets: [0, 0] };
      else if (k === 1) h['n'.repeat(100000)] = { dtype: 'U8', shape: [0], data_offsets: [0, 0] };
      else text = JSON.stringify(h).slice(0, -1) + ',"deep":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
      break;
    }
    case 14: text = r.pick(['[]', '"str"', '1', 'null', '{}', ' {}', '{} x', '{"a":1}', '']); break;
    default: {
      // replace header with another valid-looking header of a different size (shifted data)
      const shift = r.pick([-4, 4, 8]);
      for (const k of names) {
        const o = (h[k] as Record<string, number[]>).data_offsets!;
        h[k] = { ...(h[k] as object), data_offsets: [o[0]! + shift, o[1]! + shift] };
      }
    }
  }
  return build(text ?? JSON.stringify(h), d, r);
}

function mutate(file: Uint8Array, r: R): Uint8Array {
  const { n } = split(file);
  const kind = r.int(8);
  if (kind === 0) {
    // bit flips, biased to the length field and the header
    const out = file.slice();
    for (let k = 1 + r.int(4); k > 0; k--) {
      const pos = r.f() < 0.8 ? r.int(Math.min(out.length, 8 + n)) : r.int(out.length);
      out[pos]! ^= 1 << r.int(8);
    }
    return out;
  }
  if (kind === 1) return file.slice(0, r.int(file.length)); // truncation
  if (kind === 2) {
    // rewrite the length field
    const v = r.pick([0n, 1n, 2n, BigInt(n - 1), BigInt(n + 1), BigInt(n + 8), BigInt(file.length - 8), BigInt(file.length), 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n, BigInt(r.int(1 << 30))]);
    const out = file.slice();
    out.set(u64le(v), 0);
    return out;
  }
  if (kind === 3) {
    // insert / delete / replace text tokens inside the header, fixing the length or not
    const { header, data } = split(file);
    const at = r.int(header.length + 1);
    const tok = r.pick(TOKENS);
    const del = r.int(3);
    const h2 = header.slice(0, at) + (r.f() < 0.7 ? tok : '') + header.slice(at + del);
    const built = build(h2, data, r);
    if (r.f() < 0.2) built.set(u64le(BigInt(n)), 0);
    return built;
  }
  if (kind === 4) return concat(file, Uint8Array.from({ length: 1 + r.int(32) }, () => r.int(256))); // trailing junk
  if (kind === 5) {
    // random bytes overwrite a window
    const out = file.slice();
    const at = r.int(out.length);
    for (let i = at; i < Math.min(out.length, at + 1 + r.int(12)); i++) out[i] = r.int(256);
    return out;
  }
  const once = structural(file, r);
  return kind === 7 && r.f() < 0.5 ? mutate(once, r) : once;
}

function exercise(reader: SafetensorsReader, bytes: Uint8Array) {
  // accepted: the tensors tile the data section and read back exactly
  let covered = 0;
  for (const t of reader.tensors.values()) {
    covered += t.byteLength;
    const raw = reader.readBytes(t.name);
    assert.deepEqual(raw, bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength));
    const typed = reader.read(t.name);
    assert.equal(typed.length, t.numel);
    assert.equal(reader.readF32(t.name).length, t.numel);
  }
  const dataStart = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal(covered, bytes.length - dataStart);
  for (const v of Object.values(reader.metadata)) assert.equal(typeof v, 'string');
}

test(`fuzz: ${N_CASES} mutated safetensors files never crash, hang or over-allocate; every rejection has a reason`, (t) => {
  const r = rng(20240611);
  const bases = baseFiles();
  const reasons = new Map<string, number>();
  let accepted = 0;
  let slowest = 0;
  const t0 = Date.now();
  for (let i = 0; i < N_CASES; i++) {
    const bytes = mutate(r.pick(bases), r);
    const label = `fuzz-${i}.safetensors`;
    const src = new CountingSource(bytes, label);
    const c0 = performance.now();
    try {
      const reader = openSafetensorsSource(src, { maxHeaderBytes: 1 << 20 });
      exercise(reader, bytes);
      accepted++;
    } catch (e) {
      if (!(e instanceof SafetensorsError)) {
        assert.fail(`case ${i}: non-SafetensorsError ${e instanceof Error ? e.stack : e}\nfile bytes: ${Buffer.from(bytes.subarray(0, 300)).toString('latin1')}`);
      }
      assert.ok((SAFETENSORS_ERROR_REASONS as readonly string[]).includes(e.reason), `case ${i}: unknown reason ${e.reason}`);
      assert.ok(e.message.startsWith(label + ': '), `case ${i}: message does not name the file: ${e.message}`);
      assert.ok(e.message.endsWith(`[${e.reason}]`), e.message);
      if (e.tensor !== undefined) assert.ok(e.message.includes('tensor '), e.message);
      reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
    }
    const dt = performance.now() - c0;
    slowest = Math.max(slowest, dt);
    assert.ok(dt < CASE_MS_LIMIT, `case ${i} took ${dt.toFixed(0)} ms`);
    // allocation bound: no single read request (the header buffer or one tensor) exceeds the file size
    assert.ok(src.maxRequest <= bytes.length, `case ${i}: requested ${src.maxRequest} bytes of a ${bytes.length}-byte file`);
  }
  const summary = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
  t.diagnostic(`fuzz: ${N_CASES} cases in ${Date.now() - t0} ms, slowest ${slowest.toFixed(1)} ms, accepted ${accepted}; rejected by reason: ${summary}`);
  // the fuzzer must actually reach the validation paths, and some mutations keep files valid
  for (const reason of ['header_too_large', 'header_out_of_bounds', 'invalid_json', 'invalid_utf8', 'duplicate_tensor', 'invalid_metadata', 'invalid_tensor_entry', 'unsupported_dtype', 'invalid_shape', 'invalid_offsets', 'size_mismatch', 'offset_out_of_bounds', 'overlap', 'gap', 'trailing_data', 'file_too_small']) {
    assert.ok((reasons.get(reason) ?? 0) > 0, `fuzz never produced ${reason}: ${summary}`);
  }
  assert.ok(accepted > 50 && accepted < N_CASES / 2, `accepted ${accepted}`);
});

test(`fuzz through real files: ${N_FILE_CASES} mutated files on disk give the same verdict as in memory`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-fuzz-'));
  try {
    const r = rng(7);
    const bases = baseFiles();
    for (let i = 0; i < N_FILE_CASES; i++) {
      const bytes = mutate(r.pick(bases), r);
      const p = join(dir, `f${i % 8}.safetensors`);
      writeFileSync(p, bytes);
      let mem: string;
      try {
        exercise(openSafetensorsSource(new CountingSource(bytes, p)), bytes);
        mem = 'ok';
      } catch (e) {
        assert.ok(e instanceof SafetensorsError, String(e));
        mem = e.message;
      }
      let disk: string;
      let reader: SafetensorsReader | null = null;
      try {
        reader = openSafetensors(p);
        exercise(reader, bytes);
        disk = 'ok';
      } catch (e) {
        assert.ok(e instanceof SafetensorsError, String(e));
        disk = e.message;
      } finally {
        reader?.close();
      }
      assert.equal(disk, mem, `case ${i}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a header of the maximum allowed size with hostile content is rejected in bounded time', () => {
  // 8 MB of nested-but-shallow junk and a huge string, under an 8 MB limit
  const big = '{"a":"' + 'x'.repeat(8_000_000) + '","b":' + '[1,'.repeat(10) + ']'.repeat(0) + '}';
  const h = new TextEncoder().encode(big);
  const bytes = concat(u64le(BigInt(h.length)), h);
  const c0 = performance.now();
  assert.throws(() => openSafetensorsSource(new CountingSource(bytes, 'big'), { maxHeaderBytes: 8_100_000 }), (e: unknown) => e instanceof SafetensorsError && e.reason === 'invalid_json');
  assert.ok(performance.now() - c0 < 20000, `hostile header took ${performance.now() - c0} ms (a hang or quadratic parse would take minutes)`);
  // the same with a valid JSON but a 1e6-entry header of zero-size tensors is accepted, linear time
  const parts: string[] = [];
  for (let i = 0; i < 200000; i++) parts.push(`"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
  const h2 = new TextEncoder().encode(`{${parts.join(',')}}`);
  const c1 = performance.now();
  const rd = openSafetensorsSource(new CountingSource(concat(u64le(BigInt(h2.length)), h2), 'many'));
  assert.equal(rd.tensors.size, 200000);
  assert.ok(performance.now() - c1 < 30000, `${performance.now() - c1} ms (linear time expected)`);
});
