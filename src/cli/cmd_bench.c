/* cmd_bench.c - `deepc bench MODEL [-p 512] [-n 128] [-r 3] [-t N]`: speed
 * of prompt processing (one batch of p tokens) and of generation (n tokens
 * one at a time after a short prompt), as tokens per second, best of r runs.
 * Token ids are a fixed pseudo-random sequence, so runs are comparable.
 *
 * `--streams 1,4,16` measures the engine as a server uses it instead: for
 * each count N, N requests with distinct p-token prompts decoded together
 * (continuous batching), n tokens each: aggregate generated tokens/s and the
 * mean time to first token; then the time to first token of a p-token
 * prompt cold and again with all but its last 16 tokens in the prefix cache. */
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

static void fill_ids(int32_t *ids, long n, uint32_t seed, int32_t n_vocab) {
    uint32_t x = seed;
    for (long i = 0; i < n; i++) ids[i] = (int32_t)((x = x * 1664525u + 1013904223u) >> 8) % n_vocab;
}

typedef struct {
    int32_t generated;
    double t_first;
    double *t_token;   /* [n_gen] when each token arrived */
    int32_t n_token;
    bool failed;
} stream_result;

static void on_stream_event(void *user, const deepc_event *ev) {
    stream_result *r = user;
    if (ev->kind == DEEPC_EVENT_TOKEN && r->t_token) r->t_token[r->n_token++] = now_seconds();
    if (ev->kind != DEEPC_EVENT_DONE) return;
    r->generated = ev->n_generated;
    r->t_first = ev->t_first_token;
    r->failed = ev->finish == DEEPC_FINISH_ERROR;
}

/* Submits n_req requests (prompt i: ids + i * stride) and runs them to the end. */
static bool run_streams(deepc_engine *e, const int32_t *ids, int n_req, long stride, long n_prompt, long n_gen,
                        stream_result *res, double *seconds) {
    char err[DEEPC_ERR_LEN];
    const double t0 = now_seconds();
    for (int i = 0; i < n_req; i++) {
        res[i] = (stream_result){.t_token = res[i].t_token};
        deepc_request rq = {.prompt = ids + (long)i * stride, .n_prompt = (int32_t)n_prompt, .max_tokens = (int32_t)n_gen,
                            .ignore_eos = true, .reasoning_budget = -1, .on_event = on_stream_event, .user = &res[i]};
        rq.sampling = (deepc_sampling){.temp = 0, .top_p = 1, .repeat_penalty = 1};
        if (!deepc_engine_submit(e, &rq, NULL, err)) return cli_fail("bench", 1, "%s", err), false;
    }
    for (int n = 1; n > 0;)
        if ((n = deepc_engine_step(e, err)) < 0) return cli_fail("bench", 1, "%s", err), false;
    *seconds = now_seconds() - t0;
    for (int i = 0; i < n_req; i++)
        if (res[i].failed) return cli_fail("bench", 1, "a request failed"), false;
    return true;
}

static int bench_streams(const cli_model_opts *o, const char *list, long n_prompt, long n_gen) {
    char err[DEEPC_ERR_LEN];
    deepc_model *m = deepc_model_load(o->model_path, err);
    if (!m) return cli_fail("bench", 1, "%s", err);
    int status = 0, counts[16], n_counts = 0, max_n = 1;
    for (const char *p = list; *p && n_counts < 16;) {
        char *end;
        const long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 256 || (*end && *end != ',')) {
            status = cli_fail("bench", 2, "--streams: expected a list such as 1,4,16");
            break;
        }
        counts[n_counts++] = (int)v;
        max_n = v > max_n ? (int)v : max_n;
        p = *end ? end + 1 : end;
    }
    const long n_ids = (long)max_n * n_prompt + n_prompt;
    int32_t *ids = malloc(sizeof *ids * (size_t)n_ids);
    stream_result *res = calloc((size_t)max_n, sizeof *res);
    for (int i = 0; res && i < max_n && !status; i++)
        if (!(res[i].t_token = malloc(sizeof(double) * (size_t)(n_gen + 1)))) status = 1;
    if (!ids || !res || status) status = cli_fail("bench", 1, "out of memory");
    if (!status) fill_ids(ids, n_ids, 12345, deepc_model_n_vocab(m));
    printf("model %s\nthreads %d\n", o->model_path, o->n_threads ? o->n_threads : deepc_n_cpus());
    for (int k = 0; k < n_counts && !status; k++) {
        deepc_engine_params p = deepc_engine_default_params();
        p.n_slots = counts[k];
        p.n_ctx = (int32_t)(n_prompt + n_gen + 16);
        p.n_threads = o->n_threads;
        p.kv_type = o->kv_type;
        deepc_engine *e = deepc_engine_create(m, &p, err);
        double secs = 0, ttft = 0;
        if (!e) status = cli_fail("bench", 1, "%s", err);
        else if (!run_streams(e, ids, counts[k], n_prompt, n_prompt, n_gen, res, &secs)) status = 1;
        /* decoding alone: from the moment every stream has its first token */
        double t0 = 0, t1 = 0;
        long n_after = 0;
        for (int i = 0; !status && i < counts[k]; i++) {
            ttft += res[i].t_first / counts[k];
            t0 = res[i].t_token[0] > t0 ? res[i].t_token[0] : t0;
        }
        for (int i = 0; !status && i < counts[k]; i++)
            for (int j = 0; j < res[i].n_token; j++)
                if (res[i].t_token[j] > t0) n_after++, t1 = res[i].t_token[j] > t1 ? res[i].t_token[j] : t1;
        if (!status)
            printf("streams %3d: %7.2f tokens/s aggregate while all decode, %6.2f overall (%d x %ld tokens in %.2f s "
                   "incl. prompts), mean time to first token %.3f s\n",
                   counts[k], t1 > t0 ? (double)n_after / (t1 - t0) : 0.0, (double)counts[k] * (double)n_gen / secs,
                   counts[k], n_gen, secs, ttft);
        deepc_engine_free(e);
    }
    /* time to first token: cold, then with the prefix cached */
    deepc_engine_params p = deepc_engine_default_params();
    p.n_ctx = (int32_t)(n_prompt + n_gen + 16);
    p.n_threads = o->n_threads;
    p.kv_type = o->kv_type;
    deepc_engine *e = status ? NULL : deepc_engine_create(m, &p, err);
    double secs;
    if (!status && !e) status = cli_fail("bench", 1, "%s", err);
    if (!status && run_streams(e, ids, 1, 0, n_prompt, 1, res, &secs)) {
        const double cold = res[0].t_first;
        fill_ids(ids + n_prompt - 16, 16, 777, deepc_model_n_vocab(m)); /* same prefix, new last 16 tokens */
        if (run_streams(e, ids, 1, 0, n_prompt, 1, res, &secs))
            printf("time to first token, %ld-token prompt: %.3f s cold, %.3f s with %ld tokens cached\n", n_prompt, cold,
                   res[0].t_first, n_prompt - 16);
        else
            status = 1;
    } else if (!status) {
        status = 1;
    }
    deepc_engine_free(e);
    for (int i = 0; res && i < max_n; i++) free(res[i].t_token);
    free(ids);
    free(res);
    deepc_model_free(m);
    return status;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench";
    cli_model_opts o = {0};
    long n_prompt = 512, n_gen = 128, reps = 3;
    const char *streams = NULL;
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--streams") && i + 1 < argc) {
            streams = argv[++i];
            continue;
        }
        long *target = !strcmp(a, "-p") ? &n_prompt : !strcmp(a, "-n") ? &n_gen : !strcmp(a, "-r") ? &reps : NULL;
        int r = target ? 0 : cli_common_option(cmd, &o, argc, argv, &i);
        if (r < 0) status = 2;
        else if (r == 0 && (!target || i + 1 >= argc || !cli_parse_int(argv[++i], 1, 1 << 20, target)))
            status = cli_fail(cmd, 2, "%s: expected -p N, -n N, -r N, -t N or -c N", a);
    }
    if (!status && !o.model_path)
        status = cli_fail(cmd, 2, "usage: deepc bench MODEL.gguf [-p 512] [-n 128] [-r 3] [-t N] [--streams 1,4,16]");
    if (!status && streams) return bench_streams(&o, streams, n_prompt, n_gen);
    o.n_tokens = (int32_t)n_prompt; /* sizes the context's batch */
    if (!status && !o.n_ctx) o.n_ctx = (int)(n_prompt > n_gen ? n_prompt : n_gen) + 16;
    deepc_model *model = NULL;
    deepc_context *ctx = NULL;
    if (!status && !cli_open(cmd, &o, &model, &ctx)) status = 1;
    if (!status) {
        const long n_ids = n_prompt > n_gen ? n_prompt : n_gen;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_ids);
        fill_ids(ids, n_ids, 12345, deepc_model_n_vocab(model));
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
