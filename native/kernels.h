/*
 * lmlab native kernels (C11, pthread pool + `omp simd` vectorisation, OpenBLAS sgemm when available).
 *
 * Conventions (the same as src/engine/backend.ts):
 * - float32, row-major, shapes in the comment of each kernel;
 * - backward kernels ACCUMULATE (+=) into every gradient they write; forward kernels overwrite;
 * - every kernel is called from one (JS) thread and parallelises internally with the lmlab pool (pool.h);
 *   BLAS is called single-threaded inside pool chunks, a large GEMM split into blocks across the pool
 *   (see gemm.c), so OpenBLAS's own thread pool stays idle and never competes for cores.
 * - kernels returning int give 0 on success and LM_ENOMEM when scratch memory could not be allocated.
 * Argument validation (lengths, ranges) is done by the N-API glue in lmlab.c before these are called.
 */
#ifndef LMLAB_KERNELS_H
#define LMLAB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define LM_ENOMEM (-12)

/* ------------------------------------------------------------------ scratch
 * Thread-local, grown-on-demand, 64-byte aligned buffers. One slot per purpose so that nested users
 * (e.g. attention calling the built-in GEMM) never share a buffer. Contents are undefined on return. */
enum {
  LM_SLOT_GEMM_A = 0, /* packed A block (per thread) */
  LM_SLOT_GEMM_B,     /* packed B block (per calling thread) */
  LM_SLOT_ATT,        /* attention scratch (per thread) */
  LM_SLOT_ATT2,       /* attention scratch 2 (per thread) */
  LM_SLOT_RED,        /* per-thread partial sums, owned by the calling thread */
  LM_SLOT_ROPE,       /* rotary cos/sin tables, owned by the calling thread */
  LM_NSLOTS
};
void *lm_scratch(int slot, size_t bytes);

/* ------------------------------------------------------------------ threading / BLAS */
typedef enum { LM_GEMM_AUTO = 0, LM_GEMM_BLAS_SPLIT, LM_GEMM_BLAS_THREADS, LM_GEMM_BUILTIN } lm_gemm_mode;
void lm_runtime_init(void);
int lm_threads(void);
int lm_has_blas(void);
/* mode: BLAS_SPLIT = the pool splits the GEMM, single-threaded BLAS per part (default);
 * BLAS_THREADS = one BLAS call using OpenBLAS's own threads; BUILTIN = the built-in GEMM. Returns the mode
 * actually in effect (BUILTIN when no BLAS was compiled in). */
lm_gemm_mode lm_set_gemm_mode(lm_gemm_mode mode);
lm_gemm_mode lm_get_gemm_mode(void);
/* Bracket a parallel job whose chunks call lm_gemm_st: in LM_GEMM_BLAS_THREADS mode OpenBLAS is
 * switched to one thread for the region (no-op in the other modes). */
void lm_par_begin(void);
void lm_par_end(void);
const char *lm_blas_config(void);
const char *lm_blas_corename(void);
int lm_blas_threads(void);

/* ------------------------------------------------------------------ GEMM
 * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major with leading dimensions.
 * op(A) = A (stored [M, lda>=K]) or A^T (stored [K, lda>=M]); op(B) = B ([K, ldb>=N]) or B^T ([N, ldb>=K]).
 * beta == 0: C is not read (NaNs in C do not propagate). */
/* multi-threaded (runs serially when called from inside a pool chunk) */
int lm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
            const float *B, long ldb, float beta, float *C, long ldc);
/* single-threaded: for use inside pool chunks */
int lm_gemm_st(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
               const float *B, long ldb, float beta, float *C, long ldc);
/* the built-in packed GEMM (par: use the pool) */
int lm_gemm_builtin(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                    const float *B, long ldb, float beta, float *C, long ldc, int par);
/* batched dense GEMM (lda = K or M etc.), matrices at the given strides */
int lm_gemm_batched(int transA, int transB, int M, int N, int K, float alpha, const float *A, long sA,
                    const float *B, long sB, float beta, float *C, long sC, int batch);

/* ------------------------------------------------------------------ linear
 * forward:  out[N,OC] = inp[N,IC] @ w[OC,IC]^T + b[OC]   (b may be NULL)
 * backward: dinp[N,IC] += dout[N,OC] @ w; dw[OC,IC] += dout^T @ inp; db[OC] += sum_n dout (dinp, db may be NULL) */
int lm_linear_forward(float *out, const float *inp, const float *w, const float *b, long N, long IC, long OC);
int lm_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                       long N, long IC, long OC);

/* ------------------------------------------------------------------ embeddings
 * forward:  out[BT,C] = wte[ids[n]] (+ wpe[n % T])
 * backward: dwte[ids[n]] += dout[n]; dwpe[n % T] += dout[n] */
void lm_embed_forward(float *out, const int32_t *ids, const float *wte, const float *wpe, long BT, long T, long C);
int lm_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *ids, long BT, long T, long C, long V);

/* ------------------------------------------------------------------ normalisation
 * layernorm: out[N,C] = (x - mean) * rstd * w + b; mean[N], rstd[N] saved (b may be NULL)
 * rmsnorm:   out[N,C] = x * rstd * w; rstd[N] saved */
void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          long N, long C, float eps);
int lm_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                          const float *mean, const float *rstd, long N, long C);
void lm_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, long N, long C, float eps);
int lm_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                        const float *rstd, long N, long C);

/* ------------------------------------------------------------------ activations (n elements)
 * kind 0 = erf GELU, 1 = tanh GELU */
void lm_gelu_forward(float *out, const float *inp, long n, int kind);
void lm_gelu_backward(float *dinp, const float *inp, const float *dout, long n, int kind);
void lm_swiglu_forward(float *out, const float *gate, const float *up, long n);
void lm_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n);

/* ------------------------------------------------------------------ rotary (in place)
 * x[B,T,(H+2KV)*D]: the first `rot` dims of the H query and KV key heads, position pos0 + t.
 * dir = +1 forward rotation, -1 inverse (backward). */
int lm_rotary(float *x, int B, int T, int H, int KV, int D, int rot, double base, long pos0, int dir);

/* ------------------------------------------------------------------ attention (causal, GQA, optional k'/v' slot)
 * forward:  qkv[B,T,(H+2KV)*D] -> out[B,T,H*D], att[B,H,T,T+e] (e = kb != NULL)
 * backward: dqkv[B,T,(H+2KV)*D] += ..., dkb/dvb[H,D] += ... (may be NULL)
 * decode:   qkv[B,Tn,...] new tokens; kc/vc[B,KV,Tmax,D] written at pos0..pos0+Tn-1; out[B,Tn,H*D];
 *           att (may be NULL) [B,H,Tn,pos0+Tn+e] */
int lm_attention_forward(float *out, float *att, const float *qkv, const float *kb, const float *vb,
                         int B, int T, int H, int KV, int D);
int lm_attention_backward(float *dqkv, float *dkb, float *dvb, const float *dout, const float *qkv,
                          const float *att, const float *kb, const float *vb, int B, int T, int H, int KV, int D);
int lm_attention_decode(float *out, float *att, const float *qkv, float *kc, float *vc, const float *kb,
                        const float *vb, int B, int Tn, int H, int KV, int D, int pos0, int Tmax);

/* ------------------------------------------------------------------ loss
 * losses[N] = logsumexp(logits[n]) - logits[n, t] (0 when t < 0); logits[N,V]
 * dlogits[n] += dloss[n] * (softmax(logits[n]) - onehot(t)) for t >= 0
 * out[N,V] = log_softmax(logits) (in place allowed) */
void lm_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, long N, long V);
void lm_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, const float *dloss,
                              long N, long V);
void lm_log_softmax(float *out, const float *logits, long N, long V);

/* ------------------------------------------------------------------ elementwise, reductions, optimizer */
void lm_add(float *out, const float *a, const float *b, long n);
void lm_accumulate(float *dst, const float *src, long n);
int lm_sum_squares(const float *x, long n, double *result);
int lm_all_finite(const float *x, long n);
void lm_adamw(float *p, const float *g, float *m, float *v, long n, double lr, double beta1, double beta2,
              double eps, double wd, double step, double gradScale);

#endif
