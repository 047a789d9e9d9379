/* SA-IS suffix array construction (native/sais.c); used by the N-API glue in native/lmlab.c. */
#ifndef LMLAB_SAIS_H
#define LMLAB_SAIS_H
#include <stdint.h>

#define LM_SAIS_MAX_N 0x3fffffff /* as MAX_SA_LENGTH in src/memorization/sais.ts */
#define LM_SAIS_EINVAL (-1)
#define LM_SAIS_ENOMEM (-2)

/* Suffix array of T[0..n) (symbolBytes = 1, 2 or 4: uint8 / uint16 / uint32 symbols, all < k) into SA[0..n).
 * Returns 0, LM_SAIS_EINVAL or LM_SAIS_ENOMEM. Symbols are not checked here (see lm_sais_max_symbol). */
int lm_sais(const void *T, int symbolBytes, int32_t *SA, int32_t n, int32_t k);

/* Largest symbol of T[0..n) read as unsigned (-1 when n == 0). */
int64_t lm_sais_max_symbol(const void *T, int symbolBytes, int64_t n);
#endif
