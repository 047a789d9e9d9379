/**
 * Task registry and training-document helpers: every task can emit train-split text so it can be mixed
 * into a pre-training corpus, and the eval split stays disjoint from everything it emitted.
 */
import { shuffle, toRandomSource, uniform, type AnyRandom } from '../rng.ts';
import { additionTask, modularTask, multiplicationTask } from './arithmetic.ts';
import { copyTask } from './copying.ts';
import { additionMcTask, modularMcTask, multiplicationMcTask, skillsMcTask } from './multipleChoice.ts';
import { quoteRepetitionTask } from './quote.ts';
import { skillsTask } from './skills.ts';
import { TaskOptionError } from './common.ts';
import type { Task, TaskOptions } from './types.ts';

export class UnknownTaskError extends Error {
  constructor(name: string, known: string[]) {
    super(`unknown emergence task '${name}' (known: ${known.join(', ')})`);
    this.name = 'UnknownTaskError';
  }
}

const registry = new Map<string, Task>();

/** Add a task (throws if the name is taken, unless `replace`). */
export function registerTask(task: Task, replace = false): void {
  if (!replace && registry.has(task.name)) throw new TaskOptionError(`task '${task.name}' is already registered`);
  registry.set(task.name, task);
}

export function getTask(name: string): Task {
  const t = registry.get(name);
  if (!t) throw new UnknownTaskError(name, [...registry.keys()]);
  return t;
}

export function listTasks(): Task[] {
  return [...registry.values()];
}

for (const t of [
  additionTask,
  multiplicationTask,
  modularTask,
  copyTask,
  quoteRepetitionTask,
  skillsTask,
  additionMcTask,
  multiplicationMcTask,
  modularMcTask,
  skillsMcTask,
]) {
  registerTask(t);
}

export interface DocumentOptions {
  /** Examples concatenated per document (default 16). */
  examplesPerDoc?: number;
  /** Task options (kShot is forced to 0: a document already chains examples). */
  taskOptions?: TaskOptions;
}

/**
 * `nDocs` training documents of a task: each is `examplesPerDoc` train-split examples written out in
 * full (prompt immediately followed by target), joined by the task's separator. Only train-split
 * problems are used, so the eval split of the same task (same salt and evalFraction) stays unseen.
 */
export function taskDocuments(task: Task, anyRng: AnyRandom, nDocs: number, opts: DocumentOptions = {}): string[] {
  const rng = toRandomSource(anyRng);
  const per = opts.examplesPerDoc ?? 16;
  if (!Number.isInteger(per) || per < 1) throw new TaskOptionError(`taskDocuments: examplesPerDoc must be a positive integer, got ${per}`);
  if (!Number.isInteger(nDocs) || nDocs < 0) throw new TaskOptionError(`taskDocuments: nDocs must be a non-negative integer, got ${nDocs}`);
  const taskOptions = { ...(opts.taskOptions ?? {}), kShot: 0 };
  const docs: string[] = [];
  for (let d = 0; d < nDocs; d++) {
    const exs = task.generate(rng, 'train', per, { ...taskOptions, unique: false });
    docs.push(exs.map((e) => e.prompt + e.target).join(task.separator));
  }
  return docs;
}

/**
 * Mix task documents into a corpus: returns a new array with the corpus documents in order and each
 * task document inserted at a uniformly random position (seeded). The task share of documents is
 * extra.length / (corpus.length + extra.length).
 */
export function mixDocuments(corpus: readonly string[], extra: readonly string[], anyRng: AnyRandom): string[] {
  const rng = toRandomSource(anyRng);
  const slots = shuffle(rng, extra.map((_, i) => i));
  // positions: for each extra doc a uniform insertion point in [0, corpus.length]
  const positions = slots.map(() => Math.floor(uniform(rng) * (corpus.length + 1))).sort((a, b) => a - b);
  const out: string[] = [];
  let j = 0;
  for (let i = 0; i <= corpus.length; i++) {
    while (j < positions.length && positions[j] === i) out.push(extra[slots[j++]!]!);
    if (i < corpus.length) out.push(corpus[i]!);
  }
  return out;
}
