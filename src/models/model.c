/* model.c - loading a model: architecture table, hyperparameters, tensor
 * binding. See model.h.
 *
 * Every value read from the file is checked before use: hyperparameters
 * against sane ranges and each other, every tensor against the shape the
 * architecture implies and against the types deepc can compute with, so
 * the forward pass can trust the model completely.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/quant.h"

static const dc_arch_info arch_table[] = {
    {"llama", DC_ARCH_LLAMA, DC_ROPE_NORM, false, false},
    {"qwen2", DC_ARCH_QWEN2, DC_ROPE_NEOX, true, false},
    {"qwen3", DC_ARCH_QWEN3, DC_ROPE_NEOX, false, true},
};

typedef struct {
    deepc_model *m;
    const char *path;
    char *err;
} loader;

/* `<arch>.<suffix>` as an unsigned integer; *out keeps its default when the
 * key is absent and !required. */
static bool arch_u32(loader *ld, const char *suffix, bool required, uint32_t lo, uint32_t hi,
                     int32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->m->arch_name, suffix);
    uint32_t v = 0;
    char msg[DC_ERR_LEN];
    int r = gguf_get_u32(ld->m->gguf, key, &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) {
        if (required) return dc_err(ld->err, "%s: missing metadata key %s", ld->path, key);
        return true;
    }
    if (v < lo || v > hi)
        return dc_err(ld->err, "%s: metadata %s = %u is out of range [%u, %u]", ld->path, key, v, lo, hi);
    *out = (int32_t)v;
    return true;
}

static bool arch_f32(loader *ld, const char *suffix, float lo, float hi, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->m->arch_name, suffix);
    float v = 0;
    char msg[DC_ERR_LEN];
    int r = gguf_get_f32(ld->m->gguf, key, &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) return true;
    if (!(v >= lo && v <= hi))
        return dc_err(ld->err, "%s: metadata %s = %g is out of range [%g, %g]", ld->path, key, v, lo, hi);
    *out = v;
    return true;
}

static bool read_hparams(loader *ld) {
    dc_hparams *hp = &ld->m->hp;
    enum { BIG = 1 << 20 };
    hp->n_ctx_train = 4096;
    hp->rope_base = 10000.0f;
    hp->rope_freq_scale = 1.0f;
    hp->norm_eps = 1e-5f;
    if (!arch_u32(ld, "block_count", true, 1, 4096, &hp->n_layer) ||
        !arch_u32(ld, "embedding_length", true, 1, BIG, &hp->n_embd) ||
        !arch_u32(ld, "feed_forward_length", true, 1, BIG, &hp->n_ff) ||
        !arch_u32(ld, "attention.head_count", true, 1, 4096, &hp->n_head) ||
        !arch_u32(ld, "context_length", false, 1, 1u << 30, &hp->n_ctx_train) ||
        !arch_f32(ld, "rope.freq_base", 1e-3f, 1e12f, &hp->rope_base) ||
        !arch_f32(ld, "attention.layer_norm_rms_epsilon", 0.0f, 1.0f, &hp->norm_eps))
        return false;
    hp->n_head_kv = hp->n_head;
    hp->head_dim = hp->n_embd / hp->n_head;
    if (!arch_u32(ld, "attention.head_count_kv", false, 1, 4096, &hp->n_head_kv) ||
        !arch_u32(ld, "attention.key_length", false, 1, BIG, &hp->head_dim))
        return false;
    hp->head_dim_v = hp->head_dim;
    hp->n_rot = hp->head_dim;
    if (!arch_u32(ld, "attention.value_length", false, 1, BIG, &hp->head_dim_v) ||
        !arch_u32(ld, "rope.dimension_count", false, 1, BIG, &hp->n_rot))
        return false;
    float scale = 1.0f;
    if (!arch_f32(ld, "rope.scaling.factor", 1e-6f, 1e6f, &scale)) return false;
    hp->rope_freq_scale = 1.0f / scale;
    if (hp->n_head % hp->n_head_kv)
        return dc_err(ld->err, "%s: head_count %d is not a multiple of head_count_kv %d", ld->path,
                      hp->n_head, hp->n_head_kv);
    if (hp->head_dim < 2 || hp->n_rot % 2 || hp->n_rot > hp->head_dim)
        return dc_err(ld->err, "%s: rope dimension %d does not fit head size %d", ld->path, hp->n_rot,
                      hp->head_dim);
    return true;
}

enum bind_kind { VECTOR_F32, MATRIX, EMBEDDING };

/* Binds tensor `name` (printf-style with the layer index) of shape [ne0, ne1]
 * (ne1 = 0: one-dimensional) to *t. Absent optional tensors leave t->data NULL. */
static bool bind(loader *ld, dc_tensor *t, enum bind_kind kind, bool required, int64_t ne0,
                 int64_t ne1, const char *fmt, int layer) {
    char name[96];
    snprintf(name, sizeof name, fmt, layer);
    const gguf_tensor *gt = gguf_find_tensor(ld->m->gguf, name);
    if (!gt) return required ? dc_err(ld->err, "%s: missing tensor %s", ld->path, name) : true;
    const int64_t want1 = ne1 ? ne1 : 1;
    if (gt->ne[0] != ne0 || gt->ne[1] != want1 || gt->ne[2] != 1 || gt->ne[3] != 1)
        return dc_err(ld->err, "%s: tensor %s has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                      ld->path, name, (long long)gt->ne[0], (long long)gt->ne[1], (long long)gt->ne[2],
                      (long long)gt->ne[3], (long long)ne0, (long long)want1);
    const dc_type_traits *tt = dc_type_get(gt->type);
    bool ok = kind == VECTOR_F32 ? gt->type == DC_TYPE_F32
              : kind == MATRIX   ? tt && tt->vec_dot && dc_type_get(tt->vec_dot_type)->from_float
                                 : tt && tt->to_float;
    if (!ok)
        return dc_err(ld->err, "%s: tensor %s has type %s, which deepc cannot use there", ld->path, name,
                      tt && tt->name ? tt->name : "unknown");
    *t = (dc_tensor){.type = gt->type, .ne = {gt->ne[0], gt->ne[1], 1, 1}, .data = gt->data,
                     .row_bytes = dc_row_size(gt->type, gt->ne[0])};
    return true;
}

static bool bind_layer(loader *ld, int il) {
    const dc_hparams *hp = &ld->m->hp;
    const dc_arch_info *a = ld->m->arch;
    dc_layer *l = &ld->m->layers[il];
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const int64_t v_dim = (int64_t)hp->n_head_kv * hp->head_dim_v;
    const int64_t o_dim = (int64_t)hp->n_head * hp->head_dim_v;
    return bind(ld, &l->attn_norm, VECTOR_F32, true, hp->n_embd, 0, "blk.%d.attn_norm.weight", il) &&
           bind(ld, &l->wq, MATRIX, true, hp->n_embd, q_dim, "blk.%d.attn_q.weight", il) &&
           bind(ld, &l->wk, MATRIX, true, hp->n_embd, kv_dim, "blk.%d.attn_k.weight", il) &&
           bind(ld, &l->wv, MATRIX, true, hp->n_embd, v_dim, "blk.%d.attn_v.weight", il) &&
           bind(ld, &l->wo, MATRIX, true, o_dim, hp->n_embd, "blk.%d.attn_output.weight", il) &&
           bind(ld, &l->bq, VECTOR_F32, a->qkv_bias, q_dim, 0, "blk.%d.attn_q.bias", il) &&
           bind(ld, &l->bk, VECTOR_F32, a->qkv_bias, kv_dim, 0, "blk.%d.attn_k.bias", il) &&
           bind(ld, &l->bv, VECTOR_F32, a->qkv_bias, v_dim, 0, "blk.%d.attn_v.bias", il) &&
           bind(ld, &l->q_norm, VECTOR_F32, a->qk_norm, hp->head_dim, 0, "blk.%d.attn_q_norm.weight", il) &&
           bind(ld, &l->k_norm, VECTOR_F32, a->qk_norm, hp->head_dim, 0, "blk.%d.attn_k_norm.weight", il) &&
           bind(ld, &l->ffn_norm, VECTOR_F32, true, hp->n_embd, 0, "blk.%d.ffn_norm.weight", il) &&
           bind(ld, &l->ffn_gate, MATRIX, true, hp->n_embd, hp->n_ff, "blk.%d.ffn_gate.weight", il) &&
           bind(ld, &l->ffn_up, MATRIX, true, hp->n_embd, hp->n_ff, "blk.%d.ffn_up.weight", il) &&
           bind(ld, &l->ffn_down, MATRIX, true, hp->n_ff, hp->n_embd, "blk.%d.ffn_down.weight", il);
}

static bool bind_tensors(loader *ld) {
    deepc_model *m = ld->m;
    dc_hparams *hp = &m->hp;
    const gguf_tensor *emb = gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!emb) return dc_err(ld->err, "%s: missing tensor token_embd.weight", ld->path);
    if (emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return dc_err(ld->err, "%s: token_embd.weight has %lld rows", ld->path, (long long)emb->ne[1]);
    hp->n_vocab = (int32_t)emb->ne[1];
    if (!bind(ld, &m->tok_embd, EMBEDDING, true, hp->n_embd, hp->n_vocab, "token_embd.weight", 0) ||
        !bind(ld, &m->output_norm, VECTOR_F32, true, hp->n_embd, 0, "output_norm.weight", 0) ||
        !bind(ld, &m->output, MATRIX, false, hp->n_embd, hp->n_vocab, "output.weight", 0) ||
        !bind(ld, &m->rope_freqs, VECTOR_F32, false, hp->n_rot / 2, 0, "rope_freqs.weight", 0))
        return false;
    if (!m->output.data) { /* tied embeddings */
        if (!bind(ld, &m->output, MATRIX, true, hp->n_embd, hp->n_vocab, "token_embd.weight", 0))
            return false;
    }
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return dc_err(ld->err, "%s: out of memory", ld->path);
    for (int il = 0; il < hp->n_layer; il++)
        if (!bind_layer(ld, il)) return false;
    return true;
}

static bool read_special_tokens(loader *ld) {
    uint32_t v;
    char msg[DC_ERR_LEN];
    int r = gguf_get_u32(ld->m->gguf, "tokenizer.ggml.eos_token_id", &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    ld->m->token_eos = r == 1 && v < (uint32_t)ld->m->hp.n_vocab ? (int32_t)v : -1;
    return true;
}

static bool find_arch(loader *ld) {
    gguf_str name;
    char msg[DC_ERR_LEN];
    int r = gguf_get_str(ld->m->gguf, "general.architecture", &name, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) return dc_err(ld->err, "%s: missing metadata key general.architecture", ld->path);
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        if (gguf_str_eq(name, arch_table[i].name)) {
            ld->m->arch = &arch_table[i];
            snprintf(ld->m->arch_name, sizeof ld->m->arch_name, "%s", arch_table[i].name);
            return true;
        }
    }
    int n = name.len > 40 ? 40 : (int)name.len;
    for (int i = 0; i < n; i++)
        if ((unsigned char)name.ptr[i] < 0x20 || (unsigned char)name.ptr[i] >= 0x7f) n = i;
    return dc_err(ld->err, "%s: architecture '%.*s' is not supported (supported: llama, qwen2, qwen3)",
                  ld->path, n, name.ptr);
}

deepc_model *deepc_model_load(const char *path, char err[DEEPC_ERR_LEN]) {
    dc_quant_init();
    deepc_model *m = calloc(1, sizeof *m);
    if (!m) {
        dc_err(err, "%s: out of memory", path);
        return NULL;
    }
    loader ld = {m, path, err};
    m->gguf = gguf_open(path, err);
    if (!m->gguf || !find_arch(&ld) || !read_hparams(&ld) || !bind_tensors(&ld) ||
        !read_special_tokens(&ld)) {
        deepc_model_free(m);
        return NULL;
    }
    return m;
}

void deepc_model_free(deepc_model *m) {
    if (!m) return;
    free(m->layers);
    gguf_close(m->gguf);
    free(m);
}

int32_t deepc_model_n_vocab(const deepc_model *m) { return m->hp.n_vocab; }
int32_t deepc_model_n_ctx_train(const deepc_model *m) { return m->hp.n_ctx_train; }
int32_t deepc_model_token_eos(const deepc_model *m) { return m->token_eos; }
const char *deepc_model_arch(const deepc_model *m) { return m->arch_name; }
