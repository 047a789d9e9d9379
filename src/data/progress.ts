/**
 * Progress bars for long data steps: cli-progress on stderr, only when stderr is a TTY (so logs, pipes and
 * tests stay clean). Library functions take an `onProgress` callback; the CLI passes `progressBar(...)`.
 */
import cliProgress from 'cli-progress';

export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

/**
 * A callback that draws one bar per phase on stderr, or a no-op when stderr is not a TTY (or `enabled` is
 * false). Call `.stop()` at the end.
 */
export function progressBar(label: string, enabled = process.stderr.isTTY === true): ((e: ProgressEvent) => void) & { stop(): void } {
  if (!enabled) return Object.assign((_e: ProgressEvent) => {}, { stop() {} });
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  const fn = (e: ProgressEvent): void => {
    if (e.phase !== phase) {
      bar?.stop();
      phase = e.phase;
      bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: `${label} ${e.phase} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
      }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(1, e.total), 0);
    }
    bar!.setTotal(Math.max(1, e.total));
    bar!.update(e.done);
  };
  return Object.assign(fn, { stop() { bar?.stop(); bar = null; phase = ''; } });
}
