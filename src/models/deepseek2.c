/* deepseek2.c - multi-head latent attention (MLA) of DeepSeek-V2/V3/R1, in
 * the "absorbed" form, with a latent KV cache.
 *
 * Per token: q = wq_b * rmsnorm(wq_a * x) (or wq * x), n_head heads of
 * [nope | rope]; the key/value latent c = rmsnorm(wkv_a_mqa * x)[:kv_lora] and
 * one shared rotary key k_pe = rope(wkv_a_mqa * x)[kv_lora:]. The cache keeps
 * only [c | k_pe] (kv_lora_rank + rope dims floats per token per layer), never
 * the expanded per-head K and V. Attention runs in latent space: each head's
 * nope query is folded through that head's key up-projection
 * (q_abs = wk_b[h] * q_nope), so a score is one dot product of
 * [q_abs | q_pe] with a cached row; the softmax-weighted sum of latents is then
 * expanded by wv_b[h] and the heads go through wo. Cost per cached token is
 * O(kv_lora + rope) per head, independent of head_dim.
 *
 * RoPE is YaRN with DeepSeek's mscale, as llama.cpp applies it: rotation
 * magnitude 1 (the YaRN attention factor is cancelled), attention scale
 * mscale^2 / sqrt(qk_nope + rope) with mscale = 1 + yarn_log_mul * ln(factor).
 */
#include <math.h>
#include <string.h>

#include "forward.h"
#include "loader.h"

bool dc_mla_read_hparams(dc_loader *ld) {
    dc_hparams *hp = &ld->m->hp;
    enum { BIG = 1 << 20 };
    int32_t k_mla = 0, v_mla = 0;
    float yarn_log_mul = 0.0f;
    hp->n_head_kv = 1;
    if (!dc_load_u32(ld, "attention.q_lora_rank", false, 0, BIG, &hp->q_lora_rank) ||
        !dc_load_u32(ld, "attention.kv_lora_rank", true, 1, BIG, &hp->kv_lora_rank) ||
        !dc_load_u32(ld, "attention.key_length_mla", true, 1, BIG, &k_mla) ||
        !dc_load_u32(ld, "attention.value_length_mla", true, 1, BIG, &v_mla) ||
        !dc_load_u32(ld, "rope.dimension_count", true, 2, BIG, &hp->n_rot) ||
        !dc_load_f32(ld, "rope.scaling.yarn_log_multiplier", 0.0f, 100.0f, &yarn_log_mul))
        return false;
    if (hp->n_rot % 2 || hp->n_rot >= k_mla)
        return dc_err(ld->err, "%s: rope dimension %d does not fit key length %d", ld->path, hp->n_rot, k_mla);
    hp->head_dim = k_mla;
    hp->head_dim_v = v_mla;
    hp->qk_nope = k_mla - hp->n_rot;
    hp->rope.n_rot = hp->n_rot;
    hp->kv_k_width = (int64_t)hp->kv_lora_rank + hp->n_rot;
    hp->kv_v_width = 0;
    /* llama.cpp pre-scales so that YaRN's magnitude correction cancels in
     * RoPE and moves, squared, into the attention scale */
    const float mscale = 1.0f + yarn_log_mul * logf(1.0f / hp->rope.freq_scale);
    hp->kq_scale = mscale * mscale / sqrtf((float)k_mla);
    hp->rope.attn_factor = 1.0f / (1.0f + 0.1f * logf(1.0f / hp->rope.freq_scale));
    return true;
}

bool dc_mla_bind(dc_loader *ld, int il) {
    const dc_hparams *hp = &ld->m->hp;
    dc_layer *l = &ld->m->layers[il];
    const int64_t d = hp->n_embd, nh = hp->n_head, q_w = nh * hp->head_dim, lora = hp->kv_lora_rank;
    const bool q_lora = hp->q_lora_rank > 0;
    return dc_bind(ld, &l->wq, DC_USE_MATRIX, !q_lora, d, q_w, 0, "blk.%d.attn_q.weight", il) &&
           dc_bind(ld, &l->wq_a, DC_USE_MATRIX, q_lora, d, hp->q_lora_rank, 0, "blk.%d.attn_q_a.weight", il) &&
           dc_bind(ld, &l->q_a_norm, DC_USE_VECTOR, q_lora, hp->q_lora_rank, 0, 0, "blk.%d.attn_q_a_norm.weight", il) &&
           dc_bind(ld, &l->wq_b, DC_USE_MATRIX, q_lora, hp->q_lora_rank, q_w, 0, "blk.%d.attn_q_b.weight", il) &&
           dc_bind(ld, &l->wkv_a_mqa, DC_USE_MATRIX, true, d, hp->kv_k_width, 0, "blk.%d.attn_kv_a_mqa.weight", il) &&
           dc_bind(ld, &l->kv_a_norm, DC_USE_VECTOR, true, lora, 0, 0, "blk.%d.attn_kv_a_norm.weight", il) &&
           dc_bind(ld, &l->wk_b, DC_USE_MATRIX, true, hp->qk_nope, lora, nh, "blk.%d.attn_k_b.weight", il) &&
           dc_bind(ld, &l->wv_b, DC_USE_MATRIX, true, lora, hp->head_dim_v, nh, "blk.%d.attn_v_b.weight", il) &&
           dc_bind(ld, &l->wo, DC_USE_MATRIX, true, nh * hp->head_dim_v, d, 0, "blk.%d.attn_output.weight", il);
}

/* One dispatch of n_head per-head products: y_h = w[h] * x_h for every token,
 * x_h / y_h at x + h*x_off / y + h*y_off in rows of x_stride / y_stride. */
static void per_head_matmul(dc_forward *c, const dc_tensor *w, int n, const float *x, size_t x_off,
                            size_t x_stride, float *y, size_t y_off, size_t y_stride) {
    dc_tensor *slices = c->slices;
    const int nh = c->model->hp.n_head;
    for (int h = 0; h < nh; h++) {
        slices[h] = dc_tensor_slice(w, h);
        c->ops[h] = (dc_matmul_op){.w = &slices[h], .x = x + h * x_off, .x_stride = x_stride, .n_tok = n,
                                   .y = y + h * y_off, .y_stride = y_stride, .batched = true};
    }
    dc_matmul_many(c->pool, c->ops, nh, c->act_q);
}

typedef struct {
    dc_forward *ctx;
    const dc_batch *b;
    int layer;
} mla_job;

/* Parallel over (token, head): latent attention of q_abs against the cache. */
static void attend_latent(void *arg, int ith, int nth) {
    mla_job *j = arg;
    dc_forward *c = j->ctx;
    const dc_hparams *hp = &c->model->hp;
    const int64_t row = hp->kv_k_width, lora = hp->kv_lora_rank;
    int64_t i0, i1;
    dc_split((int64_t)j->b->n_tokens * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        const int t = (int)(i / hp->n_head);
        /* keys are whole cached rows [c | k_pe]; values their latent part c */
        dc_kv_cache_attend(c->kv, ith, c->attn + i * lora, c->qa + i * row, j->layer, j->b->seq[t],
                           (int64_t)j->b->pos[t] + 1, 0, true, 0, (int)row, (int)lora, hp->kq_scale);
    }
}

void dc_mla_attention(dc_forward *c, const dc_batch *b, int il) {
    const dc_hparams *hp = &c->model->hp;
    const dc_layer *l = &c->model->layers[il];
    const int n = b->n_tokens, nh = hp->n_head;
    const int64_t d = hp->n_embd, hd = hp->head_dim, q_w = nh * hd, row = hp->kv_k_width;
    const int64_t lora = hp->kv_lora_rank, nope = hp->qk_nope;

    for (int t = 0; t < n; t++) dc_rmsnorm(c->xn + t * d, c->x + t * d, l->attn_norm.data, d, hp->norm_eps);
    /* queries and the new cache rows */
    if (hp->q_lora_rank > 0) {
        const int64_t r = hp->q_lora_rank;
        dc_matmul_op ops[2] = {
            {.w = &l->wq_a, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->qa, .y_stride = (size_t)r},
            {.w = &l->wkv_a_mqa, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->k, .y_stride = (size_t)row},
        };
        dc_matmul_many(c->pool, ops, 2, c->act_q);
        for (int t = 0; t < n; t++) dc_rmsnorm(c->qa + t * r, c->qa + t * r, l->q_a_norm.data, r, hp->norm_eps);
        dc_matmul(c->pool, &l->wq_b, c->qa, n, c->q, c->act_q);
    } else {
        dc_matmul_op ops[2] = {
            {.w = &l->wq, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->q, .y_stride = (size_t)q_w},
            {.w = &l->wkv_a_mqa, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->k, .y_stride = (size_t)row},
        };
        dc_matmul_many(c->pool, ops, 2, c->act_q);
    }
    for (int t = 0; t < n; t++) {
        const float *cs = c->rope + (size_t)t * hp->n_rot;
        float *kv = c->k + t * row;
        dc_rmsnorm(kv, kv, l->kv_a_norm.data, lora, hp->norm_eps);
        dc_rope_apply(&hp->rope, cs, kv + lora, 1, hp->n_rot);
        dc_rope_apply(&hp->rope, cs, c->q + t * q_w + nope, nh, (int)hd);
        dc_kv_cache_store_k(c->kv, il, b->seq[t], b->pos[t], kv);
        /* absorbed query rows [q_abs (filled below) | q_pe] */
        for (int h = 0; h < nh; h++)
            memcpy(c->qa + ((size_t)t * nh + h) * row + lora, c->q + t * q_w + h * hd + nope, sizeof(float) * hp->n_rot);
    }
    /* q_abs[h] = wk_b[h] * q_nope[h] */
    per_head_matmul(c, &l->wk_b, n, c->q, (size_t)hd, (size_t)q_w, c->qa, (size_t)row, (size_t)(nh * row));
    mla_job job = {c, b, il};
    dc_pool_run(c->pool, attend_latent, &job);
    /* expand each head's latent output: vo[h] = wv_b[h] * attn[h] */
    const int64_t hv = hp->head_dim_v;
    per_head_matmul(c, &l->wv_b, n, c->attn, (size_t)lora, (size_t)(nh * lora), c->vo, (size_t)hv, (size_t)(nh * hv));
    dc_matmul(c->pool, &l->wo, c->vo, n, c->proj, c->act_q);
    dc_add(c->x, c->proj, n * d);
}
