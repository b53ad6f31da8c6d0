/* engine.c - requests and the scheduler (deepc_engine_* in deepc.h).
 *
 * One engine thread owns the context (model, KV cache, batch). Other threads
 * only touch the `incoming` list and the cancel flags, under `mu`.
 *
 * A step:
 *   1. cancelled requests end; queued requests take free slots (admit: the
 *      prefix cache picks the slot and copies/reuses a cached prefix);
 *   2. one batch is built: every decoding request's pending tokens (its last
 *      sampled token, or the forced `</think>` tokens of a spent reasoning
 *      budget) first, then chunks of the prompts still being read, in
 *      admission order, filling the rest of n_batch;
 *   3. one deepc_decode;
 *   4. every request whose last batch token asked for logits samples its next
 *      token, passes it through its dc_output (detokenizer, stop strings,
 *      reasoning split) and gets a TOKEN event, or ends (DONE).
 *
 * Per-request results do not depend on the other requests in the batch:
 * each token's row of the forward pass is computed on its own, with the
 * same arithmetic whatever the batch holds (tests/test_engine.c checks it).
 *
 * Slots and the prefix cache: slot i is KV sequence i. slot->tokens mirrors
 * what its cache holds, and stays after its request ends. Admission takes the
 * free slot sharing the longest prefix with the new prompt (least recently
 * used on ties); when another slot, busy or free, holds a longer prefix,
 * those positions are copied over (deepc_seq_copy), which is far cheaper
 * than recomputing them. At least the prompt's last token is always
 * evaluated: its logits give the first generated token.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../models/model.h"
#include "../tokenizer/tokenizer.h"
#include "output.h"
#include "sampler.h"

enum { MAX_FORCED = 16 };

typedef enum { RQ_QUEUED, RQ_PREFILL, RQ_DECODE } rq_state;

typedef struct request {
    struct request *next;     /* in incoming or active */
    uint64_t id;
    rq_state state;
    int cancelled;            /* under engine mu */
    int32_t slot;
    int32_t *prompt;
    int32_t n_prompt, n_past; /* prompt tokens; of them in the cache */
    int32_t n_cached;
    int32_t pending[MAX_FORCED + 1]; /* tokens to feed at the next step */
    int32_t n_pending;
    int32_t max_tokens, n_generated;
    bool ignore_eos, logprobs;
    int32_t top_logprobs;
    deepc_logit_bias *bias;   /* [n_bias] */
    int32_t n_bias;
    dc_sampler *smp;
    dc_output out;
    deepc_event_fn on_event;
    void *user;
    double t_submit, t_first;
    int32_t batch_last;       /* index in the step's batch of its last token, -1 if none */
} request;

typedef struct {
    int32_t *tokens;          /* what the cache holds */
    int32_t n_tokens, cap;
    request *owner;           /* NULL: free */
    uint64_t last_used;
} slot;

struct deepc_engine {
    deepc_model *model;
    deepc_context *ctx;
    dc_tokenizer *tok;
    int32_t n_slots, n_ctx, n_batch, n_vocab, max_queue;
    slot *slots;
    int32_t close_think[MAX_FORCED]; /* DC_REASONING_CLOSE_TEXT as tokens */
    int32_t n_close_think;
    /* the batch of one step */
    int32_t *b_tok, *b_seq;
    int8_t *b_logits;
    deepc_token_logprob *top; /* [DEEPC_MAX_TOP_LOGPROBS] */
    float *biased;            /* [n_vocab] logits + a request's logit_bias */
    request *active;          /* engine thread only */
    uint64_t clock;           /* steps, for LRU */
    /* shared with other threads, under mu */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    request *incoming;
    int32_t n_incoming;
    request *cancelled;       /* left the queue before a slot: DONE at the next step */
    uint64_t next_id;
    bool stop;
    deepc_engine_stats stats;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

deepc_engine_params deepc_engine_default_params(void) {
    return (deepc_engine_params){.n_slots = 1, .n_batch = 512, .max_queue = 64};
}

deepc_engine *deepc_engine_create(deepc_model *model, const deepc_engine_params *params, char err[DEEPC_ERR_LEN]) {
    deepc_engine_params p = params ? *params : deepc_engine_default_params();
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.max_queue <= 0) p.max_queue = 64;
    if (p.n_slots < 1 || p.n_slots > 1024) return dc_err(err, "n_slots %d: must be 1..1024", p.n_slots), NULL;
    /* every slot must fit its pending tokens into one batch */
    if (p.n_batch < p.n_slots * (MAX_FORCED + 1)) p.n_batch = p.n_slots * (MAX_FORCED + 1);
    deepc_engine *e = calloc(1, sizeof *e);
    if (!e) return dc_err(err, "out of memory"), NULL;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->wake, NULL);
    e->model = model;
    e->n_slots = p.n_slots;
    e->n_batch = p.n_batch;
    e->max_queue = p.max_queue;
    e->next_id = 1;
    deepc_context_params cp = deepc_context_default_params();
    cp.n_ctx = p.n_ctx;
    cp.n_seq_max = p.n_slots;
    cp.n_batch = p.n_batch;
    cp.n_threads = p.n_threads;
    cp.kv_type = p.kv_type;
    e->ctx = deepc_context_create(model, &cp, err);
    if (!e->ctx) return deepc_engine_free(e), NULL;
    /* a model file without a vocabulary (benchmarks) runs on token ids alone */
    if (dc_gguf_find(model->gguf, "tokenizer.ggml.model")) {
        e->tok = (dc_tokenizer *)deepc_tokenizer_from_model(model, err);
        if (!e->tok) return deepc_engine_free(e), NULL;
    }
    e->n_ctx = deepc_context_n_ctx(e->ctx);
    e->n_vocab = deepc_model_n_vocab(model);
    dc_tok_ids ids = {0};
    if (e->tok && dc_tok_encode(e->tok, DC_REASONING_CLOSE_TEXT, strlen(DC_REASONING_CLOSE_TEXT), DC_TOK_PARSE_SPECIAL, &ids,
                      err))
        for (size_t i = 0; i < ids.n && i < MAX_FORCED; i++) e->close_think[e->n_close_think++] = ids.ids[i];
    dc_tok_ids_free(&ids);
    e->slots = calloc((size_t)e->n_slots, sizeof *e->slots);
    e->b_tok = malloc(sizeof *e->b_tok * (size_t)e->n_batch);
    e->b_seq = malloc(sizeof *e->b_seq * (size_t)e->n_batch);
    e->b_logits = malloc((size_t)e->n_batch);
    e->top = malloc(sizeof *e->top * DEEPC_MAX_TOP_LOGPROBS);
    e->biased = malloc(sizeof *e->biased * (size_t)e->n_vocab);
    if (!e->slots || !e->b_tok || !e->b_seq || !e->b_logits || !e->top || !e->biased) {
        deepc_engine_free(e);
        return dc_err(err, "out of memory"), NULL;
    }
    e->stats.n_slots = e->n_slots;
    e->stats.kv_total_tokens = (int64_t)e->n_slots * e->n_ctx;
    return e;
}

static void request_free(request *r) {
    if (!r) return;
    dc_sampler_free(r->smp);
    dc_output_free(&r->out);
    free(r->bias);
    free(r->prompt);
    free(r);
}

void deepc_engine_free(deepc_engine *e) {
    if (!e) return;
    for (request *r = e->active, *n; r; r = n) n = r->next, request_free(r);
    for (request *r = e->incoming, *n; r; r = n) n = r->next, request_free(r);
    for (request *r = e->cancelled, *n; r; r = n) n = r->next, request_free(r);
    for (int32_t i = 0; e->slots && i < e->n_slots; i++) free(e->slots[i].tokens);
    free(e->slots);
    free(e->b_tok);
    free(e->b_seq);
    free(e->b_logits);
    free(e->top);
    free(e->biased);
    dc_tok_free(e->tok);
    deepc_context_free(e->ctx);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

const deepc_tokenizer *deepc_engine_tokenizer(const deepc_engine *e) { return (const deepc_tokenizer *)e->tok; }
int32_t deepc_engine_n_ctx(const deepc_engine *e) { return e->n_ctx; }

uint64_t deepc_engine_submit(deepc_engine *e, const deepc_request *in, bool *queue_full, char err[DEEPC_ERR_LEN]) {
    if (queue_full) *queue_full = false;
    if (!in->prompt || in->n_prompt < 1) return dc_err(err, "the prompt is empty"), 0;
    if (in->n_prompt >= e->n_ctx)
        return dc_err(err, "the prompt has %d tokens but the context holds %d", in->n_prompt, e->n_ctx), 0;
    for (int32_t i = 0; i < in->n_prompt; i++)
        if (in->prompt[i] < 0 || in->prompt[i] >= e->n_vocab)
            return dc_err(err, "prompt token %d: id %d is out of range [0, %d)", i, in->prompt[i], e->n_vocab), 0;
    if (in->n_stop < 0 || in->n_stop > DEEPC_MAX_STOP)
        return dc_err(err, "stop: at most %d strings", DEEPC_MAX_STOP), 0;
    if (in->top_logprobs < 0 || in->top_logprobs > DEEPC_MAX_TOP_LOGPROBS)
        return dc_err(err, "top_logprobs %d: must be 0..%d", in->top_logprobs, DEEPC_MAX_TOP_LOGPROBS), 0;
    if (!in->on_event) return dc_err(err, "a request needs an event callback"), 0;
    if (in->n_logit_bias < 0 || in->n_logit_bias > DEEPC_MAX_LOGIT_BIAS || (in->n_logit_bias && !in->logit_bias))
        return dc_err(err, "logit_bias: at most %d entries", DEEPC_MAX_LOGIT_BIAS), 0;
    for (int32_t i = 0; i < in->n_logit_bias; i++)
        if (in->logit_bias[i].token < 0 || in->logit_bias[i].token >= e->n_vocab || isnan(in->logit_bias[i].bias) ||
            in->logit_bias[i].bias == INFINITY)
            return dc_err(err, "logit_bias: token %d (bias %g) is not a token id with a finite bias or -inf",
                          in->logit_bias[i].token, (double)in->logit_bias[i].bias),
                   0;
    request *r = calloc(1, sizeof *r);
    if (!r) return dc_err(err, "out of memory"), 0;
    r->smp = dc_sampler_create(&in->sampling, e->n_vocab, err);
    r->prompt = malloc(sizeof *r->prompt * (size_t)in->n_prompt);
    r->n_bias = in->n_logit_bias;
    r->bias = r->n_bias ? malloc(sizeof *r->bias * (size_t)r->n_bias) : NULL;
    const bool out_ok = dc_output_init(&r->out, e->tok, in->stop, in->n_stop, in->split_reasoning,
                                       in->starts_in_reasoning, in->reasoning_budget);
    if (!r->smp || !r->prompt || !out_ok || (r->n_bias && !r->bias)) {
        if (r->smp) dc_err(err, "out of memory");
        request_free(r);
        return 0;
    }
    memcpy(r->prompt, in->prompt, sizeof *r->prompt * (size_t)in->n_prompt);
    if (r->n_bias) memcpy(r->bias, in->logit_bias, sizeof *r->bias * (size_t)r->n_bias);
    r->n_prompt = in->n_prompt;
    r->max_tokens = in->max_tokens;
    r->ignore_eos = in->ignore_eos;
    r->logprobs = in->logprobs || in->top_logprobs > 0;
    r->top_logprobs = in->top_logprobs;
    r->on_event = in->on_event;
    r->user = in->user;
    r->slot = -1;
    r->t_submit = now_seconds();
    pthread_mutex_lock(&e->mu);
    uint64_t id = 0;
    /* max_queue requests may wait beyond the free slots (a burst on an idle
     * engine waits here until the engine thread admits it) */
    if (e->n_incoming >= e->max_queue + (e->n_slots - e->stats.active_slots)) {
        if (queue_full) *queue_full = true;
        dc_err(err, "the queue is full (%d requests waiting)", e->n_incoming);
    } else {
        id = r->id = e->next_id++;
        request **tail = &e->incoming;
        while (*tail) tail = &(*tail)->next;
        *tail = r;
        e->n_incoming++;
        e->stats.queued = e->n_incoming;
        pthread_cond_signal(&e->wake);
    }
    pthread_mutex_unlock(&e->mu);
    if (!id) request_free(r);
    return id;
}

void deepc_engine_cancel(deepc_engine *e, uint64_t id) {
    pthread_mutex_lock(&e->mu);
    /* a queued request gives its queue place back at once */
    for (request **p = &e->incoming; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            request *r = *p;
            *p = r->next;
            e->n_incoming--;
            e->stats.queued = e->n_incoming;
            r->next = e->cancelled, e->cancelled = r;
            break;
        }
    for (request *r = e->active; r; r = r->next)
        if (r->id == id) r->cancelled = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
}

void deepc_engine_stop(deepc_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
}

void deepc_engine_get_stats(deepc_engine *e, deepc_engine_stats *out) {
    pthread_mutex_lock(&e->mu);
    *out = e->stats;
    pthread_mutex_unlock(&e->mu);
}

/* ---- events -------------------------------------------------------------- */

static void send_text(request *r, deepc_event *ev) {
    ev->id = r->id;
    ev->content = r->out.content.len ? r->out.content.p : "";
    ev->content_len = r->out.content.len;
    ev->reasoning = r->out.reasoning.len ? r->out.reasoning.p : "";
    ev->reasoning_len = r->out.reasoning.len;
    ev->n_prompt = r->n_prompt;
    ev->n_cached = r->n_cached;
    ev->n_generated = r->n_generated;
    r->on_event(r->user, ev);
    dc_output_clear(&r->out);
}

/* Ends a request: last text, DONE event, slot freed, request freed. */
static void finish(deepc_engine *e, request *r, deepc_finish_reason why, const char *error) {
    if (why != DEEPC_FINISH_ERROR) dc_output_finish(&r->out);
    const double t = now_seconds();
    deepc_event ev = {.kind = DEEPC_EVENT_DONE, .token = -1, .finish = why, .error = error,
                      .t_first_token = r->t_first > 0 ? r->t_first - r->t_submit : 0, .t_total = t - r->t_submit};
    send_text(r, &ev);
    if (r->slot >= 0) {
        e->slots[r->slot].owner = NULL;
        e->slots[r->slot].last_used = e->clock;
    }
    pthread_mutex_lock(&e->mu);
    request **p = &e->active;
    while (*p && *p != r) p = &(*p)->next;
    if (*p) *p = r->next;
    if (r->slot >= 0) e->stats.active_slots--;
    e->stats.requests_done++;
    e->stats.generated_tokens += (uint64_t)r->n_generated;
    pthread_mutex_unlock(&e->mu);
    request_free(r);
}

/* ---- admission and the prefix cache --------------------------------------- */

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb) {
    int32_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

static bool slot_reserve(slot *s, int32_t n) {
    if (n <= s->cap) return true;
    int32_t cap = s->cap ? s->cap : 256;
    while (cap < n) cap *= 2;
    int32_t *p = realloc(s->tokens, sizeof *p * (size_t)cap);
    if (!p) return false;
    s->tokens = p;
    s->cap = cap;
    return true;
}

/* Puts r in a free slot, reusing the longest cached prefix; false if none is free. */
static bool admit(deepc_engine *e, request *r) {
    int32_t best = -1, best_lcp = -1, donor = -1, donor_lcp = 0;
    for (int32_t i = 0; i < e->n_slots; i++) {
        const slot *s = &e->slots[i];
        const int32_t lcp = common_prefix(s->tokens, s->n_tokens, r->prompt, r->n_prompt);
        if (!s->owner && (lcp > best_lcp || (lcp == best_lcp && s->last_used < e->slots[best].last_used)))
            best = i, best_lcp = lcp;
        if (lcp > donor_lcp) donor = i, donor_lcp = lcp;
    }
    if (best < 0) return false;
    slot *s = &e->slots[best];
    if (!slot_reserve(s, r->n_prompt + 1)) return false;
    const int32_t limit = r->n_prompt - 1; /* the last prompt token is always evaluated */
    int32_t reuse = best_lcp < limit ? best_lcp : limit;
    const int32_t from_donor = donor_lcp < limit ? donor_lcp : limit;
    if (from_donor > reuse) {
        deepc_seq_copy(e->ctx, donor, best, from_donor);
        memcpy(s->tokens, e->slots[donor].tokens, sizeof *s->tokens * (size_t)from_donor);
        reuse = from_donor;
    }
    deepc_seq_truncate(e->ctx, best, reuse);
    s->n_tokens = reuse;
    s->owner = r;
    r->slot = best;
    r->n_past = r->n_cached = reuse;
    r->state = RQ_PREFILL;
    pthread_mutex_lock(&e->mu);
    e->stats.prompt_tokens += (uint64_t)r->n_prompt;
    e->stats.cached_tokens += (uint64_t)reuse;
    e->stats.prefix_hits += reuse > 0;
    pthread_mutex_unlock(&e->mu);
    return true;
}

/* Ends the requests cancelled while queued, then moves queued requests into
 * free slots, in order of arrival. */
static void take_incoming(deepc_engine *e) {
    pthread_mutex_lock(&e->mu);
    request *gone = e->cancelled;
    e->cancelled = NULL;
    pthread_mutex_unlock(&e->mu);
    for (request *r = gone, *n; r; r = n) n = r->next, r->next = NULL, finish(e, r, DEEPC_FINISH_CANCELLED, NULL);
    for (;;) {
        pthread_mutex_lock(&e->mu);
        request *r = e->incoming;
        const bool slot_free = e->stats.active_slots < e->n_slots;
        pthread_mutex_unlock(&e->mu);
        if (!r || !slot_free) break;
        const bool ok = admit(e, r);
        pthread_mutex_lock(&e->mu);
        e->incoming = r->next, e->n_incoming--;
        r->next = NULL;
        if (ok) {
            request **tail = &e->active;
            while (*tail) tail = &(*tail)->next;
            *tail = r;
            e->stats.active_slots++;
        }
        e->stats.queued = e->n_incoming;
        pthread_mutex_unlock(&e->mu);
        if (!ok) finish(e, r, DEEPC_FINISH_ERROR, "out of memory");
    }
}

/* ---- sampling ---------------------------------------------------------------- */

/* log p(token) and the top alternatives (best first, ties by lower id) from raw logits. */
static float log_probs(deepc_engine *e, const float *logits, int32_t token, int32_t n_top) {
    float max = -INFINITY;
    for (int32_t i = 0; i < e->n_vocab; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0;
    for (int32_t i = 0; i < e->n_vocab; i++) sum += exp((double)logits[i] - max);
    const double log_z = (double)max + log(sum);
    int32_t n = 0;
    for (int32_t i = 0; i < e->n_vocab && n_top > 0; i++) {
        if (n == n_top && logits[i] <= logits[e->top[n - 1].token]) continue;
        int32_t k = n < n_top ? n++ : n - 1;
        while (k > 0 && logits[e->top[k - 1].token] < logits[i]) e->top[k] = e->top[k - 1], k--;
        e->top[k].token = i;
    }
    for (int32_t k = 0; k < n; k++) e->top[k].logprob = (float)((double)logits[e->top[k].token] - log_z);
    return (float)((double)logits[token] - log_z);
}

/* After r's tokens: finish it if a limit is reached, else it decodes on. */
static void go_on_or_finish(deepc_engine *e, request *r, bool eog) {
    const slot *s = &e->slots[r->slot];
    if (eog || r->out.stopped) finish(e, r, DEEPC_FINISH_STOP, NULL);
    else if (r->out.oom) finish(e, r, DEEPC_FINISH_ERROR, "out of memory");
    else if ((r->max_tokens >= 0 && r->n_generated >= r->max_tokens) || s->n_tokens + r->n_pending > e->n_ctx)
        finish(e, r, DEEPC_FINISH_LENGTH, NULL);
    else
        r->state = RQ_DECODE;
}

/* The reasoning budget is spent: instead of sampling, the engine writes
 * `</think>` itself (the tokens count as generated; they must fit in
 * max_tokens, else the request ends). One TOKEN event, token -1. */
static void close_reasoning(deepc_engine *e, request *r) {
    if (r->max_tokens >= 0 && r->n_generated + e->n_close_think > r->max_tokens)
        return finish(e, r, DEEPC_FINISH_LENGTH, NULL);
    r->n_pending = 0;
    for (int32_t i = 0; i < e->n_close_think; i++) {
        r->pending[r->n_pending++] = e->close_think[i];
        dc_sampler_accept(r->smp, e->close_think[i]);
        dc_output_feed(&r->out, e->close_think[i]);
    }
    r->n_generated += e->n_close_think;
    if (r->t_first == 0) r->t_first = now_seconds();
    deepc_event ev = {.kind = DEEPC_EVENT_TOKEN, .token = -1};
    send_text(r, &ev);
    go_on_or_finish(e, r, false);
}

/* r's logits are ready: sample, emit, and queue the next token or finish. */
static void advance(deepc_engine *e, request *r, const float *logits) {
    if (r->max_tokens == 0) return finish(e, r, DEEPC_FINISH_LENGTH, NULL); /* the prompt only */
    if (dc_output_over_budget(&r->out) && e->n_close_think > 0) return close_reasoning(e, r);
    const float *pick_from = logits;
    if (r->n_bias) {
        memcpy(e->biased, logits, sizeof *e->biased * (size_t)e->n_vocab);
        for (int32_t i = 0; i < r->n_bias; i++) e->biased[r->bias[i].token] += r->bias[i].bias;
        pick_from = e->biased;
    }
    const int32_t t = dc_sampler_sample(r->smp, pick_from);
    dc_sampler_accept(r->smp, t);
    r->n_generated++;
    if (r->n_generated == 1) r->t_first = now_seconds();
    deepc_event ev = {.kind = DEEPC_EVENT_TOKEN, .token = t};
    if (r->logprobs) {
        ev.logprob = log_probs(e, logits, t, r->top_logprobs);
        ev.n_top = r->top_logprobs;
        ev.top = e->top;
    }
    const bool eog = !r->ignore_eos && e->tok && dc_tok_is_eog(e->tok, t);
    if (!eog) dc_output_feed(&r->out, t);
    r->n_pending = 0;
    r->pending[r->n_pending++] = t;
    send_text(r, &ev);
    go_on_or_finish(e, r, eog);
}

/* ---- the step ------------------------------------------------------------------ */

static int32_t add_tokens(deepc_engine *e, int32_t n, request *r, const int32_t *toks, int32_t m, bool want_logits) {
    slot *s = &e->slots[r->slot];
    for (int32_t i = 0; i < m; i++) {
        e->b_tok[n + i] = toks[i];
        e->b_seq[n + i] = r->slot;
        e->b_logits[n + i] = 0;
        s->tokens[s->n_tokens++] = toks[i];
    }
    e->b_logits[n + m - 1] = want_logits;
    r->batch_last = want_logits ? n + m - 1 : -1;
    return n + m;
}

/* Refreshes the shared counters (active_slots is kept by admission and
 * finish); returns the requests active or queued. */
static int update_stats(deepc_engine *e, double decode_seconds) {
    pthread_mutex_lock(&e->mu);
    e->stats.decode_seconds += decode_seconds;
    e->stats.kv_used_tokens = 0;
    for (int32_t i = 0; i < e->n_slots; i++)
        if (e->slots[i].owner) e->stats.kv_used_tokens += e->slots[i].n_tokens;
    const int active = e->stats.active_slots + e->n_incoming;
    pthread_mutex_unlock(&e->mu);
    return active;
}

int deepc_engine_step(deepc_engine *e, char err[DEEPC_ERR_LEN]) {
    /* 1. cancellations, admissions */
    pthread_mutex_lock(&e->mu);
    request *gone = NULL;
    for (request **p = &e->active; *p;)
        if ((*p)->cancelled) {
            request *r = *p;
            *p = r->next;
            r->next = gone, gone = r;
        } else {
            p = &(*p)->next;
        }
    pthread_mutex_unlock(&e->mu);
    for (request *r = gone, *n; r; r = n) n = r->next, finish(e, r, DEEPC_FINISH_CANCELLED, NULL);
    take_incoming(e);
    e->clock++;

    /* 2. the batch: decoding requests first, then prompt chunks */
    int32_t n = 0;
    for (request *r = e->active; r; r = r->next) {
        r->batch_last = -1;
        if (r->state == RQ_DECODE && slot_reserve(&e->slots[r->slot], e->slots[r->slot].n_tokens + r->n_pending))
            n = add_tokens(e, n, r, r->pending, r->n_pending, true);
    }
    for (request *r = e->active; r && n < e->n_batch; r = r->next) {
        if (r->state != RQ_PREFILL) continue;
        const int32_t m = r->n_prompt - r->n_past < e->n_batch - n ? r->n_prompt - r->n_past : e->n_batch - n;
        n = add_tokens(e, n, r, r->prompt + r->n_past, m, r->n_past + m == r->n_prompt);
        r->n_past += m;
    }
    if (n == 0) return update_stats(e, 0);

    /* 3. one forward pass for everyone */
    const double t0 = now_seconds();
    deepc_batch b = {.n_tokens = n, .tokens = e->b_tok, .seq = e->b_seq, .logits = e->b_logits};
    const int rc = deepc_decode(e->ctx, &b, err);
    const double dt = now_seconds() - t0;
    if (rc < 0) {
        while (e->active) finish(e, e->active, DEEPC_FINISH_ERROR, err);
        for (int32_t i = 0; i < e->n_slots; i++) {
            deepc_seq_truncate(e->ctx, i, 0);
            e->slots[i].n_tokens = 0;
        }
        update_stats(e, dt);
        return -1;
    }

    /* 4. sample and emit */
    for (request *r = e->active, *next; r; r = next) {
        next = r->next;
        if (r->batch_last >= 0) advance(e, r, deepc_get_logits(e->ctx, r->batch_last));
    }
    return update_stats(e, dt);
}

void deepc_engine_run(deepc_engine *e) {
    char err[DEEPC_ERR_LEN];
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stop && !e->active && !e->incoming && !e->cancelled) pthread_cond_wait(&e->wake, &e->mu);
        const bool stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        if (stop) break;
        deepc_engine_step(e, err);
    }
    while (e->active) finish(e, e->active, DEEPC_FINISH_CANCELLED, NULL);
    pthread_mutex_lock(&e->mu);
    request *q = e->incoming;
    e->incoming = NULL;
    e->n_incoming = 0;
    pthread_mutex_unlock(&e->mu);
    take_incoming(e); /* the ones cancelled while queued */
    for (request *r = q, *n; r; r = n) n = r->next, r->next = NULL, finish(e, r, DEEPC_FINISH_CANCELLED, NULL);
}
