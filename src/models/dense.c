/* dense.c - forward pass of the dense decoder family: llama (incl. Llama-3
 * rope_freqs), qwen2 (q/k/v biases), qwen3 (per-head q/k RMSNorm).
 *
 * Read it top to bottom: embed the batch's tokens, then for each layer
 *   x += wo * attention(rope(norm_q(wq*rmsnorm(x) + bq)), rope(norm_k(...)), v)
 *   x += w_down * (silu(w_gate * rmsnorm(x)) * (w_up * rmsnorm(x)))
 * and finally logits = output * rmsnorm(x) for the tokens that want them.
 * All tokens of the batch go through each matmul together (matrix-matrix);
 * each token attends to its own sequence's cache slot up to its position,
 * so tokens of different sequences can share a batch.
 */
#include <math.h>
#include <string.h>

#include "../engine/context.h"

typedef struct {
    deepc_context *ctx;
    const dc_batch *b;
    int layer;
} attn_job;

/* Parallel over (token, head) pairs. */
static void attend_all(void *arg, int ith, int nth) {
    attn_job *j = arg;
    deepc_context *c = j->ctx;
    const dc_hparams *hp = &c->model->hp;
    const int64_t kv_w = (int64_t)hp->n_head_kv * hp->head_dim;
    const int64_t v_w = (int64_t)hp->n_head_kv * hp->head_dim_v;
    const int group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hp->head_dim);
    float *scores = c->scores + (size_t)ith * (size_t)c->n_ctx;
    int64_t i0, i1;
    dc_split((int64_t)j->b->n_tokens * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        const int t = (int)(i / hp->n_head), h = (int)(i % hp->n_head), kvh = h / group;
        const int32_t s = j->b->seq[t];
        const float *k = c->k_cache + dc_kv_index(c, j->layer, s, 0, kv_w) + (size_t)kvh * hp->head_dim;
        const float *v = c->v_cache + dc_kv_index(c, j->layer, s, 0, v_w) + (size_t)kvh * hp->head_dim_v;
        dc_attend_head(c->attn + ((size_t)t * hp->n_head + h) * hp->head_dim_v,
                       c->q + ((size_t)t * hp->n_head + h) * hp->head_dim, k, (size_t)kv_w, v, (size_t)v_w,
                       (int64_t)j->b->pos[t] + 1, hp->head_dim, hp->head_dim_v, scale, scores);
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

static void attention_block(deepc_context *c, const dc_batch *b, const dc_layer *l, int il,
                            const dc_rope_params *rp) {
    const dc_hparams *hp = &c->model->hp;
    const int n = b->n_tokens;
    const int64_t d = hp->n_embd, q_w = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_w = (int64_t)hp->n_head_kv * hp->head_dim, v_w = (int64_t)hp->n_head_kv * hp->head_dim_v;

    for (int t = 0; t < n; t++) dc_rmsnorm(c->xn + t * d, c->x + t * d, l->attn_norm.data, d, hp->norm_eps);
    dc_matmul(c->pool, &l->wq, c->xn, n, c->q, c->act_q);
    dc_matmul(c->pool, &l->wk, c->xn, n, c->k, c->act_q);
    dc_matmul(c->pool, &l->wv, c->xn, n, c->v, c->act_q);
    add_bias(c->q, &l->bq, n, q_w);
    add_bias(c->k, &l->bk, n, kv_w);
    add_bias(c->v, &l->bv, n, v_w);
    for (int t = 0; t < n; t++) {
        float *q = c->q + t * q_w, *k = c->k + t * kv_w;
        norm_heads(q, &l->q_norm, hp->n_head, hp->head_dim, hp->norm_eps);
        norm_heads(k, &l->k_norm, hp->n_head_kv, hp->head_dim, hp->norm_eps);
        const float *cs = c->rope + (size_t)t * hp->n_rot;
        dc_rope_apply(rp, cs, q, hp->n_head, hp->head_dim);
        dc_rope_apply(rp, cs, k, hp->n_head_kv, hp->head_dim);
        memcpy(c->k_cache + dc_kv_index(c, il, b->seq[t], b->pos[t], kv_w), k, sizeof(float) * kv_w);
        memcpy(c->v_cache + dc_kv_index(c, il, b->seq[t], b->pos[t], v_w), c->v + t * v_w,
               sizeof(float) * v_w);
    }
    attn_job job = {c, b, il};
    dc_pool_run(c->pool, attend_all, &job);
    dc_matmul(c->pool, &l->wo, c->attn, n, c->proj, c->act_q);
    dc_add(c->x, c->proj, n * d);
}

static void ffn_block(deepc_context *c, const dc_batch *b, const dc_layer *l) {
    const dc_hparams *hp = &c->model->hp;
    const int n = b->n_tokens;
    const int64_t d = hp->n_embd;
    for (int t = 0; t < n; t++) dc_rmsnorm(c->xn + t * d, c->x + t * d, l->ffn_norm.data, d, hp->norm_eps);
    dc_matmul(c->pool, &l->ffn_gate, c->xn, n, c->gate, c->act_q);
    dc_matmul(c->pool, &l->ffn_up, c->xn, n, c->up, c->act_q);
    dc_swiglu(c->gate, c->up, (int64_t)n * hp->n_ff);
    dc_matmul(c->pool, &l->ffn_down, c->gate, n, c->proj, c->act_q);
    dc_add(c->x, c->proj, n * d);
}

void dc_dense_forward(deepc_context *c, const dc_batch *b) {
    const deepc_model *m = c->model;
    const dc_hparams *hp = &m->hp;
    const int64_t d = hp->n_embd;
    const dc_rope_params rp = {
        .n_rot = hp->n_rot, .mode = m->arch->rope_mode, .freq_base = hp->rope_base,
        .freq_scale = hp->rope_freq_scale, .freq_factors = m->rope_freqs.data, .attn_factor = 1.0f};

    for (int t = 0; t < b->n_tokens; t++) {
        dc_get_row(&m->tok_embd, b->tokens[t], c->x + t * d);
        dc_rope_cache(&rp, b->pos[t], c->rope + (size_t)t * hp->n_rot);
    }
    for (int il = 0; il < hp->n_layer; il++) {
        attention_block(c, b, &m->layers[il], il, &rp);
        ffn_block(c, b, &m->layers[il]);
    }
    for (int i = 0; i < b->n_out; i++)
        dc_rmsnorm(c->xn + i * d, c->x + (int64_t)b->out_idx[i] * d, m->output_norm.data, d, hp->norm_eps);
    dc_matmul(c->pool, &m->output, c->xn, b->n_out, c->logits, c->act_q);
}
