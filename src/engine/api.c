/* api.c - the public faces of the internal modules: sampler, tokenizer,
 * streaming detokenizer, chat templates, model metadata and version. Each is
 * a thin wrapper; the public handle types are the internal ones (or own one),
 * so nothing is copied. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../base/pool.h"
#include "../chat/prompt.h"
#include "../kernels/kernels.h"
#include "../tokenizer/json_str.h"
#include "../chat/reasoning.h"
#include "../models/model.h"
#include "../tokenizer/tokenizer.h"
#include "sampler.h"

const char *deepc_version(void) { return DEEPC_VERSION; }
int deepc_n_cpus(void) { return dc_n_cpus(); }
int64_t deepc_weight_bytes_read(void) { return dc_matmul_weight_bytes(); }

char *deepc_json_string_decode(const char *s, size_t n, size_t *len, size_t *end, char err[DEEPC_ERR_LEN]) {
    return dc_json_str_decode(s, n, len, end, err);
}

void deepc_model_describe(const deepc_model *m, deepc_model_desc *d) {
    const dc_hparams *hp = &m->hp;
    *d = (deepc_model_desc){.arch = m->arch_name, .n_vocab = hp->n_vocab, .n_embd = hp->n_embd,
                            .n_layer = hp->n_layer, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv,
                            .head_dim = hp->head_dim, .n_ff = hp->n_ff, .n_expert = hp->n_expert,
                            .n_expert_used = hp->n_expert_used, .n_ctx_train = hp->n_ctx_train,
                            .file_bytes = (int64_t)dc_gguf_file_size(m->gguf)};
    dc_gguf_str name;
    char err[DC_ERR_LEN];
    if (dc_gguf_get_str(m->gguf, "general.name", &name, err) == 1) dc_gguf_str_escape(name, d->name, sizeof d->name);
    for (uint64_t i = 0; i < dc_gguf_n_tensors(m->gguf); i++) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(m->gguf, i);
        int64_t n = 1;
        for (int k = 0; k < GGUF_MAX_DIMS; k++) n *= t->ne[k];
        d->n_params += n;
    }
}

/* ---- sampling ---- */

int deepc_model_default_sampling(const deepc_model *m, deepc_sampling *out, char err[DEEPC_ERR_LEN]) {
    *out = dc_sampler_default_params();
    return dc_sampler_params_from_gguf(out, m->gguf, err);
}

int deepc_sampling_check(const deepc_sampling *s, char err[DEEPC_ERR_LEN]) { return dc_sampler_params_check(s, err); }

deepc_sampler *deepc_sampler_create(const deepc_sampling *s, int32_t n_vocab, char err[DEEPC_ERR_LEN]) {
    return (deepc_sampler *)dc_sampler_create(s, n_vocab, err);
}
void deepc_sampler_free(deepc_sampler *smp) { dc_sampler_free((dc_sampler *)smp); }
int32_t deepc_sampler_sample(deepc_sampler *smp, const float *logits) {
    return dc_sampler_sample((dc_sampler *)smp, logits);
}
void deepc_sampler_accept(deepc_sampler *smp, int32_t token) { dc_sampler_accept((dc_sampler *)smp, token); }

/* ---- tokenizer ---- */

deepc_tokenizer *deepc_tokenizer_load(const char *path, char err[DEEPC_ERR_LEN]) {
    return (deepc_tokenizer *)dc_tok_load(path, err);
}
deepc_tokenizer *deepc_tokenizer_from_model(const deepc_model *m, char err[DEEPC_ERR_LEN]) {
    return (deepc_tokenizer *)dc_tok_load_gguf(m->gguf, err);
}
void deepc_tokenizer_free(deepc_tokenizer *t) { dc_tok_free((dc_tokenizer *)t); }

#define TOK(t) ((const dc_tokenizer *)(t))

int64_t deepc_tokenize(const deepc_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                       char err[DEEPC_ERR_LEN]) {
    dc_tok_ids out = {0};
    const unsigned f = (flags & DEEPC_TOKENIZE_ADD_SPECIAL ? DC_TOK_ADD_SPECIAL : 0u) |
                       (flags & DEEPC_TOKENIZE_PARSE_SPECIAL ? DC_TOK_PARSE_SPECIAL : 0u);
    *ids = NULL;
    if (!dc_tok_encode(TOK(t), text, len, f, &out, err)) {
        dc_tok_ids_free(&out);
        return -1;
    }
    *ids = out.ids;
    return (int64_t)out.n;
}

char *deepc_detokenize(const deepc_tokenizer *t, const int32_t *ids, size_t n, bool special, size_t *len,
                       char err[DEEPC_ERR_LEN]) {
    return dc_tok_decode(TOK(t), ids, n, special, len, err);
}
const char *deepc_token_bytes(const deepc_tokenizer *t, int32_t id, size_t *len) {
    return dc_tok_piece(TOK(t), id, true, len);
}
int32_t deepc_tokenizer_n_vocab(const deepc_tokenizer *t) { return dc_tok_n_vocab(TOK(t)); }
int32_t deepc_token_bos(const deepc_tokenizer *t) { return dc_tok_bos(TOK(t)); }
int32_t deepc_token_eos(const deepc_tokenizer *t) { return dc_tok_eos(TOK(t)); }
bool deepc_token_is_eog(const deepc_tokenizer *t, int32_t id) { return dc_tok_is_eog(TOK(t), id); }
size_t deepc_token_eog_ids(const deepc_tokenizer *t, const int32_t **ids) { return dc_tok_eog_ids(TOK(t), ids); }

struct deepc_detokenizer {
    dc_detok d;
};

deepc_detokenizer *deepc_detokenizer_create(const deepc_tokenizer *t, bool special) {
    deepc_detokenizer *d = malloc(sizeof *d);
    if (d) dc_detok_init(&d->d, TOK(t), special);
    return d;
}
bool deepc_detokenizer_feed(deepc_detokenizer *d, int32_t id, const char **bytes, size_t *len,
                            char err[DEEPC_ERR_LEN]) {
    return dc_detok_feed(&d->d, id, bytes, len, err);
}
const char *deepc_detokenizer_flush(deepc_detokenizer *d, size_t *len) { return dc_detok_flush(&d->d, len); }
void deepc_detokenizer_free(deepc_detokenizer *d) {
    if (!d) return;
    dc_detok_free(&d->d);
    free(d);
}

/* ---- chat templates ---- */

struct deepc_chat_template {
    dc_chat_format f;
};

deepc_chat_template *deepc_chat_template_from_model(const deepc_model *m, const deepc_tokenizer *t,
                                                    char err[DEEPC_ERR_LEN]) {
    deepc_chat_template *ct = calloc(1, sizeof *ct);
    if (!ct) return dc_err(err, "out of memory"), NULL;
    if (!dc_chat_format_load(&ct->f, m->gguf, TOK(t), err)) return free(ct), NULL;
    return ct;
}

deepc_chat_template *deepc_chat_template_parse(const char *src, size_t len, const char *bos, const char *eos,
                                               char err[DEEPC_ERR_LEN]) {
    deepc_chat_template *ct = calloc(1, sizeof *ct);
    if (!ct) return dc_err(err, "out of memory"), NULL;
    ct->f.source = "text";
    ct->f.tpl = dc_template_parse(src, len, err);
    ct->f.bos_token = strdup(bos ? bos : "");
    ct->f.eos_token = strdup(eos ? eos : "");
    if (!ct->f.tpl || !ct->f.bos_token || !ct->f.eos_token) {
        if (ct->f.tpl) dc_err(err, "out of memory");
        deepc_chat_template_free(ct);
        return NULL;
    }
    return ct;
}

void deepc_chat_template_free(deepc_chat_template *ct) {
    if (!ct) return;
    dc_chat_format_free(&ct->f);
    free(ct);
}

const char *deepc_chat_template_source(const deepc_chat_template *ct) { return ct->f.source; }

static cJSON *parse_json(const char *json, int type, const char *what, char *err) {
    cJSON *v = cJSON_Parse(json);
    if (!v || (type && !(v->type & type))) {
        cJSON_Delete(v);
        dc_err(err, "%s: not a JSON %s", what, type == cJSON_Array ? "array" : "object");
        return NULL;
    }
    return v;
}

int deepc_chat_render(const deepc_chat_template *ct, const char *messages_json, bool add_generation_prompt,
                      const char *tools_json, const char *kwargs_json, char **out, size_t *out_len,
                      char err[DEEPC_ERR_LEN]) {
    *out = NULL;
    cJSON *vars = kwargs_json ? parse_json(kwargs_json, cJSON_Object, "template kwargs", err) : cJSON_CreateObject();
    cJSON *messages = vars ? parse_json(messages_json, cJSON_Array, "messages", err) : NULL;
    cJSON *tools = messages && tools_json ? parse_json(tools_json, cJSON_Array, "tools", err) : NULL;
    int rc = -1;
    if (messages && (tools || !tools_json)) {
        /* the template's own variables win over kwargs of the same name */
        const char *own[] = {"messages", "add_generation_prompt", "bos_token", "eos_token", "tools"};
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(vars, own[i]);
        cJSON_AddItemToObject(vars, "messages", messages);
        messages = NULL;
        cJSON_AddBoolToObject(vars, "add_generation_prompt", add_generation_prompt);
        cJSON_AddStringToObject(vars, "bos_token", ct->f.bos_token);
        cJSON_AddStringToObject(vars, "eos_token", ct->f.eos_token);
        if (tools) cJSON_AddItemToObject(vars, "tools", tools), tools = NULL;
        rc = dc_template_render(ct->f.tpl, vars, out, out_len, err);
    }
    cJSON_Delete(vars);
    cJSON_Delete(messages);
    cJSON_Delete(tools);
    return rc;
}

bool deepc_prompt_opens_reasoning(const char *prompt, size_t len) { return dc_reasoning_prompt_opens(prompt, len); }
