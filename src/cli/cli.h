/* cli.h - the deepc subcommands and the helpers they share.
 *
 * Each command takes argv after the program name (argv[0] is the command
 * itself), prints its result to stdout, a one-line "deepc CMD: message" to
 * stderr on error, and returns the exit status (0 ok, 1 error, 2 usage).
 */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "deepc.h"

int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "deepc CMD: message" (one line) to stderr; returns status. */
int cli_fail(const char *cmd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Options shared by the commands that evaluate a model. */
typedef struct {
    const char *model_path;
    int32_t *tokens;      /* --tokens 1,2,3 (owned) */
    int32_t n_tokens;
    int n_threads;        /* -t N, 0 = all cores */
    int n_ctx;            /* -c N, 0 = default */
} cli_model_opts;

/* If argv[*i] is a common option (-t, -c, --tokens) or the model path,
 * consumes it (and its value, advancing *i) and returns 1; returns 0 for an
 * option it does not know, -1 (message printed) for a bad value. */
int cli_common_option(const char *cmd, cli_model_opts *opts, int argc, char **argv, int *i);
void cli_model_opts_free(cli_model_opts *opts);

/* Parses a comma-separated list of token ids ("1,2,3"). false + message on
 * anything else (empty items, signs, overflow). *out is malloc'ed. */
bool cli_parse_tokens(const char *s, int32_t **out, int32_t *n, char err[DEEPC_ERR_LEN]);
/* Parses a non-negative int option value; false if not a number in [lo, hi]. */
bool cli_parse_int(const char *s, long lo, long hi, long *out);

/* Loads the model and creates a context for opts (n_batch large enough for
 * the prompt). Prints the error and returns false on failure. */
bool cli_open(const char *cmd, const cli_model_opts *opts, deepc_model **model, deepc_context **ctx);

#endif
