/**
 * Mapping a URL path onto a file inside a root directory, refusing everything that could leave it:
 * `..` and `.` segments (plain or percent-encoded, in any case), encoded slashes and backslashes, NUL bytes,
 * malformed escapes, empty segments, and symlinks whose target lies outside the root. Hidden names
 * (a segment starting with '.') are not served.
 */
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isInside } from './store.ts';

export type Resolved = { ok: true; path: string; size: number } | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * Resolve `urlPath` (the still-encoded part of a request path after the route prefix, without its query)
 * against `rootReal` (a realpath). Returns the real path of a regular file inside the root, or a refusal with
 * an HTTP status (the reason is for logs and tests, not for the response).
 */
export function resolveInside(rootReal: string, urlPath: string): Resolved {
  if (urlPath.length === 0) return { ok: false, status: 404, reason: 'empty path' };
  if (urlPath.length > 4096) return { ok: false, status: 400, reason: 'path too long' };
  if (/[\0\\]/.test(urlPath)) return { ok: false, status: 400, reason: 'NUL byte or backslash in the raw path' };
  const segs: string[] = [];
  for (const raw of urlPath.split('/')) {
    if (raw === '') return { ok: false, status: 404, reason: 'empty segment' };
    let seg: string;
    try { seg = decodeURIComponent(raw); } catch { return { ok: false, status: 400, reason: 'malformed percent-encoding' }; }
    if (/[\0/\\]/.test(seg)) return { ok: false, status: 400, reason: 'encoded NUL, slash or backslash' };
    if (seg === '.' || seg === '..') return { ok: false, status: 403, reason: 'dot segment' };
    if (seg.startsWith('.')) return { ok: false, status: 404, reason: 'hidden name' };
    // A name that still holds an escape after one decoding (e.g. %252e%252e -> %2e%2e) is refused rather than
    // guessed at: no file lmlab writes has one.
    if (/%[0-9a-f]{2}/i.test(seg)) return { ok: false, status: 400, reason: 'double percent-encoding' };
    segs.push(seg);
  }
  const lexical = join(rootReal, ...segs);
  if (!isInside(rootReal, lexical)) return { ok: false, status: 403, reason: 'outside the root' };
  let real: string;
  try { real = realpathSync(lexical); } catch { return { ok: false, status: 404, reason: 'no such file' }; }
  if (!isInside(rootReal, real)) return { ok: false, status: 403, reason: 'symlink leads outside the root' };
  let st;
  try { st = statSync(real); } catch { return { ok: false, status: 404, reason: 'no such file' }; }
  if (!st.isFile()) return { ok: false, status: 404, reason: 'not a regular file' };
  return { ok: true, path: real, size: st.size };
}
