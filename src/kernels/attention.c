/* attention.c - attention of one query head over a sequence's cached keys
 * and values, in the two numerics deepc offers:
 *
 *   F32 cache, plain softmax: scores, softmax (sums in double), weighted sum
 *     of values - the "exact" configuration (llama.cpp with F32 K/V and
 *     flash attention off).
 *   F16 cache, online softmax: what llama.cpp's CPU flash attention computes
 *     with its default F16 K/V: the query is rounded to F16, each score is an
 *     F16 dot product, and the running value sum is an F16 vector updated by
 *     fused multiply-adds (rescaled whenever a new maximum appears), divided
 *     by the running softmax denominator at the end. Matching it step for
 *     step keeps deepc's logits within float noise of llama.cpp's defaults,
 *     which matters where a tiny difference flips a discrete choice (MoE
 *     routing).
 *
 * Causality is the caller's: it passes only the positions a query may see.
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../quant/quant.h"
#include "../quant/quant_impl.h"

void dc_attend_head(float *out, const float *q, const float *k, size_t k_stride, const float *v,
                    size_t v_stride, int64_t n_kv, int head_dim, int head_dim_v, float scale,
                    float *scores) {
    const dc_vec_dot_fn dot = dc_type_get(DC_TYPE_F32)->vec_dot; /* looked up once, not per position */
    for (int64_t j = 0; j < n_kv; j++) {
        dot(head_dim, &scores[j], q, k + j * k_stride);
        scores[j] *= scale;
    }
    dc_softmax(scores, n_kv);
    memset(out, 0, sizeof(float) * (size_t)head_dim_v);
    for (int64_t j = 0; j < n_kv; j++) dc_axpy(out, scores[j], v + j * v_stride, head_dim_v);
}

/* acc = f16(acc * s) and acc = f16(fma(v, s, acc)) over n halves: the
 * scalar reference and an F16C twin (bit-identical: same roundings). */
static void scale_f16_ref(uint16_t *acc, float s, int n) {
    for (int i = 0; i < n; i++) acc[i] = dc_fp32_to_fp16(dc_fp16_to_fp32(acc[i]) * s);
}
static void mad_f16_ref(uint16_t *acc, const uint16_t *v, float s, int n) {
    for (int i = 0; i < n; i++) acc[i] = dc_fp32_to_fp16(fmaf(dc_fp16_to_fp32(v[i]), s, dc_fp16_to_fp32(acc[i])));
}

__attribute__((target(DC_TARGET_AVX2))) static void scale_f16_avx2(uint16_t *acc, float s, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(acc + i)));
        _mm_storeu_si128((__m128i *)(acc + i), _mm256_cvtps_ph(_mm256_mul_ps(a, _mm256_set1_ps(s)), 0));
    }
    scale_f16_ref(acc + i, s, n - i);
}
__attribute__((target(DC_TARGET_AVX2))) static void mad_f16_avx2(uint16_t *acc, const uint16_t *v, float s, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(acc + i)));
        __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i)));
        _mm_storeu_si128((__m128i *)(acc + i), _mm256_cvtps_ph(_mm256_fmadd_ps(x, _mm256_set1_ps(s), a), 0));
    }
    mad_f16_ref(acc + i, v + i, s, n - i);
}

/* Score = q . k over F16 vectors in the exact order of ggml's AVX-512
 * ggml_vec_dot_f16 (the build the reference logits come from): 4
 * accumulators of 16 float lanes over steps of 64 with fused multiply-adds,
 * reduced (acc0+acc2, acc1+acc3, then +) and summed across lanes as
 * _mm512_reduce_add_ps does (dc_reduce16); the tail beyond a
 * multiple of 64 is added in double. Scalar reference and AVX-512 twin give
 * identical bits. */
enum { DOT_LANES = 16, DOT_ACCS = 4, DOT_STEP = DOT_LANES * DOT_ACCS };

static float dot_f16_tail(int np, int n, const uint16_t *x, const uint16_t *y, double sum) {
    for (int i = np; i < n; i++) sum += (double)(dc_fp16_to_fp32(x[i]) * dc_fp16_to_fp32(y[i]));
    return (float)sum;
}

static float dot_f16_ref(int n, const uint16_t *x, const uint16_t *y) {
    float acc[DOT_ACCS][DOT_LANES] = {{0}};
    const int np = n & ~(DOT_STEP - 1);
    for (int i = 0; i < np; i += DOT_STEP)
        for (int j = 0; j < DOT_ACCS; j++)
            for (int l = 0; l < DOT_LANES; l++) {
                const int e = i + j * DOT_LANES + l;
                acc[j][l] = fmaf(dc_fp16_to_fp32(x[e]), dc_fp16_to_fp32(y[e]), acc[j][l]);
            }
    for (int l = 0; l < DOT_LANES; l++) {
        acc[0][l] += acc[2][l];
        acc[1][l] += acc[3][l];
        acc[0][l] += acc[1][l];
    }
    return dot_f16_tail(np, n, x, y, np ? (double)dc_reduce16(acc[0]) : 0.0);
}

__attribute__((target(DC_TARGET_AVX512))) static float dot_f16_avx512(int n, const uint16_t *x, const uint16_t *y) {
    __m512 acc[DOT_ACCS] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const int np = n & ~(DOT_STEP - 1);
    for (int i = 0; i < np; i += DOT_STEP)
        for (int j = 0; j < DOT_ACCS; j++) {
            __m512 a = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i + j * DOT_LANES)));
            __m512 b = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(y + i + j * DOT_LANES)));
            acc[j] = _mm512_fmadd_ps(a, b, acc[j]);
        }
    acc[0] = _mm512_add_ps(acc[0], acc[2]);
    acc[1] = _mm512_add_ps(acc[1], acc[3]);
    acc[0] = _mm512_add_ps(acc[0], acc[1]);
    float lanes[DOT_LANES];
    _mm512_storeu_ps(lanes, acc[0]);
    return dot_f16_tail(np, n, x, y, np ? (double)dc_reduce16(lanes) : 0.0);
}

typedef struct {
    float (*dot)(int, const uint16_t *, const uint16_t *);
    void (*scale)(uint16_t *, float, int);
    void (*mad)(uint16_t *, const uint16_t *, float, int);
} f16_accumulator;

static f16_accumulator pick_accumulator(void) {
    const int level = dc_simd_level();
    return (f16_accumulator){level >= 2 ? dot_f16_avx512 : dot_f16_ref, level >= 1 ? scale_f16_avx2 : scale_f16_ref,
                             level >= 1 ? mad_f16_avx2 : mad_f16_ref};
}

void dc_attend_head_f16(float *out, const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                        size_t v_stride, int64_t n_kv, int head_dim, int head_dim_v, float scale, uint16_t *scratch) {
    const f16_accumulator f16 = pick_accumulator();
    uint16_t *q16 = scratch, *acc = scratch + head_dim;
    for (int i = 0; i < head_dim; i++) q16[i] = dc_fp32_to_fp16(q[i]);
    memset(acc, 0, sizeof(uint16_t) * (size_t)head_dim_v);
    float max = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const float s = f16.dot(head_dim, k + j * k_stride, q16) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > max) { /* new maximum: rescale what was summed so far */
            ms = expf(max - s);
            max = s;
            f16.scale(acc, ms, head_dim_v);
        } else {
            vs = expf(s - max);
        }
        f16.mad(acc, v + j * v_stride, vs, head_dim_v);
        /* ggml_compute_forward_flash_attn_ext_f16_one_chunk's S = S*ms + vs,
         * which gcc -march=native contracts into one fused multiply-add */
        sum = fmaf(sum, ms, vs);
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int i = 0; i < head_dim_v; i++) out[i] = dc_fp16_to_fp32(acc[i]) * inv;
}

void dc_kv_store(void *cache, bool f16, size_t index, const float *row, int64_t n) {
    if (!f16) {
        memcpy((float *)cache + index, row, sizeof(float) * (size_t)n);
        return;
    }
    uint16_t *dst = (uint16_t *)cache + index;
    for (int64_t i = 0; i < n; i++) dst[i] = dc_fp32_to_fp16(row[i]);
}
