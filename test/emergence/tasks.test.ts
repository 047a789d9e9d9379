import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/emergence/rng.ts';
import {
  additionScratchpad,
  composeSkills,
  extractArrowAnswer,
  FAMOUS_PHRASES,
  getTask,
  listTasks,
  mixDocuments,
  multiplicationScratchpad,
  SKILLS,
  splitOf,
  taskDocuments,
  TaskOptionError,
  TaskSpaceError,
  UnknownTaskError,
} from '../../src/emergence/tasks/index.ts';

const big = (s: string): bigint => BigInt(s);

test('registry lists every task; unknown names are typed errors', () => {
  const names = listTasks().map((t) => t.name).sort();
  assert.deepEqual(names, ['addition', 'addition-mc', 'copy', 'modular', 'modular-mc', 'multiplication', 'multiplication-mc', 'quote-repetition', 'skills', 'skills-mc']);
  assert.throws(() => getTask('division'), UnknownTaskError);
  assert.throws(() => getTask('addition').generate(new Rng(0), 'eval', 1, { digitz: 3 }), TaskOptionError);
  assert.throws(() => getTask('addition').generate(new Rng(0), 'eval', 1, { digits: 0 }), /digits/);
});

test('every task: deterministic per seed, n examples, non-empty prompt and target, options contain target', () => {
  for (const t of listTasks()) {
    const a = t.generate(new Rng(11), 'eval', 12);
    const b = t.generate(new Rng(11), 'eval', 12);
    assert.deepEqual(a, b, t.name);
    assert.equal(a.length, 12);
    for (const e of a) {
      assert.ok(e.prompt.length > 0 && e.target.length > 0, t.name);
      assert.equal(e.meta.split, 'eval');
      assert.equal(e.meta.task, t.name);
      assert.ok(!e.target.includes('\n'), `${t.name}: target must not contain the stop string`);
      if (e.options) {
        assert.equal(e.options[e.gold!], e.target, t.name);
        assert.equal(new Set(e.options).size, e.options.length, `${t.name}: options distinct`);
      }
    }
  }
});

test('train and eval problem sets are disjoint, and the split follows the hash of the key', () => {
  for (const t of listTasks()) {
    const opts = t.name.startsWith('modular') ? { p: 53 } : {};
    const tr = t.generate(new Rng(1), 'train', 600, opts);
    const ev = t.generate(new Rng(2), 'eval', 60, opts);
    const evalFraction = (t.defaults.evalFraction as number) ?? 0.2;
    const splitKey = (e: (typeof tr)[number]): string =>
      t.name === 'quote-repetition' ? `phrase:${e.meta.phrase}` : e.meta.key;
    const trainKeys = new Set(tr.map(splitKey));
    for (const e of ev) {
      assert.ok(!trainKeys.has(splitKey(e)), `${t.name}: eval problem ${splitKey(e)} also in train`);
      assert.equal(splitOf(splitKey(e), evalFraction), 'eval');
    }
    for (const e of tr.slice(0, 50)) assert.equal(splitOf(splitKey(e), evalFraction), 'train');
    // eval examples are distinct by default
    assert.equal(new Set(ev.map((e) => e.meta.key)).size, ev.length, t.name);
  }
});

test('the hash split puts about evalFraction of problems in eval', () => {
  let ev = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) if (splitOf(`k${i}`, 0.2) === 'eval') ev++;
  assert.ok(Math.abs(ev / n - 0.2) < 0.015, `${ev / n}`);
});

test('commutative problems share a split (canonical keys)', () => {
  const ex = getTask('addition').generate(new Rng(5), 'eval', 200, { digits: 2 });
  for (const e of ex) {
    const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
    assert.equal(splitOf(`${b}+${a}`.split('+').sort((x, y) => Number(x) - Number(y)).join('+'), 0.2), 'eval');
  }
  const tr = new Set(getTask('addition').generate(new Rng(6), 'train', 3000, { digits: 2 }).map((e) => e.prompt));
  for (const e of ex) {
    const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
    assert.ok(!tr.has(`${b}+${a}=`), `commuted eval problem ${b}+${a} appears in train`);
  }
});

test('addition and multiplication answers are correct (BigInt), with the requested digit counts', () => {
  for (const digits of [1, 4, 25]) {
    for (const e of getTask('addition').generate(new Rng(digits), 'eval', 50, { digits, unique: digits > 1 })) {
      const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
      assert.equal(a.length, digits);
      assert.equal(b.length, digits);
      assert.equal(e.target, (big(a) + big(b)).toString());
    }
  }
  for (const e of getTask('multiplication').generate(new Rng(3), 'eval', 50, { digits: 7, digitsB: 3 })) {
    const [a, b] = e.prompt.slice(0, -1).split('*') as [string, string];
    assert.equal(a.length, 7);
    assert.equal(b.length, 3);
    assert.equal(e.target, (big(a) * big(b)).toString());
  }
});

test('addition scratchpad: every column step is correct and the extracted answer is the sum', () => {
  assert.equal(additionScratchpad('1234', '5678'), ' 4+8+0=12;3+7+1=11;2+6+1=9;1+5+0=6 => 6912');
  assert.equal(additionScratchpad('95', '7'), ' 5+7+0=12;9+0+1=10 => 102');
  for (const e of getTask('addition').generate(new Rng(9), 'eval', 100, { digits: 6, scratchpad: true })) {
    const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
    assert.equal(e.answer, (big(a) + big(b)).toString());
    assert.equal(extractArrowAnswer(e.target), e.answer);
    const steps = e.target.trim().split(' => ')[0]!.split(';');
    assert.equal(steps.length, 6);
    let carry = 0;
    steps.forEach((s, i) => {
      const m = /^(\d)\+(\d)\+(\d)=(\d+)$/.exec(s)!;
      assert.ok(m, s);
      assert.equal(Number(m[1]), Number(a[a.length - 1 - i]));
      assert.equal(Number(m[2]), Number(b[b.length - 1 - i]));
      assert.equal(Number(m[3]), carry);
      assert.equal(Number(m[4]), Number(m[1]) + Number(m[2]) + Number(m[3]));
      carry = Number(m[4]) >= 10 ? 1 : 0;
    });
  }
});

test('multiplication scratchpad: partial products and running sums are correct', () => {
  assert.equal(multiplicationScratchpad('123', '45'), ' 123*5=615;123*40=4920;615+4920=5535 => 5535');
  for (const e of getTask('multiplication').generate(new Rng(4), 'eval', 60, { digits: 4, digitsB: 3, scratchpad: true })) {
    const [a, b] = e.prompt.slice(0, -1).split('*') as [string, string];
    assert.equal(extractArrowAnswer(e.target), (big(a) * big(b)).toString());
    for (const step of e.target.trim().split(' => ')[0]!.split(';')) {
      const m = /^(\d+)([*+])(\d+)=(\d+)$/.exec(step)!;
      assert.ok(m, step);
      const v = m[2] === '*' ? big(m[1]!) * big(m[3]!) : big(m[1]!) + big(m[3]!);
      assert.equal(v.toString(), m[4]);
    }
  }
  assert.equal(extractArrowAnswer(' 1+1+0=2 => 2\n3+4='), '2');
});

test('modular arithmetic: correct residues for + - *', () => {
  for (const op of ['+', '-', '*'] as const) {
    for (const e of getTask('modular').generate(new Rng(2), 'eval', 100, { p: 113, op })) {
      const m = /^(\d+)([-+*])(\d+) mod (\d+)=$/.exec(e.prompt)!;
      const a = Number(m[1]), b = Number(m[3]), p = Number(m[4]);
      assert.equal(p, 113);
      assert.ok(a < p && b < p);
      const want = op === '+' ? (a + b) % p : op === '-' ? (((a - b) % p) + p) % p : (a * b) % p;
      assert.equal(e.target, String(want));
    }
  }
});

test('a split too small for a unique request raises TaskSpaceError', () => {
  // p = 5 has 15 unordered + pairs; the eval split holds only a few
  assert.throws(() => getTask('modular').generate(new Rng(0), 'eval', 50, { p: 5 }), TaskSpaceError);
  // non-unique requests are fine
  assert.equal(getTask('modular').generate(new Rng(0), 'eval', 50, { p: 5, unique: false }).length, 50);
});

test('k-shot prompts carry k correct train-split demonstrations before the query', () => {
  const ex = getTask('addition').generate(new Rng(8), 'eval', 30, { digits: 3, kShot: 4 });
  for (const e of ex) {
    const lines = e.prompt.split('\n');
    assert.equal(lines.length, 5);
    assert.equal(e.meta.shots, 4);
    for (const l of lines.slice(0, 4)) {
      const m = /^(\d+)\+(\d+)=(\d+)$/.exec(l)!;
      assert.ok(m, l);
      assert.equal((big(m[1]!) + big(m[2]!)).toString(), m[3]);
      const key = [m[1]!, m[2]!].sort((x, y) => Number(x) - Number(y)).join('+');
      assert.equal(splitOf(key, 0.2), 'train');
    }
    assert.match(lines[4]!, /^\d+\+\d+=$/);
  }
});

test('copy / induction targets continue the repeated sequence', () => {
  for (const e of getTask('copy').generate(new Rng(1), 'eval', 30, { length: 10, shown: 3 })) {
    const [seq, copy] = e.prompt.split(' | ') as [string, string];
    assert.equal(`${copy}${e.target}`, seq);
    assert.equal(copy.split(' ').length, 3);
  }
  for (const e of getTask('copy').generate(new Rng(2), 'eval', 30, { mode: 'induction', length: 6, shown: 2, noise: 5 })) {
    const toks = e.prompt.split(' ');
    assert.equal(toks.length, 5 + 6 + 5 + 2);
    const S = toks.slice(5, 11);
    assert.deepEqual(toks.slice(16), S.slice(0, 2));
    assert.equal(e.target, ' ' + S.slice(2).join(' '));
  }
});

test('quote repetition: corrupted phrase is the target and gold option, the famous word the distractor', () => {
  const ex = getTask('quote-repetition').generate(new Rng(3), 'eval', 20);
  for (const e of ex) {
    const ph = FAMOUS_PHRASES[e.meta.phrase as number]!;
    assert.ok(ph.corruptions.includes(e.meta.corrupted as string));
    assert.equal(e.target, ` ${e.meta.corrupted}.`);
    assert.deepEqual(e.options!.slice().sort(), [` ${e.meta.corrupted}.`, ` ${ph.last}.`].sort());
    assert.ok(e.prompt.endsWith(`Input: ${ph.prefix} ${e.meta.corrupted}.\nOutput: ${ph.prefix}`));
    assert.ok(e.prompt.startsWith('Repeat my sentences back to me.'));
  }
  const ctrl = getTask('quote-repetition').generate(new Rng(3), 'eval', 5, { variant: 'original' });
  for (const e of ctrl) assert.equal(e.target, ` ${FAMOUS_PHRASES[e.meta.phrase as number]!.last}.`);
});

test('skills: each elementary skill on a hand-checked input, and composition order', () => {
  const want: Record<string, string> = {
    reverse: 'olleh', upper: 'HELLO', novowel: 'hll', double: 'hheelllloo', rotl: 'elloh', rotr: 'ohell',
    shift: 'ifmmp', sort: 'ehllo', swapcase: 'HELLO', dedup: 'helo', evens: 'hlo', swapends: 'oellh',
  };
  assert.deepEqual(SKILLS.map((s) => s.name).sort(), Object.keys(want).sort());
  for (const s of SKILLS) assert.equal(s.apply('hello'), want[s.name], s.name);
  assert.equal(SKILLS.find((s) => s.name === 'shift')!.apply('zZa'), 'aAb');
  assert.equal(SKILLS.find((s) => s.name === 'novowel')!.apply('AbE'), 'b');
  assert.deepEqual(composeSkills(['reverse', 'upper', 'novowel'], 'hello'), ['olleh', 'OLLEH', 'LLH']);
  for (const e of getTask('skills').generate(new Rng(5), 'eval', 100, { k: 3, numSkills: 12 })) {
    const m = /^([a-z,]+): ([a-z]+) ->$/.exec(e.prompt)!;
    const names = m[1]!.split(',');
    assert.equal(names.length, 3);
    assert.equal(new Set(names).size, 3);
    let cur = m[2]!;
    for (const n of names) cur = SKILLS.find((s) => s.name === n)!.apply(cur);
    assert.equal(e.target, ' ' + cur);
  }
});

test('skills scratchpad lists every intermediate result; combination split holds out whole tuples', () => {
  for (const e of getTask('skills').generate(new Rng(6), 'eval', 30, { k: 2, scratchpad: true })) {
    const skills = e.meta.skills as string[];
    const steps = composeSkills(skills, e.meta.input as string);
    assert.equal(e.target, ` ${steps.join('; ')} => ${steps[1]}`);
    assert.equal(getTask('skills').extractAnswer!(e.target), e.answer);
  }
  const opts = { k: 2, numSkills: 6, splitBy: 'combination' };
  const tr = new Set(getTask('skills').generate(new Rng(1), 'train', 2000, opts).map((e) => (e.meta.skills as string[]).join(',')));
  const ev = getTask('skills').generate(new Rng(2), 'eval', 40, opts).map((e) => (e.meta.skills as string[]).join(','));
  assert.ok(ev.length > 0);
  for (const c of ev) assert.ok(!tr.has(c), `eval combination ${c} seen in training`);
});

test('multiple choice: gold is the true answer, lettered style lists the options', () => {
  for (const e of getTask('addition-mc').generate(new Rng(2), 'eval', 50, { digits: 3, numOptions: 5 })) {
    const [a, b] = e.prompt.slice(0, -1).split('+') as [string, string];
    assert.equal(e.options!.length, 5);
    assert.equal(e.options![e.gold!], (big(a) + big(b)).toString());
    for (const o of e.options!) assert.match(o, /^\d+$/);
  }
  for (const e of getTask('skills-mc').generate(new Rng(3), 'eval', 30, { style: 'lettered' })) {
    assert.deepEqual(e.options, [' A', ' B', ' C', ' D']);
    const line = e.prompt.split('\n').find((l) => l.startsWith(`${e.target.trim()}. `))!;
    assert.equal(line.slice(3), e.meta.answer);
    assert.ok(e.prompt.endsWith('\nAnswer:'));
  }
  for (const e of getTask('modular-mc').generate(new Rng(4), 'eval', 30, { p: 7, numOptions: 4, unique: false })) {
    assert.equal(new Set(e.options).size, 4);
  }
});

test('training documents contain only train-split problems; mixing keeps corpus order', () => {
  const docs = taskDocuments(getTask('addition'), new Rng(1), 20, { examplesPerDoc: 10, taskOptions: { digits: 2 } });
  assert.equal(docs.length, 20);
  for (const d of docs) {
    const lines = d.split('\n');
    assert.equal(lines.length, 10);
    for (const l of lines) {
      const m = /^(\d+)\+(\d+)=(\d+)$/.exec(l)!;
      assert.ok(m, l);
      assert.equal(splitOf([m[1]!, m[2]!].sort((x, y) => Number(x) - Number(y)).join('+'), 0.2), 'train');
    }
  }
  const corpus = ['c0', 'c1', 'c2', 'c3'];
  const mixed = mixDocuments(corpus, ['t0', 't1', 't2'], new Rng(2));
  assert.equal(mixed.length, 7);
  assert.deepEqual(mixed.filter((d) => d.startsWith('c')), corpus);
  assert.deepEqual(mixed.filter((d) => d.startsWith('t')).sort(), ['t0', 't1', 't2']);
});
