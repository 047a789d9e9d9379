/** Reference LayerNorm and RMSNorm over the last dimension (statistics in float64). */
import type { Arr } from '../backend.ts';

/** out = (x - mean) * rstd * w + b, biased variance, rstd = 1/sqrt(var + eps); saves mean, rstd. */
export function layernormForward(
  out: Arr, mean: Arr, rstd: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, C: number, eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let s = 0;
    for (let i = 0; i < C; i++) s += inp[o + i];
    const m = s / C;
    let v = 0;
    for (let i = 0; i < C; i++) {
      const d = inp[o + i] - m;
      v += d * d;
    }
    v /= C;
    const r = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < C; i++) {
      const y = (inp[o + i] - m) * r * w[i];
      out[o + i] = b !== null ? y + b[i] : y;
    }
    mean[n] = m;
    rstd[n] = r;
  }
}

/**
 * With xhat = (x - mean) * rstd and g = dout * w:
 * dinp += rstd * (g - mean(g) - xhat * mean(g * xhat)); dw += dout * xhat; db += dout.
 */
export function layernormBackward(
  dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, mean: Arr, rstd: Arr, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const m = mean[n];
    const r = rstd[n];
    let sg = 0;
    let sgx = 0;
    for (let i = 0; i < C; i++) {
      const xhat = (inp[o + i] - m) * r;
      const g = dout[o + i] * w[i];
      sg += g;
      sgx += g * xhat;
    }
    const mg = sg / C;
    const mgx = sgx / C;
    for (let i = 0; i < C; i++) {
      const xhat = (inp[o + i] - m) * r;
      const d = dout[o + i];
      const g = d * w[i];
      dinp[o + i] += r * (g - mg - xhat * mgx);
      dw[i] += d * xhat;
      if (db !== null) db[i] += d;
    }
  }
}

/** out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); saves rstd. */
export function rmsnormForward(out: Arr, rstd: Arr, inp: Arr, w: Arr, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let i = 0; i < C; i++) ss += inp[o + i] * inp[o + i];
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let i = 0; i < C; i++) out[o + i] = inp[o + i] * r * w[i];
    rstd[n] = r;
  }
}

/** With xhat = x * rstd and g = dout * w: dinp += rstd * (g - xhat * mean(g * xhat)); dw += dout * xhat. */
export function rmsnormBackward(dinp: Arr, dw: Arr, dout: Arr, inp: Arr, w: Arr, rstd: Arr, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let sgx = 0;
    for (let i = 0; i < C; i++) sgx += dout[o + i] * w[i] * inp[o + i] * r;
    const mgx = sgx / C;
    for (let i = 0; i < C; i++) {
      const xhat = inp[o + i] * r;
      const d = dout[o + i];
      dinp[o + i] += r * (d * w[i] - xhat * mgx);
      dw[i] += d * xhat;
    }
  }
}
