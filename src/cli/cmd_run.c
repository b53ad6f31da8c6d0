/* cmd_run.c - `deepc run MODEL -p "prompt"`: raw completion, the generated
 * text streamed to stdout as it comes; or `--tokens 1,2,3` as input and
 * `--print-ids` to print the generated ids as one JSON array instead of text
 * (`deepc run MODEL --tokens 1,2,3 -n 32 --temp 0 --ignore-eos --print-ids`
 * is how the fixtures are checked: keep that format stable).
 *
 * The prompt is tokenized as llama.cpp's CLI does (BOS when the model asks
 * for it, special tokens recognised). Generation stops at an
 * end-of-generation token (unless --ignore-eos), after -n tokens, or when the
 * context is full. It is one request on the engine (deepc.h). Sampling: --temp 0 is greedy; otherwise the model file's
 * defaults and the sampling options (see `deepc --help`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
    int32_t *ids;   /* --print-ids: collected ids */
    int32_t n_ids, cap;
    bool print_ids, failed;
    deepc_finish_reason finish;
    char error[DEEPC_ERR_LEN];
} run_output;

static void on_event(void *user, const deepc_event *ev) {
    run_output *o = user;
    if (ev->kind == DEEPC_EVENT_TOKEN && o->n_ids < o->cap) o->ids[o->n_ids++] = ev->token;
    if (ev->kind == DEEPC_EVENT_DONE) {
        o->finish = ev->finish;
        if (ev->error) snprintf(o->error, sizeof o->error, "%s", ev->error);
    }
    if (o->print_ids) return;
    fwrite(ev->content, 1, ev->content_len, stdout);
    fflush(stdout);
}

static int prompt_tokens(const char *cmd, const cli_text *t, const char *text, cli_model_opts *o) {
    const size_t len = strlen(text), bad = cli_utf8_invalid_at(text, len);
    if (bad < len) return cli_fail(cmd, 1, "the prompt is not valid UTF-8 (byte %zu)", bad);
    char err[DEEPC_ERR_LEN];
    int32_t *ids;
    const int64_t n = deepc_tokenize(t->tok, text, len, DEEPC_TOKENIZE_ADD_SPECIAL | DEEPC_TOKENIZE_PARSE_SPECIAL,
                                     &ids, err);
    if (n < 0) return cli_fail(cmd, 1, "%s", err);
    free(o->tokens);
    o->tokens = ids;
    o->n_tokens = (int32_t)n;
    return 0;
}

int cmd_run(int argc, char **argv) {
    const char *cmd = "run";
    cli_model_opts o = {0};
    cli_sampling samp = cli_sampling_unset();
    const char *prompt = NULL;
    long n_gen = -1;
    bool ignore_eos = false;
    run_output out = {0};
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        int r = cli_common_option(cmd, &o, argc, argv, &i);
        if (r == 0) r = cli_sampling_option(cmd, &samp, argc, argv, &i);
        if (r < 0) {
            status = 2;
        } else if (r == 1) {
            continue;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (i + 1 >= argc || !cli_parse_int(argv[++i], -1, 1 << 24, &n_gen))
                status = cli_fail(cmd, 2, "%s needs a number >= -1", a);
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (i + 1 >= argc) status = cli_fail(cmd, 2, "%s needs the prompt text", a);
            else prompt = argv[++i];
        } else if (!strcmp(a, "--ignore-eos")) {
            ignore_eos = true;
        } else if (!strcmp(a, "--print-ids")) {
            out.print_ids = true;
        } else {
            status = cli_fail(cmd, 2, "unknown option '%s'", a);
        }
    }
    if (!status && (!o.model_path || !prompt == !o.tokens))
        status = cli_fail(cmd, 2, "usage: deepc run MODEL.gguf (-p TEXT | --tokens 1,2,3) [-n N] [--temp T] [--ignore-eos] [--print-ids]");
    cli_text t = {0};
    if (!status && !cli_open_text(cmd, &o, &samp, &t)) status = 1;
    if (!status && prompt) status = prompt_tokens(cmd, &t, prompt, &o);
    if (!status) {
        char err[DEEPC_ERR_LEN];
        const int32_t n_ctx = deepc_engine_n_ctx(t.engine);
        out.cap = n_ctx;
        out.ids = malloc(sizeof(int32_t) * (size_t)n_ctx);
        deepc_request rq = {.prompt = o.tokens, .n_prompt = o.n_tokens, .sampling = t.sampling,
                            .max_tokens = (int32_t)n_gen, .ignore_eos = ignore_eos, .reasoning_budget = -1,
                            .on_event = on_event, .user = &out};
        uint64_t id = 0;
        if (!out.ids)
            status = cli_fail(cmd, 1, "out of memory");
        else if (o.n_tokens >= n_ctx)
            status = cli_fail(cmd, 1, "%s: the prompt has %d tokens but the context holds %d (use -c to enlarge it)",
                              o.model_path, o.n_tokens, n_ctx);
        else if (!(id = deepc_engine_submit(t.engine, &rq, NULL, err)))
            status = cli_fail(cmd, 1, "%s: %s", o.model_path, err);
        else if (!cli_run_request(cmd, &t, id, NULL))
            status = 1;
        else if (out.finish == DEEPC_FINISH_ERROR)
            status = cli_fail(cmd, 1, "%s: %s", o.model_path, out.error);
        if (!status && out.print_ids) {
            for (int i = 0; i < out.n_ids; i++) printf(i ? ",%d" : "[%d", out.ids[i]);
            printf(out.n_ids ? "]\n" : "[]\n");
        } else if (id) {
            putchar('\n');
        }
    }
    free(out.ids);
    cli_close_text(&t);
    cli_model_opts_free(&o);
    return status;
}
