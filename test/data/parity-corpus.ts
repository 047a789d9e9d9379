/** Shared by the full-corpus GPT-2 parity tests: the whole built-in corpus as text, and its distinct pieces. */
import { builtinDocuments, type Document } from '../../src/data/sources.ts';
import { GPT2_PATTERN } from '../../src/data/pretokenize.ts';

export interface ParityCorpus {
  docs: Document[];
  /** Documents as strings (e-mails' invalid bytes become U+FFFD: gpt-3-encoder takes strings). */
  texts: string[];
  totalBytes: number;
}

export function loadParityCorpus(): ParityCorpus {
  const docs = [...builtinDocuments('sotu'), ...builtinDocuments('moby-dick'), ...builtinDocuments('spam-assassin')];
  const td = new TextDecoder();
  const texts = docs.map((d) => td.decode(d.bytes));
  const totalBytes = texts.reduce((a, s) => a + Buffer.byteLength(s, 'utf8'), 0);
  return { docs, texts, totalBytes };
}

/** Distinct regex pieces of all texts. */
export function distinctPieces(texts: string[]): Set<string> {
  const pieces = new Set<string>();
  for (const s of texts) for (const p of s.match(GPT2_PATTERN) ?? []) pieces.add(p);
  return pieces;
}

export const sameIds = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};
