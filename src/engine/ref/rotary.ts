/**
 * Reference rotary position embedding, HF `rotate_half` convention on the first `rot` dims of every query
 * and key head: for i < rot/2, inv_freq_i = base^(-2i/rot), angle = pos * inv_freq_i,
 * x[i] <- x[i] cos - x[i + rot/2] sin, x[i + rot/2] <- x[i + rot/2] cos + x[i] sin. Dims >= rot and the
 * value heads are untouched. Angles, cos and sin in float64.
 */
import type { Arr, RotaryShape } from '../backend.ts';

/** cos/sin tables [T, rot/2] for positions pos0 … pos0+T-1. */
function tables(s: RotaryShape): { cos: Float64Array; sin: Float64Array } {
  const half = s.rot / 2;
  const cos = new Float64Array(s.T * half);
  const sin = new Float64Array(s.T * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(s.base, (-2 * i) / s.rot);
    for (let t = 0; t < s.T; t++) {
      const angle = (s.pos0 + t) * invFreq;
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Applies the rotation (sign = +1) or its inverse / transpose (sign = -1) in place to the H query heads and
 * KV key heads of x[B, T, (H + 2KV) * D].
 */
function rotate(x: Arr, s: RotaryShape, sign: 1 | -1): void {
  const { B, T, H, KV, D } = s;
  const half = s.rot / 2;
  const W = (H + 2 * KV) * D;
  const { cos, sin } = tables(s);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const tok = (b * T + t) * W;
      const tab = t * half;
      for (let head = 0; head < H + KV; head++) {
        const o = tok + head * D;
        for (let i = 0; i < half; i++) {
          const c = cos[tab + i];
          const sn = sign * sin[tab + i];
          const x1 = x[o + i];
          const x2 = x[o + i + half];
          x[o + i] = x1 * c - x2 * sn;
          x[o + i + half] = x2 * c + x1 * sn;
        }
      }
    }
  }
}

export function rotaryForward(qkv: Arr, s: RotaryShape): void {
  rotate(qkv, s, 1);
}

/** The rotation is orthogonal, so the backward is the inverse rotation (angle -> -angle). */
export function rotaryBackward(dqkv: Arr, s: RotaryShape): void {
  rotate(dqkv, s, -1);
}
