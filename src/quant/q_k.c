/* q_k.c - the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and their activation
 * format Q8_K: dequantization, the Q8_K quantizer and the dot products, as a
 * scalar reference plus AVX2 and AVX-512 twins of each dot product.
 *
 * A K-quant super-block holds 256 weights (layouts in blocks.h, byte for byte
 * ggml's). Once its bits are unpacked, every type here reads the same way:
 *
 *     x[e] = (d * sc[g]) * (u[e] - off) - dmin * mn[g],      g = e / 16
 *
 * u[e] is an unsigned quant (Q2_K 2 bits, Q3_K 3, Q4_K 4, Q5_K 5, Q6_K 6),
 * off the type's zero point (Q3_K 4, Q6_K 32, else 0), sc/mn the scale and
 * min of the group of 16 (Q4_K/Q5_K have sub-blocks of 32, so both groups of
 * a sub-block get the same values), d/dmin the fp16 super-block scales (dmin
 * and mn are 0 for types without mins). A type therefore contributes three
 * small pieces: its header unpacking (k_hdr_*: d, dmin, sc, mn, off - shared
 * by every level), its quants in element order (k_quants_*: the scalar
 * reference) and the 32 quants of chunk c = e / 32 as one AVX2 vector
 * (k_chunk_*, used by both SIMD levels), kept side by side per type.
 * Generic drivers, inlined into per-type entry points, do the rest, for one
 * activation row (vec_dot) or, at the SIMD levels, four (vec_dot_x4: each
 * weight block unpacked once for the four rows, each row's bits unchanged).
 *
 * Q8_K (quantize_row_q8_K_ref, which is also what ggml's x86 CPU backend
 * runs): per super-block the signed element of largest magnitude `max`,
 * iscale = -127/max, q = min(127, nearest_int(iscale * x)), d = 1/iscale
 * (a float, not fp16), bsums[g] = sum of the 16 quants of group g.
 *
 * Dot product with Q8_K, per super-block (integers inside a super-block):
 *     sum_g sc[g] * sum_{e in g} (u[e] - off) * q8[e]   and
 *     sum_g mn[g] * bsums[g]                             (types with mins),
 * then float steps across super-blocks in the exact order of llama.cpp's x86
 * kernels (see "the float steps" below): every level computes the same
 * integers and shares one scalar float sequence, so all levels agree bit for
 * bit. The SIMD versions multiply the unsigned u with q8 (maddubs: u8 x s8)
 * and take the zero point out per int16 pair, as ggml does. No expression
 * here may be contracted into an FMA behind our back (off below for clang;
 * GCC contracts only outside ISO C modes); the FMAs are explicit fmaf calls.
 * Q8_K quants lie in [-127, 127], which keeps maddubs' int16 pair sums
 * (at most 2 * 63 * 127) from saturating.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "quant/blocks.h"
#include "quant/quant_impl.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF /* GCC in ISO C mode does not contract either */
#endif

#define K_TARGET_AVX2 __attribute__((target(DC_TARGET_AVX2)))
#define K_TARGET_AVX512 __attribute__((target(DC_TARGET_AVX512)))
#define K_INLINE static inline __attribute__((always_inline))

#define K_GROUPS (QK_K / 16) /* groups of 16 weights per super-block */
#define K_CHUNKS (QK_K / 32) /* SIMD chunks of 32 weights per super-block */
#define K_ROWS 4              /* activation rows of the multi-row dot products */
/* for (j = 0; j < ny; j++), ny <= K_ROWS a constant after inlining: fully
 * unrolled, so per-row arrays of vectors stay in registers. */
#define K_FOR_ROWS(j, ny) _Pragma("GCC unroll 4") for (int j = 0; j < (ny); j++)

/* ---------------------------------------------------------------- Q8_K */

/* ggml's nearest_int: round half to even through the float mantissa. */
static inline int nearest_int(float f) {
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static void quantize_row_q8_K(const float *x, void *vy, int64_t n) {
    block_q8_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            if (__builtin_fabsf(x[j]) > amax) {
                amax = __builtin_fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < K_GROUPS; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

static void dequantize_row_q8_K(const void *vx, float *y, int64_t n) {
    const block_q8_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) *y++ = x[i].d * x[i].qs[j];
}

/* ---------------------------------------------------- per-type unpacking */

/* Per type: the header (k_hdr_*), the quants in element order for the scalar
 * reference (k_quants_*) and, beside them, their SIMD twin: the 32 quants of
 * chunk c = elements 32c..32c+31 as unsigned bytes in one AVX2 register
 * (k_chunk_*, used by the AVX2 and AVX-512 dot products). */

/* (v >> shift) & mask on every byte (shift < 8). */
K_TARGET_AVX2 K_INLINE __m256i k_bits(__m256i v, int shift, int mask) {
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8((char)mask));
}

K_TARGET_AVX2 K_INLINE __m256i k_load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* A super-block's header, unpacked. The 16 group scales and mins are int8
 * bytes packed in two 64-bit words each (byte g%8 of word g/8), so that the
 * SIMD paths can move them into a vector register without a trip through
 * memory; k_group() reads one. */
typedef struct {
    uint16_t d, dmin; /* fp16 super-block scales (dmin 0 without mins) */
    uint64_t sc[2];   /* scale of each group of 16 */
    uint64_t mn[2];   /* min of each group of 16 (0 without mins) */
    int off;          /* zero point: signed quant = u - off */
} k_hdr;

static inline int k_group(const uint64_t w[2], int g) { return (int8_t)(w[g / 8] >> (8 * (g % 8))); }

/* 4 bytes b0..b3 -> 8 bytes b0 b0 b1 b1 b2 b2 b3 b3 */
static inline uint64_t k_double_bytes(uint32_t x) {
    uint64_t y = x;
    y = (y | y << 16) & 0x0000ffff0000ffffull;
    y = (y | y << 8) & 0x00ff00ff00ff00ffull;
    return y | y << 8;
}

/* Q4_K / Q5_K: 8 six-bit scales and mins in 12 bytes (ggml's
 * get_scale_min_k4): sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scale)
 * and 4-7 (min); sub-blocks 4-7 take their low 4 bits from the nibbles of
 * bytes 8-11 (scale low, min high) and their high 2 bits from the top bits of
 * bytes 0-3 (scale) / 4-7 (min). Unpacked four at a time in 32-bit words;
 * each sub-block's value serves both of its groups. */
K_INLINE void k4_hdr(uint16_t d, uint16_t dmin, const uint8_t s[K_SCALE_SIZE], k_hdr *h) {
    uint32_t w[3];
    memcpy(w, s, sizeof w);
    h->d = d;
    h->dmin = dmin;
    h->off = 0;
    h->sc[0] = k_double_bytes(w[0] & 0x3f3f3f3f);
    h->mn[0] = k_double_bytes(w[1] & 0x3f3f3f3f);
    h->sc[1] = k_double_bytes((w[2] & 0x0f0f0f0f) | (w[0] >> 6 & 0x03030303) << 4);
    h->mn[1] = k_double_bytes((w[2] >> 4 & 0x0f0f0f0f) | (w[1] >> 6 & 0x03030303) << 4);
}

/* Q2_K: scales[g] = scale (low nibble) | min (high nibble). Quants: 2 bits,
 * element 128h + 32j + l at bits 2j of qs[32h + l]. */
K_INLINE void k_hdr_q2_K(const block_q2_K *b, k_hdr *h) {
    uint64_t w[2];
    memcpy(w, b->scales, sizeof w);
    h->d = b->d;
    h->dmin = b->dmin;
    h->off = 0;
    for (int k = 0; k < 2; k++) {
        h->sc[k] = w[k] & 0x0f0f0f0f0f0f0f0full;
        h->mn[k] = w[k] >> 4 & 0x0f0f0f0f0f0f0f0full;
    }
}

/* The 2-bit field of element e in Q2_K's and Q3_K's qs. */
static inline int k_2bits(const uint8_t qs[QK_K / 4], int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

static void k_quants_q2_K(const block_q2_K *b, uint8_t u[QK_K]) {
    for (int e = 0; e < QK_K; e++) u[e] = (uint8_t)k_2bits(b->qs, e);
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_q2_K(const block_q2_K *b, int c) {
    return k_bits(k_load32(b->qs + 32 * (c / 4)), 2 * (c % 4), 3);
}

/* Q3_K: 16 six-bit scales, offset by 32: low 4 bits in the nibbles of bytes
 * 0-7 (groups 0-7 low nibble, 8-15 high nibble), high 2 bits in bytes 8-11
 * (group g at bits 2*(g/4) of byte 8 + g%4); unpacked four at a time in
 * 32-bit words. Quant = the 2 bits as in Q2_K plus 4 * bit e/32 of
 * hmask[e % 32], minus 4. */
K_INLINE void k_hdr_q3_K(const block_q3_K *b, k_hdr *h) {
    uint32_t w[3];
    memcpy(w, b->scales, sizeof w);
    const uint64_t lo = w[0] | (uint64_t)w[1] << 32, hi = w[2];
    /* groups 0-7: low nibbles of bytes 0-7, high bits 0-1 (0-3) and 2-3 (4-7) of bytes 8-11 */
    const uint64_t s6_0 = (lo & 0x0f0f0f0f0f0f0f0full) | ((hi | hi << 30) & 0x0303030303030303ull) << 4;
    /* groups 8-15: high nibbles, high bits 4-5 (8-11) and 6-7 (12-15) */
    const uint64_t s6_1 = (lo >> 4 & 0x0f0f0f0f0f0f0f0full) | ((hi >> 4 | hi << 26) & 0x0303030303030303ull) << 4;
    h->d = b->d;
    h->dmin = 0;
    h->off = 4;
    /* bytewise s6 - 32 without borrows between bytes: (s6 + 96) ^ 128 */
    h->sc[0] = ((s6_0 | 0x8080808080808080ull) - 0x2020202020202020ull) ^ 0x8080808080808080ull;
    h->sc[1] = ((s6_1 | 0x8080808080808080ull) - 0x2020202020202020ull) ^ 0x8080808080808080ull;
    h->mn[0] = h->mn[1] = 0;
}

static void k_quants_q3_K(const block_q3_K *b, uint8_t u[QK_K]) {
    for (int e = 0; e < QK_K; e++)
        u[e] = (uint8_t)(k_2bits(b->qs, e) | ((b->hmask[e % 32] >> (e / 32)) & 1) << 2);
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_q3_K(const block_q3_K *b, int c) {
    __m256i hbit = _mm256_slli_epi16(k_bits(k_load32(b->hmask), c, 1), 2);
    return _mm256_or_si256(k_bits(k_load32(b->qs + 32 * (c / 4)), 2 * (c % 4), 3), hbit);
}

/* Q4_K: element 64k + l (l < 32) is the low nibble of qs[32k + l], element
 * 64k + 32 + l its high nibble. */
K_INLINE void k_hdr_q4_K(const block_q4_K *b, k_hdr *h) { k4_hdr(b->d, b->dmin, b->scales, h); }

static inline int k_nibble(const uint8_t qs[QK_K / 2], int e) {
    return (qs[32 * (e / 64) + e % 32] >> (4 * (e % 64 / 32))) & 0xF;
}

static void k_quants_q4_K(const block_q4_K *b, uint8_t u[QK_K]) {
    for (int e = 0; e < QK_K; e++) u[e] = (uint8_t)k_nibble(b->qs, e);
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_q4_K(const block_q4_K *b, int c) {
    return k_bits(k_load32(b->qs + 32 * (c / 2)), 4 * (c % 2), 0xF);
}

/* Q5_K: Q4_K's nibble plus 16 * bit e/32 of qh[e % 32]. */
K_INLINE void k_hdr_q5_K(const block_q5_K *b, k_hdr *h) { k4_hdr(b->d, b->dmin, b->scales, h); }

static void k_quants_q5_K(const block_q5_K *b, uint8_t u[QK_K]) {
    for (int e = 0; e < QK_K; e++)
        u[e] = (uint8_t)(k_nibble(b->qs, e) | ((b->qh[e % 32] >> (e / 32)) & 1) << 4);
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_q5_K(const block_q5_K *b, int c) {
    __m256i hbit = _mm256_slli_epi16(k_bits(k_load32(b->qh), c, 1), 4);
    return _mm256_or_si256(k_bits(k_load32(b->qs + 32 * (c / 2)), 4 * (c % 2), 0xF), hbit);
}

/* Q6_K: int8 scale per group; in each half h of 128 elements, element
 * 128h + 32j + l has its low 4 bits in ql[64h + 32(j%2) + l] (low nibble for
 * j < 2, high for j >= 2) and its high 2 bits at bits 2j of qh[32h + l];
 * quant = those 6 bits - 32. */
K_INLINE void k_hdr_q6_K(const block_q6_K *b, k_hdr *h) {
    h->d = b->d;
    h->dmin = 0;
    h->off = 32;
    memcpy(h->sc, b->scales, sizeof h->sc);
    h->mn[0] = h->mn[1] = 0;
}

static void k_quants_q6_K(const block_q6_K *b, uint8_t u[QK_K]) {
    for (int e = 0; e < QK_K; e++) {
        int half = e / 128, j = e % 128 / 32, l = e % 32;
        int lo = (b->ql[64 * half + 32 * (j % 2) + l] >> (4 * (j / 2))) & 0xF;
        int hi = (b->qh[32 * half + l] >> (2 * j)) & 3;
        u[e] = (uint8_t)(lo | hi << 4);
    }
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_q6_K(const block_q6_K *b, int c) {
    int half = c / 4, j = c % 4;
    __m256i lo = k_bits(k_load32(b->ql + 64 * half + 32 * (j % 2)), 4 * (j / 2), 0xF);
    __m256i hi = _mm256_slli_epi16(k_bits(k_load32(b->qh + 32 * half), 2 * j, 3), 4);
    return _mm256_or_si256(lo, hi);
}

/* ------------------------------------------------ type-generic dispatch */

/* The switches below fold away: every caller is inlined into a per-type
 * wrapper with a constant type. */
K_INLINE size_t k_block_bytes(dc_type t) {
    switch (t) {
    case DC_TYPE_Q2_K: return sizeof(block_q2_K);
    case DC_TYPE_Q3_K: return sizeof(block_q3_K);
    case DC_TYPE_Q4_K: return sizeof(block_q4_K);
    case DC_TYPE_Q5_K: return sizeof(block_q5_K);
    default: return sizeof(block_q6_K);
    }
}

K_INLINE void k_hdr_any(dc_type t, const void *b, k_hdr *h) {
    switch (t) {
    case DC_TYPE_Q2_K: k_hdr_q2_K(b, h); break;
    case DC_TYPE_Q3_K: k_hdr_q3_K(b, h); break;
    case DC_TYPE_Q4_K: k_hdr_q4_K(b, h); break;
    case DC_TYPE_Q5_K: k_hdr_q5_K(b, h); break;
    default: k_hdr_q6_K(b, h); break;
    }
}

K_INLINE void k_quants_any(dc_type t, const void *b, uint8_t u[QK_K]) {
    switch (t) {
    case DC_TYPE_Q2_K: k_quants_q2_K(b, u); break;
    case DC_TYPE_Q3_K: k_quants_q3_K(b, u); break;
    case DC_TYPE_Q4_K: k_quants_q4_K(b, u); break;
    case DC_TYPE_Q5_K: k_quants_q5_K(b, u); break;
    default: k_quants_q6_K(b, u); break;
    }
}

K_TARGET_AVX2 K_INLINE __m256i k_chunk_any(dc_type t, const void *b, int c) {
    switch (t) {
    case DC_TYPE_Q2_K: return k_chunk_q2_K(b, c);
    case DC_TYPE_Q3_K: return k_chunk_q3_K(b, c);
    case DC_TYPE_Q4_K: return k_chunk_q4_K(b, c);
    case DC_TYPE_Q5_K: return k_chunk_q5_K(b, c);
    default: return k_chunk_q6_K(b, c);
    }
}

/* ------------------------------------------------ the float steps
 *
 * Inside a super-block everything is integer, exact in any order; only the
 * float steps decide the bits, and they are llama.cpp's. Every level
 * computes the same integers (k_lanes_*) and then runs one of two float
 * sequences, written once in scalar C (fmaf is the fused multiply-add the
 * SIMD kernels use, so all levels agree bit for bit):
 *
 * vec_dot - ggml_vec_dot_qN_K_q8_K, AVX2 branch (ggml-cpu/arch/x86/quants.c;
 * the AVX-512 build runs it too). The integer sum sits in 8 int32 lanes,
 * lane k holding the elements e with (e % 32) / 4 == k (madd of maddubs over
 * each chunk of 32 quants, zero point taken out per int16 pair);
 * acc[k] = fma(d, (float)lane[k], acc[k]) with d = y.d * x.d, and at the end
 * the lanes are summed as hsum_float_8 does. The min terms, with
 * dmin = -y.d * x.dmin and pair(g) = mn[g] * bsums[g] + mn[g+1] * bsums[g+1]:
 *   Q2_K: before the quants, acc[k] = fma(dmin, pair(2k), acc[k]);
 *   Q4_K: 4 more lanes am[k] = fma(dmin, pair(4k) + pair(4k+2), am[k]),
 *         added after the hsum as (am0 + am2) + (am1 + am3);
 *   Q5_K: summs = fma(dmin, sum of all pairs, summs) (ggml's
 *         "summs += dmin * isum", which GCC contracts), added at the end.
 *
 * chain - ggml_gemv / ggml_gemm_q4_K_8x8_q8_K and _q2_K_8x8_q8_K
 * (ggml-cpu/arch/x86/repack.cpp), which ggml-cpu/repack.cpp picks for 2-D
 * (MUL_MAT) and 3-D (MUL_MAT_ID) weights with ne[1] % 8 == 0: Q4_K on AVX2,
 * Q2_K on AVX-512. Per output acc = fma((float)isum, x.d * y.d, acc) and
 * accm = fma((float)(sum of the min terms), x.dmin * y.d, accm) over the
 * super-blocks; the result is acc - accm.
 */

K_INLINE int k_min_pair(const k_hdr *h, const block_q8_K *y, int g) {
    return k_group(h->mn, g) * y->bsums[g] + k_group(h->mn, g + 1) * y->bsums[g + 1];
}

K_INLINE int k_min_total(const k_hdr *h, const block_q8_K *y) {
    int sum = 0;
    for (int g = 0; g < K_GROUPS; g += 2) sum += k_min_pair(h, y, g);
    return sum;
}

typedef struct {
    float acc[8];  /* the quant lanes (and Q2_K's min lanes) */
    float accm[4]; /* Q4_K's min lanes */
    float summs;   /* Q5_K's min sum */
} k_vacc;

K_INLINE void k_vacc_block(dc_type t, k_vacc *a, const k_hdr *h, const block_q8_K *y, const int32_t lane[8]) {
    const float d = y->d * dc_fp16_to_fp32(h->d), dmin = -y->d * dc_fp16_to_fp32(h->dmin);
    if (t == DC_TYPE_Q2_K)
        for (int k = 0; k < 8; k++) a->acc[k] = fmaf(dmin, (float)k_min_pair(h, y, 2 * k), a->acc[k]);
    if (t == DC_TYPE_Q4_K)
        for (int k = 0; k < 4; k++)
            a->accm[k] = fmaf(dmin, (float)(k_min_pair(h, y, 4 * k) + k_min_pair(h, y, 4 * k + 2)), a->accm[k]);
    if (t == DC_TYPE_Q5_K) a->summs = fmaf(dmin, (float)k_min_total(h, y), a->summs);
    for (int k = 0; k < 8; k++) a->acc[k] = fmaf(d, (float)lane[k], a->acc[k]);
}

/* hsum_float_8: ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)) */
K_INLINE float k_vacc_sum(dc_type t, const k_vacc *a) {
    float half[4];
    for (int k = 0; k < 4; k++) half[k] = a->acc[k + 4] + a->acc[k];
    float sum = (half[0] + half[2]) + (half[1] + half[3]);
    if (t == DC_TYPE_Q4_K) sum += (a->accm[0] + a->accm[2]) + (a->accm[1] + a->accm[3]);
    if (t == DC_TYPE_Q5_K) sum += a->summs;
    return sum;
}

typedef struct {
    float acc, accm;
} k_chain;

K_INLINE void k_chain_block(k_chain *c, const k_hdr *h, const block_q8_K *y, const int32_t lane[8]) {
    int isum = 0;
    for (int k = 0; k < 8; k++) isum += lane[k];
    c->acc = fmaf((float)isum, dc_fp16_to_fp32(h->d) * y->d, c->acc);
    c->accm = fmaf((float)k_min_total(h, y), dc_fp16_to_fp32(h->dmin) * y->d, c->accm);
}

/* The 8 int32 lanes of one super-block (layout above); the SIMD levels
 * compute them in a register (k_lanes_avx2 / k_lanes_avx512) and run the
 * vector twins of the float steps further down. */
typedef void (*k_lanes_fn)(dc_type t, const void *b, const k_hdr *h, const int8_t *q8, int32_t lane[8]);

/* The reference row drivers, inlined into each per-type entry. */
K_INLINE float k_dot_with(dc_type t, int64_t n, const void *vx, const block_q8_K *y, k_lanes_fn lanes) {
    k_vacc a = {{0}, {0}, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const void *b = (const char *)vx + i * k_block_bytes(t);
        k_hdr h;
        int32_t lane[8];
        k_hdr_any(t, b, &h);
        lanes(t, b, &h, y[i].qs, lane);
        k_vacc_block(t, &a, &h, &y[i], lane);
    }
    return k_vacc_sum(t, &a);
}

K_INLINE float k_chain_with(dc_type t, int64_t n, const void *vx, const block_q8_K *y, k_lanes_fn lanes) {
    k_chain c = {0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const void *b = (const char *)vx + i * k_block_bytes(t);
        k_hdr h;
        int32_t lane[8];
        k_hdr_any(t, b, &h);
        lanes(t, b, &h, y[i].qs, lane);
        k_chain_block(&c, &h, &y[i], lane);
    }
    return c.acc - c.accm;
}

/* ------------------------------------------------------ scalar reference */

K_INLINE void k_to_float(dc_type t, const void *vx, float *y, int64_t n) {
    const char *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const void *b = x + i * k_block_bytes(t);
        k_hdr h;
        uint8_t u[QK_K];
        k_hdr_any(t, b, &h);
        k_quants_any(t, b, u);
        const float d = dc_fp16_to_fp32(h.d), dmin = dc_fp16_to_fp32(h.dmin);
        for (int g = 0; g < K_GROUPS; g++) {
            const float dl = d * k_group(h.sc, g), ml = dmin * k_group(h.mn, g);
            for (int l = 0; l < 16; l++) *y++ = dl * (float)(u[16 * g + l] - h.off) - ml;
        }
    }
}

K_INLINE void k_lanes_ref(dc_type t, const void *b, const k_hdr *h, const int8_t *q8, int32_t lane[8]) {
    uint8_t u[QK_K];
    k_quants_any(t, b, u);
    for (int k = 0; k < 8; k++) lane[k] = 0;
    for (int e = 0; e < QK_K; e++) lane[e % 32 / 4] += k_group(h->sc, e / 16) * (u[e] - h->off) * q8[e];
}

/* ------------------------------------------------------------------ AVX2 */

/* The header's 16 int8 group values (sc or mn) in one register. */
K_TARGET_AVX2 K_INLINE __m128i k_groups8(const uint64_t w[2]) {
    return _mm_set_epi64x((long long)w[1], (long long)w[0]);
}

/* ... and as 16 int16 lanes. */
K_TARGET_AVX2 K_INLINE __m256i k_widen(const uint64_t w[2]) { return _mm256_cvtepi8_epi16(k_groups8(w)); }

/* Scales of chunk c (groups 2c, 2c+1) as 16 int16, 8 of each, picked from
 * the 16 int8 group scales in sc8. */
K_TARGET_AVX2 K_INLINE __m256i k_scale_pair(__m128i sc8, int c) {
    const unsigned long long bytes = 0x0101010101010101ull;
    const __m128i pick =
        _mm_set_epi64x((long long)(bytes * (unsigned)(2 * c + 1)), (long long)(bytes * (unsigned)(2 * c)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, pick));
}

/* int16 pair sums of (u - off) * q8: maddubs of the unsigned quants, minus
 * maddubs of the zero point (as ggml's Q3_K / Q6_K kernels do). */
K_TARGET_AVX2 K_INLINE __m256i k_pairs_avx2(__m256i u, __m256i q8, int off) {
    const __m256i p = _mm256_maddubs_epi16(u, q8);
    return off ? _mm256_sub_epi16(p, _mm256_maddubs_epi16(_mm256_set1_epi8((char)off), q8)) : p;
}

/* The SIMD lanes functions take ny activation rows (a constant once inlined:
 * 1 for vec_dot, K_ROWS for the multi-row entries): each weight chunk is
 * unpacked once and multiplied with every row, row j getting exactly the
 * integer operations of a single-row call, into lanes[j]. */
K_TARGET_AVX2 K_INLINE void k_lanes_avx2(dc_type t, const void *b, const k_hdr *h, const int8_t *const q8[], int ny,
                                         __m256i lanes[]) {
    const __m128i sc8 = k_groups8(h->sc);
    K_FOR_ROWS(j, ny) lanes[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int c = 0; c < K_CHUNKS; c++) {
        const __m256i u = k_chunk_any(t, b, c), scales = k_scale_pair(sc8, c);
        K_FOR_ROWS(j, ny) {
            const __m256i p = k_pairs_avx2(u, k_load32((const uint8_t *)q8[j] + 32 * c), h->off);
            lanes[j] = _mm256_add_epi32(lanes[j], _mm256_madd_epi16(p, scales));
        }
    }
}

/* --------------------------------------------------------------- AVX-512 */

/* Two chunks (64 weights) per step: maddubs on 512 bits, then the scales of
 * the four groups with one VNNI dpwssd; the two chunks' lanes are added at
 * the end (integers, so the same lanes as AVX2). */
K_TARGET_AVX512 K_INLINE void k_lanes_avx512(dc_type t, const void *b, const k_hdr *h, const int8_t *const q8[],
                                             int ny, __m256i lanes[]) {
    static const int16_t group_of_lane[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                              2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    const __m512i lane_group = _mm512_loadu_si512(group_of_lane);
    const __m512i sc = _mm512_zextsi256_si512(k_widen(h->sc));
    __m512i acc[K_ROWS];
    K_FOR_ROWS(j, ny) acc[j] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < K_CHUNKS; c += 2) {
        const __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(k_chunk_any(t, b, c)), k_chunk_any(t, b, c + 1), 1);
        const __m512i group = _mm512_add_epi16(lane_group, _mm512_set1_epi16((short)(2 * c)));
        const __m512i scales = _mm512_permutexvar_epi16(group, sc);
        K_FOR_ROWS(j, ny) {
            const __m512i a = _mm512_loadu_si512(q8[j] + 32 * c);
            __m512i p = _mm512_maddubs_epi16(w, a);
            if (h->off) p = _mm512_sub_epi16(p, _mm512_maddubs_epi16(_mm512_set1_epi8((char)h->off), a));
            acc[j] = _mm512_dpwssd_epi32(acc[j], p, scales);
        }
    }
    K_FOR_ROWS(j, ny) lanes[j] = _mm256_add_epi32(_mm512_castsi512_si256(acc[j]), _mm512_extracti64x4_epi64(acc[j], 1));
}

/* ------------------------------------------- the float steps, in vectors
 *
 * Twins of k_vacc_block / k_vacc_sum / k_chain_block, operation for
 * operation: _mm256_fmadd_ps is fmaf in each lane, the integer sums (min
 * pairs via madd, horizontal int adds) are exact in any order, and float
 * additions change only the order of their two operands (a + b == b + a),
 * never the grouping. So the SIMD levels give the reference's bits. */

/* 8 int32 lanes, lane j = k_min_pair(h, y, 2j). */
K_TARGET_AVX2 K_INLINE __m256i k_min_pairs(const k_hdr *h, const block_q8_K *y) {
    return _mm256_madd_epi16(k_widen(h->mn), _mm256_loadu_si256((const __m256i *)y->bsums));
}

K_TARGET_AVX2 K_INLINE int k_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* (fp16(h.d) * yd, fp16(h.dmin) * ydm, 0, 0), F16C conversion inline. */
K_TARGET_AVX2 K_INLINE __m128 k_scales2(const k_hdr *h, float yd, float ydm) {
    const __m128 hd = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h->d | (uint32_t)h->dmin << 16)));
    return _mm_mul_ps(hd, _mm_setr_ps(yd, ydm, 0, 0));
}

typedef struct {
    __m256 acc;   /* k_vacc.acc */
    __m128 accm;  /* k_vacc.accm */
    __m128 summs; /* k_vacc.summs in lane 0 */
} k_vacc_v;

K_TARGET_AVX2 K_INLINE void k_vacc_block_v(dc_type t, k_vacc_v *a, const k_hdr *h, const block_q8_K *y,
                                           __m256i lanes) {
    const __m128 s = k_scales2(h, y->d, -y->d); /* d, dmin */
    if (t == DC_TYPE_Q2_K || t == DC_TYPE_Q4_K || t == DC_TYPE_Q5_K) {
        const __m128 dmin = _mm_movehdup_ps(s); /* lane 1 into lane 0 (and 1) */
        const __m256i pairs = k_min_pairs(h, y);
        if (t == DC_TYPE_Q2_K)
            a->acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dmin), _mm256_cvtepi32_ps(pairs), a->acc);
        if (t == DC_TYPE_Q4_K) { /* lane k: pair(4k) + pair(4k+2) */
            const __m128i p4 = _mm_hadd_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
            a->accm = _mm_fmadd_ps(_mm_broadcastss_ps(dmin), _mm_cvtepi32_ps(p4), a->accm);
        }
        if (t == DC_TYPE_Q5_K)
            a->summs = _mm_fmadd_ss(dmin, _mm_cvtsi32_ss(_mm_setzero_ps(), k_hsum_i32(pairs)), a->summs);
    }
    a->acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(s), _mm256_cvtepi32_ps(lanes), a->acc);
}

K_TARGET_AVX2 K_INLINE float k_vacc_sum_v(dc_type t, const k_vacc_v *a) {
    /* half[k] = acc[k + 4] + acc[k]; (half0 + half2) + (half1 + half3) */
    const __m128 half = _mm_add_ps(_mm256_extractf128_ps(a->acc, 1), _mm256_castps256_ps128(a->acc));
    const __m128 q = _mm_add_ps(half, _mm_movehl_ps(half, half));
    __m128 sum = _mm_add_ss(q, _mm_movehdup_ps(q));
    if (t == DC_TYPE_Q4_K) { /* (am0 + am2) + (am1 + am3) */
        const __m128 m = _mm_add_ps(a->accm, _mm_movehl_ps(a->accm, a->accm));
        sum = _mm_add_ss(sum, _mm_add_ss(m, _mm_movehdup_ps(m)));
    }
    if (t == DC_TYPE_Q5_K) sum = _mm_add_ss(sum, a->summs);
    return _mm_cvtss_f32(sum);
}

/* chain: lanes 0, 1 of *c are k_chain.acc, .accm */
K_TARGET_AVX2 K_INLINE void k_chain_block_v(__m128 *c, const k_hdr *h, const block_q8_K *y, __m256i lanes) {
    /* [isum, min total] in lanes 0, 1 (and again in 2, 3) */
    const __m256i v = _mm256_hadd_epi32(lanes, k_min_pairs(h, y));
    __m128i w = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    w = _mm_hadd_epi32(w, w);
    *c = _mm_fmadd_ps(_mm_cvtepi32_ps(w), k_scales2(h, y->d, y->d), *c);
}

/* Row drivers per SIMD level (the lanes function has the level's target):
 * s[j] = the dot of weight row vx with activation row y[j], j < ny. Each
 * super-block's header and quants are unpacked once for all ny rows; every
 * row then runs its own float steps, so each s[j] has the bits of a ny = 1
 * call. */
#define K_SIMD_DRIVERS(LV, TARGET)                                                                                   \
    TARGET K_INLINE void k_dot_##LV(dc_type t, int64_t n, float *s, const void *vx, const block_q8_K *const y[],     \
                                    int ny) {                                                                        \
        k_vacc_v a[K_ROWS];                                                                                          \
        K_FOR_ROWS(j, ny) a[j] = (k_vacc_v){_mm256_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};                \
        for (int64_t i = 0; i < n / QK_K; i++) {                                                                     \
            const void *b = (const char *)vx + i * k_block_bytes(t);                                                 \
            k_hdr h;                                                                                                 \
            const int8_t *q8[K_ROWS];                                                                                \
            __m256i lanes[K_ROWS];                                                                                   \
            k_hdr_any(t, b, &h);                                                                                     \
            K_FOR_ROWS(j, ny) q8[j] = y[j][i].qs;                                                                    \
            k_lanes_##LV(t, b, &h, q8, ny, lanes);                                                                   \
            K_FOR_ROWS(j, ny) k_vacc_block_v(t, &a[j], &h, &y[j][i], lanes[j]);                                      \
        }                                                                                                            \
        K_FOR_ROWS(j, ny) s[j] = k_vacc_sum_v(t, &a[j]);                                                             \
    }                                                                                                                \
    TARGET K_INLINE void k_chain_##LV(dc_type t, int64_t n, float *s, const void *vx, const block_q8_K *const y[],   \
                                      int ny) {                                                                      \
        __m128 c[K_ROWS];                                                                                            \
        K_FOR_ROWS(j, ny) c[j] = _mm_setzero_ps();                                                                   \
        for (int64_t i = 0; i < n / QK_K; i++) {                                                                     \
            const void *b = (const char *)vx + i * k_block_bytes(t);                                                 \
            k_hdr h;                                                                                                 \
            const int8_t *q8[K_ROWS];                                                                                \
            __m256i lanes[K_ROWS];                                                                                   \
            k_hdr_any(t, b, &h);                                                                                     \
            K_FOR_ROWS(j, ny) q8[j] = y[j][i].qs;                                                                    \
            k_lanes_##LV(t, b, &h, q8, ny, lanes);                                                                   \
            K_FOR_ROWS(j, ny) k_chain_block_v(&c[j], &h, &y[j][i], lanes[j]);                                        \
        }                                                                                                            \
        K_FOR_ROWS(j, ny) s[j] = _mm_cvtss_f32(_mm_sub_ss(c[j], _mm_movehdup_ps(c[j])));                             \
    }

K_SIMD_DRIVERS(avx2, K_TARGET_AVX2)
K_SIMD_DRIVERS(avx512, K_TARGET_AVX512)

/* ------------------------------------------------------ per-type entries */

/* Activation rows y, y + stride, ... as block pointers for the drivers. */
static inline void k_rows(const void *y, size_t stride, int ny, const block_q8_K *rows[]) {
    for (int j = 0; j < ny; j++) rows[j] = (const void *)((const char *)y + (size_t)j * stride);
}

/* Per level: the single-row dot (dc_vec_dot_fn) and its K_ROWS-row twin
 * (dc_vec_dot_x4_fn), both instances of the one driver DRIVER_LV. */
#define K_LEVEL_FUNCS(name, TYPE, DRIVER, LV, TARGET)                                                          \
    TARGET static void name##_##LV(int64_t n, float *s, const void *x, const void *y) {                       \
        const block_q8_K *rows[1] = {y};                                                                       \
        DRIVER##_##LV(TYPE, n, s, x, rows, 1);                                                                 \
    }                                                                                                          \
    TARGET static void name##_x4_##LV(int64_t n, float *s, const void *x, const void *y, size_t stride) {     \
        const block_q8_K *rows[K_ROWS];                                                                        \
        k_rows(y, stride, K_ROWS, rows);                                                                       \
        DRIVER##_##LV(TYPE, n, s, x, rows, K_ROWS);                                                            \
    }

#define K_TYPE_FUNCS(name, TYPE)                                                                \
    static void name##_to_float(const void *x, float *y, int64_t n) { k_to_float(TYPE, x, y, n); } \
    static void name##_dot_ref(int64_t n, float *s, const void *x, const void *y) {              \
        *s = k_dot_with(TYPE, n, x, y, k_lanes_ref);                                            \
    }                                                                                           \
    K_LEVEL_FUNCS(name##_dot, TYPE, k_dot, avx2, K_TARGET_AVX2)                                 \
    K_LEVEL_FUNCS(name##_dot, TYPE, k_dot, avx512, K_TARGET_AVX512)

/* The repacked-kernel order (types llama.cpp repacks on x86). */
#define K_CHAIN_FUNCS(name, TYPE)                                                                  \
    static void name##_chain_ref(int64_t n, float *s, const void *x, const void *y) {               \
        *s = k_chain_with(TYPE, n, x, y, k_lanes_ref);                                             \
    }                                                                                              \
    K_LEVEL_FUNCS(name##_chain, TYPE, k_chain, avx2, K_TARGET_AVX2)                                \
    K_LEVEL_FUNCS(name##_chain, TYPE, k_chain, avx512, K_TARGET_AVX512)

K_TYPE_FUNCS(q2_K, DC_TYPE_Q2_K)
K_TYPE_FUNCS(q3_K, DC_TYPE_Q3_K)
K_TYPE_FUNCS(q4_K, DC_TYPE_Q4_K)
K_TYPE_FUNCS(q5_K, DC_TYPE_Q5_K)
K_TYPE_FUNCS(q6_K, DC_TYPE_Q6_K)
K_CHAIN_FUNCS(q2_K, DC_TYPE_Q2_K)
K_CHAIN_FUNCS(q4_K, DC_TYPE_Q4_K)

void dc_quant_fill_k(dc_type_traits t[DC_TYPE_COUNT], int level) {
    static const struct {
        dc_type type;
        dc_to_float_fn to_float;
        dc_vec_dot_fn dot[3];       /* by level */
        dc_vec_dot_x4_fn dot_x4[3]; /* by level; none for the reference */
    } k[] = {
        {DC_TYPE_Q2_K, q2_K_to_float, {q2_K_dot_ref, q2_K_dot_avx2, q2_K_dot_avx512},
         {NULL, q2_K_dot_x4_avx2, q2_K_dot_x4_avx512}},
        {DC_TYPE_Q3_K, q3_K_to_float, {q3_K_dot_ref, q3_K_dot_avx2, q3_K_dot_avx512},
         {NULL, q3_K_dot_x4_avx2, q3_K_dot_x4_avx512}},
        {DC_TYPE_Q4_K, q4_K_to_float, {q4_K_dot_ref, q4_K_dot_avx2, q4_K_dot_avx512},
         {NULL, q4_K_dot_x4_avx2, q4_K_dot_x4_avx512}},
        {DC_TYPE_Q5_K, q5_K_to_float, {q5_K_dot_ref, q5_K_dot_avx2, q5_K_dot_avx512},
         {NULL, q5_K_dot_x4_avx2, q5_K_dot_x4_avx512}},
        {DC_TYPE_Q6_K, q6_K_to_float, {q6_K_dot_ref, q6_K_dot_avx2, q6_K_dot_avx512},
         {NULL, q6_K_dot_x4_avx2, q6_K_dot_x4_avx512}},
    };
    const int lv = level < 0 ? 0 : level > 2 ? 2 : level;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        t[k[i].type].to_float = k[i].to_float;
        t[k[i].type].vec_dot_type = DC_TYPE_Q8_K;
        t[k[i].type].vec_dot = k[i].dot[lv];
        t[k[i].type].vec_dot_x4 = k[i].dot_x4[lv];
    }
    /* llama.cpp repacks Q4_K from AVX2 on and Q2_K from AVX-512 on (see the
     * chain order above); the reference table stays plain. */
    static const dc_vec_dot_fn q4_K_chain[3] = {q4_K_chain_ref, q4_K_chain_avx2, q4_K_chain_avx512};
    static const dc_vec_dot_fn q2_K_chain[3] = {q2_K_chain_ref, q2_K_chain_avx2, q2_K_chain_avx512};
    static const dc_vec_dot_x4_fn q4_K_chain_x4[3] = {NULL, q4_K_chain_x4_avx2, q4_K_chain_x4_avx512};
    static const dc_vec_dot_x4_fn q2_K_chain_x4[3] = {NULL, q2_K_chain_x4_avx2, q2_K_chain_x4_avx512};
    t[DC_TYPE_Q4_K].vec_dot_repack = lv >= 1 ? q4_K_chain[lv] : NULL;
    t[DC_TYPE_Q2_K].vec_dot_repack = lv >= 2 ? q2_K_chain[lv] : NULL;
    t[DC_TYPE_Q4_K].vec_dot_repack_x4 = lv >= 1 ? q4_K_chain_x4[lv] : NULL;
    t[DC_TYPE_Q2_K].vec_dot_repack_x4 = lv >= 2 ? q2_K_chain_x4[lv] : NULL;
    /* ggml's x86 backend quantizes Q8_K with the reference at every level. */
    t[DC_TYPE_Q8_K].to_float = dequantize_row_q8_K;
    t[DC_TYPE_Q8_K].from_float = quantize_row_q8_K;
}
