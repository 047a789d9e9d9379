/** Reference embeddings, elementwise ops, reductions and the AdamW update. */
import type { AdamWArgs, Arr } from '../backend.ts';

/** out[n] = wte[ids[n]] (+ wpe[n mod T]). */
export function embedForward(
  out: Arr, ids: Int32Array, wte: Arr, wpe: Arr | null, BT: number, T: number, C: number,
): void {
  for (let n = 0; n < BT; n++) {
    const o = n * C;
    const e = ids[n] * C;
    if (wpe !== null) {
      const p = (n % T) * C;
      for (let i = 0; i < C; i++) out[o + i] = wte[e + i] + wpe[p + i];
    } else {
      for (let i = 0; i < C; i++) out[o + i] = wte[e + i];
    }
  }
}

export function embedBackward(
  dwte: Arr, dwpe: Arr | null, dout: Arr, ids: Int32Array, BT: number, T: number, C: number,
): void {
  for (let n = 0; n < BT; n++) {
    const o = n * C;
    const e = ids[n] * C;
    for (let i = 0; i < C; i++) dwte[e + i] += dout[o + i];
    if (dwpe !== null) {
      const p = (n % T) * C;
      for (let i = 0; i < C; i++) dwpe[p + i] += dout[o + i];
    }
  }
}

export function add(out: Arr, a: Arr, b: Arr, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

export function accumulate(dst: Arr, src: Arr, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}

export function sumSquares(x: Arr, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

export function allFinite(x: Arr, n: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/**
 * PyTorch AdamW (torch.optim.AdamW, single-tensor path), in float64 per element:
 * g = grad * gradScale; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p *= 1 - lr * wd; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - b_i^step.
 */
export function adamw(p: Arr, g: Arr, m: Arr, v: Arr, n: number, a: AdamWArgs): void {
  const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = a;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < n; i++) {
    const gi = g[i] * gradScale;
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(vi) / bc2Sqrt + eps;
    p[i] = p[i] * decay - (stepSize * mi) / denom;
  }
}
