/* context.c - contexts: creation (KV cache + scratch sized once), batch
 * validation, and dispatch to the model family's forward pass.
 *
 * deepc_decode checks everything about a batch before touching state (token
 * ids, sequence ids, positions continuing each sequence, room in the cache),
 * so a bad batch leaves the context exactly as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "../models/forward.h"

struct deepc_context {
    deepc_model *model;
    dc_kv_cache *kv;
    dc_forward *fwd;
    int32_t n_ctx, n_seq, n_batch;
    int32_t *logit_row; /* [n_batch]: row in fwd->logits of token i, or -1 */
    int32_t *out_idx;   /* [n_batch] */
    int32_t *pos_buf;   /* [n_batch] positions of the batch being run */
    int32_t *next_len;  /* [n_seq] sequence lengths after the batch being run */
};

deepc_context_params deepc_context_default_params(void) {
    return (deepc_context_params){.n_ctx = 0, .n_seq_max = 1, .n_batch = 512, .n_threads = 0};
}

deepc_context *deepc_context_create(deepc_model *model, const deepc_context_params *params,
                                    char err[DEEPC_ERR_LEN]) {
    deepc_context_params p = params ? *params : deepc_context_default_params();
    const dc_hparams *hp = &model->hp;
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_threads <= 0) p.n_threads = dc_n_cpus();
    if ((p.kv_type != DEEPC_KV_F16 && p.kv_type != DEEPC_KV_F32) || p.n_seq_max < 1 || p.n_seq_max > 4096 ||
        p.n_batch < 1 || p.n_batch > 65536 || p.n_ctx > (1 << 24) || p.n_threads > 1024) {
        dc_err(err, "invalid context parameters: n_ctx %d, n_seq_max %d, n_batch %d, n_threads %d", p.n_ctx,
               p.n_seq_max, p.n_batch, p.n_threads);
        return NULL;
    }
    deepc_context *c = calloc(1, sizeof *c);
    if (!c) return dc_err(err, "out of memory"), NULL;
    c->model = model;
    c->n_ctx = p.n_ctx;
    c->n_seq = p.n_seq_max;
    c->n_batch = p.n_batch;
    c->kv = dc_kv_cache_create(hp->n_layer, c->n_seq, c->n_ctx, hp->kv_k_width, hp->kv_v_width,
                               p.kv_type != DEEPC_KV_F32, dc_pool_parts(p.n_threads), dc_forward_attn_scratch(hp), err);
    c->fwd = c->kv ? dc_forward_create(model, c->kv, c->n_batch, p.n_threads, err) : NULL;
    if (!c->fwd) return deepc_context_free(c), NULL;
    c->logit_row = calloc((size_t)p.n_batch, sizeof *c->logit_row);
    c->out_idx = calloc((size_t)p.n_batch, sizeof *c->out_idx);
    c->pos_buf = calloc((size_t)p.n_batch, sizeof *c->pos_buf);
    c->next_len = calloc((size_t)c->n_seq, sizeof *c->next_len);
    if (!c->logit_row || !c->out_idx || !c->pos_buf || !c->next_len) {
        dc_err(err, "out of memory creating a context (n_ctx %d, n_seq_max %d, n_batch %d)", c->n_ctx, c->n_seq,
               c->n_batch);
        deepc_context_free(c);
        return NULL;
    }
    return c;
}

void deepc_context_free(deepc_context *c) {
    if (!c) return;
    dc_forward_free(c->fwd);
    dc_kv_cache_free(c->kv);
    free(c->logit_row);
    free(c->out_idx);
    free(c->pos_buf);
    free(c->next_len);
    free(c);
}

/* Checks the batch and fills positions and output indices. No state changes. */
static int validate(deepc_context *c, const deepc_batch *in, dc_batch *b, int32_t *next, char *err) {
    const int32_t n = in->n_tokens;
    if (n < 1 || n > c->n_batch)
        return dc_err(err, "batch of %d tokens: must be 1..%d (the context's n_batch)", n, c->n_batch), -1;
    if (!in->tokens || !in->seq) return dc_err(err, "batch without tokens or sequence ids"), -1;
    memcpy(next, c->kv->seq_len, sizeof(int32_t) * (size_t)c->n_seq);
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
    dc_forward_run(c->fwd, &b);
    memcpy(c->kv->seq_len, c->next_len, sizeof(int32_t) * (size_t)c->n_seq);
    return 0;
}

const float *deepc_get_logits(const deepc_context *c, int32_t i) {
    if (i < 0 || i >= c->n_batch || c->logit_row[i] < 0) return NULL;
    return c->fwd->logits + (size_t)c->logit_row[i] * (size_t)c->model->hp.n_vocab;
}

int64_t deepc_context_kv_bytes(const deepc_context *c) { return c->kv->bytes; }

int32_t deepc_seq_len(const deepc_context *c, int32_t seq) {
    return seq >= 0 && seq < c->n_seq ? c->kv->seq_len[seq] : 0;
}

void deepc_seq_truncate(deepc_context *c, int32_t seq, int32_t n) {
    if (seq >= 0 && seq < c->n_seq && n >= 0 && n < c->kv->seq_len[seq]) c->kv->seq_len[seq] = n;
}

int32_t deepc_context_n_ctx(const deepc_context *c) { return c->n_ctx; }

void deepc_seq_copy(deepc_context *c, int32_t src, int32_t dst, int32_t n) {
    if (src >= 0 && src < c->n_seq && dst >= 0 && dst < c->n_seq && src != dst && n >= 0 && n <= c->kv->seq_len[src])
        dc_kv_cache_copy(c->kv, src, dst, n);
}
