/* ops.c - element-wise kernels: RMSNorm, residual add, SwiGLU, softmax, RoPE.
 *
 * They follow ggml's CPU arithmetic where it decides the last bits: RMSNorm
 * and softmax sum in double, RMSNorm scales then multiplies by the weight,
 * RoPE builds its angle table by repeated multiplication with
 * theta_scale = base^(-2/n_rot) in float, as ggml does.
 */
#include "kernels.h"

#include <math.h>

#include "../quant/quant.h"

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

void dc_swiglu(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
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

float dc_dot_f32(const float *a, const float *b, int64_t n) {
    float s;
    dc_type_get(DC_TYPE_F32)->vec_dot(n, &s, a, b);
    return s;
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
            *a = x0 * c - x1 * s;
            *b = x0 * s + x1 * c;
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
