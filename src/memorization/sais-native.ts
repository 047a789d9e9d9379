/**
 * Suffix array construction that picks the fastest available builder:
 * - 'native': SA-IS in C (native/sais.c, the same algorithm as sais.ts with a per-type instantiation and
 *   software prefetching of the induction scans' random text reads), called through the lmlab N-API addon
 *   (build/Release/lmlab_native.node, built by `node scripts/build-native.mjs`);
 * - 'typescript': the TypeScript SA-IS of sais.ts, used when the addon is not built, fails to load, or is an
 *   older build without the suffix-array entry points — and kept as the oracle the tests compare against.
 * Both produce the same array (same algorithm, same tie rules); the choice only changes speed.
 * Selection: the `backend` option, else LMLAB_SA_BACKEND=auto|native|typescript, else 'auto' (native when
 * available). Asking for 'native' when it is unavailable throws a SuffixArrayError that says why.
 */
import { NATIVE_ADDON_PATH, nativeInfo, nativeSaisKernels, type NativeSaisKernels } from '../engine/native/index.ts';
import { IntText, MAX_SA_LENGTH, suffixArray, SuffixArrayError, type SaisOptions } from './sais.ts';

export type SuffixArrayBackend = 'native' | 'typescript';
export type SuffixArrayBackendChoice = SuffixArrayBackend | 'auto';
export const SA_BACKEND_CHOICES: readonly SuffixArrayBackendChoice[] = ['auto', 'native', 'typescript'];

export interface BuildSuffixArrayOptions extends SaisOptions {
  /** Which builder to use (default: LMLAB_SA_BACKEND, else 'auto' = native when available). */
  backend?: SuffixArrayBackendChoice;
}

let addon: NativeSaisKernels | null | undefined;
let unavailableReason = '';

function saisAddon(): NativeSaisKernels | null {
  if (addon !== undefined) return addon;
  addon = nativeSaisKernels();
  if (addon === null) {
    const info = nativeInfo();
    unavailableReason = info.available
      ? `native addon ${NATIVE_ADDON_PATH} predates the suffix-array entry points: rebuild it with \`node scripts/build-native.mjs --force\``
      : info.error ?? 'native addon unavailable';
  }
  return addon;
}

/** Whether the native suffix-array builder can be used (and, if not, why). */
export function nativeSuffixArrayStatus(): { available: boolean; reason?: string } {
  return saisAddon() ? { available: true } : { available: false, reason: unavailableReason };
}

function parseChoice(value: string, from: string): SuffixArrayBackendChoice {
  if ((SA_BACKEND_CHOICES as readonly string[]).includes(value)) return value as SuffixArrayBackendChoice;
  throw new SuffixArrayError(`${from}: unknown suffix-array backend ${JSON.stringify(value)}, expected one of ${SA_BACKEND_CHOICES.join(', ')}`);
}

/** The builder a call with this choice would use (throws for 'native' when it is unavailable). */
export function resolveSuffixArrayBackend(choice?: SuffixArrayBackendChoice): SuffixArrayBackend {
  const c = choice !== undefined ? parseChoice(choice, 'backend option')
    : process.env.LMLAB_SA_BACKEND ? parseChoice(process.env.LMLAB_SA_BACKEND, 'LMLAB_SA_BACKEND') : 'auto';
  if (c === 'typescript') return 'typescript';
  if (saisAddon()) return 'native';
  if (c === 'native') throw new SuffixArrayError(`native suffix-array builder unavailable: ${unavailableReason}`);
  return 'typescript';
}

/**
 * Suffix array of T with the native SA-IS (throws SuffixArrayError when the addon is unavailable). Same
 * contract, validation and errors as suffixArray() in sais.ts: symbols in [0, k), k computed when omitted,
 * result an Int32Array of length n (a view of opts.out when given; out must not overlap T).
 */
export function nativeSuffixArray(T: IntText, opts: SaisOptions = {}): Int32Array {
  const a = saisAddon();
  if (!a) throw new SuffixArrayError(`native suffix-array builder unavailable: ${unavailableReason}`);
  const n = T.length;
  if (n > MAX_SA_LENGTH) throw new SuffixArrayError(`suffixArray: text length ${n} exceeds the limit ${MAX_SA_LENGTH}`);
  const mx = a.saisMaxSymbol(T); // Int32Array read as uint32: a negative symbol shows up as >= 2^31
  const k = opts.k ?? mx + 1;
  // any invalid input (symbol >= k, negative symbol, bad k, short out): the TypeScript builder's checks
  // raise the same errors with positions
  const bad = !Number.isInteger(k) || k < 1 || k > 0x7fffffff || mx >= k || (opts.out !== undefined && opts.out.length < n);
  if (bad) return suffixArray(T, opts);
  const SA = opts.out ? opts.out.subarray(0, n) : new Int32Array(n);
  if (n === 0) return SA;
  a.sais(T, SA, k);
  return SA;
}

/**
 * Suffix array of T with the chosen builder (default: native when the addon is available, else the
 * TypeScript SA-IS). Same contract as suffixArray() in sais.ts.
 */
export function buildSuffixArray(T: IntText, opts: BuildSuffixArrayOptions = {}): Int32Array {
  const { backend, ...rest } = opts;
  return resolveSuffixArrayBackend(backend) === 'native' ? nativeSuffixArray(T, rest) : suffixArray(T, rest);
}
