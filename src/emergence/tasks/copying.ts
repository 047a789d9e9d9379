/**
 * Copying and induction tasks on random symbol strings (Olsson et al. 2022 style: a random subsequence
 * is repeated, and the model must continue the repeat). Symbols are separated by spaces so that a BPE
 * tokenizer sees one token per symbol for the common alphabets.
 *
 *   mode 'copy':      prompt "q w e r t y |"                 target " q w e r t y"
 *                     (with shown = m: the first m symbols of the copy are already in the prompt)
 *   mode 'induction': prompt "<noise> S <noise> S[0..m)"      target " S[m..]"
 *                     S is `length` random symbols, the noise strings are `noise` random symbols each.
 */
import { randInt, type AnyRandom, type RandomSource } from '../rng.ts';
import { COMMON_DEFAULTS, generateExamples, optEnum, optInt, resolveOptions, type Problem } from './common.ts';
import type { Example, Split, Task, TaskOptions } from './types.ts';

export const ALPHABETS = {
  letters: 'abcdefghijklmnopqrstuvwxyz'.split(''),
  digits: '0123456789'.split(''),
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''),
} as const;
export type AlphabetName = keyof typeof ALPHABETS;

export const COPY_DEFAULTS = {
  ...COMMON_DEFAULTS,
  mode: 'copy' as 'copy' | 'induction',
  length: 8,
  shown: 0,
  noise: 4,
  alphabet: 'letters' as AlphabetName,
};

function randomSymbols(rng: RandomSource, n: number, alphabet: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(alphabet[randInt(rng, alphabet.length)]!);
  return out;
}

export function drawCopy(rng: RandomSource, o: TaskOptions, task = 'copy'): Problem {
  const mode = optEnum(task, o, 'mode', ['copy', 'induction'] as const);
  const length = optInt(task, o, 'length', 1, 512);
  const shown = optInt(task, o, 'shown', 0, length - 1);
  const noise = optInt(task, o, 'noise', 0, 512);
  const alphabet = ALPHABETS[optEnum(task, o, 'alphabet', Object.keys(ALPHABETS) as AlphabetName[])];
  const seq = randomSymbols(rng, length, alphabet);
  const head = seq.slice(0, shown);
  const rest = seq.slice(shown);
  let prompt: string;
  if (mode === 'copy') {
    prompt = [...seq, '|', ...head].join(' ');
  } else {
    const n1 = randomSymbols(rng, noise, alphabet);
    const n2 = randomSymbols(rng, noise, alphabet);
    prompt = [...n1, ...seq, ...n2, ...head].join(' ');
  }
  const target = ' ' + rest.join(' ');
  return { prompt, target, key: `${mode}:${prompt}${target}`, meta: { mode, sequence: seq.join(' '), shown } };
}

export const copyTask: Task = {
  name: 'copy',
  description: 'copying / induction: continue a repeated random symbol sequence (option mode: copy | induction)',
  defaults: COPY_DEFAULTS,
  separator: '\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, COPY_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawCopy(r, o));
  },
};
