/**
 * Shared machinery for task generators: option validation, the hash-based train/eval split, rejection
 * sampling of problems of one split, and k-shot prompt assembly.
 */
import { hashUnit, toRandomSource, type AnyRandom, type RandomSource } from '../rng.ts';
import type { Example, Split, TaskOptions } from './types.ts';

export class TaskOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskOptionError';
  }
}

/** Raised when a split does not hold enough distinct problems for the request. */
export class TaskSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskSpaceError';
  }
}

/** Options every task understands (merged into each task's `defaults`). */
export const COMMON_DEFAULTS = {
  /** Number of train-split demonstrations prepended to each prompt. */
  kShot: 0,
  /** Fraction of the problem space (by hash) assigned to the eval split. */
  evalFraction: 0.2,
  /** Salt of the split hash: change it to draw a different, still disjoint, partition. */
  splitSalt: 'lmlab',
  /** Distinct problems within one call; default: true for eval, false for train. */
  unique: null as boolean | null,
} as const;

/** Reject options the task does not know; fill in defaults. */
export function resolveOptions<T extends TaskOptions>(task: string, defaults: T, opts: TaskOptions | undefined): T {
  const out: TaskOptions = { ...defaults };
  for (const [k, v] of Object.entries(opts ?? {})) {
    if (v === undefined) continue;
    if (!(k in defaults)) {
      throw new TaskOptionError(`task '${task}': unknown option '${k}' (known: ${Object.keys(defaults).join(', ')})`);
    }
    out[k] = v;
  }
  return out as T;
}

export function optInt(task: string, opts: TaskOptions, name: string, min: number, max: number): number {
  const v = opts[name];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new TaskOptionError(`task '${task}': option '${name}' must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

export function optNum(task: string, opts: TaskOptions, name: string, min: number, max: number): number {
  const v = opts[name];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw new TaskOptionError(`task '${task}': option '${name}' must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

export function optBool(task: string, opts: TaskOptions, name: string): boolean {
  const v = opts[name];
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0') return false;
  throw new TaskOptionError(`task '${task}': option '${name}' must be a boolean, got ${JSON.stringify(v)}`);
}

export function optString(task: string, opts: TaskOptions, name: string): string {
  const v = opts[name];
  if (typeof v !== 'string') throw new TaskOptionError(`task '${task}': option '${name}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function optEnum<T extends string>(task: string, opts: TaskOptions, name: string, allowed: readonly T[]): T {
  const v = opts[name];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new TaskOptionError(`task '${task}': option '${name}' must be one of ${allowed.join(' | ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * The split a problem belongs to: 'eval' when hash(salt | key) / 2^32 < evalFraction, else 'train'.
 * A pure function of the key, so the two splits are disjoint by construction and stable across runs.
 */
export function splitOf(key: string, evalFraction: number, salt = 'lmlab'): Split {
  return hashUnit(`${salt}|${key}`) < evalFraction ? 'eval' : 'train';
}

/** One problem before k-shot assembly. */
export interface Problem {
  prompt: string;
  target: string;
  /** Canonical key: uniqueness is checked on it, and the split is decided on it unless `splitKey` is set. */
  key: string;
  /** Coarser key for the split (e.g. the quote, or the skill combination), so related problems share a split. */
  splitKey?: string;
  answer?: string;
  options?: string[];
  gold?: number;
  meta?: Record<string, unknown>;
}

export interface SampleSpec {
  task: string;
  split: Split;
  n: number;
  evalFraction: number;
  salt: string;
  unique: boolean;
  draw: (rng: RandomSource) => Problem;
}

/** Draw problems until `n` of the requested split are collected (rejection on the hash split). */
export function sampleProblems(rng: RandomSource, spec: SampleSpec): Problem[] {
  const { task, split, n, evalFraction, salt, unique, draw } = spec;
  if (!Number.isInteger(n) || n < 0) throw new TaskOptionError(`task '${task}': n must be a non-negative integer, got ${n}`);
  if (n === 0) return [];
  if (split === 'eval' && evalFraction <= 0) throw new TaskOptionError(`task '${task}': evalFraction is 0, the eval split is empty`);
  if (split === 'train' && evalFraction >= 1) throw new TaskOptionError(`task '${task}': evalFraction is 1, the train split is empty`);
  const out: Problem[] = [];
  const seen = new Set<string>();
  const maxAttempts = 200 * n + 20000;
  let attempts = 0;
  while (out.length < n) {
    if (++attempts > maxAttempts) {
      throw new TaskSpaceError(
        `task '${task}': found only ${out.length} of ${n} ${unique ? 'distinct ' : ''}${split} problems in ${maxAttempts} draws; ` +
          `the problem space is too small for this request (enlarge it, lower n, or set unique=false)`,
      );
    }
    const p = draw(rng);
    if (splitOf(p.splitKey ?? p.key, evalFraction, salt) !== split) continue;
    if (unique) {
      if (seen.has(p.key)) continue;
      seen.add(p.key);
    }
    out.push(p);
  }
  return out;
}

/** Demonstration text of a problem: prompt immediately followed by its target. */
export function demonstration(p: Problem): string {
  return p.prompt + p.target;
}

/**
 * Generic generate(): sample `n` problems of `split`, and for each one `kShot` train-split problems with
 * different keys as demonstrations, joined with `separator` in front of the query prompt.
 */
export function generateExamples(
  task: string,
  anyRng: AnyRandom,
  split: Split,
  n: number,
  common: { kShot: number; evalFraction: number; splitSalt: string; unique: boolean | null },
  separator: string,
  draw: (rng: RandomSource) => Problem,
): Example[] {
  const kShot = optInt(task, common, 'kShot', 0, 64);
  const evalFraction = optNum(task, common, 'evalFraction', 0, 1);
  const salt = optString(task, common, 'splitSalt');
  const unique = common.unique === null ? split === 'eval' : optBool(task, common, 'unique');
  const rng = toRandomSource(anyRng); // also accepts src/data/rng.ts generators (u32())
  const queries = sampleProblems(rng, { task, split, n, evalFraction, salt, unique, draw });
  return queries.map((q) => {
    const shots: Problem[] = [];
    if (kShot > 0) {
      const used = new Set([q.key]);
      let guard = 0;
      while (shots.length < kShot) {
        if (++guard > 1000 * kShot + 1000) {
          throw new TaskSpaceError(`task '${task}': cannot find ${kShot} distinct train demonstrations`);
        }
        const s = sampleProblems(rng, { task, split: 'train', n: 1, evalFraction, salt, unique: false, draw })[0]!;
        if (used.has(s.key) || (q.splitKey !== undefined && s.splitKey === q.splitKey)) continue;
        used.add(s.key);
        shots.push(s);
      }
    }
    const prompt = shots.length > 0 ? shots.map(demonstration).join(separator) + separator + q.prompt : q.prompt;
    const ex: Example = {
      prompt,
      target: q.target,
      meta: { task, split, key: q.key, shots: shots.length, ...(q.meta ?? {}) },
    };
    if (q.answer !== undefined) ex.answer = q.answer;
    if (q.options !== undefined) {
      ex.options = q.options;
      ex.gold = q.gold;
    }
    return ex;
  });
}
