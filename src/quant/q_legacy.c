/* q_legacy.c - ggml's "legacy" 32-element block types: Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0 (weights) and Q8_0, Q8_1 (activation formats).
 *
 * Every weight block decodes to x_j = d * q_j + m with small integers q_j
 * (m = 0 and q signed for the _0 types, q unsigned and m the block minimum
 * for the _1 types), so a dot product with 8-bit activations y_j = d8 * a_j
 * is, per block, an exact integer sum times float scales:
 *     _0 . Q8_0:  d * d8 * sum(q * a)
 *     _1 . Q8_1:  d * d8 * sum(q * a) + m * s8,  s8 = d8 * sum(a) (as fp16)
 *
 * Activations are quantized as ggml's x86 build does it: d = amax / 127
 * (stored as fp16), q = round-to-nearest-even(x * (127 / amax)), and for Q8_1
 * s = fp16(d * sum(q)) with the unrounded d. The scalar reference does the
 * same arithmetic, so reference and SIMD quantizers agree bit for bit.
 *
 * Levels: 0 = scalar reference (decode a block to legacy_block, then plain
 * loops); 1 = AVX2, where the integer sums come from maddubs + madd;
 * 2 = AVX-512, the same block loaders with VNNI (vpdpbusd) sums and a
 * 512-bit quantizer. to_float stays scalar at every level (it is only used
 * off the hot path).
 */
#include "quant/blocks.h"
#include "quant/quant_impl.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX2_FN static inline __attribute__((always_inline, target(DC_TARGET_AVX2)))
#define AVX512_FN static inline __attribute__((always_inline, target(DC_TARGET_AVX512)))

/* ---- shared scalar pieces ------------------------------------------------- */

/* One decoded weight block: x_j = d * q[j] + m. */
typedef struct {
    float d, m;
    int8_t q[32];
} legacy_block;

typedef void (*decode_fn)(const void *block, legacy_block *v);

/* q[j] = low nibble of qs[j], q[j + 16] = high nibble, minus offset. */
static void unpack_nibbles(const uint8_t qs[16], int offset, int8_t q[32]) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 0x0f) - offset);
        q[j + 16] = (int8_t)((qs[j] >> 4) - offset);
    }
}

/* Adds 16 to q[j] where bit j of the little-endian 32-bit qh is set. */
static void add_fifth_bits(const uint8_t qh[4], int8_t q[32]) {
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    for (int j = 0; j < 32; j++)
        q[j] = (int8_t)(q[j] + (int)(((bits >> j) & 1) << 4));
}

static void decode_q4_0(const void *block, legacy_block *v) {
    const block_q4_0 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = 0.0f;
    unpack_nibbles(b->qs, 8, v->q);
}

static void decode_q4_1(const void *block, legacy_block *v) {
    const block_q4_1 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = dc_fp16_to_fp32(b->m);
    unpack_nibbles(b->qs, 0, v->q);
}

static void decode_q5_0(const void *block, legacy_block *v) {
    const block_q5_0 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = 0.0f;
    unpack_nibbles(b->qs, 16, v->q);
    add_fifth_bits(b->qh, v->q);
}

static void decode_q5_1(const void *block, legacy_block *v) {
    const block_q5_1 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = dc_fp16_to_fp32(b->m);
    unpack_nibbles(b->qs, 0, v->q);
    add_fifth_bits(b->qh, v->q);
}

static void decode_q8_0(const void *block, legacy_block *v) {
    const block_q8_0 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = 0.0f;
    memcpy(v->q, b->qs, sizeof v->q);
}

static void decode_q8_1(const void *block, legacy_block *v) {
    const block_q8_1 *b = block;
    v->d = dc_fp16_to_fp32(b->d);
    v->m = 0.0f;
    memcpy(v->q, b->qs, sizeof v->q);
}

/* d = amax / 127; *mult = 127 / amax, or 0 for an all-zero block (ggml x86). */
static inline float q8_scale(float amax, float *mult) {
    *mult = amax != 0.0f ? 127.0f / amax : 0.0f;
    return amax / 127.0f;
}

/* Quantizes 32 floats to q; returns the block scale (unrounded) and sum(q). */
typedef float (*q8_block_fn)(const float *x, int8_t q[32], int *sum);

static inline __attribute__((always_inline)) void quantize_row_q8_0_with(const float *x, void *vy, int64_t n,
                                                                         q8_block_fn quantize_block) {
    block_q8_0 *y = vy;
    int sum;
    for (int64_t i = 0; i < n / QK8_0; i++)
        y[i].d = dc_fp32_to_fp16(quantize_block(x + i * QK8_0, y[i].qs, &sum));
}

static inline __attribute__((always_inline)) void quantize_row_q8_1_with(const float *x, void *vy, int64_t n,
                                                                         q8_block_fn quantize_block) {
    block_q8_1 *y = vy;
    int sum;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const float d = quantize_block(x + i * QK8_1, y[i].qs, &sum);
        y[i].d = dc_fp32_to_fp16(d);
        y[i].s = dc_fp32_to_fp16(d * (float)sum);
    }
}

/* ---- level 0: scalar reference -------------------------------------------- */

static void to_float_legacy(const void *x, float *y, int64_t n, size_t block_bytes, decode_fn decode) {
    legacy_block v;
    for (int64_t i = 0; i < n / 32; i++) {
        decode((const uint8_t *)x + (size_t)i * block_bytes, &v);
        for (int j = 0; j < 32; j++)
            y[i * 32 + j] = v.d * (float)v.q[j] + v.m;
    }
}

static int dot_i8_32(const int8_t *a, const int8_t *b) {
    int sum = 0;
    for (int j = 0; j < 32; j++)
        sum += a[j] * b[j];
    return sum;
}

/* Weight row (any _0 type or Q8_0) . Q8_0 activations. */
static float dot_q8_0_ref(int64_t n, const void *x, size_t block_bytes, decode_fn decode, const block_q8_0 *y) {
    legacy_block v;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        decode((const uint8_t *)x + (size_t)i * block_bytes, &v);
        sum += (float)dot_i8_32(v.q, y[i].qs) * (v.d * dc_fp16_to_fp32(y[i].d));
    }
    return sum;
}

/* Weight row (a _1 type) . Q8_1 activations. */
static float dot_q8_1_ref(int64_t n, const void *x, size_t block_bytes, decode_fn decode, const block_q8_1 *y) {
    legacy_block v;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        decode((const uint8_t *)x + (size_t)i * block_bytes, &v);
        sum += (float)dot_i8_32(v.q, y[i].qs) * (v.d * dc_fp16_to_fp32(y[i].d)) + v.m * dc_fp16_to_fp32(y[i].s);
    }
    return sum;
}

static float quantize_block_q8_ref(const float *x, int8_t q[32], int *sum) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    float mult;
    const float d = q8_scale(amax, &mult);
    *sum = 0;
    for (int j = 0; j < 32; j++) {
        q[j] = (int8_t)lrintf(x[j] * mult); /* default rounding: nearest even */
        *sum += q[j];
    }
    return d;
}

static void to_float_q4_0(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q4_0), decode_q4_0); }
static void to_float_q4_1(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q4_1), decode_q4_1); }
static void to_float_q5_0(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q5_0), decode_q5_0); }
static void to_float_q5_1(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q5_1), decode_q5_1); }
static void to_float_q8_0(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q8_0), decode_q8_0); }
static void to_float_q8_1(const void *x, float *y, int64_t n) { to_float_legacy(x, y, n, sizeof(block_q8_1), decode_q8_1); }

static void vec_dot_q4_0_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_ref(n, x, sizeof(block_q4_0), decode_q4_0, y); }
static void vec_dot_q4_1_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_ref(n, x, sizeof(block_q4_1), decode_q4_1, y); }
static void vec_dot_q5_0_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_ref(n, x, sizeof(block_q5_0), decode_q5_0, y); }
static void vec_dot_q5_1_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_ref(n, x, sizeof(block_q5_1), decode_q5_1, y); }
static void vec_dot_q8_0_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_ref(n, x, sizeof(block_q8_0), decode_q8_0, y); }

static void quantize_row_q8_0_ref(const float *x, void *y, int64_t n) { quantize_row_q8_0_with(x, y, n, quantize_block_q8_ref); }
static void quantize_row_q8_1_ref(const float *x, void *y, int64_t n) { quantize_row_q8_1_with(x, y, n, quantize_block_q8_ref); }

/* ---- SIMD block loaders (AVX2; also inlined into the AVX-512 functions) --- */

/* The 32 weights of a block as bytes: signed q for the _0 types, unsigned
 * q for the _1 types. */
typedef __m256i (*load_block_fn)(const void *block);

/* Bytes 0..15 = low nibbles of qs, bytes 16..31 = high nibbles. */
AVX2_FN __m256i nibbles32(const uint8_t qs[16]) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* Byte j = 0xff where bit j of the little-endian 32-bit qh is set, else 0. */
AVX2_FN __m256i bits32(const uint8_t qh[4]) {
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    const __m256i byte_of_bit = _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), byte_of_bit);
    const __m256i bit_of_byte = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_of_byte), bit_of_byte);
}

AVX2_FN __m256i load_q4_0(const void *block) {
    return _mm256_sub_epi8(nibbles32(((const block_q4_0 *)block)->qs), _mm256_set1_epi8(8));
}

AVX2_FN __m256i load_q4_1(const void *block) {
    return nibbles32(((const block_q4_1 *)block)->qs);
}

/* q - 16: the nibble where the fifth bit is set, else nibble | 0xf0. */
AVX2_FN __m256i load_q5_0(const void *block) {
    const block_q5_0 *b = block;
    const __m256i high = _mm256_andnot_si256(bits32(b->qh), _mm256_set1_epi8((char)0xf0));
    return _mm256_or_si256(nibbles32(b->qs), high);
}

AVX2_FN __m256i load_q5_1(const void *block) {
    const block_q5_1 *b = block;
    return _mm256_or_si256(nibbles32(b->qs), _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(0x10)));
}

AVX2_FN __m256i load_q8_0(const void *block) {
    return _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)block)->qs);
}

AVX2_FN float half_f16c(uint16_t h) { return _cvtsh_ss(h); }

AVX2_FN float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- SIMD dot-product loops, shared by both levels ------------------------ */

/* Eight int32 partial sums of 32 byte products; "ss": both operands signed,
 * "us": first unsigned (<= 31 here, so no 16-bit saturation in maddubs). */
typedef __m256i (*dot32_fn)(__m256i w, __m256i a);

AVX2_FN __m256i dot32_us_avx2(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* Signed . signed as |w| . (a with w's sign); |-128| = 128 still fits u8. */
AVX2_FN __m256i dot32_ss_avx2(__m256i w, __m256i a) {
    return dot32_us_avx2(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

AVX512_FN __m256i dot32_us_vnni(__m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

AVX512_FN __m256i dot32_ss_vnni(__m256i w, __m256i a) {
    return dot32_us_vnni(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

/* Weight row . Q8_0: acc += (d * d8) * sum, per block. The loop is compiled
 * into (and its function pointers resolved in) each target-specific caller. */
AVX2_FN float dot_q8_0_simd(int64_t n, const void *x, size_t block_bytes, load_block_fn load, dot32_fn dot,
                            const block_q8_0 *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const void *block = (const uint8_t *)x + (size_t)i * block_bytes;
        uint16_t dx;
        memcpy(&dx, block, sizeof dx); /* every legacy block starts with d */
        const __m256 d = _mm256_set1_ps(half_f16c(dx) * half_f16c(y[i].d));
        const __m256i p = dot(load(block), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum8(acc);
}

/* Weight row (_1 type) . Q8_1: as above plus m * s8 summed separately. */
AVX2_FN float dot_q8_1_simd(int64_t n, const void *x, size_t block_bytes, load_block_fn load, dot32_fn dot,
                            const block_q8_1 *y) {
    __m256 acc = _mm256_setzero_ps();
    float mins = 0.0f;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const void *block = (const uint8_t *)x + (size_t)i * block_bytes;
        uint16_t dm[2];
        memcpy(dm, block, sizeof dm); /* block_q4_1 / block_q5_1 start with d, m */
        mins += half_f16c(dm[1]) * half_f16c(y[i].s);
        const __m256 d = _mm256_set1_ps(half_f16c(dm[0]) * half_f16c(y[i].d));
        const __m256i p = dot(load(block), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum8(acc) + mins;
}

/* llama.cpp's repacked Q4_0 kernels: one float chain per output (quant.h). */
AVX2_FN float dot_q8_0_chain(int64_t n, const void *x, size_t block_bytes, load_block_fn load, dot32_fn dot,
                             const block_q8_0 *y) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const void *block = (const uint8_t *)x + (size_t)i * block_bytes;
        uint16_t dx;
        memcpy(&dx, block, sizeof dx);
        __m256i p = dot(load(block), _mm256_loadu_si256((const __m256i *)y[i].qs));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
        acc = fmaf((float)_mm_cvtsi128_si32(s), half_f16c(dx) * half_f16c(y[i].d), acc);
    }
    return acc;
}

#define AVX2_ROW static __attribute__((target(DC_TARGET_AVX2)))
#define AVX512_ROW static __attribute__((target(DC_TARGET_AVX512)))

AVX2_ROW void vec_dot_q4_0_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q4_0), load_q4_0, dot32_ss_avx2, y); }
AVX2_ROW void vec_dot_q4_1_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_simd(n, x, sizeof(block_q4_1), load_q4_1, dot32_us_avx2, y); }
AVX2_ROW void vec_dot_q5_0_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q5_0), load_q5_0, dot32_ss_avx2, y); }
AVX2_ROW void vec_dot_q5_1_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_simd(n, x, sizeof(block_q5_1), load_q5_1, dot32_us_avx2, y); }
AVX2_ROW void vec_dot_q8_0_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q8_0), load_q8_0, dot32_ss_avx2, y); }

AVX2_ROW void vec_dot_q4_0_repack_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_chain(n, x, sizeof(block_q4_0), load_q4_0, dot32_ss_avx2, y); }
AVX512_ROW void vec_dot_q4_0_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q4_0), load_q4_0, dot32_ss_vnni, y); }
AVX512_ROW void vec_dot_q4_1_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_simd(n, x, sizeof(block_q4_1), load_q4_1, dot32_us_vnni, y); }
AVX512_ROW void vec_dot_q5_0_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q5_0), load_q5_0, dot32_ss_vnni, y); }
AVX512_ROW void vec_dot_q5_1_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_1_simd(n, x, sizeof(block_q5_1), load_q5_1, dot32_us_vnni, y); }
AVX512_ROW void vec_dot_q8_0_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_q8_0_simd(n, x, sizeof(block_q8_0), load_q8_0, dot32_ss_vnni, y); }

/* ---- SIMD activation quantizers -------------------------------------------- */

AVX2_FN float quantize_block_q8_avx2(const float *x, int8_t q[32], int *sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mult;
    const float d = q8_scale(_mm_cvtss_f32(m4), &mult);
    __m256i iq[4];
    for (int k = 0; k < 4; k++) {
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(mult)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        iq[k] = _mm256_cvtps_epi32(r);
    }
    const __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(iq[0], iq[1]), _mm256_add_epi32(iq[2], iq[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum = _mm_cvtsi128_si32(s4);
    /* the packs work per 128-bit lane; the permute restores element order */
    const __m256i p16a = _mm256_packs_epi32(iq[0], iq[1]);
    const __m256i p16b = _mm256_packs_epi32(iq[2], iq[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, ordered);
    return d;
}

AVX512_FN float quantize_block_q8_avx512(const float *x, int8_t q[32], int *sum) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    float mult;
    const float d = q8_scale(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1))), &mult);
    const __m512 m = _mm512_set1_ps(mult);
    const __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtsepi32_epi8(i1));
    return d;
}

AVX2_ROW void quantize_row_q8_0_avx2(const float *x, void *y, int64_t n) { quantize_row_q8_0_with(x, y, n, quantize_block_q8_avx2); }
AVX2_ROW void quantize_row_q8_1_avx2(const float *x, void *y, int64_t n) { quantize_row_q8_1_with(x, y, n, quantize_block_q8_avx2); }
AVX512_ROW void quantize_row_q8_0_avx512(const float *x, void *y, int64_t n) { quantize_row_q8_0_with(x, y, n, quantize_block_q8_avx512); }
AVX512_ROW void quantize_row_q8_1_avx512(const float *x, void *y, int64_t n) { quantize_row_q8_1_with(x, y, n, quantize_block_q8_avx512); }

/* ---- the table ------------------------------------------------------------ */

static const dc_vec_dot_fn dots[3][5] = {
    {vec_dot_q4_0_ref, vec_dot_q4_1_ref, vec_dot_q5_0_ref, vec_dot_q5_1_ref, vec_dot_q8_0_ref},
    {vec_dot_q4_0_avx2, vec_dot_q4_1_avx2, vec_dot_q5_0_avx2, vec_dot_q5_1_avx2, vec_dot_q8_0_avx2},
    {vec_dot_q4_0_avx512, vec_dot_q4_1_avx512, vec_dot_q5_0_avx512, vec_dot_q5_1_avx512, vec_dot_q8_0_avx512},
};

static const dc_from_float_fn quantizers[3][2] = {
    {quantize_row_q8_0_ref, quantize_row_q8_1_ref},
    {quantize_row_q8_0_avx2, quantize_row_q8_1_avx2},
    {quantize_row_q8_0_avx512, quantize_row_q8_1_avx512},
};

void dc_quant_fill_legacy(dc_type_traits t[DC_TYPE_COUNT], int level) {
    static const struct {
        dc_type type;
        dc_to_float_fn to_float;
        dc_type vec_dot_type;
    } weights[5] = {
        {DC_TYPE_Q4_0, to_float_q4_0, DC_TYPE_Q8_0}, {DC_TYPE_Q4_1, to_float_q4_1, DC_TYPE_Q8_1},
        {DC_TYPE_Q5_0, to_float_q5_0, DC_TYPE_Q8_0}, {DC_TYPE_Q5_1, to_float_q5_1, DC_TYPE_Q8_1},
        {DC_TYPE_Q8_0, to_float_q8_0, DC_TYPE_Q8_0},
    };
    for (int k = 0; k < 5; k++) {
        dc_type_traits *e = &t[weights[k].type];
        e->to_float = weights[k].to_float;
        e->vec_dot_type = weights[k].vec_dot_type;
        e->vec_dot = dots[level][k];
    }
    t[DC_TYPE_Q4_0].vec_dot_repack = level ? vec_dot_q4_0_repack_avx2 : NULL;
    t[DC_TYPE_Q8_0].from_float = quantizers[level][0];
    t[DC_TYPE_Q8_1].from_float = quantizers[level][1];
    t[DC_TYPE_Q8_1].to_float = to_float_q8_1;
}
