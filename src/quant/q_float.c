/* q_float.c - the float element types: F32, F16 and BF16.
 *
 * Each type is its own activation format (ggml converts F32 activations to
 * F16 / BF16, rounding to nearest even, before an F16 / BF16 dot product),
 * so every type has to_float, from_float and vec_dot, all element-wise.
 *
 * The row functions are written once per SIMD level and take the element
 * format as small always-inline "load N floats" / "store N floats" helpers:
 *   level 0 - scalar reference: dot product accumulated in double, as
 *             ggml's scalar path does;
 *   level 1 - AVX2: 8 lanes, F16C for fp16, shifts for bf16, scalar tail;
 *   level 2 - AVX-512: 16 lanes, masked loads/stores for the tail.
 * bf16 never needs AVX512_BF16: widening is a 16-bit shift and narrowing is
 * the integer round-to-nearest-even of dc_fp32_to_bf16, lane-wise.
 */
#include "quant/quant_impl.h"

#include <immintrin.h>
#include <string.h>

#define AVX2_FN static inline __attribute__((always_inline, target(DC_TARGET_AVX2)))
#define AVX512_FN static inline __attribute__((always_inline, target(DC_TARGET_AVX512)))

/* ---- scalar element access (reference and SIMD tails) ----------------- */

typedef float (*elem_load_fn)(const void *p, int64_t i);
typedef uint16_t (*elem_narrow_fn)(float f);

static inline float elem_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static inline float elem_f16(const void *p, int64_t i) { return dc_fp16_to_fp32(((const uint16_t *)p)[i]); }
static inline float elem_bf16(const void *p, int64_t i) { return dc_bf16_to_fp32(((const uint16_t *)p)[i]); }

/* ---- level 0: scalar reference ------------------------------------------ */

static void copy_to_f32(const void *x, float *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
static void copy_from_f32(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }

static inline void widen_row_ref(const void *x, float *y, int64_t n, elem_load_fn load) {
    for (int64_t i = 0; i < n; i++)
        y[i] = load(x, i);
}

static inline void narrow_row_ref(const float *x, uint16_t *y, int64_t n, elem_narrow_fn narrow) {
    for (int64_t i = 0; i < n; i++)
        y[i] = narrow(x[i]);
}

static inline float dot_ref(int64_t n, const void *x, const void *y, elem_load_fn load) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(load(x, i) * load(y, i));
    return (float)sum;
}

static void to_float_f16_ref(const void *x, float *y, int64_t n) { widen_row_ref(x, y, n, elem_f16); }
static void to_float_bf16_ref(const void *x, float *y, int64_t n) { widen_row_ref(x, y, n, elem_bf16); }
static void from_float_f16_ref(const float *x, void *y, int64_t n) { narrow_row_ref(x, y, n, dc_fp32_to_fp16); }
static void from_float_bf16_ref(const float *x, void *y, int64_t n) { narrow_row_ref(x, y, n, dc_fp32_to_bf16); }
static void vec_dot_f32_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_ref(n, x, y, elem_f32); }
static void vec_dot_f16_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_ref(n, x, y, elem_f16); }
static void vec_dot_bf16_ref(int64_t n, float *s, const void *x, const void *y) { *s = dot_ref(n, x, y, elem_bf16); }

/* ---- level 1: AVX2 + FMA + F16C ----------------------------------------- */

typedef __m256 (*load8_fn)(const void *p, int64_t i);
typedef void (*store8_fn)(void *p, int64_t i, __m256 v);

AVX2_FN __m256 load8_f32(const void *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }

AVX2_FN __m256 load8_f16(const void *p, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
}

AVX2_FN __m256 load8_bf16(const void *p, int64_t i) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

AVX2_FN void store8_f16(void *p, int64_t i, __m256 v) {
    _mm_storeu_si128((__m128i *)((uint16_t *)p + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

/* dc_fp32_to_bf16 on 8 lanes: u + 0x7fff + lsb, NaNs made quiet instead. */
AVX2_FN void store8_bf16(void *p, int64_t i, __m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i hi = _mm256_srli_epi32(u, 16);
    const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1)));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                              _mm256_set1_epi32(0x7f800000));
    const __m256i quiet = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));
    const __m256i r = _mm256_blendv_epi8(rounded, quiet, is_nan);
    /* lanes hold 0..0xffff, so the unsigned-saturating pack is exact */
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128((__m128i *)((uint16_t *)p + i), packed);
}

AVX2_FN float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_FN void widen_row_avx2(const void *x, float *y, int64_t n, load8_fn load8, elem_load_fn load) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, load8(x, i));
    for (; i < n; i++)
        y[i] = load(x, i);
}

AVX2_FN void narrow_row_avx2(const float *x, void *y, int64_t n, store8_fn store8, elem_narrow_fn narrow) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        store8(y, i, _mm256_loadu_ps(x + i));
    for (; i < n; i++)
        ((uint16_t *)y)[i] = narrow(x[i]);
}

/* Four independent 8-lane FMA chains over 32 elements, then 8 at a time,
 * then a scalar tail. */
AVX2_FN float dot_avx2(int64_t n, const void *x, const void *y, load8_fn load8, elem_load_fn load) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(load8(x, i + 8 * k), load8(y, i + 8 * k), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load8(x, i), load8(y, i), acc[0]);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += load(x, i) * load(y, i);
    return sum;
}

#define AVX2_ROW static __attribute__((target(DC_TARGET_AVX2)))
AVX2_ROW void to_float_f16_avx2(const void *x, float *y, int64_t n) { widen_row_avx2(x, y, n, load8_f16, elem_f16); }
AVX2_ROW void to_float_bf16_avx2(const void *x, float *y, int64_t n) { widen_row_avx2(x, y, n, load8_bf16, elem_bf16); }
AVX2_ROW void from_float_f16_avx2(const float *x, void *y, int64_t n) { narrow_row_avx2(x, y, n, store8_f16, dc_fp32_to_fp16); }
AVX2_ROW void from_float_bf16_avx2(const float *x, void *y, int64_t n) { narrow_row_avx2(x, y, n, store8_bf16, dc_fp32_to_bf16); }
AVX2_ROW void vec_dot_f32_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx2(n, x, y, load8_f32, elem_f32); }
AVX2_ROW void vec_dot_f16_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx2(n, x, y, load8_f16, elem_f16); }
AVX2_ROW void vec_dot_bf16_avx2(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx2(n, x, y, load8_bf16, elem_bf16); }

/* ---- level 2: AVX-512 (masked tails, no scalar loop) -------------------- */

typedef __m512 (*load16_fn)(const void *p, int64_t i, __mmask16 m);
typedef void (*store16_fn)(void *p, int64_t i, __m512 v, __mmask16 m);

/* lanes [i, min(i + 16, n)) */
AVX512_FN __mmask16 tail_mask(int64_t i, int64_t n) {
    return n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
}

AVX512_FN __m512 load16_f32(const void *p, int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, (const float *)p + i);
}

AVX512_FN __m512 load16_f16(const void *p, int64_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
}

AVX512_FN __m512 load16_bf16(const void *p, int64_t i, __mmask16 m) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

AVX512_FN void store16_f16(void *p, int64_t i, __m512 v, __mmask16 m) {
    _mm256_mask_storeu_epi16((uint16_t *)p + i, m, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

AVX512_FN void store16_bf16(void *p, int64_t i, __m512 v, __mmask16 m) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
    const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                     _mm512_set1_epi32(0x7f800000));
    const __m512i r = _mm512_mask_blend_epi32(is_nan, rounded, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
    _mm256_mask_storeu_epi16((uint16_t *)p + i, m, _mm512_cvtepi32_epi16(r));
}

AVX512_FN void widen_row_avx512(const void *x, float *y, int64_t n, load16_fn load16) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(i, n);
        _mm512_mask_storeu_ps(y + i, m, load16(x, i, m));
    }
}

AVX512_FN void narrow_row_avx512(const float *x, void *y, int64_t n, store16_fn store16) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(i, n);
        store16(y, i, _mm512_maskz_loadu_ps(m, x + i), m);
    }
}

/* Four independent 16-lane FMA chains over 64 elements, then 16 at a time
 * with the last chunk masked (masked-off lanes load as 0). */
AVX512_FN float dot_avx512(int64_t n, const void *x, const void *y, load16_fn load16) {
    const __mmask16 all = 0xffff;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(load16(x, i + 16 * k, all), load16(y, i + 16 * k, all), acc[k]);
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(i, n);
        acc[0] = _mm512_fmadd_ps(load16(x, i, m), load16(y, i, m), acc[0]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

#define AVX512_ROW static __attribute__((target(DC_TARGET_AVX512)))
AVX512_ROW void to_float_f16_avx512(const void *x, float *y, int64_t n) { widen_row_avx512(x, y, n, load16_f16); }
AVX512_ROW void to_float_bf16_avx512(const void *x, float *y, int64_t n) { widen_row_avx512(x, y, n, load16_bf16); }
AVX512_ROW void from_float_f16_avx512(const float *x, void *y, int64_t n) { narrow_row_avx512(x, y, n, store16_f16); }
AVX512_ROW void from_float_bf16_avx512(const float *x, void *y, int64_t n) { narrow_row_avx512(x, y, n, store16_bf16); }
AVX512_ROW void vec_dot_f32_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx512(n, x, y, load16_f32); }
AVX512_ROW void vec_dot_f16_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx512(n, x, y, load16_f16); }
AVX512_ROW void vec_dot_bf16_avx512(int64_t n, float *s, const void *x, const void *y) { *s = dot_avx512(n, x, y, load16_bf16); }

/* ---- the table ------------------------------------------------------------ */

typedef struct {
    dc_to_float_fn to_float;
    dc_from_float_fn from_float;
    dc_vec_dot_fn vec_dot;
} float_fns;

enum { FT_F32, FT_F16, FT_BF16, FT_COUNT };
static const dc_type float_type_ids[FT_COUNT] = {DC_TYPE_F32, DC_TYPE_F16, DC_TYPE_BF16};

static const float_fns float_levels[3][FT_COUNT] = {
    {
        [FT_F32] = {copy_to_f32, copy_from_f32, vec_dot_f32_ref},
        [FT_F16] = {to_float_f16_ref, from_float_f16_ref, vec_dot_f16_ref},
        [FT_BF16] = {to_float_bf16_ref, from_float_bf16_ref, vec_dot_bf16_ref},
    },
    {
        [FT_F32] = {copy_to_f32, copy_from_f32, vec_dot_f32_avx2},
        [FT_F16] = {to_float_f16_avx2, from_float_f16_avx2, vec_dot_f16_avx2},
        [FT_BF16] = {to_float_bf16_avx2, from_float_bf16_avx2, vec_dot_bf16_avx2},
    },
    {
        [FT_F32] = {copy_to_f32, copy_from_f32, vec_dot_f32_avx512},
        [FT_F16] = {to_float_f16_avx512, from_float_f16_avx512, vec_dot_f16_avx512},
        [FT_BF16] = {to_float_bf16_avx512, from_float_bf16_avx512, vec_dot_bf16_avx512},
    },
};

void dc_quant_fill_float(dc_type_traits t[DC_TYPE_COUNT], int level) {
    for (int k = 0; k < FT_COUNT; k++) {
        dc_type_traits *e = &t[float_type_ids[k]];
        const float_fns *f = &float_levels[level][k];
        e->to_float = f->to_float;
        e->from_float = f->from_float;
        e->vec_dot = f->vec_dot;
        e->vec_dot_type = float_type_ids[k]; /* each float type is its own activation format */
    }
}
