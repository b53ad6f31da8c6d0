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

#include <stdbool.h>
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

/* Scratch bytes one op needs to convert n_tok activation rows of width n_in
 * for weights of type wtype (0 for F32 weights, which read x in place). */
size_t dc_matmul_scratch_size(uint32_t wtype, int64_t n_in, int64_t n_tok);

/* One matrix product: y[t*y_stride + r] = sum_i w[r][i] * x[t*x_stride + i]
 * for t < n_tok, r < w->ne[1] (w is 2-D: [n_in = ne[0], ne[1]]). */
typedef struct {
    const dc_tensor *w;
    const float *x;
    size_t x_stride;     /* floats between consecutive token rows of x */
    int64_t n_tok;
    float *y;
    size_t y_stride;     /* floats between consecutive token rows of y */
    bool batched;        /* a slice of a 3-D weight used as a batched MUL_MAT
                            (attn_k_b / attn_v_b): llama.cpp does not repack it */
    /* set by dc_matmul_many: */
    const void *xq;
    size_t xq_row_bytes;
    bool xq_owner;
} dc_matmul_op;

/* Runs n_ops products in one parallel dispatch. scratch must hold the sum of
 * dc_matmul_scratch_size over the ops. */
void dc_matmul_many(dc_pool *pool, dc_matmul_op *ops, int n_ops, void *scratch);

/* dc_matmul_many with one op over contiguous rows: w [n_in, n_out],
 * x [n_tok][n_in], y [n_tok][n_out]. */
void dc_matmul(dc_pool *pool, const dc_tensor *w, const float *x, int64_t n_tok, float *y, void *scratch);

/* Total weight bytes read by every matmul so far in this process (each
 * dispatch adds the rows of the matrices it multiplied: for MoE layers only
 * the chosen experts). A statistic for benchmarks. */
int64_t dc_matmul_weight_bytes(void);

/* Matrix i of a 3-D tensor [ne0, ne1, ne2] (an expert, a head) as a 2-D view. */
dc_tensor dc_tensor_slice(const dc_tensor *t, int64_t i);

/* Row `row` of w as floats (embedding lookup). */
void dc_get_row(const dc_tensor *w, int64_t row, float *out);

/* ---- ops.c ------------------------------------------------------------- */

/* y = (x / sqrt(mean(x^2) + eps)) * w  (w may be NULL: no scaling). */
void dc_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps);
/* x += y */
void dc_add(float *x, const float *y, int64_t n);
/* g = silu(g) * u over n_rows rows of n floats, as ggml's GLU op
 * (ggml_vec_swiglu_f32 per row): ggml's vector exp on the first n - n % 16
 * elements of each row, libm's expf on the rest. */
void dc_swiglu(float *g, const float *u, int64_t n_rows, int64_t n);
/* In place: x = exp(x - max) / sum with libm's expf, sums in double. */
void dc_softmax(float *x, int64_t n);
/* The same as one row of ggml's SOFT_MAX op (MoE routing): exps as
 * dc_swiglu's, summed per 16-element vector (dc_reduce16) into a double. */
void dc_soft_max_row(float *x, int64_t n);
/* dc_swiglu and dc_soft_max_row at a given SIMD level (0 = scalar reference,
 * 1 = AVX2, 2 = AVX-512; at most dc_simd_level()): identical bits at every
 * level. For tests. */
void dc_swiglu_at(int level, float *g, const float *u, int64_t n_rows, int64_t n);
void dc_soft_max_row_at(int level, float *x, int64_t n);
/* Sum of 16 floats in the order of (gcc's) _mm512_reduce_add_ps: halves of
 * 256 bits, then of 128, then (0+2) + (1+3). */
float dc_reduce16(const float v[16]);
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

/* The same over an F16 cache with llama.cpp's flash-attention arithmetic
 * (see attention.c). scratch: head_dim + head_dim_v halves. */
void dc_attend_head_f16(float *out, const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                        size_t v_stride, int64_t n_kv, int head_dim, int head_dim_v, float scale, uint16_t *scratch);

/* Writes n floats of row at element `index` of a cache of F32 or F16 elements. */
void dc_kv_store(void *cache, bool f16, size_t index, const float *row, int64_t n);

#endif
