/* test_dense_logits.c - every dense fixture model (tiny-llama*, tiny-qwen2*,
 * tiny-qwen2-tied*, tiny-qwen3*), every prompt: logits at every position and
 * the greedy continuation against llama.cpp's, with the fixture README's
 * tolerances:
 *   F32 files: max-abs <= 1e-3 against the exact-config logits
 *     (prompts_kv_f32_flash_attn_off: F32 K/V, plain softmax - what deepc
 *     computes);
 *   other types: rms <= 0.1 and no position with max-abs > 0.4 against the
 *     default logits (README section 5; llama.cpp with F16 K/V);
 *   greedy ids equal up to the first step whose top1-top2 margin is below
 *     the logit tolerance (F32: the exact-config continuation).
 * Prints the measured figures per file. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "deepc.h"
#include "fixture.h"

typedef struct {
    double max_abs, rms;
    double worst_pos; /* largest per-position max-abs */
} diff_stats;

static diff_stats compare(deepc_context *ctx, const cJSON *want_rows, int n_vocab) {
    diff_stats d = {0};
    double sq = 0;
    long count = 0;
    int i = 0;
    for (const cJSON *row = want_rows->child; row; row = row->next, i++) {
        const float *got = deepc_get_logits(ctx, i);
        double pos_max = 0;
        int v = 0;
        for (const cJSON *e = row->child; e && v < n_vocab; e = e->next, v++) {
            double diff = fabs((double)got[v] - e->valuedouble);
            pos_max = diff > pos_max ? diff : pos_max;
            sq += diff * diff;
            count++;
        }
        d.worst_pos = pos_max > d.worst_pos ? pos_max : d.worst_pos;
    }
    d.max_abs = d.worst_pos;
    d.rms = count ? sqrt(sq / (double)count) : INFINITY;
    return d;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Greedy continuation of the prompt already in seq 0; returns steps that match
 * `want` before the first mismatch. */
static int greedy_matches(deepc_context *ctx, int32_t last_idx, int n_vocab, const int32_t *want, int n_want) {
    char err[DEEPC_ERR_LEN];
    const float *logits = deepc_get_logits(ctx, last_idx);
    for (int step = 0; step < n_want; step++) {
        int32_t tok = argmax(logits, n_vocab);
        if (tok != want[step]) return step;
        const int32_t seq = 0;
        deepc_batch b = {.n_tokens = 1, .tokens = &tok, .seq = &seq};
        if (deepc_decode(ctx, &b, err) != 0) return step;
        logits = deepc_get_logits(ctx, 0);
    }
    return n_want;
}

static int first_low_margin(const cJSON *margins, double tol) {
    int i = 0;
    for (const cJSON *m = margins->child; m; m = m->next, i++)
        if (m->valuedouble < tol) return i;
    return i;
}

static void check_model(const char *name) {
    char rel[256], err[DEEPC_ERR_LEN];
    snprintf(rel, sizeof rel, "models/%s.expected.json", name);
    cJSON *exp = fixture_json(fixture_path(rel));
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    deepc_model *model = deepc_model_load(fixture_path(rel), err);
    CHECKF(exp && model, "%s: %s", name, model ? "no expected json" : err);
    if (!exp || !model) goto done;
    const bool is_f32 = !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(exp, "fixture"), "type")->valuestring, "F32");
    const int n_vocab = deepc_model_n_vocab(model);
    CHECK(n_vocab == cJSON_GetObjectItem(cJSON_GetObjectItem(exp, "vocab"), "n_vocab")->valueint);
    const cJSON *exact = cJSON_GetObjectItem(exp, "prompts_kv_f32_flash_attn_off");
    int pi = 0;
    for (const cJSON *p = cJSON_GetObjectItem(exp, "prompts")->child; p; p = p->next, pi++) {
        const char *pname = cJSON_GetObjectItem(p, "name")->valuestring;
        const cJSON *ref = is_f32 ? cJSON_GetArrayItem(exact, pi) : p;
        CHECK(!strcmp(cJSON_GetObjectItem(ref, "name")->valuestring, pname));
        int n_tok, n_greedy;
        int32_t *toks = fixture_ints(cJSON_GetObjectItem(p, "tokens"), &n_tok);
        int32_t *greedy = fixture_ints(cJSON_GetObjectItem(ref, "greedy_tokens"), &n_greedy);
        deepc_context_params cp = deepc_context_default_params();
        cp.n_threads = 2;
        cp.n_ctx = 256;
        deepc_context *ctx = deepc_context_create(model, &cp, err);
        int32_t seq[64] = {0};
        int8_t want[64];
        memset(want, 1, sizeof want);
        deepc_batch b = {.n_tokens = n_tok, .tokens = toks, .seq = seq, .logits = want};
        CHECKF(ctx && n_tok <= 64 && deepc_decode(ctx, &b, err) == 0, "%s %s: %s", name, pname, err);
        if (ctx && n_tok <= 64) {
            diff_stats d = compare(ctx, cJSON_GetObjectItem(ref, "logits"), n_vocab);
            const double tol = is_f32 ? 1e-3 : 0.4;
            if (is_f32)
                CHECKF(d.max_abs <= 1e-3, "%s %s: max-abs %.3g vs exact config", name, pname, d.max_abs);
            else
                CHECKF(d.rms <= 0.1 && d.worst_pos <= 0.4, "%s %s: rms %.3g, worst position %.3g", name, pname,
                       d.rms, d.worst_pos);
            const int n_check = first_low_margin(cJSON_GetObjectItem(p, "greedy_top1_top2_margin"), tol);
            const int matched = greedy_matches(ctx, n_tok - 1, n_vocab, greedy, n_check);
            CHECKF(matched == n_check, "%s %s: greedy ids differ at step %d (checked %d)", name, pname, matched,
                   n_check);
            printf("%-26s %-10s max-abs %.3g rms %.3g greedy %d/%d\n", name, pname, d.max_abs, d.rms, matched,
                   n_check);
        }
        deepc_context_free(ctx);
        free(toks);
        free(greedy);
    }
done:
    deepc_model_free(model);
    cJSON_Delete(exp);
}

int main(void) {
    char **names;
    int n = fixture_models("^tiny-(llama|qwen2|qwen2-tied|qwen3)-[A-Z0-9_]+$", &names);
    CHECKF(n >= 21, "found %d dense fixture models under %s", n, fixture_path("models"));
    for (int i = 0; i < n; i++) check_model(names[i]);
    fixture_free_names(names, n);
    return CHECK_DONE();
}
