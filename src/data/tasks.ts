/**
 * Plug-in interface for task sources (arithmetic, modular arithmetic, copying ... for emergence studies).
 *
 * A task plug-in turns parameters from a corpus spec into a generator of text documents. The data layer
 * owns mixing, splitting, tokenising and recording; the plug-in owns only the task. Plug-ins are registered
 * by name at import time (`registerTask`) and named in a spec as
 *   { "type": "task", "task": "<name>", "params": { ... }, "documents": 10000 }
 * (or with a "weight" to take a byte share of the mixture).
 *
 * Determinism contract: `next(rng)` must draw all its randomness from `rng`, so the same spec seed gives
 * the same documents.
 */
import type { Rng } from './rng.ts';
import { SourceNotFoundError } from './errors.ts';

export interface TaskDocument {
  /** Document text (UTF-8 encoded into the corpus). */
  text: string;
  /** Optional per-document information (answer, difficulty ...), summarised into the manifest when
   * the generator provides `summarize`. */
  meta?: Record<string, unknown>;
}

export interface TaskGenerator {
  /** The next document; all randomness from `rng`. */
  next(rng: Rng): TaskDocument;
  /** Optional JSON-serialisable description recorded in the manifest (resolved params, entropy ...). */
  info?(): Record<string, unknown>;
}

export interface TaskPlugin {
  /** Name used in specs ("modular-addition"). */
  readonly name: string;
  readonly description?: string;
  /** Validates `params` (throwing an Error that names the offending field) and returns a generator. */
  create(params: Record<string, unknown>): TaskGenerator;
}

const registry = new Map<string, TaskPlugin>();

/** Registers (or replaces) a task plug-in. */
export function registerTask(plugin: TaskPlugin): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(plugin.name)) {
    throw new TypeError(`registerTask: invalid task name ${JSON.stringify(plugin.name)} (letters, digits, . _ -)`);
  }
  registry.set(plugin.name, plugin);
}

export function unregisterTask(name: string): boolean {
  return registry.delete(name);
}

/** The plug-in registered under `name`; SourceNotFoundError listing the registered ones otherwise. */
export function getTask(name: string): TaskPlugin {
  const p = registry.get(name);
  if (!p) {
    const known = [...registry.keys()].sort();
    throw new SourceNotFoundError(`task:${name}`, `no task plug-in named ${JSON.stringify(name)} is registered` +
      (known.length ? ` (registered: ${known.join(', ')})` : ' (none registered; import the module that registers it first)'));
  }
  return p;
}

export function listTasks(): string[] {
  return [...registry.keys()].sort();
}
