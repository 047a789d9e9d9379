/*
 * GEMM for lmlab: OpenBLAS sgemm when compiled in (LMLAB_OPENBLAS), otherwise (or when forced with
 * lm_set_gemm_mode(LM_GEMM_BUILTIN)) a built-in packed GEMM (Goto/BLIS structure: B packed in KC x NC
 * blocks, A packed in MC x KC blocks, a 6x16 AVX2/FMA register-tile micro-kernel).
 *
 * Threading: the lmlab pool (pool.c) does all the parallel work of the addon. By default (LM_GEMM_BLAS_SPLIT)
 * OpenBLAS is set to one thread and a large GEMM is split into blocks of rows (or columns) claimed by the
 * pool's threads, each a single-threaded sgemm. This keeps OpenBLAS's pthread pool idle, so two thread pools
 * never compete for cores (on a 2-core machine a spinning idle pool costs a whole core), and a thread that
 * is not scheduled does not hold the others up. LM_GEMM_BLAS_THREADS instead makes one sgemm call with
 * OpenBLAS's own threads (benchmark comparison).
 */
#include "kernels.h"

#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include "pool.h"
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LM_AVX2 1
#endif
#ifdef LMLAB_OPENBLAS
#include <cblas.h>
/* declared by OpenBLAS's cblas.h; repeated so that another vendor's cblas.h still compiles */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

/* ------------------------------------------------------------------ scratch */
typedef struct {
  void *p;
  size_t cap;
} lm_buf;
static __thread lm_buf tls_bufs[LM_NSLOTS];

void *lm_scratch(int slot, size_t bytes) {
  lm_buf *b = &tls_bufs[slot];
  if (bytes == 0) bytes = 64;
  if (b->cap >= bytes) return b->p;
  free(b->p);
  b->p = NULL;
  b->cap = 0;
  size_t cap = bytes + bytes / 4;
  cap = (cap + 63) & ~(size_t)63;
  void *p = NULL;
  if (posix_memalign(&p, 64, cap) != 0) return NULL;
  b->p = p;
  b->cap = cap;
  return p;
}

/* ------------------------------------------------------------------ runtime state */
static int g_threads = 1;
static lm_gemm_mode g_mode = LM_GEMM_BUILTIN;
static int g_inited = 0;

int lm_threads(void) { return g_threads; }

int lm_has_blas(void) {
#ifdef LMLAB_OPENBLAS
  return 1;
#else
  return 0;
#endif
}

lm_gemm_mode lm_set_gemm_mode(lm_gemm_mode mode) {
#ifdef LMLAB_OPENBLAS
  if (mode == LM_GEMM_AUTO) mode = LM_GEMM_BLAS_SPLIT;
  g_mode = mode;
  openblas_set_num_threads(mode == LM_GEMM_BLAS_THREADS ? g_threads : 1);
#else
  (void)mode;
  g_mode = LM_GEMM_BUILTIN;
#endif
  return g_mode;
}

lm_gemm_mode lm_get_gemm_mode(void) { return g_mode; }

void lm_par_begin(void) {
#ifdef LMLAB_OPENBLAS
  if (g_mode == LM_GEMM_BLAS_THREADS && g_threads > 1) openblas_set_num_threads(1);
#endif
}

void lm_par_end(void) {
#ifdef LMLAB_OPENBLAS
  if (g_mode == LM_GEMM_BLAS_THREADS && g_threads > 1) openblas_set_num_threads(g_threads);
#endif
}

void lm_runtime_init(void) {
  if (g_inited) return;
  g_inited = 1;
  lm_pool_init();
  g_threads = lm_pool_threads();
  const char *m = getenv("LMLAB_GEMM");
  lm_gemm_mode mode = LM_GEMM_AUTO;
  if (m && strcmp(m, "threads") == 0) mode = LM_GEMM_BLAS_THREADS;
  else if (m && strcmp(m, "builtin") == 0) mode = LM_GEMM_BUILTIN;
  else if (m && strcmp(m, "split") == 0) mode = LM_GEMM_BLAS_SPLIT;
  lm_set_gemm_mode(mode);
}

const char *lm_blas_config(void) {
#ifdef LMLAB_OPENBLAS
  return openblas_get_config();
#else
  return "";
#endif
}

const char *lm_blas_corename(void) {
#ifdef LMLAB_OPENBLAS
  return openblas_get_corename();
#else
  return "";
#endif
}

int lm_blas_threads(void) {
#ifdef LMLAB_OPENBLAS
  return openblas_get_num_threads();
#else
  return 0;
#endif
}

/* C = beta * C over an M x N block (beta == 0 writes zeros without reading) */
typedef struct {
  float *C;
  long ldc;
  int N;
  float beta;
} scale_ctx;

static void scale_rows(void *vc, long s, long e) {
  scale_ctx *c = (scale_ctx *)vc;
  for (long i = s; i < e; i++) {
    float *row = c->C + i * c->ldc;
    if (c->beta == 0.0f) memset(row, 0, sizeof(float) * (size_t)c->N);
    else
      for (int j = 0; j < c->N; j++) row[j] *= c->beta;
  }
}

static void scale_c(int M, int N, float beta, float *C, long ldc, int par) {
  if (beta == 1.0f) return;
  scale_ctx c = {C, ldc, N, beta};
  if (par && (long)M * N > (1L << 16)) lm_parallel_range(M, (1L << 15) / (N > 0 ? N : 1) + 1, scale_rows, &c);
  else scale_rows(&c, 0, M);
}

/* ------------------------------------------------------------------ built-in packed GEMM */
#define MR 6
#define NR 16
#define KC 256
#define MC 96
#define NC 3072

/* Ap: ceil(mc/MR) panels of kc x MR (alpha folded in, rows beyond mc zero) */
static void pack_a(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, float alpha, float *Ap) {
  for (int ip = 0; ip < mc; ip += MR) {
    int mr = mc - ip < MR ? mc - ip : MR;
    float *dst = Ap + (long)(ip / MR) * kc * MR;
    if (!transA) {
      const float *src[MR];
      for (int r = 0; r < MR; r++) src[r] = A + (long)(i0 + ip + (r < mr ? r : 0)) * lda + p0;
      if (mr == MR) {
        for (int k = 0; k < kc; k++)
          for (int r = 0; r < MR; r++) dst[k * MR + r] = alpha * src[r][k];
      } else {
        for (int k = 0; k < kc; k++)
          for (int r = 0; r < MR; r++) dst[k * MR + r] = r < mr ? alpha * src[r][k] : 0.0f;
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float *s = A + (long)(p0 + k) * lda + i0 + ip;
        for (int r = 0; r < MR; r++) dst[k * MR + r] = r < mr ? alpha * s[r] : 0.0f;
      }
    }
  }
}

/* one panel of kc x NR (columns beyond nr zero) */
static void pack_b_panel(int transB, const float *B, long ldb, int j0, int nr, int p0, int kc, float *dst) {
  if (!transB) {
    for (int k = 0; k < kc; k++) {
      const float *s = B + (long)(p0 + k) * ldb + j0;
      float *d = dst + (long)k * NR;
      if (nr == NR) {
        for (int j = 0; j < NR; j++) d[j] = s[j];
      } else {
        for (int j = 0; j < NR; j++) d[j] = j < nr ? s[j] : 0.0f;
      }
    }
  } else {
    for (int j = 0; j < NR; j++) {
      if (j < nr) {
        const float *s = B + (long)(j0 + j) * ldb + p0;
        for (int k = 0; k < kc; k++) dst[(long)k * NR + j] = s[k];
      } else {
        for (int k = 0; k < kc; k++) dst[(long)k * NR + j] = 0.0f;
      }
    }
  }
}

/* C[mr, nr] += Ap(kc x MR) * Bp(kc x NR) */
static void ukr(int kc, const float *restrict a, const float *restrict b, float *restrict c, long ldc, int mr, int nr) {
#ifdef LM_AVX2
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 a0 = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(a0, b0, c00);
    c01 = _mm256_fmadd_ps(a0, b1, c01);
    __m256 a1 = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(a1, b0, c10);
    c11 = _mm256_fmadd_ps(a1, b1, c11);
    __m256 a2 = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(a2, b0, c20);
    c21 = _mm256_fmadd_ps(a2, b1, c21);
    __m256 a3 = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(a3, b0, c30);
    c31 = _mm256_fmadd_ps(a3, b1, c31);
    __m256 a4 = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(a4, b0, c40);
    c41 = _mm256_fmadd_ps(a4, b1, c41);
    __m256 a5 = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(a5, b0, c50);
    c51 = _mm256_fmadd_ps(a5, b1, c51);
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#define LM_ST(i, x0, x1)                                                          \
  _mm256_storeu_ps(c + (i) * ldc, _mm256_add_ps(_mm256_loadu_ps(c + (i) * ldc), x0)); \
  _mm256_storeu_ps(c + (i) * ldc + 8, _mm256_add_ps(_mm256_loadu_ps(c + (i) * ldc + 8), x1));
    LM_ST(0, c00, c01) LM_ST(1, c10, c11) LM_ST(2, c20, c21) LM_ST(3, c30, c31) LM_ST(4, c40, c41) LM_ST(5, c50, c51)
#undef LM_ST
  } else {
    float t[MR * NR] __attribute__((aligned(32)));
    _mm256_store_ps(t + 0 * NR, c00); _mm256_store_ps(t + 0 * NR + 8, c01);
    _mm256_store_ps(t + 1 * NR, c10); _mm256_store_ps(t + 1 * NR + 8, c11);
    _mm256_store_ps(t + 2 * NR, c20); _mm256_store_ps(t + 2 * NR + 8, c21);
    _mm256_store_ps(t + 3 * NR, c30); _mm256_store_ps(t + 3 * NR + 8, c31);
    _mm256_store_ps(t + 4 * NR, c40); _mm256_store_ps(t + 4 * NR + 8, c41);
    _mm256_store_ps(t + 5 * NR, c50); _mm256_store_ps(t + 5 * NR + 8, c51);
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < nr; j++) c[i * ldc + j] += t[i * NR + j];
  }
#else
  /* portable micro-kernel: the compiler vectorises the j loop */
  float t[MR][NR];
  memset(t, 0, sizeof t);
  for (int k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      float ai = a[i];
      for (int j = 0; j < NR; j++) t[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] += t[i][j];
#endif
}

typedef struct {
  int transA, transB, M, jc, nc, pc, kc, npan, njg, jgp;
  float alpha;
  const float *A, *B;
  long lda, ldb, ldc;
  float *C, *Bp;
  _Atomic int err;
} bgemm_ctx;

static void bgemm_pack_b(void *vc, long s, long e) {
  bgemm_ctx *c = (bgemm_ctx *)vc;
  for (long p = s; p < e; p++) {
    int j = (int)p * NR;
    pack_b_panel(c->transB, c->B, c->ldb, c->jc + j, c->nc - j < NR ? c->nc - j : NR, c->pc, c->kc,
                 c->Bp + p * c->kc * NR);
  }
}

/* task = (block of MC rows, group of jgp panels of NR columns) */
static void bgemm_task(void *vc, long task) {
  bgemm_ctx *c = (bgemm_ctx *)vc;
  int ib = (int)(task / c->njg), jg = (int)(task % c->njg);
  int i0 = ib * MC;
  int mc = c->M - i0 < MC ? c->M - i0 : MC;
  int kc = c->kc;
  float *Ap = (float *)lm_scratch(LM_SLOT_GEMM_A, sizeof(float) * (size_t)((mc + MR - 1) / MR) * MR * kc);
  if (!Ap) {
    c->err = 1;
    return;
  }
  pack_a(c->transA, c->A, c->lda, i0, mc, c->pc, kc, c->alpha, Ap);
  int p1 = (jg + 1) * c->jgp < c->npan ? (jg + 1) * c->jgp : c->npan;
  for (int p = jg * c->jgp; p < p1; p++) {
    int j = p * NR;
    int nr = c->nc - j < NR ? c->nc - j : NR;
    const float *bp = c->Bp + (long)p * kc * NR;
    for (int ir = 0; ir < mc; ir += MR) {
      ukr(kc, Ap + (long)(ir / MR) * kc * MR, bp, c->C + (long)(i0 + ir) * c->ldc + c->jc + j, c->ldc,
          mc - ir < MR ? mc - ir : MR, nr);
    }
  }
}

int lm_gemm_builtin(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                    const float *B, long ldb, float beta, float *C, long ldc, int par) {
  if (M <= 0 || N <= 0) return 0;
  if (par && lm_in_parallel()) par = 0;
  scale_c(M, N, beta, C, ldc, par);
  if (K <= 0 || alpha == 0.0f) return 0;
  int nt = par ? g_threads : 1;
  bgemm_ctx c;
  c.transA = transA;
  c.transB = transB;
  c.M = M;
  c.alpha = alpha;
  c.A = A;
  c.B = B;
  c.lda = lda;
  c.ldb = ldb;
  c.ldc = ldc;
  c.C = C;
  c.err = 0;
  for (int jc = 0; jc < N; jc += NC) {
    int nc = N - jc < NC ? N - jc : NC;
    int npan = (nc + NR - 1) / NR;
    for (int pc = 0; pc < K; pc += KC) {
      int kc = K - pc < KC ? K - pc : KC;
      float *Bp = (float *)lm_scratch(LM_SLOT_GEMM_B, sizeof(float) * (size_t)npan * NR * kc);
      if (!Bp) return LM_ENOMEM;
      c.jc = jc;
      c.nc = nc;
      c.pc = pc;
      c.kc = kc;
      c.npan = npan;
      c.Bp = Bp;
      if (nt > 1 && (long)npan * kc * NR > (1L << 15)) lm_parallel_range(npan, 8, bgemm_pack_b, &c);
      else bgemm_pack_b(&c, 0, npan);
      int nib = (M + MC - 1) / MC;
      int jgp = npan; /* panels per task */
      if (nt > 1 && nib < 4 * nt) {
        int want = (4 * nt + nib - 1) / nib;
        jgp = (npan + want - 1) / want;
        if (jgp < 1) jgp = 1;
      }
      c.jgp = jgp;
      c.njg = (npan + jgp - 1) / jgp;
      long ntask = (long)nib * c.njg;
      if (nt > 1 && ntask > 1) lm_parallel(ntask, bgemm_task, &c);
      else
        for (long t = 0; t < ntask; t++) bgemm_task(&c, t);
      if (c.err) return LM_ENOMEM;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ dispatch */
#ifdef LMLAB_OPENBLAS
static void blas_call(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                      const float *B, long ldb, float beta, float *C, long ldc) {
  if (M == 1) {
    /* a row vector times op(B): sgemv is much faster than sgemm for one row (decode) */
    long incx = transA ? lda : 1;
    if (beta == 0.0f) memset(C, 0, sizeof(float) * (size_t)N); /* never read C when beta == 0 */
    if (!transB) /* B [K, N]: y = B^T x */
      cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, (int)ldb, A, (int)incx, beta, C, 1);
    else /* B [N, K]: y = B x */
      cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, (int)ldb, A, (int)incx, beta, C, 1);
    return;
  }
  if (beta == 0.0f) {
    /* OpenBLAS's beta = 0 pass (sgemm_beta) is a slow strided loop: zero C with memset and accumulate */
    for (int i = 0; i < M; i++) memset(C + (long)i * ldc, 0, sizeof(float) * (size_t)N);
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
#endif

int lm_gemm_st(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
               const float *B, long ldb, float beta, float *C, long ldc) {
  if (M <= 0 || N <= 0) return 0;
#ifdef LMLAB_OPENBLAS
  if (g_mode != LM_GEMM_BUILTIN) {
    if (K <= 0 || alpha == 0.0f) {
      scale_c(M, N, beta, C, ldc, 0);
      return 0;
    }
    blas_call(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return 0;
  }
#endif
  return lm_gemm_builtin(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0);
}

#ifdef LMLAB_OPENBLAS
typedef struct {
  int transA, transB, M, N, K;
  float alpha;
  const float *A;
  long lda;
  const float *B;
  long ldb;
  float beta;
  float *C;
  long ldc;
  int byRows, blk;
} split_ctx;

static void split_block(void *vc, long b) {
  split_ctx *c = (split_ctx *)vc;
  int len = c->byRows ? c->M : c->N;
  int s = (int)b * c->blk, e = s + c->blk < len ? s + c->blk : len;
  if (s >= e) return;
  if (c->byRows) {
    const float *a = c->transA ? c->A + s : c->A + (long)s * c->lda;
    blas_call(c->transA, c->transB, e - s, c->N, c->K, c->alpha, a, c->lda, c->B, c->ldb, c->beta,
              c->C + (long)s * c->ldc, c->ldc);
  } else {
    const float *bb = c->transB ? c->B + (long)s * c->ldb : c->B + s;
    blas_call(c->transA, c->transB, c->M, e - s, c->K, c->alpha, c->A, c->lda, bb, c->ldb, c->beta, c->C + s, c->ldc);
  }
}
#endif

int lm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
            const float *B, long ldb, float beta, float *C, long ldc) {
  if (M <= 0 || N <= 0) return 0;
#ifdef LMLAB_OPENBLAS
  if (g_mode != LM_GEMM_BUILTIN) {
    if (K <= 0 || alpha == 0.0f) {
      scale_c(M, N, beta, C, ldc, 1);
      return 0;
    }
    int nt = lm_in_parallel() ? 1 : g_threads;
    double flops = 2.0 * M * N * K;
    if (g_mode == LM_GEMM_BLAS_THREADS || nt <= 1 || flops < 2e6) {
      blas_call(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return 0;
    }
    /* blocks of rows (or columns when N > M) claimed by the pool: about 4 blocks per thread, at least
     * 64 rows / 128 columns so that each sgemm stays efficient */
    split_ctx c = {transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, M >= N, 0};
    int len = c.byRows ? M : N, align = c.byRows ? 8 : 16, minb = c.byRows ? 64 : 128;
    long nblk = lm_nchunks(len, minb);
    if (nblk > 4L * nt) nblk = 4L * nt;
    int blk = (int)((len + nblk - 1) / nblk);
    blk = (blk + align - 1) / align * align;
    c.blk = blk;
    nblk = (len + blk - 1) / blk;
    if (nblk <= 1) {
      blas_call(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return 0;
    }
    lm_parallel(nblk, split_block, &c);
    return 0;
  }
#endif
  return lm_gemm_builtin(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 1);
}

typedef struct {
  int transA, transB, M, N, K;
  float alpha;
  const float *A;
  long sA;
  const float *B;
  long sB;
  float beta;
  float *C;
  long sC, lda, ldb, ldc;
  _Atomic int err;
} batched_ctx;

static void batched_one(void *vc, long p) {
  batched_ctx *c = (batched_ctx *)vc;
  int r = lm_gemm_st(c->transA, c->transB, c->M, c->N, c->K, c->alpha, c->A + p * c->sA, c->lda, c->B + p * c->sB,
                     c->ldb, c->beta, c->C + p * c->sC, c->ldc);
  if (r) c->err = r;
}

int lm_gemm_batched(int transA, int transB, int M, int N, int K, float alpha, const float *A, long sA,
                    const float *B, long sB, float beta, float *C, long sC, int batch) {
  long lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
  if (lda < 1) lda = 1;
  if (ldb < 1) ldb = 1;
  if (batch <= 0 || M <= 0 || N <= 0) return 0;
  double flops = 2.0 * M * N * K;
  /* outputs that overlap (sC < M*N, e.g. 0) are computed one after the other, in order */
  if (batch == 1 || sC < (long)M * N || flops >= 4e6 || g_threads <= 1) {
    for (int p = 0; p < batch; p++) {
      int r = lm_gemm(transA, transB, M, N, K, alpha, A + (long)p * sA, lda, B + (long)p * sB, ldb, beta,
                      C + (long)p * sC, ldc);
      if (r) return r;
    }
    return 0;
  }
  /* many small products: one per chunk, single-threaded GEMM */
  batched_ctx c = {transA, transB, M, N, K, alpha, A, sA, B, sB, beta, C, sC, lda, ldb, ldc, 0};
  lm_par_begin();
  lm_parallel(batch, batched_one, &c);
  lm_par_end();
  return c.err;
}
