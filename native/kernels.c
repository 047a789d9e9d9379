/*
 * lmlab native kernels: linear, embeddings, norms, activations, rotary, loss, elementwise, AdamW.
 * (GEMM in gemm.c, attention in attention.c, threads in pool.c.) Shapes and semantics in kernels.h and
 * src/engine/backend.ts.
 *
 * Reductions whose result is stored (norm statistics, logsumexp, bias/weight-gradient column sums,
 * sum of squares) accumulate in double, like the reference backend, so results agree to float rounding.
 * Cross-row reductions use one partial per chunk, summed in chunk order: results do not depend on which
 * thread ran which chunk.
 */
#include "kernels.h"
#include "mathf.h"
#include "pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* elementwise work below this many elements runs on the calling thread only */
#define LM_PAR_MIN (1L << 14)

static inline long min_rows(long rowLen) {
  long r = LM_PAR_MIN / (rowLen > 0 ? rowLen : 1);
  return r < 1 ? 1 : r;
}

/* ------------------------------------------------------------------ linear */
typedef struct {
  float *out;
  const float *b;
  long OC;
} bias_rows_ctx;

static void bias_rows(void *vc, long s, long e) {
  bias_rows_ctx *c = (bias_rows_ctx *)vc;
  for (long n = s; n < e; n++) memcpy(c->out + n * c->OC, c->b, sizeof(float) * (size_t)c->OC);
}

int lm_linear_forward(float *out, const float *inp, const float *w, const float *b, long N, long IC, long OC) {
  if (N <= 0 || OC <= 0) return 0;
  float beta = 0.0f;
  if (b) {
    bias_rows_ctx c = {out, b, OC};
    lm_parallel_range(N, min_rows(OC), bias_rows, &c);
    beta = 1.0f;
  }
  return lm_gemm(0, 1, (int)N, (int)OC, (int)IC, 1.0f, inp, IC, w, IC, beta, out, OC);
}

#define DB_CB 128
typedef struct {
  float *db;
  const float *dout;
  long N, OC;
} colsum_ctx;

/* db[c0..c0+128) += column sums of dout (in double) */
static void colsum_block(void *vc, long blk) {
  colsum_ctx *c = (colsum_ctx *)vc;
  double acc[DB_CB];
  long c0 = blk * DB_CB, nc = c->OC - c0 < DB_CB ? c->OC - c0 : DB_CB;
  for (long i = 0; i < nc; i++) acc[i] = 0.0;
  for (long n = 0; n < c->N; n++) {
    const float *d = c->dout + n * c->OC + c0;
#pragma omp simd
    for (long i = 0; i < nc; i++) acc[i] += (double)d[i];
  }
  for (long i = 0; i < nc; i++) c->db[c0 + i] = (float)((double)c->db[c0 + i] + acc[i]);
}

int lm_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                       long N, long IC, long OC) {
  int r;
  if (dinp && N > 0 && IC > 0) {
    r = lm_gemm(0, 0, (int)N, (int)IC, (int)OC, 1.0f, dout, OC, w, IC, 1.0f, dinp, IC);
    if (r) return r;
  }
  if (OC > 0 && IC > 0) {
    r = lm_gemm(1, 0, (int)OC, (int)IC, (int)N, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
    if (r) return r;
  }
  if (db && OC > 0 && N > 0) {
    colsum_ctx c = {db, dout, N, OC};
    long nblk = (OC + DB_CB - 1) / DB_CB;
    if (N * OC > LM_PAR_MIN) lm_parallel(nblk, colsum_block, &c);
    else
      for (long blk = 0; blk < nblk; blk++) colsum_block(&c, blk);
  }
  return 0;
}

/* ------------------------------------------------------------------ embeddings */
typedef struct {
  float *out;
  const int32_t *ids;
  const float *wte, *wpe;
  long T, C;
} embed_ctx;

static void embed_fwd_rows(void *vc, long s, long e) {
  embed_ctx *c = (embed_ctx *)vc;
  long C = c->C;
  for (long n = s; n < e; n++) {
    float *o = c->out + n * C;
    const float *t = c->wte + (long)c->ids[n] * C;
    if (c->wpe) {
      const float *p = c->wpe + (n % c->T) * C;
#pragma omp simd
      for (long i = 0; i < C; i++) o[i] = t[i] + p[i];
    } else {
      memcpy(o, t, sizeof(float) * (size_t)C);
    }
  }
}

void lm_embed_forward(float *out, const int32_t *ids, const float *wte, const float *wpe, long BT, long T, long C) {
  embed_ctx c = {out, ids, wte, wpe, T, C};
  lm_parallel_range(BT, min_rows(C), embed_fwd_rows, &c);
}

typedef struct {
  float *dwte, *dwpe;
  const float *dout;
  const int32_t *ids;
  long BT, T, C;
} embed_bwd_ctx;

/* columns [s, e) of every row, in row order (a token may repeat: rows of dwte are shared) */
static void embed_bwd_cols(void *vc, long s, long e) {
  embed_bwd_ctx *c = (embed_bwd_ctx *)vc;
  long C = c->C;
  for (long n = 0; n < c->BT; n++) {
    const float *d = c->dout + n * C;
    float *t = c->dwte + (long)c->ids[n] * C;
#pragma omp simd
    for (long i = s; i < e; i++) t[i] += d[i];
    if (c->dwpe) {
      float *p = c->dwpe + (n % c->T) * C;
#pragma omp simd
      for (long i = s; i < e; i++) p[i] += d[i];
    }
  }
}

int lm_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *ids, long BT, long T, long C,
                      long V) {
  (void)V;
  embed_bwd_ctx c = {dwte, dwpe, dout, ids, BT, T, C};
  if (BT * C <= LM_PAR_MIN || C < 32) {
    embed_bwd_cols(&c, 0, C);
    return 0;
  }
  /* column blocks of 32 floats (two cache lines) */
  long nb = (C + 31) / 32;
  long nch = lm_nchunks(nb, 1);
  long per = (nb + nch - 1) / nch * 32;
  lm_parallel_range(C, per, embed_bwd_cols, &c);
  return 0;
}

/* ------------------------------------------------------------------ layernorm / rmsnorm */
typedef struct {
  float *out, *mean, *rstd;
  const float *inp, *w, *b;
  long C;
  float eps;
} ln_fwd_ctx;

static void ln_fwd_rows(void *vc, long s, long e) {
  ln_fwd_ctx *c = (ln_fwd_ctx *)vc;
  long C = c->C;
  for (long n = s; n < e; n++) {
    const float *x = c->inp + n * C;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (long i = 0; i < C; i++) sum += (double)x[i];
    double m = sum / (double)C;
    double v = 0.0;
#pragma omp simd reduction(+ : v)
    for (long i = 0; i < C; i++) {
      double d = (double)x[i] - m;
      v += d * d;
    }
    v /= (double)C;
    double r = 1.0 / sqrt(v + (double)c->eps);
    float mf = (float)m, rf = (float)r;
    float *o = c->out + n * C;
    const float *w = c->w, *b = c->b;
    if (b) {
#pragma omp simd
      for (long i = 0; i < C; i++) o[i] = (x[i] - mf) * rf * w[i] + b[i];
    } else {
#pragma omp simd
      for (long i = 0; i < C; i++) o[i] = (x[i] - mf) * rf * w[i];
    }
    c->mean[n] = mf;
    c->rstd[n] = rf;
  }
}

void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          long N, long C, float eps) {
  ln_fwd_ctx c = {out, mean, rstd, inp, w, b, C, eps};
  lm_parallel_range(N, min_rows(C), ln_fwd_rows, &c);
}

typedef struct {
  float *dinp;
  const float *dout, *inp, *w, *mean, *rstd;
  long N, C, per;
  double *part; /* [nchunks][2C]: dw, db partials */
} ln_bwd_ctx;

static void ln_bwd_chunk(void *vc, long ch) {
  ln_bwd_ctx *c = (ln_bwd_ctx *)vc;
  long C = c->C;
  double *pw = c->part + (size_t)ch * 2 * C, *pb = pw + C;
  for (long i = 0; i < 2 * C; i++) pw[i] = 0.0;
  long s = ch * c->per, e = s + c->per < c->N ? s + c->per : c->N;
  const float *w = c->w;
  for (long n = s; n < e; n++) {
    const float *x = c->inp + n * C, *d = c->dout + n * C;
    float m = c->mean[n], r = c->rstd[n];
    double sg = 0.0, sgx = 0.0;
#pragma omp simd reduction(+ : sg, sgx)
    for (long i = 0; i < C; i++) {
      float xhat = (x[i] - m) * r;
      float g = d[i] * w[i];
      sg += (double)g;
      sgx += (double)(g * xhat);
    }
    float mg = (float)(sg / (double)C), mgx = (float)(sgx / (double)C);
    float *di = c->dinp + n * C;
#pragma omp simd
    for (long i = 0; i < C; i++) {
      float xhat = (x[i] - m) * r;
      float g = d[i] * w[i];
      di[i] += r * (g - mg - xhat * mgx);
      pw[i] += (double)(d[i] * xhat);
      pb[i] += (double)d[i];
    }
  }
}

int lm_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                          const float *mean, const float *rstd, long N, long C) {
  if (N <= 0 || C <= 0) return 0;
  long nch = lm_nchunks(N, min_rows(C));
  long per = (N + nch - 1) / nch;
  nch = (N + per - 1) / per;
  double *part = (double *)lm_scratch(LM_SLOT_RED, sizeof(double) * (size_t)nch * 2 * (size_t)C);
  if (!part) return LM_ENOMEM;
  ln_bwd_ctx c = {dinp, dout, inp, w, mean, rstd, N, C, per, part};
  lm_parallel(nch, ln_bwd_chunk, &c);
  for (long i = 0; i < C; i++) {
    double sw = 0.0, sb = 0.0;
    for (long t = 0; t < nch; t++) {
      sw += part[(size_t)t * 2 * C + i];
      sb += part[(size_t)t * 2 * C + C + i];
    }
    dw[i] = (float)((double)dw[i] + sw);
    if (db) db[i] = (float)((double)db[i] + sb);
  }
  return 0;
}

typedef struct {
  float *out, *rstd;
  const float *inp, *w;
  long C;
  float eps;
} rms_fwd_ctx;

static void rms_fwd_rows(void *vc, long s, long e) {
  rms_fwd_ctx *c = (rms_fwd_ctx *)vc;
  long C = c->C;
  for (long n = s; n < e; n++) {
    const float *x = c->inp + n * C;
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (long i = 0; i < C; i++) ss += (double)x[i] * (double)x[i];
    float r = (float)(1.0 / sqrt(ss / (double)C + (double)c->eps));
    float *o = c->out + n * C;
    const float *w = c->w;
#pragma omp simd
    for (long i = 0; i < C; i++) o[i] = x[i] * r * w[i];
    c->rstd[n] = r;
  }
}

void lm_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, long N, long C, float eps) {
  rms_fwd_ctx c = {out, rstd, inp, w, C, eps};
  lm_parallel_range(N, min_rows(C), rms_fwd_rows, &c);
}

typedef struct {
  float *dinp;
  const float *dout, *inp, *w, *rstd;
  long N, C, per;
  double *part; /* [nchunks][C] */
} rms_bwd_ctx;

static void rms_bwd_chunk(void *vc, long ch) {
  rms_bwd_ctx *c = (rms_bwd_ctx *)vc;
  long C = c->C;
  double *pw = c->part + (size_t)ch * C;
  for (long i = 0; i < C; i++) pw[i] = 0.0;
  long s = ch * c->per, e = s + c->per < c->N ? s + c->per : c->N;
  const float *w = c->w;
  for (long n = s; n < e; n++) {
    const float *x = c->inp + n * C, *d = c->dout + n * C;
    float r = c->rstd[n];
    double sgx = 0.0;
#pragma omp simd reduction(+ : sgx)
    for (long i = 0; i < C; i++) sgx += (double)(d[i] * w[i] * (x[i] * r));
    float mgx = (float)(sgx / (double)C);
    float *di = c->dinp + n * C;
#pragma omp simd
    for (long i = 0; i < C; i++) {
      float xhat = x[i] * r;
      di[i] += r * (d[i] * w[i] - xhat * mgx);
      pw[i] += (double)(d[i] * xhat);
    }
  }
}

int lm_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                        const float *rstd, long N, long C) {
  if (N <= 0 || C <= 0) return 0;
  long nch = lm_nchunks(N, min_rows(C));
  long per = (N + nch - 1) / nch;
  nch = (N + per - 1) / per;
  double *part = (double *)lm_scratch(LM_SLOT_RED, sizeof(double) * (size_t)nch * (size_t)C);
  if (!part) return LM_ENOMEM;
  rms_bwd_ctx c = {dinp, dout, inp, w, rstd, N, C, per, part};
  lm_parallel(nch, rms_bwd_chunk, &c);
  for (long i = 0; i < C; i++) {
    double sw = 0.0;
    for (long t = 0; t < nch; t++) sw += part[(size_t)t * C + i];
    dw[i] = (float)((double)dw[i] + sw);
  }
  return 0;
}

/* ------------------------------------------------------------------ activations */
#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f
#define INV_SQRT_2PI 0.3989422804014327f

typedef struct {
  float *out;       /* out, dinp, dgate */
  float *out2;      /* dup */
  const float *a;   /* inp, gate */
  const float *b;   /* dout (gelu bwd), up (swiglu) */
  const float *d;   /* dout (swiglu bwd) */
  int kind;
} act_ctx;

static void gelu_fwd_range(void *vc, long s, long e) {
  act_ctx *c = (act_ctx *)vc;
  float *out = c->out;
  const float *inp = c->a;
  if (c->kind == 1) {
#pragma omp simd
    for (long i = s; i < e; i++) {
      float x = inp[i];
      float u = GELU_K * (x + GELU_C * x * x * x);
      out[i] = x * lm_sigmoidf(2.0f * u); /* 0.5 x (1 + tanh u) = x sigmoid(2u) */
    }
  } else {
#pragma omp simd
    for (long i = s; i < e; i++) {
      float x = inp[i];
      out[i] = x * lm_Phi(x);
    }
  }
}

static void gelu_bwd_range(void *vc, long s, long e) {
  act_ctx *c = (act_ctx *)vc;
  float *dinp = c->out;
  const float *inp = c->a, *dout = c->b;
  if (c->kind == 1) {
#pragma omp simd
    for (long i = s; i < e; i++) {
      float x = inp[i];
      float u = GELU_K * (x + GELU_C * x * x * x);
      float sg = lm_sigmoidf(2.0f * u); /* (1 + tanh u) / 2 */
      /* 0.5 (1 + t) + 0.5 x (1 - t^2) u' with 1 + t = 2 sg, 1 - t^2 = 4 sg (1 - sg) */
      float grad = sg + 2.0f * x * sg * (1.0f - sg) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
      dinp[i] += grad * dout[i];
    }
  } else {
#pragma omp simd
    for (long i = s; i < e; i++) {
      float x = inp[i];
      float grad = lm_Phi(x) + x * INV_SQRT_2PI * lm_expf(-0.5f * x * x);
      dinp[i] += grad * dout[i];
    }
  }
}

void lm_gelu_forward(float *out, const float *inp, long n, int kind) {
  act_ctx c = {out, NULL, inp, NULL, NULL, kind};
  lm_parallel_range(n, LM_PAR_MIN, gelu_fwd_range, &c);
}

void lm_gelu_backward(float *dinp, const float *inp, const float *dout, long n, int kind) {
  act_ctx c = {dinp, NULL, inp, dout, NULL, kind};
  lm_parallel_range(n, LM_PAR_MIN, gelu_bwd_range, &c);
}

static void swiglu_fwd_range(void *vc, long s, long e) {
  act_ctx *c = (act_ctx *)vc;
  float *out = c->out;
  const float *gate = c->a, *up = c->b;
#pragma omp simd
  for (long i = s; i < e; i++) {
    float g = gate[i];
    out[i] = g * lm_sigmoidf(g) * up[i];
  }
}

static void swiglu_bwd_range(void *vc, long s, long e) {
  act_ctx *c = (act_ctx *)vc;
  float *dgate = c->out, *dup = c->out2;
  const float *gate = c->a, *up = c->b, *dout = c->d;
#pragma omp simd
  for (long i = s; i < e; i++) {
    float g = gate[i];
    float sg = lm_sigmoidf(g);
    float d = dout[i];
    dgate[i] += d * up[i] * sg * (1.0f + g * (1.0f - sg));
    dup[i] += d * g * sg;
  }
}

void lm_swiglu_forward(float *out, const float *gate, const float *up, long n) {
  act_ctx c = {out, NULL, gate, up, NULL, 0};
  lm_parallel_range(n, LM_PAR_MIN, swiglu_fwd_range, &c);
}

void lm_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n) {
  act_ctx c = {dgate, dup, gate, up, dout, 0};
  lm_parallel_range(n, LM_PAR_MIN, swiglu_bwd_range, &c);
}

/* ------------------------------------------------------------------ rotary */
/* cached cos/sin table on the calling thread: tab[pos * rot + i] = cos, tab[pos * rot + half + i] = sin */
static __thread float *rope_tab = NULL;
static __thread long rope_npos = 0;
static __thread int rope_rot = 0;
static __thread double rope_base = 0.0;

static void rope_fill(float *tab, int rot, double base, long p0, long p1, long row0) {
  int half = rot / 2;
  for (int i = 0; i < half; i++) {
    double inv = pow(base, (-2.0 * i) / (double)rot);
    for (long p = p0; p < p1; p++) {
      double a = (double)p * inv;
      tab[(p - row0) * rot + i] = (float)cos(a);
      tab[(p - row0) * rot + half + i] = (float)sin(a);
    }
  }
}

/* returns a table whose row 0 is position `first` */
static const float *rope_table(int rot, double base, long pos0, long T, long *first) {
  long need = pos0 + T;
  if (need > (1L << 16)) { /* far positions: compute just these rows */
    float *t = (float *)lm_scratch(LM_SLOT_ROPE, sizeof(float) * (size_t)T * rot);
    if (!t) return NULL;
    rope_fill(t, rot, base, pos0, pos0 + T, pos0);
    *first = pos0;
    return t;
  }
  *first = 0;
  if (rope_tab && rope_rot == rot && rope_base == base && rope_npos >= need) return rope_tab;
  long np = need;
  if (rope_tab && rope_rot == rot && rope_base == base && 2 * rope_npos > np) np = 2 * rope_npos;
  if (np < 256) np = 256;
  float *t = (float *)malloc(sizeof(float) * (size_t)np * rot);
  if (!t) return NULL;
  rope_fill(t, rot, base, 0, np, 0);
  free(rope_tab);
  rope_tab = t;
  rope_npos = np;
  rope_rot = rot;
  rope_base = base;
  return t;
}

typedef struct {
  float *x;
  const float *tab;
  long first, pos0, T, R;
  int heads, D, half;
  float sg;
} rope_ctx;

static void rope_rows(void *vc, long s, long e) {
  rope_ctx *c = (rope_ctx *)vc;
  int half = c->half;
  for (long bt = s; bt < e; bt++) {
    long t = bt % c->T;
    const float *cs = c->tab + (c->pos0 + t - c->first) * 2 * half, *sn = cs + half;
    float *tok = c->x + bt * c->R;
    for (int hh = 0; hh < c->heads; hh++) {
      float *o = tok + (long)hh * c->D;
#pragma omp simd
      for (int i = 0; i < half; i++) {
        float co = cs[i], si = c->sg * sn[i];
        float x1 = o[i], x2 = o[i + half];
        o[i] = x1 * co - x2 * si;
        o[i + half] = x2 * co + x1 * si;
      }
    }
  }
}

int lm_rotary(float *x, int B, int T, int H, int KV, int D, int rot, double base, long pos0, int dir) {
  if (B <= 0 || T <= 0 || rot <= 0) return 0;
  long first;
  const float *tab = rope_table(rot, base, pos0, T, &first);
  if (!tab) return LM_ENOMEM;
  rope_ctx c = {x, tab, first, pos0, T, (long)(H + 2 * KV) * D, H + KV, D, rot / 2, dir >= 0 ? 1.0f : -1.0f};
  lm_parallel_range((long)B * T, min_rows((long)(H + KV) * rot), rope_rows, &c);
  return 0;
}

/* ------------------------------------------------------------------ loss */
/* max and sum of exp(x - max) (in double) of one row */
static inline void row_stats(const float *x, long V, float *mx, double *sum) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (long v = 0; v < V; v++) m = x[v] > m ? x[v] : m;
  *mx = m;
  if (m == -INFINITY || m == INFINITY) {
    *sum = 1.0;
    return;
  }
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (long v = 0; v < V; v++) s += (double)lm_expf(x[v] - m);
  *sum = s;
}

typedef struct {
  float *out; /* losses, dlogits, out */
  const float *logits, *dloss;
  const int32_t *targets;
  long V;
} ce_ctx;

static void ce_fwd_rows(void *vc, long s, long e) {
  ce_ctx *c = (ce_ctx *)vc;
  for (long n = s; n < e; n++) {
    int32_t t = c->targets[n];
    if (t < 0) {
      c->out[n] = 0.0f;
      continue;
    }
    const float *x = c->logits + n * c->V;
    float m;
    double sum;
    row_stats(x, c->V, &m, &sum);
    c->out[n] = (float)(((double)m - (double)x[t]) + log(sum));
  }
}

static void ce_bwd_rows(void *vc, long s, long e) {
  ce_ctx *c = (ce_ctx *)vc;
  long V = c->V;
  for (long n = s; n < e; n++) {
    int32_t t = c->targets[n];
    if (t < 0) continue;
    const float *x = c->logits + n * V;
    float *d = c->out + n * V;
    float m;
    double sum;
    row_stats(x, V, &m, &sum);
    float g = c->dloss[n];
    float gs = (float)((double)g / sum);
#pragma omp simd
    for (long v = 0; v < V; v++) d[v] += gs * lm_expf(x[v] - m);
    d[t] -= g;
  }
}

static void logsoftmax_rows(void *vc, long s, long e) {
  ce_ctx *c = (ce_ctx *)vc;
  long V = c->V;
  for (long n = s; n < e; n++) {
    const float *x = c->logits + n * V;
    float *o = c->out + n * V;
    float m;
    double sum;
    row_stats(x, V, &m, &sum);
    float ls = (float)log(sum);
#pragma omp simd
    for (long v = 0; v < V; v++) o[v] = (x[v] - m) - ls;
  }
}

void lm_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, long N, long V) {
  ce_ctx c = {losses, logits, NULL, targets, V};
  lm_parallel_range(N, min_rows(V), ce_fwd_rows, &c);
}

void lm_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, const float *dloss,
                              long N, long V) {
  ce_ctx c = {dlogits, logits, dloss, targets, V};
  lm_parallel_range(N, min_rows(V), ce_bwd_rows, &c);
}

void lm_log_softmax(float *out, const float *logits, long N, long V) {
  ce_ctx c = {out, logits, NULL, NULL, V};
  lm_parallel_range(N, min_rows(V), logsoftmax_rows, &c);
}

/* ------------------------------------------------------------------ elementwise, reductions */
typedef struct {
  float *out;
  const float *a, *b;
} ew_ctx;

static void add_range(void *vc, long s, long e) {
  ew_ctx *c = (ew_ctx *)vc;
  float *out = c->out;
  const float *a = c->a, *b = c->b;
#pragma omp simd
  for (long i = s; i < e; i++) out[i] = a[i] + b[i];
}

static void acc_range(void *vc, long s, long e) {
  ew_ctx *c = (ew_ctx *)vc;
  float *dst = c->out;
  const float *src = c->a;
#pragma omp simd
  for (long i = s; i < e; i++) dst[i] += src[i];
}

void lm_add(float *out, const float *a, const float *b, long n) {
  ew_ctx c = {out, a, b};
  lm_parallel_range(n, LM_PAR_MIN, add_range, &c);
}

void lm_accumulate(float *dst, const float *src, long n) {
  ew_ctx c = {dst, src, NULL};
  lm_parallel_range(n, LM_PAR_MIN, acc_range, &c);
}

typedef struct {
  const float *x;
  long n, per;
  double *part;
  int *bad;
} red_ctx;

static void sumsq_chunk(void *vc, long ch) {
  red_ctx *c = (red_ctx *)vc;
  long s = ch * c->per, e = s + c->per < c->n ? s + c->per : c->n;
  const float *x = c->x;
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (long i = s; i < e; i++) sum += (double)x[i] * (double)x[i];
  c->part[ch] = sum;
}

int lm_sum_squares(const float *x, long n, double *result) {
  *result = 0.0;
  if (n <= 0) return 0;
  long nch = lm_nchunks(n, 4 * LM_PAR_MIN);
  long per = (n + nch - 1) / nch;
  nch = (n + per - 1) / per;
  double *part = (double *)lm_scratch(LM_SLOT_RED, sizeof(double) * (size_t)nch);
  if (!part) return LM_ENOMEM;
  red_ctx c = {x, n, per, part, NULL};
  lm_parallel(nch, sumsq_chunk, &c);
  double s = 0.0;
  for (long t = 0; t < nch; t++) s += part[t];
  *result = s;
  return 0;
}

static void finite_chunk(void *vc, long ch) {
  red_ctx *c = (red_ctx *)vc;
  long s = ch * c->per, e = s + c->per < c->n ? s + c->per : c->n;
  const uint32_t *u = (const uint32_t *)c->x;
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (long i = s; i < e; i++) bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
  c->bad[ch] = bad;
}

int lm_all_finite(const float *x, long n) {
  if (n <= 0) return 1;
  long nch = lm_nchunks(n, 4 * LM_PAR_MIN);
  long per = (n + nch - 1) / nch;
  nch = (n + per - 1) / per;
  int *bad = (int *)lm_scratch(LM_SLOT_RED, sizeof(int) * (size_t)nch);
  if (!bad) { /* fall back to a serial scan */
    const uint32_t *u = (const uint32_t *)x;
    for (long i = 0; i < n; i++)
      if ((u[i] & 0x7f800000u) == 0x7f800000u) return 0;
    return 1;
  }
  red_ctx c = {x, n, per, NULL, bad};
  lm_parallel(nch, finite_chunk, &c);
  for (long t = 0; t < nch; t++)
    if (bad[t]) return 0;
  return 1;
}

/* ------------------------------------------------------------------ AdamW (PyTorch semantics, see backend.ts) */
typedef struct {
  float *p, *m, *v;
  const float *g;
  float b1, b2, ob1, ob2, stepSize, invBc2Sqrt, eps, decay, gs;
} adamw_ctx;

static void adamw_range(void *vc, long s, long e) {
  adamw_ctx *c = (adamw_ctx *)vc;
  float *p = c->p, *m = c->m, *v = c->v;
  const float *g = c->g;
  const float b1 = c->b1, b2 = c->b2, ob1 = c->ob1, ob2 = c->ob2, stepSize = c->stepSize;
  const float invBc2Sqrt = c->invBc2Sqrt, eps = c->eps, decay = c->decay, gs = c->gs;
#pragma omp simd
  for (long i = s; i < e; i++) {
    float gi = g[i] * gs;
    float mi = b1 * m[i] + ob1 * gi;
    float vi = b2 * v[i] + ob2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) * invBc2Sqrt + eps;
    p[i] = p[i] * decay - stepSize * mi / denom;
  }
}

void lm_adamw(float *p, const float *g, float *m, float *v, long n, double lr, double beta1, double beta2,
              double eps, double wd, double step, double gradScale) {
  double bc1 = 1.0 - pow(beta1, step);
  double bc2 = 1.0 - pow(beta2, step);
  adamw_ctx c = {p, m, v, g, (float)beta1, (float)beta2, (float)(1.0 - beta1), (float)(1.0 - beta2),
                 (float)(lr / bc1), (float)(1.0 / sqrt(bc2)), (float)eps, (float)(1.0 - lr * wd), (float)gradScale};
  lm_parallel_range(n, LM_PAR_MIN, adamw_range, &c);
}
