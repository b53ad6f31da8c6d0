/* quant.h - tensor element types: block layouts, dequantization, dot products.
 *
 * Type ids are ggml's (they are what GGUF files store; append-only). Every
 * type deepc can compute with has, in one file per block family:
 *   - its block struct (the on-disk layout, defined once),
 *   - a scalar reference: to_float (dequantize) and vec_dot (dot product of
 *     one weight row with one activation row quantized to vec_dot_type),
 *   - SIMD twins (AVX2, AVX-512) of the hot functions, compiled with
 *     __attribute__((target(...))) and picked at run time by dc_quant_init().
 * The references stay in the tree and tests/test_quant.c compares every SIMD
 * variant with them on random data.
 *
 * Exactness: activations are quantized the way ggml's CPU backend does it
 * (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants
 * and IQ4_XS, F16/BF16 for F16/BF16 weights, F32 for F32), with the same
 * rounding, so results match llama.cpp to float-summation-order noise.
 *
 * All functions are pure and thread-safe; rows are contiguous blocks.
 */
#ifndef DC_QUANT_H
#define DC_QUANT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DC_TYPE_F32 = 0,
    DC_TYPE_F16 = 1,
    DC_TYPE_Q4_0 = 2,
    DC_TYPE_Q4_1 = 3,
    /* 4, 5: removed Q4_2 / Q4_3 */
    DC_TYPE_Q5_0 = 6,
    DC_TYPE_Q5_1 = 7,
    DC_TYPE_Q8_0 = 8,
    DC_TYPE_Q8_1 = 9,
    DC_TYPE_Q2_K = 10,
    DC_TYPE_Q3_K = 11,
    DC_TYPE_Q4_K = 12,
    DC_TYPE_Q5_K = 13,
    DC_TYPE_Q6_K = 14,
    DC_TYPE_Q8_K = 15,
    DC_TYPE_IQ2_XXS = 16,
    DC_TYPE_IQ2_XS = 17,
    DC_TYPE_IQ3_XXS = 18,
    DC_TYPE_IQ1_S = 19,
    DC_TYPE_IQ4_NL = 20,
    DC_TYPE_IQ3_S = 21,
    DC_TYPE_IQ2_S = 22,
    DC_TYPE_IQ4_XS = 23,
    DC_TYPE_I8 = 24,
    DC_TYPE_I16 = 25,
    DC_TYPE_I32 = 26,
    DC_TYPE_I64 = 27,
    DC_TYPE_F64 = 28,
    DC_TYPE_IQ1_M = 29,
    DC_TYPE_BF16 = 30,
    /* 31-33: removed Q4_0_4_4 / Q4_0_4_8 / Q4_0_8_8 */
    DC_TYPE_TQ1_0 = 34,
    DC_TYPE_TQ2_0 = 35,
    /* 36-38: removed IQ4_NL_4_4 / _4_8 / _8_8 */
    DC_TYPE_MXFP4 = 39,
    DC_TYPE_COUNT = 40
} dc_type;

typedef void (*dc_to_float_fn)(const void *x, float *y, int64_t n);
typedef void (*dc_from_float_fn)(const float *x, void *y, int64_t n);
/* *s = dot(weight row x, activation row y); n elements, n % block_size == 0,
 * y is in the weight type's vec_dot_type layout. */
typedef void (*dc_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);
/* s[j] = dot(weight row x, activation row (const char *)y + j * y_stride)
 * for j < 4, bit for bit what the matching dc_vec_dot_fn gives for each row;
 * prompt processing uses it to unpack each weight block once for 4 tokens. */
typedef void (*dc_vec_dot_x4_fn)(int64_t n, float *s, const void *x, const void *y, size_t y_stride);

typedef struct {
    const char *name;      /* ggml's name: "f32", "q4_K", "iq4_nl", ... ; NULL: unknown id */
    int64_t block_size;    /* elements per block */
    size_t type_size;      /* bytes per block */
    /* Compute support; NULL where deepc cannot compute with the type. */
    dc_to_float_fn to_float;
    dc_from_float_fn from_float;  /* set for activation formats (F32, F16, BF16, Q8_0, Q8_1, Q8_K) */
    dc_type vec_dot_type;         /* format the activations must be in for vec_dot */
    dc_vec_dot_fn vec_dot;
    /* llama.cpp's x86 CPU backend does not run every product through vec_dot
     * (ggml-cpu/repack.cpp, llamafile/sgemm.cpp); where its kernel sums in
     * another float order, the variant reproducing it (NULL: same as vec_dot):
     *   vec_dot_repack: weights it repacks (AVX2+: Q4_0, IQ4_NL, Q4_K;
     *     AVX-512: Q2_K; with ne[1] % 8 == 0, 2-D MUL_MAT or 3-D
     *     MUL_MAT_ID): one scalar chain per output,
     *     acc = fma((float)isum_block, d_w * d_a, acc) (K-quants: a second
     *     chain for the mins, subtracted at the end);
     *   vec_dot_gemm: other weights times >= 2 activation rows (llamafile
     *     tinyBLAS_Q0_AVX): 8 float lanes fma'd block by block, then hsum. */
    dc_vec_dot_fn vec_dot_repack;
    dc_vec_dot_fn vec_dot_gemm;
    /* 4-row twins of vec_dot / vec_dot_repack (dc_vec_dot_x4_fn; NULL: none,
     * callers then make one call per row). */
    dc_vec_dot_x4_fn vec_dot_x4;
    dc_vec_dot_x4_fn vec_dot_repack_x4;
} dc_type_traits;

/* Selects the SIMD variants for this CPU. Idempotent and thread-safe; called
 * by model loading, tests may call it too. */
void dc_quant_init(void);

/* SIMD level of this CPU: 0 scalar, 1 AVX2+FMA+F16C, 2 AVX-512 (+VNNI). */
int dc_simd_level(void);

/* Traits of a type id with the fastest variants for this CPU (after
 * dc_quant_init), or NULL for an id that is not a known ggml type. Known but
 * unsupported types have a name and sizes but NULL function pointers. */
const dc_type_traits *dc_type_get(uint32_t type);
/* The same with every function the scalar reference. */
const dc_type_traits *dc_type_get_ref(uint32_t type);

/* Bytes of a row of n elements (n % block_size == 0 assumed). */
size_t dc_row_size(uint32_t type, int64_t n);

/* Named SIMD variants, for tests to compare against the reference. Returns
 * NULL when the variant does not exist or the CPU lacks it. level: 1 = AVX2,
 * 2 = AVX-512. */
dc_vec_dot_fn dc_vec_dot_variant(uint32_t type, int level);
dc_vec_dot_fn dc_vec_dot_repack_variant(uint32_t type, int level); /* vec_dot_repack */
dc_vec_dot_x4_fn dc_vec_dot_x4_variant(uint32_t type, int level);        /* vec_dot_x4 */
dc_vec_dot_x4_fn dc_vec_dot_repack_x4_variant(uint32_t type, int level); /* vec_dot_repack_x4 */
dc_from_float_fn dc_from_float_variant(uint32_t type, int level);

/* IEEE half and bfloat16 conversions (round to nearest even; scalar). */
float dc_fp16_to_fp32(uint16_t h);
uint16_t dc_fp32_to_fp16(float f);
float dc_bf16_to_fp32(uint16_t h);
uint16_t dc_fp32_to_bf16(float f);

#endif
