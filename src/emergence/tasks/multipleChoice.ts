/**
 * Multiple-choice variants of the generation tasks. The correct answer plus (numOptions − 1) near-miss
 * distractors become the options; the split key is the base problem's key, so 'addition-mc' and
 * 'addition' agree on which problems are eval problems (same salt and evalFraction).
 *
 * style 'cloze' (default, lm-evaluation-harness style for arithmetic): the prompt is the base prompt and
 *   each option is a full answer continuation; the model's choice is the option with the highest
 *   log-likelihood.
 * style 'lettered': the options are listed in the prompt as "A. …" lines followed by "Answer:", and the
 *   scored continuations are " A", " B", …
 */
import { randInt, sample, shuffle, type AnyRandom, type RandomSource } from '../rng.ts';
import { drawAddition, drawModular, drawMultiplication, ADDITION_DEFAULTS, MODULAR_DEFAULTS, MULTIPLICATION_DEFAULTS, modOp } from './arithmetic.ts';
import { COMMON_DEFAULTS, TaskSpaceError, generateExamples, optEnum, optInt, resolveOptions, type Problem } from './common.ts';
import { composeSkills, drawSkills, SKILLS, SKILLS_DEFAULTS } from './skills.ts';
import type { Example, Split, Task, TaskOptions } from './types.ts';

const LETTERS = 'ABCDEFGHIJ';

export interface McSource {
  /** Options of the base task that the MC variant also reads. */
  baseDefaults: TaskOptions;
  draw(rng: RandomSource, o: TaskOptions, task: string): Problem;
  /** Candidate wrong options formatted like `p.target`, best first; duplicates and the answer are removed later. */
  distractors(p: Problem, rng: RandomSource, o: TaskOptions): string[];
  /** Random fallback wrong option (called until enough distinct options exist). */
  fallback(p: Problem, rng: RandomSource, o: TaskOptions): string;
}

/** Build an MC task from a base problem drawer. */
export function makeMultipleChoiceTask(name: string, description: string, src: McSource): Task {
  const defaults: TaskOptions = { ...src.baseDefaults, numOptions: 4, style: 'cloze' };
  delete defaults.scratchpad; // MC grades the final answer only
  return {
    name,
    description,
    defaults,
    separator: '\n\n',
    generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
      const o = resolveOptions(name, defaults, opts);
      const baseOpts = { ...o, scratchpad: false };
      const k = optInt(name, o, 'numOptions', 2, LETTERS.length);
      const style = optEnum(name, o, 'style', ['cloze', 'lettered'] as const);
      const common = o as typeof COMMON_DEFAULTS & TaskOptions;
      return generateExamples(name, rng, split, n, common, '\n\n', (r) => {
        const p = src.draw(r, baseOpts, name);
        const wrong: string[] = [];
        const seen = new Set([p.target]);
        for (const d of src.distractors(p, r, baseOpts)) {
          if (wrong.length >= k - 1) break;
          if (d.trim() === '' || seen.has(d)) continue;
          seen.add(d);
          wrong.push(d);
        }
        let guard = 0;
        while (wrong.length < k - 1) {
          if (++guard > 10000) throw new TaskSpaceError(`task '${name}': cannot find ${k - 1} distinct wrong options for ${JSON.stringify(p.prompt)}`);
          const d = src.fallback(p, r, baseOpts);
          if (d.trim() === '' || seen.has(d)) continue;
          seen.add(d);
          wrong.push(d);
        }
        const options = shuffle(r, [p.target, ...wrong]);
        const gold = options.indexOf(p.target);
        const meta = { ...(p.meta ?? {}), style, numOptions: k };
        const base: Problem = { key: p.key, meta, prompt: p.prompt, target: p.target, options, gold };
        if (p.splitKey !== undefined) base.splitKey = p.splitKey;
        if (style === 'lettered') {
          base.prompt = `${p.prompt}\n${options.map((x, i) => `${LETTERS[i]}. ${x.trim()}`).join('\n')}\nAnswer:`;
          base.options = options.map((_, i) => ` ${LETTERS[i]}`);
          base.target = ` ${LETTERS[gold]}`;
          (base.meta as Record<string, unknown>).answerText = p.target;
        }
        return base;
      });
    },
  };
}

/** Near-miss numbers: one digit changed, ±1, ±10, adjacent digits swapped. Non-negative, no leading zero. */
export function numericNearMisses(answer: string, rng: RandomSource): string[] {
  const A = BigInt(answer);
  const out: string[] = [];
  const add = (v: bigint): void => {
    if (v >= 0n) out.push(v.toString());
  };
  // one digit changed
  {
    const i = randInt(rng, answer.length);
    const d = answer.charCodeAt(i) - 48;
    let nd = (d + 1 + randInt(rng, 9)) % 10;
    if (i === 0 && answer.length > 1 && nd === 0) nd = d === 1 ? 2 : 1;
    add(BigInt(answer.slice(0, i) + String(nd) + answer.slice(i + 1)));
  }
  const deltas = [1n, -1n, 10n, -10n];
  shuffle(rng, deltas);
  for (const dl of deltas) add(A + dl);
  if (answer.length >= 2) {
    const i = randInt(rng, answer.length - 1);
    const s = answer.slice(0, i) + answer[i + 1] + answer[i] + answer.slice(i + 2);
    if (s[0] !== '0') add(BigInt(s));
  }
  return out;
}

function randomSameLength(answer: string, rng: RandomSource): string {
  let s = answer.length === 1 ? String(randInt(rng, 10)) : String(1 + randInt(rng, 9));
  for (let i = 1; i < answer.length; i++) s += String(randInt(rng, 10));
  return s;
}

/** Column sum without carries, a typical addition error. */
export function noCarrySum(a: string, b: string): string {
  const n = Math.max(a.length, b.length);
  let s = '';
  for (let i = 0; i < n; i++) {
    const da = i < a.length ? a.charCodeAt(a.length - 1 - i) - 48 : 0;
    const db = i < b.length ? b.charCodeAt(b.length - 1 - i) - 48 : 0;
    s = String((da + db) % 10) + s;
  }
  return BigInt(s).toString();
}

export const additionMcTask = makeMultipleChoiceTask('addition-mc', 'addition as multiple choice (near-miss distractors, including the sum without carries)', {
  baseDefaults: ADDITION_DEFAULTS,
  draw: (rng, o, task) => drawAddition(rng, o, task),
  distractors: (p, rng) => {
    const { a, b } = p.meta as { a: string; b: string };
    return [noCarrySum(a, b), ...numericNearMisses(p.target, rng)];
  },
  fallback: (p, rng) => randomSameLength(p.target, rng),
});

export const multiplicationMcTask = makeMultipleChoiceTask('multiplication-mc', 'multiplication as multiple choice (off-by-one-multiplicand and near-miss distractors)', {
  baseDefaults: MULTIPLICATION_DEFAULTS,
  draw: (rng, o, task) => drawMultiplication(rng, o, task),
  distractors: (p, rng) => {
    const { a, b } = p.meta as { a: string; b: string };
    const A = BigInt(a), B = BigInt(b);
    const c = [(A * (B + 1n)).toString(), ...(B > 0n ? [(A * (B - 1n)).toString()] : [])];
    return [...numericNearMisses(p.target, rng), ...c];
  },
  fallback: (p, rng) => randomSameLength(p.target, rng),
});

export const modularMcTask = makeMultipleChoiceTask('modular-mc', 'modular arithmetic as multiple choice (residue distractors, including the unreduced result)', {
  baseDefaults: MODULAR_DEFAULTS,
  draw: (rng, o, task) => drawModular(rng, o, task),
  distractors: (p) => {
    const { a, b, p: mod, op } = p.meta as { a: number; b: number; p: number; op: '+' | '-' | '*' };
    const c = modOp(a, b, mod, op);
    const raw = op === '+' ? a + b : op === '-' ? a - b : a * b;
    const out = [String((c + 1) % mod), String((c + mod - 1) % mod)];
    if (raw !== c && raw >= 0) out.unshift(String(raw));
    return out;
  },
  fallback: (p, rng) => String(randInt(rng, (p.meta as { p: number }).p)),
});

export const skillsMcTask = makeMultipleChoiceTask('skills-mc', 'skill composition as multiple choice (distractors: permuted, dropped or swapped skills)', {
  baseDefaults: SKILLS_DEFAULTS,
  draw: (rng, o, task) => drawSkills(rng, o, task),
  distractors: (p, rng, o) => {
    const { skills, input } = p.meta as { skills: string[]; input: string };
    const N = optInt('skills-mc', o, 'numSkills', 1, SKILLS.length);
    const pool = SKILLS.slice(0, N).map((s) => s.name);
    const variants: string[][] = [];
    if (skills.length > 1) variants.push(shuffle(rng, skills.slice()));
    if (skills.length > 1) {
      const drop = randInt(rng, skills.length);
      variants.push(skills.filter((_, i) => i !== drop));
    }
    const others = pool.filter((s) => !skills.includes(s));
    if (others.length > 0) {
      const i = randInt(rng, skills.length);
      const v = skills.slice();
      v[i] = sample(rng, others, 1)[0]!;
      variants.push(v);
    }
    variants.push(skills.slice().reverse());
    const outs = variants.map((v) => ' ' + composeSkills(v, input).at(-1)!);
    outs.push(' ' + input);
    return outs;
  },
  fallback: (p, rng, o) => {
    const { input } = p.meta as { input: string };
    const N = optInt('skills-mc', o, 'numSkills', 1, SKILLS.length);
    const pool = SKILLS.slice(0, N).map((s) => s.name);
    const v = sample(rng, pool, 1 + randInt(rng, Math.min(3, pool.length)));
    return ' ' + composeSkills(v, input).at(-1)!;
  },
});
