/* stream.c - per-request event queues (see stream.h for the contract).
 *
 * The engine side appends under the job's mutex; the connection side swaps
 * the whole pending batch out under the same mutex, so each side touches the
 * buffers only while holding it and the engine thread never waits longer
 * than one append. Growth is geometric; when an allocation fails the job is
 * marked and ends as an error instead of silently losing text.
 */
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    uint64_t id;
    bool want_logprobs, done, oom, cancelled;
    job_batch pending;
    job_result result;
};

void job_batch_free(job_batch *b) {
    free(b->content);
    free(b->reasoning);
    free(b->lp);
    memset(b, 0, sizeof *b);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (!n) return true;
    if (!grow((void **)buf, cap, *len + n + 1, 1)) return false;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

bool job_batch_append(job_batch *dst, const job_batch *src) {
    if (!append(&dst->content, &dst->content_len, &dst->content_cap, src->content, src->content_len) ||
        !append(&dst->reasoning, &dst->reasoning_len, &dst->reasoning_cap, src->reasoning, src->reasoning_len) ||
        (src->n_lp && !grow((void **)&dst->lp, &dst->lp_cap, dst->n_lp + src->n_lp, sizeof *dst->lp)))
        return false;
    if (src->n_lp) memcpy(dst->lp + dst->n_lp, src->lp, src->n_lp * sizeof *src->lp);
    dst->n_lp += src->n_lp;
    return true;
}

static void release_locked(srv_job *j, bool *last) {
    *last = --j->refs == 0;
}

static void destroy(srv_job *j) {
    job_batch_free(&j->pending);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* The engine thread's callback: copy, signal, return. */
static void on_event(void *user, const deepc_event *ev) {
    srv_job *j = user;
    pthread_mutex_lock(&j->mu);
    job_batch *b = &j->pending;
    bool ok = append(&b->content, &b->content_len, &b->content_cap, ev->content, ev->content_len) &&
              append(&b->reasoning, &b->reasoning_len, &b->reasoning_cap, ev->reasoning, ev->reasoning_len);
    if (ok && ev->kind == DEEPC_EVENT_TOKEN && ev->token >= 0 && j->want_logprobs) { /* -1: the engine's own </think> */
        ok = grow((void **)&b->lp, &b->lp_cap, b->n_lp + 1, sizeof *b->lp);
        if (ok) {
            job_logprob *lp = &b->lp[b->n_lp++];
            lp->token = ev->token;
            lp->logprob = ev->logprob;
            lp->n_top = ev->n_top < 0 ? 0 : ev->n_top > DEEPC_MAX_TOP_LOGPROBS ? DEEPC_MAX_TOP_LOGPROBS : ev->n_top;
            if (lp->n_top) memcpy(lp->top, ev->top, (size_t)lp->n_top * sizeof *lp->top);
        }
    }
    if (!ok) j->oom = true;
    job_result *r = &j->result;
    r->n_prompt = ev->n_prompt;
    r->n_cached = ev->n_cached;
    r->n_generated = ev->n_generated;
    bool last = false;
    if (ev->kind == DEEPC_EVENT_DONE) {
        j->done = true;
        r->finish = ev->finish;
        if (ev->finish == DEEPC_FINISH_ERROR) strncpy(r->error, ev->error ? ev->error : "engine error", sizeof r->error - 1);
        if (j->oom) {
            r->finish = DEEPC_FINISH_ERROR;
            strcpy(r->error, "out of memory");
        }
        release_locked(j, &last);
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (last) destroy(j);
}

srv_job *job_create(bool want_logprobs) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->refs = 1;
    j->want_logprobs = want_logprobs;
    return j;
}

uint64_t job_submit(srv_job *j, deepc_engine *e, deepc_request *r, bool *queue_full, char err[DEEPC_ERR_LEN]) {
    r->on_event = on_event;
    r->user = j;
    /* the engine's reference exists before submit: DONE may arrive before submit returns */
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
    const uint64_t id = deepc_engine_submit(e, r, queue_full, err);
    pthread_mutex_lock(&j->mu);
    if (id) j->id = id;
    else j->refs--;
    pthread_mutex_unlock(&j->mu);
    return id;
}

int job_wait(srv_job *j, job_batch *out, int timeout_ms, job_result *res) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    while (!j->done && !j->pending.content_len && !j->pending.reasoning_len && !j->pending.n_lp)
        if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT) break;
    /* hand the pending buffers over and keep the caller's (emptied) ones for reuse */
    job_batch spare = *out;
    spare.content_len = spare.reasoning_len = spare.n_lp = 0;
    if (spare.content) spare.content[0] = '\0';
    if (spare.reasoning) spare.reasoning[0] = '\0';
    *out = j->pending;
    j->pending = spare;
    const int done = j->done;
    if (done) *res = j->result;
    pthread_mutex_unlock(&j->mu);
    return done;
}

void job_cancel(srv_job *j, deepc_engine *e) {
    pthread_mutex_lock(&j->mu);
    const uint64_t id = j->done || j->cancelled ? 0 : j->id;
    j->cancelled = true;
    pthread_mutex_unlock(&j->mu);
    if (id) deepc_engine_cancel(e, id);
}

void job_release(srv_job *j) {
    bool last;
    pthread_mutex_lock(&j->mu);
    release_locked(j, &last);
    pthread_mutex_unlock(&j->mu);
    if (last) destroy(j);
}
