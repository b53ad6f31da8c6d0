/* api_json.h - the JSON the server sends: errors, responses, stream chunks.
 *
 * Builders return cJSON trees (or printed strings) shaped as in
 * docs/server-api.md. Every string that reaches the wire goes through
 * api_json_string, which replaces bytes that are not valid UTF-8 with U+FFFD,
 * so the output is always valid JSON in UTF-8; the raw token bytes appear
 * only in the `bytes` integer arrays of log probabilities.
 *
 * Memory: returned cJSON trees and strings belong to the caller
 * (cJSON_Delete / free). Builders return NULL only when out of memory.
 */
#ifndef DC_SERVER_API_JSON_H
#define DC_SERVER_API_JSON_H

#include <cjson/cJSON.h>

#include "api_parse.h"
#include "deepc.h"
#include "stream.h"

/* `{"error": {"message", "type", "param", "code"}}`, printed. */
char *api_error_json(const api_error *e);

/* A JSON string of s[0, len) with invalid UTF-8 replaced by U+FFFD. */
cJSON *api_json_string(const char *s, size_t len);

/* What every response and chunk of one request shares. */
typedef struct {
    const char *id;          /* "chatcmpl-..." / "cmpl-..." */
    const char *object;      /* "chat.completion", "chat.completion.chunk", "text_completion" */
    const char *model;
    long long created;
} api_envelope;

/* {id, object, created, model, system_fingerprint} with an empty choices array
 * (returned through *choices). */
cJSON *api_envelope_json(const api_envelope *env, cJSON **choices);

/* {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"}}. */
cJSON *api_usage_json(const job_result *r);

/* "stop", "length" (finish reasons other than errors). */
const char *api_finish_name(deepc_finish_reason f);

/* Chat log probabilities of n tokens: an array for logprobs.content, entries
 * {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}. */
cJSON *api_chat_logprobs(const deepc_tokenizer *tok, const job_logprob *lp, size_t n);

/* Legacy completions log probabilities, appended to *obj (created on first
 * use: {"tokens", "token_logprobs", "top_logprobs", "text_offset"});
 * *offset is the running text offset in bytes. */
int api_legacy_logprobs(const deepc_tokenizer *tok, const job_logprob *lp, size_t n, cJSON **obj, size_t *offset);

#endif
