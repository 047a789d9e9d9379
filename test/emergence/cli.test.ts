import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerWith, parseNumberList, coerceValue } from '../../src/cli/emergence.ts';

async function run(args: string[]): Promise<string> {
  let out = '';
  const program = new Command();
  program.exitOverride();
  program.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  registerWith(program, {
    out: (s) => void (out += s),
    fail: (e) => {
      throw e;
    },
  });
  await program.parseAsync(['node', 'lmlab', 'emergence', ...args]);
  return out;
}

test('emergence mirage prints the DOMAIN.md values', async () => {
  const rows = JSON.parse(await run(['mirage', '--c', '1e8', '--alpha', '-0.5', '--T', '5', '--N', '1e6,1e8', '--json'])) as { N: number; p: number; exactMatch: number; expectedTED: number }[];
  assert.equal(rows.length, 2);
  assert.equal(rows[1]!.N, 1e8);
  assert.ok(Math.abs(rows[1]!.p - Math.exp(-1)) < 1e-15);
  assert.ok(Math.abs(rows[1]!.exactMatch - Math.exp(-5)) < 1e-15);
  assert.equal(rows[1]!.expectedTED.toFixed(4), '3.1606');
  const text = await run(['mirage', '--N', '1e8']);
  assert.match(text, /3\.161/);
});

test('emergence skills solves for alpha*', async () => {
  const s = JSON.parse(await run(['skills', '--theta', '0.1', '--k', '20', '--beta', '2', '--json'])) as { alphaStar: number; exists: boolean };
  assert.equal(s.exists, true);
  assert.equal(s.alphaStar.toFixed(6), '0.270720');
  const text = await run(['skills', '--theta', '0.1', '--k', '20', '--beta', '2', '--k-prime', '1,2']);
  assert.match(text, /alpha\* = 0\.270720/);
  assert.match(text, /k'-tuples/);
  const none = await run(['skills', '--theta', '0.1', '--k', '1', '--beta', '2']);
  assert.match(none, /no root/);
});

test('emergence analyze reads a CSV and labels each column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-em-'));
  const f = join(dir, 'curve.csv');
  writeFileSync(f, 'N,acc,loss\n1e6,0.01,4.1\n1e7,0.02,3.6\n1e8,0.03,3.2\n1e9,0.05,2.9\n1e10,0.85,2.6\n1e11,0.95,2.4\n');
  type A = { shape: { label: string }; breakthroughness: { value: number }; emergencePoint: { x: number; bracket: number[] }; axis: string };
  const all = JSON.parse(await run(['analyze', '--input', f, '--y', 'acc,loss', '--lower-is-better', 'loss', '--json'])) as Record<string, Record<string, A>>;
  const res = all['N']!;
  assert.equal(res.acc!.shape.label, 'emergent');
  assert.equal(res.loss!.shape.label, 'smooth');
  assert.ok(Math.abs(res.acc!.breakthroughness.value - 0.94 / 0.02) < 1e-9);
  assert.deepEqual(res.acc!.emergencePoint.bracket, [1e9, 1e10]);
  // the same metric against validation loss (smaller loss = more scale)
  const vl = JSON.parse(await run(['analyze', '--input', f, '--x', 'N,loss', '--axis', 'scale,loss', '--y', 'acc', '--json'])) as Record<string, Record<string, A>>;
  assert.equal(vl['loss']!.acc!.axis, 'loss');
  assert.equal(vl['loss']!.acc!.shape.label, 'emergent');
  assert.deepEqual(vl['loss']!.acc!.emergencePoint.bracket, [2.6, 2.9]);
  await assert.rejects(run(['analyze', '--input', f, '--x', 'N,loss', '--axis', 'scale,loss,scale']), /--axis: give one axis or one per --x/);
  const text = await run(['analyze', '--input', f]);
  assert.match(text, /acc vs N: 6 points/);
  assert.match(text, /shape\s+emergent/);
  await assert.rejects(run(['analyze', '--input', join(dir, 'missing.csv')]), /--input: cannot read/);
  await assert.rejects(run(['analyze', '--input', f, '--y', 'nope']), /no column 'nope'/);
});

test('emergence tasks prints examples and lists tasks', async () => {
  const exs = JSON.parse(await run(['tasks', '--task', 'addition', '--digits', '4', '--n', '5', '--json'])) as { prompt: string; target: string }[];
  assert.equal(exs.length, 5);
  for (const e of exs) {
    const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
    assert.equal(a.length, 4);
    assert.equal(e.target, (BigInt(a) + BigInt(b)).toString());
  }
  const mod = JSON.parse(await run(['tasks', '--task', 'modular', '--set', 'p=113', '--set', 'op=*', '--n', '3', '--json'])) as { prompt: string }[];
  for (const e of mod) assert.match(e.prompt, /^\d+\*\d+ mod 113=$/);
  const text = await run(['tasks', '--task', 'skills', '--scratchpad', '--n', '2']);
  assert.match(text, /answer: /);
  const list = await run(['tasks', '--list']);
  assert.match(list, /quote-repetition/);
  await assert.rejects(run(['tasks', '--task', 'nope']), /unknown emergence task 'nope'/);
});

test('flag parsing helpers name the flag', () => {
  assert.deepEqual(parseNumberList('1e6, 1e7,3e8', '--N'), [1e6, 1e7, 3e8]);
  assert.throws(() => parseNumberList('1e6,x', '--N'), /--N: 'x'/);
  assert.equal(coerceValue('113'), 113);
  assert.equal(coerceValue('true'), true);
  assert.equal(coerceValue('*'), '*');
});
