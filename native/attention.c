/*
 * Causal grouped-query attention with an optional learnable k'/v' slot (Sun et al. 2024), forward,
 * backward and KV-cache decode.
 *
 * Layouts (as src/engine/backend.ts): qkv[B, T, R] with R = (H + 2 KV) D: query head h at column h D, key
 * head g at (H + g) D, value head g at (H + KV + g) D. out[B, T, H D]. att[B, H, T, L] with L = T + e,
 * e = 1 when the k'/v' slot is present (column T); masked entries are 0. Query head h reads kv head
 * h / (H / KV); k'/v' are per query head ([H, D]).
 *
 * Each (b, h) is one pool chunk; inside a chunk the score / weighted-sum products are single-threaded GEMMs
 * on strided views of qkv (no copies), blocked by TB query rows so that only the causal lower triangle
 * (plus the diagonal blocks) is computed.
 *
 * forward, per (b, h):   S = scale Q K^T (causal), P = softmax(S with slot), out = P V + p_slot v'
 * backward, per (b, g):  for each query head h of group g:
 *   dP = dO V^T (+ slot dO . v');  dS = P * (dP - rowsum(P * dP));
 *   dQ += scale dS K (+ scale dS_slot k');  dK += scale dS^T Q;  dV += P^T dO;
 *   dk' += scale sum_t dS_slot q_t;  dv' += sum_t P_slot dO_t.
 */
#include "kernels.h"
#include "mathf.h"

#include "pool.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define TB 64 /* query/key block of the causal blocking */

static inline float dotf(const float *a, const float *b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* softmax of row a[0..nvis) and (slot) a[slot] in place; zero a[nvis..nzero). slot < 0: no slot.
 * Sum in float with 8+ independent lanes (rows are at most a few thousand long). */
static inline void softmax_row(float *a, int nvis, int nzero, int slot) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int j = 0; j < nvis; j++) m = a[j] > m ? a[j] : m;
  if (slot >= 0 && a[slot] > m) m = a[slot];
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int j = 0; j < nvis; j++) {
    float p = lm_expf(a[j] - m);
    a[j] = p;
    s += p;
  }
  float ps = 0.0f;
  if (slot >= 0) {
    ps = lm_expf(a[slot] - m);
    s += ps;
  }
  float inv = 1.0f / s;
#pragma omp simd
  for (int j = 0; j < nvis; j++) a[j] *= inv;
  if (nzero > nvis) memset(a + nvis, 0, sizeof(float) * (size_t)(nzero - nvis));
  if (slot >= 0) a[slot] = ps * inv;
}

/* ------------------------------------------------------------------ forward */
typedef struct {
  float *out, *att;
  const float *qkv, *kb, *vb;
  int T, H, KV, D, e;
  _Atomic int err;
} attf_ctx;

static void attf_task(void *vc, long task) {
  attf_ctx *c = (attf_ctx *)vc;
  const int T = c->T, H = c->H, KV = c->KV, D = c->D, e = c->e;
  const long L = T + e, R = (long)(H + 2 * KV) * D, HD = (long)H * D;
  const float scale = (float)(1.0 / sqrt((double)D));
  int b = (int)(task / H), h = (int)(task % H), g = h / (H / KV);
  const float *Q = c->qkv + (long)b * T * R + (long)h * D;
  const float *K = c->qkv + (long)b * T * R + (long)(H + g) * D;
  const float *V = c->qkv + (long)b * T * R + (long)(H + KV + g) * D;
  float *A = c->att + (long)(b * H + h) * T * L;
  float *O = c->out + (long)b * T * HD + (long)h * D;
  int r = 0;
  for (int r0 = 0; r0 < T; r0 += TB) {
    int r1 = r0 + TB < T ? r0 + TB : T;
    r |= lm_gemm_st(0, 1, r1 - r0, r1, D, scale, Q + r0 * R, R, K, R, 0.0f, A + r0 * L, L);
  }
  for (int t = 0; t < T; t++) {
    float *a = A + t * L;
    if (e) a[T] = scale * dotf(Q + t * R, c->kb + (long)h * D, D);
    softmax_row(a, t + 1, T, e ? T : -1);
  }
  for (int r0 = 0; r0 < T; r0 += TB) {
    int r1 = r0 + TB < T ? r0 + TB : T;
    r |= lm_gemm_st(0, 0, r1 - r0, D, r1, 1.0f, A + r0 * L, L, V, R, 0.0f, O + r0 * HD, HD);
  }
  if (e) {
    const float *vh = c->vb + (long)h * D;
    for (int t = 0; t < T; t++) {
      float p = A[t * L + T];
      float *o = O + t * HD;
#pragma omp simd
      for (int d = 0; d < D; d++) o[d] += p * vh[d];
    }
  }
  if (r) c->err = r;
}

int lm_attention_forward(float *out, float *att, const float *qkv, const float *kb, const float *vb,
                         int B, int T, int H, int KV, int D) {
  if (B <= 0 || T <= 0 || H <= 0) return 0;
  attf_ctx c = {out, att, qkv, kb, vb, T, H, KV, D, kb ? 1 : 0, 0};
  lm_par_begin();
  lm_parallel((long)B * H, attf_task, &c);
  lm_par_end();
  return c.err;
}

/* ------------------------------------------------------------------ backward */
typedef struct {
  float *dqkv;
  const float *dout, *qkv, *att, *kb, *vb;
  int T, H, KV, D, e;
  float *part; /* per task (b, g): [G][2][D] partial dk', dv' (NULL when not wanted) */
  _Atomic int err;
} attb_ctx;

static void attb_task(void *vc, long task) {
  attb_ctx *c = (attb_ctx *)vc;
  const int T = c->T, H = c->H, KV = c->KV, D = c->D, e = c->e, G = H / KV;
  const long L = T + e, R = (long)(H + 2 * KV) * D, HD = (long)H * D;
  const float scale = (float)(1.0 / sqrt((double)D));
  float *dS = (float *)lm_scratch(LM_SLOT_ATT, sizeof(float) * (size_t)T * L);
  if (!dS) {
    c->err = LM_ENOMEM;
    return;
  }
  int b = (int)(task / KV), g = (int)(task % KV);
  const float *base = c->qkv + (long)b * T * R;
  float *dbase = c->dqkv + (long)b * T * R;
  const float *K = base + (long)(H + g) * D, *V = base + (long)(H + KV + g) * D;
  float *dK = dbase + (long)(H + g) * D, *dV = dbase + (long)(H + KV + g) * D;
  float *part = c->part ? c->part + (size_t)task * G * 2 * D : NULL;
  if (part) memset(part, 0, sizeof(float) * (size_t)G * 2 * D);
  int r = 0;
  for (int h = g * G; h < (g + 1) * G; h++) {
    const float *Q = base + (long)h * D;
    float *dQ = dbase + (long)h * D;
    const float *A = c->att + (long)(b * H + h) * T * L;
    const float *dO = c->dout + (long)b * T * HD + (long)h * D;
    float *pk = part ? part + (size_t)(h - g * G) * 2 * D : NULL, *pv = pk ? pk + D : NULL;
    /* dP[t, j] = dO_t . v_j for j <= block end */
    for (int r0 = 0; r0 < T; r0 += TB) {
      int r1 = r0 + TB < T ? r0 + TB : T;
      r |= lm_gemm_st(0, 1, r1 - r0, r1, D, 1.0f, dO + r0 * HD, HD, V, R, 0.0f, dS + r0 * L, L);
    }
    /* softmax backward, row by row; entries above the diagonal inside the diagonal block set to 0 */
    for (int t = 0; t < T; t++) {
      const float *a = A + t * L;
      float *ds = dS + t * L;
      int bend = (t / TB + 1) * TB < T ? (t / TB + 1) * TB : T;
      float dpSlot = e ? dotf(dO + t * HD, c->vb + (long)h * D, D) : 0.0f;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (int j = 0; j <= t; j++) dot += a[j] * ds[j];
      if (e) dot += a[T] * dpSlot;
#pragma omp simd
      for (int j = 0; j <= t; j++) ds[j] = a[j] * (ds[j] - dot);
      if (bend > t + 1) memset(ds + t + 1, 0, sizeof(float) * (size_t)(bend - t - 1));
      if (e) {
        float dsl = a[T] * (dpSlot - dot);
        ds[T] = dsl;
        float cs = scale * dsl;
        const float *kh = c->kb + (long)h * D;
        float *dq = dQ + t * R;
#pragma omp simd
        for (int d = 0; d < D; d++) dq[d] += cs * kh[d];
        if (pk) {
          const float *q = Q + t * R;
          float pa = a[T];
          const float *go = dO + t * HD;
#pragma omp simd
          for (int d = 0; d < D; d++) {
            pk[d] += cs * q[d];
            pv[d] += pa * go[d];
          }
        }
      }
    }
    /* dQ[rows] += scale dS[rows, 0:r1] K[0:r1] */
    for (int r0 = 0; r0 < T; r0 += TB) {
      int r1 = r0 + TB < T ? r0 + TB : T;
      r |= lm_gemm_st(0, 0, r1 - r0, D, r1, scale, dS + r0 * L, L, K, R, 1.0f, dQ + r0 * R, R);
    }
    /* dK[keys] += scale dS[c0:T, keys]^T Q[c0:T];  dV[keys] += P[c0:T, keys]^T dO[c0:T] */
    for (int c0 = 0; c0 < T; c0 += TB) {
      int c1 = c0 + TB < T ? c0 + TB : T;
      r |= lm_gemm_st(1, 0, c1 - c0, D, T - c0, scale, dS + c0 * L + c0, L, Q + c0 * R, R, 1.0f, dK + c0 * R, R);
      r |= lm_gemm_st(1, 0, c1 - c0, D, T - c0, 1.0f, A + c0 * L + c0, L, dO + c0 * HD, HD, 1.0f, dV + c0 * R, R);
    }
  }
  if (r) c->err = r;
}

int lm_attention_backward(float *dqkv, float *dkb, float *dvb, const float *dout, const float *qkv,
                          const float *att, const float *kb, const float *vb, int B, int T, int H, int KV, int D) {
  if (B <= 0 || T <= 0 || H <= 0) return 0;
  const int e = kb ? 1 : 0, G = H / KV;
  const long ntask = (long)B * KV;
  float *part = NULL;
  if (e && (dkb || dvb)) {
    part = (float *)lm_scratch(LM_SLOT_RED, sizeof(float) * (size_t)ntask * G * 2 * D);
    if (!part) return LM_ENOMEM;
  }
  attb_ctx c = {dqkv, dout, qkv, att, kb, vb, T, H, KV, D, e, part, 0};
  lm_par_begin();
  lm_parallel(ntask, attb_task, &c);
  lm_par_end();
  if (part && !c.err) {
    /* k'/v' gradients of head h = g G + i: sum over b of the task (b, g) partials, in b order */
    for (int h = 0; h < H; h++) {
      int g = h / G, i = h % G;
      for (int d = 0; d < D; d++) {
        float sk = 0.0f, sv = 0.0f;
        for (int b = 0; b < B; b++) {
          const float *p = part + ((size_t)(b * KV + g) * G + i) * 2 * D;
          sk += p[d];
          sv += p[D + d];
        }
        if (dkb) dkb[(long)h * D + d] += sk;
        if (dvb) dvb[(long)h * D + d] += sv;
      }
    }
  }
  return c.err;
}

/* ------------------------------------------------------------------ decode */
typedef struct {
  float *out, *att;
  const float *qkv, *kc, *vc, *kb, *vb;
  int Tn, H, KV, D, e, pos0, Tmax;
  _Atomic int err;
} attd_ctx;

static void attd_task(void *vc_, long task) {
  attd_ctx *c = (attd_ctx *)vc_;
  const int Tn = c->Tn, H = c->H, KV = c->KV, D = c->D, e = c->e, pos0 = c->pos0;
  const int Tk = pos0 + Tn;
  const long L = Tk + e, R = (long)(H + 2 * KV) * D, HD = (long)H * D;
  const float scale = (float)(1.0 / sqrt((double)D));
  int b = (int)(task / H), h = (int)(task % H), g = h / (H / KV);
  const float *Q = c->qkv + (long)b * Tn * R + (long)h * D;
  const float *Kc = c->kc + (long)(b * KV + g) * c->Tmax * D;
  const float *Vc = c->vc + (long)(b * KV + g) * c->Tmax * D;
  float *O = c->out + (long)b * Tn * HD + (long)h * D;
  float *A = c->att ? c->att + (long)(b * H + h) * Tn * L : (float *)lm_scratch(LM_SLOT_ATT, sizeof(float) * (size_t)Tn * L);
  if (!A) {
    c->err = LM_ENOMEM;
    return;
  }
  int r = 0;
  /* row block [r0, r1) sees keys 0 .. pos0 + r1 - 1 */
  for (int r0 = 0; r0 < Tn; r0 += TB) {
    int r1 = r0 + TB < Tn ? r0 + TB : Tn;
    r |= lm_gemm_st(0, 1, r1 - r0, pos0 + r1, D, scale, Q + r0 * R, R, Kc, D, 0.0f, A + r0 * L, L);
  }
  for (int t = 0; t < Tn; t++) {
    float *a = A + t * L;
    if (e) a[Tk] = scale * dotf(Q + t * R, c->kb + (long)h * D, D);
    softmax_row(a, pos0 + t + 1, Tk, e ? Tk : -1);
  }
  for (int r0 = 0; r0 < Tn; r0 += TB) {
    int r1 = r0 + TB < Tn ? r0 + TB : Tn;
    r |= lm_gemm_st(0, 0, r1 - r0, D, pos0 + r1, 1.0f, A + r0 * L, L, Vc, D, 0.0f, O + r0 * HD, HD);
  }
  if (e) {
    const float *vh = c->vb + (long)h * D;
    for (int t = 0; t < Tn; t++) {
      float p = A[t * L + Tk];
      float *o = O + t * HD;
#pragma omp simd
      for (int d = 0; d < D; d++) o[d] += p * vh[d];
    }
  }
  if (r) c->err = r;
}

int lm_attention_decode(float *out, float *att, const float *qkv, float *kc, float *vc, const float *kb,
                        const float *vb, int B, int Tn, int H, int KV, int D, int pos0, int Tmax) {
  if (B <= 0 || Tn <= 0 || H <= 0) return 0;
  const long R = (long)(H + 2 * KV) * D;
  /* append the new keys / values to the cache */
  for (int b = 0; b < B; b++)
    for (int t = 0; t < Tn; t++) {
      const float *tok = qkv + (long)(b * Tn + t) * R;
      for (int g = 0; g < KV; g++) {
        long o = ((long)(b * KV + g) * Tmax + pos0 + t) * D;
        memcpy(kc + o, tok + (long)(H + g) * D, sizeof(float) * (size_t)D);
        memcpy(vc + o, tok + (long)(H + KV + g) * D, sizeof(float) * (size_t)D);
      }
    }
  attd_ctx c = {out, att, qkv, kc, vc, kb, vb, Tn, H, KV, D, kb ? 1 : 0, pos0, Tmax, 0};
  long ntask = (long)B * H;
  if ((long)Tn * (pos0 + Tn) * D * ntask < (1L << 16)) { /* tiny (one-token decode of a short prefix) */
    for (long t = 0; t < ntask; t++) attd_task(&c, t);
    return c.err;
  }
  lm_par_begin();
  lm_parallel(ntask, attd_task, &c);
  lm_par_end();
  return c.err;
}
