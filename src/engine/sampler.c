/* sampler.c - the sampler chain of sampler.h.
 *
 * How it works: each call copies the logits, penalised, into the candidate
 * scratch (id, logit). Greedy (temp 0) is one argmax pass. Otherwise a
 * binary heap keeps the best top_k candidates (all of them when top_k is
 * off) and heapsort leaves them ordered best-first; top-p and min-p then only
 * shorten that sorted prefix, and the token is drawn from the softmax of the
 * prefix at the requested temperature. Probabilities are computed in double
 * relative to the best logit, so exp never overflows.
 *
 * Penalty bookkeeping: count[id] is the number of occurrences of id among
 * the accepted tokens in the window. For a finite window the ring holds the
 * last penalty_last_n accepted ids and the id falling out of the window is
 * decremented; for penalty_last_n == -1 nothing ever falls out (no ring).
 *
 * Invariants: "better" is a strict total order (higher logit, then lower
 * id), so every selection and sort is deterministic. count[] always equals
 * the multiset of ids in the ring (or of all accepted ids when unbounded).
 * After create, no function allocates.
 */
#include "sampler.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t id;
    float logit;
} dc_cand;

struct dc_sampler {
    dc_sampler_params p;
    int32_t n_vocab;
    dc_cand *cand;     /* [n_vocab] scratch */
    int32_t *count;    /* [n_vocab] occurrences in the penalty window */
    int32_t *ring;     /* [ring_cap] last accepted ids; NULL unless penalty_last_n > 0 */
    int32_t ring_cap, ring_len, ring_head;
    uint64_t rng[4];   /* xoshiro256** state */
};

/* ---- parameters ---- */

dc_sampler_params dc_sampler_default_params(void) {
    return (dc_sampler_params){
        .temp = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .penalty_last_n = 64,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .seed = DC_SAMPLER_DEFAULT_SEED,
    };
}

int dc_sampler_params_check(const dc_sampler_params *p, char err[DC_ERR_LEN]) {
    /* comparisons are written so that NaN fails them */
    if (!(p->temp >= 0 && isfinite(p->temp)))
        return dc_err(err, "sampler: temp must be a finite number >= 0 (got %g)", (double)p->temp), -1;
    if (!(p->top_p > 0 && p->top_p <= 1))
        return dc_err(err, "sampler: top_p must be in (0, 1] (got %g)", (double)p->top_p), -1;
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return dc_err(err, "sampler: min_p must be in [0, 1] (got %g)", (double)p->min_p), -1;
    if (!(p->repeat_penalty > 0 && isfinite(p->repeat_penalty)))
        return dc_err(err, "sampler: repeat_penalty must be a finite number > 0 (got %g)",
                      (double)p->repeat_penalty), -1;
    if (p->penalty_last_n < -1)
        return dc_err(err, "sampler: penalty_last_n must be >= -1 (got %d)", (int)p->penalty_last_n), -1;
    if (!isfinite(p->presence_penalty))
        return dc_err(err, "sampler: presence_penalty must be finite (got %g)",
                      (double)p->presence_penalty), -1;
    if (!isfinite(p->frequency_penalty))
        return dc_err(err, "sampler: frequency_penalty must be finite (got %g)",
                      (double)p->frequency_penalty), -1;
    return 0;
}

/* Signed 32-bit integer from any integer-typed key: 1 found, 0 absent, -1 error. */
static int get_i32(const dc_gguf_file *f, const char *key, int32_t *out, char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    bool is_unsigned = v->type == GGUF_TYPE_UINT8 || v->type == GGUF_TYPE_UINT16 ||
                       v->type == GGUF_TYPE_UINT32 || v->type == GGUF_TYPE_UINT64;
    bool is_signed = v->type == GGUF_TYPE_INT8 || v->type == GGUF_TYPE_INT16 ||
                     v->type == GGUF_TYPE_INT32 || v->type == GGUF_TYPE_INT64;
    if (!is_unsigned && !is_signed)
        return dc_err(err, "%s: key '%s': expected an integer, found %s", dc_gguf_path(f), key,
                      dc_gguf_type_name(v->type)), -1;
    if ((is_unsigned && v->u64 > INT32_MAX) || (is_signed && (v->i64 < INT32_MIN || v->i64 > INT32_MAX)))
        return dc_err(err, "%s: key '%s': value out of range for int32", dc_gguf_path(f), key), -1;
    *out = is_unsigned ? (int32_t)v->u64 : (int32_t)v->i64;
    return 1;
}

int dc_sampler_params_from_gguf(dc_sampler_params *p, const dc_gguf_file *f, char err[DC_ERR_LEN]) {
    const struct { const char *key; float *dst; } floats[] = {
        {"general.sampling.temp", &p->temp},
        {"general.sampling.top_p", &p->top_p},
        {"general.sampling.min_p", &p->min_p},
        {"general.sampling.penalty_repeat", &p->repeat_penalty},
    };
    const struct { const char *key; int32_t *dst; } ints[] = {
        {"general.sampling.top_k", &p->top_k},
        {"general.sampling.penalty_last_n", &p->penalty_last_n},
    };
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        if (dc_gguf_get_f32(f, floats[i].key, floats[i].dst, err) < 0) return -1;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (get_i32(f, ints[i].key, ints[i].dst, err) < 0) return -1;
    return 0;
}

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

/* ---- lifetime ---- */

void dc_sampler_reset(dc_sampler *s) {
    memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->ring_len = s->ring_head = 0;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

dc_sampler *dc_sampler_create(const dc_sampler_params *p, int32_t n_vocab, char err[DC_ERR_LEN]) {
    if (dc_sampler_params_check(p, err) < 0) return NULL;
    if (n_vocab < 1) {
        dc_err(err, "sampler: n_vocab must be >= 1 (got %d)", (int)n_vocab);
        return NULL;
    }
    dc_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        dc_err(err, "sampler: out of memory");
        return NULL;
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    s->ring_cap = p->penalty_last_n > 0 ? p->penalty_last_n : 0;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->count = calloc((size_t)n_vocab, sizeof *s->count);
    s->ring = s->ring_cap ? malloc((size_t)s->ring_cap * sizeof *s->ring) : NULL;
    if (!s->cand || !s->count || (s->ring_cap && !s->ring)) {
        dc_err(err, "sampler: out of memory for n_vocab %d, penalty_last_n %d", (int)n_vocab,
               (int)p->penalty_last_n);
        dc_sampler_free(s);
        return NULL;
    }
    dc_sampler_reset(s);
    return s;
}

void dc_sampler_free(dc_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->count);
    free(s->ring);
    free(s);
}

void dc_sampler_accept(dc_sampler *s, int32_t token) {
    if (token < 0 || token >= s->n_vocab || s->p.penalty_last_n == 0) return;
    if (s->ring_cap) {
        /* while filling, ring_head == ring_len: the slot is free */
        if (s->ring_len == s->ring_cap) s->count[s->ring[s->ring_head]]--;
        else s->ring_len++;
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
    }
    if (s->count[token] < INT32_MAX) s->count[token]++;
}

/* ---- the chain ---- */

static float penalised(const dc_sampler_params *p, float logit, int32_t count) {
    if (count == 0) return logit;
    logit = logit > 0 ? logit / p->repeat_penalty : logit * p->repeat_penalty;
    return logit - p->presence_penalty - (float)count * p->frequency_penalty;
}

/* Fills s->cand with the penalised logits of every token. */
static void load_candidates(dc_sampler *s, const float *logits) {
    for (int32_t i = 0; i < s->n_vocab; i++)
        s->cand[i] = (dc_cand){i, penalised(&s->p, logits[i], s->count[i])};
}

static bool better(dc_cand a, dc_cand b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); }

static int32_t argmax(const dc_cand *c, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (better(c[i], c[best])) best = i;
    return c[best].id;
}

/* Heap of n candidates whose root is the worst one. */
static void sift_down(dc_cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(h[worst], h[l])) worst = l;
        if (r < n && better(h[worst], h[r])) worst = r;
        if (worst == i) return;
        dc_cand t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* Moves the best k of c[0..n) to c[0..k), ordered best-first. 1 <= k <= n. */
static void keep_best_sorted(dc_cand *c, int32_t n, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (better(c[i], c[0])) {
            c[0] = c[i];
            sift_down(c, k, 0);
        }
    }
    for (int32_t end = k - 1; end > 0; end--) { /* heapsort: worst goes last */
        dc_cand t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift_down(c, end, 0);
    }
}

/* Shortest prefix of the sorted c[0..n) whose softmax mass reaches top_p. */
static int32_t top_p_len(const dc_cand *c, int32_t n, double top_p) {
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += exp((double)c[i].logit - c[0].logit);
    double cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)c[i].logit - c[0].logit);
        if (cum >= top_p * total) return i + 1;
    }
    return n;
}

/* Prefix of the sorted c[0..n) with p_i >= min_p * p_max, i.e. exp(l_i - l_max) >= min_p. */
static int32_t min_p_len(const dc_cand *c, int32_t n, double min_p) {
    int32_t len = 1;
    while (len < n && exp((double)c[len].logit - c[0].logit) >= min_p) len++;
    return len;
}

/* Draws from softmax(logit / temp) over the sorted c[0..n). */
static int32_t draw(const dc_cand *c, int32_t n, double temp, uint64_t rng[4]) {
    if (c[0].logit == -INFINITY) return c[0].id;
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += exp(((double)c[i].logit - c[0].logit) / temp);
    double u = rng_uniform(rng) * total, cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp(((double)c[i].logit - c[0].logit) / temp);
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id; /* u within rounding of total */
}

int32_t dc_sampler_sample(dc_sampler *s, const float *logits) {
    const dc_sampler_params *p = &s->p;
    load_candidates(s, logits);
    if (p->temp == 0) return argmax(s->cand, s->n_vocab);
    int32_t n = p->top_k > 0 && p->top_k < s->n_vocab ? p->top_k : s->n_vocab;
    keep_best_sorted(s->cand, s->n_vocab, n);
    if (p->top_p < 1) n = top_p_len(s->cand, n, p->top_p);
    if (p->min_p > 0) n = min_p_len(s->cand, n, p->min_p);
    return draw(s->cand, n, p->temp, s->rng);
}
