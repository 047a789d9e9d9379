/*
 * Branch-free float math that GCC vectorises inside `#pragma omp simd` loops (libm's expf/erff are scalar
 * calls, which would make GELU and softmax ~10x slower than the memory bandwidth allows).
 */
#ifndef LMLAB_MATHF_H
#define LMLAB_MATHF_H

#include <stdint.h>
#include <string.h>

/* exp(x), Cephes expf polynomial after range reduction x = n ln2 + r, |r| <= ln2/2: ~1-2 ulp.
 * Returns 0 below -87.3 (instead of a denormal), saturates at exp(88.3); NaN propagates. */
static inline float lm_expf(float x) {
  float xc = x > 88.3f ? 88.3f : x;
  xc = xc < -87.3f ? -87.3f : xc;
  float fx = xc * 1.44269504088896341f;
  fx = (fx + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  int32_t n = (int32_t)fx;
  int32_t bits = (n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  return x < -87.3f ? 0.0f : y;
}

/* logistic sigmoid 1 / (1 + exp(-x)) */
static inline float lm_sigmoidf(float x) { return 1.0f / (1.0f + lm_expf(-x)); }

/* erfc(z) for z >= 0 (Numerical Recipes `erfcc`, Chebyshev fit, fractional error < 1.2e-7 for all z >= 0) */
static inline float lm_erfc_pos(float z) {
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly =
      -1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  return t * lm_expf(-z * z + poly);
}

/* standard normal CDF Phi(x) = 0.5 erfc(-x / sqrt 2), relative accuracy ~1e-6 also in the far left tail */
static inline float lm_Phi(float x) {
  float ax = x < 0.0f ? -x : x;
  float e = 0.5f * lm_erfc_pos(ax * 0.70710678118654752f);
  return x < 0.0f ? e : 1.0f - e;
}

#endif
