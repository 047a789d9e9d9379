/**
 * Starting a TypeScript entry file in a child Node process.
 *
 * lmlab runs its sources through tsx without a build step. When the parent was started as `node --import tsx …`
 * the loader is in `process.execArgv` and a child inherits it by reusing those flags; when it was started through
 * `bin/lmlab.js` (`npx lmlab`), tsx was registered from inside the program and execArgv is empty, so a child given
 * a `.ts` file would fail with ERR_UNKNOWN_FILE_EXTENSION. `tsChildArgs` returns the flags a child needs in both
 * cases: the parent's flags plus, where no tsx loader is among them, `--import <tsx's ESM loader>` resolved from
 * this package (so it works from any working directory).
 */

/** Node flags for a child process that runs `entry` (a .ts file), followed by the entry and its arguments. */
export function tsChildArgs(entry: string, args: readonly string[] = []): string[] {
  const flags = [...process.execArgv];
  // `--import tsx`, `--import=tsx/esm`, `--loader tsx`, …: any flag naming tsx means the loader is already there
  if (!flags.some((f) => f.includes('tsx'))) flags.push('--import', import.meta.resolve('tsx/esm'));
  return [...flags, entry, ...args];
}
