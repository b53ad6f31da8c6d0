/* common.c - helpers shared by the CLI commands: errors, option values,
 * token lists, opening a model and context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, int status, const char *fmt, ...) {
    char msg[DEEPC_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    fprintf(stderr, "deepc %s: %s\n", cmd, msg);
    return status;
}

bool cli_parse_int(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi || (*s != '-' && (*s < '0' || *s > '9'))) return false;
    *out = v;
    return true;
}

bool cli_parse_tokens(const char *s, int32_t **out, int32_t *n, char err[DEEPC_ERR_LEN]) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return snprintf(err, DEEPC_ERR_LEN, "out of memory"), false;
    int32_t count = 0;
    const char *p = s;
    for (;;) {
        long long v = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9' && v <= INT32_MAX) v = v * 10 + (*p++ - '0');
        if (p == start || v > INT32_MAX || (*p != ',' && *p != '\0')) {
            free(ids);
            snprintf(err, DEEPC_ERR_LEN, "--tokens: bad token id list '%.40s' (expected e.g. 1,2,3)", s);
            return false;
        }
        ids[count++] = (int32_t)v;
        if (*p == '\0') break;
        p++;
    }
    *out = ids;
    *n = count;
    return true;
}

bool cli_open(const char *cmd, const cli_model_opts *opts, deepc_model **model, deepc_context **ctx) {
    char err[DEEPC_ERR_LEN];
    *ctx = NULL;
    *model = deepc_model_load(opts->model_path, err);
    if (!*model) return cli_fail(cmd, 1, "%s", err), false;
    deepc_context_params p = deepc_context_default_params();
    p.n_threads = opts->n_threads;
    p.n_ctx = opts->n_ctx;
    p.kv_type = opts->kv_type;
    if (opts->n_tokens > p.n_batch) p.n_batch = opts->n_tokens;
    *ctx = deepc_context_create(*model, &p, err);
    if (!*ctx) {
        deepc_model_free(*model);
        *model = NULL;
        return cli_fail(cmd, 1, "%s", err), false;
    }
    return true;
}

int cli_common_option(const char *cmd, cli_model_opts *opts, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    const bool has_value = *i + 1 < argc;
    long v;
    int *target = !strcmp(a, "-t") || !strcmp(a, "--threads")  ? &opts->n_threads
                  : !strcmp(a, "-c") || !strcmp(a, "--ctx-size") ? &opts->n_ctx
                                                                 : NULL;
    if (target) {
        if (!has_value || !cli_parse_int(argv[*i + 1], 1, 1 << 24, &v))
            return cli_fail(cmd, 2, "%s needs a positive number", a), -1;
        *target = (int)v;
        ++*i;
        return 1;
    }
    if (!strcmp(a, "--kv-type")) {
        if (!has_value || (strcmp(argv[*i + 1], "f16") && strcmp(argv[*i + 1], "f32")))
            return cli_fail(cmd, 2, "--kv-type needs f16 or f32"), -1;
        opts->kv_type = !strcmp(argv[++*i], "f32") ? DEEPC_KV_F32 : DEEPC_KV_F16;
        return 1;
    }
    if (!strcmp(a, "--tokens")) {
        char err[DEEPC_ERR_LEN];
        free(opts->tokens);
        opts->tokens = NULL;
        if (!has_value) return cli_fail(cmd, 2, "--tokens needs a list such as 1,2,3"), -1;
        if (!cli_parse_tokens(argv[++*i], &opts->tokens, &opts->n_tokens, err)) return cli_fail(cmd, 2, "%s", err), -1;
        return 1;
    }
    if (a[0] != '-' && !opts->model_path) {
        opts->model_path = a;
        return 1;
    }
    return 0;
}

void cli_model_opts_free(cli_model_opts *opts) {
    free(opts->tokens);
    opts->tokens = NULL;
}

char *cli_read_all(FILE *f, size_t *len) {
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            char *grown = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!grown) return free(buf), NULL;
            buf = grown;
        }
        const size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) return free(buf), NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}
