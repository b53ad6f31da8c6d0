/* context.h - a context's internals, shared by engine/ and the forward pass
 * (the files in models/).
 *
 * A context owns: the compute pool, the KV cache (one slot of n_ctx
 * positions per sequence), and scratch buffers sized once at creation from
 * the hyperparameters and n_batch - the forward pass never allocates.
 *
 * KV cache layout (F16 or F32 elements): k_cache[layer][seq][pos][kv_k_width] and
 * v_cache[layer][seq][pos][kv_v_width] (see dc_hparams: for grouped-query
 * attention the K and V heads, for latent attention one row of
 * kv_lora_rank + rope dims in k_cache and no v_cache). A sequence holds
 * positions 0..seq_len[seq]-1; a batch appends to the sequences it names.
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
    bool kv_f16;               /* cache element: F16 (true) or F32 */
    void *k_cache, *v_cache;
    int64_t kv_bytes;          /* bytes allocated for both caches */

    /* scratch rows, [n_batch][width] each; widths in context.c */
    float *x;       /* residual stream */
    float *xn;      /* normed input of a block */
    float *proj;    /* output of the attention / FFN block */
    float *q;       /* queries, n_head * head_dim */
    float *k, *v;   /* new keys / values (MLA: k = latent + rope part) */
    float *qa;      /* MLA: q-LoRA input, then absorbed queries */
    float *attn;    /* attention output per head (MLA: latent) */
    float *vo;      /* MLA: attention output per head after v_b */
    float *gate, *up; /* FFN hidden rows (MoE: one per token and chosen expert) */
    float *moe_x, *moe_out; /* MoE: gathered expert inputs / outputs */
    float *router;  /* MoE: router logits, then probabilities */
    float *sel_w;   /* MoE: [n_batch][n_expert_used] weights of the chosen experts */
    int32_t *sel;   /* MoE: [n_batch][n_expert_used] chosen experts */
    int32_t *moe_row;  /* MoE: expert-major row of (token, choice) */
    dc_matmul_op *ops; /* matmul ops of one dispatch (heads / experts) */
    dc_tensor *slices; /* the per-head / per-expert matrices those ops use */
    float *scores;  /* [n_threads][n_ctx] attention scores (F32 cache) */
    uint16_t *attn_f16; /* [n_threads][kv_k_width + kv_v_width] query + accumulator (F16 cache) */
    float *rope;    /* [n_batch][n_rot] cos/sin table */
    void *act_q;    /* converted activations for dc_matmul */
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

/* Attention of one query head (q: head_dim floats) over positions 0..n_kv-1
 * of a cache row layout: keys at element k_off of each row of k_width, values
 * at v_off of rows of v_width (v_cache may be k_cache). Thread ith's scratch. */
void dc_context_attend(deepc_context *c, int ith, float *out, const float *q, int layer, int32_t seq, int64_t n_kv,
                       const void *k_cache, int64_t k_width, int64_t k_off, const void *v_cache, int64_t v_width,
                       int64_t v_off, int head_dim, int head_dim_v, float scale);

/* forward.c: the whole forward pass; fills ctx->logits rows 0..n_out-1. */
void dc_forward(deepc_context *c, const dc_batch *b);
/* forward.c: SwiGLU FFN out = down * (silu(gate * in) * (up * in)) for n rows. */
void dc_swiglu_ffn(deepc_context *c, const dc_tensor *gate, const dc_tensor *up, const dc_tensor *down,
                   const float *in, int n, float *out);
/* moe.c: mixture-of-experts FFN of layer l (+ shared experts) for n rows. */
void dc_moe_ffn(deepc_context *c, const dc_layer *l, const float *in, int n, float *out);
/* Attention blocks: x += attention(rmsnorm(x)) for layer il. */
void dc_gqa_attention(deepc_context *c, const dc_batch *b, int il); /* dense.c */
void dc_mla_attention(deepc_context *c, const dc_batch *b, int il); /* deepseek2.c */

#endif
