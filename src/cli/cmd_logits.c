/* cmd_logits.c - `deepc logits MODEL --tokens 1,2,3`: evaluates the tokens
 * as one batch of sequence 0 and prints
 *   {"n_vocab": V, "logits": [[V floats], ... one row per position]}
 * with every float printed to full precision (%.9g). This format is how the
 * fixtures are checked: keep it stable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_logits(deepc_context *ctx, int32_t n_tokens, int32_t n_vocab) {
    printf("{\"n_vocab\": %d, \"logits\": [", n_vocab);
    for (int32_t i = 0; i < n_tokens; i++) {
        const float *row = deepc_get_logits(ctx, i);
        putchar(i ? ',' : '[');
        if (i) putchar('[');
        for (int32_t v = 0; v < n_vocab; v++) printf(v ? ",%.9g" : "%.9g", row[v]);
        putchar(']');
    }
    printf("]}\n");
}

int cmd_logits(int argc, char **argv) {
    const char *cmd = "logits";
    cli_model_opts o = {0};
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        int r = cli_common_option(cmd, &o, argc, argv, &i);
        if (r < 0) status = 2;
        else if (r == 0) status = cli_fail(cmd, 2, "unknown option '%s'", argv[i]);
    }
    if (!status && (!o.model_path || !o.tokens))
        status = cli_fail(cmd, 2, "usage: deepc logits MODEL.gguf --tokens 1,2,3 [-t N]");
    deepc_model *model = NULL;
    deepc_context *ctx = NULL;
    if (!status && !cli_open(cmd, &o, &model, &ctx)) status = 1;
    if (!status) {
        int32_t *seq = calloc((size_t)o.n_tokens, sizeof *seq);
        int8_t *want = malloc((size_t)o.n_tokens);
        char err[DEEPC_ERR_LEN];
        if (!seq || !want) {
            status = cli_fail(cmd, 1, "out of memory");
        } else {
            memset(want, 1, (size_t)o.n_tokens);
            deepc_batch b = {.n_tokens = o.n_tokens, .tokens = o.tokens, .seq = seq, .logits = want};
            if (deepc_decode(ctx, &b, err) != 0)
                status = cli_fail(cmd, 1, "%s: %s", o.model_path, err);
            else
                print_logits(ctx, o.n_tokens, deepc_model_n_vocab(model));
        }
        free(seq);
        free(want);
    }
    deepc_context_free(ctx);
    deepc_model_free(model);
    cli_model_opts_free(&o);
    return status;
}
