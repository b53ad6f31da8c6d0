/* model.c - loading a model: the architecture table, the hyperparameters
 * every family shares, tensor binding, and the FFN / MoE tensors. See
 * model.h and loader.h.
 *
 * Every value read from the file is checked before use: hyperparameters
 * against sane ranges and each other, every tensor against the shape the
 * architecture implies and against the types deepc can compute with, so the
 * forward pass can trust the model completely.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "../quant/quant.h"
#include "loader.h"

#define GQA dc_gqa_read_hparams, dc_gqa_bind, dc_gqa_attention
#define MLA dc_mla_read_hparams, dc_mla_bind, dc_mla_attention
static const dc_arch_info arch_table[] = {
    /* name        rope          qkv_bias qk_norm moe    norm_topk family */
    {"llama",     DC_ROPE_NORM, false,   false,  false, false,    GQA},
    {"qwen2",     DC_ROPE_NEOX, true,    false,  false, false,    GQA},
    {"qwen3",     DC_ROPE_NEOX, false,   true,   false, false,    GQA},
    {"qwen3moe",  DC_ROPE_NEOX, false,   true,   true,  true,     GQA},
    {"deepseek2", DC_ROPE_NORM, false,   false,  true,  false,    MLA},
};
#undef GQA
#undef MLA

static void key_of(const dc_loader *ld, const char *suffix, char key[128]) {
    snprintf(key, 128, "%s.%s", ld->m->arch_name, suffix);
}

bool dc_load_u32(dc_loader *ld, const char *suffix, bool required, uint32_t lo, uint32_t hi, int32_t *out) {
    char key[128], msg[DC_ERR_LEN];
    uint32_t v = 0;
    key_of(ld, suffix, key);
    int r = dc_gguf_get_u32(ld->m->gguf, key, &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) return required ? dc_err(ld->err, "%s: missing metadata key %s", ld->path, key) : true;
    if (v < lo || v > hi)
        return dc_err(ld->err, "%s: metadata %s = %u is out of range [%u, %u]", ld->path, key, v, lo, hi);
    *out = (int32_t)v;
    return true;
}

bool dc_load_f32(dc_loader *ld, const char *suffix, float lo, float hi, float *out) {
    char key[128], msg[DC_ERR_LEN];
    float v = 0;
    key_of(ld, suffix, key);
    int r = dc_gguf_get_f32(ld->m->gguf, key, &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) return true;
    if (!(v >= lo && v <= hi))
        return dc_err(ld->err, "%s: metadata %s = %g is out of range [%g, %g]", ld->path, key, v, lo, hi);
    *out = v;
    return true;
}

bool dc_load_bool(dc_loader *ld, const char *suffix, bool *out) {
    char key[128], msg[DC_ERR_LEN];
    key_of(ld, suffix, key);
    if (dc_gguf_get_bool(ld->m->gguf, key, out, msg) < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    return true;
}

/* YaRN context extension (rope.scaling.type "yarn"): extrapolation mix on,
 * ramp between the correction dims of the original context; the dims are
 * computed once n_rot is known (finish_rope). */
static bool read_yarn(dc_loader *ld) {
    char key[128], msg[DC_ERR_LEN];
    dc_gguf_str type;
    key_of(ld, "rope.scaling.type", key);
    int r = dc_gguf_get_str(ld->m->gguf, key, &type, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0 || !dc_gguf_str_eq(type, "yarn")) return true;
    dc_hparams *hp = &ld->m->hp;
    hp->rope.ext_factor = 1.0f;
    hp->yarn_n_ctx_orig = hp->n_ctx_train;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    return dc_load_u32(ld, "rope.scaling.original_context_length", false, 1, 1u << 30, &hp->yarn_n_ctx_orig) &&
           dc_load_f32(ld, "rope.scaling.yarn_beta_fast", 0.0f, 1e6f, &hp->yarn_beta_fast) &&
           dc_load_f32(ld, "rope.scaling.yarn_beta_slow", 0.0f, 1e6f, &hp->yarn_beta_slow);
}

static void finish_rope(dc_hparams *hp) {
    if (hp->rope.ext_factor != 0.0f)
        dc_rope_yarn_corr_dims(hp->n_rot, hp->yarn_n_ctx_orig, hp->rope.freq_base, hp->yarn_beta_fast,
                               hp->yarn_beta_slow, hp->rope.corr_dims);
}

/* Hyperparameters every architecture has, and the MoE ones. */
static bool read_hparams(dc_loader *ld) {
    dc_hparams *hp = &ld->m->hp;
    enum { BIG = 1 << 20 };
    hp->n_ctx_train = 4096;
    hp->norm_eps = 1e-5f;
    hp->rope = (dc_rope_params){.mode = ld->m->arch->rope_mode, .freq_base = 10000.0f, .freq_scale = 1.0f,
                                .attn_factor = 1.0f};
    float scale = 1.0f;
    if (!dc_load_u32(ld, "block_count", true, 1, 4096, &hp->n_layer) ||
        !dc_load_u32(ld, "embedding_length", true, 1, BIG, &hp->n_embd) ||
        !dc_load_u32(ld, "feed_forward_length", true, 1, BIG, &hp->n_ff) ||
        !dc_load_u32(ld, "attention.head_count", true, 1, 4096, &hp->n_head) ||
        !dc_load_u32(ld, "context_length", false, 1, 1u << 30, &hp->n_ctx_train) ||
        !dc_load_f32(ld, "rope.freq_base", 1e-3f, 1e12f, &hp->rope.freq_base) ||
        !dc_load_f32(ld, "rope.scaling.factor", 1e-6f, 1e6f, &scale) ||
        !dc_load_f32(ld, "attention.layer_norm_rms_epsilon", 0.0f, 1.0f, &hp->norm_eps))
        return false;
    hp->rope.freq_scale = 1.0f / scale;
    if (!read_yarn(ld)) return false;
    if (!ld->m->arch->moe) return true;
    hp->expert_weights_norm = ld->m->arch->moe_norm_topk;
    hp->gating = DC_GATING_SOFTMAX;
    int32_t gating = DC_GATING_SOFTMAX;
    if (!dc_load_u32(ld, "expert_count", true, 1, 4096, &hp->n_expert) ||
        !dc_load_u32(ld, "expert_used_count", true, 1, 4096, &hp->n_expert_used) ||
        !dc_load_u32(ld, "expert_feed_forward_length", true, 1, BIG, &hp->n_ff_exp) ||
        !dc_load_u32(ld, "leading_dense_block_count", false, 0, 4096, &hp->n_layer_dense_lead) ||
        !dc_load_u32(ld, "expert_gating_func", false, 1, 2, &gating) ||
        !dc_load_bool(ld, "expert_weights_norm", &hp->expert_weights_norm) ||
        !dc_load_f32(ld, "expert_weights_scale", 0.0f, 1e6f, &hp->expert_weights_scale) ||
        !dc_load_u32(ld, "expert_group_count", false, 0, 4096, &hp->n_expert_groups) ||
        !dc_load_u32(ld, "expert_group_used_count", false, 0, 4096, &hp->n_group_used))
        return false;
    int32_t n_shared = 0;
    if (!dc_load_u32(ld, "expert_shared_count", false, 0, 4096, &n_shared)) return false;
    hp->n_ff_shexp = n_shared * hp->n_ff_exp;
    hp->gating = (dc_gating)gating;
    if (hp->n_expert_used > hp->n_expert)
        return dc_err(ld->err, "%s: expert_used_count %d exceeds expert_count %d", ld->path, hp->n_expert_used,
                      hp->n_expert);
    if (hp->n_expert_groups > 1 &&
        (hp->n_expert % hp->n_expert_groups || hp->n_group_used < 1 || hp->n_group_used > hp->n_expert_groups ||
         hp->n_group_used * (hp->n_expert / hp->n_expert_groups) < hp->n_expert_used))
        return dc_err(ld->err, "%s: expert groups %d (using %d) do not fit %d experts (using %d)", ld->path,
                      hp->n_expert_groups, hp->n_group_used, hp->n_expert, hp->n_expert_used);
    return true;
}

bool dc_bind(dc_loader *ld, dc_tensor *t, dc_tensor_use use, bool required, int64_t ne0, int64_t ne1, int64_t ne2,
             const char *fmt, int layer) {
    char name[96];
    snprintf(name, sizeof name, fmt, layer);
    const dc_gguf_tensor *gt = dc_gguf_find_tensor(ld->m->gguf, name);
    if (!gt) return required ? dc_err(ld->err, "%s: missing tensor %s", ld->path, name) : true;
    const int64_t want[4] = {ne0, ne1 ? ne1 : 1, ne2 ? ne2 : 1, 1};
    if (gt->ne[0] != want[0] || gt->ne[1] != want[1] || gt->ne[2] != want[2] || gt->ne[3] != 1)
        return dc_err(ld->err, "%s: tensor %s has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld, %lld, 1]",
                      ld->path, name, (long long)gt->ne[0], (long long)gt->ne[1], (long long)gt->ne[2],
                      (long long)gt->ne[3], (long long)want[0], (long long)want[1], (long long)want[2]);
    const dc_type_traits *tt = dc_type_get(gt->type);
    bool ok = use == DC_USE_VECTOR   ? gt->type == DC_TYPE_F32
              : use == DC_USE_MATRIX ? tt && tt->vec_dot && dc_type_get(tt->vec_dot_type)->from_float
                                     : tt && tt->to_float;
    if (!ok)
        return dc_err(ld->err, "%s: tensor %s has type %s, which deepc cannot use there", ld->path, name,
                      tt && tt->name ? tt->name : "unknown");
    *t = (dc_tensor){.type = gt->type, .ne = {want[0], want[1], want[2], 1}, .data = gt->data,
                     .row_bytes = dc_row_size(gt->type, gt->ne[0])};
    return true;
}

/* The feed-forward tensors of layer il: dense SwiGLU, or router + experts
 * (+ shared experts) from the first MoE layer on. */
static bool bind_ffn(dc_loader *ld, int il) {
    const dc_hparams *hp = &ld->m->hp;
    dc_layer *l = &ld->m->layers[il];
    const int64_t d = hp->n_embd, ne = hp->n_expert, ff = hp->n_ff_exp, sh = hp->n_ff_shexp;
    if (!dc_bind(ld, &l->ffn_norm, DC_USE_VECTOR, true, d, 0, 0, "blk.%d.ffn_norm.weight", il)) return false;
    l->is_moe = ld->m->arch->moe && il >= hp->n_layer_dense_lead;
    if (!l->is_moe)
        return dc_bind(ld, &l->ffn_gate, DC_USE_MATRIX, true, d, hp->n_ff, 0, "blk.%d.ffn_gate.weight", il) &&
               dc_bind(ld, &l->ffn_up, DC_USE_MATRIX, true, d, hp->n_ff, 0, "blk.%d.ffn_up.weight", il) &&
               dc_bind(ld, &l->ffn_down, DC_USE_MATRIX, true, hp->n_ff, d, 0, "blk.%d.ffn_down.weight", il);
    return dc_bind(ld, &l->ffn_gate_inp, DC_USE_MATRIX, true, d, ne, 0, "blk.%d.ffn_gate_inp.weight", il) &&
           dc_bind(ld, &l->exp_probs_b, DC_USE_VECTOR, false, ne, 0, 0, "blk.%d.exp_probs_b.bias", il) &&
           dc_bind(ld, &l->ffn_gate_exps, DC_USE_MATRIX, true, d, ff, ne, "blk.%d.ffn_gate_exps.weight", il) &&
           dc_bind(ld, &l->ffn_up_exps, DC_USE_MATRIX, true, d, ff, ne, "blk.%d.ffn_up_exps.weight", il) &&
           dc_bind(ld, &l->ffn_down_exps, DC_USE_MATRIX, true, ff, d, ne, "blk.%d.ffn_down_exps.weight", il) &&
           dc_bind(ld, &l->ffn_gate_shexp, DC_USE_MATRIX, sh > 0, d, sh, 0, "blk.%d.ffn_gate_shexp.weight", il) &&
           dc_bind(ld, &l->ffn_up_shexp, DC_USE_MATRIX, sh > 0, d, sh, 0, "blk.%d.ffn_up_shexp.weight", il) &&
           dc_bind(ld, &l->ffn_down_shexp, DC_USE_MATRIX, sh > 0, sh, d, 0, "blk.%d.ffn_down_shexp.weight", il);
}

static bool bind_tensors(dc_loader *ld) {
    deepc_model *m = ld->m;
    dc_hparams *hp = &m->hp;
    const dc_gguf_tensor *emb = dc_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!emb) return dc_err(ld->err, "%s: missing tensor token_embd.weight", ld->path);
    if (emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return dc_err(ld->err, "%s: token_embd.weight has %lld rows", ld->path, (long long)emb->ne[1]);
    hp->n_vocab = (int32_t)emb->ne[1];
    if (!dc_bind(ld, &m->tok_embd, DC_USE_ROWS, true, hp->n_embd, hp->n_vocab, 0, "token_embd.weight", 0) ||
        !dc_bind(ld, &m->output_norm, DC_USE_VECTOR, true, hp->n_embd, 0, 0, "output_norm.weight", 0) ||
        !dc_bind(ld, &m->output, DC_USE_MATRIX, false, hp->n_embd, hp->n_vocab, 0, "output.weight", 0) ||
        !dc_bind(ld, &m->rope_freqs, DC_USE_VECTOR, false, hp->n_rot / 2, 0, 0, "rope_freqs.weight", 0))
        return false;
    hp->rope.freq_factors = m->rope_freqs.data;
    if (!m->output.data && /* tied embeddings */
        !dc_bind(ld, &m->output, DC_USE_MATRIX, true, hp->n_embd, hp->n_vocab, 0, "token_embd.weight", 0))
        return false;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return dc_err(ld->err, "%s: out of memory", ld->path);
    for (int il = 0; il < hp->n_layer; il++) {
        if (!dc_bind(ld, &m->layers[il].attn_norm, DC_USE_VECTOR, true, hp->n_embd, 0, 0, "blk.%d.attn_norm.weight",
                     il) ||
            !m->arch->bind_attention(ld, il) || !bind_ffn(ld, il))
            return false;
    }
    return true;
}

static bool read_special_tokens(dc_loader *ld) {
    uint32_t v;
    char msg[DC_ERR_LEN];
    int r = dc_gguf_get_u32(ld->m->gguf, "tokenizer.ggml.eos_token_id", &v, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    ld->m->token_eos = r == 1 && v < (uint32_t)ld->m->hp.n_vocab ? (int32_t)v : -1;
    return true;
}

static bool find_arch(dc_loader *ld) {
    dc_gguf_str name;
    char msg[DC_ERR_LEN];
    int r = dc_gguf_get_str(ld->m->gguf, "general.architecture", &name, msg);
    if (r < 0) return dc_err(ld->err, "%s: %s", ld->path, msg);
    if (r == 0) return dc_err(ld->err, "%s: missing metadata key general.architecture", ld->path);
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        if (dc_gguf_str_eq(name, arch_table[i].name)) {
            ld->m->arch = &arch_table[i];
            snprintf(ld->m->arch_name, sizeof ld->m->arch_name, "%s", arch_table[i].name);
            return true;
        }
    }
    int n = name.len > 40 ? 40 : (int)name.len;
    for (int i = 0; i < n; i++)
        if ((unsigned char)name.ptr[i] < 0x20 || (unsigned char)name.ptr[i] >= 0x7f) n = i;
    return dc_err(ld->err,
                  "%s: architecture '%.*s' is not supported (supported: llama, qwen2, qwen3, qwen3moe, deepseek2)",
                  ld->path, n, name.ptr);
}

deepc_model *deepc_model_load(const char *path, char err[DEEPC_ERR_LEN]) {
    dc_quant_init();
    deepc_model *m = calloc(1, sizeof *m);
    if (!m) {
        dc_err(err, "%s: out of memory", path);
        return NULL;
    }
    dc_loader ld = {m, path, err};
    m->gguf = dc_gguf_open(path, err);
    if (!m->gguf || !find_arch(&ld) || !read_hparams(&ld) || !m->arch->read_hparams(&ld) || (finish_rope(&m->hp), !bind_tensors(&ld)) ||
        !read_special_tokens(&ld)) {
        deepc_model_free(m);
        return NULL;
    }
    return m;
}

void deepc_model_free(deepc_model *m) {
    if (!m) return;
    free(m->layers);
    dc_gguf_close(m->gguf);
    free(m);
}

int32_t deepc_model_n_vocab(const deepc_model *m) { return m->hp.n_vocab; }
int32_t deepc_model_n_ctx_train(const deepc_model *m) { return m->hp.n_ctx_train; }
int32_t deepc_model_token_eos(const deepc_model *m) { return m->token_eos; }
int64_t deepc_model_file_bytes(const deepc_model *m) { return (int64_t)dc_gguf_file_size(m->gguf); }
const char *deepc_model_arch(const deepc_model *m) { return m->arch_name; }
int64_t deepc_model_kv_floats_per_token(const deepc_model *m) {
    return (int64_t)m->hp.n_layer * (m->hp.kv_k_width + m->hp.kv_v_width);
}
