/** Reference softmax cross-entropy and log-softmax (stable logsumexp in float64). */
import type { Arr } from '../backend.ts';

/** logsumexp of logits[o … o+V). */
function logsumexp(logits: Arr, o: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
  if (max === -Infinity || max === Infinity) return max; // all -inf, or an +inf logit
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[o + v] - max);
  return max + Math.log(s);
}

export function crossEntropyForward(losses: Arr, logits: Arr, targets: Int32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t < 0) {
      losses[n] = 0;
      continue;
    }
    const o = n * V;
    losses[n] = logsumexp(logits, o, V) - logits[o + t];
  }
}

export function crossEntropyBackward(
  dlogits: Arr, logits: Arr, targets: Int32Array, dloss: Arr, N: number, V: number,
): void {
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t < 0) continue;
    const o = n * V;
    const lse = logsumexp(logits, o, V);
    const g = dloss[n];
    for (let v = 0; v < V; v++) dlogits[o + v] += g * Math.exp(logits[o + v] - lse);
    dlogits[o + t] -= g;
  }
}

/** out = logits - logsumexp(row); out may be logits (each row's lse is computed before it is written). */
export function logSoftmax(out: Arr, logits: Arr, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const lse = logsumexp(logits, o, V);
    for (let v = 0; v < V; v++) out[o + v] = logits[o + v] - lse;
  }
}
