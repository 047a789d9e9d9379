/** Learning-rate schedules: linear warmup, then cosine, linear or constant decay to min_lr. */

export type ScheduleKind = 'cosine' | 'linear' | 'constant';

export interface ScheduleArgs {
  kind: ScheduleKind;
  /** peak learning rate */
  lr: number;
  /** floor reached at the last step (cosine and linear) */
  minLr: number;
  /** steps of linear warmup from lr/warmup to lr */
  warmup: number;
  /** total optimizer steps */
  steps: number;
}

/** Learning rate for 0-based optimizer step `it` (nanoGPT's get_lr, with the decay shape selectable). */
export function learningRate(it: number, a: ScheduleArgs): number {
  if (a.warmup > 0 && it < a.warmup) return (a.lr * (it + 1)) / a.warmup;
  if (a.kind === 'constant') return a.lr;
  const span = Math.max(1, a.steps - a.warmup);
  const r = Math.min(1, Math.max(0, (it - a.warmup) / span));
  const coeff = a.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * r)) : 1 - r;
  return a.minLr + coeff * (a.lr - a.minLr);
}
