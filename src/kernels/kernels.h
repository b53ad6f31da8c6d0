/* kernels.h - the compute kernels of the forward pass, over float activations
 * and weights used in place from the model mapping.
 *
 * Layout convention (ggml's): a weight matrix [ne0, ne1] maps ne0 inputs to
 * ne1 outputs and is stored as ne1 rows of ne0 elements (row r contiguous,
 * row_bytes apart). Activations are row-major [n_tok][width] float arrays.
 *
 * Every kernel has one owner per output element and a fixed summation order,
 * so results do not depend on the number of threads.
 */
#ifndef DC_KERNELS_H
#define DC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/pool.h"

/* A view of a tensor in the model file. ne[] beyond its dims are 1. */
typedef struct {
    uint32_t type;      /* dc_type */
    int64_t ne[4];
    const void *data;   /* NULL: tensor absent (optional ones) */
    size_t row_bytes;   /* bytes of one ne0 row */
} dc_tensor;

/* ---- matmul.c ---------------------------------------------------------- */

/* Scratch bytes dc_matmul needs to quantize n_tok activation rows of width
 * n_in for weights of type wtype. */
size_t dc_matmul_scratch_size(uint32_t wtype, int64_t n_in, int64_t n_tok);

/* y[t][r] = sum_i w[r][i] * x[t][i] for t < n_tok, r < ne1 (w: [n_in, ne1],
 * x: [n_tok][n_in], y: [n_tok][ne1]). Activations are first converted to the
 * weight type's vec_dot_type in scratch, then rows are split over threads. */
void dc_matmul(dc_pool *pool, const dc_tensor *w, const float *x, int64_t n_tok, float *y,
               void *scratch);

/* Row `row` of w as floats (embedding lookup). */
void dc_get_row(const dc_tensor *w, int64_t row, float *out);

/* ---- ops.c ------------------------------------------------------------- */

/* y = (x / sqrt(mean(x^2) + eps)) * w  (w may be NULL: no scaling). */
void dc_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps);
/* x += y */
void dc_add(float *x, const float *y, int64_t n);
/* g = silu(g) * u */
void dc_swiglu(float *g, const float *u, int64_t n);
/* In place: x = exp(x - max) / sum, sums in double. */
void dc_softmax(float *x, int64_t n);
/* Dot product of float vectors (SIMD, fixed order). */
float dc_dot_f32(const float *a, const float *b, int64_t n);
/* y += a * x */
void dc_axpy(float *y, float a, const float *x, int64_t n);

/* RoPE, as ggml computes it. */
typedef enum { DC_ROPE_NORM = 0, DC_ROPE_NEOX = 2 } dc_rope_mode;

typedef struct {
    int n_rot;                /* rotated dims per head (even) */
    dc_rope_mode mode;        /* NORM: adjacent pairs; NEOX: halves */
    float freq_base;
    float freq_scale;         /* 1 / linear scaling factor */
    const float *freq_factors;/* optional [n_rot/2] divisors (Llama-3 rope_freqs) */
    float ext_factor;         /* YaRN extrapolation mix (0: off) */
    float attn_factor;        /* magnitude multiplier of cos/sin */
    float corr_dims[2];       /* YaRN ramp range */
} dc_rope_params;

/* cache[2i], cache[2i+1] = cos, sin of pair i at position pos (n_rot floats). */
void dc_rope_cache(const dc_rope_params *rp, int32_t pos, float *cache);
/* Rotates the first n_rot dims of each of n_heads vectors of head_dim floats. */
void dc_rope_apply(const dc_rope_params *rp, const float *cache, float *x, int n_heads, int head_dim);
/* YaRN correction dims for a context of n_ctx_orig (ggml's ggml_rope_yarn_corr_dims). */
void dc_rope_yarn_corr_dims(int n_rot, int n_ctx_orig, float freq_base, float beta_fast,
                            float beta_slow, float dims[2]);

/* ---- attention.c ------------------------------------------------------- */

/* One query head against n_kv cached positions of one KV head:
 * out[head_dim_v] = sum_j softmax(scale * q.k_j)_j * v_j, where k_j is at
 * k + j*k_stride and v_j at v + j*v_stride (floats). scores: n_kv floats of
 * scratch. */
void dc_attend_head(float *out, const float *q, const float *k, size_t k_stride, const float *v,
                    size_t v_stride, int64_t n_kv, int head_dim, int head_dim_v, float scale,
                    float *scores);

#endif
