/* test_sampler.c - the sampler chain against its definitions.
 *
 * Every expectation is computed here from the definitions (a plain softmax
 * in double, sorting ids by hand), never by the code under test: greedy and
 * ties, top-k / top-p / min-p allowed sets on crafted distributions (with a
 * temperature that would change the set if the chain's order were wrong),
 * empirical frequencies against softmax(logits / temp) within 5 binomial
 * standard deviations, repetition / presence / frequency penalties and their
 * window, seeding and reset, parameter validation, and defaults read from
 * GGUF metadata (a GGUF built in memory).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "engine/sampler.h"

#define N_DRAWS 20000

/* Chain with every filter off: pure softmax(logits / temp). */
static dc_sampler_params plain(float temp) {
    dc_sampler_params p = dc_sampler_default_params();
    p.temp = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static dc_sampler *make(const dc_sampler_params *p, int32_t n_vocab) {
    char err[DC_ERR_LEN] = "";
    dc_sampler *s = dc_sampler_create(p, n_vocab, err);
    CHECKF(s != NULL, "create failed: %s", err);
    if (!s) exit(1);
    return s;
}

/* softmax(l / temp) in double; -INFINITY entries get 0. */
static void softmax(const double *l, int n, double temp, double *out) {
    double max = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) max = l[i] > max ? l[i] : max;
    for (int i = 0; i < n; i++) sum += out[i] = exp((l[i] - max) / temp);
    for (int i = 0; i < n; i++) out[i] /= sum;
}

/* Draws N_DRAWS tokens and checks each count against N*p_i within 5 sigma of
 * the binomial (plus one for the p = 0 / 1 cases); p from expected logits. */
static void check_frequencies(dc_sampler *s, const float *logits, const double *expect_logits, int n,
                              double temp, const char *what) {
    int count[64] = {0};
    double p[64];
    softmax(expect_logits, n, temp, p);
    for (int d = 0; d < N_DRAWS; d++) {
        int32_t t = dc_sampler_sample(s, logits);
        CHECKF(t >= 0 && t < n, "%s: token %d out of range", what, (int)t);
        if (t >= 0 && t < n) count[t]++;
    }
    for (int i = 0; i < n; i++) {
        double mean = N_DRAWS * p[i], sd = sqrt(N_DRAWS * p[i] * (1 - p[i]));
        CHECKF(fabs(count[i] - mean) <= 5 * sd + 1, "%s: token %d drawn %d times, expected %.1f +- %.1f", what, i,
               count[i], mean, sd);
    }
}

/* Set of tokens drawn in N_DRAWS samples as a bitmask (n <= 64). */
static uint64_t drawn_set(dc_sampler *s, const float *logits) {
    uint64_t set = 0;
    for (int d = 0; d < N_DRAWS; d++) set |= 1ull << dc_sampler_sample(s, logits);
    return set;
}

static int32_t sample_once(const dc_sampler_params *p, const float *logits, int32_t n,
                           const int32_t *accepted, int n_accepted) {
    dc_sampler *s = make(p, n);
    for (int i = 0; i < n_accepted; i++) dc_sampler_accept(s, accepted[i]);
    int32_t t = dc_sampler_sample(s, logits);
    dc_sampler_free(s);
    return t;
}

static void test_greedy(void) {
    dc_sampler_params p = plain(0.0f);
    const float a[] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
    CHECK(sample_once(&p, a, 5, NULL, 0) == 1); /* tie 1/3: lowest id */
    const float flat[] = {0.5f, 0.5f, 0.5f};
    CHECK(sample_once(&p, flat, 3, NULL, 0) == 0);
    const float neg[] = {-INFINITY, -3.0f, -INFINITY, -2.5f};
    CHECK(sample_once(&p, neg, 4, NULL, 0) == 3);
    const float all_inf[] = {-INFINITY, -INFINITY};
    CHECK(sample_once(&p, all_inf, 2, NULL, 0) == 0);
    p.top_k = 40; /* the filters do not change greedy */
    p.top_p = 0.5f;
    p.min_p = 0.3f;
    CHECK(sample_once(&p, a, 5, NULL, 0) == 1);
}

/* top_k = 1 with a temperature gives the greedy token, ties included. */
static void test_top_k_one_is_greedy(void) {
    uint64_t x = 12345;
    float logits[300];
    dc_sampler_params g = plain(0.0f), k1 = plain(1.3f);
    k1.top_k = 1;
    dc_sampler *sg = make(&g, 300), *sk = make(&k1, 300);
    for (int row = 0; row < 50; row++) {
        for (int i = 0; i < 300; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            logits[i] = (float)((x >> 40) % 64) * 0.25f; /* coarse: many ties */
        }
        int32_t best = 0;
        for (int i = 1; i < 300; i++)
            if (logits[i] > logits[best]) best = i;
        CHECK(dc_sampler_sample(sg, logits) == best);
        CHECK(dc_sampler_sample(sk, logits) == best);
    }
    dc_sampler_free(sg);
    dc_sampler_free(sk);
}

static void sequence(const dc_sampler_params *p, const float *logits, int n, int32_t *out, int len) {
    dc_sampler *s = make(p, n);
    for (int i = 0; i < len; i++) out[i] = dc_sampler_sample(s, logits);
    dc_sampler_free(s);
}

static void test_seed(void) {
    const float logits[] = {0.1f, 0.2f, 0.0f, 0.3f, -0.1f, 0.15f, 0.05f, 0.25f};
    dc_sampler_params p = plain(1.0f);
    int32_t a[200], b[200], c[200];
    p.seed = 42;
    sequence(&p, logits, 8, a, 200);
    sequence(&p, logits, 8, b, 200);
    p.seed = 43;
    sequence(&p, logits, 8, c, 200);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* two live samplers with one seed: independent states, same sequence */
    dc_sampler *s1 = make(&p, 8), *s2 = make(&p, 8);
    int same = 0;
    for (int i = 0; i < 200; i++) same += dc_sampler_sample(s1, logits) == dc_sampler_sample(s2, logits);
    CHECK(same == 200);
    dc_sampler_free(s1);
    dc_sampler_free(s2);

    /* reset: forgets history and restarts the PRNG */
    p.seed = 42;
    p.repeat_penalty = 3.0f;
    dc_sampler *s = make(&p, 8);
    for (int i = 0; i < 50; i++) dc_sampler_accept(s, dc_sampler_sample(s, logits));
    dc_sampler_reset(s);
    int32_t r[200];
    for (int i = 0; i < 200; i++) r[i] = dc_sampler_sample(s, logits);
    CHECK(memcmp(a, r, sizeof a) == 0);
    dc_sampler_free(s);
}

static void test_temperature_distribution(void) {
    const float logits[] = {0.5f, 1.0f, -0.3f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
    double dl[8];
    for (int i = 0; i < 8; i++) dl[i] = logits[i];
    const float temps[] = {1.0f, 0.7f, 2.5f};
    for (int t = 0; t < 3; t++) {
        dc_sampler_params p = plain(temps[t]);
        p.seed = 1000 + (uint64_t)t;
        dc_sampler *s = make(&p, 8);
        check_frequencies(s, logits, dl, 8, temps[t], "temperature");
        dc_sampler_free(s);
    }
}

/* Ids of the k largest logits, independent of the sampler: repeated argmax. */
static void best_k(const float *l, int n, int k, bool *in) {
    memset(in, 0, (size_t)n * sizeof *in);
    for (int j = 0; j < k; j++) {
        int b = -1;
        for (int i = 0; i < n; i++)
            if (!in[i] && (b < 0 || l[i] > l[b])) b = i;
        in[b] = true;
    }
}

static void test_top_k(void) {
    enum { N = 5000, K = 40 };
    static float logits[N];
    static bool in[N];
    uint64_t x = 777;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        logits[i] = (float)((double)(x >> 11) * 0x1.0p-53 * 8.0 - 4.0);
    }
    best_k(logits, N, K, in);
    dc_sampler_params p = plain(1.5f);
    p.top_k = K;
    dc_sampler *s = make(&p, N);
    int outside = 0, distinct = 0;
    static bool seen[N];
    for (int d = 0; d < 5000; d++) {
        int32_t t = dc_sampler_sample(s, logits);
        outside += !in[t];
        distinct += !seen[t];
        seen[t] = true;
    }
    dc_sampler_free(s);
    CHECKF(outside == 0, "top-k: %d draws outside the %d best", outside, K);
    CHECKF(distinct > 1, "top-k: only %d distinct tokens", distinct);

    /* the kept candidates are renormalised: frequencies follow softmax over the 3 best */
    const float small[] = {0.3f, 2.0f, -1.0f, 1.2f, 1.9f, 0.0f};
    double expect[6];
    bool in3[6];
    best_k(small, 6, 3, in3);
    for (int i = 0; i < 6; i++) expect[i] = in3[i] ? small[i] : -INFINITY;
    dc_sampler_params p3 = plain(0.9f);
    p3.top_k = 3;
    dc_sampler *s3 = make(&p3, 6);
    check_frequencies(s3, small, expect, 6, 0.9, "top-k 3");
    dc_sampler_free(s3);
}

/* Shuffled probabilities, logits = log(p) (softmax at temperature 1 = p). */
static const int SHUF[6] = {3, 0, 5, 1, 4, 2};

static void crafted(const double *probs, int n, float *logits) {
    for (int i = 0; i < n; i++) logits[SHUF[i]] = (float)log(probs[i]);
}

/* Bitmask of ids (after shuffling) whose probabilities are probs[0..m). */
static uint64_t first_ids(int m) {
    uint64_t set = 0;
    for (int i = 0; i < m; i++) set |= 1ull << SHUF[i];
    return set;
}

/* Smallest m with probs[0] + ... + probs[m-1] >= top_p (probs sorted descending). */
static int nucleus_size(const double *probs, int n, double top_p) {
    double cum = 0;
    for (int m = 0; m < n; m++) {
        cum += probs[m];
        if (cum >= top_p) return m + 1;
    }
    return n;
}

static void test_top_p(void) {
    const double probs[6] = {0.4, 0.3, 0.15, 0.1, 0.04, 0.01};
    float logits[6];
    crafted(probs, 6, logits);
    const float tops[] = {0.3f, 0.69f, 0.71f, 0.86f, 0.96f, 1.0f};
    for (int t = 0; t < 6; t++) {
        /* temp 2 after top-p: a nucleus taken at temperature 2 would be larger */
        dc_sampler_params p = plain(2.0f);
        p.top_p = tops[t];
        dc_sampler *s = make(&p, 6);
        uint64_t want = first_ids(nucleus_size(probs, 6, tops[t]));
        uint64_t got = drawn_set(s, logits);
        CHECKF(got == want, "top_p %.2f: drawn set %#llx, expected %#llx", (double)tops[t],
               (unsigned long long)got, (unsigned long long)want);
        dc_sampler_free(s);
    }
    /* top-p renormalises what top-k kept: of the 2 best {0.4, 0.3} the first
     * holds 0.4 / 0.7 = 0.57 >= 0.55 of the mass (but only 0.4 of the whole) */
    dc_sampler_params p = plain(1.0f);
    p.top_k = 2;
    p.top_p = 0.55f;
    dc_sampler *s = make(&p, 6);
    CHECK(drawn_set(s, logits) == first_ids(1));
    dc_sampler_free(s);
}

static void test_min_p(void) {
    const double probs[6] = {0.5, 0.2, 0.1, 0.09, 0.06, 0.05};
    float logits[6];
    crafted(probs, 6, logits);
    const float mins[] = {0.0f, 0.05f, 0.15f, 0.19f, 0.3f, 0.9f};
    for (int t = 0; t < 6; t++) {
        int m = 0;
        while (m < 6 && probs[m] >= mins[t] * probs[0]) m++;
        dc_sampler_params p = plain(2.0f); /* min-p is taken before the temperature */
        p.min_p = mins[t];
        dc_sampler *s = make(&p, 6);
        uint64_t got = drawn_set(s, logits);
        CHECKF(got == first_ids(m), "min_p %.2f: drawn set %#llx, expected %#llx", (double)mins[t],
               (unsigned long long)got, (unsigned long long)first_ids(m));
        dc_sampler_free(s);
    }
}

/* Expected penalised logit, straight from the definitions. */
static double penalised(double l, int count, double rep, double presence, double frequency) {
    if (count == 0) return l;
    l = l > 0 ? l / rep : l * rep;
    return l - presence - count * frequency;
}

static void test_repetition_penalty(void) {
    dc_sampler_params g = plain(0.0f);
    g.repeat_penalty = 2.0f;
    const float pos[] = {1.0f, 0.6f};  /* 1.0 / 2 = 0.5 < 0.6 */
    const float neg[] = {-1.0f, -1.5f}; /* -1.0 * 2 = -2.0 < -1.5 */
    const int32_t zero[] = {0};
    CHECK(sample_once(&g, pos, 2, NULL, 0) == 0);
    CHECK(sample_once(&g, pos, 2, zero, 1) == 1);
    CHECK(sample_once(&g, neg, 2, NULL, 0) == 0);
    CHECK(sample_once(&g, neg, 2, zero, 1) == 1);

    /* window: with last_n 2, token 0 accepted 3 steps ago is no longer penalised */
    const float pos3[] = {1.0f, 0.6f, -5.0f};
    const int32_t hist[] = {0, 2, 2};
    g.penalty_last_n = 2;
    CHECK(sample_once(&g, pos3, 3, hist, 3) == 0);
    g.penalty_last_n = 3;
    CHECK(sample_once(&g, pos3, 3, hist, 3) == 1);
    g.penalty_last_n = -1; /* every accepted token */
    CHECK(sample_once(&g, pos3, 3, hist, 3) == 1);
    g.penalty_last_n = 0; /* off */
    CHECK(sample_once(&g, pos3, 3, hist, 3) == 0);

    /* probabilities at temperature 1 with everything else off */
    const float logits[] = {2.0f, -1.0f, 0.5f, 1.0f, 0.0f};
    const int32_t acc[] = {0, 1, 0, 4, 7, -3}; /* 7 and -3 are out of range: ignored */
    int counts[5] = {2, 1, 0, 0, 1};
    double expect[5];
    for (int i = 0; i < 5; i++) expect[i] = penalised(logits[i], counts[i], 1.7, 0, 0);
    dc_sampler_params p = plain(1.0f);
    p.repeat_penalty = 1.7f;
    dc_sampler *s = make(&p, 5);
    for (int i = 0; i < 6; i++) dc_sampler_accept(s, acc[i]);
    check_frequencies(s, logits, expect, 5, 1.0, "repeat penalty");
    dc_sampler_free(s);
}

static void test_presence_frequency(void) {
    const float logits[] = {2.0f, -1.0f, 0.5f, 1.0f, 0.0f};
    const int32_t acc[] = {0, 0, 0, 3, 1};
    int counts[5] = {3, 1, 0, 1, 0};
    struct { float rep, presence, frequency; } cases[] = {{1.0f, 0.8f, 0.0f}, {1.0f, 0.0f, 0.5f},
                                                          {1.0f, 0.5f, 0.3f}, {1.3f, -0.2f, 0.4f}};
    for (int c = 0; c < 4; c++) {
        double expect[5];
        for (int i = 0; i < 5; i++)
            expect[i] = penalised(logits[i], counts[i], cases[c].rep, cases[c].presence, cases[c].frequency);
        dc_sampler_params p = plain(1.0f);
        p.repeat_penalty = cases[c].rep;
        p.presence_penalty = cases[c].presence;
        p.frequency_penalty = cases[c].frequency;
        p.seed = 77 + (uint64_t)c;
        dc_sampler *s = make(&p, 5);
        for (int i = 0; i < 5; i++) dc_sampler_accept(s, acc[i]);
        check_frequencies(s, logits, expect, 5, 1.0, "presence/frequency");
        dc_sampler_free(s);
    }
    /* greedy sees the shifts exactly: token 0 (logit 1.0) against token 2 (0.75) */
    const float l2[] = {1.0f, 0.0f, 0.75f};
    const int32_t zeros[] = {0, 0, 0};
    dc_sampler_params g = plain(0.0f);
    g.presence_penalty = 0.05f;
    g.frequency_penalty = 0.15f;
    CHECK(sample_once(&g, l2, 3, zeros, 0) == 0);
    CHECK(sample_once(&g, l2, 3, zeros, 1) == 0); /* 1.0 - 0.05 - 0.15 = 0.8 */
    CHECK(sample_once(&g, l2, 3, zeros, 2) == 2); /* 1.0 - 0.05 - 0.30 = 0.65 */
    g.presence_penalty = 0.2f;
    g.frequency_penalty = 0.0f;
    CHECK(sample_once(&g, l2, 3, zeros, 3) == 0); /* presence counts once: 0.8 */
    g.presence_penalty = 0.3f;
    CHECK(sample_once(&g, l2, 3, zeros, 1) == 2); /* 0.7 */
}

static void expect_invalid(dc_sampler_params p, int32_t n_vocab, const char *field) {
    char err[DC_ERR_LEN] = "";
    dc_sampler *s = dc_sampler_create(&p, n_vocab, err);
    CHECKF(s == NULL, "accepted bad %s", field);
    CHECKF(strstr(err, field) != NULL && strchr(err, '\n') == NULL, "message '%s' should name %s", err, field);
    dc_sampler_free(s);
}

static void test_validation(void) {
    dc_sampler_params d = dc_sampler_default_params();
    CHECK(d.temp == 0.8f && d.top_k == 40 && d.top_p == 0.95f && d.min_p == 0.05f);
    CHECK(d.repeat_penalty == 1.0f && d.penalty_last_n == 64 && d.presence_penalty == 0 &&
          d.frequency_penalty == 0);
    char err[DC_ERR_LEN];
    CHECK(dc_sampler_params_check(&d, err) == 0);
    dc_sampler_params p;
    p = d, p.temp = -0.1f, expect_invalid(p, 10, "temp");
    p = d, p.temp = NAN, expect_invalid(p, 10, "temp");
    p = d, p.temp = INFINITY, expect_invalid(p, 10, "temp");
    p = d, p.top_p = 0.0f, expect_invalid(p, 10, "top_p");
    p = d, p.top_p = 1.01f, expect_invalid(p, 10, "top_p");
    p = d, p.min_p = -0.01f, expect_invalid(p, 10, "min_p");
    p = d, p.min_p = 1.5f, expect_invalid(p, 10, "min_p");
    p = d, p.repeat_penalty = 0.0f, expect_invalid(p, 10, "repeat_penalty");
    p = d, p.penalty_last_n = -2, expect_invalid(p, 10, "penalty_last_n");
    p = d, p.presence_penalty = INFINITY, expect_invalid(p, 10, "presence_penalty");
    p = d, p.frequency_penalty = NAN, expect_invalid(p, 10, "frequency_penalty");
    expect_invalid(d, 0, "n_vocab");
    p = d, p.top_k = -5, p.penalty_last_n = -1; /* top_k <= 0 means off; -1 means all */
    dc_sampler *s = dc_sampler_create(&p, 10, err);
    CHECK(s != NULL);
    dc_sampler_free(s);
}

/* ---- a GGUF with sampling metadata, built in memory ---- */

typedef struct {
    uint8_t data[1024];
    size_t len;
} buf;

static void put(buf *b, const void *src, size_t n) {
    memcpy(b->data + b->len, src, n);
    b->len += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); } /* little-endian hosts only */
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_key(buf *b, const char *key, uint32_t type) {
    put_u64(b, strlen(key));
    put(b, key, strlen(key));
    put_u32(b, type);
}
static void header(buf *b, uint64_t n_kv) {
    b->len = 0;
    put(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, 0);
    put_u64(b, n_kv);
}

static void test_gguf_defaults(void) {
    buf b;
    header(&b, 5);
    float f;
    put_key(&b, "general.sampling.temp", GGUF_TYPE_FLOAT32), f = 0.6f, put(&b, &f, 4);
    put_key(&b, "general.sampling.top_k", GGUF_TYPE_INT32), put_u32(&b, 20);
    put_key(&b, "general.sampling.top_p", GGUF_TYPE_FLOAT32), f = 0.9f, put(&b, &f, 4);
    put_key(&b, "general.sampling.penalty_last_n", GGUF_TYPE_INT32), put_u32(&b, (uint32_t)-1);
    put_key(&b, "general.sampling.penalty_repeat", GGUF_TYPE_FLOAT64);
    double rep = 1.1;
    put(&b, &rep, 8);
    char err[DC_ERR_LEN] = "";
    dc_gguf_file *gf = dc_gguf_open_buffer(b.data, b.len, "sampling.gguf", err);
    CHECKF(gf != NULL, "gguf: %s", err);
    if (!gf) return;
    dc_sampler_params p = dc_sampler_default_params();
    CHECKF(dc_sampler_params_from_gguf(&p, gf, err) == 0, "%s", err);
    CHECK(p.temp == 0.6f && p.top_k == 20 && p.top_p == 0.9f && p.penalty_last_n == -1);
    CHECK(p.repeat_penalty == 1.1f);
    CHECK(p.min_p == 0.05f && p.presence_penalty == 0 && p.seed == DC_SAMPLER_DEFAULT_SEED); /* absent: kept */
    dc_gguf_close(gf);

    header(&b, 1);
    put_key(&b, "general.sampling.top_k", GGUF_TYPE_STRING), put_u64(&b, 2), put(&b, "40", 2);
    gf = dc_gguf_open_buffer(b.data, b.len, "bad.gguf", err);
    CHECKF(gf != NULL, "gguf: %s", err);
    if (!gf) return;
    err[0] = 0;
    CHECK(dc_sampler_params_from_gguf(&p, gf, err) == -1);
    CHECKF(strstr(err, "general.sampling.top_k") != NULL, "message: %s", err);
    dc_gguf_close(gf);

    header(&b, 1);
    put_key(&b, "general.sampling.top_k", GGUF_TYPE_UINT64), put_u64(&b, 1ull << 40);
    gf = dc_gguf_open_buffer(b.data, b.len, "big.gguf", err);
    CHECKF(gf != NULL, "gguf: %s", err);
    if (!gf) return;
    CHECK(dc_sampler_params_from_gguf(&p, gf, err) == -1);
    dc_gguf_close(gf);
}

int main(void) {
    test_greedy();
    test_top_k_one_is_greedy();
    test_seed();
    test_temperature_distribution();
    test_top_k();
    test_top_p();
    test_min_p();
    test_repetition_penalty();
    test_presence_frequency();
    test_validation();
    test_gguf_defaults();
    return CHECK_DONE();
}
