/* stream.h - the per-request event queue between the engine thread and a
 * connection thread.
 *
 * A job is what one HTTP request has submitted to the engine. The engine
 * thread calls job_on_event (the request's on_event): it appends the event's
 * text and log probabilities to the job's pending batch under the job's
 * mutex, signals the condition variable and returns at once; it never waits
 * for a client. The connection thread takes everything pending with job_wait
 * (a timed wait) and turns it into a response.
 *
 * Lifetime: a job is reference counted. The connection holds one reference
 * from job_create; a successful job_submit adds the engine's, which the
 * engine side drops after delivering DONE. Whoever drops the last reference
 * frees the job, so a client that disconnects mid-request cannot free memory
 * the engine still writes to.
 */
#ifndef DC_SERVER_STREAM_H
#define DC_SERVER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deepc.h"

/* One generated token's log probability and its best alternatives. */
typedef struct {
    int32_t token;
    float logprob;
    int32_t n_top;
    deepc_token_logprob top[DEEPC_MAX_TOP_LOGPROBS];
} job_logprob;

/* Output of a job gathered since the last take. Buffers are owned by the
 * batch (NUL-terminated when non-NULL); job_batch_free releases them. */
typedef struct {
    char *content, *reasoning;
    size_t content_len, reasoning_len, content_cap, reasoning_cap;
    job_logprob *lp;
    size_t n_lp, lp_cap;
} job_batch;

void job_batch_free(job_batch *b);
/* Appends src's text and log probabilities to dst; false when out of memory. */
bool job_batch_append(job_batch *dst, const job_batch *src);

/* The end of a job, valid once job_wait has returned 1. */
typedef struct {
    deepc_finish_reason finish;
    char error[256];          /* DEEPC_FINISH_ERROR (or out of memory): the message */
    int32_t n_prompt, n_cached, n_generated;
} job_result;

typedef struct srv_job srv_job;

/* A job whose events keep log probabilities when want_logprobs. NULL when out of memory. */
srv_job *job_create(bool want_logprobs);
/* Submits r (its on_event / user are set here) to the engine. Returns the
 * request id, or 0 with err (and *queue_full) as deepc_engine_submit. */
uint64_t job_submit(srv_job *j, deepc_engine *e, deepc_request *r, bool *queue_full, char err[DEEPC_ERR_LEN]);
/* Waits up to timeout_ms for output, then moves everything pending into *out
 * (whose previous contents are discarded). Returns 1 when the job is done
 * (res filled, nothing more will come), else 0. */
int job_wait(srv_job *j, job_batch *out, int timeout_ms, job_result *res);
/* Asks the engine to end the job (no-op when it already has). */
void job_cancel(srv_job *j, deepc_engine *e);
/* Drops the caller's (connection's) reference. */
void job_release(srv_job *j);

#endif
