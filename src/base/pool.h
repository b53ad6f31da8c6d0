/* pool.h - the one compute pool: a fixed set of worker threads that run a
 * parallel-for together with the calling thread.
 *
 * dc_pool_run(pool, fn, arg) calls fn(arg, ith, nth) once for each of the nth
 * parts of the work (nth = dc_pool_parts(n_threads)), spread over the
 * threads (the caller among them), and returns when all have returned. Work is
 * split by the callee (dc_split), so a given (ith, nth) always gets the same
 * range: kernels that give each output element to exactly one thread and sum
 * in a fixed order produce results independent of nth.
 *
 * Workers spin briefly on a generation counter between runs (a forward pass
 * issues hundreds of short runs) and then sleep on a condition variable.
 * The nth parts of a run are claimed by whichever thread is free, so the
 * call to fn for part ith may run on any thread (never two at once): scratch
 * indexed by ith stays private to the part.
 * A pool is driven by one thread at a time.
 */
#ifndef DC_POOL_H
#define DC_POOL_H

#include <stdint.h>

typedef struct dc_pool dc_pool;
typedef void (*dc_pool_fn)(void *arg, int ith, int nth);

/* Parts of a run: with several threads, DC_POOL_PARTS_PER_THREAD per thread,
 * so that the parts of a thread the OS has preempted can be taken by the
 * others. fn sees nth = dc_pool_parts(n_threads); scratch indexed by ith
 * needs that many entries. */
#define DC_POOL_PARTS_PER_THREAD 4
static inline int dc_pool_parts(int n_threads) { return n_threads > 1 ? n_threads * DC_POOL_PARTS_PER_THREAD : 1; }

/* n_threads >= 1 counts the caller; NULL if threads cannot be created. */
dc_pool *dc_pool_create(int n_threads);
void dc_pool_free(dc_pool *pool);
int dc_pool_size(const dc_pool *pool);
void dc_pool_run(dc_pool *pool, dc_pool_fn fn, void *arg);

/* [*start, *end) = the ith of nth near-equal parts of [0, n). */
static inline void dc_split(int64_t n, int ith, int nth, int64_t *start, int64_t *end) {
    *start = n * ith / nth;
    *end = n * (ith + 1) / nth;
}

/* Number of online CPUs (>= 1). */
int dc_n_cpus(void);

#endif
