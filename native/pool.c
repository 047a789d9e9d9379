/*
 * The lmlab thread pool (see pool.h). Protocol:
 * - `work` packs (generation:32 | nchunks:16 | next:16). The caller publishes a job by writing fn/ctx, resetting
 *   `done`, then storing a new generation into `work` (release) and into the futex word `gen32`.
 * - Anyone (caller or worker) claims chunk `next` with a CAS on `work` that also checks the generation, so a
 *   worker that wakes late can never claim a chunk of a finished job; fn/ctx are read after a successful claim
 *   (the job cannot end before the claimed chunk is done), then `done` is incremented.
 * - The caller runs chunks until none is left, then waits for done == nchunks (only claimed chunks remain).
 * - Idle workers spin for LMLAB_SPIN_US microseconds (default 100), then sleep on a futex; the caller wakes
 *   sleepers when it publishes.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LM_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define LM_PAUSE() __asm__ __volatile__("yield" ::: "memory")
#else
#define LM_PAUSE() __asm__ __volatile__("" ::: "memory")
#endif

#define LM_MAX_THREADS 256
#define MAX_CHUNKS 65535L

static int g_threads = 1;
static int g_inited = 0;
static int g_started = 0;
static long g_spin_ns = 100000;

static _Atomic uint64_t g_work;  /* gen:32 | n:16 | next:16 */
static _Atomic uint32_t g_gen32; /* futex word */
static _Atomic long g_done;
static _Atomic int g_sleepers;
static _Atomic int g_busy; /* one caller at a time; others run serially */
static lm_chunk_fn g_fn;
static void *g_ctx;
static uint32_t g_gen;

static __thread int tls_in_pool = 0;

static inline uint64_t pack(uint32_t gen, uint32_t n, uint32_t next) {
  return ((uint64_t)gen << 32) | ((uint64_t)n << 16) | next;
}

static inline long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
#ifdef __linux__
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
  (void)addr;
  (void)expected;
  sched_yield();
#endif
}

static void futex_wake_all(_Atomic uint32_t *addr) {
#ifdef __linux__
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
  (void)addr;
#endif
}

/* claim and run chunks of generation gen until none is left */
static void run_chunks(uint32_t gen) {
  for (;;) {
    uint64_t w = atomic_load_explicit(&g_work, memory_order_acquire);
    if ((uint32_t)(w >> 32) != gen) return;
    uint32_t n = (uint32_t)(w >> 16) & 0xffff, next = (uint32_t)w & 0xffff;
    if (next >= n) return;
    if (!atomic_compare_exchange_weak_explicit(&g_work, &w, w + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    g_fn(g_ctx, (long)next);
    atomic_fetch_add_explicit(&g_done, 1, memory_order_release);
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  tls_in_pool = 1;
  uint32_t seen = atomic_load_explicit(&g_gen32, memory_order_acquire);
  for (;;) {
    uint32_t g;
    long t0 = 0;
    int iter = 0;
    while ((g = atomic_load_explicit(&g_gen32, memory_order_acquire)) == seen) {
      LM_PAUSE();
      if ((++iter & 63) != 0) continue;
      long t = now_ns();
      if (t0 == 0) t0 = t;
      if (t - t0 < g_spin_ns) continue;
      atomic_fetch_add_explicit(&g_sleepers, 1, memory_order_seq_cst);
      if (atomic_load_explicit(&g_gen32, memory_order_seq_cst) == seen) futex_wait(&g_gen32, seen);
      atomic_fetch_sub_explicit(&g_sleepers, 1, memory_order_seq_cst);
      t0 = 0;
    }
    seen = g;
    run_chunks(g);
  }
  return NULL;
}

static int env_int(const char *name) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end != '\0' || v < 1 || v > LM_MAX_THREADS) return 0;
  return (int)v;
}

void lm_pool_init(void) {
  if (g_inited) return;
  g_inited = 1;
  int n = env_int("LMLAB_THREADS");
  if (!n) n = env_int("OMP_NUM_THREADS");
  if (!n) {
#ifdef _SC_NPROCESSORS_ONLN
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
#endif
  }
  if (n < 1) n = 1;
  if (n > LM_MAX_THREADS) n = LM_MAX_THREADS;
  g_threads = n;
  const char *sp = getenv("LMLAB_SPIN_US");
  if (sp && *sp) {
    long us = strtol(sp, NULL, 10);
    if (us >= 0 && us <= 1000000) g_spin_ns = us * 1000;
  }
}

int lm_pool_threads(void) { return g_threads; }

int lm_in_parallel(void) { return tls_in_pool; }

long lm_nchunks(long units, long minUnits) {
  if (minUnits < 1) minUnits = 1;
  if (units <= minUnits || g_threads <= 1) return units > 0 ? 1 : 0;
  long n = units / minUnits;
  long cap = 8L * g_threads;
  if (n > cap) n = cap;
  if (n > MAX_CHUNKS) n = MAX_CHUNKS;
  return n < 1 ? 1 : n;
}

static int start_workers(void) {
  for (int i = 1; i < g_threads; i++) {
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1 << 20);
    int rc = pthread_create(&th, &attr, worker_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      g_threads = i; /* run with the workers we have */
      break;
    }
  }
  return 1;
}

void lm_parallel(long nchunks, lm_chunk_fn fn, void *ctx) {
  if (nchunks <= 0) return;
  if (!g_inited) lm_pool_init();
  int expected = 0;
  if (nchunks == 1 || g_threads <= 1 || tls_in_pool ||
      !atomic_compare_exchange_strong(&g_busy, &expected, 1)) {
    int was = tls_in_pool;
    tls_in_pool = 1;
    for (long c = 0; c < nchunks; c++) fn(ctx, c);
    tls_in_pool = was;
    return;
  }
  if (!g_started) {
    g_started = 1;
    start_workers();
  }
  long n = nchunks > MAX_CHUNKS ? MAX_CHUNKS : nchunks; /* lmlab's kernels stay far below MAX_CHUNKS */
  g_fn = fn;
  g_ctx = ctx;
  atomic_store_explicit(&g_done, 0, memory_order_relaxed);
  uint32_t gen = ++g_gen;
  atomic_store_explicit(&g_work, pack(gen, (uint32_t)n, 0), memory_order_release);
  atomic_store_explicit(&g_gen32, gen, memory_order_seq_cst);
  if (atomic_load_explicit(&g_sleepers, memory_order_seq_cst) > 0) futex_wake_all(&g_gen32);
  tls_in_pool = 1;
  run_chunks(gen);
  /* only chunks claimed by running workers remain */
  int iter = 0;
  while (atomic_load_explicit(&g_done, memory_order_acquire) < n) {
    LM_PAUSE();
    if (++iter > 4096) sched_yield();
  }
  for (long c = n; c < nchunks; c++) fn(ctx, c);
  tls_in_pool = 0;
  atomic_store(&g_busy, 0);
}

typedef struct {
  lm_range_fn fn;
  void *ctx;
  long per, total;
} range_job;

static void range_thunk(void *ctx, long c) {
  range_job *j = (range_job *)ctx;
  long s = c * j->per, e = s + j->per < j->total ? s + j->per : j->total;
  if (s < e) j->fn(j->ctx, s, e);
}

void lm_parallel_range(long total, long minPerChunk, lm_range_fn fn, void *ctx) {
  if (total <= 0) return;
  if (!g_inited) lm_pool_init();
  long nch = lm_nchunks(total, minPerChunk);
  if (nch <= 1 || tls_in_pool) {
    fn(ctx, 0, total);
    return;
  }
  range_job j = {fn, ctx, (total + nch - 1) / nch, total};
  lm_parallel((j.total + j.per - 1) / j.per, range_thunk, &j);
}
