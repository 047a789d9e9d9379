/** `lmlab memorize ...` and `lmlab experiment memorization|extraction`: flag errors and a happy path on a tiny run. */
import { runCli } from '../helpers/cli.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register, registerMemorizationExperiments } from '../../src/cli/memorization.ts';
import { createBackend } from '../../src/engine/index.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { train } from '../../src/train/trainer.ts';
import { openTrainingData, loadRun } from '../../src/train/runs.ts';
import { discoverableMemorization, smallPredictsLarge } from '../../src/memorization/discoverable.ts';
import { estimateUniqueMemorized } from '../../src/memorization/extract.ts';


/** Run the CLI in-process; returns stdout, stderr and whether it exited with an error. */
const cli = (args: string[]) =>
  runCli((p) => { register(p); registerMemorizationExperiments(p.command('experiment')); }, args)
    .then((r) => ({ out: r.stdout, err: r.stderr, failed: r.code !== 0 }));

const dir = mkdtempSync(join(tmpdir(), 'lmlab-memorize-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('memorize: flag errors name the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['memorize', 'discoverable', '--data', dir], /give the model with --run .* or --model/],
    [['memorize', 'discoverable', '--run', dir, '--model', dir], /--run and --model are mutually exclusive/],
    [['memorize', 'discoverable', '--run', join(dir, 'nope')], /--run: '.*nope' is not a directory/],
    [['memorize', 'discoverable', '--run', dir, '--k', 'x'], /--k: expected an integer ≥ 1, got 'x'/],
    [['memorize', 'extract', '--run', dir, '--strategy', 'beam'], /--strategy: expected one of top-k, top-p, decaying-temperature, got 'beam'/],
    [['memorize', 'extract', '--run', dir, '--strategy', 'top-p', '--top-p', '1.5'], /--top-p: expected a number in \[1e-9, 1\], got '1.5'/],
    [['memorize', 'extract', '--run', dir, '--dedup', 'fuzzy'], /--dedup: expected one of exact, trigram, none/],
    [['memorize', 'estimate', '--from', join(dir, 'missing.json')], /--from: cannot read '.*missing.json' as JSON/],
    [['memorize', 'canaries', '--model', dir, '--candidates', '3'], /--candidates: expected an integer ≥ 10, got '3'/],
    [['experiment', 'extraction', '--m', '50,0'], /--m: expected a comma-separated list of positive integers/],
    [['experiment', 'memorization', '--sizes', '2y64'], /--sizes: '2y64' is not LAYERSxWIDTH/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.ok(r.failed, `${args.join(' ')} should fail`);
    assert.match(r.err, re, args.join(' '));
  }
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ hello: 1 }));
  const r = await cli(['memorize', 'estimate', '--from', join(dir, 'bad.json')]);
  assert.match(r.err, /is not an extraction report \(needs "generations" and "memorizedKgrams.counts"/);
});

test('memorize estimate reproduces the library estimate', async () => {
  const rep = { generations: 40, memorizedKgrams: { k: 50, unique: 6, counts: [4, 2, 1, 1, 1, 3] } };
  writeFileSync(join(dir, 'rep.json'), JSON.stringify(rep));
  const r = await cli(['memorize', 'estimate', '--from', join(dir, 'rep.json'), '--targets', '20,40,80', '--json']);
  assert.ok(!r.failed, r.err);
  const got = JSON.parse(r.out);
  const want = estimateUniqueMemorized(rep.memorizedKgrams.counts, 40, [20, 40, 80]);
  assert.equal(got.k, 50);
  assert.equal(got.missingMass, want.missingMass);
  assert.deepEqual(got.curve, want.curve);
});

test('memorize discoverable --run on a tiny byte-level run that memorized its text', async () => {
  const text = 'the quick brown fox jumps over the lazy dog; '.repeat(40);
  writeFileSync(join(dir, 'text.txt'), text);
  const runDir = join(dir, 'run');
  const backend = await createBackend('auto');
  const cfg = resolveTrainConfig({
    data: join(dir, 'text.txt'), out: runDir, steps: 300, batch_size: 8, seq_len: 32, lr: 1e-2, min_lr: 1e-3, warmup: 10, eval_every: 0, checkpoint_every: 0, log_every: 50,
    model: { n_layer: 1, n_head: 2, d_model: 32, vocab: 256, ctx: 32 },
  });
  await train(backend, cfg, openTrainingData(cfg));
  const seqs = [Array.from(Buffer.from(text.slice(3, 27))), Array.from(Buffer.from('zq9#xv!kw@pm$rb%ty^ua&ic'))];
  writeFileSync(join(dir, 'seqs.json'), JSON.stringify(seqs));
  const r = await cli(['memorize', 'discoverable', '--run', runDir, '--sequences', join(dir, 'seqs.json'), '--k', '12', '--l', '12', '--compare-run', runDir, '--json', '--out', join(dir, 'disc.json')]);
  assert.ok(!r.failed, r.err);
  const got = JSON.parse(r.out);
  const { model } = loadRun(backend, runDir);
  const want = discoverableMemorization(model, seqs, { k: 12, l: 12 });
  assert.equal(got.n, 2);
  assert.equal(got.meanScore, want.meanScore);
  assert.equal(got.exactRate, want.exactRate);
  assert.ok(want.items[0]!.exact, 'the repeated training text is memorized');
  assert.ok(!want.items[1]!.exact, 'random text is not');
  assert.deepEqual(got.comparison, JSON.parse(JSON.stringify(smallPredictsLarge(want, want))));
  // --m longer than the generations: explicit --length, and the default length the 32-token context leaves after
  // the one-token empty prompt
  let x = await cli(['memorize', 'extract', '--run', runDir, '--m', '80', '--length', '64']);
  assert.ok(x.failed, 'm > length refused');
  assert.match(x.err, /--m: a match of 80 tokens cannot occur in generations of --length 64/);
  x = await cli(['memorize', 'extract', '--run', runDir, '--m', '40']);
  assert.ok(x.failed, 'm > default length refused');
  assert.match(x.err, /--m: a match of 40 tokens cannot occur in generations of --length 31 \(the default for a 32-token context\)/);
  // extraction needs the training data for verification: the byte run has no shard directory
  const e = await cli(['memorize', 'extract', '--run', runDir, '--length', '20', '--m', '10', '--samples', '4']);
  assert.ok(e.failed);
  assert.match(e.err, /--data: verification needs the training data/);
});
