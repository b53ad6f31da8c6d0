/* moe.c - mixture-of-experts feed-forward, shared by qwen3moe and deepseek2.
 *
 * Routing, per token, as llama.cpp does it: router logits -> probabilities
 * (softmax, or sigmoid for DeepSeek-V3); selection scores = probabilities
 * (+ the exp_probs_b correction bias when present); with expert groups, only
 * the best n_group_used groups (a group scores the sum of its two best
 * selection scores) stay eligible; the top n_expert_used experts by selection
 * score are chosen; their weights are the unbiased probabilities, optionally
 * renormalised to sum 1 and scaled.
 *
 * Execution touches only chosen experts: the (token, choice) rows are
 * gathered expert by expert, so each active expert runs one matrix product
 * over all of its tokens (a batch during prompt processing, one row during
 * decode), and all active experts' products share one parallel dispatch.
 * Outputs are then weighted and summed per token in choice order, and the
 * shared experts (a plain SwiGLU FFN) are added.
 */
#include <math.h>
#include <string.h>

#include "forward.h"

/* Indices of the k largest of v[0..n) into out, best first (ties: lower index). */
static void top_k(const float *v, int n, int k, int32_t *out) {
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int p = 0; p < j; p++) taken |= out[p] == i;
            if (!taken && (best < 0 || v[i] > v[best])) best = i;
        }
        out[j] = best;
    }
}

/* Masks (to -inf) the experts outside the n_group_used best groups. */
static void limit_to_groups(const dc_hparams *hp, float *sel) {
    const int per = hp->n_expert / hp->n_expert_groups;
    float group_score[hp->n_expert_groups];
    int32_t best2[2], keep[hp->n_group_used];
    for (int g = 0; g < hp->n_expert_groups; g++) {
        const int top = per < 2 ? per : 2;
        top_k(sel + g * per, per, top, best2);
        group_score[g] = 0.0f;
        for (int j = 0; j < top; j++) group_score[g] += sel[g * per + best2[j]];
    }
    top_k(group_score, hp->n_expert_groups, hp->n_group_used, keep);
    for (int g = 0; g < hp->n_expert_groups; g++) {
        bool kept = false;
        for (int j = 0; j < hp->n_group_used; j++) kept |= keep[j] == g;
        if (!kept)
            for (int e = 0; e < per; e++) sel[g * per + e] = -INFINITY;
    }
}

/* Chooses experts and weights for one token from its router logits. */
static void route(const dc_hparams *hp, const dc_layer *l, float *probs, int32_t *chosen, float *weights) {
    const int ne = hp->n_expert, k = hp->n_expert_used;
    if (hp->gating == DC_GATING_SIGMOID)
        for (int e = 0; e < ne; e++) probs[e] = 1.0f / (1.0f + expf(-probs[e]));
    else
        dc_soft_max_row(probs, ne);
    float sel[ne];
    for (int e = 0; e < ne; e++) sel[e] = probs[e] + (l->exp_probs_b.data ? ((const float *)l->exp_probs_b.data)[e] : 0.0f);
    if (hp->n_expert_groups > 1) limit_to_groups(hp, sel);
    top_k(sel, ne, k, chosen);
    double sum = 0.0;
    for (int j = 0; j < k; j++) sum += (double)(weights[j] = probs[chosen[j]]);
    if (hp->expert_weights_norm) {
        const float s = fmaxf((float)sum, 6.103515625e-5f);
        for (int j = 0; j < k; j++) weights[j] /= s;
    }
    if (hp->expert_weights_scale != 0.0f)
        for (int j = 0; j < k; j++) weights[j] *= hp->expert_weights_scale;
}

void dc_moe_ffn(dc_forward *c, const dc_layer *l, const float *in, int n, float *out) {
    const dc_hparams *hp = &c->model->hp;
    const int ne = hp->n_expert, k = hp->n_expert_used;
    const int64_t d = hp->n_embd, ff = hp->n_ff_exp;

    dc_matmul(c->pool, &l->ffn_gate_inp, in, n, c->router, c->act_q);
    for (int t = 0; t < n; t++) route(hp, l, c->router + (size_t)t * ne, c->sel + t * k, c->sel_w + t * k);

    /* gather (token, choice) rows expert by expert: moe_row[t*k + j] = row */
    int32_t count[ne], start[ne], fill[ne];
    memset(count, 0, sizeof count);
    memset(fill, 0, sizeof fill);
    for (int i = 0; i < n * k; i++) count[c->sel[i]]++;
    for (int e = 0, row = 0; e < ne; e++) start[e] = row, row += count[e];
    for (int i = 0; i < n * k; i++) {
        const int e = c->sel[i], row = start[e] + fill[e]++;
        c->moe_row[i] = row;
        memcpy(c->moe_x + (size_t)row * d, in + (size_t)(i / k) * d, sizeof(float) * d);
    }

    /* gate and up of every active expert in one dispatch, then down */
    int n_ops = 0;
    for (int e = 0; e < ne; e++) {
        if (!count[e]) continue;
        c->slices[2 * n_ops] = dc_tensor_slice(&l->ffn_gate_exps, e);
        c->slices[2 * n_ops + 1] = dc_tensor_slice(&l->ffn_up_exps, e);
        const float *x = c->moe_x + (size_t)start[e] * d;
        c->ops[2 * n_ops] = (dc_matmul_op){.w = &c->slices[2 * n_ops], .x = x, .x_stride = (size_t)d,
                                           .n_tok = count[e], .y = c->gate + (size_t)start[e] * ff, .y_stride = (size_t)ff};
        c->ops[2 * n_ops + 1] = (dc_matmul_op){.w = &c->slices[2 * n_ops + 1], .x = x, .x_stride = (size_t)d,
                                               .n_tok = count[e], .y = c->up + (size_t)start[e] * ff, .y_stride = (size_t)ff};
        n_ops++;
    }
    dc_matmul_many(c->pool, c->ops, 2 * n_ops, c->act_q);
    dc_swiglu(c->gate, c->up, (int64_t)n * k, ff);
    n_ops = 0;
    for (int e = 0; e < ne; e++) {
        if (!count[e]) continue;
        c->slices[n_ops] = dc_tensor_slice(&l->ffn_down_exps, e);
        c->ops[n_ops] = (dc_matmul_op){.w = &c->slices[n_ops], .x = c->gate + (size_t)start[e] * ff,
                                       .x_stride = (size_t)ff, .n_tok = count[e],
                                       .y = c->moe_out + (size_t)start[e] * d, .y_stride = (size_t)d};
        n_ops++;
    }
    dc_matmul_many(c->pool, c->ops, n_ops, c->act_q);

    /* out[t] = sum_j w[t][j] * expert_out[t][j], in choice order */
    for (int t = 0; t < n; t++) {
        float *o = out + (size_t)t * d;
        for (int j = 0; j < k; j++) {
            const float w = c->sel_w[t * k + j];
            const float *e = c->moe_out + (size_t)c->moe_row[t * k + j] * d;
            if (j == 0)
                for (int64_t i = 0; i < d; i++) o[i] = e[i] * w;
            else
                for (int64_t i = 0; i < d; i++) o[i] += e[i] * w;
        }
    }
    if (l->ffn_gate_shexp.data) {
        dc_swiglu_ffn(c, &l->ffn_gate_shexp, &l->ffn_up_shexp, &l->ffn_down_shexp, in, n, c->moe_x);
        dc_add(out, c->moe_x, (int64_t)n * d);
    }
}
