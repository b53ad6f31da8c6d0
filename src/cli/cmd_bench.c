/* cmd_bench.c - `deepc bench MODEL [-p 512] [-n 128] [-r 3] [-t N] [-o md|json]`:
 * llama-bench's tests and output. pp<p>: prompt processing, one batch of p
 * tokens; tg<n>: generation, n tokens one at a time from an empty cache.
 * Each option takes a list (`-p 128,512 -t 1,2`): every combination is run,
 * a warm-up and then r timed repetitions, reported as mean ± sample standard
 * deviation of tokens/s (and, for tg, the weight bytes read per token).
 * Token ids are a fixed pseudo-random sequence, so runs are comparable.
 *
 * `--streams 1,4,16` measures the engine as a server uses it instead: for
 * each count N, N requests with distinct p-token prompts decoded together
 * (continuous batching), n tokens each: aggregate generated tokens/s and the
 * mean time to first token; then the time to first token of a p-token
 * prompt cold and again with all but its last 16 tokens in the prefix cache. */
#include <math.h>
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

/* A comma-separated list of at most max integers in [lo, hi]; false if malformed. */
static bool parse_list(const char *s, long lo, long hi, long *out, int max, int *n) {
    *n = 0;
    for (const char *p = s; *n < max;) {
        char *end;
        const long v = strtol(p, &end, 10);
        if (end == p || v < lo || v > hi || (*end && *end != ',')) return false;
        out[(*n)++] = v;
        if (!*end) return true;
        p = end + 1;
    }
    return false;
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
    int status = 0, n_counts = 0, max_n = 1;
    long counts[16];
    if (!parse_list(list, 1, 256, counts, 16, &n_counts)) status = cli_fail("bench", 2, "--streams: expected a list such as 1,4,16");
    for (int k = 0; k < n_counts; k++) max_n = counts[k] > max_n ? (int)counts[k] : max_n;
    const long n_ids = (long)max_n * n_prompt + n_prompt;
    int32_t *ids = malloc(sizeof *ids * (size_t)n_ids);
    stream_result *res = calloc((size_t)max_n, sizeof *res);
    for (int i = 0; res && i < max_n && !status; i++)
        if (!(res[i].t_token = malloc(sizeof(double) * (size_t)(n_gen + 1)))) status = 1;
    if (!ids || !res || status) status = cli_fail("bench", 1, "out of memory");
    if (!status) fill_ids(ids, n_ids, 12345, deepc_model_n_vocab(m));
    printf("model %s\nthreads %d\n", o->model_path, o->n_threads ? o->n_threads : deepc_n_cpus());
    for (int k = 0; k < n_counts && !status; k++) {
        const int n_streams = (int)counts[k];
        deepc_engine_params p = deepc_engine_default_params();
        p.n_slots = n_streams;
        p.n_ctx = (int32_t)(n_prompt + n_gen + 16);
        p.n_threads = o->n_threads;
        p.kv_type = o->kv_type;
        deepc_engine *e = deepc_engine_create(m, &p, err);
        double secs = 0, ttft = 0;
        if (!e) status = cli_fail("bench", 1, "%s", err);
        else if (!run_streams(e, ids, n_streams, n_prompt, n_prompt, n_gen, res, &secs)) status = 1;
        /* decoding alone: from the moment every stream has its first token */
        double t0 = 0, t1 = 0;
        long n_after = 0;
        for (int i = 0; !status && i < n_streams; i++) {
            ttft += res[i].t_first / n_streams;
            t0 = res[i].t_token[0] > t0 ? res[i].t_token[0] : t0;
        }
        for (int i = 0; !status && i < n_streams; i++)
            for (int j = 0; j < res[i].n_token; j++)
                if (res[i].t_token[j] > t0) n_after++, t1 = res[i].t_token[j] > t1 ? res[i].t_token[j] : t1;
        if (!status)
            printf("streams %3d: %7.2f tokens/s aggregate while all decode, %6.2f overall (%d x %ld tokens in %.2f s "
                   "incl. prompts), mean time to first token %.3f s\n",
                   n_streams, t1 > t0 ? (double)n_after / (t1 - t0) : 0.0, (double)n_streams * (double)n_gen / secs,
                   n_streams, n_gen, secs, ttft);
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

/* Mean and sample standard deviation of n tokens/s figures. */
static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i] / n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(v / (n - 1)) : 0;
}

enum { MAX_VALUES = 16, MAX_REPS = 100 };

typedef struct {
    const char *model, *format;
    long model_bytes;
    int threads;
    bool gen;             /* tg (one token at a time) or pp (one batch) */
    long tokens;
    double ts[MAX_REPS];  /* tokens/s of each repetition */
    int reps;
    double mib_per_token; /* tg: weights read per token */
} bench_row;

/* s as a JSON string literal. */
static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void print_row(const bench_row *r, bool first, bool last) {
    double mean, sd;
    mean_sd(r->ts, r->reps, &mean, &sd);
    if (!strcmp(r->format, "json")) {
        printf("%s\n  {\"model_filename\": ", first ? "[" : ",");
        print_json_string(r->model);
        printf(", \"model_size\": %ld, \"n_threads\": %d, \"n_prompt\": %ld, \"n_gen\": %ld, \"avg_ts\": %.6f, "
               "\"stddev_ts\": %.6f, \"samples_ts\": [",
               r->model_bytes, r->threads, r->gen ? 0 : r->tokens, r->gen ? r->tokens : 0, mean, sd);
        for (int i = 0; i < r->reps; i++) printf(i ? ", %.6f" : "%.6f", r->ts[i]);
        printf("], \"weight_mib_per_token\": %.3f}%s", r->gen ? r->mib_per_token : 0.0, last ? "\n]\n" : "");
        return;
    }
    if (first)
        printf("| model | size | threads | test | t/s | weights read / token |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
    char mib[32] = "";
    if (r->gen) snprintf(mib, sizeof mib, "%.1f MiB", r->mib_per_token);
    printf("| %s | %.2f MiB | %d | %s%ld | %.2f ± %.2f | %s |\n", r->model, (double)r->model_bytes / 1048576.0,
           r->threads, r->gen ? "tg" : "pp", r->tokens, mean, sd, mib);
}

/* One test: a warm-up run, then reps timed runs of pp (one batch of n) or tg (n one at a time). */
static bool run_test(deepc_context *ctx, const int32_t *ids, bench_row *row, char *err) {
    const int n = (int)row->tokens, step = row->gen ? 1 : n;
    if (timed_decode(ctx, ids, n, step, err) < 0) return false;
    for (int r = 0; r < row->reps; r++) {
        const int64_t before = deepc_weight_bytes_read();
        const double secs = timed_decode(ctx, ids, n, step, err);
        if (secs < 0) return false;
        row->ts[r] = n / secs;
        row->mib_per_token = (double)(deepc_weight_bytes_read() - before) / n / 1048576.0;
    }
    return true;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench";
    cli_model_opts o = {0};
    long pp[MAX_VALUES] = {512}, tg[MAX_VALUES] = {128}, th[MAX_VALUES] = {0}, reps = 3;
    int n_pp = 1, n_tg = 1, n_th = 1;
    const char *streams = NULL, *format = "md";
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *list = !strcmp(a, "-p") ? pp : !strcmp(a, "-n") ? tg : !strcmp(a, "-t") ? th : NULL;
        int *count = list == pp ? &n_pp : list == tg ? &n_tg : &n_th;
        if (list) {
            if (!v || !parse_list(v, list == th ? 1 : 0, list == th ? 1024 : 1 << 20, list, MAX_VALUES, count))
                status = cli_fail(cmd, 2, "%s: expected a number or a list such as 1,2,4", a);
            i++;
        } else if (!strcmp(a, "-r")) {
            if (!v || !cli_parse_int(v, 1, MAX_REPS, &reps)) status = cli_fail(cmd, 2, "-r: expected 1..%d", MAX_REPS);
            i++;
        } else if (!strcmp(a, "-o")) {
            if (!v || (strcmp(v, "md") && strcmp(v, "json"))) status = cli_fail(cmd, 2, "-o: expected md or json");
            else format = v;
            i++;
        } else if (!strcmp(a, "--streams") && v) {
            streams = argv[++i];
        } else {
            const int r = cli_common_option(cmd, &o, argc, argv, &i);
            if (r < 0) status = 2;
            else if (r == 0) status = cli_fail(cmd, 2, "unknown option '%s'", a);
        }
    }
    if (!status && !o.model_path)
        status = cli_fail(cmd, 2, "usage: deepc bench MODEL.gguf [-p 512[,..]] [-n 128[,..]] [-r 3] [-t N[,..]] [-o md|json] "
                                  "[--streams 1,4,16]");
    if (status) return status;
    o.n_threads = (int)th[0];
    if (streams) return bench_streams(&o, streams, pp[0], tg[0]);
    long max_tokens = 1;
    for (int k = 0; k < n_pp; k++) max_tokens = pp[k] > max_tokens ? pp[k] : max_tokens;
    for (int k = 0; k < n_tg; k++) max_tokens = tg[k] > max_tokens ? tg[k] : max_tokens;
    char err[DEEPC_ERR_LEN];
    deepc_model *model = deepc_model_load(o.model_path, err);
    if (!model) return cli_fail(cmd, 1, "%s", err);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)max_tokens);
    if (!ids) status = cli_fail(cmd, 1, "out of memory");
    else fill_ids(ids, max_tokens, 12345, deepc_model_n_vocab(model));
    const char *name = strrchr(o.model_path, '/') ? strrchr(o.model_path, '/') + 1 : o.model_path;
    int n_tests = 0, printed = 0; /* -p 0 or -n 0: that test is skipped, as in llama-bench */
    for (int k = 0; k < n_pp + n_tg; k++) n_tests += (k < n_pp ? pp[k] : tg[k - n_pp]) > 0;
    for (int t = 0; t < n_th && !status; t++) {
        deepc_context_params cp = deepc_context_default_params();
        cp.n_threads = (int)th[t];
        cp.n_ctx = o.n_ctx ? o.n_ctx : (int32_t)max_tokens + 16;
        cp.n_batch = (int32_t)max_tokens;
        cp.kv_type = o.kv_type;
        deepc_context *ctx = deepc_context_create(model, &cp, err);
        if (!ctx) status = cli_fail(cmd, 1, "%s", err);
        for (int k = 0; k < n_pp + n_tg && !status; k++) {
            bench_row row = {.model = name, .format = format, .model_bytes = (long)deepc_model_file_bytes(model),
                             .threads = th[t] ? (int)th[t] : deepc_n_cpus(), .gen = k >= n_pp,
                             .tokens = k < n_pp ? pp[k] : tg[k - n_pp], .reps = (int)reps};
            if (row.tokens == 0) continue;
            if (!run_test(ctx, ids, &row, err)) status = cli_fail(cmd, 1, "%s", err);
            else print_row(&row, printed == 0, printed == n_th * n_tests - 1), printed++;
            fflush(stdout);
        }
        deepc_context_free(ctx);
    }
    free(ids);
    deepc_model_free(model);
    return status;
}
