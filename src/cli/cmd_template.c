/* cmd_template.c - `deepc template TEMPLATE`: renders a chat template with the
 * variables of one JSON object read from stdin and writes exactly the result
 * to stdout. TEMPLATE is a .jinja file, a .gguf model, a tokenizer_config.json
 * or a built-in template's name; see deepc_template_render_file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "template"

static int usage(void) {
    fprintf(stderr, "usage: deepc template TEMPLATE < vars.json\n"
                    "  TEMPLATE: a .jinja file, a .gguf model, a tokenizer_config.json, or a built-in:");
    for (const char *const *n = deepc_template_builtin_names(); *n; n++) fprintf(stderr, " %s", *n);
    fprintf(stderr, "\n  stdin: one JSON object (messages, add_generation_prompt, tools, bos_token, ...)\n");
    return 2;
}

int cmd_template(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') return usage();
    char err[DEEPC_ERR_LEN];
    size_t len = 0, out_len = 0;
    char *vars = cli_read_all(stdin, &len), *out = NULL;
    int status = 1;
    if (!vars) cli_fail(CMD, 1, "cannot read stdin");
    else if (deepc_template_render_file(argv[1], vars, len, &out, &out_len, err) < 0) cli_fail(CMD, 1, "%s", err);
    else if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout)) cli_fail(CMD, 1, "cannot write the output");
    else status = 0;
    free(out);
    free(vars);
    return status;
}
