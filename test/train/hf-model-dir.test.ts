// A Llama checkpoint directory with a SentencePiece-style tokenizer.json (../shared/fixtures/llama-tiny +
// the hand-built tokenizer of test/data/sp-fixture.ts): loadAnyModel opens it with text in and text out, and
// the commands that take a model (`generate`, `eval`, `phenomena`, `quantize`, `inspect`) accept it with --model;
// their outputs are checked against plain forward passes, and `export --run <HF dir>` is refused by name.
import { runCliOk } from '../helpers/cli.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { loadHFModel } from '../../src/model/convert/hf.ts';
import { loadAnyModel } from '../../src/train/runs.ts';
import { register as engine } from '../../src/cli/engine.ts';
import { register as interop } from '../../src/cli/interop.ts';
import { register as phenomena } from '../../src/cli/phenomena.ts';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { spTokenizerJson, SP_TOKENIZER_CONFIG } from '../data/sp-fixture.ts';

const root = join(import.meta.dirname, '../..');
const FIX = join(root, '../shared/fixtures/llama-tiny');

function llamaDir(tokenizer: unknown = spTokenizerJson('legacy')): string {
  const d = mkdtempSync(join(tmpdir(), 'lmlab-llama-'));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIX, f), join(d, f));
  if (tokenizer !== null) writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(SP_TOKENIZER_CONFIG));
  return d;
}

/** Run commands in this process, capturing output; a non-zero exit becomes a thrown Error. */
const lmlab = (args: string[]) => runCliOk((p) => { engine(p); interop(p); phenomena(p); }, args);

/** Log-softmax row of the logits at position t (independent of evaluate.ts / generate.ts). */
function logSoftmax(logits: ArrayLike<number>, t: number, V: number): number[] {
  const row = Array.from({ length: V }, (_, v) => logits[t * V + v]!);
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

test('loadAnyModel opens a Llama directory with a SentencePiece tokenizer.json: text in, text out', () => {
  const dir = llamaDir();
  const be = new RefBackend();
  const { model, codec, source } = loadAnyModel(be, dir);
  assert.equal(source, 'hf');
  assert.equal(model.config.vocab, 72);
  assert.deepEqual(codec.encode('hello world'), [22, 27], 'ids by hand (see test/data/hfcodec.test.ts)');
  assert.deepEqual(codec.encodeInput!('hello world'), [1, 22, 27], '<s> from the template');
  assert.equal(codec.decode([22, 27]), 'hello world');
  // the same ids as @huggingface/tokenizers used directly on the same files
  const direct = new HFTokenizer(spTokenizerJson('legacy'), { ...SP_TOKENIZER_CONFIG });
  for (const t of ['the cat sat', 'Hello\n', 'hello  world', 'é']) assert.deepEqual(codec.encodeInput!(t), direct.encode(t).ids, t);
  // the weights are the fixture's (same logits as loadHFModel)
  const ref = loadHFModel(be, FIX).model;
  const ids = Int32Array.from([1, 22, 27, 29]);
  model.forward(ids, 1, 4);
  const a = Array.from(model.logits());
  ref.forward(ids, 1, 4);
  assert.deepEqual(a, Array.from(ref.logits()));
});

test('a tokenizer that does not fit the model, or none at all, is refused naming the file', () => {
  const be = new RefBackend();
  const big = spTokenizerJson('legacy') as { model: { vocab: Record<string, number> } };
  big.model.vocab['<0x7A>'] = 80;
  assert.throws(() => loadAnyModel(be, llamaDir(big)), /tokenizer\.json: the tokenizer has ids up to 80, but the model's vocabulary is 72/);
  assert.throws(() => loadAnyModel(be, llamaDir(null)), /tokenizer\.json: not found, and the model's vocabulary \(72\) is not raw bytes/);
  assert.throws(() => loadAnyModel(be, llamaDir({ model: { type: 'BPE', vocab: {}, merges: [] }, decoder: { type: 'Nope' } })), /tokenizer\.json: @huggingface\/tokenizers cannot load it: Unknown Decoder type: Nope/);
});

test('generate / eval / phenomena / quantize / inspect accept --model <Llama dir>; export --run refuses it', async () => {
  const dir = llamaDir();
  const be = new RefBackend();
  const { model } = loadHFModel(be, dir);
  const V = 72;

  // generate, greedy: tokens equal argmax of full forward passes (no KV cache) from [<s>, ▁hello, ▁world]
  let r = await lmlab(['generate', '--model', dir, '--prompt', 'hello world', '--max-new', '5', '--temperature', '0', '--backend', 'ref', '--json']);
  const out = JSON.parse(r.stdout) as { tokens: number[]; text: string; logprobs: number[] }[];
  const seq = [1, 22, 27];
  const want: number[] = [];
  for (let i = 0; i < 5; i++) {
    model.forward(Int32Array.from(seq), 1, seq.length);
    const lp = logSoftmax(model.logits(), seq.length - 1, V);
    const next = lp.indexOf(Math.max(...lp));
    want.push(next);
    seq.push(next);
  }
  assert.deepEqual(out[0]!.tokens, want, 'greedy tokens');
  const direct = new HFTokenizer(spTokenizerJson('legacy'), { ...SP_TOKENIZER_CONFIG, clean_up_tokenization_spaces: false });
  const full = direct.decode(seq), promptText = direct.decode([1, 22, 27]);
  assert.ok(full.startsWith(promptText));
  assert.equal(out[0]!.text, full.slice(promptText.length), 'text = decode(prompt + new) minus decode(prompt)');
  r = await lmlab(['generate', '--model', dir, '--prompt', 'hello world', '--max-new', '5', '--temperature', '0', '--backend', 'ref']);
  assert.equal(r.stdout, 'hello world' + out[0]!.text + '\n', 'plain output: prompt + continuation');

  // eval --text: loss equals the mean next-token NLL of [<s>, ids…] computed from the logits here
  const text = 'hello world the cat sat\n';
  const textFile = join(dir, 'text.txt');
  writeFileSync(textFile, text);
  r = await lmlab(['eval', '--model', dir, '--text', textFile, '--backend', 'ref', '--json']);
  const ev = JSON.parse(r.stdout) as { tokens: number; loss: number };
  const ids = [1, 22, 27, 29, 32, 6, 15, 30, 3];
  model.forward(Int32Array.from(ids), 1, ids.length);
  const logits = model.logits();
  let nll = 0;
  for (let t = 0; t + 1 < ids.length; t++) nll -= logSoftmax(logits, t, V)[ids[t + 1]!]!;
  assert.equal(ev.tokens, ids.length - 1);
  assert.ok(Math.abs(ev.loss - nll / (ids.length - 1)) < 1e-5, `eval loss ${ev.loss} vs ${nll / (ids.length - 1)}`);

  // phenomena and quantize on the same directory and text
  writeFileSync(textFile, text.repeat(6));
  const common = ['--model', dir, '--data', textFile, '--seqs', '2', '--seq-len', '16', '--eval-tokens', '40', '--backend', 'ref'];
  r = await lmlab(['phenomena', 'activations', ...common, '--json', join(dir, 'act.json')]);
  assert.match(r.stdout, /top1\/med/);
  const act = JSON.parse(readFileSync(join(dir, 'act.json'), 'utf8')) as { report: { layers: unknown[] } };
  assert.equal(act.report.layers.length, 2, 'two layers of llama-tiny');
  r = await lmlab(['quantize', ...common, '--bits', '8', '--block', '0']);
  assert.match(r.stdout, /40 evaluation tokens/);

  // inspect names the tokenizer and which reader takes it
  r = await lmlab(['inspect', dir, '--json']);
  const info = JSON.parse(r.stdout) as { architecture: string; tokenizer: { reader: string; vocab: number; not_byte_level: string } };
  assert.equal(info.architecture, 'llama');
  assert.equal(info.tokenizer.reader, '@huggingface/tokenizers');
  assert.equal(info.tokenizer.vocab, 72);
  assert.match(info.tokenizer.not_byte_level, /byte_fallback/);

  // export takes lmlab runs only: a child process, to see the exit code and the one-line error
  const p = spawnSync(process.execPath, [join(root, 'bin/lmlab.js'), 'export', '--run', dir, '--out', join(dir, 'exp')], { encoding: 'utf8' });
  assert.equal(p.status, 1);
  assert.match(p.stderr, /--run: '.*' is a Hugging Face model directory .*not an lmlab run/);
});
