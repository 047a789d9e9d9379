/**
 * GPT-2 pre-tokenisation over UTF-8 bytes.
 *
 * GPT-2 splits text with the regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * before BPE. `nextPretokenEnd` is a hand-written scanner that gives exactly the matches of that regex in
 * JavaScript (`/…/gu`, as used by gpt-3-encoder and @huggingface/tokenizers) but works directly on UTF-8
 * bytes, allocates nothing, and is several times faster than the regex.
 *
 * Character classes follow JavaScript's Unicode regex semantics: L = \p{L}, N = \p{N}, W = \s (JS
 * WhiteSpace + LineTerminator: includes U+FEFF and U+00A0, excludes U+0085 and U+001C..U+001F), O = the
 * rest. Invalid UTF-8 is handled byte by byte: each byte that does not start a well-formed sequence is one
 * character of class O — exactly how the regex treats the U+FFFD that a lossy decoder puts in its place,
 * so the split of valid text never depends on invalid bytes next to it.
 */

export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const CL_O = 0;
export const CL_L = 1;
export const CL_N = 2;
export const CL_W = 3;

/** Class of every code point, filled lazily per 256-code-point block (255 = not yet computed). */
const CLASS = new Uint8Array(0x110000).fill(255);
const RE_L = /^\p{L}$/u;
const RE_N = /^\p{N}$/u;
const RE_W = /^\s$/u;

function fillBlock(cp: number): void {
  const base = cp & ~0xff;
  for (let c = base; c < base + 256; c++) {
    if (c >= 0xd800 && c <= 0xdfff) { CLASS[c] = CL_O; continue; }
    const s = String.fromCodePoint(c);
    CLASS[c] = RE_L.test(s) ? CL_L : RE_N.test(s) ? CL_N : RE_W.test(s) ? CL_W : CL_O;
  }
}
fillBlock(0);

/** Unicode class (CL_L, CL_N, CL_W or CL_O) of a code point. */
export function codePointClass(cp: number): number {
  let c = CLASS[cp]!;
  if (c === 255) {
    fillBlock(cp);
    c = CLASS[cp]!;
  }
  return c;
}

/** Byte length of the character decoded by the last `classAt` call. */
let cpLen = 1;

/**
 * Class of the character starting at byte i (i < end); sets `cpLen` to its byte length. A byte that does
 * not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF) is one
 * character of class O.
 */
function classAt(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  if (c < 0x80) {
    cpLen = 1;
    return CLASS[c]!;
  }
  if (c >= 0xc2) {
    if (c <= 0xdf) {
      if (i + 1 < end) {
        const c1 = b[i + 1]!;
        if ((c1 & 0xc0) === 0x80) {
          cpLen = 2;
          return codePointClass(((c & 0x1f) << 6) | (c1 & 0x3f));
        }
      }
    } else if (c <= 0xef) {
      if (i + 2 < end) {
        const c1 = b[i + 1]!;
        const c2 = b[i + 2]!;
        const lo = c === 0xe0 ? 0xa0 : 0x80;
        const hi = c === 0xed ? 0x9f : 0xbf;
        if (c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80) {
          cpLen = 3;
          return codePointClass(((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f));
        }
      }
    } else if (c <= 0xf4) {
      if (i + 3 < end) {
        const c1 = b[i + 1]!;
        const c2 = b[i + 2]!;
        const c3 = b[i + 3]!;
        const lo = c === 0xf0 ? 0x90 : 0x80;
        const hi = c === 0xf4 ? 0x8f : 0xbf;
        if (c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80 && (c3 & 0xc0) === 0x80) {
          cpLen = 4;
          return codePointClass(((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f));
        }
      }
    }
  }
  cpLen = 1;
  return CL_O;
}

/**
 * End (exclusive byte offset) of the GPT-2 pre-token that starts at byte i of b[0..end). i < end.
 * Successive calls starting at 0 and continuing at each returned end reproduce `text.match(GPT2_PATTERN)`.
 */
export function nextPretokenEnd(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  // Contractions: 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2).
  if (c === 0x27 && i + 1 < end) {
    const n = b[i + 1]!;
    if (n === 0x73 || n === 0x74 || n === 0x6d || n === 0x64) return i + 2; // s t m d
    if (i + 2 < end) {
      const n2 = b[i + 2]!;
      if ((n === 0x72 && n2 === 0x65) || (n === 0x76 && n2 === 0x65) || (n === 0x6c && n2 === 0x6c)) return i + 3;
    }
  }
  let cls = classAt(b, i, end);
  let j = i + cpLen;
  if (c === 0x20 && j < end) {
    // ' ?X+' : a single space joins the run of letters / numbers / others that follows it.
    const nc = classAt(b, j, end);
    if (nc !== CL_W) {
      cls = nc;
      j += cpLen;
    }
  }
  if (cls !== CL_W) {
    if (cls === CL_O) {
      while (j < end) {
        const x = b[j]!;
        // ASCII fast path: others are everything but letters, digits, whitespace.
        if (x < 0x80) {
          if (CLASS[x] !== CL_O) break;
          j++;
        } else {
          if (classAt(b, j, end) !== CL_O) break;
          j += cpLen;
        }
      }
    } else {
      while (j < end) {
        const x = b[j]!;
        if (x < 0x80) {
          if (CLASS[x] !== cls) break;
          j++;
        } else {
          if (classAt(b, j, end) !== cls) break;
          j += cpLen;
        }
      }
    }
    return j;
  }
  // Whitespace: '\s+(?!\S)' takes the run minus its last character when a non-space follows (that last
  // character then starts the next match); a run that reaches the end is taken whole; a single whitespace
  // character before a non-space is matched alone by '\s+'.
  let last = i;
  while (j < end) {
    const x = b[j]!;
    let k: number;
    let len: number;
    if (x < 0x80) { k = CLASS[x]!; len = 1; } else { k = classAt(b, j, end); len = cpLen; }
    if (k !== CL_W) break;
    last = j;
    j += len;
  }
  if (j === end) return end;
  return last > i ? last : j;
}

/** Pre-token byte ranges of b[start..end): returns the list of end offsets (for tests and tools). */
export function pretokenEnds(b: Uint8Array, start = 0, end = b.length): number[] {
  const out: number[] = [];
  let i = start;
  while (i < end) {
    i = nextPretokenEnd(b, i, end);
    out.push(i);
  }
  return out;
}

/** Pre-tokens of a string or byte string, as byte arrays. */
export function pretokenizeBytes(input: string | Uint8Array): Uint8Array[] {
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < b.length) {
    const j = nextPretokenEnd(b, i, b.length);
    out.push(b.subarray(i, j));
    i = j;
  }
  return out;
}

/** Pre-tokens of a string, as strings (equal to `text.match(GPT2_PATTERN) ?? []` for well-formed text). */
export function pretokenize(text: string): string[] {
  const td = new TextDecoder();
  return pretokenizeBytes(text).map((p) => td.decode(p));
}
