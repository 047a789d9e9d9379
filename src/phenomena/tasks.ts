/**
 * Small evaluation tasks for the interventions and pruning experiments, and stopword probabilities.
 *
 * Cloze task: at evenly spaced words of a text, the context is the text before the word and the options are
 * the true word and distractors of the SAME length (so summed log-likelihoods compare fairly); an item is right
 * when the true word has the highest log-likelihood. Distractors are either other words of the text
 * ('words': a semantic cloze, near chance for tiny models) or the true word with its interior letters shuffled
 * ('scrambled', the default: a spelling task that small byte-level models solve well above chance).
 *
 * Stopword probability (Yu et al. 2024 report that pruning the super weight raises stopword probabilities
 * 2–5×). Definition used here, for any codec: at N word starts of the text (positions right after a space),
 * p(w | context) = Π_i p(token_i | context, token_<i) over the tokens of `w + " "` (the word followed by the
 * space that ends it, so that "the" is not counted inside "then"). For raw-byte models (vocab 256) the tokens
 * are the word's bytes. Reported per word as the mean over contexts.
 */
import stopwordsEn from '@stdlib/datasets-stopwords-en';
import { Rng } from '../engine/rng.ts';
import type { GPT } from '../model/gpt.ts';
import { scoreContinuations } from '../train/generate.ts';
import type { TextCodec } from '../train/runs.ts';
import { PhenomenaError } from './common.ts';

/** A multiple-choice item: options are token sequences continuing the context. */
export interface MCItem {
  context: number[];
  options: number[][];
  gold: number;
}

/** Build `n` same-length-distractor cloze items from a text. */
export function clozeItems(text: string, codec: TextCodec, o: { n?: number; contextChars?: number; choices?: number; seed?: number; minLength?: number; distractors?: 'scrambled' | 'words' } = {}): MCItem[] {
  const mode = o.distractors ?? 'scrambled';
  const n = o.n ?? 40, contextChars = o.contextChars ?? 96, choices = o.choices ?? 4, minLength = o.minLength ?? (mode === 'scrambled' ? 6 : 4);
  const rng = new Rng(o.seed ?? 1);
  const words: { word: string; start: number }[] = [];
  for (const m of text.matchAll(/[A-Za-z]+/g)) {
    if (m[0].length >= minLength && m.index! >= contextChars && text[m.index! - 1] === ' ') words.push({ word: m[0], start: m.index! });
  }
  const byLen = new Map<number, string[]>();
  for (const w of words) {
    const list = byLen.get(w.word.length) ?? [];
    if (!list.includes(w.word.toLowerCase())) list.push(w.word.toLowerCase());
    byLen.set(w.word.length, list);
  }
  /** distractors for a word, or null when there are not enough distinct ones */
  const distract = (word: string): string[] | null => {
    const out: string[] = [];
    if (mode === 'scrambled') {
      for (let tries = 0; tries < 60 && out.length < choices - 1; tries++) {
        const mid = word.slice(1, -1).split('');
        for (let i = mid.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [mid[i], mid[j]] = [mid[j]!, mid[i]!];
        }
        const d = word[0] + mid.join('') + word[word.length - 1];
        if (d !== word && !out.includes(d)) out.push(d);
      }
    } else {
      const pool = (byLen.get(word.length) ?? []).filter((x) => x !== word.toLowerCase());
      if (pool.length < choices - 1) return null;
      while (out.length < choices - 1) {
        const d = pool[rng.int(pool.length)]!;
        const cased = word[0] === word[0]!.toUpperCase() ? d[0]!.toUpperCase() + d.slice(1) : d;
        if (!out.includes(cased)) out.push(cased);
      }
    }
    return out.length === choices - 1 ? out : null;
  };
  const items: MCItem[] = [];
  const step = Math.max(1, Math.floor(words.length / n));
  for (let i = 0; i < words.length && items.length < n; i += step) {
    const w = words[i]!;
    const ds = distract(w.word);
    if (!ds) continue;
    const opts = [w.word, ...ds];
    const gold = rng.int(choices);
    [opts[0], opts[gold]] = [opts[gold]!, opts[0]!];
    items.push({ context: codec.encode(text.slice(w.start - contextChars, w.start)), options: opts.map((x) => codec.encode(x)), gold });
  }
  if (items.length === 0) throw new PhenomenaError(`cloze task: no word of the text (at least ${minLength} letters, after ${contextChars} characters) has ${choices - 1} distinct distractors`);
  return items;
}

/** Accuracy of the argmax-log-likelihood option (hooks on the model fire). */
export function mcAccuracy(model: GPT, items: readonly MCItem[]): { accuracy: number; n: number } {
  const pairs = items.flatMap((it) => it.options.map((op) => ({ context: it.context, continuation: op })));
  const scores = scoreContinuations(model, pairs).map((lp) => lp.reduce((a, b) => a + b, 0));
  let k = 0, right = 0;
  for (const it of items) {
    const s = scores.slice(k, k + it.options.length);
    k += it.options.length;
    let best = 0;
    for (let i = 1; i < s.length; i++) if (s[i]! > s[best]!) best = i;
    if (best === it.gold) right++;
  }
  return { accuracy: right / items.length, n: items.length };
}

/** The English stopword list of @stdlib/datasets-stopwords-en (lower case). */
export function englishStopwords(): string[] {
  return stopwordsEn();
}

/** The `k` stopwords most frequent in `text` (case-insensitive whole words), with their counts. */
export function frequentStopwords(text: string, k = 20, list: readonly string[] = englishStopwords()): { word: string; count: number }[] {
  const set = new Set(list.map((w) => w.toLowerCase()));
  const counts = new Map<string, number>();
  for (const m of text.toLowerCase().matchAll(/[a-z']+/g)) if (set.has(m[0])) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  return [...counts].map(([word, count]) => ({ word, count })).sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : 1)).slice(0, k);
}

/** Contexts for stopword probabilities: `n` evenly spaced word starts of the text, `contextChars` characters each. */
export function wordStartContexts(text: string, codec: TextCodec, n = 32, contextChars = 64): number[][] {
  const starts: number[] = [];
  for (let i = contextChars; i < text.length; i++) if (text[i - 1] === ' ' && /[A-Za-z]/.test(text[i]!)) starts.push(i);
  if (starts.length === 0) throw new PhenomenaError('stopwords: the text has no word starts after the first context');
  const m = Math.min(n, starts.length);
  return Array.from({ length: m }, (_, i) => codec.encode(text.slice(starts[Math.floor((i * starts.length) / m)]! - contextChars, starts[Math.floor((i * starts.length) / m)]!)));
}

/** Mean probability of each word (as `word + " "`) over the contexts. */
export function stopwordProbabilities(model: GPT, codec: TextCodec, contexts: readonly number[][], words: readonly string[]): { word: string; prob: number }[] {
  const pairs = words.flatMap((w) => contexts.map((ctx) => ({ context: ctx, continuation: codec.encode(w + ' ') })));
  const lps = scoreContinuations(model, pairs);
  return words.map((word, wi) => {
    let s = 0;
    for (let c = 0; c < contexts.length; c++) s += Math.exp(lps[wi * contexts.length + c]!.reduce((a, b) => a + b, 0));
    return { word, prob: s / contexts.length };
  });
}
