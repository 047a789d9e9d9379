/* Science kernels of the scaling-law fits (native/fit.c). */
#ifndef LMLAB_FIT_H
#define LMLAB_FIT_H

/* Chinchilla approach-3 objective Σ w·Huber_δ(ln L − LSE(a − α ln N, b − β ln D, e)) and its gradient.
 * data: float64 [ln N (n) | ln D (n) | ln L (n)]; w: n weights; x: [a, b, e, α, β]; g: 5 outputs. Returns f. */
double lm_chinchilla_objective(const double *data, const double *w, long n, double delta, const double *x, double *g);

#endif
