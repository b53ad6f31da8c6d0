/* api_chat.c - the generation endpoints (see api_chat.h).
 *
 * One `call` lives per generation request. Waiting is done in slices of
 * 100 ms on the job's queue (pump); after each slice the call checks the
 * server's `stopping` flag, the --timeout deadline and whether the client is
 * still connected, and cancels the engine request if any says so; it then
 * keeps waiting for the engine's DONE, which arrives at the next step.
 *
 * Non-streamed: the handler pumps until DONE, gathering the text and log
 * probabilities, and answers with one JSON object. Streamed: the response is
 * a libmicrohttpd callback response of unknown size (chunked on HTTP/1.1, so
 * keep-alive survives); its reader pumps and turns each batch into SSE
 * chunks ("data: {json}\n\n"). libmicrohttpd calls stream_free when the
 * response is done with, normally or because the client went away; that
 * cancels the request if it still runs and drops the connection's reference.
 */
#include "api_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api_json.h"
#include "api_parse.h"
#include "http.h"
#include "stream.h"

#define SLICE_MS 100

static atomic_int calls_active;

int api_calls_active(void) {
    return atomic_load(&calls_active);
}

typedef struct {
    srv_state *s;
    struct MHD_Connection *conn;
    srv_job *job;
    bool chat, include_usage, logprobs;
    api_envelope env;
    char id[48];
    double deadline;
    job_batch batch;       /* the latest output taken from the job */
    job_result res;        /* valid once done */
    bool done, timed_out, gone, shut;
    /* streaming */
    char *out;
    size_t out_len, out_off, out_cap;
    bool started, finished;
    size_t text_offset;    /* legacy logprobs: bytes of text so far */
} call;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void random_bytes(void *p, size_t n) {
    if (getrandom(p, n, 0) != (ssize_t)n) { /* no entropy source: time is unique enough for ids and seeds */
        const double t = now_s();
        memset(p, 0, n);
        memcpy(p, &t, n < sizeof t ? n : sizeof t);
    }
}

/* Takes the job's next output (waiting up to one slice); true once done. */
static bool pump(call *k) {
    k->done = job_wait(k->job, &k->batch, SLICE_MS, &k->res);
    if (k->done) return true;
    if (k->timed_out || k->gone || k->shut) return false; /* already cancelled: wait for DONE */
    if (atomic_load(&k->s->stopping)) k->shut = true;
    else if (now_s() > k->deadline) k->timed_out = true;
    else if (http_client_gone(k->conn)) k->gone = true;
    if (k->timed_out || k->gone || k->shut) job_cancel(k->job, k->s->engine);
    return false;
}

/* The finish reason of a done call; NULL for an error. A request cancelled
 * by the deadline finishes with "length"; one cancelled by the shutdown is
 * an error (one cancelled because its client left is not answered). */
static const char *finish_reason(const call *k) {
    if (k->res.finish == DEEPC_FINISH_ERROR || (k->res.finish == DEEPC_FINISH_CANCELLED && !k->timed_out)) return NULL;
    return api_finish_name(k->res.finish == DEEPC_FINISH_CANCELLED ? DEEPC_FINISH_LENGTH : k->res.finish);
}

static void end_error(const call *k, api_error *e) {
    if (k->res.finish == DEEPC_FINISH_CANCELLED) api_fail(e, 503, "server_error", NULL, NULL, "the server is shutting down");
    else api_fail(e, 500, "server_error", NULL, NULL, "generation failed: %s", k->res.error);
}

static void call_free(call *k) {
    if (k->job) {
        if (!k->done) job_cancel(k->job, k->s->engine);
        job_release(k->job);
    }
    job_batch_free(&k->batch);
    free(k->out);
    free(k);
    atomic_fetch_sub(&calls_active, 1);
}

/* ---- prompt ---- */

/* Prompt token ids for r (malloc'ed *ids); -1 with *e on a client error. */
static int build_prompt(const call *k, const api_request *r, int32_t **ids, int32_t *n, bool *opens_reasoning,
                        api_error *e) {
    const srv_state *s = k->s;
    char err[DEEPC_ERR_LEN];
    const char *param = k->chat ? "messages" : "prompt";
    int64_t len = 0;
    *opens_reasoning = false;
    if (k->chat) {
        char *prompt = NULL;
        size_t plen = 0;
        if (deepc_chat_render(s->tmpl, r->messages_json, true, r->tools_json, r->kwargs_json, &prompt, &plen, err))
            return api_fail(e, 400, "invalid_request_error", NULL, "messages", "chat template: %s", err);
        *opens_reasoning = deepc_prompt_opens_reasoning(prompt, plen);
        len = deepc_tokenize(s->tok, prompt, plen, DEEPC_TOKENIZE_PARSE_SPECIAL, ids, err);
        free(prompt);
    } else if (r->n_prompt_ids >= 0) {
        for (int32_t i = 0; i < r->n_prompt_ids; i++)
            if (r->prompt_ids[i] >= s->n_vocab)
                return api_fail(e, 400, "invalid_request_error", NULL, "prompt", "token id %d is not in the vocabulary",
                                r->prompt_ids[i]);
        if (!(*ids = malloc(((size_t)r->n_prompt_ids + 1) * sizeof **ids)))
            return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        memcpy(*ids, r->prompt_ids, (size_t)r->n_prompt_ids * sizeof **ids);
        len = r->n_prompt_ids;
    } else {
        len = deepc_tokenize(s->tok, r->prompt, r->prompt_len, DEEPC_TOKENIZE_ADD_SPECIAL | DEEPC_TOKENIZE_PARSE_SPECIAL,
                             ids, err);
    }
    if (len < 0) return api_fail(e, 500, "server_error", NULL, NULL, "tokenizer: %s", err);
    *n = (int32_t)len;
    if (len == 0) return api_fail(e, 400, "invalid_request_error", NULL, param, "the prompt is empty");
    if (len >= s->n_ctx)
        return api_fail(e, 400, "invalid_request_error", "context_length_exceeded", param,
                        "the prompt is %lld tokens long; the context holds %d", (long long)len, s->n_ctx);
    return 0;
}

/* Validates the body, builds the prompt and submits the request; -1 with *e. */
static int start(call *k, const char *body, size_t len, bool *stream, api_error *e) {
    api_request r;
    if ((k->chat ? api_parse_chat : api_parse_completion)(body, len, &r, e)) return -1;
    int32_t *ids = NULL, n = 0;
    bool opens = false;
    int rc = 0;
    if (r.model && strcmp(r.model, k->s->model_id))
        rc = api_fail(e, 404, "not_found_error", "model_not_found", "model", "the model '%.128s' does not exist",
                      r.model);
    if (rc == 0) rc = build_prompt(k, &r, &ids, &n, &opens, e);
    if (rc == 0 && !(k->job = job_create(r.logprobs)))
        rc = api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc == 0) {
        deepc_request rq = {.prompt = ids, .n_prompt = n, .sampling = k->s->sampling, .max_tokens = r.max_tokens,
                            .stop = (const char *const *)r.stop, .n_stop = r.n_stop, .split_reasoning = k->chat,
                            .starts_in_reasoning = opens, .reasoning_budget = r.reasoning_budget,
                            .logprobs = r.logprobs, .top_logprobs = r.top_logprobs, .logit_bias = r.logit_bias,
                            .n_logit_bias = r.n_logit_bias};
        api_apply_sampling(&r, &rq.sampling);
        if (!r.set.seed) random_bytes(&rq.sampling.seed, sizeof rq.sampling.seed);
        bool queue_full = false;
        char err[DEEPC_ERR_LEN];
        if (!job_submit(k->job, k->s->engine, &rq, &queue_full, err))
            rc = queue_full ? api_fail(e, 429, "rate_limit_error", "rate_limit_exceeded", NULL,
                                       "too many requests are waiting; try again later")
                            : api_fail(e, 400, "invalid_request_error", NULL, NULL, "%s", err);
    }
    *stream = r.stream;
    k->include_usage = r.include_usage;
    k->logprobs = r.logprobs;
    free(ids);
    api_request_free(&r);
    return rc;
}

/* ---- non-streamed ---- */

static char *full_response(call *k, const job_batch *all) {
    cJSON *choices, *root = api_envelope_json(&k->env, &choices), *ch = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    if (k->chat) {
        cJSON *msg = cJSON_AddObjectToObject(ch, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddItemToObject(msg, "content", api_json_string(all->content ? all->content : "", all->content_len));
        if (all->reasoning_len) {
            cJSON_AddItemToObject(msg, "reasoning_content", api_json_string(all->reasoning, all->reasoning_len));
            cJSON_AddItemToObject(msg, "reasoning", api_json_string(all->reasoning, all->reasoning_len));
        }
        if (k->logprobs)
            cJSON_AddItemToObject(cJSON_AddObjectToObject(ch, "logprobs"), "content",
                                  api_chat_logprobs(k->s->tok, all->lp, all->n_lp));
        else cJSON_AddNullToObject(ch, "logprobs");
    } else {
        cJSON_AddItemToObject(ch, "text", api_json_string(all->content ? all->content : "", all->content_len));
        cJSON *lp = NULL;
        if (k->logprobs) api_legacy_logprobs(k->s->tok, all->lp, all->n_lp, &lp, &k->text_offset);
        cJSON_AddItemToObject(ch, "logprobs", lp ? lp : cJSON_CreateNull());
    }
    cJSON_AddStringToObject(ch, "finish_reason", finish_reason(k));
    cJSON_AddItemToObject(root, "usage", api_usage_json(&k->res));
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

static enum MHD_Result respond_whole(call *k) {
    job_batch all = {0};
    bool ok = true;
    for (bool done = false; !done;) {
        done = pump(k);
        ok = ok && job_batch_append(&all, &k->batch);
    }
    enum MHD_Result res;
    api_error e;
    http_hold_timeout(k->conn, false);
    if (k->gone) res = MHD_NO; /* nobody to answer */
    else if (!ok || !finish_reason(k)) {
        if (ok) end_error(k, &e);
        else api_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        res = http_respond_error(k->conn, &e);
    } else res = http_respond_json(k->conn, 200, full_response(k, &all));
    job_batch_free(&all);
    call_free(k);
    return res;
}

/* ---- streamed ---- */

static void out_put(call *k, const char *s, size_t n) {
    if (k->out_len + n > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap : 4096;
        while (cap < k->out_len + n) cap *= 2;
        char *p = realloc(k->out, cap);
        if (!p) {
            k->gone = true; /* cannot go on: end the stream */
            return;
        }
        k->out = p;
        k->out_cap = cap;
    }
    memcpy(k->out + k->out_len, s, n);
    k->out_len += n;
}

/* Appends "data: {json}\n\n" and frees v. */
static void out_event(call *k, cJSON *v) {
    char *json = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (!json) {
        k->gone = true;
        return;
    }
    out_put(k, "data: ", 6);
    out_put(k, json, strlen(json));
    out_put(k, "\n\n", 2);
    free(json);
}

/* A chunk with one choice {"index": 0, ...}, returned through *choice. */
static cJSON *chunk(call *k, cJSON **choice) {
    cJSON *choices, *root = api_envelope_json(&k->env, &choices);
    *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, *choice);
    cJSON_AddNumberToObject(*choice, "index", 0);
    return root;
}

/* A chat chunk whose delta holds `key` (and `key2`) = text; logprobs of
 * lp[0, n_lp) when asked; finish_reason when final. */
static void chat_chunk(call *k, const char *key, const char *key2, const char *text, size_t len, const job_logprob *lp,
                       size_t n_lp, const char *finish) {
    cJSON *ch, *root = chunk(k, &ch), *delta = cJSON_AddObjectToObject(ch, "delta");
    if (!k->started) cJSON_AddStringToObject(delta, "role", "assistant");
    if (key) cJSON_AddItemToObject(delta, key, api_json_string(text, len));
    if (key2) cJSON_AddItemToObject(delta, key2, api_json_string(text, len));
    if (k->logprobs && n_lp)
        cJSON_AddItemToObject(cJSON_AddObjectToObject(ch, "logprobs"), "content", api_chat_logprobs(k->s->tok, lp, n_lp));
    else cJSON_AddNullToObject(ch, "logprobs");
    if (finish) cJSON_AddStringToObject(ch, "finish_reason", finish);
    else cJSON_AddNullToObject(ch, "finish_reason");
    out_event(k, root);
}

static void completion_chunk(call *k, const char *text, size_t len, const job_logprob *lp, size_t n_lp,
                             const char *finish) {
    cJSON *ch, *root = chunk(k, &ch), *lps = NULL;
    cJSON_AddItemToObject(ch, "text", api_json_string(text, len));
    if (k->logprobs && n_lp) api_legacy_logprobs(k->s->tok, lp, n_lp, &lps, &k->text_offset);
    cJSON_AddItemToObject(ch, "logprobs", lps ? lps : cJSON_CreateNull());
    if (finish) cJSON_AddStringToObject(ch, "finish_reason", finish);
    else cJSON_AddNullToObject(ch, "finish_reason");
    out_event(k, root);
}

/* The latest batch as chunks: reasoning first, then content; the log
 * probabilities go with the last of them. */
static void out_batch(call *k) {
    const job_batch *b = &k->batch;
    if (!k->chat) {
        if (b->content_len || b->n_lp) completion_chunk(k, b->content ? b->content : "", b->content_len, b->lp, b->n_lp, NULL);
        return;
    }
    if (b->reasoning_len)
        chat_chunk(k, "reasoning_content", "reasoning", b->reasoning, b->reasoning_len, b->lp,
                   b->content_len ? 0 : b->n_lp, NULL);
    if (b->content_len || (b->n_lp && !b->reasoning_len))
        chat_chunk(k, "content", NULL, b->content ? b->content : "", b->content_len, b->lp, b->n_lp, NULL);
}

/* The end of the stream: the final chunk (or an error), usage, [DONE]. */
static void out_end(call *k) {
    const char *finish = finish_reason(k);
    if (!finish) {
        api_error e;
        end_error(k, &e);
        char *json = api_error_json(&e);
        if (json) {
            out_put(k, "data: ", 6);
            out_put(k, json, strlen(json));
            out_put(k, "\n\n", 2);
        }
        free(json);
    } else if (k->chat) {
        chat_chunk(k, NULL, NULL, NULL, 0, NULL, 0, finish);
    } else {
        completion_chunk(k, "", 0, NULL, 0, finish);
    }
    if (finish && k->include_usage) {
        cJSON *choices, *root = api_envelope_json(&k->env, &choices);
        cJSON_AddItemToObject(root, "usage", api_usage_json(&k->res));
        out_event(k, root);
    }
    out_put(k, "data: [DONE]\n\n", 14);
    k->finished = true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    call *k = cls;
    while (k->out_off == k->out_len) {
        if (k->finished) {
            http_hold_timeout(k->conn, false); /* keep-alive from here on */
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        k->out_len = k->out_off = 0;
        if (!k->started && k->chat) {
            chat_chunk(k, "content", NULL, "", 0, NULL, 0, NULL); /* the role announcement */
            k->started = true;
            continue;
        }
        k->started = true;
        const bool done = pump(k);
        if (k->gone) return MHD_CONTENT_READER_END_WITH_ERROR;
        out_batch(k);
        if (done) out_end(k);
    }
    const size_t n = k->out_len - k->out_off < max ? k->out_len - k->out_off : max;
    memcpy(buf, k->out + k->out_off, n);
    k->out_off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls) {
    call_free(cls);
}

static enum MHD_Result respond_stream(call *k) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, k, stream_free);
    if (!r) {
        call_free(k);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return http_respond(k->conn, 200, r);
}

enum MHD_Result api_generate(srv_state *s, struct MHD_Connection *c, bool chat, const char *body, size_t len) {
    call *k = calloc(1, sizeof *k);
    if (!k) return MHD_NO;
    atomic_fetch_add(&calls_active, 1);
    k->s = s;
    k->conn = c;
    k->chat = chat;
    k->deadline = now_s() + s->timeout_s;
    unsigned char rnd[12];
    random_bytes(rnd, sizeof rnd);
    size_t w = (size_t)snprintf(k->id, sizeof k->id, "%s", chat ? "chatcmpl-" : "cmpl-");
    for (size_t i = 0; i < sizeof rnd; i++) w += (size_t)snprintf(k->id + w, sizeof k->id - w, "%02x", rnd[i]);
    k->env = (api_envelope){.id = k->id, .model = s->model_id, .created = (long long)time(NULL),
                            .object = chat ? "chat.completion" : "text_completion"};
    api_error e;
    bool stream = false;
    if (atomic_load(&s->stopping)) api_fail(&e, 503, "server_error", NULL, NULL, "the server is shutting down");
    else if (start(k, body, len, &stream, &e) == 0) {
        http_hold_timeout(c, true);
        if (!stream) return respond_whole(k);
        if (chat) k->env.object = "chat.completion.chunk";
        return respond_stream(k);
    }
    call_free(k);
    return http_respond_error(c, &e);
}
