/* template_file.c - `deepc template`'s library half: a chat template named
 * by a file or a built-in name, rendered with variables given as JSON text
 * (deepc_template_render_file in deepc.h).
 *
 * The template is a .gguf model (tokenizer.chat_template), a .json
 * tokenizer_config (chat_template: a string, or a list of named templates of
 * which "tool_use" is taken when tools are given and "default" otherwise), a
 * Jinja file, or the name of a built-in template (chatml, deepseek, llama3)
 * when no such file exists.
 *
 * Like transformers' apply_chat_template, `tools` and `documents` are None
 * when the variables do not set them, and the model's own bos_token /
 * eos_token (from the GGUF vocabulary or the tokenizer_config) fill in when
 * absent. JSON numbers keep Python's int/float distinction (1.0 stays a
 * float): each number becomes a raw node holding its literal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../gguf/gguf.h"
#include "deepc.h"
#include "template.h"

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n + 1 < cap) break;
        char *grown = realloc(buf, cap *= 2);
        if (!grown) free(buf);
        buf = grown;
    }
    if (!buf || ferror(f)) return free(buf), NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* ------------------------------------------------------------ exact numbers */

/* Start and length of the next number literal of JSON text at *pos. */
static bool next_number(const char *s, size_t len, size_t *pos, size_t *start, size_t *n) {
    for (size_t i = *pos; i < len; i++) {
        if (s[i] == '"') {
            for (i++; i < len && s[i] != '"'; i++) i += s[i] == '\\';
        } else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
            size_t j = i;
            while (j < len && strchr("+-.eE0123456789", s[j])) j++;
            *start = i;
            *n = j - i;
            *pos = j;
            return true;
        }
    }
    return false;
}

/* Turns every number of the parsed tree into a raw node holding its literal
 * (document order = text order), so the renderer sees ints and floats as
 * Python's json.loads would. */
static bool keep_number_literals(cJSON *node, const char *text, size_t len, size_t *pos) {
    for (cJSON *c = node; c; c = c->next) {
        if (cJSON_IsNumber(c)) {
            size_t start, n;
            if (!next_number(text, len, pos, &start, &n)) return false;
            char *lit = malloc(n + 1);
            if (!lit) return false;
            memcpy(lit, text + start, n);
            lit[n] = '\0';
            c->type = cJSON_Raw;
            c->valuestring = lit;
        } else if (c->child && !keep_number_literals(c->child, text, len, pos)) {
            return false;
        }
    }
    return true;
}

static cJSON *parse_vars(const char *text, size_t len, char err[DC_ERR_LEN]) {
    size_t pos = 0;
    const size_t ws = strspn(text, " \t\r\n");
    /* nothing may follow the object */
    cJSON *vars = ws >= len ? cJSON_CreateObject() : cJSON_ParseWithOpts(text, NULL, 1);
    if (strlen(text) != len) {
        dc_err(err, "template variables: a NUL byte in the JSON text");
    } else if (!vars || !cJSON_IsObject(vars)) {
        dc_err(err, "template variables: expected one JSON object");
    } else if (!keep_number_literals(vars->child, text, len, &pos)) {
        dc_err(err, "template variables: out of memory");
    } else {
        return vars;
    }
    cJSON_Delete(vars);
    return NULL;
}

/* Sets vars[key] = value (taken) unless vars already has key. */
static void add_default(cJSON *vars, const char *key, cJSON *value) {
    if (value && !cJSON_HasObjectItem(vars, key)) cJSON_AddItemToObject(vars, key, value);
    else cJSON_Delete(value);
}

/* ------------------------------------------------------------ template sources */

/* tokenizer.chat_template and the special tokens of a GGUF model. */
static char *dc_gguf_template(const char *path, cJSON *vars, size_t *len, char err[DC_ERR_LEN]) {
    dc_gguf_file *f = dc_gguf_open(path, err);
    if (!f) return NULL;
    dc_gguf_str s;
    char *src = NULL;
    int found = dc_gguf_get_str(f, "tokenizer.chat_template", &s, err);
    if (found == 0) snprintf(err, DC_ERR_LEN, "%s has no tokenizer.chat_template", path);
    if (found == 1 && (src = malloc(s.len + 1))) {
        memcpy(src, s.ptr, s.len);
        src[s.len] = '\0';
        *len = s.len;
    }
    const dc_gguf_value *tokens;
    static const char *const special[][2] = {{"bos_token", "tokenizer.ggml.bos_token_id"}, {"eos_token", "tokenizer.ggml.eos_token_id"}};
    if (src && dc_gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens, err) == 1) {
        for (size_t i = 0; i < 2; i++) {
            uint32_t id;
            char scratch[DC_ERR_LEN];
            if (dc_gguf_get_u32(f, special[i][1], &id, scratch) != 1 || id >= tokens->arr.n) continue;
            char *tok = strndup(tokens->arr.strs[id].ptr, tokens->arr.strs[id].len);
            add_default(vars, special[i][0], tok ? cJSON_CreateString(tok) : NULL);
            free(tok);
        }
    }
    dc_gguf_close(f);
    return src;
}

/* A special token of tokenizer_config: a string or {"content": string}. */
static const char *config_token(const cJSON *cfg, const char *key) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsObject(t)) t = cJSON_GetObjectItemCaseSensitive(t, "content");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* chat_template of a tokenizer_config.json, and its special tokens. */
static char *config_template(const char *path, cJSON *vars, size_t *len, char err[DC_ERR_LEN]) {
    FILE *fp = fopen(path, "rb");
    size_t text_len;
    char *text = fp ? read_all(fp, &text_len) : NULL;
    if (fp) fclose(fp);
    if (!text) return snprintf(err, DC_ERR_LEN, "cannot read %s", path), NULL;
    cJSON *cfg = cJSON_ParseWithLength(text, text_len);
    free(text);
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    if (cJSON_IsArray(tpl)) { /* named templates, chosen like transformers does */
        const cJSON *tools = cJSON_GetObjectItemCaseSensitive(vars, "tools");
        const char *want = tools && !cJSON_IsNull(tools) ? "tool_use" : "default";
        const cJSON *pick = NULL, *item;
        for (int pass = 0; pass < 2 && !pick; pass++, want = "default")
            cJSON_ArrayForEach(item, tpl) {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
                if (cJSON_IsString(name) && !strcmp(name->valuestring, want)) pick = item;
            }
        tpl = cJSON_GetObjectItemCaseSensitive(pick, "template");
    }
    char *src = cJSON_IsString(tpl) ? strdup(tpl->valuestring) : NULL;
    if (src) *len = strlen(src);
    else snprintf(err, DC_ERR_LEN, "%s has no usable chat_template", path);
    static const char *const special[] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    for (size_t i = 0; src && i < 4; i++) {
        const char *tok = config_token(cfg, special[i]);
        add_default(vars, special[i], tok ? cJSON_CreateString(tok) : NULL);
    }
    cJSON_Delete(cfg);
    return src;
}

static bool is_gguf(const char *path) {
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    bool yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    if (f) fclose(f);
    return yes;
}

/* The template source named by `arg` (malloc'ed) or NULL + message. */
static char *load_template(const char *arg, cJSON *vars, size_t *len, char err[DC_ERR_LEN]) {
    FILE *f = fopen(arg, "rb");
    char *src = NULL;
    if (!f) {
        const char *builtin = dc_template_builtin(arg);
        if (!builtin) return snprintf(err, DC_ERR_LEN, "cannot open %s", arg), NULL;
        if ((src = strdup(builtin))) *len = strlen(src);
    } else if (is_gguf(arg)) {
        src = dc_gguf_template(arg, vars, len, err);
    } else if (ends_with(arg, ".json")) {
        src = config_template(arg, vars, len, err);
    } else {
        src = read_all(f, len);
    }
    if (f) fclose(f);
    if (!src && !err[0]) snprintf(err, DC_ERR_LEN, "cannot read %s", arg);
    return src;
}

int deepc_template_render_file(const char *spec, const char *vars_json, size_t vars_len, char **out, size_t *out_len,
                               char err[DEEPC_ERR_LEN]) {
    *out = NULL;
    err[0] = '\0';
    cJSON *vars = parse_vars(vars_json, vars_len, err);
    if (!vars) return -1;
    add_default(vars, "tools", cJSON_CreateNull());
    add_default(vars, "documents", cJSON_CreateNull());
    size_t len = 0;
    char *src = load_template(spec, vars, &len, err), msg[DC_ERR_LEN];
    dc_template *t = src ? dc_template_parse(src, len, msg) : NULL;
    int rc = -1;
    if (src && (!t || dc_template_render(t, vars, out, out_len, msg)))
        dc_err(err, "%s:%s", spec, msg);
    else if (src)
        rc = 0;
    dc_template_free(t);
    free(src);
    cJSON_Delete(vars);
    return rc;
}

const char *const *deepc_template_builtin_names(void) { return dc_template_builtin_names(); }
