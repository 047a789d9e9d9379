/**
 * Backend selection: `createBackend('ref' | 'native' | 'auto')`, defaulting to `LMLAB_BACKEND` or 'auto'.
 *
 * - 'ref'    the pure-TypeScript reference backend (float32).
 * - 'native' the C addon (src/engine/native/index.ts, `createNativeBackend()`); a BackendError with the reason
 *            when it cannot be loaded.
 * - 'auto'   native when it loads, otherwise the reference backend, with one line on stderr per process.
 */
import { BackendError, type Backend } from './backend.ts';
import { RefBackend, createRefBackend } from './ref/index.ts';

export * from './backend.ts';
export { RefBackend, createRefBackend };

export const BACKEND_KINDS = ['ref', 'native', 'auto'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export function isBackendKind(x: unknown): x is BackendKind {
  return typeof x === 'string' && (BACKEND_KINDS as readonly string[]).includes(x);
}

/** Loads the native backend, or throws with the reason it is unavailable. */
export type NativeLoader = () => Promise<Backend>;

/**
 * Imports src/engine/native/index.ts and calls its `createNativeBackend()`. The specifier is computed so that
 * this file type-checks and loads whether or not the native module exists.
 */
export const loadNativeBackend: NativeLoader = async () => {
  const spec = new URL('./native/index.ts', import.meta.url).href;
  const mod = (await import(spec)) as { createNativeBackend?: () => Backend | Promise<Backend> };
  if (typeof mod.createNativeBackend !== 'function') {
    throw new Error('src/engine/native/index.ts does not export createNativeBackend()');
  }
  return await mod.createNativeBackend();
};

let fallbackNoticeShown = false;

/** First line of an error's message (the reason shown to the user). */
function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim() || (err instanceof Error ? err.name : 'unknown error');
}

/** Parses a backend kind from a flag or environment value ('' means 'auto'; case and blanks ignored). */
export function parseBackendKind(value: string): BackendKind {
  const kind = value.trim().toLowerCase() || 'auto';
  if (!isBackendKind(kind)) {
    throw new BackendError(
      `unknown backend ${JSON.stringify(value)} (from --backend or LMLAB_BACKEND): expected one of ${BACKEND_KINDS.join(', ')}`,
    );
  }
  return kind;
}

/**
 * Creates a backend of the given kind (default: `LMLAB_BACKEND`, else 'auto'). `loadNative` is injectable for
 * tests; it defaults to importing src/engine/native/index.ts.
 */
export async function createBackend(
  kind: BackendKind | (string & {}) = process.env.LMLAB_BACKEND ?? 'auto',
  loadNative: NativeLoader = loadNativeBackend,
): Promise<Backend> {
  const k = parseBackendKind(kind);
  if (k === 'ref') return createRefBackend('f32');
  try {
    return await loadNative();
  } catch (err) {
    const reason = reasonOf(err);
    if (k === 'native') {
      throw new BackendError(
        `native backend unavailable (${reason}); set LMLAB_BACKEND / --backend to ref or auto to use the reference backend`,
        { cause: err },
      );
    }
    if (!fallbackNoticeShown) {
      fallbackNoticeShown = true;
      process.stderr.write(`lmlab: native backend unavailable (${reason}); using the reference backend\n`);
    }
    return createRefBackend('f32');
  }
}
