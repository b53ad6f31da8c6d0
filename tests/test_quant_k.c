/* test_quant_k.c - format tests of the K-quants (Q2_K..Q6_K, Q8_K) and of
 * IQ4_NL / IQ4_XS.
 *
 * 1. Layouts: for each type a block is packed here by hand, straight from the
 *    format definition (ggml's layouts), with chosen scales, mins and quants;
 *    to_float must give the values computed here from the same definition.
 * 2. The Q8_K quantizer on hand-made input: scale -127/max of the signed
 *    largest-magnitude element, round half to even, the +-127 ends, an
 *    all-zero block, bsums = sums of each 16 quants.
 * 3. Each reference vec_dot on random blocks against the double-precision dot
 *    of the dequantized weights and activations (1e-5 of sum |w*a|).
 * 4. Each SIMD variant (dc_vec_dot_variant, levels 1 and 2, where the CPU has
 *    them) against the reference on random data with 1, 2, 3, 7 and 13
 *    blocks (float summation-order tolerance; bit-identical for the K-quants,
 *    whose levels share ggml's float steps), and the repacked-kernel order
 *    (dc_vec_dot_repack_variant, Q4_K / Q2_K) against the exact dot, the
 *    same bits at both levels.
 * 5. The 4-row twins of the K-quant SIMD dot products (dc_vec_dot_x4_variant,
 *    dc_vec_dot_repack_x4_variant) on 4 random activation rows at a stride
 *    longer than a row: each result bit for bit the single-row function's.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "quant/blocks.h"
#include "quant/quant.h"

/* fp16 bit patterns of exactly representable scales */
#define H_0_25 0x3400
#define H_0_5 0x3800
#define H_1_5 0x3E00
#define H_2_0 0x4000

static const int kv_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static float rng_unit(void) { return (float)rng_u32() / 4294967296.0f * 2.0f - 1.0f; } /* [-1, 1) */

/* Compares to_float of one block (n elements) with the expected values. */
static void check_dequant(dc_type type, const void *block, const double *expect, int n) {
    float y[QK_K];
    dc_type_get_ref(type)->to_float(block, y, n);
    int bad = 0;
    for (int e = 0; e < n && bad < 5; e++) {
        if (fabs(y[e] - expect[e]) > 1e-6 * fmax(1.0, fabs(expect[e]))) {
            CHECKF(0, "%s element %d: got %.9g, expected %.9g", dc_type_get_ref(type)->name, e, y[e], expect[e]);
            bad++;
        }
    }
}

/* ------------------------------------------------------------ 1. layouts */

/* 2 bits of element e in Q2_K/Q3_K qs: byte 32*(e/128) + e%32, bits 2*((e%128)/32) */
static void put_2bits(uint8_t *qs, int e, int v) {
    qs[32 * (e / 128) + e % 32] |= (uint8_t)(v << (2 * (e % 128 / 32)));
}

/* nibble of element e in Q4_K/Q5_K qs: byte 32*(e/64) + e%32, high nibble when (e%64) >= 32 */
static void put_nibble_k(uint8_t *qs, int e, int v) {
    qs[32 * (e / 64) + e % 32] |= (uint8_t)(v << (4 * (e % 64 / 32)));
}

/* 6-bit scales and mins of Q4_K/Q5_K in 12 bytes */
static void pack_scale_min_k4(uint8_t s[12], const int sc[8], const int mn[8]) {
    memset(s, 0, 12);
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
}

static const int k4_sc[8] = {1, 17, 63, 32, 5, 48, 31, 60};
static const int k4_mn[8] = {0, 63, 16, 9, 40, 2, 33, 47};

static void test_q2_K_layout(void) {
    block_q2_K b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_5;
    b.dmin = H_0_25;
    for (int g = 0; g < 16; g++) b.scales[g] = (uint8_t)(g | (15 - g) << 4);
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 7 + e / 5) % 4, g = e / 16;
        put_2bits(b.qs, e, q);
        expect[e] = 0.5 * g * q - 0.25 * (15 - g);
    }
    check_dequant(DC_TYPE_Q2_K, &b, expect, QK_K);
}

static void test_q3_K_layout(void) {
    block_q3_K b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_5;
    int s6[16];
    for (int g = 0; g < 16; g++) {
        s6[g] = (g * 13 + 5) % 64; /* stored value; the scale is s6 - 32 */
        b.scales[g % 8] |= (uint8_t)((s6[g] & 15) << (g < 8 ? 0 : 4));
        b.scales[8 + g % 4] |= (uint8_t)((s6[g] >> 4) << (2 * (g / 4)));
    }
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 5 + 3) % 8 - 4, u = q + 4;
        put_2bits(b.qs, e, u & 3);
        b.hmask[e % 32] |= (uint8_t)((u >> 2) << (e / 32));
        expect[e] = 0.5 * (s6[e / 16] - 32) * q;
    }
    check_dequant(DC_TYPE_Q3_K, &b, expect, QK_K);
}

static void test_q4_K_layout(void) {
    block_q4_K b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_5;
    b.dmin = H_2_0;
    pack_scale_min_k4(b.scales, k4_sc, k4_mn);
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 3 + e / 7) % 16;
        put_nibble_k(b.qs, e, q);
        expect[e] = 0.5 * k4_sc[e / 32] * q - 2.0 * k4_mn[e / 32];
    }
    check_dequant(DC_TYPE_Q4_K, &b, expect, QK_K);
}

static void test_q5_K_layout(void) {
    block_q5_K b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_5;
    b.dmin = H_2_0;
    pack_scale_min_k4(b.scales, k4_sc, k4_mn);
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 11 + 1 + e / 9) % 32;
        put_nibble_k(b.qs, e, q & 15);
        b.qh[e % 32] |= (uint8_t)((q >> 4) << (e / 32));
        expect[e] = 0.5 * k4_sc[e / 32] * q - 2.0 * k4_mn[e / 32];
    }
    check_dequant(DC_TYPE_Q5_K, &b, expect, QK_K);
}

static void test_q6_K_layout(void) {
    block_q6_K b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_25;
    for (int g = 0; g < 16; g++) b.scales[g] = (int8_t)((g * 37) % 256 - 128);
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 13 + 7 + e / 11) % 64 - 32, u = q + 32;
        int half = e / 128, j = e % 128 / 32, l = e % 32;
        b.ql[64 * half + 32 * (j % 2) + l] |= (uint8_t)((u & 15) << (4 * (j / 2)));
        b.qh[32 * half + l] |= (uint8_t)((u >> 4) << (2 * j));
        expect[e] = 0.25 * b.scales[e / 16] * q;
    }
    check_dequant(DC_TYPE_Q6_K, &b, expect, QK_K);
}

/* run of 32 in Q4_0 nibble order: byte e%16, high nibble for e%32 >= 16 */
static void put_nibble_run(uint8_t *qs, int e, int v) { qs[e % 16] |= (uint8_t)(v << (4 * (e / 16))); }

static void test_iq4_nl_layout(void) {
    block_iq4_nl b;
    double expect[QK4_NL];
    memset(&b, 0, sizeof b);
    b.d = H_1_5;
    for (int e = 0; e < QK4_NL; e++) {
        int q = (e * 5 + 2) % 16;
        put_nibble_run(b.qs, e, q);
        expect[e] = 1.5 * kv_iq4nl[q];
    }
    check_dequant(DC_TYPE_IQ4_NL, &b, expect, QK4_NL);
    for (int i = 0; i < 16; i++) CHECKF(dc_kvalues_iq4nl[i] == kv_iq4nl[i], "kvalues_iq4nl[%d]", i);
}

static void test_iq4_xs_layout(void) {
    static const int ls[8] = {0, 63, 32, 17, 48, 5, 40, 31};
    block_iq4_xs b;
    double expect[QK_K];
    memset(&b, 0, sizeof b);
    b.d = H_0_5;
    for (int ib = 0; ib < 8; ib++) {
        b.scales_l[ib / 2] |= (uint8_t)((ls[ib] & 15) << (4 * (ib % 2)));
        b.scales_h |= (uint16_t)((ls[ib] >> 4) << (2 * ib));
    }
    for (int e = 0; e < QK_K; e++) {
        int q = (e * 7 + 3 + e / 13) % 16;
        put_nibble_run(b.qs + 16 * (e / 32), e % 32, q);
        expect[e] = 0.5 * (ls[e / 32] - 32) * kv_iq4nl[q];
    }
    check_dequant(DC_TYPE_IQ4_XS, &b, expect, QK_K);
}

/* ------------------------------------------------------ 2. Q8_K quantizer */

/* Checks one quantized block against the definition, given its scale. */
static void check_q8_K_block(const block_q8_K *b, const float *x, float iscale) {
    CHECKF(b->d == 1.0f / iscale, "q8_K d %.9g, expected %.9g", b->d, 1.0f / iscale);
    for (int j = 0; j < QK_K; j++) {
        float r = rintf(iscale * x[j]); /* round half to even */
        int q = r > 127 ? 127 : (int)r;
        CHECKF(b->qs[j] == q, "q8_K qs[%d] = %d, expected %d (x = %.9g)", j, b->qs[j], q, x[j]);
    }
    for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int l = 0; l < 16; l++) sum += b->qs[16 * g + l];
        CHECKF(b->bsums[g] == sum, "q8_K bsums[%d] = %d, expected %d", g, b->bsums[g], sum);
    }
}

static void test_q8_K_quantizer(void) {
    const dc_from_float_fn quant = dc_type_get_ref(DC_TYPE_Q8_K)->from_float;
    float x[3 * QK_K];
    block_q8_K y[3];

    /* Block 0: max = -127 first (the later +127 does not replace it), so
     * iscale = 1 and rounding ties are visible. */
    for (int j = 0; j < QK_K; j++) x[j] = (float)((j * 37) % 200 - 100) * 0.37f;
    const float ties[] = {-127.f, 127.f, 2.5f, 3.5f, -2.5f, 0.5f, 1.5f, -0.49f, 126.6f, -126.5f};
    memcpy(x, ties, sizeof ties);
    /* Block 1: positive max in the middle, negative scale. */
    for (int j = 0; j < QK_K; j++) x[QK_K + j] = rng_unit();
    x[QK_K + 77] = 3.0f;
    x[QK_K + 78] = -3.0f;
    /* Block 2: all zero. */
    memset(x + 2 * QK_K, 0, QK_K * sizeof(float));
    memset(y, 0x55, sizeof y);

    quant(x, y, 3 * QK_K);

    check_q8_K_block(&y[0], x, 1.0f);
    CHECK(y[0].qs[0] == -127 && y[0].qs[1] == 127);
    CHECK(y[0].qs[2] == 2 && y[0].qs[3] == 4 && y[0].qs[4] == -2 && y[0].qs[5] == 0 && y[0].qs[6] == 2);
    CHECK(y[0].qs[8] == 127 && y[0].qs[9] == -126);

    check_q8_K_block(&y[1], x + QK_K, -127.f / 3.0f);
    CHECK(y[1].qs[77] == -127 && y[1].qs[78] == 127 && y[1].d < 0);

    CHECK(y[2].d == 0);
    int nonzero = 0;
    for (int j = 0; j < QK_K; j++) nonzero |= y[2].qs[j];
    for (int g = 0; g < 16; g++) nonzero |= y[2].bsums[g];
    CHECK(nonzero == 0);

    /* Dequantization is d * q. */
    float back[QK_K];
    dc_type_get_ref(DC_TYPE_Q8_K)->to_float(&y[1], back, QK_K);
    for (int j = 0; j < QK_K; j++) CHECK(back[j] == y[1].d * y[1].qs[j]);

    /* Any SIMD quantizer must give the same bytes. */
    for (int level = 1; level <= 2; level++) {
        dc_from_float_fn f = dc_from_float_variant(DC_TYPE_Q8_K, level);
        if (!f) continue;
        block_q8_K z[3];
        memset(z, 0x55, sizeof z);
        f(x, z, 3 * QK_K);
        CHECKF(memcmp(y, z, sizeof y) == 0, "q8_K quantizer level %d differs from the reference", level);
    }
}

/* ---------------------------------------------------- 3./4. dot products */

typedef struct {
    dc_type type;
    dc_type act;      /* Q8_K or Q8_0 */
    size_t d_off;     /* fp16 d */
    long dmin_off;    /* fp16 dmin, -1: none */
} dot_case;

static const dot_case dot_cases[] = {
    {DC_TYPE_Q2_K, DC_TYPE_Q8_K, offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)},
    {DC_TYPE_Q3_K, DC_TYPE_Q8_K, offsetof(block_q3_K, d), -1},
    {DC_TYPE_Q4_K, DC_TYPE_Q8_K, offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)},
    {DC_TYPE_Q5_K, DC_TYPE_Q8_K, offsetof(block_q5_K, d), offsetof(block_q5_K, dmin)},
    {DC_TYPE_Q6_K, DC_TYPE_Q8_K, offsetof(block_q6_K, d), -1},
    {DC_TYPE_IQ4_NL, DC_TYPE_Q8_0, offsetof(block_iq4_nl, d), -1},
    {DC_TYPE_IQ4_XS, DC_TYPE_Q8_K, offsetof(block_iq4_xs, d), -1},
};

static void put_fp16(uint8_t *p, float f) {
    uint16_t h = dc_fp32_to_fp16(f);
    memcpy(p, &h, sizeof h);
}

/* Random weights: random bytes everywhere, then sane fp16 scales. */
static void random_weights(const dot_case *c, uint8_t *w, int nblocks) {
    const dc_type_traits *tr = dc_type_get_ref(c->type);
    for (size_t k = 0; k < tr->type_size * (size_t)nblocks; k++) w[k] = (uint8_t)rng_u32();
    for (int i = 0; i < nblocks; i++) {
        uint8_t *b = w + tr->type_size * (size_t)i;
        put_fp16(b + c->d_off, rng_unit() * 0.05f);
        if (c->dmin_off >= 0) put_fp16(b + c->dmin_off, rng_unit() * 0.05f);
    }
}

/* Random activations in the act format and their float values. */
static void random_acts(dc_type act, void *a, float *af, int64_t n) {
    if (act == DC_TYPE_Q8_K) {
        for (int64_t e = 0; e < n; e++) af[e] = rng_unit() * 4.0f;
        dc_type_get_ref(DC_TYPE_Q8_K)->from_float(af, a, n);
        block_q8_K *y = a;
        for (int64_t e = 0; e < n; e++) af[e] = y[e / QK_K].d * y[e / QK_K].qs[e % QK_K];
    } else { /* Q8_0 built by hand: fp16 d, quants in [-127, 127] */
        block_q8_0 *y = a;
        for (int64_t i = 0; i < n / QK8_0; i++) {
            y[i].d = dc_fp32_to_fp16(rng_unit() * 0.03f);
            for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)((int)(rng_u32() % 255) - 127);
        }
        for (int64_t e = 0; e < n; e++) af[e] = dc_fp16_to_fp32(y[e / QK8_0].d) * y[e / QK8_0].qs[e % QK8_0];
    }
}

/* Part 5: the 4-row twin x4 of the single-row dot one, on weights w and 4
 * random Q8_K rows at a padded stride (so the stride, not the row length, is
 * what must step between rows), must give one's bits for every row. */
static void check_x4(const dot_case *c, const char *what, int level, dc_vec_dot_fn one, dc_vec_dot_x4_fn x4,
                     const void *w, int nblocks) {
    const int64_t n = (int64_t)QK_K * nblocks;
    const size_t stride = sizeof(block_q8_K) * (size_t)(nblocks + 1);
    char *a = malloc(stride * 4);
    float *af = malloc(sizeof(float) * (size_t)n);
    if (!a || !af) {
        CHECK(!"out of memory");
        goto out;
    }
    memset(a, 0x55, stride * 4); /* the padding between rows: never read */
    for (int j = 0; j < 4; j++) random_acts(DC_TYPE_Q8_K, a + (size_t)j * stride, af, n);
    float got[4];
    x4(n, got, w, a, stride);
    for (int j = 0; j < 4; j++) {
        float want;
        one(n, &want, w, a + (size_t)j * stride);
        CHECKF(memcmp(&got[j], &want, sizeof want) == 0, "%s x%d level %d %s x4 row %d: %.9g, single %.9g",
               dc_type_get_ref(c->type)->name, nblocks, level, what, j, got[j], want);
    }
out:
    free(a);
    free(af);
}

static void test_dot(const dot_case *c, int nblocks) {
    const dc_type_traits *tr = dc_type_get_ref(c->type);
    const dc_type_traits *ta = dc_type_get_ref(c->act);
    const int64_t n = tr->block_size * nblocks;
    uint8_t *w = malloc(tr->type_size * (size_t)nblocks);
    void *a = malloc(ta->type_size * (size_t)(n / ta->block_size));
    float *wf = malloc(sizeof(float) * (size_t)n), *af = malloc(sizeof(float) * (size_t)n);
    if (!w || !a || !wf || !af) {
        CHECK(!"out of memory");
        goto out;
    }
    CHECKF(tr->vec_dot_type == c->act, "%s vec_dot_type", tr->name);
    random_weights(c, w, nblocks);
    random_acts(c->act, a, af, n);
    tr->to_float(w, wf, n);

    double exact = 0, sumabs = 0;
    for (int64_t e = 0; e < n; e++) {
        exact += (double)wf[e] * af[e];
        sumabs += fabs((double)wf[e] * af[e]);
    }
    float ref;
    tr->vec_dot(n, &ref, w, a);
    CHECKF(fabs(ref - exact) <= 1e-5 * sumabs, "%s x%d: reference %.9g, exact %.9g (sum|.| %.3g)", tr->name,
           nblocks, ref, exact, sumabs);

    const bool k_quant = c->type >= DC_TYPE_Q2_K && c->type <= DC_TYPE_Q6_K;
    float chain_seen = NAN;
    for (int level = 1; level <= 2; level++) {
        dc_vec_dot_fn f = dc_vec_dot_variant(c->type, level);
        if (!f) continue;
        float got;
        f(n, &got, w, a);
        CHECKF(k_quant ? got == ref : fabs(got - ref) <= 1e-6 * sumabs,
               "%s x%d level %d: %.9g, reference %.9g (sum|.| %.3g)", tr->name, nblocks, level, got, ref, sumabs);
        dc_vec_dot_x4_fn f4 = dc_vec_dot_x4_variant(c->type, level);
        CHECKF(!k_quant || f4, "%s level %d: no x4 variant", tr->name, level);
        if (f4) check_x4(c, "vec_dot", level, f, f4, w, nblocks);
        dc_vec_dot_fn g = dc_vec_dot_repack_variant(c->type, level);
        if (!g) continue;
        dc_vec_dot_x4_fn g4 = dc_vec_dot_repack_x4_variant(c->type, level);
        CHECKF(!k_quant || g4, "%s level %d: no repack x4 variant", tr->name, level);
        if (g4) check_x4(c, "repack", level, g, g4, w, nblocks);
        float chain;
        g(n, &chain, w, a);
        CHECKF(fabs(chain - exact) <= 1e-5 * sumabs, "%s x%d level %d repack order: %.9g, exact %.9g", tr->name,
               nblocks, level, chain, exact);
        CHECKF(isnan(chain_seen) || chain == chain_seen, "%s x%d repack order differs between levels", tr->name,
               nblocks);
        chain_seen = chain;
    }
out:
    free(w);
    free(a);
    free(wf);
    free(af);
}

int main(void) {
    dc_quant_init();

    test_q2_K_layout();
    test_q3_K_layout();
    test_q4_K_layout();
    test_q5_K_layout();
    test_q6_K_layout();
    test_iq4_nl_layout();
    test_iq4_xs_layout();
    test_q8_K_quantizer();

    static const int counts[] = {1, 2, 3, 7, 13};
    for (size_t c = 0; c < sizeof dot_cases / sizeof dot_cases[0]; c++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
            for (int rep = 0; rep < 4; rep++) test_dot(&dot_cases[c], counts[k]);

    for (int level = 1; level <= 2; level++)
        printf("level %d SIMD variants: %s\n", level,
               dc_vec_dot_variant(DC_TYPE_Q4_K, level) ? "tested" : "not on this CPU");
    return CHECK_DONE();
}
