/*
 * N-API glue of the lmlab native backend: argument validation (types, integer ranges, minimum buffer
 * lengths — a kernel never reads or writes outside the typed arrays it is given) and dispatch to the kernels.
 * Errors are thrown as instances of the BackendError class registered by setErrorClass() (plain Error
 * before that). Typed arrays may be subarray views: N-API hands us the data pointer already offset.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "fit.h"

#define MAX_ARGS 16
#define MAX_SAFE 9007199254740991.0 /* 2^53 - 1 */

typedef struct {
  napi_ref errorCtor;
} lm_instance;

typedef struct {
  napi_env env;
  const char *kernel;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int failed;
} ctx_t;

/* ------------------------------------------------------------------ errors */
static void throw_msg(napi_env env, const char *msg) {
  lm_instance *inst = NULL;
  napi_get_instance_data(env, (void **)&inst);
  napi_value ctor = NULL, str, err;
  if (inst && inst->errorCtor) napi_get_reference_value(env, inst->errorCtor, &ctor);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &str);
  if (ctor && napi_new_instance(env, ctor, 1, &str, &err) == napi_ok) {
    napi_throw(env, err);
  } else {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    napi_throw_error(env, NULL, msg);
  }
}

static void fail(ctx_t *c, const char *fmt, ...) {
  if (c->failed) return;
  char buf[512];
  int n = snprintf(buf, sizeof buf, "native.%s: ", c->kernel);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  c->failed = 1;
  throw_msg(c->env, buf);
}

static int begin(ctx_t *c, napi_env env, napi_callback_info info, const char *kernel, size_t want) {
  c->env = env;
  c->kernel = kernel;
  c->failed = 0;
  c->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) {
    fail(c, "could not read the arguments");
    return 0;
  }
  if (c->argc < want) {
    fail(c, "expected %zu arguments, got %zu", want, c->argc);
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ argument readers */
static int is_null(ctx_t *c, int i) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  return t == napi_null || t == napi_undefined;
}

/* a non-negative integer (exact, <= 2^53) */
static long arg_int(ctx_t *c, int i, const char *name) {
  if (c->failed) return 0;
  double d;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) {
    fail(c, "%s must be a number", name);
    return 0;
  }
  if (!(d >= 0.0) || d > MAX_SAFE || d != floor(d)) {
    fail(c, "%s must be a non-negative integer, got %g", name, d);
    return 0;
  }
  return (long)d;
}

/* a non-negative integer that fits a C int (GEMM dimensions, head counts) */
static int arg_dim(ctx_t *c, int i, const char *name) {
  long v = arg_int(c, i, name);
  if (!c->failed && v > INT_MAX) fail(c, "%s = %ld is too large (max %d)", name, v, INT_MAX);
  return (int)v;
}

static double arg_num(ctx_t *c, int i, const char *name) {
  if (c->failed) return 0;
  double d;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) {
    fail(c, "%s must be a number", name);
    return 0;
  }
  return d;
}

static int arg_bool(ctx_t *c, int i, const char *name) {
  if (c->failed) return 0;
  bool b;
  if (napi_get_value_bool(c->env, c->argv[i], &b) != napi_ok) {
    fail(c, "%s must be a boolean", name);
    return 0;
  }
  return b ? 1 : 0;
}

static void *typed(ctx_t *c, int i, const char *name, napi_typedarray_type want, const char *wantName, size_t need,
                   int nullable, size_t *lenOut) {
  if (c->failed) return NULL;
  if (is_null(c, i)) {
    if (!nullable) fail(c, "%s must be a %s, got null", name, wantName);
    if (lenOut) *lenOut = 0;
    return NULL;
  }
  bool isTa = false;
  napi_is_typedarray(c->env, c->argv[i], &isTa);
  if (!isTa) {
    fail(c, "%s must be a %s%s", name, wantName, want == napi_float32_array ? " (the native backend is float32 only)" : "");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, &ab, &offset) != napi_ok) {
    fail(c, "could not read %s", name);
    return NULL;
  }
  if (type != want) {
    fail(c, "%s must be a %s%s", name, wantName, want == napi_float32_array ? " (the native backend is float32 only)" : "");
    return NULL;
  }
  if (length < need) {
    fail(c, "%s has %zu elements, expected at least %zu", name, length, need);
    return NULL;
  }
  if (lenOut) *lenOut = length;
  return data;
}

static float *arg_f32(ctx_t *c, int i, const char *name, size_t need) {
  return (float *)typed(c, i, name, napi_float32_array, "Float32Array", need, 0, NULL);
}
static float *arg_f32_opt(ctx_t *c, int i, const char *name, size_t need) {
  return (float *)typed(c, i, name, napi_float32_array, "Float32Array", need, 1, NULL);
}

/* product of sizes, failing on overflow of size_t */
static size_t mul(ctx_t *c, size_t a, size_t b) {
  size_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    fail(c, "buffer size overflows");
    return 0;
  }
  return r;
}
static size_t mul3(ctx_t *c, size_t a, size_t b, size_t d) { return mul(c, mul(c, a, b), d); }
static size_t mul4(ctx_t *c, size_t a, size_t b, size_t d, size_t e) { return mul(c, mul3(c, a, b, d), e); }

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value done(ctx_t *c, int rc) {
  if (rc == LM_ENOMEM) fail(c, "out of memory for scratch buffers");
  else if (rc) fail(c, "kernel failed (code %d)", rc);
  return undef(c->env);
}

/* ------------------------------------------------------------------ setup / info */
static void finalize_instance(napi_env env, void *data, void *hint) {
  (void)hint;
  lm_instance *inst = (lm_instance *)data;
  if (inst->errorCtor) napi_delete_reference(env, inst->errorCtor);
  free(inst);
}

static napi_value SetErrorClass(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "setErrorClass", 1)) return NULL;
  napi_valuetype t;
  napi_typeof(env, c.argv[0], &t);
  if (t != napi_function) {
    fail(&c, "expected a constructor");
    return NULL;
  }
  lm_instance *inst = NULL;
  napi_get_instance_data(env, (void **)&inst);
  if (inst->errorCtor) napi_delete_reference(env, inst->errorCtor);
  napi_create_reference(env, c.argv[0], 1, &inst->errorCtor);
  return undef(env);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value v;
  napi_create_string_utf8(env, val ? val : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}
static void set_int(napi_env env, napi_value obj, const char *key, int val) {
  napi_value v;
  napi_create_int32(env, val, &v);
  napi_set_named_property(env, obj, key, v);
}

static const char *mode_name(lm_gemm_mode m) {
  switch (m) {
    case LM_GEMM_BLAS_SPLIT: return "split";
    case LM_GEMM_BLAS_THREADS: return "threads";
    case LM_GEMM_BUILTIN: return "builtin";
    default: return "auto";
  }
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  napi_create_object(env, &o);
  set_str(env, o, "blas", lm_has_blas() ? "openblas" : "builtin");
  set_str(env, o, "blasConfig", lm_blas_config());
  set_str(env, o, "coreType", lm_blas_corename());
  set_int(env, o, "blasThreads", lm_blas_threads());
  set_int(env, o, "threads", lm_threads());
  set_str(env, o, "gemmMode", mode_name(lm_get_gemm_mode()));
  napi_value simd;
  napi_create_array(env, &simd);
  const char *flags[16];
  int nf = 0;
#ifdef __SSE4_2__
  flags[nf++] = "sse4.2";
#endif
#ifdef __AVX__
  flags[nf++] = "avx";
#endif
#ifdef __AVX2__
  flags[nf++] = "avx2";
#endif
#ifdef __FMA__
  flags[nf++] = "fma";
#endif
#ifdef __AVX512F__
  flags[nf++] = "avx512f";
#endif
#ifdef __ARM_NEON
  flags[nf++] = "neon";
#endif
  for (int i = 0; i < nf; i++) {
    napi_value s;
    napi_create_string_utf8(env, flags[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, simd, (uint32_t)i, s);
  }
  napi_set_named_property(env, o, "simd", simd);
#if defined(__AVX2__) && defined(__FMA__)
  set_str(env, o, "builtinKernel", "avx2-fma 6x16");
#else
  set_str(env, o, "builtinKernel", "portable 6x16");
#endif
  set_str(env, o, "threading", "lmlab pool (pthreads, caller works, no barrier); SIMD via omp simd");
  set_str(env, o, "compiler", __VERSION__);
  return o;
}

/* setGemmMode('auto' | 'split' | 'threads' | 'builtin') -> mode in effect */
static napi_value SetGemmMode(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "setGemmMode", 1)) return NULL;
  char buf[32];
  size_t n;
  if (napi_get_value_string_utf8(env, c.argv[0], buf, sizeof buf, &n) != napi_ok) {
    fail(&c, "mode must be a string");
    return NULL;
  }
  lm_gemm_mode m;
  if (strcmp(buf, "auto") == 0) m = LM_GEMM_AUTO;
  else if (strcmp(buf, "split") == 0) m = LM_GEMM_BLAS_SPLIT;
  else if (strcmp(buf, "threads") == 0) m = LM_GEMM_BLAS_THREADS;
  else if (strcmp(buf, "builtin") == 0) m = LM_GEMM_BUILTIN;
  else {
    fail(&c, "mode must be 'auto', 'split', 'threads' or 'builtin', got '%s'", buf);
    return NULL;
  }
  if (!lm_has_blas() && (m == LM_GEMM_BLAS_SPLIT || m == LM_GEMM_BLAS_THREADS)) {
    fail(&c, "mode '%s' needs OpenBLAS, but this build has the built-in GEMM only", buf);
    return NULL;
  }
  napi_value r;
  napi_create_string_utf8(env, mode_name(lm_set_gemm_mode(m)), NAPI_AUTO_LENGTH, &r);
  return r;
}

/* ------------------------------------------------------------------ GEMM */
/* gemm(transA, transB, M, N, K, alpha, A, B, beta, C, batch, strideA, strideB, strideC) */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "gemm", 14)) return NULL;
  int ta = arg_bool(&c, 0, "transA"), tb = arg_bool(&c, 1, "transB");
  int M = arg_dim(&c, 2, "M"), N = arg_dim(&c, 3, "N"), K = arg_dim(&c, 4, "K");
  double alpha = arg_num(&c, 5, "alpha"), beta = arg_num(&c, 8, "beta");
  int batch = arg_dim(&c, 10, "batch");
  long sA = arg_int(&c, 11, "strideA"), sB = arg_int(&c, 12, "strideB"), sC = arg_int(&c, 13, "strideC");
  if (c.failed) return NULL;
  if (batch == 0 || M == 0 || N == 0) return undef(env);
  size_t nb = (size_t)batch - 1;
  float *A = arg_f32(&c, 6, "A", mul(&c, nb, (size_t)sA) + mul(&c, (size_t)M, (size_t)K));
  float *B = arg_f32(&c, 7, "B", mul(&c, nb, (size_t)sB) + mul(&c, (size_t)K, (size_t)N));
  float *C = arg_f32(&c, 9, "C", mul(&c, nb, (size_t)sC) + mul(&c, (size_t)M, (size_t)N));
  if (c.failed) return NULL;
  return done(&c, lm_gemm_batched(ta, tb, M, N, K, (float)alpha, A, sA, B, sB, (float)beta, C, sC, batch));
}

/* ------------------------------------------------------------------ linear */
/* linearForward(out, inp, w, b|null, N, IC, OC) */
static napi_value LinearForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "linearForward", 7)) return NULL;
  long N = arg_dim(&c, 4, "N"), IC = arg_dim(&c, 5, "IC"), OC = arg_dim(&c, 6, "OC");
  float *out = arg_f32(&c, 0, "out", mul(&c, N, OC));
  float *inp = arg_f32(&c, 1, "inp", mul(&c, N, IC));
  float *w = arg_f32(&c, 2, "w", mul(&c, OC, IC));
  float *b = arg_f32_opt(&c, 3, "b", OC);
  if (c.failed) return NULL;
  return done(&c, lm_linear_forward(out, inp, w, b, N, IC, OC));
}

/* linearBackward(dinp|null, dw, db|null, dout, inp, w, N, IC, OC) */
static napi_value LinearBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "linearBackward", 9)) return NULL;
  long N = arg_dim(&c, 6, "N"), IC = arg_dim(&c, 7, "IC"), OC = arg_dim(&c, 8, "OC");
  float *dinp = arg_f32_opt(&c, 0, "dinp", mul(&c, N, IC));
  float *dw = arg_f32(&c, 1, "dw", mul(&c, OC, IC));
  float *db = arg_f32_opt(&c, 2, "db", OC);
  float *dout = arg_f32(&c, 3, "dout", mul(&c, N, OC));
  float *inp = arg_f32(&c, 4, "inp", mul(&c, N, IC));
  float *w = arg_f32(&c, 5, "w", mul(&c, OC, IC));
  if (c.failed) return NULL;
  return done(&c, lm_linear_backward(dinp, dw, db, dout, inp, w, N, IC, OC));
}

/* ------------------------------------------------------------------ embeddings */
static int check_ids(ctx_t *c, const int32_t *ids, long BT, long rows) {
  for (long n = 0; n < BT; n++) {
    if (ids[n] < 0 || ids[n] >= rows) {
      fail(c, "ids[%ld] = %d is outside the embedding table [0, %ld)", n, ids[n], rows);
      return 0;
    }
  }
  return 1;
}

/* embedForward(out, ids, wte, wpe|null, BT, T, C) */
static napi_value EmbedForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "embedForward", 7)) return NULL;
  long BT = arg_int(&c, 4, "BT"), T = arg_int(&c, 5, "T"), C = arg_int(&c, 6, "C");
  if (c.failed) return NULL;
  if (BT > 0 && T == 0) {
    fail(&c, "T must be >= 1 when BT > 0");
    return NULL;
  }
  size_t wteLen = 0;
  float *out = arg_f32(&c, 0, "out", mul(&c, BT, C));
  int32_t *ids = (int32_t *)typed(&c, 1, "ids", napi_int32_array, "Int32Array", BT, 0, NULL);
  float *wte = (float *)typed(&c, 2, "wte", napi_float32_array, "Float32Array", 0, 0, &wteLen);
  float *wpe = arg_f32_opt(&c, 3, "wpe", mul(&c, T < BT ? T : BT, C));
  if (c.failed) return NULL;
  if (C > 0 && !check_ids(&c, ids, BT, (long)(wteLen / (size_t)C))) return NULL;
  if (C == 0) return undef(env);
  lm_embed_forward(out, ids, wte, wpe, BT, T, C);
  return undef(env);
}

/* embedBackward(dwte, dwpe|null, dout, ids, BT, T, C) */
static napi_value EmbedBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "embedBackward", 7)) return NULL;
  long BT = arg_int(&c, 4, "BT"), T = arg_int(&c, 5, "T"), C = arg_int(&c, 6, "C");
  if (c.failed) return NULL;
  if (BT > 0 && T == 0) {
    fail(&c, "T must be >= 1 when BT > 0");
    return NULL;
  }
  size_t wteLen = 0;
  float *dwte = (float *)typed(&c, 0, "dwte", napi_float32_array, "Float32Array", 0, 0, &wteLen);
  float *dwpe = arg_f32_opt(&c, 1, "dwpe", mul(&c, T < BT ? T : BT, C));
  float *dout = arg_f32(&c, 2, "dout", mul(&c, BT, C));
  int32_t *ids = (int32_t *)typed(&c, 3, "ids", napi_int32_array, "Int32Array", BT, 0, NULL);
  if (c.failed) return NULL;
  if (C > 0 && !check_ids(&c, ids, BT, (long)(wteLen / (size_t)C))) return NULL;
  if (C == 0) return undef(env);
  return done(&c, lm_embed_backward(dwte, dwpe, dout, ids, BT, T, C, (long)(wteLen / (size_t)C)));
}

/* ------------------------------------------------------------------ norms */
/* layernormForward(out, mean, rstd, inp, w, b|null, N, C, eps) */
static napi_value LayernormForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "layernormForward", 9)) return NULL;
  long N = arg_int(&c, 6, "N"), C = arg_int(&c, 7, "C");
  double eps = arg_num(&c, 8, "eps");
  float *out = arg_f32(&c, 0, "out", mul(&c, N, C));
  float *mean = arg_f32(&c, 1, "mean", N);
  float *rstd = arg_f32(&c, 2, "rstd", N);
  float *inp = arg_f32(&c, 3, "inp", mul(&c, N, C));
  float *w = arg_f32(&c, 4, "w", C);
  float *b = arg_f32_opt(&c, 5, "b", C);
  if (c.failed) return NULL;
  if (C == 0) return undef(env);
  lm_layernorm_forward(out, mean, rstd, inp, w, b, N, C, (float)eps);
  return undef(env);
}

/* layernormBackward(dinp, dw, db|null, dout, inp, w, mean, rstd, N, C) */
static napi_value LayernormBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "layernormBackward", 10)) return NULL;
  long N = arg_int(&c, 8, "N"), C = arg_int(&c, 9, "C");
  float *dinp = arg_f32(&c, 0, "dinp", mul(&c, N, C));
  float *dw = arg_f32(&c, 1, "dw", C);
  float *db = arg_f32_opt(&c, 2, "db", C);
  float *dout = arg_f32(&c, 3, "dout", mul(&c, N, C));
  float *inp = arg_f32(&c, 4, "inp", mul(&c, N, C));
  float *w = arg_f32(&c, 5, "w", C);
  float *mean = arg_f32(&c, 6, "mean", N);
  float *rstd = arg_f32(&c, 7, "rstd", N);
  if (c.failed) return NULL;
  return done(&c, lm_layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C));
}

/* rmsnormForward(out, rstd, inp, w, N, C, eps) */
static napi_value RmsnormForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "rmsnormForward", 7)) return NULL;
  long N = arg_int(&c, 4, "N"), C = arg_int(&c, 5, "C");
  double eps = arg_num(&c, 6, "eps");
  float *out = arg_f32(&c, 0, "out", mul(&c, N, C));
  float *rstd = arg_f32(&c, 1, "rstd", N);
  float *inp = arg_f32(&c, 2, "inp", mul(&c, N, C));
  float *w = arg_f32(&c, 3, "w", C);
  if (c.failed) return NULL;
  if (C == 0) return undef(env);
  lm_rmsnorm_forward(out, rstd, inp, w, N, C, (float)eps);
  return undef(env);
}

/* rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C) */
static napi_value RmsnormBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "rmsnormBackward", 8)) return NULL;
  long N = arg_int(&c, 6, "N"), C = arg_int(&c, 7, "C");
  float *dinp = arg_f32(&c, 0, "dinp", mul(&c, N, C));
  float *dw = arg_f32(&c, 1, "dw", C);
  float *dout = arg_f32(&c, 2, "dout", mul(&c, N, C));
  float *inp = arg_f32(&c, 3, "inp", mul(&c, N, C));
  float *w = arg_f32(&c, 4, "w", C);
  float *rstd = arg_f32(&c, 5, "rstd", N);
  if (c.failed) return NULL;
  return done(&c, lm_rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, C));
}

/* ------------------------------------------------------------------ activations */
static int arg_kind(ctx_t *c, int i) {
  long k = arg_int(c, i, "kind");
  if (!c->failed && k > 1) fail(c, "kind must be 0 (erf) or 1 (tanh)");
  return (int)k;
}

/* geluForward(out, inp, n, kind 0=erf 1=tanh) */
static napi_value GeluForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "geluForward", 4)) return NULL;
  long n = arg_int(&c, 2, "n");
  int kind = arg_kind(&c, 3);
  float *out = arg_f32(&c, 0, "out", n);
  float *inp = arg_f32(&c, 1, "inp", n);
  if (c.failed) return NULL;
  lm_gelu_forward(out, inp, n, kind);
  return undef(env);
}

/* geluBackward(dinp, inp, dout, n, kind) */
static napi_value GeluBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "geluBackward", 5)) return NULL;
  long n = arg_int(&c, 3, "n");
  int kind = arg_kind(&c, 4);
  float *dinp = arg_f32(&c, 0, "dinp", n);
  float *inp = arg_f32(&c, 1, "inp", n);
  float *dout = arg_f32(&c, 2, "dout", n);
  if (c.failed) return NULL;
  lm_gelu_backward(dinp, inp, dout, n, kind);
  return undef(env);
}

/* swigluForward(out, gate, up, n) */
static napi_value SwigluForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "swigluForward", 4)) return NULL;
  long n = arg_int(&c, 3, "n");
  float *out = arg_f32(&c, 0, "out", n);
  float *gate = arg_f32(&c, 1, "gate", n);
  float *up = arg_f32(&c, 2, "up", n);
  if (c.failed) return NULL;
  lm_swiglu_forward(out, gate, up, n);
  return undef(env);
}

/* swigluBackward(dgate, dup, dout, gate, up, n) */
static napi_value SwigluBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "swigluBackward", 6)) return NULL;
  long n = arg_int(&c, 5, "n");
  float *dgate = arg_f32(&c, 0, "dgate", n);
  float *dup = arg_f32(&c, 1, "dup", n);
  float *dout = arg_f32(&c, 2, "dout", n);
  float *gate = arg_f32(&c, 3, "gate", n);
  float *up = arg_f32(&c, 4, "up", n);
  if (c.failed) return NULL;
  lm_swiglu_backward(dgate, dup, dout, gate, up, n);
  return undef(env);
}

/* ------------------------------------------------------------------ rotary / attention shapes */
typedef struct {
  int B, T, H, KV, D;
} shape_t;

static int read_shape(ctx_t *c, int i0, shape_t *s) {
  s->B = arg_dim(c, i0, "shape.B");
  s->T = arg_dim(c, i0 + 1, "shape.T");
  s->H = arg_dim(c, i0 + 2, "shape.H");
  s->KV = arg_dim(c, i0 + 3, "shape.KV");
  s->D = arg_dim(c, i0 + 4, "shape.D");
  if (c->failed) return 0;
  if (s->KV < 1 || s->H < 1 || s->D < 1 || s->H % s->KV != 0) {
    fail(c, "need H, KV, D >= 1 and H %% KV === 0, got H=%d KV=%d D=%d", s->H, s->KV, s->D);
    return 0;
  }
  return 1;
}

/* rotary(x, B, T, H, KV, D, rot, base, pos0, dir +1|-1) */
static napi_value Rotary(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "rotary", 10)) return NULL;
  shape_t s;
  if (!read_shape(&c, 1, &s)) return NULL;
  int rot = arg_dim(&c, 6, "shape.rot");
  double base = arg_num(&c, 7, "shape.base");
  long pos0 = arg_int(&c, 8, "shape.pos0");
  double dir = arg_num(&c, 9, "dir");
  if (c.failed) return NULL;
  if (rot % 2 != 0 || rot > s.D) {
    fail(&c, "shape.rot must be even and <= D (%d), got %d", s.D, rot);
    return NULL;
  }
  if (!(base > 0.0)) {
    fail(&c, "shape.base must be > 0, got %g", base);
    return NULL;
  }
  if (pos0 > INT_MAX) {
    fail(&c, "shape.pos0 = %ld is too large", pos0);
    return NULL;
  }
  float *x = arg_f32(&c, 0, dir >= 0 ? "qkv" : "dqkv", mul4(&c, s.B, s.T, (size_t)(s.H + 2 * s.KV), s.D));
  if (c.failed) return NULL;
  return done(&c, lm_rotary(x, s.B, s.T, s.H, s.KV, s.D, rot, base, pos0, dir >= 0 ? 1 : -1));
}

/* attentionForward(out, att, qkv, kb|null, vb|null, B, T, H, KV, D) */
static napi_value AttentionForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "attentionForward", 10)) return NULL;
  shape_t s;
  if (!read_shape(&c, 5, &s)) return NULL;
  size_t HD = mul(&c, s.H, s.D);
  float *kb = arg_f32_opt(&c, 3, "kvBias.k", HD);
  float *vb = arg_f32_opt(&c, 4, "kvBias.v", HD);
  if (c.failed) return NULL;
  if ((kb == NULL) != (vb == NULL)) {
    fail(&c, "kvBias needs both k and v");
    return NULL;
  }
  size_t e = kb ? 1 : 0;
  float *out = arg_f32(&c, 0, "out", mul3(&c, s.B, s.T, HD));
  float *att = arg_f32(&c, 1, "att", mul4(&c, s.B, s.H, s.T, (size_t)s.T + e));
  float *qkv = arg_f32(&c, 2, "qkv", mul4(&c, s.B, s.T, (size_t)(s.H + 2 * s.KV), s.D));
  if (c.failed) return NULL;
  return done(&c, lm_attention_forward(out, att, qkv, kb, vb, s.B, s.T, s.H, s.KV, s.D));
}

/* attentionBackward(dqkv, dkb|null, dvb|null, dout, qkv, att, kb|null, vb|null, B, T, H, KV, D) */
static napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "attentionBackward", 13)) return NULL;
  shape_t s;
  if (!read_shape(&c, 8, &s)) return NULL;
  size_t HD = mul(&c, s.H, s.D);
  float *kb = arg_f32_opt(&c, 6, "kvBias.k", HD);
  float *vb = arg_f32_opt(&c, 7, "kvBias.v", HD);
  float *dkb = arg_f32_opt(&c, 1, "dkvBias.dk", HD);
  float *dvb = arg_f32_opt(&c, 2, "dkvBias.dv", HD);
  if (c.failed) return NULL;
  if ((kb == NULL) != (vb == NULL)) {
    fail(&c, "kvBias needs both k and v");
    return NULL;
  }
  if ((dkb || dvb) && !kb) {
    fail(&c, "dkvBias given without kvBias");
    return NULL;
  }
  size_t e = kb ? 1 : 0;
  size_t R = mul4(&c, s.B, s.T, (size_t)(s.H + 2 * s.KV), s.D);
  float *dqkv = arg_f32(&c, 0, "dqkv", R);
  float *dout = arg_f32(&c, 3, "dout", mul3(&c, s.B, s.T, HD));
  float *qkv = arg_f32(&c, 4, "qkv", R);
  float *att = arg_f32(&c, 5, "att", mul4(&c, s.B, s.H, s.T, (size_t)s.T + e));
  if (c.failed) return NULL;
  return done(&c, lm_attention_backward(dqkv, dkb, dvb, dout, qkv, att, kb, vb, s.B, s.T, s.H, s.KV, s.D));
}

/* attentionDecode(out, att|null, qkv, kCache, vCache, kb|null, vb|null, B, T, H, KV, D, pos0, Tmax) */
static napi_value AttentionDecode(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "attentionDecode", 14)) return NULL;
  shape_t s;
  if (!read_shape(&c, 7, &s)) return NULL;
  int pos0 = arg_dim(&c, 12, "shape.pos0");
  int Tmax = arg_dim(&c, 13, "shape.Tmax");
  if (c.failed) return NULL;
  if ((long)pos0 + s.T > Tmax) {
    fail(&c, "pos0 + T = %ld exceeds the cache length Tmax = %d", (long)pos0 + s.T, Tmax);
    return NULL;
  }
  size_t HD = mul(&c, s.H, s.D);
  float *kb = arg_f32_opt(&c, 5, "kvBias.k", HD);
  float *vb = arg_f32_opt(&c, 6, "kvBias.v", HD);
  if (c.failed) return NULL;
  if ((kb == NULL) != (vb == NULL)) {
    fail(&c, "kvBias needs both k and v");
    return NULL;
  }
  size_t e = kb ? 1 : 0;
  float *out = arg_f32(&c, 0, "out", mul3(&c, s.B, s.T, HD));
  float *att = arg_f32_opt(&c, 1, "att", mul4(&c, s.B, s.H, s.T, (size_t)pos0 + s.T + e));
  float *qkv = arg_f32(&c, 2, "qkv", mul4(&c, s.B, s.T, (size_t)(s.H + 2 * s.KV), s.D));
  float *kc = arg_f32(&c, 3, "kCache", mul4(&c, s.B, s.KV, Tmax, s.D));
  float *vc = arg_f32(&c, 4, "vCache", mul4(&c, s.B, s.KV, Tmax, s.D));
  if (c.failed) return NULL;
  return done(&c, lm_attention_decode(out, att, qkv, kc, vc, kb, vb, s.B, s.T, s.H, s.KV, s.D, pos0, Tmax));
}

/* ------------------------------------------------------------------ loss */
static int32_t *arg_targets(ctx_t *c, int i, long N, long V) {
  int32_t *t = (int32_t *)typed(c, i, "targets", napi_int32_array, "Int32Array", N, 0, NULL);
  if (c->failed) return NULL;
  for (long n = 0; n < N; n++) {
    if (t[n] >= V) {
      fail(c, "targets[%ld] = %d is >= V = %ld", n, t[n], V);
      return NULL;
    }
  }
  return t;
}

/* crossEntropyForward(losses, logits, targets, N, V) */
static napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "crossEntropyForward", 5)) return NULL;
  long N = arg_int(&c, 3, "N"), V = arg_int(&c, 4, "V");
  float *losses = arg_f32(&c, 0, "losses", N);
  float *logits = arg_f32(&c, 1, "logits", mul(&c, N, V));
  int32_t *targets = arg_targets(&c, 2, N, V);
  if (c.failed) return NULL;
  lm_crossentropy_forward(losses, logits, targets, N, V);
  return undef(env);
}

/* crossEntropyBackward(dlogits, logits, targets, dloss, N, V) */
static napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "crossEntropyBackward", 6)) return NULL;
  long N = arg_int(&c, 4, "N"), V = arg_int(&c, 5, "V");
  float *dlogits = arg_f32(&c, 0, "dlogits", mul(&c, N, V));
  float *logits = arg_f32(&c, 1, "logits", mul(&c, N, V));
  int32_t *targets = arg_targets(&c, 2, N, V);
  float *dloss = arg_f32(&c, 3, "dloss", N);
  if (c.failed) return NULL;
  lm_crossentropy_backward(dlogits, logits, targets, dloss, N, V);
  return undef(env);
}

/* logSoftmax(out, logits, N, V) */
static napi_value LogSoftmax(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "logSoftmax", 4)) return NULL;
  long N = arg_int(&c, 2, "N"), V = arg_int(&c, 3, "V");
  float *out = arg_f32(&c, 0, "out", mul(&c, N, V));
  float *logits = arg_f32(&c, 1, "logits", mul(&c, N, V));
  if (c.failed) return NULL;
  if (V == 0) return undef(env);
  lm_log_softmax(out, logits, N, V);
  return undef(env);
}

/* ------------------------------------------------------------------ elementwise, reductions, optimizer */
static napi_value Add(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "add", 4)) return NULL;
  long n = arg_int(&c, 3, "n");
  float *out = arg_f32(&c, 0, "out", n), *a = arg_f32(&c, 1, "a", n), *b = arg_f32(&c, 2, "b", n);
  if (c.failed) return NULL;
  lm_add(out, a, b, n);
  return undef(env);
}

static napi_value Accumulate(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "accumulate", 3)) return NULL;
  long n = arg_int(&c, 2, "n");
  float *dst = arg_f32(&c, 0, "dst", n), *src = arg_f32(&c, 1, "src", n);
  if (c.failed) return NULL;
  lm_accumulate(dst, src, n);
  return undef(env);
}

static napi_value SumSquares(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "sumSquares", 2)) return NULL;
  long n = arg_int(&c, 1, "n");
  float *x = arg_f32(&c, 0, "x", n);
  if (c.failed) return NULL;
  double s = 0.0;
  int rc = lm_sum_squares(x, n, &s);
  if (rc) return done(&c, rc);
  napi_value r;
  napi_create_double(env, s, &r);
  return r;
}

static napi_value AllFinite(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "allFinite", 2)) return NULL;
  long n = arg_int(&c, 1, "n");
  float *x = arg_f32(&c, 0, "x", n);
  if (c.failed) return NULL;
  napi_value r;
  napi_get_boolean(env, lm_all_finite(x, n), &r);
  return r;
}

/* adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale) */
static napi_value Adamw(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "adamw", 12)) return NULL;
  long n = arg_int(&c, 4, "n");
  double lr = arg_num(&c, 5, "args.lr"), b1 = arg_num(&c, 6, "args.beta1"), b2 = arg_num(&c, 7, "args.beta2");
  double eps = arg_num(&c, 8, "args.eps"), wd = arg_num(&c, 9, "args.weightDecay");
  double step = arg_num(&c, 10, "args.step"), gs = arg_num(&c, 11, "args.gradScale");
  if (c.failed) return NULL;
  if (!(step >= 1.0) || step != floor(step)) {
    fail(&c, "args.step must be an integer >= 1 (1-based), got %g", step);
    return NULL;
  }
  float *p = arg_f32(&c, 0, "p", n), *g = arg_f32(&c, 1, "g", n);
  float *m = arg_f32(&c, 2, "m", n), *v = arg_f32(&c, 3, "v", n);
  if (c.failed) return NULL;
  lm_adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step, gs);
  return undef(env);
}

/* ------------------------------------------------------------------ science kernels: scaling-law fits */
/* chinchillaObjective(data: Float64Array [lnN|lnD|lnL], w: Float64Array(n), n, delta, x: Float64Array(5),
 *                     g: Float64Array(5)) -> f */
static napi_value ChinchillaObjective(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "chinchillaObjective", 6)) return NULL;
  long n = arg_int(&c, 2, "n");
  double delta = arg_num(&c, 3, "delta");
  double *data = (double *)typed(&c, 0, "data", napi_float64_array, "Float64Array", mul(&c, 3, (size_t)n), 0, NULL);
  double *w = (double *)typed(&c, 1, "w", napi_float64_array, "Float64Array", (size_t)n, 0, NULL);
  double *x = (double *)typed(&c, 4, "x", napi_float64_array, "Float64Array", 5, 0, NULL);
  double *g = (double *)typed(&c, 5, "g", napi_float64_array, "Float64Array", 5, 0, NULL);
  if (c.failed) return NULL;
  napi_value r;
  napi_create_double(env, lm_chinchilla_objective(data, w, n, delta, x, g), &r);
  return r;
}

/* ------------------------------------------------------------------ suffix arrays (memorization; native/sais.c)
 * Added for src/memorization/sais-native.ts. Self-contained: only this block and the two FN(...) lines marked
 * "suffix arrays" in Init belong to it.
 *   saisMaxSymbol(T) -> number   largest symbol of T (-1 when empty); T: Uint8/Uint16/Uint32/Int32Array (an
 *                                Int32Array is read as uint32, so a negative symbol shows up as >= 2^31)
 *   sais(T, SA, k) -> undefined  suffix array of T into SA[0..T.length) with SA-IS; checks every symbol < k,
 *                                T.length <= 2^30 - 1, SA an Int32Array not overlapping T. */
#include "sais.h"

static const void *sais_text(ctx_t *c, int i, int *symbolBytes, size_t *n) {
  if (c->failed) return NULL;
  bool isTa = false;
  napi_is_typedarray(c->env, c->argv[i], &isTa);
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  if (!isTa || napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, &ab, &offset) != napi_ok) {
    fail(c, "T must be a Uint8Array, Uint16Array, Uint32Array or Int32Array");
    return NULL;
  }
  switch (type) {
    case napi_uint8_array: *symbolBytes = 1; break;
    case napi_uint16_array: *symbolBytes = 2; break;
    case napi_uint32_array:
    case napi_int32_array: *symbolBytes = 4; break;
    default: fail(c, "T must be a Uint8Array, Uint16Array, Uint32Array or Int32Array"); return NULL;
  }
  *n = length;
  return data != NULL ? data : (const void *)"";
}

static napi_value SaisMaxSymbol(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "saisMaxSymbol", 1)) return NULL;
  int cs = 0;
  size_t n = 0;
  const void *T = sais_text(&c, 0, &cs, &n);
  if (c.failed) return NULL;
  napi_value r;
  napi_create_double(env, (double)lm_sais_max_symbol(T, cs, (int64_t)n), &r);
  return r;
}

static napi_value Sais(napi_env env, napi_callback_info info) {
  ctx_t c;
  if (!begin(&c, env, info, "sais", 3)) return NULL;
  int cs = 0;
  size_t n = 0;
  const void *T = sais_text(&c, 0, &cs, &n);
  if (c.failed) return NULL;
  if (n > LM_SAIS_MAX_N) { fail(&c, "text length %zu exceeds the limit %d", n, LM_SAIS_MAX_N); return NULL; }
  int32_t *SA = (int32_t *)typed(&c, 1, "SA", napi_int32_array, "Int32Array", n, 0, NULL);
  long k = arg_int(&c, 2, "k");
  if (c.failed) return NULL;
  if (k < 1 || k > INT_MAX) { fail(&c, "k = %ld must be in [1, 2^31)", k); return NULL; }
  const char *t0 = (const char *)T, *t1 = t0 + n * (size_t)cs, *s0 = (const char *)SA, *s1 = s0 + n * sizeof(int32_t);
  if (n > 0 && t0 < s1 && s0 < t1) { fail(&c, "SA must not overlap T"); return NULL; }
  int64_t mx = lm_sais_max_symbol(T, cs, (int64_t)n);
  if (mx >= k) {
    fail(&c, "symbol %lld is not below k = %ld (an Int32Array symbol read as >= 2^31 is negative)", (long long)mx, k);
    return NULL;
  }
  int rc = lm_sais(T, cs, SA, (int32_t)n, (int32_t)k);
  if (rc == LM_SAIS_ENOMEM) { fail(&c, "out of memory for bucket arrays"); return NULL; }
  if (rc != 0) { fail(&c, "invalid arguments (code %d)", rc); return NULL; }
  return undef(env);
}
/* ------------------------------------------------------------------ end of the suffix-array block */

/* ------------------------------------------------------------------ module */
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

static napi_value Init(napi_env env, napi_value exports) {
  lm_runtime_init();
  lm_instance *inst = (lm_instance *)calloc(1, sizeof(lm_instance));
  if (!inst || napi_set_instance_data(env, inst, finalize_instance, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "lmlab_native: could not set instance data");
    return NULL;
  }
  napi_property_descriptor props[] = {
      FN("setErrorClass", SetErrorClass),
      FN("info", Info),
      FN("setGemmMode", SetGemmMode),
      FN("gemm", Gemm),
      FN("linearForward", LinearForward),
      FN("linearBackward", LinearBackward),
      FN("embedForward", EmbedForward),
      FN("embedBackward", EmbedBackward),
      FN("layernormForward", LayernormForward),
      FN("layernormBackward", LayernormBackward),
      FN("rmsnormForward", RmsnormForward),
      FN("rmsnormBackward", RmsnormBackward),
      FN("geluForward", GeluForward),
      FN("geluBackward", GeluBackward),
      FN("swigluForward", SwigluForward),
      FN("swigluBackward", SwigluBackward),
      FN("rotary", Rotary),
      FN("attentionForward", AttentionForward),
      FN("attentionBackward", AttentionBackward),
      FN("attentionDecode", AttentionDecode),
      FN("crossEntropyForward", CrossEntropyForward),
      FN("crossEntropyBackward", CrossEntropyBackward),
      FN("logSoftmax", LogSoftmax),
      FN("add", Add),
      FN("accumulate", Accumulate),
      FN("sumSquares", SumSquares),
      FN("allFinite", AllFinite),
      FN("adamw", Adamw),
      FN("saisMaxSymbol", SaisMaxSymbol), /* suffix arrays (native/sais.c) */
      FN("sais", Sais),                   /* suffix arrays (native/sais.c) */
      FN("chinchillaObjective", ChinchillaObjective),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
