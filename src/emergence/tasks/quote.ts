/**
 * Quote repetition with a corrupted famous phrase — the Inverse Scaling Prize "quote-repetition" /
 * "memo-trap" pattern (McKenzie et al. 2023): the model is asked to repeat sentences verbatim, and the
 * last one is a famous phrase whose final word has been changed. Larger models that memorized the
 * phrase tend to complete it with the famous word instead of repeating the corrupted one (inverse
 * scaling). The task is both a generation task (target = the corrupted word) and a two-way multiple
 * choice (corrupted word = gold, famous word = distractor).
 *
 * Format (separator between demonstrations: a blank line):
 *   Repeat my sentences back to me.
 *
 *   Input: The small dog likes green apples.
 *   Output: The small dog likes green apples.
 *
 *   Input: Fortune favors the timid.
 *   Output: Fortune favors the            target " timid."   options [" timid.", " bold."]
 *
 * The split is decided on the famous phrase, so an eval phrase is never seen (corrupted) in training.
 * `variant: 'original'` gives the control condition (the phrase unchanged, target the famous word).
 */
import { hash32, pick, randInt, shuffle, type AnyRandom, type RandomSource } from '../rng.ts';
import { COMMON_DEFAULTS, generateExamples, optEnum, optInt, resolveOptions, type Problem } from './common.ts';
import type { Example, Split, Task, TaskOptions } from './types.ts';

/** A famous phrase split before its last word, with replacement words that change its meaning. */
export interface FamousPhrase {
  prefix: string;
  last: string;
  corruptions: string[];
}

/** Proverbs and well-known lines (public domain), each with plausible corruptions of the last word. */
export const FAMOUS_PHRASES: readonly FamousPhrase[] = [
  { prefix: 'Fortune favors the', last: 'bold', corruptions: ['timid', 'meek'] },
  { prefix: 'Actions speak louder than', last: 'words', corruptions: ['songs', 'drums'] },
  { prefix: 'The early bird catches the', last: 'worm', corruptions: ['bus', 'cold'] },
  { prefix: 'A picture is worth a thousand', last: 'words', corruptions: ['dollars', 'pictures'] },
  { prefix: 'All that glitters is not', last: 'gold', corruptions: ['silver', 'glass'] },
  { prefix: 'Absence makes the heart grow', last: 'fonder', corruptions: ['colder', 'heavy'] },
  { prefix: 'Better late than', last: 'never', corruptions: ['sorry', 'early'] },
  { prefix: 'Birds of a feather flock', last: 'together', corruptions: ['apart', 'south'] },
  { prefix: 'Curiosity killed the', last: 'cat', corruptions: ['dog', 'mood'] },
  { prefix: 'Every cloud has a silver', last: 'lining', corruptions: ['spoon', 'coin'] },
  { prefix: 'Honesty is the best', last: 'policy', corruptions: ['gamble', 'excuse'] },
  { prefix: 'Knowledge is', last: 'power', corruptions: ['heavy', 'cheap'] },
  { prefix: 'Laughter is the best', last: 'medicine', corruptions: ['dessert', 'revenge'] },
  { prefix: 'Look before you', last: 'leap', corruptions: ['sleep', 'sneeze'] },
  { prefix: 'Practice makes', last: 'perfect', corruptions: ['noise', 'mistakes'] },
  { prefix: 'Rome was not built in a', last: 'day', corruptions: ['hurry', 'barn'] },
  { prefix: 'The pen is mightier than the', last: 'sword', corruptions: ['pencil', 'spoon'] },
  { prefix: 'Time is', last: 'money', corruptions: ['soup', 'sand'] },
  { prefix: 'Two heads are better than', last: 'one', corruptions: ['three', 'none'] },
  { prefix: 'When in Rome, do as the Romans', last: 'do', corruptions: ['say', 'sing'] },
  { prefix: 'Where there is smoke, there is', last: 'fire', corruptions: ['fog', 'bacon'] },
  { prefix: 'You cannot judge a book by its', last: 'cover', corruptions: ['weight', 'author'] },
  { prefix: 'An apple a day keeps the doctor', last: 'away', corruptions: ['busy', 'happy'] },
  { prefix: 'Beauty is in the eye of the', last: 'beholder', corruptions: ['storm', 'needle'] },
  { prefix: 'Blood is thicker than', last: 'water', corruptions: ['honey', 'paint'] },
  { prefix: 'Do not count your chickens before they', last: 'hatch', corruptions: ['dance', 'vote'] },
  { prefix: 'Great minds think', last: 'alike', corruptions: ['slowly', 'twice'] },
  { prefix: 'Haste makes', last: 'waste', corruptions: ['sense', 'friends'] },
  { prefix: 'Ignorance is', last: 'bliss', corruptions: ['costly', 'loud'] },
  { prefix: 'It takes two to', last: 'tango', corruptions: ['argue', 'knit'] },
  { prefix: 'Necessity is the mother of', last: 'invention', corruptions: ['chaos', 'pearls'] },
  { prefix: 'No news is good', last: 'news', corruptions: ['gossip', 'weather'] },
  { prefix: 'Old habits die', last: 'hard', corruptions: ['young', 'quietly'] },
  { prefix: 'Silence is', last: 'golden', corruptions: ['green', 'boring'] },
  { prefix: 'Still waters run', last: 'deep', corruptions: ['dry', 'late'] },
  { prefix: 'The grass is always greener on the other', last: 'side', corruptions: ['planet', 'hand'] },
  { prefix: 'There is no place like', last: 'home', corruptions: ['Paris', 'school'] },
  { prefix: 'To be or not to', last: 'be', corruptions: ['see', 'eat'] },
  { prefix: 'What goes around comes', last: 'around', corruptions: ['apart', 'late'] },
  { prefix: 'You can lead a horse to water, but you cannot make it', last: 'drink', corruptions: ['swim', 'sing'] },
  { prefix: 'A penny saved is a penny', last: 'earned', corruptions: ['lost', 'spent'] },
  { prefix: 'Easy come, easy', last: 'go', corruptions: ['stay', 'glow'] },
  { prefix: 'The squeaky wheel gets the', last: 'grease', corruptions: ['blame', 'boot'] },
  { prefix: 'A journey of a thousand miles begins with a single', last: 'step', corruptions: ['map', 'sandwich'] },
  { prefix: 'The show must go', last: 'on', corruptions: ['home', 'away'] },
  { prefix: 'All roads lead to', last: 'Rome', corruptions: ['Boston', 'nowhere'] },
  { prefix: 'Misery loves', last: 'company', corruptions: ['cake', 'silence'] },
  { prefix: 'Slow and steady wins the', last: 'race', corruptions: ['lottery', 'argument'] },
];

const SUBJECTS = ['The small dog', 'My neighbor', 'A tall man', 'The old cat', 'Our teacher', 'The farmer', 'A young girl', 'The baker', 'My brother', 'The pilot'];
const VERBS = ['likes', 'paints', 'carries', 'finds', 'sells', 'watches', 'cleans', 'buys', 'draws', 'hides'];
const ADJS = ['green', 'heavy', 'tiny', 'bright', 'wooden', 'round', 'cold', 'sweet', 'broken', 'yellow'];
const NOUNS = ['apples', 'boxes', 'chairs', 'stones', 'kites', 'books', 'shoes', 'lamps', 'cups', 'boats'];

/** A random ordinary sentence for the repetition demonstrations. */
export function fillerSentence(rng: RandomSource): string {
  return `${pick(rng, SUBJECTS)} ${pick(rng, VERBS)} ${pick(rng, ADJS)} ${pick(rng, NOUNS)}.`;
}

export const QUOTE_DEFAULTS = {
  ...COMMON_DEFAULTS,
  /** Plain repetition demonstrations inside each prompt (before the quote). */
  demos: 2,
  variant: 'corrupted' as 'corrupted' | 'original',
  instruction: 'Repeat my sentences back to me.',
  evalFraction: 0.3,
};

export function drawQuote(rng: RandomSource, o: TaskOptions, task = 'quote-repetition'): Problem {
  const demos = optInt(task, o, 'demos', 0, 32);
  const variant = optEnum(task, o, 'variant', ['corrupted', 'original'] as const);
  const idx = randInt(rng, FAMOUS_PHRASES.length);
  const ph = FAMOUS_PHRASES[idx]!;
  const ci = randInt(rng, ph.corruptions.length);
  const word = variant === 'corrupted' ? ph.corruptions[ci]! : ph.last;
  const other = variant === 'corrupted' ? ph.last : ph.corruptions[ci]!;
  const parts: string[] = [];
  const instruction = typeof o.instruction === 'string' ? o.instruction : '';
  if (instruction) parts.push(instruction);
  for (let i = 0; i < demos; i++) {
    const s = fillerSentence(rng);
    parts.push(`Input: ${s}\nOutput: ${s}`);
  }
  parts.push(`Input: ${ph.prefix} ${word}.\nOutput: ${ph.prefix}`);
  const target = ` ${word}.`;
  const options = shuffle(rng, [target, ` ${other}.`]);
  return {
    prompt: parts.join('\n\n'),
    target,
    options,
    gold: options.indexOf(target),
    key: `${variant}:${idx}:${ci}:${hash32(parts.join('|')).toString(16)}`, // demonstrations hashed: unique per prompt
    splitKey: `phrase:${idx}`,
    meta: { phrase: idx, famous: ph.last, corrupted: ph.corruptions[ci], variant },
  };
}

export const quoteRepetitionTask: Task = {
  name: 'quote-repetition',
  description: 'repeat a corrupted famous phrase verbatim (inverse scaling); generation + 2-way multiple choice',
  defaults: QUOTE_DEFAULTS,
  separator: '\n\n',
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[] {
    const o = resolveOptions(this.name, QUOTE_DEFAULTS, opts);
    return generateExamples(this.name, rng, split, n, o, this.separator, (r) => drawQuote(r, o));
  },
};

/** The famous phrases, unchanged, as training documents (to plant the memorized version in a corpus). */
export function famousPhraseDocuments(): string[] {
  return FAMOUS_PHRASES.map((p) => `${p.prefix} ${p.last}.`);
}
