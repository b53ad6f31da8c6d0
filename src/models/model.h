/* model.h - a loaded model: hyperparameters and tensors bound by name.
 *
 * model.c reads the hyperparameters of the file's architecture from GGUF
 * metadata (`<arch>.block_count`, ...), binds every tensor the architecture
 * needs (checking its shape and that deepc can compute with its type) and
 * keeps views (dc_tensor) into the mapping: weights are used in place, never
 * copied. The arch table (model.c) maps each supported
 * `general.architecture` to its family: the attention of dense.c (llama,
 * qwen2, qwen3, qwen3moe: grouped-query attention) or of deepseek2.c
 * (multi-head latent attention); the feed-forward blocks (dense SwiGLU or
 * mixture of experts, moe.c) and the layer loop (forward.c) are shared.
 *
 * A model is immutable after loading and may be shared by contexts.
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stdbool.h>

#include "../gguf/gguf.h"
#include "../kernels/kernels.h"
#include "deepc.h"

typedef struct dc_batch dc_batch;
typedef struct dc_forward dc_forward;
typedef struct dc_loader dc_loader;

typedef enum { DC_GATING_SOFTMAX = 1, DC_GATING_SIGMOID = 2 } dc_gating;

typedef struct {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;    /* key/query head size (MLA: nope + rope) */
    int32_t head_dim_v;  /* value head size */
    int32_t n_ff;        /* dense FFN width */
    int32_t n_ctx_train;
    int32_t n_rot;       /* rotated dims per head */
    float norm_eps;
    dc_rope_params rope; /* n_rot, mode, base, scaling, YaRN (freq_factors set at load) */
    float kq_scale;      /* attention logit scale */
    int32_t yarn_n_ctx_orig;  /* YaRN: original training context */
    float yarn_beta_fast, yarn_beta_slow;

    /* mixture of experts (n_expert == 0: dense FFN everywhere) */
    int32_t n_expert, n_expert_used, n_ff_exp;
    int32_t n_ff_shexp;          /* shared experts' total width (0: none) */
    int32_t n_layer_dense_lead;  /* leading layers with a dense FFN */
    dc_gating gating;
    bool expert_weights_norm;
    float expert_weights_scale;  /* 0: no scaling */
    int32_t n_expert_groups, n_group_used; /* group-limited routing (0: off) */

    /* multi-head latent attention (deepseek2) */
    int32_t q_lora_rank;   /* 0: plain attn_q */
    int32_t kv_lora_rank;
    int32_t qk_nope;       /* non-rotated part of a q/k head */

    /* KV cache floats per token per layer: K (or the MLA latent + rope part) and V (0 for MLA) */
    int64_t kv_k_width, kv_v_width;
} dc_hparams;

typedef struct {
    dc_tensor attn_norm;           /* [n_embd] */
    /* grouped-query attention (dense.c) */
    dc_tensor wq, wk, wv;          /* [n_embd, n_head*hd], [n_embd, n_kv*hd], [n_embd, n_kv*hd_v] */
    dc_tensor bq, bk, bv;          /* optional biases (qwen2) */
    dc_tensor q_norm, k_norm;      /* [head_dim] (qwen3) */
    /* multi-head latent attention (deepseek2.c); wq when no q-LoRA */
    dc_tensor wq_a, q_a_norm, wq_b;/* [n_embd, q_lora], [q_lora], [q_lora, n_head*head_dim] */
    dc_tensor wkv_a_mqa;           /* [n_embd, kv_lora + n_rot] */
    dc_tensor kv_a_norm;           /* [kv_lora] */
    dc_tensor wk_b;                /* [qk_nope, kv_lora, n_head] */
    dc_tensor wv_b;                /* [kv_lora, head_dim_v, n_head] */
    dc_tensor wo;                  /* [n_head*hd_v, n_embd] */

    dc_tensor ffn_norm;            /* [n_embd] */
    /* dense FFN */
    dc_tensor ffn_gate, ffn_up;    /* [n_embd, n_ff] */
    dc_tensor ffn_down;            /* [n_ff, n_embd] */
    /* mixture of experts */
    bool is_moe;
    dc_tensor ffn_gate_inp;        /* router [n_embd, n_expert] */
    dc_tensor exp_probs_b;         /* optional selection bias [n_expert] */
    dc_tensor ffn_gate_exps, ffn_up_exps; /* [n_embd, n_ff_exp, n_expert] */
    dc_tensor ffn_down_exps;       /* [n_ff_exp, n_embd, n_expert] */
    dc_tensor ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp; /* optional shared experts */
} dc_layer;

/* One supported architecture: its GGUF name and how it differs. */
typedef struct {
    const char *name;
    dc_rope_mode rope_mode;
    bool qkv_bias;       /* qwen2: attn_q/k/v.bias */
    bool qk_norm;        /* qwen3(moe): per-head RMSNorm of q and k before RoPE */
    bool moe;            /* expert FFN layers */
    bool moe_norm_topk;  /* renormalise the chosen experts' weights when the file does not say */
    /* family hooks: hyperparameters beyond the common ones, per-layer
     * attention tensors, and the attention block of the forward pass */
    bool (*read_hparams)(dc_loader *ld);
    bool (*bind_attention)(dc_loader *ld, int il);
    void (*attention)(dc_forward *c, const dc_batch *b, int il);
} dc_arch_info;

struct deepc_model {
    dc_gguf_file *gguf;
    const dc_arch_info *arch;
    char arch_name[32];
    dc_hparams hp;
    dc_tensor tok_embd;     /* [n_embd, n_vocab] */
    dc_tensor output_norm;  /* [n_embd] */
    dc_tensor output;       /* [n_embd, n_vocab]; = tok_embd when tied */
    dc_tensor rope_freqs;   /* optional [n_rot/2] (Llama-3) */
    dc_layer *layers;       /* n_layer */
    int32_t token_eos;      /* -1: none */
};

#endif
