/* generate.c - see generate.h. */
#include "generate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool dc_gen_session_init(dc_gen_session *s, deepc_context *ctx, int32_t seq, int32_t n_batch) {
    *s = (dc_gen_session){.ctx = ctx, .seq = seq, .n_batch = n_batch > 0 ? n_batch : 1};
    s->seq_ids = malloc(sizeof *s->seq_ids * (size_t)s->n_batch);
    if (!s->seq_ids) return false;
    for (int32_t i = 0; i < s->n_batch; i++) s->seq_ids[i] = seq;
    return true;
}

void dc_gen_session_free(dc_gen_session *s) {
    free(s->tokens);
    free(s->seq_ids);
    s->tokens = s->seq_ids = NULL;
    s->n_tokens = s->cap = 0;
}

void dc_gen_session_reset(dc_gen_session *s) {
    deepc_seq_truncate(s->ctx, s->seq, 0);
    s->n_tokens = 0;
}

static bool remember(dc_gen_session *s, const int32_t *t, int32_t n) {
    if (s->n_tokens + n > s->cap) {
        int32_t cap = s->cap ? s->cap : 256;
        while (cap < s->n_tokens + n) cap *= 2;
        int32_t *p = realloc(s->tokens, sizeof *p * (size_t)cap);
        if (!p) return false;
        s->tokens = p;
        s->cap = cap;
    }
    memcpy(s->tokens + s->n_tokens, t, sizeof *t * (size_t)n);
    s->n_tokens += n;
    return true;
}

/* Evaluates t[0..n) at the end of the sequence in chunks; logits of the last. */
static int eval(dc_gen_session *s, const int32_t *t, int32_t n, char *err) {
    int rc = 0;
    for (int32_t i = 0; i < n && rc == 0; i += s->n_batch) {
        const int32_t m = n - i < s->n_batch ? n - i : s->n_batch;
        deepc_batch b = {.n_tokens = m, .tokens = t + i, .seq = s->seq_ids};
        rc = deepc_decode(s->ctx, &b, err);
        s->last_batch = m;
        if (rc == 0 && !remember(s, t + i, m)) rc = (dc_err(err, "out of memory"), -1);
    }
    return rc;
}

int dc_gen_prompt(dc_gen_session *s, const int32_t *prompt, int32_t n, dc_gen_stats *st, char err[DC_ERR_LEN]) {
    const int32_t n_ctx = deepc_context_n_ctx(s->ctx);
    if (n < 1) return dc_err(err, "the prompt is empty"), -1;
    if (n >= n_ctx)
        return dc_err(err, "the prompt has %d tokens but the context holds %d (use -c to enlarge it)", n, n_ctx), -1;
    int32_t common = 0;
    while (common < s->n_tokens && common < n && s->tokens[common] == prompt[common]) common++;
    if (common == n) common--; /* re-evaluate the last token to get its logits */
    deepc_seq_truncate(s->ctx, s->seq, common);
    s->n_tokens = common;
    const double t0 = now_seconds();
    const int rc = eval(s, prompt + common, n - common, err);
    if (st) {
        st->n_prompt_eval = n - common;
        st->prompt_seconds = now_seconds() - t0;
    }
    return rc;
}

int dc_generate(dc_gen_session *s, dc_sampler *smp, const dc_tokenizer *tok, const dc_gen_params *p,
                dc_gen_on_token on_token, dc_gen_force force, void *user, dc_gen_stats *st, char err[DC_ERR_LEN]) {
    dc_gen_stats local = {0};
    if (!st) st = &local;
    st->n_generated = 0;
    st->hit_eog = st->hit_limit = st->context_full = st->stopped = false;
    const int32_t n_ctx = deepc_context_n_ctx(s->ctx);
    const double t0 = now_seconds();
    int rc = 0;
    while (rc == 0) {
        if (p->max_tokens >= 0 && st->n_generated >= p->max_tokens) {
            st->hit_limit = true;
            break;
        }
        if (p->stop && *p->stop) {
            st->stopped = true;
            break;
        }
        if (s->n_tokens >= n_ctx) {
            st->context_full = true;
            break;
        }
        int32_t next[16];
        int n_next = force ? force(user, next, 16) : 0;
        if (n_next > n_ctx - s->n_tokens) n_next = n_ctx - s->n_tokens;
        if (n_next <= 0) {
            next[0] = dc_sampler_sample(smp, deepc_get_logits(s->ctx, s->last_batch - 1));
            n_next = 1;
        }
        int emitted = 0;
        bool go_on = true;
        while (emitted < n_next && go_on) {
            const int32_t t = next[emitted++];
            dc_sampler_accept(smp, t);
            st->n_generated++;
            if (on_token && !on_token(user, t)) st->stopped = true, go_on = false;
            if (!p->ignore_eos && tok && dc_tok_is_eog(tok, t)) st->hit_eog = true, go_on = false;
        }
        /* the cache holds every emitted token except a final one that ended
         * generation: nothing will be predicted after it */
        rc = eval(s, next, go_on ? emitted : emitted - 1, err);
        if (!go_on) break;
    }
    st->gen_seconds = now_seconds() - t0;
    return rc;
}
