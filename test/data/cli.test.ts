import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
// The CLI runs as a normal process, not as a test-runner worker.
const childEnv = { ...process.env };
delete childEnv.NODE_TEST_CONTEXT;

function lmlab(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [join(repo, 'bin/lmlab.js'), ...args], { cwd: dir, input: typeof input === 'string' ? Buffer.from(input) : input, encoding: 'buffer', timeout: 60_000, env: childEnv });
  return { code: r.status, out: r.stdout.toString('utf8'), outBytes: r.stdout, err: r.stderr.toString('utf8') };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmlab-cli-'));
  mkdirSync(join(dir, 'texts'));
  writeFileSync(join(dir, 'texts', 'one.txt'), 'The whale, the whale! Thar she blows.\n'.repeat(30));
  writeFileSync(join(dir, 'texts', 'two.txt'), Buffer.concat([Buffer.from('Raw bytes: '), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' and more whales.\n'.repeat(10))]));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('tokenizer train / encode / decode / inspect', () => {
  let r = lmlab(['tokenizer', 'train', '--input', 'texts', '--vocab-size', '270', '-o', 'tok.json', '--json']);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out);
  assert.equal(summary.vocabSize, 270);
  assert.ok(existsSync(join(dir, 'tok.json')));
  assert.equal(r.err, '', 'no progress bar when stderr is not a TTY');

  r = lmlab(['tokenizer', 'encode', '-t', 'tok.json', '--text', 'the whale blows']);
  assert.equal(r.code, 0, r.err);
  const ids = r.out.trim().split(' ');
  assert.ok(ids.length >= 3 && ids.length < 15);
  r = lmlab(['tokenizer', 'decode', '-t', 'tok.json', ...ids]);
  assert.equal(r.out, 'the whale blows');
  // Raw bytes round-trip through stdin/stdout.
  const raw = readFileSync(join(dir, 'texts', 'two.txt'));
  r = lmlab(['tokenizer', 'encode', '-t', 'tok.json', '--file', 'texts/two.txt']);
  const back = lmlab(['tokenizer', 'decode', '-t', 'tok.json'], r.out);
  assert.ok(back.outBytes.equals(raw));

  r = lmlab(['tokenizer', 'inspect', '-t', 'tok.json', '--json', '--text', 'whale']);
  const info = JSON.parse(r.out);
  assert.equal(info.vocabSize, 270);
  assert.equal(info.eotId, 269);
  assert.ok(info.pieces.length >= 1);

  r = lmlab(['tokenizer', 'encode', '-t', 'gpt2', '--text', 'Hello world']);
  assert.equal(r.out.trim(), '15496 995');

  r = lmlab(['tokenizer', 'train', '--input', 'texts', '--vocab-size', 'lots', '-o', 'x.json']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--vocab-size: expected a positive integer/);
  r = lmlab(['tokenizer', 'encode', '-t', 'missing.json', '--text', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.json: no such file/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('data build / stats', () => {
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({
    name: 'tiny', seed: 1,
    sources: [{ type: 'files', paths: ['texts'] }, { type: 'moby-dick', maxDocuments: 12 }],
    split: { valFraction: 0.2 },
    tokenizer: { type: 'train', vocabSize: 400 },
    plant: { canaries: { counts: [0, 2], perCount: 1 } },
  }));
  let r = lmlab(['data', 'build', '--spec', 'spec.json', '-o', 'shards', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.deepEqual(s.canaries.map((c: { count: number }) => c.count), [0, 2]);
  r = lmlab(['data', 'stats', 'shards', '--json']);
  assert.equal(r.code, 0, r.err);
  const st = JSON.parse(r.out);
  assert.equal(st.planted.canaryInsertions, 2);
  assert.ok(st.train.bytesPerToken > 1);
  r = lmlab(['data', 'stats', 'shards']);
  assert.match(r.out, /bytes\/tok/);
  // Building again without --force is refused; a spec naming a missing source is a clear error.
  r = lmlab(['data', 'build', '--spec', 'spec.json', '-o', 'shards']);
  assert.equal(r.code, 1);
  assert.match(r.err, /already exists/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ sources: [{ type: 'files', paths: ['nowhere'] }], tokenizer: { type: 'gpt2' } }));
  r = lmlab(['data', 'build', '--spec', 'bad.json', '-o', 'bad']);
  assert.equal(r.code, 1);
  assert.match(r.err, /SourceNotFoundError: source "files": path "nowhere" does not exist/);
  assert.ok(!existsSync(join(dir, 'bad')));
});
