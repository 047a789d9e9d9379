/**
 * GPT-2's byte-to-unicode map (openai/gpt-2 encoder.py `bytes_to_unicode`): every byte is shown as a
 * printable character so that byte-level tokens can be stored as strings in encoder.json / tokenizer.json.
 * Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100.. in byte order.
 */

/** GPT-2's byte order: the printable bytes first ('!'..'~', '¡'..'¬', '®'..'ÿ'), then the rest. Token ids
 * 0..255 of GPT-2 (and of every lmlab-trained tokenizer) are the bytes in this order. */
export const GPT2_BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) bs.push(b);
  return bs;
})();

/** BYTE_TO_CHAR[b] is the character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let n = 0;
  for (let i = 0; i < 256; i++) {
    const b = GPT2_BYTE_ORDER[i]!;
    out[b] = i < 188 ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return out;
})();

/** CHAR_TO_BYTE[charCode] = byte, or -1 for characters outside the map (char codes < 324). */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b]!.charCodeAt(0)] = b;
  return t;
})();

/** Bytes → byte-level string (e.g. [0x20, 0x61] → "Ġa"). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!]!;
  return s;
}

/** Byte-level string → bytes, or null when a character is outside the byte-level alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 324 ? CHAR_TO_BYTE[c]! : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}
