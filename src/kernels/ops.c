/* ops.c - element-wise kernels: RMSNorm, residual add, SwiGLU, softmax, RoPE.
 *
 * They follow ggml's CPU arithmetic where it decides the last bits: RMSNorm
 * and softmax sum in double, RMSNorm scales then multiplies by the weight,
 * RoPE builds its angle table by repeated multiplication with
 * theta_scale = base^(-2/n_rot) in float, as ggml does (the angles without
 * fused multiply-adds, the rotation with them: see dc_rope_apply). SwiGLU
 * and the SOFT_MAX op exponentiate most elements with ggml's polynomial exp
 * rather than libm's (see v_expf below).
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>

#include "../quant/quant.h"
#include "../quant/quant_impl.h"

void dc_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    if (w)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
}

void dc_add(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

float dc_reduce16(const float v[16]) {
    float h[8], q[4];
    for (int i = 0; i < 8; i++) h[i] = v[i + 8] + v[i];
    for (int i = 0; i < 4; i++) q[i] = h[i + 4] + h[i];
    return (q[0] + q[2]) + (q[1] + q[3]);
}

/* ggml's vector exp, ggml_v_expf in ggml-cpu/vec.h, in the AVX-512 form the
 * reference build runs (its AVX2 form rounds differently: k + k*j with j
 * lacking the 1, instead of scaling 1 + j). ggml_vec_swiglu_f32 and
 * ggml_vec_soft_max_f32 apply it to whole 16-lane vectors and libm's expf
 * only to the n % 16 elements left over, so deepc does the same. Range
 * reduction x = n ln2 + b (n = round(x log2 e), ln2 split in two), a degree-5
 * polynomial 1 + b + ... rounded to float, scaled by 2^n (scalef: one
 * rounding, also for subnormal results); |n| > 192 gives 0 or inf. The scalar
 * reference and its AVX2 and AVX-512 twins give identical bits: the same
 * fused multiply-adds, and a scaling by 2^n that is exact or rounded once. */
enum { VEXP_LANES = 16 };

static float v_expf_ref(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (isnan(n)) return n; /* as scalef: NaN in, NaN out */
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    return ldexpf(j, (int)n);
}

/* _mm512_scalef_ps for |n| <= 192 (other lanes are replaced by the caller):
 * 2^(n - n/2) and 2^(n/2) are normal floats, the first product is exact and
 * the second rounds once. */
__attribute__((target(DC_TARGET_AVX2))) static __m256 scalef_avx2(__m256 j, __m256 n) {
    const __m256i ni = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(ni, 1);
    const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 p2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(j, p1), p2);
}

__attribute__((target(DC_TARGET_AVX2))) static __m256 v_expf_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 alt = _mm256_andnot_ps(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ), _mm256_set1_ps(INFINITY));
    return _mm256_blendv_ps(scalef_avx2(j, n), alt, big);
}

__attribute__((target(DC_TARGET_AVX512))) static __m512 v_expf_avx512(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ),
                                            _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(big, _mm512_scalef_ps(j, n), alt);
}

/* The vector part of ggml_vec_swiglu_f32 (x / (1 + v_expf(0 - x))) * g and
 * of ggml_vec_soft_max_f32 y = v_expf(x - max), over n % 16 == 0 elements. */
static void silu_mul_ref(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + v_expf_ref(0.0f - g[i])) * u[i];
}
static void exp_sub_ref(float *x, float max, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = v_expf_ref(x[i] - max);
}

__attribute__((target(DC_TARGET_AVX2))) static void silu_mul_avx2(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = v_expf_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
                                              _mm256_loadu_ps(u + i)));
    }
}
__attribute__((target(DC_TARGET_AVX2))) static void exp_sub_avx2(float *x, float max, int64_t n) {
    for (int64_t i = 0; i < n; i += 8)
        _mm256_storeu_ps(x + i, v_expf_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(max))));
}

__attribute__((target(DC_TARGET_AVX512))) static void silu_mul_avx512(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __m512 x = _mm512_loadu_ps(g + i);
        const __m512 e = v_expf_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e)),
                                              _mm512_loadu_ps(u + i)));
    }
}
__attribute__((target(DC_TARGET_AVX512))) static void exp_sub_avx512(float *x, float max, int64_t n) {
    for (int64_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(x + i, v_expf_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(max))));
}

static const struct {
    void (*silu_mul)(float *g, const float *u, int64_t n);
    void (*exp_sub)(float *x, float max, int64_t n);
} vexp_level[3] = {
    {silu_mul_ref, exp_sub_ref},
    {silu_mul_avx2, exp_sub_avx2},
    {silu_mul_avx512, exp_sub_avx512},
};

void dc_swiglu_at(int level, float *g, const float *u, int64_t n_rows, int64_t n) {
    const int64_t nv = n - n % VEXP_LANES;
    for (int64_t r = 0; r < n_rows; r++, g += n, u += n) {
        vexp_level[level].silu_mul(g, u, nv);
        for (int64_t i = nv; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i]; /* ggml_silu_f32 */
    }
}

void dc_swiglu(float *g, const float *u, int64_t n_rows, int64_t n) {
    dc_swiglu_at(dc_simd_level(), g, u, n_rows, n);
}

/* ggml_compute_forward_soft_max_f32 (scale 1, no mask) and
 * ggml_vec_soft_max_f32: each 16-element vector's exps are summed across
 * lanes as _mm512_reduce_add_ps does (dc_reduce16) and that float added to
 * the double sum; the tail adds each expf. Then x *= (float)(1 / sum). */
void dc_soft_max_row_at(int level, float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    const int64_t nv = n - n % VEXP_LANES;
    vexp_level[level].exp_sub(x, max, nv);
    double sum = 0.0;
    for (int64_t i = 0; i < nv; i += VEXP_LANES) sum += (double)dc_reduce16(x + i);
    for (int64_t i = nv; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void dc_soft_max_row(float *x, int64_t n) {
    dc_soft_max_row_at(dc_simd_level(), x, n);
}

void dc_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void dc_axpy(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* YaRN: share of extrapolated (unscaled) angle for pair i0/2, in [0, 1]. */
static float yarn_ramp(const float low, const float high, int i0) {
    const float y = ((float)(i0 / 2) - low) / fmaxf(0.001f, high - low);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

void dc_rope_cache(const dc_rope_params *rp, int32_t pos, float *cache) {
    const float theta_scale = powf(rp->freq_base, -2.0f / (float)rp->n_rot);
    float theta = (float)pos;
    for (int i0 = 0; i0 < rp->n_rot; i0 += 2) {
        const float ff = rp->freq_factors ? rp->freq_factors[i0 / 2] : 1.0f;
        const float extrap = theta / ff;
        const float interp = rp->freq_scale * extrap;
        float angle = interp, mscale = rp->attn_factor;
        if (rp->ext_factor != 0.0f) {
            const float mix = yarn_ramp(rp->corr_dims[0], rp->corr_dims[1], i0) * rp->ext_factor;
            angle = interp * (1.0f - mix) + extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / rp->freq_scale);
        }
        cache[i0] = cosf(angle) * mscale;
        cache[i0 + 1] = sinf(angle) * mscale;
        theta *= theta_scale;
    }
}

void dc_rope_apply(const dc_rope_params *rp, const float *cache, float *x, int n_heads, int head_dim) {
    const int half = rp->n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        for (int i0 = 0; i0 < rp->n_rot; i0 += 2) {
            const float c = cache[i0], s = cache[i0 + 1];
            /* NORM rotates adjacent pairs, NEOX pairs i with i + n_rot/2 */
            float *a = rp->mode == DC_ROPE_NEOX ? &v[i0 / 2] : &v[i0];
            float *b = rp->mode == DC_ROPE_NEOX ? &v[i0 / 2 + half] : &v[i0 + 1];
            const float x0 = *a, x1 = *b;
            /* ggml's rotate_pairs (ggml-cpu/ops.cpp) writes x0*c - x1*s and
             * x0*s + x1*c; gcc with -march=native contracts them by default
             * (-ffp-contract=fast) into these fused forms, which deepc, built
             * as ISO C without contraction, spells out. */
            *a = fmaf(x0, c, -(x1 * s));
            *b = fmaf(x0, s, x1 * c);
        }
    }
}

static float yarn_corr_dim(int n_rot, int n_ctx_orig, float n_rotations, float base) {
    return (float)n_rot * logf((float)n_ctx_orig / (n_rotations * 2.0f * (float)M_PI)) /
           (2.0f * logf(base));
}

void dc_rope_yarn_corr_dims(int n_rot, int n_ctx_orig, float freq_base, float beta_fast,
                            float beta_slow, float dims[2]) {
    const float start = floorf(yarn_corr_dim(n_rot, n_ctx_orig, beta_fast, freq_base));
    const float end = ceilf(yarn_corr_dim(n_rot, n_ctx_orig, beta_slow, freq_base));
    dims[0] = fmaxf(0.0f, start);
    dims[1] = fminf((float)(n_rot - 1), end);
}
