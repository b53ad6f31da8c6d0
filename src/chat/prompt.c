/* prompt.c - see prompt.h. */
#include "prompt.h"

#include <stdlib.h>
#include <string.h>

/* The built-in template for a tokenizer family (`tokenizer.ggml.pre`). */
static const char *builtin_for(const dc_gguf_file *f) {
    dc_gguf_str pre = {0};
    char err[DC_ERR_LEN];
    if (dc_gguf_get_str(f, "tokenizer.ggml.pre", &pre, err) == 1) {
        if (dc_gguf_str_eq(pre, "llama-bpe") || dc_gguf_str_eq(pre, "llama3")) return "llama3";
        if (dc_gguf_str_eq(pre, "deepseek-v3") || dc_gguf_str_eq(pre, "deepseek-llm")) return "deepseek";
    }
    return "chatml";
}

static char *token_text(const dc_tokenizer *t, int32_t id) {
    size_t len = 0;
    const char *p = id >= 0 ? dc_tok_piece(t, id, true, &len) : NULL;
    char *s = malloc(len + 1);
    if (s) {
        if (p) memcpy(s, p, len);
        s[p ? len : 0] = '\0';
    }
    return s;
}

bool dc_chat_format_load(dc_chat_format *cf, const dc_gguf_file *f, const dc_tokenizer *t, char err[DC_ERR_LEN]) {
    *cf = (dc_chat_format){0};
    dc_gguf_str src = {0};
    char msg[DC_ERR_LEN];
    const int r = dc_gguf_get_str(f, "tokenizer.chat_template", &src, msg);
    if (r < 0) return dc_err(err, "%s", msg);
    if (r == 1) {
        cf->source = "model";
        cf->tpl = dc_template_parse(src.ptr, (size_t)src.len, msg);
        if (!cf->tpl) return dc_err(err, "%s: tokenizer.chat_template: %s", dc_gguf_path(f), msg);
    } else {
        cf->source = builtin_for(f);
        const char *b = dc_template_builtin(cf->source);
        cf->tpl = dc_template_parse(b, strlen(b), msg);
        if (!cf->tpl) return dc_err(err, "built-in template %s: %s", cf->source, msg);
    }
    cf->bos_token = token_text(t, dc_tok_bos(t));
    cf->eos_token = token_text(t, dc_tok_eos(t));
    if (!cf->bos_token || !cf->eos_token) {
        dc_chat_format_free(cf);
        return dc_err(err, "out of memory");
    }
    return true;
}

void dc_chat_format_free(dc_chat_format *cf) {
    dc_template_free(cf->tpl);
    free(cf->bos_token);
    free(cf->eos_token);
    *cf = (dc_chat_format){0};
}

int dc_chat_format_render(const dc_chat_format *cf, const cJSON *messages, bool add_generation_prompt,
                          int enable_thinking, const cJSON *tools, char **out, size_t *out_len, char err[DC_ERR_LEN]) {
    cJSON *vars = cJSON_CreateObject();
    if (!vars) return dc_err(err, "out of memory"), -1;
    cJSON_AddItemReferenceToObject(vars, "messages", (cJSON *)messages);
    cJSON_AddBoolToObject(vars, "add_generation_prompt", add_generation_prompt);
    cJSON_AddStringToObject(vars, "bos_token", cf->bos_token);
    cJSON_AddStringToObject(vars, "eos_token", cf->eos_token);
    if (enable_thinking >= 0) cJSON_AddBoolToObject(vars, "enable_thinking", enable_thinking != 0);
    if (tools) cJSON_AddItemReferenceToObject(vars, "tools", (cJSON *)tools);
    const int rc = dc_template_render(cf->tpl, vars, out, out_len, err);
    cJSON_Delete(vars);
    return rc;
}
