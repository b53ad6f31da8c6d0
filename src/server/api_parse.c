/* api_parse.c - validation of chat and completions request bodies.
 *
 * The body must be valid UTF-8 and one JSON object. Fields are read with a
 * handful of typed getters (get_number, get_int, get_bool, ...) that each
 * know the field's name, so every failure names its `param`. Chat messages
 * are rebuilt into a fresh array holding only what templates read (role,
 * content as one string, reasoning_content, tool_calls, tool_call_id, name):
 * `reasoning` becomes `reasoning_content`, arrays of text parts are joined
 * with "\n" and the "developer" role (OpenAI's newer name) becomes
 * "system". The result is printed back to JSON for deepc_chat_render.
 */
#include "api_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define INVALID "invalid_request_error"

int api_fail(api_error *e, int status, const char *type, const char *code, const char *param, const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    /* one line of valid UTF-8, whatever client text it quotes (or cut short) */
    for (char *c = e->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
    e->message[api_utf8_invalid_at(e->message, strlen(e->message))] = '\0';
    return -1;
}

size_t api_utf8_invalid_at(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        const unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len - i < n) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n;
    }
    return len;
}

/* ---- typed field getters: 1 = present and valid, 0 = absent, -1 = error ---- */

static const cJSON *field(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* A number in [lo, hi]; lo_open excludes lo. */
static int get_number(const cJSON *obj, const char *name, double lo, bool lo_open, double hi, double *out,
                      api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) return api_fail(e, 400, INVALID, NULL, name, "'%s' must be a number", name);
    const double d = v->valuedouble;
    if (!isfinite(d) || d < lo || (lo_open && d == lo) || d > hi)
        return api_fail(e, 400, INVALID, NULL, name, "'%s' must be in %c%g, %g]", name, lo_open ? '(' : '[', lo, hi);
    *out = d;
    return 1;
}

/* An integral number in [lo, hi]. */
static int get_int(const cJSON *obj, const char *name, double lo, double hi, int64_t *out, api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || !isfinite(v->valuedouble))
        return api_fail(e, 400, INVALID, NULL, name, "'%s' must be an integer", name);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return api_fail(e, 400, INVALID, NULL, name, "'%s' must be between %.0f and %.0f", name, lo, hi);
    *out = (int64_t)v->valuedouble;
    return 1;
}

static int get_bool(const cJSON *obj, const char *name, bool *out, api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return api_fail(e, 400, INVALID, NULL, name, "'%s' must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return 1;
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int out_of_memory(api_error *e) {
    return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* ---- fields shared by both endpoints ---- */

static int parse_stop(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *v = field(body, "stop");
    if (!v) return 0;
    const bool one = cJSON_IsString(v);
    if (!one && !cJSON_IsArray(v))
        return api_fail(e, 400, INVALID, NULL, "stop", "'stop' must be a string or an array of strings");
    if (!one && cJSON_GetArraySize(v) > DEEPC_MAX_STOP)
        return api_fail(e, 400, INVALID, NULL, "stop", "'stop' may hold at most %d strings", DEEPC_MAX_STOP);
    const cJSON *s = one ? v : v->child;
    for (; s; s = one ? NULL : s->next) {
        if (!cJSON_IsString(s))
            return api_fail(e, 400, INVALID, NULL, "stop", "'stop' must be a string or an array of strings");
        if (!*s->valuestring) continue; /* an empty stop string never matches anything useful */
        if (!(r->stop[r->n_stop++] = dup_n(s->valuestring, strlen(s->valuestring)))) return out_of_memory(e);
    }
    return 0;
}

static int parse_sampling(const cJSON *body, api_request *r, api_error *e) {
    deepc_sampling *s = &r->sampling;
    double d;
    int64_t i;
    int k;
    if ((k = get_number(body, "temperature", 0, false, 2, &d, e)) < 0) return -1;
    if ((r->set.temp = k)) s->temp = (float)d;
    if ((k = get_number(body, "top_p", 0, true, 1, &d, e)) < 0) return -1;
    if ((r->set.top_p = k)) s->top_p = (float)d;
    if ((k = get_int(body, "top_k", 0, INT32_MAX, &i, e)) < 0) return -1;
    if ((r->set.top_k = k)) s->top_k = (int32_t)i;
    if ((k = get_number(body, "min_p", 0, false, 1, &d, e)) < 0) return -1;
    if ((r->set.min_p = k)) s->min_p = (float)d;
    if ((k = get_number(body, "presence_penalty", -2, false, 2, &d, e)) < 0) return -1;
    if ((r->set.presence = k)) s->presence_penalty = (float)d;
    if ((k = get_number(body, "frequency_penalty", -2, false, 2, &d, e)) < 0) return -1;
    if ((r->set.frequency = k)) s->frequency_penalty = (float)d;
    if ((k = get_number(body, "repeat_penalty", 0, true, 1e9, &d, e)) < 0) return -1;
    if ((r->set.repeat = k)) s->repeat_penalty = (float)d;
    if ((k = get_int(body, "seed", -9007199254740992.0, 9007199254740992.0, &i, e)) < 0) return -1;
    if ((r->set.seed = k)) s->seed = (uint64_t)i;
    return 0;
}

/* "logit_bias": an object of token ids (as strings) to biases in [-100, 100]. */
static int parse_logit_bias(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *v = field(body, "logit_bias");
    if (!v) return 0;
    const int n = cJSON_GetArraySize(v);
    if (!cJSON_IsObject(v) || n > DEEPC_MAX_LOGIT_BIAS)
        return api_fail(e, 400, INVALID, NULL, "logit_bias", "'logit_bias' must be an object of at most %d token ids",
                        DEEPC_MAX_LOGIT_BIAS);
    if (n && !(r->logit_bias = malloc(sizeof *r->logit_bias * (size_t)n))) return out_of_memory(e);
    for (const cJSON *b = v->child; b; b = b->next) {
        char *end;
        errno = 0;
        const long id = strtol(b->string, &end, 10);
        if (errno || end == b->string || *end || id < 0 || id > INT32_MAX || b->string[0] < '0' || b->string[0] > '9')
            return api_fail(e, 400, INVALID, NULL, "logit_bias", "'logit_bias' keys must be token ids, not '%.32s'",
                            b->string);
        if (!cJSON_IsNumber(b) || !(b->valuedouble >= -100 && b->valuedouble <= 100))
            return api_fail(e, 400, INVALID, NULL, "logit_bias", "'logit_bias' values must be numbers in [-100, 100]");
        r->logit_bias[r->n_logit_bias++] = (deepc_logit_bias){.token = (int32_t)id, .bias = (float)b->valuedouble};
    }
    return 0;
}

/* Fields both endpoints share: model, sampling, max_tokens, stop, n, stream, logit_bias. */
static int parse_common(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *v = field(body, "model");
    if (v && !cJSON_IsString(v)) return api_fail(e, 400, INVALID, NULL, "model", "'model' must be a string");
    if (v && !(r->model = dup_n(v->valuestring, strlen(v->valuestring)))) return out_of_memory(e);
    if (parse_sampling(body, r, e) < 0) return -1;
    int64_t i;
    int k;
    static const char *const max_names[] = {"max_tokens", "max_completion_tokens"};
    for (int m = 0; m < 2; m++) {
        if ((k = get_int(body, max_names[m], 1, INT32_MAX, &i, e)) < 0) return -1;
        if (k) r->max_tokens = (int32_t)i;
    }
    if (parse_stop(body, r, e) < 0 || parse_logit_bias(body, r, e) < 0) return -1;
    if ((k = get_int(body, "n", -1e18, 1e18, &i, e)) < 0) return -1;
    if (k && i != 1) return api_fail(e, 400, INVALID, NULL, "n", "only n = 1 is supported");
    if (get_bool(body, "stream", &r->stream, e) < 0) return -1;
    if ((v = field(body, "stream_options"))) {
        if (!cJSON_IsObject(v))
            return api_fail(e, 400, INVALID, NULL, "stream_options", "'stream_options' must be an object");
        const cJSON *u = field(v, "include_usage");
        if (u && !cJSON_IsBool(u))
            return api_fail(e, 400, INVALID, NULL, "stream_options.include_usage", "'include_usage' must be a boolean");
        r->include_usage = cJSON_IsTrue(u);
    }
    return 0;
}

/* Parses and checks the body's JSON: one object, valid UTF-8. */
/* Whether a string of the JSON text escapes U+0000 (backslashes occur only
 * inside strings; each escape is skipped whole). cJSON's strings end at a
 * NUL, so such a string would be read cut short: it is refused instead. */
static bool escapes_nul(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '\\') {
            if (s[i + 1] == 'u' && n - i >= 6 && !memcmp(s + i + 2, "0000", 4)) return true;
            i++;
        }
    return false;
}

static cJSON *parse_body(const char *body, size_t len, api_error *e) {
    if (api_utf8_invalid_at(body, len) < len) {
        api_fail(e, 400, INVALID, NULL, NULL, "the body is not valid UTF-8");
        return NULL;
    }
    if (escapes_nul(body, len)) {
        api_fail(e, 400, INVALID, NULL, NULL, "strings in the request body must not contain U+0000");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (root && end) /* trailing bytes after the value must be whitespace */
        for (const char *p = end; p < body + len; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                cJSON_Delete(root);
                root = NULL;
                break;
            }
    if (!root) {
        api_fail(e, 400, INVALID, NULL, NULL, "malformed JSON in the request body");
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        api_fail(e, 400, INVALID, NULL, NULL, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

static void init(api_request *r) {
    memset(r, 0, sizeof *r);
    r->n_prompt_ids = -1;
    r->max_tokens = -1;
    r->reasoning_budget = -1;
}

/* ---- chat ---- */

/* Content as one malloc'ed string: a string, or text parts joined by "\n".
 * NULL with *e set on a bad value. */
static char *message_text(const cJSON *c, const char *param, api_error *e) {
    if (cJSON_IsString(c)) {
        char *s = dup_n(c->valuestring, strlen(c->valuestring));
        if (!s) out_of_memory(e);
        return s;
    }
    if (!cJSON_IsArray(c)) {
        api_fail(e, 400, INVALID, NULL, param, "'%s' must be a string or an array of text parts", param);
        return NULL;
    }
    size_t len = 0;
    for (const cJSON *p = c->child; p; p = p->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsObject(p) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
            api_fail(e, 400, INVALID, NULL, param, "'%s': only {\"type\": \"text\", \"text\": ...} parts are supported",
                     param);
            return NULL;
        }
        len += strlen(text->valuestring) + 1;
    }
    char *s = malloc(len + 1), *w = s;
    if (!s) {
        out_of_memory(e);
        return NULL;
    }
    for (const cJSON *p = c->child; p; p = p->next) {
        const char *t = cJSON_GetObjectItemCaseSensitive(p, "text")->valuestring;
        if (w > s) *w++ = '\n';
        const size_t n = strlen(t);
        memcpy(w, t, n);
        w += n;
    }
    *w = '\0';
    return s;
}

/* One message of the request -> the normalized copy added to out. */
static int parse_message(const cJSON *m, int idx, cJSON *out, api_error *e) {
    char param[64];
    snprintf(param, sizeof param, "messages[%d]", idx);
    if (!cJSON_IsObject(m)) return api_fail(e, 400, INVALID, NULL, param, "'%s' must be an object", param);
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    size_t r = 0;
    while (cJSON_IsString(role) && r < 5 && strcmp(role->valuestring, roles[r])) r++;
    snprintf(param, sizeof param, "messages[%d].role", idx);
    if (!cJSON_IsString(role) || r == 5)
        return api_fail(e, 400, INVALID, NULL, param,
                        "'%s' must be one of system, developer, user, assistant, tool", param);
    const bool assistant = r == 3;
    const cJSON *tool_calls = field(m, "tool_calls");
    if (tool_calls && (!assistant || !cJSON_IsArray(tool_calls))) {
        snprintf(param, sizeof param, "messages[%d].tool_calls", idx);
        return api_fail(e, 400, INVALID, NULL, param, "'%s' must be an array on an assistant message", param);
    }
    cJSON *n = cJSON_CreateObject();
    if (!n || !cJSON_AddItemToArray(out, n)) {
        cJSON_Delete(n);
        return out_of_memory(e);
    }
    cJSON_AddStringToObject(n, "role", r == 1 ? "system" : roles[r]); /* templates know no "developer" */
    snprintf(param, sizeof param, "messages[%d].content", idx);
    const cJSON *content = field(m, "content");
    if (!content && !(assistant && tool_calls))
        return api_fail(e, 400, INVALID, NULL, param, "'%s' is required", param);
    if (content) {
        char *text = message_text(content, param, e);
        if (!text) return -1;
        cJSON_AddItemToObject(n, "content", cJSON_CreateString(text));
        free(text);
    } else { /* an assistant turn of only tool calls: "" as llama.cpp passes it (templates test `in content`) */
        cJSON_AddStringToObject(n, "content", "");
    }
    const cJSON *reasoning = field(m, "reasoning_content");
    if (!reasoning) reasoning = field(m, "reasoning");
    if (reasoning) {
        snprintf(param, sizeof param, "messages[%d].reasoning_content", idx);
        if (!assistant || !cJSON_IsString(reasoning))
            return api_fail(e, 400, INVALID, NULL, param, "'%s' must be a string on an assistant message", param);
        cJSON_AddStringToObject(n, "reasoning_content", reasoning->valuestring);
    }
    if (tool_calls) cJSON_AddItemToObject(n, "tool_calls", cJSON_Duplicate(tool_calls, true));
    static const char *const strings[] = {"tool_call_id", "name"};
    for (int k = 0; k < 2; k++) {
        const cJSON *s = field(m, strings[k]);
        if (!s) continue;
        snprintf(param, sizeof param, "messages[%d].%s", idx, strings[k]);
        if (!cJSON_IsString(s)) return api_fail(e, 400, INVALID, NULL, param, "'%s' must be a string", param);
        cJSON_AddStringToObject(n, strings[k], s->valuestring);
    }
    return 0;
}

static int print_json(const cJSON *v, char **out, api_error *e) {
    return (*out = cJSON_PrintUnformatted(v)) ? 0 : out_of_memory(e);
}

static int parse_messages(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *msgs = field(body, "messages");
    if (!msgs) return api_fail(e, 400, INVALID, NULL, "messages", "'messages' is required");
    if (!cJSON_IsArray(msgs) || !msgs->child)
        return api_fail(e, 400, INVALID, NULL, "messages", "'messages' must be a non-empty array");
    cJSON *out = cJSON_CreateArray();
    if (!out) return out_of_memory(e);
    int idx = 0, rc = 0;
    for (const cJSON *m = msgs->child; m && rc == 0; m = m->next) rc = parse_message(m, idx++, out, e);
    if (rc == 0) rc = print_json(out, &r->messages_json, e);
    cJSON_Delete(out);
    return rc;
}

static int parse_tools(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *tools = field(body, "tools");
    if (tools) {
        if (!cJSON_IsArray(tools)) return api_fail(e, 400, INVALID, NULL, "tools", "'tools' must be an array");
        int idx = 0;
        for (const cJSON *t = tools->child; t; t = t->next, idx++) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") || !cJSON_IsObject(fn) ||
                !cJSON_IsString(name)) {
                char param[64];
                snprintf(param, sizeof param, "tools[%d]", idx);
                return api_fail(e, 400, INVALID, NULL, param,
                                "'%s' must be {\"type\": \"function\", \"function\": {\"name\": ...}}", param);
            }
        }
        if (tools->child && print_json(tools, &r->tools_json, e) < 0) return -1;
    }
    const cJSON *choice = field(body, "tool_choice");
    if (choice && !(cJSON_IsString(choice) && (!strcmp(choice->valuestring, "none") ||
                                               !strcmp(choice->valuestring, "auto"))))
        return api_fail(e, 400, INVALID, NULL, "tool_choice", "'tool_choice' must be \"none\" or \"auto\"");
    return 0;
}

int api_parse_chat(const char *body, size_t len, api_request *r, api_error *e) {
    init(r);
    cJSON *root = parse_body(body, len, e);
    if (!root) return -1;
    int rc = parse_common(root, r, e);
    if (rc == 0) rc = parse_messages(root, r, e);
    if (rc == 0 && get_bool(root, "logprobs", &r->logprobs, e) < 0) rc = -1;
    int64_t i;
    int k = 0;
    if (rc == 0 && (k = get_int(root, "top_logprobs", 0, DEEPC_MAX_TOP_LOGPROBS, &i, e)) < 0) rc = -1;
    if (rc == 0 && k) {
        if (i > 0 && !r->logprobs) rc = api_fail(e, 400, INVALID, NULL, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
        r->top_logprobs = (int32_t)i;
    }
    const cJSON *v = field(root, "chat_template_kwargs");
    if (rc == 0 && v && !cJSON_IsObject(v))
        rc = api_fail(e, 400, INVALID, NULL, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
    if (rc == 0) {
        /* thinking is on unless the client turns it off, as llama.cpp's server
         * does (templates such as R1-Distill's close <think> without it) */
        cJSON *kwargs = v ? cJSON_Duplicate(v, true) : cJSON_CreateObject();
        if (kwargs && !cJSON_HasObjectItem(kwargs, "enable_thinking")) cJSON_AddTrueToObject(kwargs, "enable_thinking");
        rc = kwargs ? print_json(kwargs, &r->kwargs_json, e) : out_of_memory(e);
        cJSON_Delete(kwargs);
    }
    if (rc == 0 && (k = get_int(root, "reasoning_budget", -1, INT32_MAX, &i, e)) < 0) rc = -1;
    if (rc == 0 && k) r->reasoning_budget = i;
    if (rc == 0) rc = parse_tools(root, r, e);
    if (rc == 0 && (v = field(root, "response_format"))) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
        if (!cJSON_IsObject(v) || !cJSON_IsString(type) || strcmp(type->valuestring, "text"))
            rc = api_fail(e, 400, INVALID, NULL, "response_format", "only 'response_format' {\"type\": \"text\"} is supported");
    }
    cJSON_Delete(root);
    if (rc < 0) api_request_free(r);
    return rc;
}

/* ---- completions ---- */

static int parse_prompt(const cJSON *body, api_request *r, api_error *e) {
    const cJSON *p = field(body, "prompt");
    if (!p) return api_fail(e, 400, INVALID, NULL, "prompt", "'prompt' is required");
    if (cJSON_IsArray(p) && p->child && cJSON_IsString(p->child) && !p->child->next) p = p->child;
    if (cJSON_IsString(p)) {
        r->prompt_len = strlen(p->valuestring);
        return (r->prompt = dup_n(p->valuestring, r->prompt_len)) ? 0 : out_of_memory(e);
    }
    const int n = cJSON_GetArraySize(p);
    if (!cJSON_IsArray(p) || n == 0)
        return api_fail(e, 400, INVALID, NULL, "prompt",
                        "'prompt' must be a string, a non-empty array of token ids or an array holding one string");
    if (!(r->prompt_ids = malloc((size_t)n * sizeof *r->prompt_ids))) return out_of_memory(e);
    r->n_prompt_ids = 0;
    for (const cJSON *t = p->child; t; t = t->next) {
        const double d = cJSON_IsNumber(t) ? t->valuedouble : -1;
        if (d < 0 || d > INT32_MAX || d != floor(d))
            return api_fail(e, 400, INVALID, NULL, "prompt", "'prompt' token ids must be non-negative integers");
        r->prompt_ids[r->n_prompt_ids++] = (int32_t)d;
    }
    return 0;
}

int api_parse_completion(const char *body, size_t len, api_request *r, api_error *e) {
    init(r);
    cJSON *root = parse_body(body, len, e);
    if (!root) return -1;
    int rc = parse_common(root, r, e);
    if (rc == 0) rc = parse_prompt(root, r, e);
    int64_t i;
    int k = 0;
    if (rc == 0 && (k = get_int(root, "logprobs", 0, 5, &i, e)) < 0) rc = -1;
    if (rc == 0 && k) {
        r->logprobs = true;
        r->top_logprobs = (int32_t)i;
    }
    bool echo = false;
    if (rc == 0 && get_bool(root, "echo", &echo, e) < 0) rc = -1;
    if (rc == 0 && echo) rc = api_fail(e, 400, INVALID, NULL, "echo", "'echo' is not supported");
    cJSON_Delete(root);
    if (rc < 0) api_request_free(r);
    return rc;
}

void api_request_free(api_request *r) {
    free(r->model);
    free(r->messages_json);
    free(r->tools_json);
    free(r->kwargs_json);
    free(r->prompt);
    free(r->prompt_ids);
    free(r->logit_bias);
    for (int32_t i = 0; i < r->n_stop; i++) free(r->stop[i]);
    init(r);
}

void api_apply_sampling(const api_request *r, deepc_sampling *s) {
    const deepc_sampling *o = &r->sampling;
    if (r->set.temp) s->temp = o->temp;
    if (r->set.top_k) s->top_k = o->top_k;
    if (r->set.top_p) s->top_p = o->top_p;
    if (r->set.min_p) s->min_p = o->min_p;
    if (r->set.repeat) s->repeat_penalty = o->repeat_penalty;
    if (r->set.presence) s->presence_penalty = o->presence_penalty;
    if (r->set.frequency) s->frequency_penalty = o->frequency_penalty;
    if (r->set.seed) s->seed = o->seed;
}
