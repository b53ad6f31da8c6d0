/* pool.c - see pool.h.
 *
 * State shared with the workers: the job (fn, arg), a generation counter the
 * caller bumps to start a run, the next part to claim and the number of
 * parts done. A worker remembers the last generation it ran; a new value
 * means a new job. The mutex/condvar pair is only used to sleep when no job
 * came for a while.
 *
 * Parts are claimed, not assigned: a run has nth parts (part i is what
 * fn(arg, i, nth) computes, always the same range), and whichever thread is
 * free takes the next unclaimed one. On a busy machine a worker that has not
 * been scheduled yet does not hold the run up: the caller takes its part.
 * Each part runs exactly once, on one thread, so per-part scratch indexed by
 * ith stays private and results do not depend on who ran what.
 *
 * Ordering: the caller publishes fn/arg, then resets `next` with a release
 * store; a thread that claims a part (acquire) therefore sees this run's
 * fn/arg even if it woke for an earlier generation. A run ends when `done`
 * reaches nth, after which no part of it is running.
 */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Pause-spins before a worker sleeps / the caller starts yielding its core:
 * long enough to bridge the gap between two kernels of one forward pass,
 * short enough not to starve other processes on a busy machine. */
enum { SPIN_ITERS = 1 << 14, CALLER_SPINS = 1 << 10 };

typedef struct {
    dc_pool *pool;
    int ith;
} worker_arg;

struct dc_pool {
    int n_threads;
    int n_parts;       /* dc_pool_parts(n_threads) */
    pthread_t *threads;
    worker_arg *args;
    dc_pool_fn fn;
    void *arg;
    atomic_uint gen;
    atomic_int next;   /* next part to claim */
    atomic_int done;   /* parts finished */
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static unsigned wait_for_job(dc_pool *p, unsigned seen) {
    unsigned g;
    for (int i = 0; i < SPIN_ITERS; i++) {
        if ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) != seen) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

/* Runs unclaimed parts of the current run until none is left. */
static void claim_parts(dc_pool *p) {
    for (;;) {
        const int part = atomic_fetch_add_explicit(&p->next, 1, memory_order_acq_rel);
        if (part >= p->n_parts) return;
        p->fn(p->arg, part, p->n_parts);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *varg) {
    worker_arg *wa = varg;
    dc_pool *p = wa->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        claim_parts(p);
    }
    return NULL;
}

/* Publishes a new generation and wakes sleepers. */
static void start_generation(dc_pool *p) {
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

dc_pool *dc_pool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    dc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    p->n_parts = dc_pool_parts(n_threads);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->args = calloc((size_t)n_threads, sizeof *p->args);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->threads || !p->args) {
        p->n_threads = 1;
        dc_pool_free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            p->n_threads = i; /* join the ones that started */
            dc_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void dc_pool_free(dc_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, true);
    start_generation(p);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->args);
    free(p);
}

int dc_pool_size(const dc_pool *p) { return p->n_threads; }

void dc_pool_run(dc_pool *p, dc_pool_fn fn, void *arg) {
    if (p->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->next, 0, memory_order_release);
    start_generation(p);
    claim_parts(p);
    /* only parts a worker has started can still be running */
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < p->n_parts; spins++) {
        if (spins < CALLER_SPINS)
            cpu_relax();
        else
            sched_yield();
    }
}

int dc_n_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
