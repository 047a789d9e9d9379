import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from '../../src/cli/memorization.ts';
import { readTokenFile, readBoundaryFile, TokenFileError } from '../../src/memorization/token-file.ts';

async function run(args: string[]): Promise<string[]> {
  const program = new Command();
  program.exitOverride();
  register(program);
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try { await program.parseAsync(['node', 'lmlab', ...args]); } finally { console.log = orig; }
  return lines;
}

test('lmlab index build + query on uint16 and uint32 token files with document boundaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-cli-'));
  try {
    const toks = [5, 6, 7, 8, 5, 6, 7, 9, 5, 6];
    for (const dtype of ['uint16', 'uint32'] as const) {
      const w = dtype === 'uint16' ? 2 : 4;
      const buf = Buffer.alloc(toks.length * w);
      toks.forEach((t, i) => (w === 2 ? buf.writeUInt16LE(t, 2 * i) : buf.writeUInt32LE(t, 4 * i)));
      const bin = join(dir, `t-${dtype}.bin`);
      writeFileSync(bin, buf);
      writeFileSync(join(dir, 'docs.json'), JSON.stringify({ boundaries: [0, 4, 8] }));
      assert.deepEqual(Array.from(readTokenFile(bin, dtype)), toks);
      const out = join(dir, `t-${dtype}.sa`);
      const b = JSON.parse((await run(['index', 'build', '--tokens', bin, '--dtype', dtype, '--docs', join(dir, 'docs.json'), '--out', out, '--json']))[0]!);
      assert.equal(b.nTokens, 10);
      assert.equal(b.nDocs, 3);
      const q = async (seq: string, mode: string) => JSON.parse((await run(['index', 'query', '--index', out, '--seq', seq, '--mode', mode, '--json', '--k', '3']))[0]!);
      assert.deepEqual(await q('5,6,7', 'count'), { count: 2 });
      assert.deepEqual(await q('8 5', 'contains'), { contains: false }, '8|5 spans a document boundary');
      assert.deepEqual(await q('5,6', 'count'), { count: 3 });
      assert.deepEqual(await q('1,5,6,7,9,5', 'longest'), { longest: [0, 4, 3, 2, 1, 1] });
      const scan = await q('1,5,6,7,9,5', 'scan');
      assert.deepEqual(scan.kgramStarts, [1, 2]);
      assert.equal(scan.fractionMemorized, 4 / 6);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('token and boundary files: errors name the file and what was expected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-cli-'));
  try {
    writeFileSync(join(dir, 'odd.bin'), Buffer.alloc(3));
    assert.throws(() => readTokenFile(join(dir, 'odd.bin'), 'uint16'), (e: unknown) => e instanceof TokenFileError && /odd\.bin.*multiple of 2/.test(e.message));
    writeFileSync(join(dir, 'b.json'), '{"x": 1}');
    assert.throws(() => readBoundaryFile(join(dir, 'b.json')), /b\.json: expected an array/);
    writeFileSync(join(dir, 'ok.json'), '[0, 3]');
    assert.deepEqual(readBoundaryFile(join(dir, 'ok.json')), [0, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
