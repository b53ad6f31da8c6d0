/* text.c - what the text commands (run -p, chat) share: sampling options,
 * opening model + context + tokenizer + sampler, UTF-8 checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

cli_sampling cli_sampling_unset(void) {
    return (cli_sampling){.temp = NAN, .top_p = NAN, .min_p = NAN, .repeat_penalty = NAN, .presence = NAN,
                          .frequency = NAN, .top_k = INT32_MIN, .last_n = INT32_MIN};
}

static bool parse_float(const char *s, float *out) {
    char *end;
    const float v = strtof(s, &end);
    if (!*s || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

int cli_sampling_option(const char *cmd, cli_sampling *s, int argc, char **argv, int *i) {
    static const struct {
        const char *name;
        size_t off;
    } floats[] = {
        {"--temp", offsetof(cli_sampling, temp)},
        {"--top-p", offsetof(cli_sampling, top_p)},
        {"--min-p", offsetof(cli_sampling, min_p)},
        {"--repeat-penalty", offsetof(cli_sampling, repeat_penalty)},
        {"--presence-penalty", offsetof(cli_sampling, presence)},
        {"--frequency-penalty", offsetof(cli_sampling, frequency)},
    };
    const char *a = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    for (size_t k = 0; k < sizeof floats / sizeof floats[0]; k++) {
        if (strcmp(a, floats[k].name)) continue;
        if (!val || !parse_float(val, (float *)((char *)s + floats[k].off)))
            return cli_fail(cmd, 2, "%s needs a number", a), -1;
        ++*i;
        return 1;
    }
    long v;
    if (!strcmp(a, "--top-k") || !strcmp(a, "--repeat-last-n")) {
        if (!val || !cli_parse_int(val, -1, INT32_MAX, &v)) return cli_fail(cmd, 2, "%s needs an integer >= -1", a), -1;
        *(a[2] == 't' ? &s->top_k : &s->last_n) = (int32_t)v;
        ++*i;
        return 1;
    }
    if (!strcmp(a, "--seed")) {
        char *end;
        if (!val || !*val || (s->seed = strtoull(val, &end, 10), *end))
            return cli_fail(cmd, 2, "--seed needs a non-negative integer"), -1;
        s->has_seed = true;
        ++*i;
        return 1;
    }
    return 0;
}

/* Model defaults (general.sampling.*), then the options given. */
static bool sampler_params(const char *cmd, const deepc_model *m, const cli_sampling *s, deepc_sampling *p) {
    char err[DEEPC_ERR_LEN];
    if (deepc_model_default_sampling(m, p, err) < 0) return cli_fail(cmd, 1, "%s", err), false;
    if (!isnan(s->temp)) p->temp = s->temp;
    if (!isnan(s->top_p)) p->top_p = s->top_p;
    if (!isnan(s->min_p)) p->min_p = s->min_p;
    if (!isnan(s->repeat_penalty)) p->repeat_penalty = s->repeat_penalty;
    if (!isnan(s->presence)) p->presence_penalty = s->presence;
    if (!isnan(s->frequency)) p->frequency_penalty = s->frequency;
    if (s->top_k != INT32_MIN) p->top_k = s->top_k;
    if (s->last_n != INT32_MIN) p->penalty_last_n = s->last_n;
    if (s->has_seed) p->seed = s->seed;
    if (deepc_sampling_check(p, err) < 0) return cli_fail(cmd, 2, "%s", err), false;
    return true;
}

bool cli_open_text(const char *cmd, const cli_model_opts *o, const cli_sampling *s, cli_text *t) {
    char err[DEEPC_ERR_LEN];
    *t = (cli_text){0};
    t->model = deepc_model_load(o->model_path, err);
    if (!t->model) return cli_fail(cmd, 1, "%s", err), false;
    deepc_engine_params p = deepc_engine_default_params();
    p.n_ctx = o->n_ctx;
    p.n_threads = o->n_threads;
    p.kv_type = o->kv_type;
    if (!sampler_params(cmd, t->model, s, &t->sampling)) {
        cli_close_text(t);
        return false;
    }
    t->engine = deepc_engine_create(t->model, &p, err);
    if (!t->engine) {
        cli_fail(cmd, 1, "%s: %s", o->model_path, err);
        cli_close_text(t);
        return false;
    }
    t->tok = deepc_engine_tokenizer(t->engine);
    return true;
}

void cli_close_text(cli_text *t) {
    deepc_engine_free(t->engine);
    deepc_model_free(t->model);
    *t = (cli_text){0};
}

bool cli_run_request(const char *cmd, cli_text *t, uint64_t id, volatile sig_atomic_t *stop) {
    char err[DEEPC_ERR_LEN];
    bool cancelled = false;
    for (int n = 1; n > 0;) {
        if (stop && *stop && !cancelled) deepc_engine_cancel(t->engine, id), cancelled = true;
        n = deepc_engine_step(t->engine, err);
        if (n < 0) return cli_fail(cmd, 1, "%s", err), false;
    }
    return true;
}

size_t cli_utf8_invalid_at(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        const unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!n || i + n > len) return i;
        uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (size_t k = 1; k < n; k++) {
            const unsigned char cc = (unsigned char)s[i + k];
            if ((cc & 0xC0) != 0x80) return i;
            cp = cp << 6 | (cc & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += n;
    }
    return len;
}
