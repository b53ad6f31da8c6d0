/* dense.c - grouped-query attention, the attention of llama (incl. Llama-3
 * rope_freqs), qwen2 (q/k/v biases), qwen3 and qwen3moe (per-head q/k
 * RMSNorm; head_dim may differ from n_embd / n_head):
 *   q, k, v = wq, wk, wv * rmsnorm(x) (+ biases)
 *   q, k    = rope(rmsnorm_head(q)), rope(rmsnorm_head(k))
 *   x      += wo * softmax(q k^T / sqrt(head_dim)) v   over the sequence's cache
 * K and V of the batch are written to the cache first, so each token sees
 * its own sequence up to its position and nothing else.
 */
#include <math.h>
#include <string.h>

#include "forward.h"
#include "loader.h"

bool dc_gqa_read_hparams(dc_loader *ld) {
    dc_hparams *hp = &ld->m->hp;
    enum { BIG = 1 << 20 };
    hp->n_head_kv = hp->n_head;
    hp->head_dim = hp->n_embd / hp->n_head;
    if (!dc_load_u32(ld, "attention.head_count_kv", false, 1, 4096, &hp->n_head_kv) ||
        !dc_load_u32(ld, "attention.key_length", false, 1, BIG, &hp->head_dim))
        return false;
    hp->head_dim_v = hp->head_dim;
    hp->n_rot = hp->head_dim;
    if (!dc_load_u32(ld, "attention.value_length", false, 1, BIG, &hp->head_dim_v) ||
        !dc_load_u32(ld, "rope.dimension_count", false, 1, BIG, &hp->n_rot))
        return false;
    if (hp->n_head % hp->n_head_kv)
        return dc_err(ld->err, "%s: head_count %d is not a multiple of head_count_kv %d", ld->path, hp->n_head,
                      hp->n_head_kv);
    if (hp->head_dim < 2 || hp->n_rot % 2 || hp->n_rot > hp->head_dim)
        return dc_err(ld->err, "%s: rope dimension %d does not fit head size %d", ld->path, hp->n_rot, hp->head_dim);
    hp->rope.n_rot = hp->n_rot;
    hp->kq_scale = 1.0f / sqrtf((float)hp->head_dim);
    hp->kv_k_width = (int64_t)hp->n_head_kv * hp->head_dim;
    hp->kv_v_width = (int64_t)hp->n_head_kv * hp->head_dim_v;
    return true;
}

bool dc_gqa_bind(dc_loader *ld, int il) {
    const dc_hparams *hp = &ld->m->hp;
    const dc_arch_info *a = ld->m->arch;
    dc_layer *l = &ld->m->layers[il];
    const int64_t d = hp->n_embd, q_w = (int64_t)hp->n_head * hp->head_dim;
    const int64_t k_w = hp->kv_k_width, v_w = hp->kv_v_width, o_w = (int64_t)hp->n_head * hp->head_dim_v;
    return dc_bind(ld, &l->wq, DC_USE_MATRIX, true, d, q_w, 0, "blk.%d.attn_q.weight", il) &&
           dc_bind(ld, &l->wk, DC_USE_MATRIX, true, d, k_w, 0, "blk.%d.attn_k.weight", il) &&
           dc_bind(ld, &l->wv, DC_USE_MATRIX, true, d, v_w, 0, "blk.%d.attn_v.weight", il) &&
           dc_bind(ld, &l->wo, DC_USE_MATRIX, true, o_w, d, 0, "blk.%d.attn_output.weight", il) &&
           dc_bind(ld, &l->bq, DC_USE_VECTOR, a->qkv_bias, q_w, 0, 0, "blk.%d.attn_q.bias", il) &&
           dc_bind(ld, &l->bk, DC_USE_VECTOR, a->qkv_bias, k_w, 0, 0, "blk.%d.attn_k.bias", il) &&
           dc_bind(ld, &l->bv, DC_USE_VECTOR, a->qkv_bias, v_w, 0, 0, "blk.%d.attn_v.bias", il) &&
           dc_bind(ld, &l->q_norm, DC_USE_VECTOR, a->qk_norm, hp->head_dim, 0, 0, "blk.%d.attn_q_norm.weight", il) &&
           dc_bind(ld, &l->k_norm, DC_USE_VECTOR, a->qk_norm, hp->head_dim, 0, 0, "blk.%d.attn_k_norm.weight", il);
}

typedef struct {
    dc_forward *ctx;
    const dc_batch *b;
    int layer;
} attn_job;

/* Parallel over (token, head) pairs. */
static void attend_all(void *arg, int ith, int nth) {
    attn_job *j = arg;
    dc_forward *c = j->ctx;
    const dc_hparams *hp = &c->model->hp;
    const int group = hp->n_head / hp->n_head_kv;
    int64_t i0, i1;
    dc_split((int64_t)j->b->n_tokens * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        const int t = (int)(i / hp->n_head), h = (int)(i % hp->n_head), kvh = h / group;
        dc_kv_cache_attend(c->kv, ith, c->attn + ((size_t)t * hp->n_head + h) * hp->head_dim_v,
                           c->q + ((size_t)t * hp->n_head + h) * hp->head_dim, j->layer, j->b->seq[t],
                           (int64_t)j->b->pos[t] + 1, (int64_t)kvh * hp->head_dim, false,
                           (int64_t)kvh * hp->head_dim_v, hp->head_dim, hp->head_dim_v, hp->kq_scale);
    }
}

/* Per-head RMSNorm with weight w over n_heads vectors of hd floats. */
static void norm_heads(float *x, const dc_tensor *w, int n_heads, int hd, float eps) {
    if (!w->data) return;
    for (int h = 0; h < n_heads; h++) dc_rmsnorm(x + (size_t)h * hd, x + (size_t)h * hd, w->data, hd, eps);
}

static void add_bias(float *x, const dc_tensor *b, int n_tok, int64_t w) {
    if (!b->data) return;
    for (int t = 0; t < n_tok; t++) dc_add(x + t * w, b->data, w);
}

void dc_gqa_attention(dc_forward *c, const dc_batch *b, int il) {
    const dc_hparams *hp = &c->model->hp;
    const dc_layer *l = &c->model->layers[il];
    const int n = b->n_tokens;
    const int64_t d = hp->n_embd, q_w = (int64_t)hp->n_head * hp->head_dim;
    const int64_t k_w = hp->kv_k_width, v_w = hp->kv_v_width;

    for (int t = 0; t < n; t++) dc_rmsnorm(c->xn + t * d, c->x + t * d, l->attn_norm.data, d, hp->norm_eps);
    dc_matmul_op qkv[3] = {
        {.w = &l->wq, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->q, .y_stride = (size_t)q_w},
        {.w = &l->wk, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->k, .y_stride = (size_t)k_w},
        {.w = &l->wv, .x = c->xn, .x_stride = (size_t)d, .n_tok = n, .y = c->v, .y_stride = (size_t)v_w},
    };
    dc_matmul_many(c->pool, qkv, 3, c->act_q);
    add_bias(c->q, &l->bq, n, q_w);
    add_bias(c->k, &l->bk, n, k_w);
    add_bias(c->v, &l->bv, n, v_w);
    for (int t = 0; t < n; t++) {
        float *q = c->q + t * q_w, *k = c->k + t * k_w;
        norm_heads(q, &l->q_norm, hp->n_head, hp->head_dim, hp->norm_eps);
        norm_heads(k, &l->k_norm, hp->n_head_kv, hp->head_dim, hp->norm_eps);
        const float *cs = c->rope + (size_t)t * hp->n_rot;
        dc_rope_apply(&hp->rope, cs, q, hp->n_head, hp->head_dim);
        dc_rope_apply(&hp->rope, cs, k, hp->n_head_kv, hp->head_dim);
        dc_kv_cache_store_k(c->kv, il, b->seq[t], b->pos[t], k);
        dc_kv_cache_store_v(c->kv, il, b->seq[t], b->pos[t], c->v + t * v_w);
    }
    attn_job job = {c, b, il};
    dc_pool_run(c->pool, attend_all, &job);
    dc_matmul(c->pool, &l->wo, c->attn, n, c->proj, c->act_q);
    dc_add(c->x, c->proj, n * d);
}
