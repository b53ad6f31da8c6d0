/* cmd_run.c - `deepc run MODEL --tokens 1,2,3 -n 32 --temp 0 --ignore-eos
 * --print-ids`: evaluates the prompt as one batch, then generates up to n
 * tokens one at a time from the KV cache and prints them as a JSON array of
 * ids. Greedy decoding picks the highest logit, the lowest id on ties. It
 * stops after an end-of-generation token unless --ignore-eos.
 * (Text prompts, sampling and streaming text arrive with the tokenizer.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Generates up to n_gen ids into out; returns how many, or -1 (message printed). */
static int generate(deepc_model *model, deepc_context *ctx, const cli_model_opts *o, int n_gen, bool ignore_eos,
                    int32_t *out) {
    char err[DEEPC_ERR_LEN];
    int32_t *seq = calloc((size_t)o->n_tokens, sizeof *seq);
    if (!seq) return cli_fail("run", 1, "out of memory"), -1;
    deepc_batch b = {.n_tokens = o->n_tokens, .tokens = o->tokens, .seq = seq};
    int rc = deepc_decode(ctx, &b, err);
    free(seq);
    const int32_t eos = deepc_model_token_eos(model);
    int n = 0;
    while (rc == 0 && n < n_gen) {
        const float *logits = deepc_get_logits(ctx, b.n_tokens - 1);
        const int32_t next = argmax(logits, deepc_model_n_vocab(model));
        out[n++] = next;
        if ((!ignore_eos && next == eos) || n == n_gen) break;
        const int32_t zero = 0;
        b = (deepc_batch){.n_tokens = 1, .tokens = &out[n - 1], .seq = &zero};
        rc = deepc_decode(ctx, &b, err);
    }
    if (rc != 0) return cli_fail("run", 1, "%s: %s", o->model_path, err), -1;
    return n;
}

int cmd_run(int argc, char **argv) {
    const char *cmd = "run";
    cli_model_opts o = {0};
    long n_gen = 32;
    bool ignore_eos = false, print_ids = false;
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        int r = cli_common_option(cmd, &o, argc, argv, &i);
        if (r < 0) {
            status = 2;
        } else if (r == 1) {
            continue;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (i + 1 >= argc || !cli_parse_int(argv[++i], 0, 1 << 24, &n_gen))
                status = cli_fail(cmd, 2, "%s needs a number >= 0", a);
        } else if (!strcmp(a, "--temp")) {
            long t;
            if (i + 1 >= argc || !cli_parse_int(argv[++i], 0, 0, &t))
                status = cli_fail(cmd, 2, "--temp: only 0 (greedy) is supported until sampling lands");
        } else if (!strcmp(a, "--ignore-eos")) {
            ignore_eos = true;
        } else if (!strcmp(a, "--print-ids")) {
            print_ids = true;
        } else {
            status = cli_fail(cmd, 2, "unknown option '%s'", a);
        }
    }
    if (!status && (!o.model_path || !o.tokens || !print_ids))
        status = cli_fail(cmd, 2, "usage: deepc run MODEL.gguf --tokens 1,2,3 [-n N] [--temp 0] [--ignore-eos] --print-ids");
    deepc_model *model = NULL;
    deepc_context *ctx = NULL;
    if (!status && !cli_open(cmd, &o, &model, &ctx)) status = 1;
    int32_t *ids = status ? NULL : malloc(sizeof(int32_t) * (size_t)(n_gen + 1));
    if (!status && !ids) status = cli_fail(cmd, 1, "out of memory");
    if (!status) {
        int n = generate(model, ctx, &o, (int)n_gen, ignore_eos, ids);
        if (n < 0) status = 1;
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "[%d", ids[i]);
        if (n >= 0) printf(n ? "]\n" : "[]\n");
    }
    free(ids);
    deepc_context_free(ctx);
    deepc_model_free(model);
    cli_model_opts_free(&o);
    return status;
}
