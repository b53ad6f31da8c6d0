/* q_iq4.c - the non-linear 4-bit types IQ4_NL and IQ4_XS: dequantization and
 * dot products, as a scalar reference plus AVX2 and AVX-512 twins.
 *
 * Both store 4-bit indices into the 16 values dc_kvalues_iq4nl (ggml's
 * kvalues_iq4nl) in Q4_0's nibble order: in a run of 32 weights, byte j holds
 * element j in its low nibble and element j + 16 in its high nibble.
 *   IQ4_NL: blocks of 32, x = d * kv[q], d fp16; activations Q8_0.
 *   IQ4_XS: super-blocks of 256 = 8 runs of 32, each with a 6-bit scale ls
 *           (low 4 bits: nibble ib%2 of scales_l[ib/2], high 2 bits: bits 2ib
 *           of scales_h), x = d * (ls - 32) * kv[q]; activations Q8_K.
 * Dot products follow ggml's x86 structure: IQ4_NL sums integers per block
 * and scales by d_x * d_y in float per block; IQ4_XS sums integers over the
 * super-block (sum_ib (ls - 32) * sum kv*q8) and applies d_x * d_y once.
 *
 * SIMD: a byte shuffle (pshufb) maps 32 nibbles to their int8 values; the
 * int8 x int8 products use maddubs with the sign moved onto the activation
 * (|w| * sign(w) q8), which never saturates because activation quants lie in
 * [-127, 127] and |kv| <= 127 (pair sums <= 2 * 127 * 127 < 32768).
 */
#include <immintrin.h>
#include <math.h>

#include "quant/blocks.h"
#include "quant/quant_impl.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF /* GCC in ISO C mode does not contract either */
#endif

#define IQ_TARGET_AVX2 __attribute__((target(DC_TARGET_AVX2)))
#define IQ_TARGET_AVX512 __attribute__((target(DC_TARGET_AVX512)))
#define IQ_INLINE static inline __attribute__((always_inline))

const int8_t dc_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* sum over one run of 32: kv[q] . q8 */
static int iq4_run_dot(const uint8_t qs[16], const int8_t q8[32]) {
    int sum = 0;
    for (int j = 0; j < 16; j++)
        sum += dc_kvalues_iq4nl[qs[j] & 0xF] * q8[j] + dc_kvalues_iq4nl[qs[j] >> 4] * q8[j + 16];
    return sum;
}

static void iq4_run_to_float(const uint8_t qs[16], float dl, float *y) {
    for (int j = 0; j < 16; j++) {
        y[j] = dl * dc_kvalues_iq4nl[qs[j] & 0xF];
        y[j + 16] = dl * dc_kvalues_iq4nl[qs[j] >> 4];
    }
}

/* The scale of run ib of an IQ4_XS super-block, ls - 32. */
static inline int iq4_xs_scale(const block_iq4_xs *b, int ib) {
    int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
    int hi = (b->scales_h >> (2 * ib)) & 3;
    return (lo | hi << 4) - 32;
}

/* ------------------------------------------------------ scalar reference */

static void iq4_nl_to_float(const void *vx, float *y, int64_t n) {
    const block_iq4_nl *x = vx;
    for (int64_t i = 0; i < n / QK4_NL; i++) iq4_run_to_float(x[i].qs, dc_fp16_to_fp32(x[i].d), y + i * QK4_NL);
}

static void iq4_xs_to_float(const void *vx, float *y, int64_t n) {
    const block_iq4_xs *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = dc_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ib++)
            iq4_run_to_float(x[i].qs + 16 * ib, d * (float)iq4_xs_scale(&x[i], ib), y + i * QK_K + 32 * ib);
    }
}

static void iq4_nl_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK4_NL; i++)
        sumf += dc_fp16_to_fp32(y[i].d) * dc_fp16_to_fp32(x[i].d) * (float)iq4_run_dot(x[i].qs, y[i].qs);
    *s = sumf;
}

static void iq4_xs_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int isum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++)
            isum += iq4_xs_scale(&x[i], ib) * iq4_run_dot(x[i].qs + 16 * ib, y[i].qs + 32 * ib);
        sumf += dc_fp16_to_fp32(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}

/* ------------------------------------------------------------------ AVX2 */

IQ_TARGET_AVX2 IQ_INLINE float fp16_avx2(uint16_t h) { return _cvtsh_ss(h); }

/* The int8 values of one run of 32 (16 bytes of nibbles). */
IQ_TARGET_AVX2 IQ_INLINE __m256i iq4_values_avx2(const uint8_t qs[16]) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)dc_kvalues_iq4nl));
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m256i nib = _mm256_and_si256(
        _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1), _mm256_set1_epi8(0xF));
    return _mm256_shuffle_epi8(table, nib);
}

/* int16 pair sums of w * q8 (both int8). */
IQ_TARGET_AVX2 IQ_INLINE __m256i mul_i8_pairs_avx2(__m256i w, const int8_t *q8) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)q8);
    return _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

IQ_TARGET_AVX2 IQ_INLINE int hsum_i32_8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

IQ_TARGET_AVX2 IQ_INLINE float hsum_f32_8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One IQ4_NL block times its Q8_0 block: 8 float lanes to accumulate. */
IQ_TARGET_AVX2 IQ_INLINE __m256 iq4_nl_block_avx2(const block_iq4_nl *x, const block_q8_0 *y, __m256 acc) {
    const __m256i p = _mm256_madd_epi16(mul_i8_pairs_avx2(iq4_values_avx2(x->qs), y->qs), _mm256_set1_epi16(1));
    const __m256 d = _mm256_set1_ps(fp16_avx2(y->d) * fp16_avx2(x->d));
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
}

IQ_TARGET_AVX2 static void iq4_nl_dot_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_NL; i++) acc = iq4_nl_block_avx2(&x[i], &y[i], acc);
    *s = hsum_f32_8(acc);
}

IQ_TARGET_AVX2 static void iq4_xs_dot_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const __m256i p = mul_i8_pairs_avx2(iq4_values_avx2(x[i].qs + 16 * ib), y[i].qs + 32 * ib);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16((short)iq4_xs_scale(&x[i], ib))));
        }
        sumf += fp16_avx2(x[i].d) * y[i].d * (float)hsum_i32_8(acc);
    }
    *s = sumf;
}

/* llama.cpp's repacked-weight kernels (gemv/gemm_q4_b32_8x8_q8_0_lut_avx):
 * per output one float chain over blocks, acc = fma(isum, d_w * d_a, acc). */
IQ_TARGET_AVX2 static void iq4_nl_dot_repack_avx2(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        const __m256i p = _mm256_madd_epi16(mul_i8_pairs_avx2(iq4_values_avx2(x[i].qs), y[i].qs), _mm256_set1_epi16(1));
        acc = fmaf((float)hsum_i32_8(p), fp16_avx2(x[i].d) * fp16_avx2(y[i].d), acc);
    }
    *s = acc;
}

/* --------------------------------------------------------------- AVX-512 */

/* Two runs of 32 side by side (low / high 256 bits). */
IQ_TARGET_AVX512 IQ_INLINE __m512i iq4_values2_avx512(const uint8_t *qs0, const uint8_t *qs1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(iq4_values_avx2(qs0)), iq4_values_avx2(qs1), 1);
}

/* q8 with its sign flipped where w < 0, so that |w| * result = w * q8. */
IQ_TARGET_AVX512 IQ_INLINE __m512i sign_like_avx512(__m512i q8, __m512i w) {
    return _mm512_mask_sub_epi8(q8, _mm512_movepi8_mask(w), _mm512_setzero_si512(), q8);
}

/* Pairs of blocks: one VNNI dpbusd gives each block's 8 partial sums; an
 * odd last block takes the AVX2 step. */
IQ_TARGET_AVX512 static void iq4_nl_dot_avx512(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    const int64_t nb = n / QK4_NL;
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m512i w = iq4_values2_avx512(x[i].qs, x[i + 1].qs);
        const __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)y[i].qs)),
                                             _mm256_loadu_si256((const __m256i *)y[i + 1].qs), 1);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), sign_like_avx512(a, w));
        const __m512 d = _mm512_insertf32x8(_mm512_set1_ps(fp16_avx2(y[i].d) * fp16_avx2(x[i].d)),
                                            _mm256_set1_ps(fp16_avx2(y[i + 1].d) * fp16_avx2(x[i + 1].d)), 1);
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
    }
    __m256 tail = _mm256_setzero_ps();
    if (i < nb) tail = iq4_nl_block_avx2(&x[i], &y[i], tail);
    *s = _mm512_reduce_add_ps(acc) + hsum_f32_8(tail);
}

/* Two runs per step: maddubs on 512 bits, the two run scales with dpwssd. */
IQ_TARGET_AVX512 static void iq4_xs_dot_avx512(int64_t n, float *s, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m512i acc = _mm512_setzero_si512();
        for (int ib = 0; ib < QK_K / 32; ib += 2) {
            const __m512i w = iq4_values2_avx512(x[i].qs + 16 * ib, x[i].qs + 16 * ib + 16);
            const __m512i p = _mm512_maddubs_epi16(_mm512_abs_epi8(w),
                                                   sign_like_avx512(_mm512_loadu_si512(y[i].qs + 32 * ib), w));
            const __m512i sc = _mm512_inserti64x4(_mm512_set1_epi16((short)iq4_xs_scale(&x[i], ib)),
                                                  _mm256_set1_epi16((short)iq4_xs_scale(&x[i], ib + 1)), 1);
            acc = _mm512_dpwssd_epi32(acc, p, sc);
        }
        sumf += fp16_avx2(x[i].d) * y[i].d * (float)_mm512_reduce_add_epi32(acc);
    }
    *s = sumf;
}

void dc_quant_fill_iq4(dc_type_traits t[DC_TYPE_COUNT], int level) {
    static const dc_vec_dot_fn nl[3] = {iq4_nl_dot_ref, iq4_nl_dot_avx2, iq4_nl_dot_avx512};
    static const dc_vec_dot_fn xs[3] = {iq4_xs_dot_ref, iq4_xs_dot_avx2, iq4_xs_dot_avx512};
    const int lv = level < 0 ? 0 : level > 2 ? 2 : level;
    t[DC_TYPE_IQ4_NL].to_float = iq4_nl_to_float;
    t[DC_TYPE_IQ4_NL].vec_dot_type = DC_TYPE_Q8_0;
    t[DC_TYPE_IQ4_NL].vec_dot = nl[lv];
    /* the 8-lane AVX2 loop is tinyBLAS_Q0_AVX's order; vec_dot at AVX-512 is
     * ggml_vec_dot_iq4_nl_q8_0's (two accumulators) */
    t[DC_TYPE_IQ4_NL].vec_dot_repack = lv ? iq4_nl_dot_repack_avx2 : NULL;
    t[DC_TYPE_IQ4_NL].vec_dot_gemm = lv ? iq4_nl_dot_avx2 : NULL;
    t[DC_TYPE_IQ4_XS].to_float = iq4_xs_to_float;
    t[DC_TYPE_IQ4_XS].vec_dot_type = DC_TYPE_Q8_K;
    t[DC_TYPE_IQ4_XS].vec_dot = xs[lv];
}
