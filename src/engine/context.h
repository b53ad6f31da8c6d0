/* context.h - a context's internals, shared by engine/ and the model
 * families' forward passes (the files in models/).
 *
 * A context owns: the compute pool, the KV cache (one slot of n_ctx
 * positions per sequence), and scratch buffers sized once at creation from
 * the hyperparameters and n_batch - the forward pass never allocates.
 *
 * KV cache layout (F32): k_cache[layer][seq][pos][n_head_kv * head_dim],
 * v_cache likewise with head_dim_v. A sequence holds positions
 * 0..seq_len[seq]-1; a batch appends to the sequences it names.
 */
#ifndef DC_CONTEXT_H
#define DC_CONTEXT_H

#include "../models/model.h"

/* A validated batch, as the forward pass sees it. */
struct dc_batch {
    int32_t n_tokens;
    const int32_t *tokens;
    const int32_t *pos;
    const int32_t *seq;
    int32_t n_out;          /* tokens whose logits are wanted */
    const int32_t *out_idx; /* [n_out] their indices in the batch, ascending */
};

struct deepc_context {
    deepc_model *model;
    dc_pool *pool;
    int32_t n_ctx, n_seq, n_batch;
    int32_t *seq_len;          /* [n_seq] */
    float *k_cache, *v_cache;

    /* scratch, [n_batch][width] each */
    float *x;       /* residual stream, n_embd */
    float *xn;      /* normed input of a block, max(n_embd, ...) */
    float *q;       /* n_head * head_dim */
    float *k, *v;   /* n_head_kv * head_dim / head_dim_v */
    float *attn;    /* n_head * head_dim_v */
    float *gate, *up; /* n_ff */
    float *proj;    /* n_embd: output of attention / ffn projections */
    float *scores;  /* [n_threads][n_ctx] attention scores */
    float *rope;    /* [n_batch][n_rot] cos/sin table */
    void *act_q;    /* quantized activations for dc_matmul */
    float *logits;  /* [n_batch][n_vocab] */
    int32_t *logit_row; /* [n_batch]: row in logits of token i, or -1 */
    int32_t *out_idx;   /* [n_batch] */
    int32_t *pos_buf;   /* [n_batch] positions of the batch being run */
    int32_t *next_len;  /* [n_seq] sequence lengths after the batch being run */
};

/* Index of the first float of (layer, seq, pos) in a cache with row width w. */
static inline size_t dc_kv_index(const deepc_context *c, int layer, int32_t seq, int32_t pos, int64_t w) {
    return (((size_t)layer * (size_t)c->n_seq + (size_t)seq) * (size_t)c->n_ctx + (size_t)pos) * (size_t)w;
}

/* The dense family's forward pass (models/dense.c): fills ctx->logits rows
 * 0..n_out-1 for the batch's output tokens. */
void dc_dense_forward(deepc_context *ctx, const dc_batch *b);

#endif
