/* cli.h - the deepc subcommands and the helpers they share.
 *
 * Each command takes argv after the program name (argv[0] is the command
 * itself), prints its result to stdout, a one-line "deepc CMD: message" to
 * stderr on error, and returns the exit status (0 ok, 1 error, 2 usage).
 */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "deepc.h"

int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_template(int argc, char **argv);

/* Prints "deepc CMD: message" (one line) to stderr; returns status. */
int cli_fail(const char *cmd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Options shared by the commands that evaluate a model. */
typedef struct {
    const char *model_path;
    int32_t *tokens;      /* --tokens 1,2,3 (owned) */
    int32_t n_tokens;
    int n_threads;        /* -t N, 0 = all cores */
    int n_ctx;            /* -c N, 0 = default */
    deepc_kv_type kv_type;/* --kv-type f16 (default) | f32 */
} cli_model_opts;

/* If argv[*i] is a common option (-t, -c, --kv-type, --tokens) or the model path,
 * consumes it (and its value, advancing *i) and returns 1; returns 0 for an
 * option it does not know, -1 (message printed) for a bad value. */
int cli_common_option(const char *cmd, cli_model_opts *opts, int argc, char **argv, int *i);
void cli_model_opts_free(cli_model_opts *opts);

/* Reads all of f into a malloc'ed NUL-terminated buffer; NULL on a read error. */
char *cli_read_all(FILE *f, size_t *len);

/* Parses a comma-separated list of token ids ("1,2,3"). false + message on
 * anything else (empty items, signs, overflow). *out is malloc'ed. */
bool cli_parse_tokens(const char *s, int32_t **out, int32_t *n, char err[DEEPC_ERR_LEN]);
/* Parses a non-negative int option value; false if not a number in [lo, hi]. */
bool cli_parse_int(const char *s, long lo, long hi, long *out);

/* Loads the model and creates a context for opts (n_batch large enough for
 * the prompt). Prints the error and returns false on failure. */
bool cli_open(const char *cmd, const cli_model_opts *opts, deepc_model **model, deepc_context **ctx);

/* ---- text.c: what run -p and chat share ---- */

/* Sampling options as given on the command line; unset fields (NaN /
 * INT32_MIN / !has_seed) keep the model file's default. */
typedef struct {
    float temp, top_p, min_p, repeat_penalty, presence, frequency;
    int32_t top_k, last_n;
    uint64_t seed;
    bool has_seed;
} cli_sampling;

cli_sampling cli_sampling_unset(void);
/* Like cli_common_option, for --temp --top-k --top-p --min-p
 * --repeat-penalty --repeat-last-n --presence-penalty --frequency-penalty --seed. */
int cli_sampling_option(const char *cmd, cli_sampling *s, int argc, char **argv, int *i);

/* A model ready for text: an engine with one slot (its tokenizer borrowed)
 * and the sampling settings (the model's defaults overridden by the options). */
typedef struct {
    deepc_model *model;
    deepc_engine *engine;
    const deepc_tokenizer *tok;
    deepc_sampling sampling;
} cli_text;

/* Opens the model and an engine for opts. Prints the error and returns false
 * on failure (t is then empty). */
bool cli_open_text(const char *cmd, const cli_model_opts *o, const cli_sampling *s, cli_text *t);
void cli_close_text(cli_text *t);

/* Runs the engine until request id has ended; *stop (optional) becoming
 * nonzero cancels it. false + message when a decode failed. */
bool cli_run_request(const char *cmd, cli_text *t, uint64_t id, volatile sig_atomic_t *stop);

/* Offset of the first byte of s[0, len) that is not part of valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid),
 * or len when all of it is valid. */
size_t cli_utf8_invalid_at(const char *s, size_t len);

#endif
