/**
 * Special functions for the reference backend, in float64.
 *
 * erf / erfc follow the algorithm CPython's mathmodule.c used before it switched to libm (Python ≤ 3.x):
 * a power series for |x| < 1.5 (no cancellation: all terms positive) and a continued fraction for erfc
 * beyond. Both are accurate to a few ulps in double precision, far below the 1e-7 relative accuracy the
 * erf-GELU needs to match PyTorch.
 */

const SQRT_PI = 1.772453850905516;
const SERIES_CUTOFF = 1.5;
const SERIES_TERMS = 25;
const CONTFRAC_CUTOFF = 30.0;
const CONTFRAC_TERMS = 50;

/**
 * erf(x) = 2x/sqrt(pi) * exp(-x^2) * sum_{n>=0} (2x^2)^n / (1*3*5*...*(2n+1)), evaluated by Horner's rule
 * from the last term. For |x| < 1.5.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let acc = 0;
  let fk = SERIES_TERMS + 0.5;
  for (let i = 0; i < SERIES_TERMS; i++) {
    acc = 2.0 + (x2 * acc) / fk;
    fk -= 1.0;
  }
  return (acc * x * Math.exp(-x2)) / SQRT_PI;
}

/**
 * erfc(x) for x >= 1.5 by the continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 * written in the even form with x^2 and evaluated forward with the recurrences p_n, q_n.
 */
function erfcContfrac(x: number): number {
  if (x >= CONTFRAC_CUTOFF) return 0;
  const x2 = x * x;
  let a = 0.0;
  let da = 0.5;
  let p = 1.0;
  let pLast = 0.0;
  let q = da + x2;
  let qLast = 1.0;
  for (let i = 0; i < CONTFRAC_TERMS; i++) {
    a += da;
    da += 2.0;
    const b = da + x2;
    let tmp = p;
    p = b * p - a * pLast;
    pLast = tmp;
    tmp = q;
    q = b * q - a * qLast;
    qLast = tmp;
  }
  return ((p / q) * x * Math.exp(-x2)) / SQRT_PI;
}

/** The error function, accurate to a few ulps in float64. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < SERIES_CUTOFF) return erfSeries(x);
  const cf = erfcContfrac(ax);
  return x > 0 ? 1.0 - cf : cf - 1.0;
}

/** The complementary error function 1 - erf(x), accurate in relative terms also for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < SERIES_CUTOFF) return 1.0 - erfSeries(x);
  const cf = erfcContfrac(ax);
  return x > 0 ? cf : 2.0 - cf;
}
