/* api_parse.h - OpenAI request bodies -> validated request structs.
 *
 * Pure functions: no engine, no HTTP, no globals, so the fuzzer can drive
 * them (fuzz/fuzz_request.c). A body is parsed with cJSON, every field the
 * contract (docs/server-api.md) names is checked for type and range, and the
 * first problem becomes an api_error in OpenAI's shape: HTTP status, type,
 * message, the offending field's name (`param`) and an optional code.
 * Unknown fields are ignored; a JSON null counts as an absent field.
 *
 * Memory: api_request owns every pointer in it (malloc'ed); free it with
 * api_request_free, also after a failed parse (which leaves it empty).
 */
#ifndef DC_SERVER_API_PARSE_H
#define DC_SERVER_API_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deepc.h"

typedef struct {
    int status;          /* HTTP status: 400, 401, 404, 405, 413, 429, 500, 503 */
    const char *type;    /* "invalid_request_error", ... (static) */
    const char *code;    /* "context_length_exceeded", ... or NULL (static) */
    char param[64];      /* the field at fault, "" when none */
    char message[256];
} api_error;

/* Fills e (message printf-style); returns -1 so callers can `return api_fail(...)`. */
int api_fail(api_error *e, int status, const char *type, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Which sampling fields the body set (the rest keep the model's defaults). */
typedef struct {
    bool temp, top_k, top_p, min_p, repeat, presence, frequency, seed;
} api_sampling_set;

typedef struct {
    char *model;                 /* "model", or NULL when absent */
    /* chat: normalized JSON for deepc_chat_render (tools/kwargs NULL when absent) */
    char *messages_json, *tools_json, *kwargs_json;
    /* completions: the prompt as text, or as token ids (n_prompt_ids >= 0) */
    char *prompt;
    size_t prompt_len;
    int32_t *prompt_ids;
    int32_t n_prompt_ids;        /* -1: the prompt is text */
    deepc_sampling sampling;     /* the fields marked in `set` */
    api_sampling_set set;
    int32_t max_tokens;          /* -1: until EOS or the end of the context */
    char *stop[DEEPC_MAX_STOP];
    int32_t n_stop;
    bool logprobs;               /* chat: logprobs; completions: logprobs given (0..5) */
    int32_t top_logprobs;
    bool stream, include_usage;
    int64_t reasoning_budget;    /* -1: none */
    deepc_logit_bias *logit_bias;/* "logit_bias": {"token id": bias in [-100, 100]} */
    int32_t n_logit_bias;
} api_request;

/* Parses a /v1/chat/completions body. 0, or -1 with *e filled (then *r is
 * empty). Never reads past body[len). */
int api_parse_chat(const char *body, size_t len, api_request *r, api_error *e);
/* Parses a /v1/completions body, likewise. */
int api_parse_completion(const char *body, size_t len, api_request *r, api_error *e);
void api_request_free(api_request *r);

/* Overrides the fields of *s that the request set. */
void api_apply_sampling(const api_request *r, deepc_sampling *s);

/* Offset of the first byte of s[0, len) that is not valid UTF-8 (overlong
 * forms, surrogates, code points above U+10FFFF), or len when all is valid. */
size_t api_utf8_invalid_at(const char *s, size_t len);

#endif
