/* cmd_bench.c - `deepc bench MODEL [-p 512] [-n 128] [-r 3] [-t N]`: speed
 * of prompt processing (one batch of p tokens) and of generation (n tokens
 * one at a time after a short prompt), as tokens per second, best of r runs.
 * Token ids are a fixed pseudo-random sequence, so runs are comparable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds to decode n tokens of ids in batches of `step` from an empty seq 0. */
static double timed_decode(deepc_context *ctx, const int32_t *ids, int n, int step, char *err) {
    int32_t *seq = calloc((size_t)step, sizeof *seq);
    deepc_seq_truncate(ctx, 0, 0);
    double t0 = now_seconds();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i += step) {
        deepc_batch b = {.n_tokens = n - i < step ? n - i : step, .tokens = ids + i, .seq = seq};
        rc = deepc_decode(ctx, &b, err);
    }
    free(seq);
    return rc == 0 ? now_seconds() - t0 : -1.0;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench";
    cli_model_opts o = {0};
    long n_prompt = 512, n_gen = 128, reps = 3;
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        long *target = !strcmp(a, "-p") ? &n_prompt : !strcmp(a, "-n") ? &n_gen : !strcmp(a, "-r") ? &reps : NULL;
        int r = target ? 0 : cli_common_option(cmd, &o, argc, argv, &i);
        if (r < 0) status = 2;
        else if (r == 0 && (!target || i + 1 >= argc || !cli_parse_int(argv[++i], 1, 1 << 20, target)))
            status = cli_fail(cmd, 2, "%s: expected -p N, -n N, -r N, -t N or -c N", a);
    }
    if (!status && !o.model_path) status = cli_fail(cmd, 2, "usage: deepc bench MODEL.gguf [-p 512] [-n 128] [-r 3] [-t N]");
    o.n_tokens = (int32_t)n_prompt; /* sizes the context's batch */
    if (!status && !o.n_ctx) o.n_ctx = (int)(n_prompt > n_gen ? n_prompt : n_gen) + 16;
    deepc_model *model = NULL;
    deepc_context *ctx = NULL;
    if (!status && !cli_open(cmd, &o, &model, &ctx)) status = 1;
    if (!status) {
        const long n_ids = n_prompt > n_gen ? n_prompt : n_gen;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_ids);
        uint32_t x = 12345;
        for (long i = 0; i < n_ids; i++) ids[i] = (int32_t)((x = x * 1664525u + 1013904223u) >> 8) % deepc_model_n_vocab(model);
        char err[DEEPC_ERR_LEN];
        double best_pp = 1e30, best_tg = 1e30;
        int64_t tg_bytes = 0;
        for (long r = 0; r < reps && !status; r++) {
            double pp = timed_decode(ctx, ids, (int)n_prompt, (int)n_prompt, err);
            const int64_t before = deepc_weight_bytes_read();
            double tg = pp < 0 ? -1 : timed_decode(ctx, ids, (int)n_gen, 1, err);
            tg_bytes = deepc_weight_bytes_read() - before;
            if (pp < 0 || tg < 0) status = cli_fail(cmd, 1, "%s", err);
            best_pp = pp < best_pp ? pp : best_pp;
            best_tg = tg < best_tg ? tg : best_tg;
        }
        if (!status)
            printf("model %s\nthreads %d\nprompt %ld tokens: %.2f tokens/s\ngeneration %ld tokens: %.2f tokens/s\n"
                   "weights read per generated token: %.1f MiB (model file: %.1f MiB)\n",
                   o.model_path, o.n_threads ? o.n_threads : deepc_n_cpus(), n_prompt, (double)n_prompt / best_pp, n_gen,
                   (double)n_gen / best_tg, (double)tg_bytes / (double)n_gen / 1048576.0,
                   (double)deepc_model_file_bytes(model) / 1048576.0);
        free(ids);
    }
    deepc_context_free(ctx);
    deepc_model_free(model);
    return status;
}
