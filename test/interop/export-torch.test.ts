// `lmlab export --format hf` read back outside lmlab: test/interop/load_hf_gpt2.py (Python + PyTorch only)
// loads the directory the way transformers' GPT2LMHeadModel.from_pretrained does (GPT2Config keys and
// defaults, the safetensors format, the state-dict names, shapes, tying and prefix rules), runs the forward
// and prints the logits. They must equal lmlab's own forward; the script is itself checked against the
// gpt2-tiny golden logits written by the PyTorch reference, and must refuse damaged directories by name.
// Two Python processes in all (importing torch takes seconds on this machine), run side by side.
import { test, before, after } from 'node:test';
import { runCliOk } from '../helpers/cli.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { openSafetensors } from '../../src/io/safetensors.ts';
import { exportHFGpt2 } from '../../src/model/convert/export.ts';
import { resolveConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/init.ts';
import type { GPT } from '../../src/model/gpt.ts';
import { loadRun } from '../../src/train/runs.ts';
import { register as data } from '../../src/cli/data.ts';
import { register as engine } from '../../src/cli/engine.ts';
import { register as interop } from '../../src/cli/interop.ts';

const root = join(import.meta.dirname, '../..');
const SCRIPT = join(import.meta.dirname, 'load_hf_gpt2.py');
const REFERENCE = join(root, '../shared/reference/torch_reference.py');
const FIX = join(root, '../shared/fixtures/gpt2-tiny');
const PYTHON = '/usr/bin/python3';

/** Run lmlab commands in this process (in `cwd`); a non-zero exit becomes a thrown Error. */
const lmlab = (cwd: string, args: string[]) => runCliOk((p) => { data(p); engine(p); interop(p); }, args, { cwd }).then((r) => r.stdout);

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A safetensors file written here from the format spec (independent of src/io/safetensors.ts). */
function writeRawSafetensors(path: string, tensors: [string, number[], Float32Array][], opts: { metadata?: Record<string, string> | null; gapAfterFirst?: number } = {}): void {
  const header: Record<string, unknown> = {};
  const blobs: Buffer[] = [];
  let off = 0;
  tensors.forEach(([name, shape, data], i) => {
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
    if (i === 0 && opts.gapAfterFirst) {
      blobs.push(Buffer.alloc(opts.gapAfterFirst));
      off += opts.gapAfterFirst;
    }
  });
  if (opts.metadata !== null) header['__metadata__'] = opts.metadata ?? { format: 'pt' };
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([len, h, ...blobs]));
}

/** The tensors of an exported model.safetensors as [name, shape, data]. */
function tensorsOf(dir: string): [string, number[], Float32Array][] {
  const f = openSafetensors(join(dir, 'model.safetensors'));
  try {
    return [...f.tensors.keys()].sort().map((n) => [n, [...f.tensors.get(n)!.shape], Float32Array.from(f.readF32(n))]);
  } finally {
    f.close();
  }
}

/** A copy of an exported directory with its config / tensors / tokenizer changed. */
function variant(src: string, edit: { config?: (c: Record<string, unknown>) => void; tensors?: (t: [string, number[], Float32Array][]) => [string, number[], Float32Array][]; metadata?: Record<string, string> | null; gapAfterFirst?: number; tokenizer?: (t: { model: { vocab: Record<string, number> } }) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'lmlab-hfvar-'));
  made.push(d);
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit.config?.(cfg);
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
  if (edit.tensors || edit.metadata !== undefined || edit.gapAfterFirst) {
    const t = tensorsOf(src);
    writeRawSafetensors(join(d, 'model.safetensors'), edit.tensors ? edit.tensors(t) : t, { metadata: edit.metadata, gapAfterFirst: edit.gapAfterFirst });
  } else {
    copyFileSync(join(src, 'model.safetensors'), join(d, 'model.safetensors'));
  }
  if (existsSync(join(src, 'tokenizer.json'))) {
    const tok = JSON.parse(readFileSync(join(src, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    edit.tokenizer?.(tok);
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(tok));
  }
  return d;
}

function lmlabLogits(model: GPT, ids: number[][]): number[][][] {
  const B = ids.length, T = ids[0]!.length, V = model.config.vocab;
  model.forward(Int32Array.from(ids.flat()), B, T);
  const l = model.logits();
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from({ length: V }, (_, v) => l[(b * T + t) * V + v]!)));
}

/** max |a − b| / max |b| over all logits, after checking the shapes agree. */
function relErr(a: number[][][], b: number[][][]): number {
  assert.deepEqual([a.length, a[0]!.length, a[0]![0]!.length], [b.length, b[0]!.length, b[0]![0]!.length], 'logits shape [B, T, V]');
  let err = 0, scale = 0;
  a.forEach((x, i) => x.forEach((y, j) => y.forEach((v, k) => {
    const w = b[i]![j]![k]!;
    err = Math.max(err, Math.abs(v - w));
    scale = Math.max(scale, Math.abs(w));
  })));
  return err / scale;
}

interface PyResult { ok: boolean; dir: string; error?: string; logits?: number[][][]; forward?: string; warnings?: string[]; defaulted?: string[]; tokenizer?: { size: number; config_vocab_size: number; type: string } | null; config?: Record<string, unknown> }

let skip: string | false = false;
let results: PyResult[] = [];
let single: { code: number | null; stdout: string; stderr: string };
let exported: string, gelu: string, runDir: string, geluModel: GPT;
const ids = [[0, 5, 17, 3, 99, 250, 7, 7, 12, 1, 64, 200], [255, 254, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]];
const fixtureIds = (JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8')) as { input_ids: number[][] }).input_ids;
const jobs: { name: string; dir: string; ids: number[][]; dtype?: string; forward?: string; expect: RegExp | 'ok' }[] = [];
const timings: Record<string, number> = {};
const made: string[] = [];
after(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

before(async () => {
  if (!existsSync(PYTHON)) { skip = `${PYTHON} not found`; return; }
  let t0 = performance.now();
  // 1. a real run: BPE tokenizer trained by `data build`, a few training steps, then `lmlab export`
  const work = mkdtempSync(join(tmpdir(), 'lmlab-export-torch-'));
  made.push(work);
  mkdirSync(join(work, 'texts'));
  writeFileSync(join(work, 'texts', 'a.txt'), 'The whale, the whale! Thar she blows, and blows again.\n'.repeat(40));
  writeFileSync(join(work, 'texts', 'b.txt'), 'Call me Ishmael. Some years ago, never mind how long precisely.\n'.repeat(40));
  writeFileSync(join(work, 'spec.json'), JSON.stringify({ name: 'tiny', seed: 1, sources: [{ type: 'files', paths: ['texts'] }], split: { valFraction: 0.1 }, tokenizer: { type: 'train', vocabSize: 300 } }));
  await lmlab(work, ['data', 'build', '--spec', 'spec.json', '-o', 'shards', '--json']);
  runDir = join(work, 'run');
  await lmlab(work, ['train', '--backend', 'ref', '--json', '--data=shards', `--out=${runDir}`, '--model.n_layer=2', '--model.d_model=32', '--model.n_head=4',
    '--model.ctx=16', '--steps=4', '--batch_size=2', '--seq_len=16', '--eval_every=0', '--warmup=0', '--lr=0.01', '--log_every=1']);
  exported = join(work, 'hf');
  await lmlab(work, ['export', '--run', runDir, '--format', 'hf', '--out', exported]);
  timings['lmlab data build + train 4 steps + export (ms)'] = Math.round(performance.now() - t0);
  t0 = performance.now();
  // 2. exact-erf GELU and a non-default MLP width (n_inner), raw bytes (no tokenizer), written by the library
  geluModel = createModel(new RefBackend(), resolveConfig({ n_layer: 2, d_model: 24, n_head: 3, d_ff: 40, vocab: 256, ctx: 12, activation: 'gelu', init_std: 0.3, norm_eps: 1e-6 }), 11);
  gelu = mkdtempSync(join(tmpdir(), 'lmlab-export-gelu-'));
  made.push(gelu);
  exportHFGpt2(geluModel, gelu);

  const ok = (name: string, dir: string, i = ids, extra: { dtype?: string; forward?: string } = {}) => jobs.push({ name, dir, ids: i, expect: 'ok', ...extra });
  const bad = (name: string, dir: string, expect: RegExp) => jobs.push({ name, dir, ids, expect });
  ok('export', exported);
  ok('gelu', gelu);
  ok('fixture reference forward', FIX, fixtureIds, { forward: 'reference' });
  ok('fixture local forward', FIX, fixtureIds, { forward: 'local' });
  // a GPT2Model-style checkpoint: no `transformer.` prefix, old attn.bias / masked_bias buffers present
  ok('unprefixed + buffers', variant(exported, { tensors: (t) => [...t.map(([n, s, d]): [string, number[], Float32Array] => [n.replace(/^transformer\./, ''), s, d]), ['h.0.attn.bias', [1], new Float32Array(1)], ['h.1.attn.masked_bias', [], Float32Array.of(-1e4)]] }));
  // lm_head.weight written out explicitly, equal to wte: fine when tied
  ok('explicit lm_head', variant(exported, { tensors: (t) => [...t, ['lm_head.weight', t.find(([n]) => n === 'transformer.wte.weight')![1], t.find(([n]) => n === 'transformer.wte.weight')![2]]] }));
  bad('lm_head differs', variant(exported, { tensors: (t) => [...t, ['lm_head.weight', t.find(([n]) => n === 'transformer.wte.weight')![1], new Float32Array(t.find(([n]) => n === 'transformer.wte.weight')![2].length)]] }), /lm_head\.weight differs from transformer\.wte\.weight/);
  bad('missing tensor', variant(exported, { tensors: (t) => t.filter(([n]) => n !== 'transformer.h.1.mlp.c_fc.bias') }), /missing tensor\(s\) for GPT2LMHeadModel: transformer\.h\.1\.mlp\.c_fc\.bias/);
  bad('unexpected tensor', variant(exported, { tensors: (t) => [...t, ['transformer.h.2.ln_1.weight', [32], new Float32Array(32)]] }), /unexpected tensor\(s\) for GPT2LMHeadModel: transformer\.h\.2\.ln_1\.weight/);
  bad('untied without lm_head', variant(exported, { config: (c) => { c['tie_word_embeddings'] = false; } }), /missing tensor\(s\) for GPT2LMHeadModel: lm_head\.weight/);
  bad('n_inner mismatch', variant(exported, { config: (c) => { c['n_inner'] = 64; } }), /size mismatch for transformer\.h\.0\.mlp\.c_fc\.weight: shape \[32, 128\] in the file, \[32, 64\]/);
  // [in, out] vs [out, in]: a non-square Conv1D weight written transposed is caught by its shape
  bad('transposed c_attn', variant(exported, { tensors: (t) => t.map(([n, s, d]): [string, number[], Float32Array] => [n, n.endsWith('c_attn.weight') ? [s[1]!, s[0]!] : s, d]) }), /size mismatch for transformer\.h\.0\.attn\.c_attn\.weight: shape \[96, 32\] in the file, \[32, 96\]/);
  bad('vocab_size absent', variant(exported, { config: (c) => { delete c['vocab_size']; } }), /size mismatch for transformer\.wte\.weight: shape \[\d+, 32\] in the file, \[50257, 32\]/);
  bad('model_type absent', variant(exported, { config: (c) => { delete c['model_type']; } }), /config\.json: model_type: missing/);
  bad('unknown activation', variant(exported, { config: (c) => { c['activation_function'] = 'gelu_fancy'; } }), /activation_function: "gelu_fancy" is not one of/);
  bad('no metadata', variant(exported, { metadata: null }), /no __metadata__/);
  bad('metadata format', variant(exported, { metadata: { format: 'np' } }), /__metadata__\.format is "np"/);
  bad('gap in data', variant(exported, { gapAfterFirst: 8 }), /starts at byte \d+ of the data, expected \d+ \(data must be contiguous/);
  bad('tokenizer too big', variant(exported, { tokenizer: (t) => { t.model.vocab['zzz'] = 5000; } }), /tokenizer\.json: the tokenizer has ids up to 5000, but config\.json vocab_size is/);

  const jobFile = join(work, 'jobs.json');
  writeFileSync(jobFile, JSON.stringify(jobs.map(({ dir, ids: i, dtype, forward }) => ({ dir, ids: i, dtype, forward }))));
  timings['test directories (ms)'] = Math.round(performance.now() - t0);
  t0 = performance.now();
  const broken = variant(exported, { tensors: (t) => t.filter(([n]) => n !== 'transformer.wpe.weight') });
  const [batch, one] = await Promise.all([
    python([SCRIPT, '--batch', jobFile, '--reference', REFERENCE]),
    python([SCRIPT, broken, '--ids', '[[1, 2, 3]]', '--reference', REFERENCE]),
  ]);
  timings['python (both processes, wall ms)'] = Math.round(performance.now() - t0);
  if (batch.code !== 0 && /No module named '?torch'?/.test(batch.stderr)) { skip = `${PYTHON} has no torch (apt-get install python3-torch)`; return; }
  assert.equal(batch.code, 0, `load_hf_gpt2.py --batch failed:\n${batch.stderr}`);
  results = JSON.parse(batch.stdout) as PyResult[];
  single = one;
});

const result = (name: string): PyResult => {
  const i = jobs.findIndex((j) => j.name === name);
  assert.ok(i >= 0 && results[i], `job ${name}`);
  return results[i]!;
};

test('the exported run loads as GPT2LMHeadModel in PyTorch with the logits lmlab computes', (t) => {
  if (skip) return t.skip(skip);
  const r = result('export');
  assert.ok(r.ok, r.error);
  assert.equal(r.forward, 'torch_reference.gpt2_forward', 'gelu_tanh exports as gelu_new, which the reference forward implements');
  const { model } = loadRun(new RefBackend(), runDir);
  const V = model.config.vocab;
  const inIds = ids.map((row) => row.map((x) => x % V));
  assert.deepEqual(inIds, ids, 'ids fit the vocabulary');
  const err = relErr(r.logits!, lmlabLogits(model, ids));
  t.diagnostic(`export: max |torch − lmlab| / max |logit| = ${err.toExponential(2)}; timings ${JSON.stringify(timings)}`);
  assert.ok(err < 1e-4, `relative error ${err}`);
  // tokenizer.json: BPE with ids that fit config.json vocab_size
  assert.equal(r.tokenizer?.type, 'BPE');
  assert.equal(r.tokenizer?.config_vocab_size, V);
  assert.equal(r.tokenizer?.size, V, 'the tokenizer covers exactly the model vocabulary');
  // config keys the export leaves to GPT2Config's defaults: none that shape the model
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'layer_norm_epsilon', 'tie_word_embeddings']) {
    assert.ok(!r.defaulted!.includes(k), `config.json sets ${k}`);
  }
  t.diagnostic(`export warnings: ${JSON.stringify(r.warnings)}`);
  assert.deepEqual(r.warnings ?? [], [], 'no loader warnings (bos/eos ids inside the vocabulary, every shaping key set)');
  const eos = r.config?.['eos_token_id'];
  assert.ok(typeof eos === 'number' && eos < V, `eos_token_id is the tokenizer's end-of-text id, got ${JSON.stringify(eos)}`);
  // the same logits from the prefix-less (GPT2Model-style) layout with old buffers, and with lm_head.weight written out
  for (const name of ['unprefixed + buffers', 'explicit lm_head']) {
    const v = result(name);
    assert.ok(v.ok, `${name}: ${v.error}`);
    assert.deepEqual(v.logits, r.logits, name);
  }
});

test('exact-erf GELU and n_inner: the local HF forward (ACT2FN["gelu"]) agrees with lmlab', (t) => {
  if (skip) return t.skip(skip);
  const r = result('gelu');
  assert.ok(r.ok, r.error);
  assert.equal(r.forward, 'load_hf_gpt2.hf_gpt2_forward');
  assert.equal(r.config!['activation_function'], 'gelu');
  assert.equal(r.config!['n_inner'], 40);
  assert.equal(r.config!['layer_norm_epsilon'], 1e-6);
  assert.equal(r.tokenizer, null, 'raw-byte run: no tokenizer.json');
  const gIds = ids.map((row) => row.slice(0, 12));
  const err = relErr(r.logits!, lmlabLogits(geluModel, gIds));
  t.diagnostic(`gelu: max |torch − lmlab| / max |logit| = ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `relative error ${err}`);
});

test('the script reproduces the gpt2-tiny golden logits of the PyTorch reference (both forwards)', (t) => {
  if (skip) return t.skip(skip);
  const golden = openSafetensors(join(FIX, 'golden.safetensors'));
  const g = golden.readF32('logits'), shape = golden.tensors.get('logits')!.shape;
  golden.close();
  const [B, T, V] = shape as [number, number, number];
  const want = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, i) => Array.from({ length: V }, (_, v) => g[(b * T + i) * V + v]!)));
  for (const name of ['fixture reference forward', 'fixture local forward']) {
    const r = result(name);
    assert.ok(r.ok, r.error);
    const err = relErr(r.logits!, want);
    t.diagnostic(`${name} (${r.forward}): relative error ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `${name}: relative error ${err}`);
  }
});

test('damaged directories are refused by name (missing / unexpected / mis-shaped tensors, config, format, tokenizer)', (t) => {
  if (skip) return t.skip(skip);
  for (const j of jobs) {
    if (j.expect === 'ok') continue;
    const r = result(j.name);
    assert.equal(r.ok, false, `${j.name}: should be refused`);
    assert.match(r.error!, j.expect, j.name);
  }
  // the command-line form: exit status 2 and the reason on stderr
  assert.equal(single.code, 2, single.stderr);
  assert.match(single.stderr, /^load_hf_gpt2: .*missing tensor\(s\) for GPT2LMHeadModel: transformer\.wpe\.weight/);
  assert.equal(single.stdout, '');
});
