/*
 * lmlab thread pool: parallel-for over chunks where the calling thread works too and never waits for a
 * worker that has not started.
 *
 * Why not OpenMP parallel regions: a region ends in a barrier that every team thread must reach, so each
 * region costs at least one wake-up of every worker. On a shared, oversubscribed machine (the 2-core CI/dev
 * boxes this project runs on) a worker may wait milliseconds for a core, and every kernel call then takes a
 * scheduler time slice: measured layernorm [2048x384] 0.4 ms with 1 thread vs 11.8 ms with a 2-thread OpenMP
 * team at load average 6. Here chunks are claimed with an atomic counter; the caller claims chunks too, and
 * at the end waits only for chunks a worker actually claimed. Idle workers spin briefly, then sleep on a futex.
 *
 * Rules: chunk functions must not call lm_parallel (a nested call runs serially on the calling thread);
 * results must not depend on which thread runs a chunk (use per-chunk partial sums, not per-thread), so that
 * every kernel is deterministic whatever the scheduling.
 */
#ifndef LMLAB_POOL_H
#define LMLAB_POOL_H

typedef void (*lm_chunk_fn)(void *ctx, long chunk);

/* threads used (caller + workers); set once by lm_pool_init from LMLAB_THREADS / OMP_NUM_THREADS / cores */
int lm_pool_threads(void);
void lm_pool_init(void);
/* run fn(ctx, c) for c in [0, nchunks), in parallel; returns when all are done */
void lm_parallel(long nchunks, lm_chunk_fn fn, void *ctx);
/* 1 inside a chunk function (or a nested call), else 0 */
int lm_in_parallel(void);
typedef void (*lm_range_fn)(void *ctx, long start, long end);
/* run fn(ctx, s, e) over [0, total) split into lm_nchunks(total, minPerChunk) contiguous ranges */
void lm_parallel_range(long total, long minPerChunk, lm_range_fn fn, void *ctx);
/* number of chunks for `units` of work, each chunk at least `minUnits` (>= 1), at most 8 per thread */
long lm_nchunks(long units, long minUnits);

#endif
