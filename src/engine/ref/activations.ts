/** Reference GELU (erf and tanh forms) and SwiGLU, evaluated in float64 per element. */
import type { Arr, GeluKind } from '../backend.ts';
import { erfc } from './special.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_C = 0.044715;

/** erf form: 0.5 x (1 + erf(x / sqrt 2)), computed as 0.5 x erfc(-x / sqrt 2) (accurate for x << 0 too). */
export function geluErf(x: number): number {
  return 0.5 * x * erfc(-x * INV_SQRT_2);
}

/** tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
}

/** d/dx of the erf form: Phi(x) + x phi(x). */
export function geluErfGrad(x: number): number {
  return 0.5 * erfc(-x * INV_SQRT_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** d/dx of the tanh form: 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2). */
export function geluTanhGrad(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
}

export function geluForward(out: Arr, inp: Arr, n: number, kind: GeluKind): void {
  if (kind === 'tanh') {
    for (let i = 0; i < n; i++) out[i] = geluTanh(inp[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = geluErf(inp[i]);
  }
}

export function geluBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: GeluKind): void {
  if (kind === 'tanh') {
    for (let i = 0; i < n; i++) dinp[i] += geluTanhGrad(inp[i]) * dout[i];
  } else {
    for (let i = 0; i < n; i++) dinp[i] += geluErfGrad(inp[i]) * dout[i];
  }
}

/** Logistic sigmoid; 1/(1+exp(-x)) is safe in float64 for every x (exp overflow gives 0, not NaN). */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** out = silu(gate) * up, silu(g) = g * sigmoid(g). */
export function swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    out[i] = g * sigmoid(g) * up[i];
  }
}

/** dgate += dout * up * silu'(gate), silu'(g) = s (1 + g (1 - s)); dup += dout * silu(gate). */
export function swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    const d = dout[i];
    dgate[i] += d * up[i] * s * (1 + g * (1 - s));
    dup[i] += d * g * s;
  }
}
