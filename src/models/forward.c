/* forward.c - the forward pass shared by every architecture, read top to
 * bottom: embed the batch's tokens, then for each layer
 *   x += attention(rmsnorm(x))            (the family's: dense.c / deepseek2.c)
 *   x += ffn(rmsnorm(x))                  (SwiGLU, or mixture of experts: moe.c)
 * and finally logits = output * rmsnorm(x) for the tokens that want them.
 * All tokens of the batch go through each matmul together (matrix-matrix);
 * each token attends to its own sequence's cache slot up to its position,
 * so tokens of different sequences can share a batch.
 */
#include "../engine/context.h"

void dc_swiglu_ffn(deepc_context *c, const dc_tensor *gate, const dc_tensor *up, const dc_tensor *down,
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

static void ffn_block(deepc_context *c, const dc_batch *b, const dc_layer *l) {
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

void dc_forward(deepc_context *c, const dc_batch *b) {
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
