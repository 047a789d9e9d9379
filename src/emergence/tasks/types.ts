/** Types shared by the procedurally generated emergence tasks. */
import type { AnyRandom } from '../rng.ts';

export type Split = 'train' | 'eval';

/** Free-form task options; each task validates the fields it knows (see its `defaults`). */
export type TaskOptions = Record<string, unknown>;

/** One task instance. */
export interface Example {
  /** Text given to the model (k-shot demonstrations included). */
  prompt: string;
  /** The continuation the model should produce (scored for log-likelihood, exact match, edit distance). */
  target: string;
  /** Final answer when `target` carries a scratchpad (chain of thought); compare with `Task.extractAnswer`. */
  answer?: string;
  /** Multiple-choice options (continuations of `prompt`); `options[gold]` is correct. */
  options?: string[];
  gold?: number;
  meta: ExampleMeta;
}

export interface ExampleMeta {
  task: string;
  split: Split;
  /** Canonical problem key: the split is a function of this key (hash), so train and eval never share a problem. */
  key: string;
  /** Number of k-shot demonstrations in the prompt. */
  shots: number;
  [extra: string]: unknown;
}

export interface Task {
  /** Registry name, e.g. 'addition'. */
  readonly name: string;
  readonly description: string;
  /** Default options (also documents which options the task reads). */
  readonly defaults: Readonly<TaskOptions>;
  /** Separator between a demonstration and the next one (k-shot) and between examples in training documents. */
  readonly separator: string;
  /**
   * Generate `n` examples of the given split. Problems of the two splits are disjoint: the split of a
   * problem is decided by a hash of its canonical key (see `splitOf`). The same rng state gives the
   * same examples. Any generator with nextU32() (src/emergence/rng.ts, src/engine/rng.ts) or u32()
   * (src/data/rng.ts) works.
   */
  generate(rng: AnyRandom, split: Split, n: number, opts?: TaskOptions): Example[];
  /** For scratchpad formats: pull the final answer out of a generated continuation. */
  extractAnswer?(generated: string): string;
}
