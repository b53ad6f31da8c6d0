/* context.c - contexts: creation (KV cache + scratch sized once), batch
 * validation, and dispatch to the model family's forward pass.
 *
 * deepc_decode checks everything about a batch before touching state (token
 * ids, sequence ids, positions continuing each sequence, room in the cache),
 * so a bad batch leaves the context exactly as it was.
 */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "../quant/quant.h"

deepc_context_params deepc_context_default_params(void) {
    return (deepc_context_params){.n_ctx = 0, .n_seq_max = 1, .n_batch = 512, .n_threads = 0};
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

deepc_context *deepc_context_create(deepc_model *model, const deepc_context_params *params,
                                    char err[DEEPC_ERR_LEN]) {
    deepc_context_params p = params ? *params : deepc_context_default_params();
    const dc_hparams *hp = &model->hp;
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_threads <= 0) p.n_threads = dc_n_cpus();
    if ((p.kv_type != DEEPC_KV_F16 && p.kv_type != DEEPC_KV_F32) || p.n_seq_max < 1 || p.n_seq_max > 4096 || p.n_batch < 1 || p.n_batch > 65536 || p.n_ctx > (1 << 24) ||
        p.n_threads > 1024) {
        dc_err(err, "invalid context parameters: n_ctx %d, n_seq_max %d, n_batch %d, n_threads %d", p.n_ctx,
               p.n_seq_max, p.n_batch, p.n_threads);
        return NULL;
    }
    deepc_context *c = calloc(1, sizeof *c);
    if (!c) {
        dc_err(err, "out of memory");
        return NULL;
    }
    c->model = model;
    c->n_ctx = p.n_ctx;
    c->n_seq = p.n_seq_max;
    c->n_batch = p.n_batch;
    const int64_t nh = hp->n_head, k = hp->n_expert_used;
    const int64_t ff = max64(max64(hp->n_ff, hp->n_ff_shexp), k * hp->n_ff_exp);
    /* every float scratch buffer: [n_batch][width] */
    const struct {
        float **buf;
        int64_t width;
    } rows[] = {
        {&c->x, hp->n_embd},
        {&c->xn, hp->n_embd},
        {&c->proj, hp->n_embd},
        {&c->q, nh * hp->head_dim},
        {&c->k, hp->kv_k_width},
        {&c->v, hp->kv_v_width},
        {&c->qa, max64(hp->q_lora_rank, nh * hp->kv_k_width)},
        {&c->attn, nh * max64(hp->head_dim_v, hp->kv_lora_rank)},
        {&c->vo, nh * hp->head_dim_v},
        {&c->gate, ff},
        {&c->up, ff},
        {&c->moe_x, k * hp->n_embd},
        {&c->moe_out, k * hp->n_embd},
        {&c->router, hp->n_expert},
        {&c->sel_w, k},
        {&c->rope, hp->n_rot},
        {&c->logits, hp->n_vocab},
    };
    bool ok = true;
    int64_t widest = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        *rows[i].buf = calloc((size_t)max64(1, rows[i].width * p.n_batch), sizeof(float));
        ok &= *rows[i].buf != NULL;
        widest = max64(widest, rows[i].width);
    }
    const size_t slots = (size_t)hp->n_layer * (size_t)c->n_seq * (size_t)c->n_ctx;
    const size_t n_ops = (size_t)max64(nh, 2 * hp->n_expert);
    c->pool = dc_pool_create(p.n_threads);
    c->seq_len = calloc((size_t)c->n_seq, sizeof *c->seq_len);
    c->kv_f16 = p.kv_type != DEEPC_KV_F32;
    const size_t elt = c->kv_f16 ? sizeof(uint16_t) : sizeof(float);
    c->k_cache = calloc(max64(1, (int64_t)slots * hp->kv_k_width), elt);
    c->v_cache = calloc(max64(1, (int64_t)slots * hp->kv_v_width), elt);
    c->kv_bytes = (int64_t)(slots * elt) * (hp->kv_k_width + hp->kv_v_width);
    c->scores = calloc((size_t)p.n_threads * (size_t)c->n_ctx, sizeof(float));
    c->attn_f16 = calloc((size_t)p.n_threads * (size_t)(hp->kv_k_width + max64(hp->kv_v_width, hp->kv_lora_rank) +
                                                         nh * hp->head_dim),
                         sizeof(uint16_t));
    /* converted activations of one dispatch: at most a few inputs of the
     * widest row, at most 2 bytes per element (F16) */
    c->act_q = malloc((size_t)p.n_batch * (size_t)widest * 8 + 4096);
    c->sel = calloc((size_t)max64(1, k * p.n_batch), sizeof *c->sel);
    c->moe_row = calloc((size_t)max64(1, k * p.n_batch), sizeof *c->moe_row);
    c->ops = calloc(n_ops, sizeof *c->ops);
    c->slices = calloc(n_ops, sizeof *c->slices);
    c->logit_row = calloc((size_t)p.n_batch, sizeof *c->logit_row);
    c->out_idx = calloc((size_t)p.n_batch, sizeof *c->out_idx);
    c->pos_buf = calloc((size_t)p.n_batch, sizeof *c->pos_buf);
    c->next_len = calloc((size_t)c->n_seq, sizeof *c->next_len);
    if (!ok || !c->pool || !c->seq_len || !c->k_cache || !c->v_cache || !c->scores || !c->attn_f16 || !c->act_q || !c->sel ||
        !c->moe_row || !c->ops || !c->slices || !c->logit_row || !c->out_idx || !c->pos_buf || !c->next_len) {
        dc_err(err, "out of memory creating a context (n_ctx %d, n_seq_max %d, n_batch %d)", c->n_ctx, c->n_seq,
               c->n_batch);
        deepc_context_free(c);
        return NULL;
    }
    return c;
}

void deepc_context_free(deepc_context *c) {
    if (!c) return;
    if (c->pool) dc_pool_free(c->pool);
    void *bufs[] = {c->seq_len, c->k_cache, c->v_cache, c->x,      c->xn,      c->proj,    c->q,       c->k,
                    c->v,       c->qa,      c->attn,    c->vo,     c->gate,    c->up,      c->moe_x,   c->moe_out,
                    c->router,  c->sel_w,   c->sel,     c->moe_row, c->ops,    c->slices,  c->scores,  c->attn_f16, c->rope,
                    c->act_q,   c->logits,  c->logit_row, c->out_idx, c->pos_buf, c->next_len};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(c);
}

void dc_context_attend(deepc_context *c, int ith, float *out, const float *q, int layer, int32_t seq, int64_t n_kv,
                       const void *k_cache, int64_t k_width, int64_t k_off, const void *v_cache, int64_t v_width,
                       int64_t v_off, int head_dim, int head_dim_v, float scale) {
    const size_t k0 = dc_kv_index(c, layer, seq, 0, k_width) + (size_t)k_off;
    const size_t v0 = dc_kv_index(c, layer, seq, 0, v_width) + (size_t)v_off;
    if (c->kv_f16) {
        uint16_t *scratch = c->attn_f16 + (size_t)ith * (size_t)(head_dim + head_dim_v);
        dc_attend_head_f16(out, q, (const uint16_t *)k_cache + k0, (size_t)k_width, (const uint16_t *)v_cache + v0,
                           (size_t)v_width, n_kv, head_dim, head_dim_v, scale, scratch);
    } else {
        dc_attend_head(out, q, (const float *)k_cache + k0, (size_t)k_width, (const float *)v_cache + v0,
                       (size_t)v_width, n_kv, head_dim, head_dim_v, scale, c->scores + (size_t)ith * (size_t)c->n_ctx);
    }
}

/* Checks the batch and fills positions and output indices. No state changes. */
static int validate(deepc_context *c, const deepc_batch *in, dc_batch *b, int32_t *next, char *err) {
    const int32_t n = in->n_tokens;
    if (n < 1 || n > c->n_batch)
        return dc_err(err, "batch of %d tokens: must be 1..%d (the context's n_batch)", n, c->n_batch), -1;
    if (!in->tokens || !in->seq) return dc_err(err, "batch without tokens or sequence ids"), -1;
    memcpy(next, c->seq_len, sizeof(int32_t) * (size_t)c->n_seq);
    int32_t n_out = 0;
    for (int32_t i = 0; i < n; i++) {
        const int32_t tok = in->tokens[i], s = in->seq[i];
        if (tok < 0 || tok >= c->model->hp.n_vocab)
            return dc_err(err, "token %d: id %d is out of range [0, %d)", i, tok, c->model->hp.n_vocab), -1;
        if (s < 0 || s >= c->n_seq)
            return dc_err(err, "token %d: sequence id %d is out of range [0, %d)", i, s, c->n_seq), -1;
        if (in->pos && in->pos[i] != next[s])
            return dc_err(err, "token %d: position %d does not continue sequence %d (next position is %d)", i,
                          in->pos[i], s, next[s]),
                   -1;
        if (next[s] >= c->n_ctx)
            return dc_err(err, "sequence %d is full: context size is %d tokens", s, c->n_ctx), -1;
        c->pos_buf[i] = next[s]++;
        const bool want = in->logits ? in->logits[i] != 0 : i == n - 1;
        c->logit_row[i] = want ? n_out : -1;
        if (want) c->out_idx[n_out++] = i;
    }
    *b = (dc_batch){.n_tokens = n, .tokens = in->tokens, .pos = c->pos_buf, .seq = in->seq, .n_out = n_out,
                    .out_idx = c->out_idx};
    return 0;
}

int deepc_decode(deepc_context *c, const deepc_batch *in, char err[DEEPC_ERR_LEN]) {
    dc_batch b;
    if (validate(c, in, &b, c->next_len, err) < 0) {
        for (int32_t i = 0; i < c->n_batch; i++) c->logit_row[i] = -1;
        return -1;
    }
    dc_forward(c, &b);
    memcpy(c->seq_len, c->next_len, sizeof(int32_t) * (size_t)c->n_seq);
    return 0;
}

const float *deepc_get_logits(const deepc_context *c, int32_t i) {
    if (i < 0 || i >= c->n_batch || c->logit_row[i] < 0) return NULL;
    return c->logits + (size_t)c->logit_row[i] * (size_t)c->model->hp.n_vocab;
}

int64_t deepc_context_kv_bytes(const deepc_context *c) { return c->kv_bytes; }

int32_t deepc_seq_len(const deepc_context *c, int32_t seq) {
    return seq >= 0 && seq < c->n_seq ? c->seq_len[seq] : 0;
}

void deepc_seq_truncate(deepc_context *c, int32_t seq, int32_t n) {
    if (seq >= 0 && seq < c->n_seq && n >= 0 && n < c->seq_len[seq]) c->seq_len[seq] = n;
}

int32_t deepc_context_n_ctx(const deepc_context *c) { return c->n_ctx; }

void deepc_seq_copy(deepc_context *c, int32_t src, int32_t dst, int32_t n) {
    if (src < 0 || src >= c->n_seq || dst < 0 || dst >= c->n_seq || src == dst || n < 0 || n > c->seq_len[src]) return;
    const dc_hparams *hp = &c->model->hp;
    const size_t elt = c->kv_f16 ? sizeof(uint16_t) : sizeof(float);
    for (int il = 0; il < hp->n_layer; il++) {
        const size_t ks = dc_kv_index(c, il, src, 0, hp->kv_k_width), kd = dc_kv_index(c, il, dst, 0, hp->kv_k_width);
        memcpy((char *)c->k_cache + kd * elt, (const char *)c->k_cache + ks * elt, (size_t)n * (size_t)hp->kv_k_width * elt);
        if (hp->kv_v_width == 0) continue;
        const size_t vs = dc_kv_index(c, il, src, 0, hp->kv_v_width), vd = dc_kv_index(c, il, dst, 0, hp->kv_v_width);
        memcpy((char *)c->v_cache + vd * elt, (const char *)c->v_cache + vs * elt, (size_t)n * (size_t)hp->kv_v_width * elt);
    }
    c->seq_len[dst] = n;
}
