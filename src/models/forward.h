/* forward.h - the forward pass's state and the declarations its files
 * (forward.c, dense.c, deepseek2.c, moe.c) share.
 *
 * A dc_forward owns the compute pool and scratch buffers sized once from the
 * hyperparameters and n_batch - the forward pass never allocates. It borrows
 * the KV cache (kvcache/), which it reads and writes at the positions of the
 * batch; committing the sequences' new lengths is the caller's (engine/).
 */
#ifndef DC_FORWARD_H
#define DC_FORWARD_H

#include "../base/pool.h"
#include "../kvcache/kvcache.h"
#include "model.h"

/* A validated batch, as the forward pass sees it. */
struct dc_batch {
    int32_t n_tokens;
    const int32_t *tokens;
    const int32_t *pos;
    const int32_t *seq;
    int32_t n_out;          /* tokens whose logits are wanted */
    const int32_t *out_idx; /* [n_out] their indices in the batch, ascending */
};

struct dc_forward {
    const deepc_model *model;
    dc_pool *pool;
    dc_kv_cache *kv;        /* borrowed */
    int32_t n_batch;

    /* scratch rows, [n_batch][width] each; widths in forward.c */
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
    float *rope;    /* [n_batch][n_rot] cos/sin table */
    void *act_q;    /* converted activations for dc_matmul */
    float *logits;  /* [n_batch][n_vocab]: row i for the batch's i-th wanted token */
};

/* The attention scratch width the KV cache needs for this model. */
int64_t dc_forward_attn_scratch(const dc_hparams *hp);
/* NULL + message when out of memory. */
dc_forward *dc_forward_create(const deepc_model *m, dc_kv_cache *kv, int32_t n_batch, int n_threads,
                              char err[DC_ERR_LEN]);
void dc_forward_free(dc_forward *f);

/* The whole forward pass; fills f->logits rows 0..n_out-1. */
void dc_forward_run(dc_forward *c, const dc_batch *b);
/* SwiGLU FFN out = down * (silu(gate * in) * (up * in)) for n rows. */
void dc_swiglu_ffn(dc_forward *c, const dc_tensor *gate, const dc_tensor *up, const dc_tensor *down,
                   const float *in, int n, float *out);
/* moe.c: mixture-of-experts FFN of layer l (+ shared experts) for n rows. */
void dc_moe_ffn(dc_forward *c, const dc_layer *l, const float *in, int n, float *out);
/* Attention blocks: x += attention(rmsnorm(x)) for layer il. */
void dc_gqa_attention(dc_forward *c, const dc_batch *b, int il); /* dense.c */
void dc_mla_attention(dc_forward *c, const dc_batch *b, int il); /* deepseek2.c */

#endif
