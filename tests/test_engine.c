/* test_engine.c - the engine (requests + scheduler) through the public API
 * only, on fixture models:
 *   1. batching is invisible: prompts decoded concurrently, with chunked
 *      prefill sharing steps with running decodes, give exactly the tokens
 *      each gives alone (every fixture model: all tensor types, MoE, MLA);
 *   2. the prefix cache: a repeated prompt, and a prompt sharing a prefix
 *      held by another slot, reuse it (n_cached) and give the same tokens;
 *   3. stop strings end the output before the match, also when the match is
 *      spread over several tokens;
 *   4. cancel ends a request at the next step and frees its slot; a full
 *      queue refuses; invalid requests are refused with a message;
 *   5. the reasoning split and budget on a template that opens <think>;
 *   6. logprobs: the greedy token is the top alternative, probabilities <= 1;
 *   7. logit_bias: a large bias forces a token, -inf bans the greedy one.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepc.h"
#include "fixture.h"

enum { N_PROMPTS = 6, MAX_GEN = 24, MAX_TEXT = 4096 };

static const char *texts[N_PROMPTS] = {
    "The quick brown fox",
    "Once upon a time, in a land far away, there lived a king who had three daughters.",
    "1 2 3 4 5 6 7 8 9 10 11 12",
    "def main():\n    print('hello')\n",
    "Explain the theory of relativity in simple words, please. Use short sentences and examples.",
    "日本語のテキストも少し。",
};

typedef struct {
    int32_t toks[MAX_GEN + 32];
    int n;
    char content[MAX_TEXT], reasoning[MAX_TEXT];
    size_t content_len, reasoning_len;
    bool done;
    deepc_finish_reason finish;
    int n_cached, n_events;
    float top_logprob_ok; /* 1 while every logprobs check held */
} result;

static void collect(void *user, const deepc_event *ev) {
    result *r = user;
    r->n_events++;
    if (ev->kind == DEEPC_EVENT_TOKEN && r->n < MAX_GEN + 32) {
        r->toks[r->n++] = ev->token;
        if (ev->n_top > 0) {
            bool ok = ev->logprob <= 0 && ev->top[0].logprob >= ev->logprob;
            for (int i = 1; i < ev->n_top; i++) ok &= ev->top[i].logprob <= ev->top[i - 1].logprob;
            if (!ok) r->top_logprob_ok = 0;
        }
    }
    if (r->content_len + ev->content_len < MAX_TEXT) {
        memcpy(r->content + r->content_len, ev->content, ev->content_len);
        r->content_len += ev->content_len;
    }
    if (r->reasoning_len + ev->reasoning_len < MAX_TEXT) {
        memcpy(r->reasoning + r->reasoning_len, ev->reasoning, ev->reasoning_len);
        r->reasoning_len += ev->reasoning_len;
    }
    if (ev->kind == DEEPC_EVENT_DONE) {
        r->done = true;
        r->finish = ev->finish;
        r->n_cached = ev->n_cached;
    }
}

typedef struct {
    int32_t *ids;
    int n;
} prompt;

static deepc_engine *new_engine(deepc_model *m, int n_slots, int n_batch) {
    char err[DEEPC_ERR_LEN];
    deepc_engine_params p = deepc_engine_default_params();
    p.n_slots = n_slots;
    p.n_ctx = 256;
    p.n_batch = n_batch;
    p.n_threads = 2;
    deepc_engine *e = deepc_engine_create(m, &p, err);
    CHECKF(e, "%s", err);
    return e;
}

static uint64_t submit(deepc_engine *e, const prompt *p, result *r, deepc_request *tmpl) {
    char err[DEEPC_ERR_LEN];
    memset(r, 0, sizeof *r);
    r->top_logprob_ok = 1;
    deepc_request rq = *tmpl;
    rq.prompt = p->ids;
    rq.n_prompt = p->n;
    rq.on_event = collect;
    rq.user = r;
    const uint64_t id = deepc_engine_submit(e, &rq, NULL, err);
    CHECKF(id, "%s", err);
    return id;
}

static void run_all(deepc_engine *e) {
    char err[DEEPC_ERR_LEN];
    for (int guard = 0; guard < 10000; guard++) {
        const int n = deepc_engine_step(e, err);
        CHECKF(n >= 0, "%s", err);
        if (n <= 0) return;
    }
    CHECK(!"the engine did not finish");
}

static deepc_request greedy(const deepc_model *m, int max_tokens) {
    char err[DEEPC_ERR_LEN];
    deepc_request rq = {.max_tokens = max_tokens, .ignore_eos = true, .reasoning_budget = -1};
    CHECKF(deepc_model_default_sampling(m, &rq.sampling, err) == 0, "%s", err);
    rq.sampling.temp = 0;
    return rq;
}

static bool same_tokens(const result *a, const result *b) {
    return a->n == b->n && !memcmp(a->toks, b->toks, sizeof(int32_t) * (size_t)a->n);
}

static void check_batching(deepc_model *m, const char *name, prompt *ps) {
    static result alone[N_PROMPTS], together[N_PROMPTS];
    deepc_request rq = greedy(m, MAX_GEN);
    deepc_engine *e = new_engine(m, 1, 512);
    for (int i = 0; e && i < N_PROMPTS; i++) {
        submit(e, &ps[i], &alone[i], &rq);
        run_all(e);
        CHECKF(alone[i].done && alone[i].n == MAX_GEN, "%s: prompt %d alone: %d tokens", name, i, alone[i].n);
    }
    deepc_engine_free(e);
    /* a small batch: prompts are read in chunks beside the running decodes;
     * staggered arrival: two first, the rest a few steps later */
    e = new_engine(m, N_PROMPTS, 8 * 17 + 3);
    char err[DEEPC_ERR_LEN];
    for (int i = 0; e && i < N_PROMPTS; i++) {
        submit(e, &ps[i], &together[i], &rq);
        if (i == 1)
            for (int s = 0; s < 3; s++) deepc_engine_step(e, err);
    }
    if (e) run_all(e);
    for (int i = 0; e && i < N_PROMPTS; i++)
        CHECKF(same_tokens(&alone[i], &together[i]), "%s: prompt %d: batched tokens differ from alone", name, i);
    deepc_engine_free(e);
}

static void check_prefix_cache(deepc_model *m, const char *name, prompt *ps) {
    deepc_request rq = greedy(m, 8);
    deepc_engine *e = new_engine(m, 2, 512);
    if (!e) return;
    result first, again, shared, fresh;
    submit(e, &ps[4], &first, &rq);
    run_all(e);
    submit(e, &ps[4], &again, &rq);
    run_all(e);
    CHECKF(again.n_cached == ps[4].n - 1, "%s: repeated prompt reused %d of %d", name, again.n_cached, ps[4].n);
    CHECKF(same_tokens(&first, &again), "%s: tokens differ with the cached prefix", name);
    /* slot 0 holds prompt 4; keep it busy so the next request lands in slot 1
     * and must copy the prefix over */
    result busy;
    submit(e, &ps[4], &busy, &rq);
    deepc_engine_step(e, (char[DEEPC_ERR_LEN]){0});
    prompt half = {ps[4].ids, ps[4].n - 3};
    submit(e, &half, &shared, &rq);
    run_all(e);
    CHECKF(shared.n_cached == half.n - 1, "%s: prefix from another slot: reused %d of %d", name, shared.n_cached,
           half.n);
    deepc_engine_free(e);
    e = new_engine(m, 1, 512);
    submit(e, &half, &fresh, &rq);
    run_all(e);
    CHECKF(fresh.n_cached == 0 && same_tokens(&fresh, &shared), "%s: copied prefix changes the tokens", name);
    deepc_engine_free(e);
}

static void check_stop(deepc_model *m, const char *name, prompt *p) {
    deepc_request rq = greedy(m, MAX_GEN);
    deepc_engine *e = new_engine(m, 1, 512);
    if (!e) return;
    result full, cut;
    submit(e, p, &full, &rq);
    run_all(e);
    /* a stop string from the middle of the text, long enough to span tokens */
    const size_t at = full.content_len / 3, len = full.content_len / 4 > 3 ? full.content_len / 4 : 3;
    char stop[MAX_TEXT];
    if (full.content_len < at + len + 1) return;
    memcpy(stop, full.content + at, len);
    stop[len] = '\0';
    const char *stops[] = {"this string never appears \x01", stop};
    rq.stop = stops;
    rq.n_stop = 2;
    submit(e, p, &cut, &rq);
    run_all(e);
    const char *first = strstr(full.content, stop);
    CHECK(first != NULL);
    const size_t want = first ? (size_t)(first - full.content) : 0;
    CHECKF(cut.finish == DEEPC_FINISH_STOP && cut.content_len == want && !memcmp(cut.content, full.content, want),
           "%s: stop '%s': got %zu bytes, finish %d, want %zu", name, stop, cut.content_len, cut.finish, want);
    deepc_engine_free(e);
}

static void check_cancel_queue_errors(deepc_model *m, prompt *p) {
    char err[DEEPC_ERR_LEN];
    deepc_engine_params ep = deepc_engine_default_params();
    ep.n_ctx = 128;
    ep.max_queue = 1;
    ep.n_threads = 2;
    deepc_engine *e = deepc_engine_create(m, &ep, err);
    CHECKF(e, "%s", err);
    if (!e) return;
    deepc_request rq = greedy(m, -1);
    result a, b = {0};
    const uint64_t id = submit(e, p, &a, &rq);
    deepc_engine_step(e, err);
    deepc_engine_step(e, err);
    CHECK(a.n >= 1 && !a.done);
    deepc_engine_cancel(e, id);
    deepc_engine_step(e, err);
    CHECK(a.done && a.finish == DEEPC_FINISH_CANCELLED);
    deepc_engine_stats st;
    deepc_engine_get_stats(e, &st);
    CHECK(st.active_slots == 0);
    /* queue of 1 beyond the free slot: a third waiting request is refused */
    result c;
    CHECK(submit(e, p, &a, &rq) == id + 1);
    CHECK(submit(e, p, &c, &rq) == id + 2);
    bool full = false;
    deepc_request rq2 = rq;
    rq2.prompt = p->ids, rq2.n_prompt = p->n, rq2.on_event = collect, rq2.user = &b;
    CHECK(deepc_engine_submit(e, &rq2, &full, err) == 0 && full && strstr(err, "queue"));
    /* a queued request that is cancelled gives its place back at once, and
     * gets its DONE at the next step */
    deepc_engine_stats qs;
    deepc_engine_get_stats(e, &qs);
    CHECK(qs.queued == 2);
    deepc_engine_cancel(e, id + 2);
    deepc_engine_get_stats(e, &qs);
    CHECK(qs.queued == 1 && !c.done);
    CHECK(deepc_engine_submit(e, &rq2, &full, err) != 0); /* the place is free again */
    deepc_engine_cancel(e, id + 3);
    deepc_engine_step(e, err);
    CHECK(c.done && c.finish == DEEPC_FINISH_CANCELLED && b.done && b.finish == DEEPC_FINISH_CANCELLED);
    /* invalid requests */
    rq2.n_prompt = 0;
    CHECK(deepc_engine_submit(e, &rq2, &full, err) == 0 && !full && strstr(err, "empty"));
    int32_t bad = -5;
    rq2.prompt = &bad, rq2.n_prompt = 1;
    CHECK(deepc_engine_submit(e, &rq2, &full, err) == 0 && strstr(err, "out of range"));
    static int32_t longp[200];
    rq2.prompt = longp, rq2.n_prompt = 200;
    CHECK(deepc_engine_submit(e, &rq2, &full, err) == 0 && strstr(err, "context"));
    deepc_engine_free(e); /* with a request running: freed without further events */
}

static void check_logit_bias(deepc_model *m, const char *name, prompt *p) {
    deepc_request rq = greedy(m, 6);
    deepc_engine *e = new_engine(m, 1, 512);
    if (!e) return;
    result plain, forced, banned;
    submit(e, p, &plain, &rq);
    run_all(e);
    const deepc_logit_bias force = {.token = 7, .bias = 1e4f}, ban = {.token = plain.toks[0], .bias = -INFINITY};
    rq.logit_bias = &force, rq.n_logit_bias = 1;
    submit(e, p, &forced, &rq);
    run_all(e);
    bool all7 = forced.n == 6;
    for (int i = 0; i < forced.n; i++) all7 &= forced.toks[i] == 7;
    CHECKF(all7, "%s: a +1e4 bias did not force token 7", name);
    rq.logit_bias = &ban;
    submit(e, p, &banned, &rq);
    run_all(e);
    CHECKF(banned.n >= 1 && banned.toks[0] != plain.toks[0], "%s: the banned token %d came out", name, plain.toks[0]);
    deepc_engine_free(e);
}

/* Stop strings when the first token releases no text yet (a lone UTF-8 lead
 * byte waits in the detokenizer): forced with logit_bias. */
static void check_stop_after_partial_char(deepc_model *m, deepc_tokenizer *tok, prompt *p) {
    int32_t lead = -1;
    for (int32_t id = 0; id < deepc_tokenizer_n_vocab(tok) && lead < 0; id++) {
        size_t len;
        const char *b = deepc_token_bytes(tok, id, &len);
        if (b && len == 1 && ((unsigned char)b[0] & 0xF0) == 0xE0) lead = id;
    }
    if (lead < 0) return;
    deepc_request rq = greedy(m, 3);
    const deepc_logit_bias force = {.token = lead, .bias = 1e4f};
    const char *stops[] = {"zz"};
    rq.logit_bias = &force, rq.n_logit_bias = 1, rq.stop = stops, rq.n_stop = 1;
    deepc_engine *e = new_engine(m, 1, 512);
    result r;
    submit(e, p, &r, &rq);
    run_all(e);
    /* three lone lead bytes: each broken sequence becomes U+FFFD */
    CHECKF(r.done && r.n == 3 && r.content_len == 9, "partial characters with a stop string: %d tokens, %zu bytes", r.n,
           r.content_len);
    deepc_engine_free(e);
}

static void check_reasoning_logprobs(void) {
    char err[DEEPC_ERR_LEN];
    deepc_model *m = deepc_model_load(fixture_path("models/tiny-llama-Q8_0.gguf"), err); /* its template opens <think> */
    CHECKF(m, "%s", err);
    if (!m) return;
    deepc_engine *e = new_engine(m, 1, 512);
    deepc_tokenizer *tok = deepc_tokenizer_from_model(m, err);
    deepc_chat_template *tpl = deepc_chat_template_from_model(m, tok, err);
    CHECKF(tpl, "%s", err);
    char *text = NULL;
    size_t len = 0;
    CHECKF(tpl && deepc_chat_render(tpl, "[{\"role\":\"user\",\"content\":\"Why is the sky blue?\"}]", true, NULL,
                                    NULL, &text, &len, err) == 0,
           "%s", err);
    CHECK(text && deepc_prompt_opens_reasoning(text, len));
    prompt p = {0};
    p.n = (int)deepc_tokenize(tok, text, len, DEEPC_TOKENIZE_PARSE_SPECIAL, &p.ids, err);
    deepc_request rq = greedy(m, 20);
    rq.split_reasoning = true;
    rq.starts_in_reasoning = true;
    rq.logprobs = true;
    rq.top_logprobs = 5;
    result r, budget;
    submit(e, &p, &r, &rq);
    run_all(e);
    CHECK(r.reasoning_len > 0 && !memmem(r.content, r.content_len, "<think>", 7));
    CHECK(r.top_logprob_ok == 1);
    rq.reasoning_budget = 3;
    submit(e, &p, &budget, &rq);
    run_all(e);
    /* the first 3 tokens think, then </think> is forced and the answer follows */
    CHECKF(budget.reasoning_len > 0 && budget.content_len > 0, "budget: reasoning %zu, content %zu",
           budget.reasoning_len, budget.content_len);
    CHECK(!memmem(budget.content, budget.content_len, "think>", 6));
    /* budget 0: no thinking at all; the forced </think> counts against max_tokens */
    result none, tight;
    rq.reasoning_budget = 0;
    submit(e, &p, &none, &rq);
    run_all(e);
    CHECKF(none.reasoning_len == 0 && none.content_len > 0, "budget 0: reasoning %zu, content %zu", none.reasoning_len,
           none.content_len);
    rq.max_tokens = 1;
    submit(e, &p, &tight, &rq);
    run_all(e);
    CHECK(tight.done && tight.finish == DEEPC_FINISH_LENGTH && tight.n == 0 && tight.content_len == 0);
    free(text);
    free(p.ids);
    deepc_chat_template_free(tpl);
    deepc_tokenizer_free(tok);
    deepc_engine_free(e);
    deepc_model_free(m);
}

int main(void) {
    char **names;
    const int n_models = fixture_models("^tiny-", &names);
    CHECK(n_models > 0);
    for (int k = 0; k < n_models; k++) {
        char err[DEEPC_ERR_LEN], rel[256];
        snprintf(rel, sizeof rel, "models/%s.gguf", names[k]);
        deepc_model *m = deepc_model_load(fixture_path(rel), err);
        CHECKF(m, "%s", err);
        deepc_tokenizer *tok = m ? deepc_tokenizer_from_model(m, err) : NULL;
        if (!tok) continue;
        prompt ps[N_PROMPTS];
        for (int i = 0; i < N_PROMPTS; i++)
            ps[i].n = (int)deepc_tokenize(tok, texts[i], strlen(texts[i]), DEEPC_TOKENIZE_ADD_SPECIAL, &ps[i].ids, err);
        const int failures = check_failures;
        check_batching(m, names[k], ps);
        if (strstr(names[k], "Q8_0") || strstr(names[k], "F32")) {
            check_prefix_cache(m, names[k], ps);
            check_stop(m, names[k], &ps[1]);
            check_logit_bias(m, names[k], &ps[2]);
            check_stop_after_partial_char(m, tok, &ps[0]);
        }
        if (k == 0) check_cancel_queue_errors(m, &ps[0]);
        printf("%-32s %s\n", names[k], failures == check_failures ? "ok" : "FAILED");
        for (int i = 0; i < N_PROMPTS; i++) free(ps[i].ids);
        deepc_tokenizer_free(tok);
        deepc_model_free(m);
    }
    fixture_free_names(names, n_models);
    check_reasoning_logprobs();
    CHECK_DONE();
}
