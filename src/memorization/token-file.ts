/** Reading plain token files (little-endian uint16 / uint32) and document-boundary JSON files. */
import { readFileSync } from 'node:fs';
import type { TokenDtype } from './index-file.ts';

export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

/** Read a .bin token file: little-endian uint16 or uint32, no header. */
export function readTokenFile(path: string, dtype: TokenDtype): Uint16Array | Uint32Array {
  const width = dtype === 'uint16' ? 2 : dtype === 'uint32' ? 4 : 0;
  if (!width) throw new TokenFileError(`--dtype must be uint16 or uint32, got ${String(dtype)}`);
  const buf = readFileSync(path);
  if (buf.length % width !== 0) throw new TokenFileError(`${path}: ${buf.length} bytes is not a multiple of ${width} (dtype ${dtype})`);
  const n = buf.length / width;
  const out = dtype === 'uint16' ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = dtype === 'uint16' ? buf.readUInt16LE(2 * i) : buf.readUInt32LE(4 * i);
  return out;
}

/**
 * Read document boundaries from JSON: an array of token offsets where documents start (0 and N may be
 * included or not), or an object with one such array under "boundaries", "offsets", "starts" or "docStarts".
 */
export function readBoundaryFile(path: string): number[] {
  let v: unknown;
  try { v = JSON.parse(readFileSync(path, 'utf8')); } catch (e) {
    throw new TokenFileError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (v && !Array.isArray(v) && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    v = o.boundaries ?? o.offsets ?? o.starts ?? o.docStarts;
  }
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
    throw new TokenFileError(`${path}: expected an array of non-negative integer token offsets (or {"boundaries": [...]})`);
  }
  return v as number[];
}

/** Parse a token sequence written as "1,2,3" or "1 2 3" or a JSON array. */
export function parseTokenList(s: string, what = '--seq'): number[] {
  const t = s.trim();
  const parts = t.startsWith('[') ? (JSON.parse(t) as unknown[]) : t.split(/[\s,]+/).filter(Boolean);
  const out = parts.map((x) => Number(x));
  if (out.some((x) => !Number.isInteger(x) || x < 0)) throw new TokenFileError(`${what}: expected non-negative integer token ids, got "${s}"`);
  return out;
}
