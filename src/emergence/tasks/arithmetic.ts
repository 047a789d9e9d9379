/**
 * Arithmetic tasks: multi-digit addition and multiplication (direct answer or scratchpad), and modular
 * arithmetic a ∘ b mod p.
 *
 * Formats (no newlines inside an example; k-shot demonstrations are separated by '\n'):
 *   addition        prompt "1234+5678="        target "6912"
 *   addition + scratchpad: target " 4+8+0=12;3+7+1=11;2+6+1=9;1+5+0=6 => 6912"
 *       one step per digit from the least significant: da+db+carry_in=column sum; the answer after "=>".
 *   multiplication  prompt "123*45="           target "5535"
 *   multiplication + scratchpad: target " 123*5=615;123*40=4920;615+4920=5535 => 5535"
 *       one partial product per digit of the second operand (digit times its power of ten), then the
 *       running sums; the answer after "=>". Scratchpad targets start with a space so the first step
 *       does not run into the "=" of the prompt.
 *   modular         prompt "17+45 mod 97="     target "62"
 *
 * Split keys are canonical: for the commutative operations the operands are ordered, so "12+34" and
 * "34+12" always fall in the same split (eval never contains a commuted training problem).
 */
import { randInt, randRange, type AnyRandom, type RandomSource } from '../rng.ts';
import {
  COMMON_DEFAULTS,
  generateExamples,
  optBool,
  optEnum,
  optInt,
  resolveOptions,
  type Problem,
} from './common.ts';
import type { Example, Split, Task, TaskOptions } from './types.ts';

/** Random decimal string with exactly `digits` digits (no leading zero unless digits = 1). */
export function randomDigits(rng: RandomSource, digits: number): string {
  if (digits === 1) return String(randInt(rng, 10));
  let s = String(1 + randInt(rng, 9));
  for (let i = 1; i < digits; i++) s += String(randInt(rng, 10));
  return s;
}

function cmpBig(a: string, b: string): number {
  const x = BigInt(a), y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Scratchpad of column addition: "da+db+c=s" per column from the least significant digit. */
export function additionScratchpad(a: string, b: string): string {
  const n = Math.max(a.length, b.length);
  const steps: string[] = [];
  let carry = 0;
  for (let i = 0; i < n; i++) {
    const da = i < a.length ? a.charCodeAt(a.length - 1 - i) - 48 : 0;
    const db = i < b.length ? b.charCodeAt(b.length - 1 - i) - 48 : 0;
    const s = da + db + carry;
    steps.push(`${da}+${db}+${carry}=${s}`);
    carry = s >= 10 ? 1 : 0;
  }
  return ` ${steps.join(';')} => ${(BigInt(a) + BigInt(b)).toString()}`;
}

/** Scratchpad of long multiplication: partial products per digit of b, then running sums. */
export function multiplicationScratchpad(a: string, b: string): string {
  const A = BigInt(a);
  const steps: string[] = [];
  const partials: bigint[] = [];
  for (let i = 0; i < b.length; i++) {
    const d = b.charCodeAt(b.length - 1 - i) - 48;
    const m = BigInt(d) * 10n ** BigInt(i);
    const p = A * m;
    partials.push(p);
    steps.push(`${a}*${m.toString()}=${p.toString()}`);
  }
  let acc = partials[0]!;
  for (let i = 1; i < partials.length; i++) {
    const next = acc + partials[i]!;
    steps.push(`${acc.toString()}+${partials[i]!.toString()}=${next.toString()}`);
    acc = next;
  }
  return ` ${steps.join(';')} => ${acc.toString()}`;
}

/** Final answer of a scratchpad continuation: the text after the last "=>", up to a newline, trimmed. */
export function extractArrowAnswer(generated: string): string {
  const line = generated.split('\n')[0]!;
  const i = line.lastIndexOf('=>');
  return (i >= 0 ? line.slice(i + 2) : line).trim();
}

// ---------------------------------------------------------------------------------------------------

export const ADDITION_DEFAULTS = { ...COMMON_DEFAULTS, digits: 3, digitsB: null as number | null, scratchpad: false };

export function drawAddition(rng: RandomSource, o: TaskOptions, task = 'addition'): Problem {
  const da = optInt(task, o, 'digits', 1, 60);
  const db = o.digitsB === null || o.digitsB === undefined ? da : optInt(task, o, 'digitsB', 1, 60);
  const scratch = optBool(task, o, 'scratchpad');
  const a = randomDigits(rng, da), b = randomDigits(rng, db);
  const answer = (BigInt(a) + BigInt(b)).toString();
  const [lo, hi] = cmpBig(a, b) <= 0 ? [a, b] : [b, a];
  const p: Problem = {
    prompt: `${a}+${b}=`,
    target: scratch ? additionScratchpad(a, b) : answer,
    key: `${lo}+${hi}`,
    meta: { a, b, answer },
  };
  if (scratch) p.answer = answer;
  return p;
}

export const additionTask: Task = {
  name: 'addition',
  description: 'multi-digit addition "a+b=" (option scratchpad: column-wise steps with carries)',
  defaults: ADDITION_DEFAULTS,
  separator: '\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, ADDITION_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawAddition(r, o));
  },
  extractAnswer: extractArrowAnswer,
};

// ---------------------------------------------------------------------------------------------------

export const MULTIPLICATION_DEFAULTS = { ...COMMON_DEFAULTS, digits: 2, digitsB: null as number | null, scratchpad: false };

export function drawMultiplication(rng: RandomSource, o: TaskOptions, task = 'multiplication'): Problem {
  const da = optInt(task, o, 'digits', 1, 40);
  const db = o.digitsB === null || o.digitsB === undefined ? da : optInt(task, o, 'digitsB', 1, 40);
  const scratch = optBool(task, o, 'scratchpad');
  const a = randomDigits(rng, da), b = randomDigits(rng, db);
  const answer = (BigInt(a) * BigInt(b)).toString();
  const [lo, hi] = cmpBig(a, b) <= 0 ? [a, b] : [b, a];
  const p: Problem = {
    prompt: `${a}*${b}=`,
    target: scratch ? multiplicationScratchpad(a, b) : answer,
    key: `${lo}*${hi}`,
    meta: { a, b, answer },
  };
  if (scratch) p.answer = answer;
  return p;
}

export const multiplicationTask: Task = {
  name: 'multiplication',
  description: 'multi-digit multiplication "a*b=" (option scratchpad: partial products and running sums)',
  defaults: MULTIPLICATION_DEFAULTS,
  separator: '\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, MULTIPLICATION_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawMultiplication(r, o));
  },
  extractAnswer: extractArrowAnswer,
};

// ---------------------------------------------------------------------------------------------------

export const MODULAR_DEFAULTS = { ...COMMON_DEFAULTS, p: 97, op: '+' as '+' | '-' | '*' };

export function modOp(a: number, b: number, p: number, op: '+' | '-' | '*'): number {
  if (op === '+') return (a + b) % p;
  if (op === '-') return (((a - b) % p) + p) % p;
  return Number((BigInt(a) * BigInt(b)) % BigInt(p));
}

export function drawModular(rng: RandomSource, o: TaskOptions, task = 'modular'): Problem {
  const p = optInt(task, o, 'p', 2, 1_000_000_007);
  const op = optEnum(task, o, 'op', ['+', '-', '*'] as const);
  const a = randRange(rng, 0, p - 1), b = randRange(rng, 0, p - 1);
  const c = modOp(a, b, p, op);
  const commutative = op !== '-';
  const [lo, hi] = commutative && b < a ? [b, a] : [a, b];
  return {
    prompt: `${a}${op}${b} mod ${p}=`,
    target: String(c),
    key: `${lo}${op}${hi} mod ${p}`,
    meta: { a, b, p, op, answer: String(c) },
  };
}

export const modularTask: Task = {
  name: 'modular',
  description: 'modular arithmetic "a+b mod p=" (option op: + - *)',
  defaults: MODULAR_DEFAULTS,
  separator: '\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, MODULAR_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawModular(r, o));
  },
};
