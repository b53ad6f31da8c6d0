/* output.c - see output.h.
 *
 * Stop strings: after each piece the held text is searched for every stop
 * string; the earliest match ends the output. Otherwise everything is
 * released except the longest tail that is a proper prefix of a stop string
 * (it may still complete). Stop strings are whole UTF-8 text and the
 * detokenizer releases whole characters, so the cut never splits one.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

static bool text_append(dc_output *o, dc_text *t, const char *s, size_t n) {
    if (n == 0) return true;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) return o->oom = true, false;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return true;
}

static void on_split(void *user, dc_text_kind kind, const char *s, size_t n) {
    dc_output *o = user;
    text_append(o, kind == DC_TEXT_REASONING ? &o->reasoning : &o->content, s, n);
}

bool dc_output_init(dc_output *o, const dc_tokenizer *tok, const char *const *stop, int n_stop, bool split,
                    bool starts_in_reasoning, int64_t reasoning_budget) {
    *o = (dc_output){.split = split};
    dc_detok_init(&o->detok, tok, false);
    dc_reasoning_init(&o->rs, starts_in_reasoning, on_split, o);
    dc_reasoning_set_budget(&o->rs, split && reasoning_budget >= 0 ? reasoning_budget : -1);
    for (int i = 0; i < n_stop && i < DEEPC_MAX_STOP; i++) {
        if (!stop[i] || !stop[i][0]) continue;
        o->stop_len[o->n_stop] = strlen(stop[i]);
        o->stop[o->n_stop] = strdup(stop[i]);
        if (!o->stop[o->n_stop++]) return false;
    }
    return true;
}

void dc_output_free(dc_output *o) {
    dc_detok_free(&o->detok);
    for (int i = 0; i < o->n_stop; i++) free(o->stop[i]);
    free(o->held.p);
    free(o->content.p);
    free(o->reasoning.p);
    *o = (dc_output){0};
}

static void release(dc_output *o, const char *s, size_t n) {
    if (o->split) dc_reasoning_feed(&o->rs, s, n);
    else text_append(o, &o->content, s, n);
}

/* Releases the held text up to a stop string or the tail that may start one. */
static void check_stops(dc_output *o, bool final) {
    dc_text *h = &o->held;
    if (h->len == 0) return; /* nothing held (a token whose bytes wait in the detokenizer) */
    size_t cut = h->len, keep_from = h->len;
    for (int i = 0; i < o->n_stop; i++) {
        const char *m = memmem(h->p, h->len, o->stop[i], o->stop_len[i]);
        if (m && (size_t)(m - h->p) < cut) cut = (size_t)(m - h->p), o->stopped = true;
    }
    if (!o->stopped && !final) {
        /* the longest tail that is a proper prefix of some stop string */
        for (int i = 0; i < o->n_stop; i++) {
            const size_t max = o->stop_len[i] - 1 < h->len ? o->stop_len[i] - 1 : h->len;
            for (size_t k = max; k > 0 && h->len - k < keep_from; k--)
                if (!memcmp(h->p + h->len - k, o->stop[i], k)) keep_from = h->len - k;
        }
        cut = keep_from;
    }
    release(o, h->p, cut);
    if (o->stopped) {
        h->len = 0;
        return;
    }
    memmove(h->p, h->p + cut, h->len - cut);
    h->len -= cut;
}

void dc_output_feed(dc_output *o, int32_t id) {
    if (o->stopped || !o->detok.t) return; /* no tokenizer: ids only */
    const char *s;
    size_t n;
    char err[DC_ERR_LEN];
    if (!dc_detok_feed(&o->detok, id, &s, &n, err)) return;
    if (!o->n_stop) return release(o, s, n);
    text_append(o, &o->held, s, n);
    check_stops(o, false);
}

void dc_output_finish(dc_output *o) {
    if (!o->stopped && o->detok.t) {
        size_t n;
        const char *s = dc_detok_flush(&o->detok, &n);
        if (o->n_stop) {
            text_append(o, &o->held, s, n);
            check_stops(o, true);
        } else {
            release(o, s, n);
        }
    }
    if (o->split) dc_reasoning_finish(&o->rs);
}

void dc_output_clear(dc_output *o) { o->content.len = o->reasoning.len = 0; }

bool dc_output_over_budget(const dc_output *o) { return o->split && dc_reasoning_over_budget(&o->rs); }
