/* model.h - a loaded model: hyperparameters and tensors bound by name.
 *
 * model.c reads the hyperparameters of the file's architecture from GGUF
 * metadata (`<arch>.block_count`, ...), binds every tensor the architecture
 * needs (checking its shape and that deepc can compute with its type) and
 * keeps views (dc_tensor) into the mapping: weights are used in place, never
 * copied. The arch table maps each supported `general.architecture` to the
 * family that runs it (dense.c for llama / qwen2 / qwen3).
 *
 * A model is immutable after loading and may be shared by contexts.
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stdbool.h>

#include "../gguf/gguf.h"
#include "../kernels/kernels.h"
#include "deepc.h"

typedef enum { DC_ARCH_LLAMA, DC_ARCH_QWEN2, DC_ARCH_QWEN3 } dc_arch;

typedef struct dc_context dc_context;
typedef struct dc_batch dc_batch;

/* One supported architecture: its GGUF name and how it differs from llama. */
typedef struct {
    const char *name;
    dc_arch arch;
    dc_rope_mode rope_mode;
    bool qkv_bias;     /* qwen2: attn_q/k/v.bias */
    bool qk_norm;      /* qwen3: per-head RMSNorm of q and k before RoPE */
} dc_arch_info;

typedef struct {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;    /* key/query head size */
    int32_t head_dim_v;  /* value head size */
    int32_t n_ff;
    int32_t n_ctx_train;
    int32_t n_rot;       /* rotated dims per head */
    float rope_base;
    float rope_freq_scale;
    float norm_eps;
} dc_hparams;

typedef struct {
    dc_tensor attn_norm;           /* [n_embd] */
    dc_tensor wq, wk, wv, wo;      /* [n_embd, n_head*hd], [n_embd, n_kv*hd] x2, [n_head*hd_v, n_embd] */
    dc_tensor bq, bk, bv;          /* optional biases (qwen2) */
    dc_tensor q_norm, k_norm;      /* [head_dim] (qwen3) */
    dc_tensor ffn_norm;            /* [n_embd] */
    dc_tensor ffn_gate, ffn_up;    /* [n_embd, n_ff] */
    dc_tensor ffn_down;            /* [n_ff, n_embd] */
} dc_layer;

struct deepc_model {
    gguf_file *gguf;
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
