/** Small helpers shared by CLI commands: error reporting, backend choice, progress output. */
import { createBackend, parseBackendKind, type Backend } from '../engine/index.ts';

/** Print a one-line error (no stack unless LMLAB_DEBUG) and exit 1. Typed errors carry their own messages. */
export function fail(err: unknown): never {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`lmlab: ${e.name && e.name !== 'Error' ? e.name + ': ' : ''}${e.message}\n`);
  if (process.env.LMLAB_DEBUG && e.stack) process.stderr.write(e.stack + '\n');
  process.exit(1);
}

/** Wrap an async action so errors end in `fail`. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

/** The backend named by --backend, else LMLAB_BACKEND, else `fallback` (default 'auto'). */
export async function pickBackend(flag: string | undefined, fallback = 'auto'): Promise<Backend> {
  const kind = parseBackendKind(flag ?? process.env.LMLAB_BACKEND ?? fallback);
  return createBackend(kind);
}

/** Format seconds as 1h02m, 3m05s or 12s. */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
