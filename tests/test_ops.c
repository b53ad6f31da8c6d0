/* test_ops.c - the element-wise kernels that reproduce ggml's vector exp
 * (src/kernels/ops.c: dc_swiglu, dc_soft_max_row, dc_reduce16).
 *
 * What it checks:
 *   - every SIMD level this CPU has gives bit-identical results to the
 *     scalar reference, for SwiGLU and the SOFT_MAX row, on random rows of
 *     several widths (vector part and libm tail) and scales, and on edge
 *     inputs: +-0, subnormals, the exp overflow / underflow / |n| > 192
 *     boundaries, huge finite values;
 *   - SwiGLU against bit patterns produced by ggml's own AVX-512
 *     ggml_v_silu (values where it differs from libm's expf, so the test
 *     fails if deepc falls back to libm), the libm tail beyond the last
 *     16-element vector of each row, and accuracy against double;
 *   - the SOFT_MAX row sums to 1 and matches double exp within float noise;
 *   - dc_reduce16 adds in _mm512_reduce_add_ps's tree order.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"
#include "quant/quant.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static double uniform(void) { /* [0, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static float gauss(float scale) {
    const double u = uniform() + 1e-300, v = uniform();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v)) * scale;
}

enum { MAX_N = 300 };

/* Finite inputs that sit on the branches of ggml_v_expf (argument -x). */
static const float edges[] = {
    0.0f, -0.0f, 1e-45f, -1e-45f, FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f, 0.5f, -0.5f,
    87.3f, -87.3f, 88.7f, -88.7f, 89.0f, -89.0f, 103.9f, -103.9f, 104.0f, -104.0f,
    126.5f, -126.5f, 133.0f, -133.0f, 133.2f, -133.2f, 150.0f, -150.0f, 200.0f, -200.0f,
    1e4f, -1e4f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
};
enum { N_EDGES = sizeof edges / sizeof edges[0] };

static bool same_bits(const float *a, const float *b, int n) {
    return memcmp(a, b, sizeof(float) * (size_t)n) == 0;
}

static void fill(float *x, int n, float scale, bool with_edges) {
    for (int i = 0; i < n; i++) x[i] = with_edges && i < N_EDGES ? edges[i] : gauss(scale);
}

static void check_levels(void) {
    static const int widths[] = {1, 8, 15, 16, 17, 33, 64, 100, 256, 261};
    static const float scales[] = {0.1f, 1.0f, 4.0f, 30.0f, 120.0f};
    float g[2 * MAX_N], u[2 * MAX_N], ref[2 * MAX_N], got[2 * MAX_N];
    int compared = 0;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
        for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++)
            for (int e = 0; e < 2; e++) {
                const int n = widths[w];
                fill(g, 2 * n, scales[s], e == 1);
                fill(u, 2 * n, 1.0f, false);
                memcpy(ref, g, sizeof(float) * 2 * (size_t)n);
                dc_swiglu_at(0, ref, u, 2, n);
                for (int level = 1; level <= dc_simd_level(); level++, compared++) {
                    memcpy(got, g, sizeof(float) * 2 * (size_t)n);
                    dc_swiglu_at(level, got, u, 2, n);
                    CHECKF(same_bits(got, ref, 2 * n), "swiglu level %d, n %d, scale %g", level, n, (double)scales[s]);
                }
                /* the SOFT_MAX row: same inputs (one row), so x - max spans
                 * exp's underflow and subnormal range at the larger scales */
                if (e == 1) fill(g, n, scales[s], false);
                memcpy(ref, g, sizeof(float) * (size_t)n);
                dc_soft_max_row_at(0, ref, n);
                for (int level = 1; level <= dc_simd_level(); level++, compared++) {
                    memcpy(got, g, sizeof(float) * (size_t)n);
                    dc_soft_max_row_at(level, got, n);
                    CHECKF(same_bits(got, ref, n), "soft_max level %d, n %d, scale %g", level, n, (double)scales[s]);
                }
            }
    printf("test_ops: %d SIMD comparisons (SIMD level %d)\n", compared, dc_simd_level());
}

/* x -> silu(x) as ggml's AVX-512 ggml_v_silu computes it (recorded from
 * ggml's code), each 1-2 ulps away from x / (1 + expf(-x)) with glibc. */
static const float ggml_silu[][2] = {
    {-0x1.4p+0f, -0x1.1d0e64p-2f},       {-0x1.3e5c28p+4f, -0x1.86506ep-25f}, {-0x1.2dad5ep+6f, -0x1.58d872p-103f},
    {0x1.061bf4p-1f, 0x1.47c5bep-2f},    {-0x1.580886p+0f, -0x1.1caf36p-2f},  {-0x1.cc4acp+4f, -0x1.449df4p-37f},
    {-0x1.a004acp+3f, -0x1.ecb9d8p-16f}, {-0x1.10578ep+5f, -0x1.f78aacp-45f},
};

static void check_values(void) {
    enum { N = 16 };
    float g[N + 1], u[N + 1];
    for (int i = 0; i < N + 1; i++) {
        g[i] = ggml_silu[i % 8][0];
        u[i] = 1.0f;
    }
    dc_swiglu(g, u, 1, N + 1);
    for (int i = 0; i < N; i++)
        CHECKF(g[i] == ggml_silu[i % 8][1], "silu(%a) = %a, ggml %a", (double)ggml_silu[i % 8][0], (double)g[i],
               (double)ggml_silu[i % 8][1]);
    /* element 16 is the tail: libm */
    const float x = ggml_silu[0][0];
    CHECKF(g[N] == x / (1.0f + expf(-x)), "tail silu(%a) = %a", (double)x, (double)g[N]);

    /* the tail is per row: 2 rows of 17 = each row alone */
    float a[34], b[34], ones[34];
    for (int i = 0; i < 34; i++) a[i] = b[i] = gauss(3.0f), ones[i] = 1.0f;
    dc_swiglu(a, ones, 2, 17);
    dc_swiglu(b, ones, 1, 17);
    dc_swiglu(b + 17, ones, 1, 17);
    CHECK(same_bits(a, b, 34));

    /* accuracy and limits of the vector part: silu within 4 ulps of double */
    float x16[N], y16[N];
    double worst = 0.0;
    for (int k = 0; k < 4000; k++) {
        for (int i = 0; i < N; i++) x16[i] = y16[i] = (float)(uniform() * 160.0 - 80.0);
        dc_swiglu(y16, ones, 1, N);
        for (int i = 0; i < N; i++) {
            const double want = (double)x16[i] / (1.0 + exp(-(double)x16[i]));
            if (want != 0.0 && fabs(want) > 1e-30) worst = fmax(worst, fabs(y16[i] - want) / fabs(want));
        }
    }
    CHECKF(worst < 4 * FLT_EPSILON, "silu relative error %g", worst);
    for (int i = 0; i < N; i++) x16[i] = i % 2 ? -200.0f : 200.0f;
    dc_swiglu(x16, ones, 1, N);
    CHECK(x16[0] == 200.0f && x16[1] == 0.0f && signbit(x16[1]));

    /* SOFT_MAX row: normalised, close to double */
    float s[40];
    double e[40], sum = 0.0, total = 0.0;
    for (int i = 0; i < 40; i++) s[i] = gauss(5.0f);
    float max = -INFINITY;
    for (int i = 0; i < 40; i++) max = fmaxf(max, s[i]);
    for (int i = 0; i < 40; i++) sum += e[i] = exp((double)(s[i] - max)); /* the difference is a float in ggml too */
    dc_soft_max_row(s, 40);
    for (int i = 0; i < 40; i++) {
        total += s[i];
        CHECKF(fabs(s[i] - e[i] / sum) <= 4e-7 * (e[i] / sum) + 1e-30, "softmax[%d] = %g, want %g", i, (double)s[i],
               e[i] / sum);
    }
    CHECKF(fabs(total - 1.0) < 1e-6, "softmax sums to %.9f", total);
}

static void check_reduce16(void) {
    float v[16] = {0};
    /* tree order: (v0 + v8) + (v4 + v12) first, so 1 is absorbed by 1e8 */
    v[0] = 1e8f, v[8] = 1.0f, v[4] = -1e8f;
    CHECK(dc_reduce16(v) == 0.0f);
    memset(v, 0, sizeof v);
    v[0] = 1e8f, v[8] = -1e8f, v[1] = 1.0f;
    CHECK(dc_reduce16(v) == 1.0f);
}

int main(void) {
    check_levels();
    check_values();
    check_reduce16();
    return CHECK_DONE();
}
