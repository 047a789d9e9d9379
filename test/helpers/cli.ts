/**
 * Runs lmlab commands inside the test process (fast: no child process, no tsx start-up), capturing stdout, stderr
 * and console.log. `process.exit` (the CLI's error path) and commander's own exits become an exit code instead of
 * ending the test run. Only for tests; commands that need a clean process (signals, env read at load) are spawned.
 */
import { Command, CommanderError } from 'commander';

export interface CliResult {
  stdout: string;
  stderr: string;
  /** 0 on success, else the code passed to process.exit (or commander's exit code) */
  code: number;
}

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

/** `setup` registers the command areas under test on a fresh program; `cwd` runs the command in that directory. */
export async function runCli(setup: (program: Command) => void, args: string[], o: { cwd?: string } = {}): Promise<CliResult> {
  const program = new Command().exitOverride();
  setup(program);
  let stdout = '', stderr = '', code = 0;
  const ow = process.stdout.write, ew = process.stderr.write, exit = process.exit, log = console.log, dir = process.cwd();
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => void (stdout += a.join(' ') + '\n');
  process.exit = ((c?: number) => { throw new ExitCalled(c ?? 0); }) as typeof process.exit;
  if (o.cwd) process.chdir(o.cwd);
  try {
    await program.parseAsync(['node', 'lmlab', ...args]);
  } catch (e) {
    if (e instanceof ExitCalled) code = e.code;
    else if (e instanceof CommanderError) {
      code = e.exitCode || 1;
      stderr += e.message;
    } else throw e;
  } finally {
    if (o.cwd) process.chdir(dir);
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exit = exit;
    console.log = log;
  }
  return { stdout, stderr, code };
}

/** runCli for success paths: a non-zero exit becomes an Error carrying stderr. */
export async function runCliOk(setup: (program: Command) => void, args: string[], o: { cwd?: string } = {}): Promise<CliResult> {
  const r = await runCli(setup, args, o);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}
