/* test_consistency.c - properties of the forward pass that must hold for any
 * model, checked on fixture models through the library API:
 *   1. a prompt processed as one batch and fed one token at a time give the
 *      same logits (within the README's F32 tolerance, 1e-3);
 *   2. 1 and 2 threads give bit-identical logits;
 *   3. two prompts evaluated interleaved in shared batches (two sequences,
 *      mixed batches, then joint decode steps) give the same logits as each
 *      evaluated alone (1e-3);
 *   4. the KV cache holds what the architecture implies per token: for
 *      DeepSeek's latent attention (kv_lora_rank + rope dims) x n_layer
 *      elements, never the expanded heads; for grouped-query attention
 *      n_layer x n_head_kv x (head_dim + head_dim_v) - read from the fixture's
 *      own metadata.
 * Run in both KV-cache modes (F16 default, F32 exact).
 * Prompts are the fixtures' p2_text9 and p3_chat48 token lists. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "deepc.h"
#include "fixture.h"

enum { MAX_TOK = 64, N_GEN = 8 };

typedef struct {
    int32_t toks[MAX_TOK + N_GEN];
    int n;
} prompt;

static deepc_kv_type kv_mode;

static deepc_context *new_ctx(deepc_model *m, int n_seq, int n_threads) {
    char err[DEEPC_ERR_LEN];
    deepc_context_params p = deepc_context_default_params();
    p.n_ctx = 128;
    p.n_seq_max = n_seq;
    p.n_batch = 128;
    p.n_threads = n_threads;
    p.kv_type = kv_mode;
    deepc_context *c = deepc_context_create(m, &p, err);
    CHECKF(c, "%s", err);
    return c;
}

/* Decodes tokens[i] for sequences seqs[i]; copies all logits into out rows. */
static void decode(deepc_context *c, const int32_t *toks, const int32_t *seqs, int n, float *out, int n_vocab) {
    char err[DEEPC_ERR_LEN];
    int8_t want[2 * MAX_TOK];
    memset(want, 1, sizeof want);
    deepc_batch b = {.n_tokens = n, .tokens = toks, .seq = seqs, .logits = want};
    CHECKF(deepc_decode(c, &b, err) == 0, "%s", err);
    for (int i = 0; i < n; i++) memcpy(out + (size_t)i * n_vocab, deepc_get_logits(c, i), sizeof(float) * n_vocab);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Logits of every token of p (prompt + its continuation), alone in one batch. */
static void alone(deepc_model *m, const prompt *p, int n_threads, float *out) {
    deepc_context *c = new_ctx(m, 1, n_threads);
    const int32_t zeros[MAX_TOK + N_GEN] = {0};
    if (c) decode(c, p->toks, zeros, p->n, out, deepc_model_n_vocab(m));
    deepc_context_free(c);
}

static void check_batch_vs_single(deepc_model *m, const char *name, const prompt *p, const float *ref) {
    const int nv = deepc_model_n_vocab(m);
    float *got = malloc(sizeof(float) * (size_t)nv * (size_t)p->n);
    deepc_context *c = new_ctx(m, 1, 2);
    const int32_t zero = 0;
    for (int i = 0; c && i < p->n; i++) decode(c, &p->toks[i], &zero, 1, got + (size_t)i * nv, nv);
    double d = max_diff(got, ref, (size_t)nv * p->n);
    CHECKF(d <= 1e-3, "%s: batch vs one token at a time: max-abs %.3g", name, d);
    printf("%-24s batch vs token-by-token max-abs %.3g\n", name, d);
    deepc_context_free(c);
    free(got);
}

static void check_threads(deepc_model *m, const char *name, const prompt *p, const float *ref2) {
    const int nv = deepc_model_n_vocab(m);
    float *got = malloc(sizeof(float) * (size_t)nv * (size_t)p->n);
    alone(m, p, 1, got);
    CHECKF(memcmp(got, ref2, sizeof(float) * (size_t)nv * p->n) == 0, "%s: -t 1 and -t 2 differ (max-abs %.3g)",
           name, max_diff(got, ref2, (size_t)nv * p->n));
    free(got);
}

/* Prompts a and b in sequences 0 and 1: mixed prefill batches of uneven
 * chunks, then one batch per step holding a token of each. */
static void check_interleaved(deepc_model *m, const char *name, const prompt *a, const float *ref_a, const prompt *b,
                              const float *ref_b, int prompt_a, int prompt_b) {
    const int nv = deepc_model_n_vocab(m);
    float *got = malloc(sizeof(float) * (size_t)nv * 2 * MAX_TOK);
    deepc_context *c = new_ctx(m, 2, 2);
    int ia = 0, ib = 0;
    double worst = 0;
    for (int round = 0; c && (ia < a->n || ib < b->n); round++) {
        int32_t toks[2 * MAX_TOK], seqs[2 * MAX_TOK], src_pos[2 * MAX_TOK];
        int n = 0;
        /* prefill: chunks of 3 from a and 7 from b, alternating order; then 1 each */
        const int take_a = ia < prompt_a ? 3 : 1, take_b = ib < prompt_b ? 7 : 1;
        for (int k = 0; k < take_b && ib < b->n; k++) toks[n] = b->toks[ib], seqs[n] = 1, src_pos[n++] = ib++;
        for (int k = 0; k < take_a && ia < a->n; k++) toks[n] = a->toks[ia], seqs[n] = 0, src_pos[n++] = ia++;
        decode(c, toks, seqs, n, got, nv);
        for (int i = 0; i < n; i++) {
            const float *ref = (seqs[i] ? ref_b : ref_a) + (size_t)src_pos[i] * nv;
            worst = fmax(worst, max_diff(got + (size_t)i * nv, ref, (size_t)nv));
        }
    }
    CHECKF(worst <= 1e-3, "%s: interleaved vs alone: max-abs %.3g", name, worst);
    printf("%-24s interleaved two sequences vs alone max-abs %.3g\n", name, worst);
    deepc_context_free(c);
    free(got);
}

/* Loads prompt `which` of the fixture and appends N_GEN greedy tokens so the
 * decode phase is covered too. */
static bool load_prompt(deepc_model *m, const cJSON *exp, int which, prompt *p) {
    int n;
    int32_t *t = fixture_ints(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "prompts"), which), "tokens"), &n);
    int ng;
    int32_t *g = fixture_ints(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "prompts"), which), "greedy_tokens"), &ng);
    bool ok = n <= MAX_TOK && ng >= N_GEN;
    if (ok) {
        memcpy(p->toks, t, sizeof(int32_t) * n);
        memcpy(p->toks + n, g, sizeof(int32_t) * N_GEN);
        p->n = n + N_GEN;
    }
    (void)m;
    free(t);
    free(g);
    return ok;
}

static int64_t meta_int(const cJSON *meta, const char *arch, const char *key, int64_t dflt) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    const cJSON *v = cJSON_GetObjectItem(meta, full);
    return v ? (int64_t)v->valuedouble : dflt;
}

/* Expected KV floats per token from the fixture's metadata (independent of
 * deepc's loader). */
static void check_kv_size(deepc_model *m, const char *name, const cJSON *exp) {
    const cJSON *meta = cJSON_GetObjectItem(exp, "metadata");
    const char *arch = cJSON_GetObjectItem(meta, "general.architecture")->valuestring;
    const int64_t n_layer = meta_int(meta, arch, "block_count", 0), n_embd = meta_int(meta, arch, "embedding_length", 0);
    const int64_t n_head = meta_int(meta, arch, "attention.head_count", 1);
    int64_t want;
    if (!strcmp(arch, "deepseek2")) {
        want = n_layer * (meta_int(meta, arch, "attention.kv_lora_rank", 0) + meta_int(meta, arch, "rope.dimension_count", 0));
    } else {
        const int64_t hk = meta_int(meta, arch, "attention.key_length", n_embd / n_head);
        const int64_t hv = meta_int(meta, arch, "attention.value_length", hk);
        want = n_layer * meta_int(meta, arch, "attention.head_count_kv", n_head) * (hk + hv);
    }
    CHECKF(deepc_model_kv_floats_per_token(m) == want, "%s: KV floats per token %lld, expected %lld", name,
           (long long)deepc_model_kv_floats_per_token(m), (long long)want);
    deepc_context *c = new_ctx(m, 2, 1);
    const int64_t elt = kv_mode == DEEPC_KV_F16 ? 2 : 4;
    CHECKF(c && deepc_context_kv_bytes(c) == 2 * 128 * want * elt, "%s: context KV bytes %lld, expected %lld", name,
           c ? (long long)deepc_context_kv_bytes(c) : -1LL, (long long)(2 * 128 * want * elt));
    deepc_context_free(c);
    printf("%-24s KV cache elements per token %lld\n", name, (long long)want);
}

static void check_model(const char *name) {
    char rel[256], err[DEEPC_ERR_LEN];
    snprintf(rel, sizeof rel, "models/%s.expected.json", name);
    cJSON *exp = fixture_json(fixture_path(rel));
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    deepc_model *m = deepc_model_load(fixture_path(rel), err);
    CHECKF(m && exp, "%s: %s", name, err);
    prompt a, b;
    if (m && exp && load_prompt(m, exp, 1, &a) && load_prompt(m, exp, 2, &b)) {
        check_kv_size(m, name, exp);
        const size_t nv = (size_t)deepc_model_n_vocab(m);
        float *ref_a = malloc(sizeof(float) * nv * a.n), *ref_b = malloc(sizeof(float) * nv * b.n);
        alone(m, &a, 2, ref_a);
        alone(m, &b, 2, ref_b);
        check_batch_vs_single(m, name, &b, ref_b);
        check_threads(m, name, &b, ref_b);
        check_interleaved(m, name, &a, ref_a, &b, ref_b, a.n - N_GEN, b.n - N_GEN);
        free(ref_a);
        free(ref_b);
    }
    deepc_model_free(m);
    cJSON_Delete(exp);
}

int main(void) {
    const char *models[] = {"tiny-llama-F32",        "tiny-qwen2-Q4_K_M",         "tiny-qwen2-tied-Q8_0",
                            "tiny-qwen3-F32",        "tiny-qwen3-Q4_K_M",         "tiny-qwen3moe-Q4_K_M",
                            "tiny-qwen3moe-F32",     "tiny-deepseek2-lite-Q8_0",  "tiny-deepseek3-F32",
                            "tiny-deepseek3-Q4_K_M", "tiny-deepseek2-lite-F32"};
    const deepc_kv_type modes[] = {DEEPC_KV_F16, DEEPC_KV_F32};
    for (int mi = 0; mi < 2; mi++) {
        kv_mode = modes[mi];
        printf("-- KV cache %s\n", kv_mode == DEEPC_KV_F16 ? "F16" : "F32");
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) check_model(models[i]);
    }
    return CHECK_DONE();
}
