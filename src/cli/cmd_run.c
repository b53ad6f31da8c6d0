/* cmd_run.c - `deepc run MODEL -p "prompt"`: raw completion, the generated
 * text streamed to stdout as it comes; or `--tokens 1,2,3` as input and
 * `--print-ids` to print the generated ids as one JSON array instead of text
 * (`deepc run MODEL --tokens 1,2,3 -n 32 --temp 0 --ignore-eos --print-ids`
 * is how the fixtures are checked: keep that format stable).
 *
 * The prompt is tokenized as llama.cpp's CLI does (BOS when the model asks
 * for it, special tokens recognised). Generation stops at an
 * end-of-generation token (unless --ignore-eos), after -n tokens, or when the
 * context is full. Sampling: --temp 0 is greedy; otherwise the model file's
 * defaults and the sampling options (see `deepc --help`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine/generate.h"

typedef struct {
    dc_detok detok;
    int32_t *ids;   /* --print-ids: collected ids */
    int32_t n_ids;
    bool print_ids;
} run_output;

static bool on_token(void *user, int32_t id) {
    run_output *o = user;
    o->ids[o->n_ids++] = id;
    if (o->print_ids) return true;
    const char *s;
    size_t n;
    char err[DC_ERR_LEN];
    if (!dc_detok_feed(&o->detok, id, &s, &n, err)) return false;
    fwrite(s, 1, n, stdout);
    fflush(stdout);
    return true;
}

static int prompt_tokens(const char *cmd, const cli_text *t, const char *text, cli_model_opts *o) {
    const size_t len = strlen(text), bad = cli_utf8_invalid_at(text, len);
    if (bad < len) return cli_fail(cmd, 1, "the prompt is not valid UTF-8 (byte %zu)", bad);
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    if (!dc_tok_encode(t->tok, text, len, DC_TOK_ADD_SPECIAL | DC_TOK_PARSE_SPECIAL, &ids, err))
        return cli_fail(cmd, 1, "%s", err);
    free(o->tokens);
    o->tokens = ids.ids;
    o->n_tokens = (int32_t)ids.n;
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
    if (!status && prompt) o.n_tokens = 512; /* sizes the batch before the prompt is known */
    if (!status && !cli_open_text(cmd, &o, &samp, &t)) status = 1;
    if (!status && prompt) status = prompt_tokens(cmd, &t, prompt, &o);
    dc_gen_session gs = {0};
    if (!status && !dc_gen_session_init(&gs, t.ctx, 0, 512)) status = cli_fail(cmd, 1, "out of memory");
    if (!status) {
        char err[DC_ERR_LEN];
        const int32_t room = deepc_context_n_ctx(t.ctx) - o.n_tokens;
        out.ids = malloc(sizeof(int32_t) * (size_t)(room > 0 ? room : 1));
        dc_detok_init(&out.detok, t.tok, false);
        dc_gen_params gp = {.max_tokens = (int32_t)n_gen, .ignore_eos = ignore_eos};
        if (!out.ids)
            status = cli_fail(cmd, 1, "out of memory");
        else if (dc_gen_prompt(&gs, o.tokens, o.n_tokens, NULL, err) < 0 ||
                 dc_generate(&gs, t.smp, t.tok, &gp, on_token, NULL, &out, NULL, err) < 0)
            status = cli_fail(cmd, 1, "%s: %s", o.model_path, err);
        size_t n;
        const char *rest = dc_detok_flush(&out.detok, &n);
        if (!status && out.print_ids) {
            for (int i = 0; i < out.n_ids; i++) printf(i ? ",%d" : "[%d", out.ids[i]);
            printf(out.n_ids ? "]\n" : "[]\n");
        } else if (!status || out.n_ids) {
            fwrite(rest, 1, n, stdout);
            putchar('\n');
        }
        dc_detok_free(&out.detok);
    }
    free(out.ids);
    dc_gen_session_free(&gs);
    cli_close_text(&t);
    cli_model_opts_free(&o);
    return status;
}
