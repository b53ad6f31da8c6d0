/* forward.c - the forward pass shared by every architecture, read top to
 * bottom: embed the batch's tokens, then for each layer
 *   x += attention(rmsnorm(x))            (the family's: dense.c / deepseek2.c)
 *   x += ffn(rmsnorm(x))                  (SwiGLU, or mixture of experts: moe.c)
 * and finally logits = output * rmsnorm(x) for the tokens that want them.
 * All tokens of the batch go through each matmul together (matrix-matrix);
 * each token attends to its own sequence's cache slot up to its position,
 * so tokens of different sequences can share a batch.
 */
#include "forward.h"

#include <stdlib.h>

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

int64_t dc_forward_attn_scratch(const dc_hparams *hp) {
    return hp->kv_k_width + max64(hp->kv_v_width, hp->kv_lora_rank) + (int64_t)hp->n_head * hp->head_dim;
}

dc_forward *dc_forward_create(const deepc_model *m, dc_kv_cache *kv, int32_t n_batch, int n_threads,
                              char err[DC_ERR_LEN]) {
    const dc_hparams *hp = &m->hp;
    dc_forward *c = calloc(1, sizeof *c);
    if (!c) return dc_err(err, "out of memory"), NULL;
    c->model = m;
    c->kv = kv;
    c->n_batch = n_batch;
    const int64_t nh = hp->n_head, k = hp->n_expert_used;
    const int64_t ff = max64(max64(hp->n_ff, hp->n_ff_shexp), k * hp->n_ff_exp);
    /* every float scratch buffer: [n_batch][width] */
    const struct {
        float **buf;
        int64_t width;
    } rows[] = {
        {&c->x, hp->n_embd},
        {&c->xn, hp->n_embd},
        {&c->proj, hp->n_embd},
        {&c->q, nh * hp->head_dim},
        {&c->k, hp->kv_k_width},
        {&c->v, hp->kv_v_width},
        {&c->qa, max64(hp->q_lora_rank, nh * hp->kv_k_width)},
        {&c->attn, nh * max64(hp->head_dim_v, hp->kv_lora_rank)},
        {&c->vo, nh * hp->head_dim_v},
        {&c->gate, ff},
        {&c->up, ff},
        {&c->moe_x, k * hp->n_embd},
        {&c->moe_out, k * hp->n_embd},
        {&c->router, hp->n_expert},
        {&c->sel_w, k},
        {&c->rope, hp->n_rot},
        {&c->logits, hp->n_vocab},
    };
    bool ok = true;
    int64_t widest = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        *rows[i].buf = calloc((size_t)max64(1, rows[i].width * n_batch), sizeof(float));
        ok &= *rows[i].buf != NULL;
        widest = max64(widest, rows[i].width);
    }
    const size_t n_ops = (size_t)max64(nh, 2 * hp->n_expert);
    c->pool = dc_pool_create(n_threads);
    /* converted activations of one dispatch: at most a few inputs of the
     * widest row, at most 2 bytes per element (F16) */
    c->act_q = malloc((size_t)n_batch * (size_t)widest * 8 + 4096);
    c->sel = calloc((size_t)max64(1, k * n_batch), sizeof *c->sel);
    c->moe_row = calloc((size_t)max64(1, k * n_batch), sizeof *c->moe_row);
    c->ops = calloc(n_ops, sizeof *c->ops);
    c->slices = calloc(n_ops, sizeof *c->slices);
    if (!ok || !c->pool || !c->act_q || !c->sel || !c->moe_row || !c->ops || !c->slices) {
        dc_forward_free(c);
        return dc_err(err, "out of memory for the forward pass's scratch (n_batch %d)", n_batch), NULL;
    }
    return c;
}

void dc_forward_free(dc_forward *c) {
    if (!c) return;
    if (c->pool) dc_pool_free(c->pool);
    void *bufs[] = {c->x,      c->xn,      c->proj,  c->q,     c->k,      c->v,     c->qa,     c->attn,
                    c->vo,     c->gate,    c->up,    c->moe_x, c->moe_out, c->router, c->sel_w, c->sel,
                    c->moe_row, c->ops,    c->slices, c->rope, c->act_q,  c->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(c);
}

void dc_swiglu_ffn(dc_forward *c, const dc_tensor *gate, const dc_tensor *up, const dc_tensor *down,
                   const float *in, int n, float *out) {
    const int64_t d = gate->ne[0], ff = gate->ne[1];
    dc_matmul_op ops[2] = {
        {.w = gate, .x = in, .x_stride = (size_t)d, .n_tok = n, .y = c->gate, .y_stride = (size_t)ff},
        {.w = up, .x = in, .x_stride = (size_t)d, .n_tok = n, .y = c->up, .y_stride = (size_t)ff},
    };
    dc_matmul_many(c->pool, ops, 2, c->act_q);
    dc_swiglu(c->gate, c->up, n, ff);
    dc_matmul(c->pool, down, c->gate, n, out, c->act_q);
}

static void ffn_block(dc_forward *c, const dc_batch *b, const dc_layer *l) {
    const dc_hparams *hp = &c->model->hp;
    const int n = b->n_tokens;
    const int64_t d = hp->n_embd;
    for (int t = 0; t < n; t++) dc_rmsnorm(c->xn + t * d, c->x + t * d, l->ffn_norm.data, d, hp->norm_eps);
    if (l->is_moe)
        dc_moe_ffn(c, l, c->xn, n, c->proj);
    else
        dc_swiglu_ffn(c, &l->ffn_gate, &l->ffn_up, &l->ffn_down, c->xn, n, c->proj);
    dc_add(c->x, c->proj, n * d);
}

void dc_forward_run(dc_forward *c, const dc_batch *b) {
    const deepc_model *m = c->model;
    const dc_hparams *hp = &m->hp;
    const int64_t d = hp->n_embd;
    for (int t = 0; t < b->n_tokens; t++) {
        dc_get_row(&m->tok_embd, b->tokens[t], c->x + t * d);
        dc_rope_cache(&hp->rope, b->pos[t], c->rope + (size_t)t * hp->n_rot);
    }
    for (int il = 0; il < hp->n_layer; il++) {
        m->arch->attention(c, b, il);
        ffn_block(c, b, &m->layers[il]);
    }
    for (int i = 0; i < b->n_out; i++)
        dc_rmsnorm(c->xn + i * d, c->x + (int64_t)b->out_idx[i] * d, m->output_norm.data, d, hp->norm_eps);
    dc_matmul(c->pool, &m->output, c->xn, b->n_out, c->logits, c->act_q);
}
