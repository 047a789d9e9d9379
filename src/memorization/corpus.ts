/**
 * Suffix arrays over a token corpus split into documents, such that no suffix (and so no match) runs across a
 * document boundary. Each boundary acts as a unique sentinel: document d's suffixes end with a separator
 * symbol sep_d that is smaller than every token and differs from every other separator. Concretely the builder
 * runs SA-IS over the augmented string  doc_0 sep_0 doc_1 sep_1 … doc_{D-1}  with sep_d = d and token t
 * mapped to t + (D − 1), then drops the D − 1 separator suffixes (they sort first) and maps the remaining
 * positions back to token coordinates. The result lists the N token positions in the order of their
 * document-bounded suffixes: compare tokens up to the end of the document, a suffix that ends first is smaller.
 */
import { alphabetSize, IntText, lcpKasai, MAX_SA_LENGTH, SuffixArrayError } from './sais.ts';
import { buildSuffixArray, type SuffixArrayBackendChoice } from './sais-native.ts';

/** Token streams the corpus tools accept. */
export type TokenArray = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/**
 * Normalise document boundaries to strictly increasing document starts [0, s_1, …, N] (length D + 1, last entry
 * N). Input: any sorted or unsorted list of offsets where a new document begins; 0 and N are implied; duplicates
 * (empty documents) are dropped. Throws if an offset is not an integer in [0, N].
 */
export function normalizeDocStarts(nTokens: number, boundaries?: ArrayLike<number>): Uint32Array {
  const set = new Set<number>([0]);
  if (boundaries) {
    for (let i = 0; i < boundaries.length; i++) {
      const b = boundaries[i]!;
      if (!Number.isInteger(b) || b < 0 || b > nTokens) {
        throw new SuffixArrayError(`document boundary #${i} = ${b} is not an integer in [0, ${nTokens}]`);
      }
      if (b < nTokens) set.add(b);
    }
  }
  const starts = Array.from(set).sort((a, b) => a - b);
  if (nTokens === 0) return new Uint32Array([0]);
  starts.push(nTokens);
  return Uint32Array.from(starts);
}

/** Index of the document containing token position p (docStarts as from normalizeDocStarts). */
export function docOf(docStarts: ArrayLike<number>, p: number): number {
  let lo = 0;
  let hi = docStarts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (docStarts[mid]! <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface CorpusSAOptions {
  /** Token vocabulary size (all tokens < vocabSize); computed from the data when omitted. */
  vocabSize?: number;
  /** SA-IS builder: 'auto' (native addon when available, else TypeScript; default, or LMLAB_SA_BACKEND),
   * 'native' or 'typescript' (see sais-native.ts). */
  backend?: SuffixArrayBackendChoice;
}

/**
 * Suffix array of a tokenised corpus with document boundaries (see the module comment for the order).
 * Returns token positions (Int32Array, length N). Peak memory: the tokens, plus 8 bytes per token for the
 * augmented text and the suffix array when there is more than one document (4 bytes per token otherwise),
 * plus 8·(vocab + D) bytes of buckets.
 */
export function buildCorpusSuffixArray(tokens: TokenArray, docStarts?: ArrayLike<number>, opts: CorpusSAOptions = {}): Int32Array {
  const n = tokens.length;
  const starts = docStarts ? normalizeDocStarts(n, docStarts) : normalizeDocStarts(n);
  const D = Math.max(starts.length - 1, 0);
  if (n + D > MAX_SA_LENGTH) throw new SuffixArrayError(`corpus of ${n} tokens and ${D} documents exceeds the limit of ${MAX_SA_LENGTH} symbols`);
  const vocab = opts.vocabSize ?? alphabetSize(tokens);
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    if (t < 0 || t >= vocab) throw new SuffixArrayError(`token ${t} at position ${i} is outside [0, ${vocab})`);
  }
  if (D <= 1) return buildSuffixArray(tokens as IntText, { k: Math.max(vocab, 1), backend: opts.backend });

  const m = n + D - 1;
  const A = new Int32Array(m);
  const shift = D - 1;
  for (let d = 0, o = 0; d < D; d++) {
    const s = starts[d]!;
    const e = starts[d + 1]!;
    for (let p = s; p < e; p++) A[o++] = tokens[p]! + shift;
    if (d < D - 1) A[o++] = d;
  }
  const SA = buildSuffixArray(A, { k: vocab + shift, backend: opts.backend });
  // reuse A as the map augmented position -> token position (−1 for separators)
  for (let d = 0, o = 0; d < D; d++) {
    const s = starts[d]!;
    const e = starts[d + 1]!;
    for (let p = s; p < e; p++) A[o++] = p;
    if (d < D - 1) A[o++] = -1;
  }
  for (let i = 0; i < shift; i++) {
    if (A[SA[i]!] !== -1) throw new SuffixArrayError(`internal: suffix ${i} is not a separator suffix`);
  }
  for (let i = 0; i < n; i++) SA[i] = A[SA[i + shift]!]!;
  return SA.subarray(0, n);
}

/**
 * Document-bounded LCP array (Kasai): lcp[i] = length of the common prefix of the suffixes at sa[i−1] and sa[i]
 * that lies inside both documents; lcp[0] = 0.
 */
export function corpusLcp(tokens: TokenArray, sa: Int32Array, docStarts?: ArrayLike<number>): Int32Array {
  const n = tokens.length;
  const starts = normalizeDocStarts(n, docStarts);
  if (starts.length <= 2) return lcpKasai(tokens as IntText, sa);
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[sa[i]!] = i;
  const lcp = new Int32Array(n);
  let h = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    while (starts[d + 1]! <= i) { d++; h = 0; }
    const r = rank[i]!;
    if (r === 0) { h = 0; continue; }
    const j = sa[r - 1]!;
    const lim = Math.min(starts[d + 1]! - i, starts[docOf(starts, j) + 1]! - j);
    if (h > lim) h = lim;
    while (h < lim && tokens[i + h] === tokens[j + h]) h++;
    lcp[r] = h;
    if (h > 0) h--;
  }
  return lcp;
}
