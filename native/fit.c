/*
 * Science kernels of the scaling-law fits: the objective of Chinchilla approach 3 (Epoch AI's refit),
 *
 *   f(a, b, e, α, β) = Σᵢ wᵢ · Huber_δ(ln Lᵢ − LSE(a − α ln Nᵢ, b − β ln Dᵢ, e))
 *
 * with its analytic gradient. It is evaluated ~280,000 times by the 4500-start L-BFGS fit, which makes it the
 * whole cost of that fit. The TypeScript `chinchillaObjectiveReference` (src/scaling/chinchilla.ts) is the
 * oracle; test/scaling/fit-native.test.ts compares the two.
 *
 * Layout of `data` (float64, n points): [ln N (n) | ln D (n) | ln L (n)]; the weights w (n) are a separate array, so
 * that callers can change them between evaluations without copying.
 *
 * The AVX2 + FMA path handles 4 points per step with a vector exp (Cody–Waite reduction, degree-13 Taylor
 * polynomial, relative error ~1e-16) and a vector log (exponent split, atanh series, ~1e-16); points whose
 * predicted loss is outside [1e-18, 1e18] (far from any fit, e.g. a wild line-search trial) send the whole
 * evaluation to the max-shifted scalar log-sum-exp below, as the TypeScript fast path does.
 */
#include <math.h>
#include <stddef.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include "fit.h"

/* the scalar reference: max-shifted log-sum-exp, one point */
static inline void point_ref(double a, double b, double e, double al, double be, double ln, double ld, double ll,
                             double wi, double delta, double *f, double *g) {
  double t1 = a - al * ln, t2 = b - be * ld;
  double m = t1 > t2 ? t1 : t2;
  if (e > m) m = e;
  double w1 = exp(t1 - m), w2 = exp(t2 - m), w3 = exp(e - m);
  double s = w1 + w2 + w3;
  double r = ll - (m + log(s));
  double psi;
  if (r > delta) {
    *f += wi * delta * (r - 0.5 * delta);
    psi = delta;
  } else if (r < -delta) {
    *f += wi * delta * (-r - 0.5 * delta);
    psi = -delta;
  } else {
    *f += wi * 0.5 * r * r;
    psi = r;
  }
  double c = wi * psi / s, c1 = c * w1, c2 = c * w2;
  g[0] -= c1;
  g[1] -= c2;
  g[2] -= c * w3;
  g[3] += c1 * ln;
  g[4] += c2 * ld;
}

static double objective_ref(const double *data, const double *w, long n, double delta, const double *x, double *g) {
  const double *lnN = data, *lnD = data + n, *lnL = data + 2 * n;
  double f = 0, gg[5] = {0, 0, 0, 0, 0};
  for (long i = 0; i < n; i++) {
    if (w[i] == 0) continue;
    point_ref(x[0], x[1], x[2], x[3], x[4], lnN[i], lnD[i], lnL[i], w[i], delta, &f, gg);
  }
  for (int k = 0; k < 5; k++) g[k] = gg[k];
  return f;
}

#if defined(__AVX2__) && defined(__FMA__)
/* exp(x) for x in [−700, 700]: x = k·ln2 + r, |r| ≤ ln2/2, exp(r) by Taylor to degree 13 (error < 3e-17) */
static inline __m256d exp4(__m256d x) {
  const __m256d log2e = _mm256_set1_pd(1.4426950408889634074);
  const __m256d ln2hi = _mm256_set1_pd(6.93147180369123816490e-01);
  const __m256d ln2lo = _mm256_set1_pd(1.90821492927058770002e-10);
  __m256d kd = _mm256_round_pd(_mm256_mul_pd(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(kd, ln2hi, x);
  r = _mm256_fnmadd_pd(kd, ln2lo, r);
  /* Estrin's scheme (short dependency chains) for Σ_{k≤13} r^k/k! */
#define C_(v) _mm256_set1_pd(v)
  __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2), r8 = _mm256_mul_pd(r4, r4);
  __m256d q0 = _mm256_fmadd_pd(r, C_(1.0), C_(1.0));
  __m256d q1 = _mm256_fmadd_pd(r, C_(1.0 / 6), C_(1.0 / 2));
  __m256d q2 = _mm256_fmadd_pd(r, C_(1.0 / 120), C_(1.0 / 24));
  __m256d q3 = _mm256_fmadd_pd(r, C_(1.0 / 5040), C_(1.0 / 720));
  __m256d q4 = _mm256_fmadd_pd(r, C_(1.0 / 362880), C_(1.0 / 40320));
  __m256d q5 = _mm256_fmadd_pd(r, C_(1.0 / 39916800), C_(1.0 / 3628800));
  __m256d q6 = _mm256_fmadd_pd(r, C_(1.0 / 6227020800.0), C_(1.0 / 479001600));
  __m256d s0 = _mm256_fmadd_pd(q1, r2, q0), s1 = _mm256_fmadd_pd(q3, r2, q2), s2 = _mm256_fmadd_pd(q5, r2, q4);
  __m256d u0 = _mm256_fmadd_pd(s1, r4, s0), u1 = _mm256_fmadd_pd(q6, r4, s2);
  __m256d p = _mm256_fmadd_pd(u1, r8, u0);
  __m128i k32 = _mm256_cvtpd_epi32(kd);
  __m256i k64 = _mm256_cvtepi32_epi64(k32);
  __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(k64, _mm256_set1_epi64x(1023)), 52);
  return _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
}

/* ln(s) for positive normal s: s = 2^k·m, m in [√½, √2), ln m = 2·atanh(f), f = (m−1)/(m+1), |f| ≤ 0.1716 */
static inline __m256d log4(__m256d s) {
  const __m256i mant_mask = _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL);
  const __m256i one_bits = _mm256_set1_epi64x(0x3FF0000000000000LL);
  __m256i bits = _mm256_castpd_si256(s);
  __m256i ebits = _mm256_srli_epi64(bits, 52); /* biased exponent, 1..2046 */
  __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(bits, mant_mask), one_bits)); /* [1, 2) */
  /* biased exponent to double: OR into the mantissa of 2^52 and subtract 2^52 */
  const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
  __m256d ed = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(ebits, _mm256_castpd_si256(two52))), two52);
  ed = _mm256_sub_pd(ed, _mm256_set1_pd(1023.0));
  __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(1.4142135623730951), _CMP_GT_OQ);
  m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
  ed = _mm256_add_pd(ed, _mm256_and_pd(big, _mm256_set1_pd(1.0)));
  const __m256d one = _mm256_set1_pd(1.0);
  __m256d f = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
  __m256d f2 = _mm256_mul_pd(f, f);
  /* 1 + f²/3 + f⁴/5 + … + f²⁴/25: the next term is < 0.0295¹³/27 ≈ 5e-22 */
  /* Σ_{k≤12} f2^k/(2k+1) by Estrin's scheme */
  __m256d z2 = _mm256_mul_pd(f2, f2), z4 = _mm256_mul_pd(z2, z2), z8 = _mm256_mul_pd(z4, z4);
  __m256d a0 = _mm256_fmadd_pd(f2, C_(1.0 / 3), C_(1.0));
  __m256d a1 = _mm256_fmadd_pd(f2, C_(1.0 / 7), C_(1.0 / 5));
  __m256d a2 = _mm256_fmadd_pd(f2, C_(1.0 / 11), C_(1.0 / 9));
  __m256d a3 = _mm256_fmadd_pd(f2, C_(1.0 / 15), C_(1.0 / 13));
  __m256d a4 = _mm256_fmadd_pd(f2, C_(1.0 / 19), C_(1.0 / 17));
  __m256d a5 = _mm256_fmadd_pd(f2, C_(1.0 / 23), C_(1.0 / 21));
  __m256d b0 = _mm256_fmadd_pd(a1, z2, a0), b1 = _mm256_fmadd_pd(a3, z2, a2), b2 = _mm256_fmadd_pd(a5, z2, a4);
  __m256d e0 = _mm256_fmadd_pd(b1, z4, b0), e1 = _mm256_fmadd_pd(C_(1.0 / 25), z4, b2);
  __m256d p = _mm256_fmadd_pd(e1, z8, e0);
  __m256d lnm = _mm256_mul_pd(_mm256_add_pd(f, f), p);
  const __m256d ln2hi = _mm256_set1_pd(6.93147180369123816490e-01);
  const __m256d ln2lo = _mm256_set1_pd(1.90821492927058770002e-10);
  return _mm256_fmadd_pd(ed, ln2hi, _mm256_fmadd_pd(ed, ln2lo, lnm));
}

static inline double hsum4(__m256d v) {
  __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
  lo = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(lo) + _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
}
#endif

double lm_chinchilla_objective(const double *data, const double *w, long n, double delta, const double *x, double *g) {
  const double a = x[0], b = x[1], e = x[2], al = x[3], be = x[4];
  if (!(e > -700 && e < 700 && isfinite(a) && isfinite(b) && isfinite(al) && isfinite(be)))
    return objective_ref(data, w, n, delta, x, g);
  const double *lnN = data, *lnD = data + n, *lnL = data + 2 * n;
  double f = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0;
  long i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  {
    const double u3 = exp(e);
    const __m256d va = _mm256_set1_pd(a), vb = _mm256_set1_pd(b), val = _mm256_set1_pd(al), vbe = _mm256_set1_pd(be);
    const __m256d vu3 = _mm256_set1_pd(u3), vdelta = _mm256_set1_pd(delta), vmdelta = _mm256_set1_pd(-delta);
    const __m256d lim = _mm256_set1_pd(700.0), mlim = _mm256_set1_pd(-700.0);
    const __m256d small = _mm256_set1_pd(1e-18), bigv = _mm256_set1_pd(1e18);
    const __m256d half = _mm256_set1_pd(0.5), halfdelta = _mm256_set1_pd(0.5 * delta);
    const __m256d signmask = _mm256_set1_pd(-0.0);
    __m256d F = _mm256_setzero_pd(), G0 = F, G1 = F, G2 = F, G3 = F, G4 = F;
    __m256d bad = _mm256_setzero_pd();
    for (; i + 4 <= n; i += 4) {
      __m256d ln = _mm256_loadu_pd(lnN + i), ld = _mm256_loadu_pd(lnD + i), ll = _mm256_loadu_pd(lnL + i);
      __m256d wi = _mm256_loadu_pd(w + i);
      __m256d t1 = _mm256_fnmadd_pd(val, ln, va), t2 = _mm256_fnmadd_pd(vbe, ld, vb);
      /* clamped to [−700, 700]: a term above 700 makes s > 1e18 (flagged below); one below −700 is < 1e-304,
       * negligible beside s ≥ 1e-18 whether clamped or not. NaN cannot occur: x was checked finite. */
      t1 = _mm256_min_pd(_mm256_max_pd(t1, mlim), lim);
      t2 = _mm256_min_pd(_mm256_max_pd(t2, mlim), lim);
      __m256d v1 = exp4(t1), v2 = exp4(t2);
      __m256d s = _mm256_add_pd(_mm256_add_pd(v1, v2), vu3);
      bad = _mm256_or_pd(bad, _mm256_cmp_pd(s, small, _CMP_NGT_UQ));
      bad = _mm256_or_pd(bad, _mm256_cmp_pd(s, bigv, _CMP_NLT_UQ));
      s = _mm256_min_pd(_mm256_max_pd(s, small), bigv);
      __m256d r = _mm256_sub_pd(ll, log4(s));
      __m256d absr = _mm256_andnot_pd(signmask, r);
      __m256d quad = _mm256_cmp_pd(absr, vdelta, _CMP_LE_OQ);
      __m256d fq = _mm256_mul_pd(half, _mm256_mul_pd(r, r));
      __m256d fl = _mm256_mul_pd(vdelta, _mm256_sub_pd(absr, halfdelta));
      F = _mm256_fmadd_pd(wi, _mm256_blendv_pd(fl, fq, quad), F);
      __m256d psi = _mm256_min_pd(_mm256_max_pd(r, vmdelta), vdelta);
      __m256d c = _mm256_div_pd(_mm256_mul_pd(wi, psi), s);
      __m256d c1 = _mm256_mul_pd(c, v1), c2 = _mm256_mul_pd(c, v2);
      G0 = _mm256_sub_pd(G0, c1);
      G1 = _mm256_sub_pd(G1, c2);
      G2 = _mm256_sub_pd(G2, c);
      G3 = _mm256_fmadd_pd(c1, ln, G3);
      G4 = _mm256_fmadd_pd(c2, ld, G4);
    }
    if (_mm256_movemask_pd(bad)) return objective_ref(data, w, n, delta, x, g);
    f = hsum4(F);
    g0 = hsum4(G0);
    g1 = hsum4(G1);
    g2 = hsum4(G2) * u3;
    g3 = hsum4(G3);
    g4 = hsum4(G4);
  }
#endif
  /* the remaining points (and every point without AVX2): the stable max-shifted form, one point at a time */
  double gt[5] = {g0, g1, g2, g3, g4};
  for (; i < n; i++)
    if (w[i] != 0) point_ref(a, b, e, al, be, lnN[i], lnD[i], lnL[i], w[i], delta, &f, gt);
  g0 = gt[0], g1 = gt[1], g2 = gt[2], g3 = gt[3], g4 = gt[4];
  g[0] = g0;
  g[1] = g1;
  g[2] = g2;
  g[3] = g3;
  g[4] = g4;
  return f;
}
