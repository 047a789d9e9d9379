/**
 * Skill composition: k distinct elementary string skills, drawn from the first N of `SKILLS`, applied
 * left to right to one random lowercase word. The answer is the composition. This is the controllable
 * analogue of Arora & Goyal's k-tuples of skills (and of SKILL-MIX): accuracy on k-compositions can be
 * compared with accuracy on the single skills across scale.
 *
 *   prompt "reverse,upper,novowel: hello ->"   target " LLH"
 *   scratchpad: target " olleh; OLLEH; LLH => LLH"  (every intermediate result, then the answer)
 *
 * splitBy 'problem' (default): train/eval disjoint on (skills, input).
 * splitBy 'combination': disjoint on the ordered skill tuple — eval compositions never occur in
 * training (compositional generalization); single skills still do.
 */
import { randInt, sample, type AnyRandom, type RandomSource } from '../rng.ts';
import { COMMON_DEFAULTS, TaskSpaceError, generateExamples, optBool, optEnum, optInt, resolveOptions, type Problem } from './common.ts';
import { extractArrowAnswer } from './arithmetic.ts';
import type { Example, Split, Task, TaskOptions } from './types.ts';

export interface Skill {
  name: string;
  description: string;
  apply(s: string): string;
}

const isLower = (c: string): boolean => c >= 'a' && c <= 'z';
const isUpper = (c: string): boolean => c >= 'A' && c <= 'Z';

/** The elementary skills, in canonical order (option numSkills takes a prefix of this list). */
export const SKILLS: readonly Skill[] = [
  { name: 'reverse', description: 'reverse the string', apply: (s) => [...s].reverse().join('') },
  { name: 'upper', description: 'uppercase every letter', apply: (s) => s.toUpperCase() },
  { name: 'novowel', description: 'delete the vowels a e i o u (either case)', apply: (s) => s.replace(/[aeiouAEIOU]/g, '') },
  { name: 'double', description: 'write every character twice', apply: (s) => [...s].map((c) => c + c).join('') },
  { name: 'rotl', description: 'rotate left by one (first character moves to the end)', apply: (s) => (s.length > 1 ? s.slice(1) + s[0] : s) },
  { name: 'rotr', description: 'rotate right by one (last character moves to the front)', apply: (s) => (s.length > 1 ? s[s.length - 1] + s.slice(0, -1) : s) },
  {
    name: 'shift',
    description: 'Caesar shift every letter by +1 (z→a, Z→A), keeping case',
    apply: (s) =>
      [...s]
        .map((c) => (isLower(c) ? String.fromCharCode(((c.charCodeAt(0) - 97 + 1) % 26) + 97) : isUpper(c) ? String.fromCharCode(((c.charCodeAt(0) - 65 + 1) % 26) + 65) : c))
        .join(''),
  },
  { name: 'sort', description: 'sort the characters (code-point order: uppercase before lowercase)', apply: (s) => [...s].sort().join('') },
  {
    name: 'swapcase',
    description: 'swap the case of every letter',
    apply: (s) => [...s].map((c) => (isLower(c) ? c.toUpperCase() : isUpper(c) ? c.toLowerCase() : c)).join(''),
  },
  {
    name: 'dedup',
    description: 'keep only the first occurrence of each character',
    apply: (s) => {
      const seen = new Set<string>();
      let out = '';
      for (const c of s) if (!seen.has(c)) { seen.add(c); out += c; }
      return out;
    },
  },
  { name: 'evens', description: 'keep the characters at even positions 0, 2, 4, …', apply: (s) => [...s].filter((_, i) => i % 2 === 0).join('') },
  {
    name: 'swapends',
    description: 'swap the first and the last character',
    apply: (s) => (s.length > 1 ? s[s.length - 1] + s.slice(1, -1) + s[0] : s),
  },
];

export function getSkill(name: string): Skill {
  const s = SKILLS.find((x) => x.name === name);
  if (!s) throw new TaskSpaceError(`unknown skill '${name}' (known: ${SKILLS.map((x) => x.name).join(', ')})`);
  return s;
}

/** Apply the skills left to right; returns every intermediate result (the last one is the answer). */
export function composeSkills(names: readonly string[], input: string): string[] {
  const steps: string[] = [];
  let cur = input;
  for (const n of names) {
    cur = getSkill(n).apply(cur);
    steps.push(cur);
  }
  return steps;
}

export const SKILLS_DEFAULTS = {
  ...COMMON_DEFAULTS,
  /** N: how many skills of SKILLS are in play (a prefix of the list). */
  numSkills: 8,
  /** k: skills per example. */
  k: 2,
  /** Input word length (lowercase letters). */
  length: 6,
  scratchpad: false,
  splitBy: 'problem' as 'problem' | 'combination',
};

export function drawSkills(rng: RandomSource, o: TaskOptions, task = 'skills'): Problem {
  const N = optInt(task, o, 'numSkills', 1, SKILLS.length);
  const k = optInt(task, o, 'k', 1, N);
  const length = optInt(task, o, 'length', 1, 64);
  const scratch = optBool(task, o, 'scratchpad');
  const splitBy = optEnum(task, o, 'splitBy', ['problem', 'combination'] as const);
  const pool = SKILLS.slice(0, N).map((s) => s.name);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const names = sample(rng, pool, k);
    let input = '';
    for (let i = 0; i < length; i++) input += String.fromCharCode(97 + randInt(rng, 26));
    const steps = composeSkills(names, input);
    const answer = steps[steps.length - 1]!;
    if (answer.length === 0) continue; // e.g. novowel on "aeiou": redraw, every target is non-empty
    const combo = names.join(',');
    const p: Problem = {
      prompt: `${combo}: ${input} ->`,
      target: scratch ? ` ${steps.join('; ')} => ${answer}` : ` ${answer}`,
      key: `${combo}:${input}`,
      meta: { skills: names, input, answer, k },
    };
    if (splitBy === 'combination') p.splitKey = `combo:${combo}`;
    if (scratch) p.answer = answer;
    return p;
  }
  throw new TaskSpaceError(`task '${task}': could not draw a composition with a non-empty answer`);
}

export const skillsTask: Task = {
  name: 'skills',
  description: 'composition of k of N elementary string skills (reverse, upper, novowel, double, …) on a random word',
  defaults: SKILLS_DEFAULTS,
  separator: '\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, SKILLS_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawSkills(r, o));
  },
  extractAnswer: extractArrowAnswer,
};
