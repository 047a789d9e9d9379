/*
 * Suffix array construction by induced sorting (SA-IS, Nong, Zhang & Chan 2009) for the lmlab native addon:
 * a C version of the algorithm in src/memorization/sais.ts (which stays the fallback and the test oracle), in
 * the memory-frugal form of Yuta Mori's sais-lite 2.4.1: the reduced problem, its suffix array and (where they
 * fit) the bucket arrays live inside the output array, so the working set is the text + 4 bytes per suffix +
 * O(k) words of buckets.
 *
 * Differences from sais-lite, for speed only (the output is the same):
 *  - the text type is a compile-time parameter: the routines are instantiated for uint8, uint16 and uint32
 *    texts (native/sais_body.h, included three times), the recursion runs on the uint32 instance, so the
 *    inner loops have no per-access type switch;
 *  - the induction scans (stage 1 and stage 3) software-prefetch the text around T[SA[i + PF] - 1] a fixed
 *    distance ahead of the scan: the random text read per suffix is the bottleneck of SA-IS, and the scan
 *    order makes the future read addresses known (a stale prefetch is harmless);
 *  - for alphabets larger than the cache-friendly byte case, the bucket slot the scan will write to is
 *    prefetched as well.
 *
 * Conventions as in sais.ts: the suffix array lists all n suffixes in increasing order, a suffix that is a
 * proper prefix of another sorts first. n <= 2^30 - 1 (flags use j + n inside int32), symbols in [0, k).
 *
 * sais-lite licence notice (MIT): Copyright (c) 2008-2010 Yuta Mori. Permission is hereby granted, free of
 * charge, to any person obtaining a copy of this software and associated documentation files (the
 * "Software"), to deal in the Software without restriction, including without limitation the rights to use,
 * copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
 * persons to whom the Software is furnished to do so, subject to the following conditions: The above
 * copyright notice and this permission notice shall be included in all copies or substantial portions of the
 * Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
 */
#include "sais.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SAIS_MINBUCKETSIZE 256
/* prefetch distance (suffixes ahead of the scan) */
#define SAIS_PF 32

#if defined(__GNUC__) && !defined(LM_SAIS_NO_PREFETCH)
#define SAIS_PREFETCH_R(p) __builtin_prefetch((const void *)(p), 0, 3)
#define SAIS_PREFETCH_W(p) __builtin_prefetch((const void *)(p), 1, 3)
#else
#define SAIS_PREFETCH_R(p) ((void)(p))
#define SAIS_PREFETCH_W(p) ((void)(p))
#endif

static void sais_get_buckets(const int32_t *C, int32_t *B, int32_t k, int end) {
  int32_t sum = 0;
  if (end) {
    for (int32_t i = 0; i < k; ++i) { sum += C[i]; B[i] = sum; }
  } else {
    for (int32_t i = 0; i < k; ++i) { sum += C[i]; B[i] = sum - C[i]; }
  }
}

static int32_t sais_lms_postproc2(int32_t *SA, int32_t n, int32_t m) {
  int32_t i, j, d, name = 0;
  for (i = 0; (j = SA[i]) < 0; ++i) {
    j = ~j;
    if (n <= j) name += 1;
    SA[i] = j;
  }
  if (i < m) {
    for (d = i, ++i;; ++i) {
      if ((j = SA[i]) < 0) {
        j = ~j;
        if (n <= j) name += 1;
        SA[d++] = j;
        SA[i] = 0;
        if (d == m) break;
      }
    }
  }
  if (name < m) {
    for (i = m - 1, d = name + 1; 0 <= i; --i) {
      if (n <= (j = SA[i])) { j -= n; --d; }
      SA[m + (j >> 1)] = d;
    }
  } else {
    for (i = 0; i < m; ++i) {
      if (n <= (j = SA[i])) { j -= n; SA[i] = j; }
    }
  }
  return name;
}

/* the uint32 instance is the recursion target of all three */
static int sais_main_u32(const uint32_t *T, int32_t *SA, int32_t fs, int32_t n, int32_t k);

#define SAIS_TT uint8_t
#define SAIS_FN(name) name##_u8
#define SAIS_RESTRICT restrict /* a byte text never lies inside SA */
#define SAIS_PREFETCH_BUCKETS 0 /* 256 bucket write streams stay in cache */
#include "sais_body.h"

#define SAIS_TT uint16_t
#define SAIS_FN(name) name##_u16
#define SAIS_RESTRICT restrict /* the caller's text never lies inside SA */
#define SAIS_PREFETCH_BUCKETS 1
#include "sais_body.h"

#define SAIS_TT uint32_t
#define SAIS_FN(name) name##_u32
#define SAIS_RESTRICT /* the reduced text RA lives inside SA */
#define SAIS_PREFETCH_BUCKETS 1
#include "sais_body.h"

int lm_sais(const void *T, int symbolBytes, int32_t *SA, int32_t n, int32_t k) {
  if (n < 0 || n > LM_SAIS_MAX_N || k < 1) return LM_SAIS_EINVAL;
  if (n <= 1) {
    if (n == 1) SA[0] = 0;
    return 0;
  }
  switch (symbolBytes) {
    case 1: return sais_main_u8((const uint8_t *)T, SA, 0, n, k);
    case 2: return sais_main_u16((const uint16_t *)T, SA, 0, n, k);
    case 4: return sais_main_u32((const uint32_t *)T, SA, 0, n, k);
    default: return LM_SAIS_EINVAL;
  }
}

int64_t lm_sais_max_symbol(const void *T, int symbolBytes, int64_t n) {
  int64_t mx = -1;
  if (symbolBytes == 1) {
    const uint8_t *t = (const uint8_t *)T;
    uint8_t m = 0;
    for (int64_t i = 0; i < n; ++i) m = t[i] > m ? t[i] : m;
    mx = n > 0 ? m : -1;
  } else if (symbolBytes == 2) {
    const uint16_t *t = (const uint16_t *)T;
    uint16_t m = 0;
    for (int64_t i = 0; i < n; ++i) m = t[i] > m ? t[i] : m;
    mx = n > 0 ? m : -1;
  } else if (symbolBytes == 4) {
    const uint32_t *t = (const uint32_t *)T;
    uint32_t m = 0;
    for (int64_t i = 0; i < n; ++i) m = t[i] > m ? t[i] : m;
    mx = n > 0 ? (int64_t)m : -1;
  }
  return mx;
}
