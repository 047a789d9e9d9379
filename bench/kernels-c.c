/*
 * C-only timing of the native kernels (no Node needed), for machines where only a C compiler and OpenBLAS
 * are available, and for clean per-thread-count comparisons with taskset. Same shapes as bench/kernels.ts.
 * Build and run (from the repository root):
 *   gcc -O3 -march=native -fopenmp-simd -fno-math-errno -fno-trapping-math -pthread -DLMLAB_OPENBLAS \
 *       -Inative -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/kernels-c.c native/gemm.c \
 *       native/kernels.c native/attention.c native/pool.c -lopenblas -lm -o /tmp/kernels-c
 *   LMLAB_THREADS=2 taskset -c 0-1 /tmp/kernels-c
 * (drop -DLMLAB_OPENBLAS and -lopenblas for the built-in GEMM only). Prints best-of-N wall-clock times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static float *rnd(long n) {
  float *a = (float *)malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) a[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return a;
}

int main(void) {
  lm_runtime_init();
  printf("threads %d, blas %s %s\n", lm_threads(), lm_has_blas() ? "openblas" : "builtin", lm_blas_corename());
  static const int shapes[][5] = { /* transA, transB, M, N, K */
    {0, 1, 2048, 1152, 384}, {0, 0, 2048, 384, 1152}, {1, 0, 1152, 384, 2048}, {0, 1, 2048, 1536, 384},
    {0, 0, 2048, 384, 1536}, {1, 0, 1536, 384, 2048}, {0, 1, 2048, 384, 1536}, {0, 0, 2048, 1536, 384},
    {1, 0, 384, 1536, 2048}, {0, 1, 2048, 384, 384}, {1, 0, 384, 384, 2048}};
  float *A = rnd(2048L * 1536), *B = rnd(2048L * 1536), *C = rnd(2048L * 1536);
  lm_gemm_mode modes[3] = {LM_GEMM_BLAS_SPLIT, LM_GEMM_BLAS_THREADS, LM_GEMM_BUILTIN};
  const char *names[3] = {"split", "threads", "builtin"};
  int nm = lm_has_blas() ? 3 : 1;
  if (!lm_has_blas()) { modes[0] = LM_GEMM_BUILTIN; names[0] = "builtin"; }
  printf("GEMM GFLOP/s (best of 8)  tA tB     M     N     K");
  for (int m = 0; m < nm; m++) printf(" %8s", names[m]);
  printf("\n");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const int *S = shapes[s];
    printf("                          %2d %2d %5d %5d %5d", S[0], S[1], S[2], S[3], S[4]);
    for (int m = 0; m < nm; m++) {
      lm_set_gemm_mode(modes[m]);
      double best = 1e30;
      for (int it = 0; it < 8; it++) {
        double t = now_ms();
        lm_gemm(S[0], S[1], S[2], S[3], S[4], 1.0f, A, S[0] ? S[2] : S[4], B, S[1] ? S[4] : S[3], 0.0f, C, S[3]);
        double d = now_ms() - t;
        if (d < best) best = d;
      }
      printf(" %8.1f", 2.0 * S[2] * S[3] * S[4] / best / 1e6);
    }
    printf("\n");
  }
  lm_set_gemm_mode(LM_GEMM_AUTO);
  int Bn = 8, H = 6, T = 256, D = 64;
  long R = 3L * H * D;
  float *qkv = rnd((long)Bn * T * R), *out = rnd((long)Bn * T * H * D), *att = rnd((long)Bn * H * T * T);
  float *dout = rnd((long)Bn * T * H * D), *dqkv = rnd((long)Bn * T * R);
  double bf = 1e30, bb = 1e30;
  for (int it = 0; it < 20; it++) {
    double t0 = now_ms();
    lm_attention_forward(out, att, qkv, NULL, NULL, Bn, T, H, H, D);
    double t1 = now_ms();
    lm_attention_backward(dqkv, NULL, NULL, dout, qkv, att, NULL, NULL, Bn, T, H, H, D);
    double t2 = now_ms();
    if (t1 - t0 < bf) bf = t1 - t0;
    if (t2 - t1 < bb) bb = t2 - t1;
  }
  printf("attention B=8 H=6 T=256 D=64: forward %.2f ms, backward %.2f ms (best of 20)\n", bf, bb);
  long N = 2048, Cc = 384, F = 1536;
  float *x = rnd(N * Cc), *y = rnd(N * Cc), *mu = rnd(N), *rs = rnd(N), *w = rnd(Cc), *h = rnd(N * F), *g = rnd(N * F);
  double bl = 1e30, bg = 1e30;
  for (int it = 0; it < 200; it++) {
    double t = now_ms();
    lm_layernorm_forward(y, mu, rs, x, w, NULL, N, Cc, 1e-5f);
    double d = now_ms() - t;
    if (d < bl) bl = d;
  }
  for (int it = 0; it < 50; it++) {
    double t = now_ms();
    lm_gelu_forward(g, h, N * F, 1);
    double d = now_ms() - t;
    if (d < bg) bg = d;
  }
  printf("layernorm fwd [2048x384] %.3f ms, gelu tanh fwd [2048x1536] %.3f ms (best)\n", bl, bg);
  return 0;
}
