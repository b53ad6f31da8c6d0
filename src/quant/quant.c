/* quant.c - the table of ggml type ids, SIMD level selection, fp16/bf16.
 *
 * type_info lists every ggml type id 0..39 with ggml's name and block
 * geometry (removed ids have no name). dc_quant_init() detects the CPU's SIMD
 * level once (pthread_once) and builds one traits table per level the CPU can
 * run: each starts from type_info and the block-family files fill in their
 * function pointers for that level (see quant_impl.h). dc_type_get answers
 * from the table of the detected level, dc_type_get_ref from level 0 (the
 * scalar references), the *_variant functions from the level asked for.
 *
 * The fp16/bf16 conversions are scalar bit manipulation, rounding to nearest
 * even and giving the same bits as x86 F16C (fp16) and ggml's
 * GGML_FP32_TO_BF16 (bf16), subnormals, infinities and NaNs included.
 */
#include "quant/quant_impl.h"

#include <cpuid.h>
#include <pthread.h>
#include <string.h>

#define DC_LEVELS 3 /* 0 = scalar, 1 = AVX2, 2 = AVX-512 */

static const struct {
    const char *name;
    int64_t block_size;
    size_t type_size;
} type_info[DC_TYPE_COUNT] = {
    [DC_TYPE_F32] = {"f32", 1, 4},
    [DC_TYPE_F16] = {"f16", 1, 2},
    [DC_TYPE_Q4_0] = {"q4_0", 32, 18},
    [DC_TYPE_Q4_1] = {"q4_1", 32, 20},
    [DC_TYPE_Q5_0] = {"q5_0", 32, 22},
    [DC_TYPE_Q5_1] = {"q5_1", 32, 24},
    [DC_TYPE_Q8_0] = {"q8_0", 32, 34},
    [DC_TYPE_Q8_1] = {"q8_1", 32, 36},
    [DC_TYPE_Q2_K] = {"q2_K", 256, 84},
    [DC_TYPE_Q3_K] = {"q3_K", 256, 110},
    [DC_TYPE_Q4_K] = {"q4_K", 256, 144},
    [DC_TYPE_Q5_K] = {"q5_K", 256, 176},
    [DC_TYPE_Q6_K] = {"q6_K", 256, 210},
    [DC_TYPE_Q8_K] = {"q8_K", 256, 292},
    [DC_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66},
    [DC_TYPE_IQ2_XS] = {"iq2_xs", 256, 74},
    [DC_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98},
    [DC_TYPE_IQ1_S] = {"iq1_s", 256, 50},
    [DC_TYPE_IQ4_NL] = {"iq4_nl", 32, 18},
    [DC_TYPE_IQ3_S] = {"iq3_s", 256, 110},
    [DC_TYPE_IQ2_S] = {"iq2_s", 256, 82},
    [DC_TYPE_IQ4_XS] = {"iq4_xs", 256, 136},
    [DC_TYPE_I8] = {"i8", 1, 1},
    [DC_TYPE_I16] = {"i16", 1, 2},
    [DC_TYPE_I32] = {"i32", 1, 4},
    [DC_TYPE_I64] = {"i64", 1, 8},
    [DC_TYPE_F64] = {"f64", 1, 8},
    [DC_TYPE_IQ1_M] = {"iq1_m", 256, 56},
    [DC_TYPE_BF16] = {"bf16", 1, 2},
    [DC_TYPE_TQ1_0] = {"tq1_0", 256, 54},
    [DC_TYPE_TQ2_0] = {"tq2_0", 256, 66},
    [DC_TYPE_MXFP4] = {"mxfp4", 32, 17},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int cpu_level;
static dc_type_traits tables[DC_LEVELS][DC_TYPE_COUNT];

static int detect_level(void) {
    unsigned a, b, c, d;
    __builtin_cpu_init();
    /* __builtin_cpu_supports has no "f16c" in clang 14; ask cpuid directly. */
    const int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
    if (!f16c || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni"))
        return 2;
    return 1;
}

static void fill_table(dc_type_traits t[DC_TYPE_COUNT], int level) {
    for (int id = 0; id < DC_TYPE_COUNT; id++) {
        t[id] = (dc_type_traits){
            .name = type_info[id].name,
            .block_size = type_info[id].block_size,
            .type_size = type_info[id].type_size,
            .vec_dot_type = (dc_type)id,
        };
    }
    dc_quant_fill_float(t, level);
    dc_quant_fill_legacy(t, level);
    dc_quant_fill_k(t, level);
    dc_quant_fill_iq4(t, level);
}

static void init_tables(void) {
    cpu_level = detect_level();
    for (int level = 0; level <= cpu_level; level++)
        fill_table(tables[level], level);
}

void dc_quant_init(void) {
    pthread_once(&init_once, init_tables);
}

int dc_simd_level(void) {
    dc_quant_init();
    return cpu_level;
}

static const dc_type_traits *table_entry(uint32_t type, int level) {
    dc_quant_init();
    if (type >= DC_TYPE_COUNT || !tables[level][type].name)
        return NULL;
    return &tables[level][type];
}

const dc_type_traits *dc_type_get(uint32_t type) {
    dc_quant_init(); /* cpu_level is read below, before table_entry runs */
    return table_entry(type, cpu_level);
}

const dc_type_traits *dc_type_get_ref(uint32_t type) {
    return table_entry(type, 0);
}

size_t dc_row_size(uint32_t type, int64_t n) {
    const dc_type_traits *t = dc_type_get_ref(type);
    return t ? t->type_size * (size_t)(n / t->block_size) : 0;
}

static const dc_type_traits *variant_entry(uint32_t type, int level) {
    dc_quant_init();
    if (level < 1 || level > cpu_level)
        return NULL;
    return table_entry(type, level);
}

dc_vec_dot_fn dc_vec_dot_variant(uint32_t type, int level) {
    const dc_type_traits *t = variant_entry(type, level);
    return t ? t->vec_dot : NULL;
}

dc_vec_dot_fn dc_vec_dot_repack_variant(uint32_t type, int level) {
    const dc_type_traits *t = variant_entry(type, level);
    return t ? t->vec_dot_repack : NULL;
}

dc_vec_dot_x4_fn dc_vec_dot_x4_variant(uint32_t type, int level) {
    const dc_type_traits *t = variant_entry(type, level);
    return t ? t->vec_dot_x4 : NULL;
}

dc_vec_dot_x4_fn dc_vec_dot_repack_x4_variant(uint32_t type, int level) {
    const dc_type_traits *t = variant_entry(type, level);
    return t ? t->vec_dot_repack_x4 : NULL;
}

dc_from_float_fn dc_from_float_variant(uint32_t type, int level) {
    const dc_type_traits *t = variant_entry(type, level);
    return t ? t->from_float : NULL;
}

/* ---- IEEE half / bfloat16 ---------------------------------------------- */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* v >> shift, rounded to nearest, ties to even (1 <= shift < 32). */
static uint32_t shift_round_even(uint32_t v, int shift) {
    const uint32_t q = v >> shift;
    const uint32_t rem = v & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

float dc_fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) /* inf, or NaN made quiet as F16C does */
        return f32_from_bits(sign | 0x7f800000 | (mant ? 0x400000 : 0) | (mant << 13));
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float */
        const float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t dc_fp32_to_fp16(float f) {
    const uint32_t u = f32_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7fffffff;
    if (a > 0x7f800000) /* NaN: quiet, top payload bits kept */
        return sign | 0x7e00 | ((a >> 13) & 0x3ff);
    if (a >= 0x477ff000) /* >= 65520 rounds to inf (65504 is odd) */
        return sign | 0x7c00;
    if (a >= 0x38800000) /* normal half: rebias exponent, round 13 bits away */
        return sign | (uint16_t)shift_round_even(a - 0x38000000, 13);
    const uint32_t e = a >> 23;
    if (e < 102) /* below 2^-25: rounds to zero */
        return sign;
    /* subnormal half: value in units of 2^-24 is m * 2^(e - 126) */
    const uint32_t m = (a & 0x7fffff) | 0x800000;
    return sign | (uint16_t)shift_round_even(m, (int)(126 - e));
}

float dc_bf16_to_fp32(uint16_t h) {
    return f32_from_bits((uint32_t)h << 16);
}

uint16_t dc_fp32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) /* NaN: keep it, make it quiet */
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
