/*
 * SA-IS routines for one text type, included by native/sais.c once per type with
 *   SAIS_TT                the symbol type (uint8_t, uint16_t, uint32_t)
 *   SAIS_FN(name)          name mangling (name##_u8 …)
 *   SAIS_RESTRICT          restrict when the text never lies inside SA
 *   SAIS_PREFETCH_BUCKETS  1 to also prefetch the bucket slot the induction will write (large alphabets)
 * Line-by-line the algorithm of src/memorization/sais.ts (sais-lite 2.4.1); see sais.c for the licence.
 */
#ifndef SAIS_TT
#error "sais_body.h is included by sais.c only"
#endif

#define SAIS_T const SAIS_TT *SAIS_RESTRICT

static void SAIS_FN(sais_get_counts)(SAIS_T T, int32_t *C, int32_t n, int32_t k) {
  memset(C, 0, (size_t)k * sizeof(int32_t));
  for (int32_t i = 0; i < n; ++i) ++C[T[i]];
}

/* prefetch the text around position p - back (p is a suffix array entry; only p > back is meaningful) */
#define SAIS_PF_TEXT(p, back) SAIS_PREFETCH_R(T + ((p) > (back) ? (p) - (back) : 0))

/* Sort all LMS substrings (stage 1, one-bucket-array variant). */
static void SAIS_FN(sais_lms_sort1)(SAIS_T T, int32_t *SA, int32_t *C, int32_t *B, int32_t n, int32_t k) {
  int32_t b, i, j, c0, c1;
  if (C == B) SAIS_FN(sais_get_counts)(T, C, n, k);
  sais_get_buckets(C, B, k, 0);
  j = n - 1;
  c1 = (int32_t)T[j];
  b = B[c1];
  --j;
  SA[b++] = (int32_t)T[j] < c1 ? ~j : j;
  for (i = 0; i < n; ++i) {
    if (i + SAIS_PF < n) { int32_t p = SA[i + SAIS_PF]; SAIS_PF_TEXT(p, 1); }
    if (0 < (j = SA[i])) {
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      --j;
      SA[b++] = (int32_t)T[j] < c1 ? ~j : j;
      SA[i] = 0;
    } else if (j < 0) {
      SA[i] = ~j;
    }
  }
  if (C == B) SAIS_FN(sais_get_counts)(T, C, n, k);
  sais_get_buckets(C, B, k, 1);
  c1 = 0;
  b = B[c1];
  for (i = n - 1; 0 <= i; --i) {
    if (i >= SAIS_PF) { int32_t p = SA[i - SAIS_PF]; SAIS_PF_TEXT(p, 1); }
    if (0 < (j = SA[i])) {
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      --j;
      SA[--b] = (int32_t)T[j] > c1 ? ~(j + 1) : j;
      SA[i] = 0;
    }
  }
}

static int32_t SAIS_FN(sais_lms_postproc1)(SAIS_T T, int32_t *SA, int32_t n, int32_t m) {
  int32_t i, j, p, q, plen, qlen, name, c0, c1;
  int diff;
  for (i = 0; (p = SA[i]) < 0; ++i) SA[i] = ~p;
  if (i < m) {
    for (j = i, ++i;; ++i) {
      if ((p = SA[i]) < 0) {
        SA[j++] = ~p;
        SA[i] = 0;
        if (j == m) break;
      }
    }
  }
  /* store the length of every LMS substring at SA[m + (pos >> 1)] */
  i = n - 1;
  j = n - 1;
  c0 = (int32_t)T[n - 1];
  do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
  for (; 0 <= i;) {
    do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) <= c1));
    if (0 <= i) {
      SA[m + ((i + 1) >> 1)] = j - i;
      j = i + 1;
      do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
    }
  }
  /* lexicographic names */
  for (i = 0, name = 0, q = n, qlen = 0; i < m; ++i) {
    p = SA[i];
    plen = SA[m + (p >> 1)];
    diff = 1;
    if ((plen == qlen) && ((q + plen) < n)) {
      for (j = 0; (j < plen) && (T[p + j] == T[q + j]); ++j) { /* compare */ }
      if (j == plen) diff = 0;
    }
    if (diff) { ++name; q = p; qlen = plen; }
    SA[m + (p >> 1)] = name;
  }
  return name;
}

/* Stage 1 variant that names LMS substrings during induction (D: 2k words). */
static void SAIS_FN(sais_lms_sort2)(SAIS_T T, int32_t *SA, int32_t *C, int32_t *B, int32_t *D, int32_t n, int32_t k) {
  int32_t b, i, j, t, d, c0, c1;
  sais_get_buckets(C, B, k, 0);
  j = n - 1;
  c1 = (int32_t)T[j];
  b = B[c1];
  --j;
  t = ((int32_t)T[j] < c1);
  j += n;
  SA[b++] = (t & 1) ? ~j : j;
  for (i = 0, d = 0; i < n; ++i) {
    if (i + SAIS_PF < n) { int32_t p = SA[i + SAIS_PF]; p -= (p >= n) ? n : 0; SAIS_PF_TEXT(p, 1); }
    if (0 < (j = SA[i])) {
      if (n <= j) { d += 1; j -= n; }
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      --j;
      t = c0;
      t = (t << 1) | ((int32_t)T[j] < c1);
      if (D[t] != d) { j += n; D[t] = d; }
      SA[b++] = (t & 1) ? ~j : j;
      SA[i] = 0;
    } else if (j < 0) {
      SA[i] = ~j;
    }
  }
  for (i = n - 1; 0 <= i; --i) {
    if (0 < SA[i]) {
      if (SA[i] < n) {
        SA[i] += n;
        for (j = i - 1; SA[j] < n; --j) { /* find previous flagged */ }
        SA[j] -= n;
        i = j;
      }
    }
  }
  sais_get_buckets(C, B, k, 1);
  c1 = 0;
  b = B[c1];
  for (i = n - 1, d += 1; 0 <= i; --i) {
    if (i >= SAIS_PF) { int32_t p = SA[i - SAIS_PF]; p -= (p >= n) ? n : 0; SAIS_PF_TEXT(p, 1); }
    if (0 < (j = SA[i])) {
      if (n <= j) { d += 1; j -= n; }
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      --j;
      t = c0;
      t = (t << 1) | ((int32_t)T[j] > c1);
      if (D[t] != d) { j += n; D[t] = d; }
      SA[--b] = (t & 1) ? ~(j + 1) : j;
      SA[i] = 0;
    }
  }
}

/* Stage 3: induce L-type then S-type suffixes from the sorted LMS suffixes at their bucket ends. */
static void SAIS_FN(sais_induce)(SAIS_T T, int32_t *SA, int32_t *C, int32_t *B, int32_t n, int32_t k) {
  int32_t b, i, j, c0, c1;
  if (C == B) SAIS_FN(sais_get_counts)(T, C, n, k);
  sais_get_buckets(C, B, k, 0);
  j = n - 1;
  c1 = (int32_t)T[j];
  b = B[c1];
  SA[b++] = ((0 < j) && ((int32_t)T[j - 1] < c1)) ? ~j : j;
  for (i = 0; i < n; ++i) {
#if SAIS_PREFETCH_BUCKETS
    if (i + 2 * SAIS_PF < n) { int32_t p = SA[i + 2 * SAIS_PF]; SAIS_PF_TEXT(p, 2); }
    if (i + SAIS_PF < n) {
      int32_t p = SA[i + SAIS_PF];
      if (p > 0) SAIS_PREFETCH_W(SA + B[T[p - 1]]);
    }
#else
    if (i + SAIS_PF < n) { int32_t p = SA[i + SAIS_PF]; SAIS_PF_TEXT(p, 2); }
#endif
    j = SA[i];
    SA[i] = ~j;
    if (0 < j) {
      --j;
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      SA[b++] = ((0 < j) && ((int32_t)T[j - 1] < c1)) ? ~j : j;
    }
  }
  if (C == B) SAIS_FN(sais_get_counts)(T, C, n, k);
  sais_get_buckets(C, B, k, 1);
  c1 = 0;
  b = B[c1];
  for (i = n - 1; 0 <= i; --i) {
#if SAIS_PREFETCH_BUCKETS
    if (i >= 2 * SAIS_PF) { int32_t p = SA[i - 2 * SAIS_PF]; SAIS_PF_TEXT(p, 2); }
    if (i >= SAIS_PF) {
      int32_t p = SA[i - SAIS_PF];
      if (p > 0) SAIS_PREFETCH_W(SA + B[T[p - 1]] - 1);
    }
#else
    if (i >= SAIS_PF) { int32_t p = SA[i - SAIS_PF]; SAIS_PF_TEXT(p, 2); }
#endif
    if (0 < (j = SA[i])) {
      --j;
      if ((c0 = (int32_t)T[j]) != c1) { B[c1] = b; b = B[c1 = c0]; }
      SA[--b] = ((j == 0) || ((int32_t)T[j - 1] > c1)) ? ~j : j;
    } else {
      SA[i] = ~j;
    }
  }
}

/* Core recursion. SA has n + fs entries; SA[n..n+fs) is free space. Returns 0 or LM_SAIS_ENOMEM. */
static int SAIS_FN(sais_main)(SAIS_T T, int32_t *SA, int32_t fs, int32_t n, int32_t k) {
  int32_t *C, *B, *D, *RA, *Cown = NULL, *Bown = NULL;
  int32_t i, j, m, p, q, t, name, newfs, c0, c1, bIdx;
  unsigned flags;

  if (k <= SAIS_MINBUCKETSIZE) {
    if ((C = Cown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) return LM_SAIS_ENOMEM;
    if (k <= fs) {
      B = SA + (n + fs - k);
      flags = 1;
    } else {
      if ((B = Bown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) { free(Cown); return LM_SAIS_ENOMEM; }
      flags = 3;
    }
  } else if (k <= fs) {
    C = SA + (n + fs - k);
    if (k <= (fs - k)) {
      B = C - k;
      flags = 0;
    } else if (k <= (SAIS_MINBUCKETSIZE * 4)) {
      if ((B = Bown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) return LM_SAIS_ENOMEM;
      flags = 2;
    } else {
      B = C;
      flags = 8;
    }
  } else {
    if ((C = B = Cown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) return LM_SAIS_ENOMEM;
    flags = 4 | 8;
  }
  if ((n <= LM_SAIS_MAX_N) && (2 <= (n / k))) {
    if (flags & 1) flags |= ((k * 2) <= (fs - k)) ? 32 : 16;
    else if ((flags == 0) && ((k * 2) <= (fs - k * 2))) flags |= 32;
  }

  /* stage 1: bucket the LMS positions at their bucket ends, then sort the LMS substrings */
  SAIS_FN(sais_get_counts)(T, C, n, k);
  sais_get_buckets(C, B, k, 1);
  memset(SA, 0, (size_t)n * sizeof(int32_t));
  bIdx = -1;
  i = n - 1;
  j = n;
  m = 0;
  c0 = (int32_t)T[n - 1];
  do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
  for (; 0 <= i;) {
    do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) <= c1));
    if (0 <= i) {
      if (bIdx >= 0) SA[bIdx] = j;
      bIdx = --B[c1];
      j = i;
      ++m;
      do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
    }
  }

  if (1 < m) {
    if (flags & (16 | 32)) {
      int32_t *Down = NULL;
      if (flags & 16) {
        if ((D = Down = (int32_t *)malloc((size_t)k * 2 * sizeof(int32_t))) == NULL) {
          free(Cown);
          free(Bown);
          return LM_SAIS_ENOMEM;
        }
      } else {
        D = B - k * 2;
      }
      ++B[T[j + 1]];
      for (i = 0, j = 0; i < k; ++i) {
        j += C[i];
        if (B[i] != j) SA[B[i]] += n;
        D[i] = D[i + k] = 0;
      }
      SAIS_FN(sais_lms_sort2)(T, SA, C, B, D, n, k);
      free(Down);
      name = sais_lms_postproc2(SA, n, m);
    } else {
      SAIS_FN(sais_lms_sort1)(T, SA, C, B, n, k);
      name = SAIS_FN(sais_lms_postproc1)(T, SA, n, m);
    }
  } else if (m == 1) {
    SA[bIdx] = j + 1;
    name = 1;
  } else {
    name = 0;
  }

  /* stage 2: solve the reduced problem, recursing while names are not unique */
  if (name < m) {
    newfs = (n + fs) - (m * 2);
    if ((flags & (1 | 4 | 8)) == 0) {
      if ((k + name) <= newfs) newfs -= k;
      else flags |= 8;
    }
    RA = SA + m + newfs;
    for (i = m + (n >> 1) - 1, j = m - 1; m <= i; --i) {
      if (SA[i] != 0) RA[j--] = SA[i] - 1;
    }
    /* release heap bucket arrays during the recursion, as sais-lite does */
    if (flags & 4) { free(Cown); Cown = NULL; C = B = NULL; }
    if (flags & 2) { free(Bown); Bown = NULL; B = NULL; }
    int rc = sais_main_u32((const uint32_t *)RA, SA, newfs, m, name);
    if (rc != 0) {
      free(Cown);
      free(Bown);
      return rc;
    }
    i = n - 1;
    j = m - 1;
    c0 = (int32_t)T[n - 1];
    do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
    for (; 0 <= i;) {
      do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) <= c1));
      if (0 <= i) {
        RA[j--] = i + 1;
        do { c1 = c0; } while ((0 <= --i) && ((c0 = (int32_t)T[i]) >= c1));
      }
    }
    for (i = 0; i < m; ++i) SA[i] = RA[SA[i]];
    if (flags & 4) {
      if ((C = B = Cown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) return LM_SAIS_ENOMEM;
    }
    if (flags & 2) {
      if ((B = Bown = (int32_t *)malloc((size_t)k * sizeof(int32_t))) == NULL) { free(Cown); return LM_SAIS_ENOMEM; }
    }
  }

  /* stage 3: place the sorted LMS suffixes at their bucket ends and induce everything */
  if (flags & 8) SAIS_FN(sais_get_counts)(T, C, n, k);
  if (1 < m) {
    sais_get_buckets(C, B, k, 1);
    i = m - 1;
    j = n;
    p = SA[m - 1];
    c1 = (int32_t)T[p];
    do {
      q = B[c0 = c1];
      while (q < j) SA[--j] = 0;
      do {
        SA[--j] = p;
        if (--i < 0) break;
        p = SA[i];
      } while ((c1 = (int32_t)T[p]) == c0);
    } while (0 <= i);
    while (0 < j) SA[--j] = 0;
  }
  SAIS_FN(sais_induce)(T, SA, C, B, n, k);
  (void)t;
  free(Cown);
  free(Bown);
  return 0;
}

#undef SAIS_PF_TEXT
#undef SAIS_T
#undef SAIS_TT
#undef SAIS_FN
#undef SAIS_RESTRICT
#undef SAIS_PREFETCH_BUCKETS
