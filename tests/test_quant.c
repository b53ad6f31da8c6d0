/* test_quant.c - the element-type table, conversions, dequantization and dot
 * products of src/quant.
 *
 * What it checks:
 *   - the type table: every ggml id's name and block geometry (from an
 *     independent list below), removed / out-of-range ids, dc_row_size;
 *   - fp16 / bf16 conversions against known bit patterns (normals, 65504,
 *     subnormals, ties to even, overflow, inf, NaN);
 *   - to_float of hand-built blocks against values worked out from the block
 *     format definitions (not from the code under test), and the Q8_0 / Q8_1
 *     quantizers on hand-built blocks: rounding ties (to even), a multiplier
 *     of 127 / amax (ggml x86, not 1 / d), s = fp16(d * sum q) with d
 *     unrounded;
 *   - generically, for every type of the table that has a vec_dot (so the
 *     K-quants and IQ4 types are covered as soon as they are filled in), on
 *     random rows of 1, 3, 7 and 17 blocks:
 *       (a) every SIMD vec_dot variant equals the reference up to summation
 *           order: |simd - ref| <= 1e-4 * sum |w_i * a_i|;
 *       (d) the reference equals dequantize-then-dot in double within
 *           1e-5 * sum |w_i * a_i|;
 *       the best to_float equals the reference to_float;
 *     and for every activation format (types with from_float):
 *       (b) SIMD quantizers give byte-identical blocks to the reference. No
 *           rounding-tie slack is allowed: the references round exactly as
 *           the SIMD code does (nearest even), and the activation rows
 *           contain a block made of exact ties to prove it.
 */
#include "check.h"
#include "quant/blocks.h"
#include "quant/quant.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* uniform in [-1, 1) */
static float rnd_unit(void) {
    return (float)((double)rnd32() / 2147483648.0 - 1.0);
}

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

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- the table ---------------------------------------------------------- */

static void test_table(void) {
    static const struct {
        uint32_t id;
        const char *name;
        int64_t bs;
        size_t ts;
    } want[] = {
        {0, "f32", 1, 4},         {1, "f16", 1, 2},         {2, "q4_0", 32, 18},     {3, "q4_1", 32, 20},
        {6, "q5_0", 32, 22},      {7, "q5_1", 32, 24},      {8, "q8_0", 32, 34},     {9, "q8_1", 32, 36},
        {10, "q2_K", 256, 84},    {11, "q3_K", 256, 110},   {12, "q4_K", 256, 144},  {13, "q5_K", 256, 176},
        {14, "q6_K", 256, 210},   {15, "q8_K", 256, 292},   {16, "iq2_xxs", 256, 66}, {17, "iq2_xs", 256, 74},
        {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},   {20, "iq4_nl", 32, 18},  {21, "iq3_s", 256, 110},
        {22, "iq2_s", 256, 82},   {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},        {25, "i16", 1, 2},
        {26, "i32", 1, 4},        {27, "i64", 1, 8},        {28, "f64", 1, 8},       {29, "iq1_m", 256, 56},
        {30, "bf16", 1, 2},       {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66},  {39, "mxfp4", 32, 17},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const dc_type_traits *t = dc_type_get(want[k].id);
        const dc_type_traits *r = dc_type_get_ref(want[k].id);
        CHECKF(t && r, "id %u", want[k].id);
        if (!t || !r)
            continue;
        CHECKF(strcmp(t->name, want[k].name) == 0, "id %u: %s", want[k].id, t->name);
        CHECKF(t->block_size == want[k].bs && t->type_size == want[k].ts, "%s", t->name);
        CHECKF(r->block_size == want[k].bs && r->type_size == want[k].ts, "%s", r->name);
    }
    static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, UINT32_MAX};
    for (size_t k = 0; k < sizeof removed / sizeof removed[0]; k++) {
        CHECKF(dc_type_get(removed[k]) == NULL && dc_type_get_ref(removed[k]) == NULL, "id %u", removed[k]);
        CHECKF(dc_row_size(removed[k], 256) == 0, "id %u", removed[k]);
    }
    CHECK(dc_row_size(DC_TYPE_F32, 10) == 40);
    CHECK(dc_row_size(DC_TYPE_Q4_0, 64) == 36);
    CHECK(dc_row_size(DC_TYPE_Q6_K, 512) == 420);
    /* compute support of this part's types */
    static const uint32_t computable[] = {DC_TYPE_F32, DC_TYPE_F16, DC_TYPE_BF16, DC_TYPE_Q4_0,
                                          DC_TYPE_Q4_1, DC_TYPE_Q5_0, DC_TYPE_Q5_1, DC_TYPE_Q8_0};
    for (size_t k = 0; k < sizeof computable / sizeof computable[0]; k++) {
        const dc_type_traits *t = dc_type_get(computable[k]);
        CHECKF(t->to_float && t->vec_dot, "%s", t->name);
    }
    CHECK(dc_type_get(DC_TYPE_Q4_0)->vec_dot_type == DC_TYPE_Q8_0);
    CHECK(dc_type_get(DC_TYPE_Q5_0)->vec_dot_type == DC_TYPE_Q8_0);
    CHECK(dc_type_get(DC_TYPE_Q8_0)->vec_dot_type == DC_TYPE_Q8_0);
    CHECK(dc_type_get(DC_TYPE_Q4_1)->vec_dot_type == DC_TYPE_Q8_1);
    CHECK(dc_type_get(DC_TYPE_Q5_1)->vec_dot_type == DC_TYPE_Q8_1);
    CHECK(dc_type_get(DC_TYPE_F16)->vec_dot_type == DC_TYPE_F16);
    CHECK(dc_type_get(DC_TYPE_BF16)->vec_dot_type == DC_TYPE_BF16);
    CHECK(dc_type_get(DC_TYPE_F32)->vec_dot_type == DC_TYPE_F32);
    CHECK(dc_type_get(DC_TYPE_Q8_0)->from_float && dc_type_get(DC_TYPE_Q8_1)->from_float);
    CHECK(dc_type_get(DC_TYPE_Q4_0)->from_float == NULL);
    CHECK(dc_vec_dot_variant(DC_TYPE_Q4_0, 0) == NULL && dc_vec_dot_variant(DC_TYPE_Q4_0, 3) == NULL);
    CHECK(dc_vec_dot_variant(4, 1) == NULL && dc_from_float_variant(4, 1) == NULL);
}

/* ---- fp16 / bf16 ---------------------------------------------------------- */

static void test_half_conversions(void) {
    static const struct {
        float f;
        uint16_t h;
    } to_half[] = {
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {65504.0f, 0x7bff},
        {65519.99f, 0x7bff},       /* just below the tie with 65536: stays finite */
        {65520.0f, 0x7c00},        /* tie between 65504 (odd) and 2^16: to inf */
        {1e6f, 0x7c00},
        {0x1p-24f, 0x0001},        /* smallest subnormal */
        {0x1p-25f, 0x0000},        /* half of it: tie, rounds to even 0 */
        {0x1.8p-25f, 0x0001},      /* 0.75 ulp: rounds up */
        {0x1.8p-24f, 0x0002},      /* 1.5 ulp: tie, rounds to even 2 */
        {0x1.4p-23f, 0x0002},      /* 2.5 ulp: tie, rounds to even 2 */
        {0x1p-14f, 0x0400},        /* smallest normal */
        {0x1.ffcp-15f, 0x0400},    /* 1023.5 subnormal ulps: tie, carries into the exponent */
        {1.0f + 0x1p-11f, 0x3c00}, /* tie: even (down) */
        {1.0f + 0x1.8p-10f, 0x3c02}, /* tie: even (up) */
        {1.0f + 0x1.2p-11f, 0x3c01}, /* above the tie */
        {0.1f, 0x2e66},
    };
    for (size_t k = 0; k < sizeof to_half / sizeof to_half[0]; k++)
        CHECKF(dc_fp32_to_fp16(to_half[k].f) == to_half[k].h, "%a -> 0x%04x, want 0x%04x", (double)to_half[k].f,
               dc_fp32_to_fp16(to_half[k].f), to_half[k].h);
    CHECK(dc_fp32_to_fp16(INFINITY) == 0x7c00);
    CHECK(dc_fp32_to_fp16(-INFINITY) == 0xfc00);
    const uint16_t hn = dc_fp32_to_fp16(NAN);
    CHECKF((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0, "NaN -> 0x%04x", hn);
    /* a signalling NaN comes out quiet, like F16C */
    CHECK(dc_fp32_to_fp16(f32_from_bits(0x7f800001)) == 0x7e00);

    CHECK(dc_fp16_to_fp32(0x3c00) == 1.0f);
    CHECK(dc_fp16_to_fp32(0x7bff) == 65504.0f);
    CHECK(dc_fp16_to_fp32(0x0001) == 0x1p-24f);
    CHECK(dc_fp16_to_fp32(0x03ff) == 1023.0f * 0x1p-24f);
    CHECK(dc_fp16_to_fp32(0x8001) == -0x1p-24f);
    CHECK(f32_bits(dc_fp16_to_fp32(0x8000)) == 0x80000000u);
    CHECK(dc_fp16_to_fp32(0x7c00) == INFINITY);
    CHECK(dc_fp16_to_fp32(0xfc00) == -INFINITY);
    CHECK(isnan(dc_fp16_to_fp32(0x7e00)) && isnan(dc_fp16_to_fp32(0x7c01)));
    /* every finite half survives the round trip */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++)
        if ((h & 0x7c00) != 0x7c00 && dc_fp32_to_fp16(dc_fp16_to_fp32((uint16_t)h)) != h)
            bad++;
    CHECKF(bad == 0, "%d halves do not round-trip", bad);

    CHECK(dc_fp32_to_bf16(1.0f) == 0x3f80);
    CHECK(dc_fp32_to_bf16(-2.0f) == 0xc000);
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x3f808000)) == 0x3f80); /* tie: even (down) */
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x3f818000)) == 0x3f82); /* tie: even (up) */
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x3f808001)) == 0x3f81); /* above the tie */
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x7f7fffff)) == 0x7f80); /* max float rounds to inf */
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x00018000)) == 0x0002); /* subnormal tie, kept (not flushed) */
    CHECK(dc_fp32_to_bf16(INFINITY) == 0x7f80);
    CHECK(dc_fp32_to_bf16(-INFINITY) == 0xff80);
    CHECK(dc_fp32_to_bf16(f32_from_bits(0x7f800001)) == 0x7fc0); /* NaN stays NaN, made quiet */
    CHECK(dc_fp32_to_bf16(f32_from_bits(0xffc12345)) == 0xffc1);
    CHECK(dc_bf16_to_fp32(0x3f80) == 1.0f);
    CHECK(dc_bf16_to_fp32(0x4049) == 3.140625f);
    CHECK(dc_bf16_to_fp32(0xff80) == -INFINITY);
}

/* ---- hand-built blocks ------------------------------------------------------ */

/* to_float of one block of `type` must give want[0..n). */
static void check_block(uint32_t type, const void *block, const float *want, int n) {
    const dc_type_traits *variants[2] = {dc_type_get_ref(type), dc_type_get(type)};
    for (int v = 0; v < 2; v++) {
        float got[32];
        variants[v]->to_float(block, got, n);
        for (int j = 0; j < n; j++)
            CHECKF(got[j] == want[j], "%s element %d: %g, want %g", variants[v]->name, j, (double)got[j],
                   (double)want[j]);
    }
}

/* Nibble j of the test pattern: element j (j < 16) low nibble j, element
 * j + 16 high nibble 15 - j. Fifth bits: 0x55, 0x55, 0xaa, 0xaa, i.e.
 * even elements of the first half, odd elements of the second half. */
static int test_nibble(int e) { return e < 16 ? e : 15 - (e - 16); }
static int test_fifth_bit(int e) { return e < 16 ? (e % 2 == 0) : (e % 2 == 1); }

static void test_known_blocks(void) {
    uint8_t qs[16];
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(j | ((15 - j) << 4));
    const uint8_t qh[4] = {0x55, 0x55, 0xaa, 0xaa};
    float want[32];

    block_q4_0 q40 = {.d = 0x3800}; /* d = 0.5: x = 0.5 * (q - 8) */
    memcpy(q40.qs, qs, 16);
    for (int e = 0; e < 32; e++)
        want[e] = 0.5f * (float)(test_nibble(e) - 8);
    check_block(DC_TYPE_Q4_0, &q40, want, 32);

    block_q4_1 q41 = {.d = 0x3400, .m = 0xbc00}; /* d = 0.25, m = -1: x = 0.25 * q - 1 */
    memcpy(q41.qs, qs, 16);
    for (int e = 0; e < 32; e++)
        want[e] = 0.25f * (float)test_nibble(e) - 1.0f;
    check_block(DC_TYPE_Q4_1, &q41, want, 32);

    block_q5_0 q50 = {.d = 0x4000}; /* d = 2: x = 2 * (q - 16) */
    memcpy(q50.qs, qs, 16);
    memcpy(q50.qh, qh, 4);
    for (int e = 0; e < 32; e++)
        want[e] = 2.0f * (float)(test_nibble(e) + 16 * test_fifth_bit(e) - 16);
    check_block(DC_TYPE_Q5_0, &q50, want, 32);

    block_q5_1 q51 = {.d = 0x3800, .m = 0x3e00}; /* d = 0.5, m = 1.5 */
    memcpy(q51.qs, qs, 16);
    memcpy(q51.qh, qh, 4);
    for (int e = 0; e < 32; e++)
        want[e] = 0.5f * (float)(test_nibble(e) + 16 * test_fifth_bit(e)) + 1.5f;
    check_block(DC_TYPE_Q5_1, &q51, want, 32);

    block_q8_0 q80 = {.d = 0x3000}; /* d = 0.125 */
    for (int e = 0; e < 32; e++) {
        q80.qs[e] = (int8_t)(8 * e - 128);
        want[e] = 0.125f * (float)(8 * e - 128);
    }
    check_block(DC_TYPE_Q8_0, &q80, want, 32);

    block_q8_1 q81 = {.d = 0x2c00, .s = 0x7777}; /* d = 0.0625; s plays no part in to_float */
    for (int e = 0; e < 32; e++) {
        q81.qs[e] = (int8_t)(127 - 8 * e);
        want[e] = 0.0625f * (float)(127 - 8 * e);
    }
    check_block(DC_TYPE_Q8_1, &q81, want, 32);

    const uint16_t f16[6] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000, 0x3555};
    const float f16_want[6] = {1.0f, -2.0f, 0x1p-24f, 65504.0f, -0.0f, 0.333251953125f};
    check_block(DC_TYPE_F16, f16, f16_want, 6);
    const uint16_t bf16[4] = {0x3f80, 0xc040, 0x4049, 0x0001};
    const float bf16_want[4] = {1.0f, -3.0f, 3.140625f, 0x1p-133f};
    check_block(DC_TYPE_BF16, bf16, bf16_want, 4);
    const float f32[3] = {1.5f, -0.0f, 0x1p-149f};
    check_block(DC_TYPE_F32, f32, f32, 3);
}

/* A block whose largest magnitude is 127, so the quantizer's multiplier is
 * exactly 1 and q = x rounded: x_j = j + 0.5 are ties, to even. */
static void test_q8_quantizers_on_ties(void) {
    float x[32];
    int8_t want[32];
    int sum = 127;
    x[0] = 127.0f;
    want[0] = 127;
    for (int j = 1; j < 32; j++) {
        x[j] = (j % 3 == 0 ? -1.0f : 1.0f) * ((float)j + 0.5f);
        const int even = j % 2 == 0 ? j : j + 1; /* j + 0.5 to even */
        want[j] = (int8_t)(j % 3 == 0 ? -even : even);
        sum += want[j];
    }
    for (int level = 0; level <= 2; level++) {
        dc_from_float_fn q80 = level ? dc_from_float_variant(DC_TYPE_Q8_0, level) : dc_type_get_ref(DC_TYPE_Q8_0)->from_float;
        dc_from_float_fn q81 = level ? dc_from_float_variant(DC_TYPE_Q8_1, level) : dc_type_get_ref(DC_TYPE_Q8_1)->from_float;
        if (!q80 || !q81)
            continue;
        block_q8_0 b0;
        block_q8_1 b1;
        q80(x, &b0, 32);
        q81(x, &b1, 32);
        CHECKF(b0.d == 0x3c00 && b1.d == 0x3c00, "level %d: d 0x%04x 0x%04x", level, b0.d, b1.d);
        CHECKF(memcmp(b0.qs, want, 32) == 0 && memcmp(b1.qs, want, 32) == 0, "level %d: ties", level);
        CHECKF(b1.s == dc_fp32_to_fp16((float)sum), "level %d: s 0x%04x, sum %d", level, b1.s, sum);
    }
}

/* Q8_1's s is fp16(d * sum(q)) with d = amax / 127 before its own rounding
 * to fp16 (ggml's x86 quantizer). With amax = 1, pick a sum where using the
 * fp16-rounded d instead would give a different s, and build a block with
 * that sum: x_0 = 1 (q = 127), x_j = q_j / 127 (quantize back to q_j). */
static void test_q8_1_sum_uses_unrounded_d(void) {
    const float d = 1.0f / 127.0f, d_half = dc_fp16_to_fp32(dc_fp32_to_fp16(d));
    int target = 0;
    for (int s = 127; s <= 32 * 127 && !target; s++)
        if (dc_fp32_to_fp16(d * (float)s) != dc_fp32_to_fp16(d_half * (float)s))
            target = s;
    CHECK(target > 0);
    float x[32];
    int8_t q[32];
    int left = target;
    for (int j = 0; j < 32; j++) {
        q[j] = (int8_t)(left < 127 ? left : 127);
        left -= q[j];
        x[j] = (float)q[j] / 127.0f;
    }
    for (int level = 0; level <= 2; level++) {
        dc_from_float_fn f = level ? dc_from_float_variant(DC_TYPE_Q8_1, level) : dc_type_get_ref(DC_TYPE_Q8_1)->from_float;
        if (!f)
            continue;
        block_q8_1 b;
        f(x, &b, 32);
        CHECKF(memcmp(b.qs, q, 32) == 0, "level %d", level);
        CHECKF(b.s == dc_fp32_to_fp16(d * (float)target), "level %d: s 0x%04x for sum %d", level, b.s, target);
    }
}

/* ggml's x86 quantizer multiplies by 127 / amax (its scalar reference by
 * 1 / (amax / 127), which differs in the last bit now and then). Find a block
 * of near-ties where the two multipliers round differently and check that
 * every level follows 127 / amax. */
static void test_q8_multiplier_is_127_over_amax(void) {
    float x[32];
    int8_t want[32];
    int found = 0;
    for (int t = 0; t < 1000 && !found; t++) {
        const float amax = 1.0f + (float)t / 1000.0f;
        const float mult = 127.0f / amax, mult_ref = 1.0f / (amax / 127.0f);
        x[0] = amax;
        want[0] = 127;
        for (int j = 1; j < 32; j++) {
            x[j] = ((float)(j - 16) + 0.5f) * amax / 127.0f;
            want[j] = (int8_t)lrintf(x[j] * mult);
            found |= want[j] != (int8_t)lrintf(x[j] * mult_ref);
        }
    }
    CHECK(found);
    for (int level = 0; level <= 2; level++) {
        dc_from_float_fn f = level ? dc_from_float_variant(DC_TYPE_Q8_0, level) : dc_type_get_ref(DC_TYPE_Q8_0)->from_float;
        if (!f)
            continue;
        block_q8_0 b;
        f(x, &b, 32);
        CHECKF(memcmp(b.qs, want, 32) == 0, "level %d", level);
    }
}

/* ---- generic: every type with compute support ----------------------------- */

/* Row lengths: 1, 3, 7, 17 blocks; float types (block size 1) get lengths
 * that exercise SIMD main loops and tails instead. */
static const int64_t block_counts[] = {1, 3, 7, 17};
static const int64_t float_lengths[] = {1, 3, 7, 17, 31, 64, 100, 257, 1031};

/* Random activations with varied magnitudes; block 1 is all zeros and
 * block 2 is made of exact rounding ties (max 127, others k + 0.5). */
static void make_activations(float *a, int64_t n, int64_t bs) {
    for (int64_t i = 0; i < n; i++) {
        const float scale = ldexpf(1.0f, (int)((i / 32) % 13) - 6);
        a[i] = rnd_unit() * scale;
    }
    if (bs == 1)
        return;
    for (int64_t i = bs; i < 2 * bs && i < n; i++)
        a[i] = 0.0f;
    for (int64_t i = 2 * bs; i < 3 * bs && i < n; i++) {
        const int64_t j = i - 2 * bs;
        a[i] = j == 0 ? 127.0f : (j % 2 ? -1.0f : 1.0f) * ((float)(j % 120) + 0.5f);
    }
}

/* Dequantizes n elements; Q8_K may lack to_float in the table, so it is
 * decoded here from its definition (x = d * q). */
static int dequantize(uint32_t type, const void *data, float *out, int64_t n) {
    const dc_type_traits *t = dc_type_get_ref(type);
    if (t->to_float) {
        t->to_float(data, out, n);
        return 1;
    }
    if (type != DC_TYPE_Q8_K)
        return 0;
    const block_q8_K *b = data;
    for (int64_t i = 0; i < n; i++)
        out[i] = b[i / QK_K].d * (float)b[i / QK_K].qs[i % QK_K];
    return 1;
}

/* Random weight blocks: float types via from_float of random floats, block
 * types from random bytes, each block redrawn until it decodes to finite
 * values of moderate size (random fp16 scales can be inf / NaN / huge). */
static int make_weights(uint32_t type, uint8_t *w, float *wf, int64_t n) {
    const dc_type_traits *t = dc_type_get_ref(type);
    if (t->block_size == 1) {
        for (int64_t i = 0; i < n; i++)
            wf[i] = rnd_unit();
        t->from_float(wf, w, n);
        return dequantize(type, w, wf, n);
    }
    for (int64_t b = 0; b < n / t->block_size; b++) {
        uint8_t *blk = w + b * t->type_size;
        float *vals = wf + b * t->block_size;
        int ok = 0;
        for (int tries = 0; tries < 1000 && !ok; tries++) {
            for (size_t k = 0; k < t->type_size; k++)
                blk[k] = (uint8_t)rnd32();
            if (!dequantize(type, blk, vals, t->block_size))
                return 0;
            ok = 1;
            for (int64_t j = 0; j < t->block_size; j++)
                ok &= isfinite(vals[j]) && fabsf(vals[j]) <= 1e4f;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

/* Q8_1 carries s = fp16(d * sum q) beside d and q; the dot product of a
 * weight type with a minimum m uses m * s where dequantize-then-dot has
 * m * d * sum(q). The difference, per block, for Q4_1 / Q5_1 (whose blocks
 * start with fp16 d, m). */
static double q8_1_sum_correction(uint32_t type, const uint8_t *w, const void *act, int64_t n) {
    if (type != DC_TYPE_Q4_1 && type != DC_TYPE_Q5_1)
        return 0.0;
    const size_t wsize = dc_type_get_ref(type)->type_size;
    const block_q8_1 *y = act;
    double corr = 0.0;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        uint16_t m;
        memcpy(&m, w + b * wsize + 2, sizeof m);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++)
            sum += y[b].qs[j];
        corr += (double)dc_fp16_to_fp32(m) *
                ((double)dc_fp16_to_fp32(y[b].s) - (double)dc_fp16_to_fp32(y[b].d) * sum);
    }
    return corr;
}

static void test_vec_dot_row(uint32_t type, int64_t n) {
    const dc_type_traits *ref = dc_type_get_ref(type);
    const dc_type_traits *act = dc_type_get_ref(ref->vec_dot_type);
    CHECKF(act && act->from_float, "%s: vec_dot_type %u has no quantizer", ref->name, ref->vec_dot_type);
    if (!act || !act->from_float)
        return;
    uint8_t *w = xmalloc(dc_row_size(type, n));
    uint8_t *aq = xmalloc(dc_row_size(ref->vec_dot_type, n));
    float *wf = xmalloc((size_t)n * sizeof(float));
    float *a = xmalloc((size_t)n * sizeof(float));
    float *af = xmalloc((size_t)n * sizeof(float));
    const int ok = make_weights(type, w, wf, n);
    CHECKF(ok, "%s: cannot make weights", ref->name);
    make_activations(a, n, act->block_size);
    act->from_float(a, aq, n);
    CHECKF(dequantize(ref->vec_dot_type, aq, af, n), "%s: cannot dequantize %s", ref->name, act->name);
    if (ok) {
        double exact = q8_1_sum_correction(type, w, aq, n), magnitude = 0.0;
        for (int64_t i = 0; i < n; i++) {
            exact += (double)wf[i] * af[i];
            magnitude += fabs((double)wf[i] * af[i]);
        }
        float r;
        ref->vec_dot(n, &r, w, aq);
        CHECKF(fabs(r - exact) <= 1e-5 * magnitude + 1e-30, "%s n=%lld: ref %.9g, dequantized %.9g (sum|t| %.3g)",
               ref->name, (long long)n, (double)r, exact, magnitude);
        for (int level = 1; level <= 2; level++) {
            dc_vec_dot_fn f = dc_vec_dot_variant(type, level);
            if (!f)
                continue;
            float v;
            f(n, &v, w, aq);
            CHECKF(fabs((double)v - r) <= 1e-4 * magnitude + 1e-30, "%s n=%lld level %d: %.9g, ref %.9g", ref->name,
                   (long long)n, level, (double)v, (double)r);
        }
        /* the best to_float is the reference's up to rounding */
        float *best = xmalloc((size_t)n * sizeof(float));
        dc_type_get(type)->to_float(w, best, n);
        double maxabs = 0.0, maxdiff = 0.0;
        for (int64_t i = 0; i < n; i++) {
            maxabs = fmax(maxabs, fabs(wf[i]));
            maxdiff = fmax(maxdiff, fabs((double)best[i] - wf[i]));
        }
        CHECKF(maxdiff <= 1e-6 * maxabs, "%s n=%lld: to_float differs by %g", ref->name, (long long)n, maxdiff);
        free(best);
    }
    free(w);
    free(aq);
    free(wf);
    free(a);
    free(af);
}

static void test_quantizer_row(uint32_t type, int64_t n) {
    const dc_type_traits *ref = dc_type_get_ref(type);
    const size_t bytes = dc_row_size(type, n);
    float *a = xmalloc((size_t)n * sizeof(float));
    uint8_t *want = xmalloc(bytes), *got = xmalloc(bytes);
    make_activations(a, n, ref->block_size);
    ref->from_float(a, want, n);
    for (int level = 1; level <= 2; level++) {
        dc_from_float_fn f = dc_from_float_variant(type, level);
        if (!f)
            continue;
        memset(got, 0xa5, bytes);
        f(a, got, n);
        CHECKF(memcmp(got, want, bytes) == 0, "%s n=%lld level %d: blocks differ", ref->name, (long long)n, level);
    }
    free(a);
    free(want);
    free(got);
}

/* F16 / BF16: every SIMD narrowing on arbitrary bit patterns (NaN, inf,
 * subnormals, ties) equals the scalar conversion; every half / bf16 pattern
 * widens to the same bits at the best level as in the reference. */
static void test_float_conversions_simd(void) {
    enum { N = 4099 };
    static float x[N];
    static uint16_t want[N], got[N];
    static const uint32_t types[2] = {DC_TYPE_F16, DC_TYPE_BF16};
    for (int i = 0; i < N; i++)
        x[i] = f32_from_bits(rnd32());
    x[0] = f32_from_bits(0x3f808000);
    x[1] = f32_from_bits(0x33000000); /* 2^-25: fp16 tie to 0 */
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++)
            want[i] = types[k] == DC_TYPE_F16 ? dc_fp32_to_fp16(x[i]) : dc_fp32_to_bf16(x[i]);
        for (int level = 1; level <= 2; level++) {
            dc_from_float_fn f = dc_from_float_variant(types[k], level);
            if (!f)
                continue;
            f(x, got, N);
            int bad = 0;
            for (int i = 0; i < N; i++)
                bad += got[i] != want[i];
            CHECKF(bad == 0, "type %u level %d: %d narrowings differ", types[k], level, bad);
        }
        static uint16_t all[0x10000];
        static float wide_ref[0x10000], wide_best[0x10000];
        for (uint32_t h = 0; h < 0x10000; h++)
            all[h] = (uint16_t)h;
        dc_type_get_ref(types[k])->to_float(all, wide_ref, 0x10000);
        dc_type_get(types[k])->to_float(all, wide_best, 0x10000);
        CHECKF(memcmp(wide_ref, wide_best, sizeof wide_ref) == 0, "type %u: widening differs", types[k]);
    }
}

static void test_all_types(void) {
    int dots = 0;
    for (uint32_t type = 0; type < DC_TYPE_COUNT; type++) {
        const dc_type_traits *t = dc_type_get_ref(type);
        if (!t)
            continue;
        const int is_float = t->block_size == 1;
        const int64_t *lengths = is_float ? float_lengths : block_counts;
        const size_t count = is_float ? sizeof float_lengths / sizeof float_lengths[0]
                                       : sizeof block_counts / sizeof block_counts[0];
        for (size_t k = 0; k < count; k++) {
            const int64_t n = is_float ? lengths[k] : lengths[k] * t->block_size;
            if (t->vec_dot)
                test_vec_dot_row(type, n);
            if (t->from_float)
                test_quantizer_row(type, n);
        }
        dots += t->vec_dot != NULL;
        printf("%-8s %s%s\n", t->name, t->vec_dot ? "vec_dot " : "", t->from_float ? "from_float" : "");
    }
    CHECK(dots >= 8);
}

int main(void) {
    test_table();
    test_half_conversions();
    test_known_blocks();
    test_q8_quantizers_on_ties();
    test_q8_1_sum_uses_unrounded_d();
    test_q8_multiplier_is_127_over_amax();
    test_float_conversions_simd();
    test_all_types();
    for (int level = 1; level <= 2; level++)
        printf("level %d: %s\n", level, dc_vec_dot_variant(DC_TYPE_F32, level) ? "tested" : "not available");
    return CHECK_DONE();
}
