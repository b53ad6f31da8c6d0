/* api_json.c - builders for the JSON the server sends (see api_json.h).
 *
 * Strings are sanitized once, in api_json_string: a run of valid UTF-8 is
 * copied, each invalid byte (and NUL, which cJSON strings cannot hold)
 * becomes U+FFFD. Log probability entries carry the token's text sanitized
 * that way and its raw bytes as integers, as OpenAI does.
 */
#include "api_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *api_error_json(const api_error *e) {
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddItemToObject(err, "message", api_json_string(e->message, strlen(e->message)));
    cJSON_AddStringToObject(err, "type", e->type ? e->type : "invalid_request_error");
    if (e->param[0]) cJSON_AddStringToObject(err, "param", e->param);
    else cJSON_AddNullToObject(err, "param");
    if (e->code) cJSON_AddStringToObject(err, "code", e->code);
    else cJSON_AddNullToObject(err, "code");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

cJSON *api_json_string(const char *s, size_t len) {
    static const char fffd[] = "\xef\xbf\xbd";
    char *buf = malloc(len * 3 + 1), *w = buf; /* each byte grows to at most 3 */
    if (!buf) return NULL;
    size_t i = 0;
    while (i < len) {
        const size_t ok = i + api_utf8_invalid_at(s + i, len - i);
        for (; i < ok; i++) {
            if (s[i]) {
                *w++ = s[i];
                continue;
            }
            memcpy(w, fffd, 3); /* NUL */
            w += 3;
        }
        if (i < len) { /* an invalid byte */
            memcpy(w, fffd, 3);
            w += 3;
            i++;
        }
    }
    *w = '\0';
    cJSON *v = cJSON_CreateString(buf);
    free(buf);
    return v;
}

cJSON *api_envelope_json(const api_envelope *env, cJSON **choices) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", env->id);
    cJSON_AddStringToObject(o, "object", env->object);
    cJSON_AddNumberToObject(o, "created", (double)env->created);
    cJSON_AddStringToObject(o, "model", env->model);
    cJSON_AddStringToObject(o, "system_fingerprint", "deepc-" DEEPC_VERSION);
    *choices = cJSON_AddArrayToObject(o, "choices");
    return o;
}

cJSON *api_usage_json(const job_result *r) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", r->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", r->n_generated);
    cJSON_AddNumberToObject(u, "total_tokens", (double)r->n_prompt + r->n_generated);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", r->n_cached);
    return u;
}

const char *api_finish_name(deepc_finish_reason f) {
    return f == DEEPC_FINISH_LENGTH ? "length" : "stop";
}

/* A log probability as JSON: -inf (impossible under the sampler) -> -9999. */
static double json_logprob(float lp) {
    return isfinite(lp) ? lp : -9999.0;
}

/* {"token", "logprob", "bytes"} of one token. */
static cJSON *token_entry(const deepc_tokenizer *tok, int32_t id, float logprob) {
    size_t n = 0;
    const char *b = deepc_token_bytes(tok, id, &n);
    if (!b) n = 0;
    cJSON *o = cJSON_CreateObject(), *bytes = cJSON_CreateArray();
    cJSON_AddItemToObject(o, "token", api_json_string(b ? b : "", n));
    cJSON_AddNumberToObject(o, "logprob", json_logprob(logprob));
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)b[i]));
    cJSON_AddItemToObject(o, "bytes", bytes);
    return o;
}

cJSON *api_chat_logprobs(const deepc_tokenizer *tok, const job_logprob *lp, size_t n) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *e = token_entry(tok, lp[i].token, lp[i].logprob), *top = cJSON_AddArrayToObject(e, "top_logprobs");
        for (int32_t k = 0; k < lp[i].n_top; k++)
            cJSON_AddItemToArray(top, token_entry(tok, lp[i].top[k].token, lp[i].top[k].logprob));
        cJSON_AddItemToArray(arr, e);
    }
    return arr;
}

int api_legacy_logprobs(const deepc_tokenizer *tok, const job_logprob *lp, size_t n, cJSON **obj, size_t *offset) {
    if (!*obj) {
        *obj = cJSON_CreateObject();
        if (!*obj) return -1;
        cJSON_AddArrayToObject(*obj, "tokens");
        cJSON_AddArrayToObject(*obj, "token_logprobs");
        cJSON_AddArrayToObject(*obj, "top_logprobs");
        cJSON_AddArrayToObject(*obj, "text_offset");
    }
    cJSON *tokens = cJSON_GetObjectItem(*obj, "tokens"), *lps = cJSON_GetObjectItem(*obj, "token_logprobs");
    cJSON *tops = cJSON_GetObjectItem(*obj, "top_logprobs"), *offs = cJSON_GetObjectItem(*obj, "text_offset");
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *b = deepc_token_bytes(tok, lp[i].token, &len);
        if (!b) len = 0;
        cJSON_AddItemToArray(tokens, api_json_string(b ? b : "", len));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(json_logprob(lp[i].logprob)));
        cJSON *top = cJSON_CreateObject();
        for (int32_t k = 0; k < lp[i].n_top; k++) {
            size_t tl = 0;
            const char *tb = deepc_token_bytes(tok, lp[i].top[k].token, &tl);
            cJSON *key = api_json_string(tb ? tb : "", tb ? tl : 0);
            if (key && !cJSON_GetObjectItemCaseSensitive(top, key->valuestring))
                cJSON_AddNumberToObject(top, key->valuestring, json_logprob(lp[i].top[k].logprob));
            cJSON_Delete(key);
        }
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)*offset));
        *offset += len;
    }
    return 0;
}
