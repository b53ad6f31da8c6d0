/* kvcache.c - see kvcache.h. The arithmetic of attention lives in
 * kernels/attention.c; this file owns where the rows are. */
#include "kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

dc_kv_cache *dc_kv_cache_create(int32_t n_layer, int32_t n_seq, int32_t n_ctx, int64_t k_width, int64_t v_width,
                                bool f16, int n_parts, int64_t scratch_width, char err[DC_ERR_LEN]) {
    dc_kv_cache *kv = calloc(1, sizeof *kv);
    if (!kv) return dc_err(err, "out of memory"), NULL;
    *kv = (dc_kv_cache){.n_layer = n_layer, .n_seq = n_seq, .n_ctx = n_ctx, .k_width = k_width,
                        .v_width = v_width, .f16 = f16, .scratch_width = scratch_width};
    const size_t slots = (size_t)n_layer * (size_t)n_seq * (size_t)n_ctx;
    const size_t elt = f16 ? sizeof(uint16_t) : sizeof(float);
    kv->k = calloc((size_t)max64(1, (int64_t)slots * k_width), elt);
    kv->v = calloc((size_t)max64(1, (int64_t)slots * v_width), elt);
    kv->bytes = (int64_t)(slots * elt) * (k_width + v_width);
    kv->seq_len = calloc((size_t)n_seq, sizeof *kv->seq_len);
    kv->scores = calloc((size_t)n_parts * (size_t)n_ctx, sizeof(float));
    kv->scratch16 = calloc((size_t)n_parts * (size_t)scratch_width, sizeof(uint16_t));
    if (!kv->k || !kv->v || !kv->seq_len || !kv->scores || !kv->scratch16) {
        dc_kv_cache_free(kv);
        return dc_err(err, "out of memory for the KV cache (%d sequences x %d positions)", n_seq, n_ctx), NULL;
    }
    return kv;
}

void dc_kv_cache_free(dc_kv_cache *kv) {
    if (!kv) return;
    free(kv->k);
    free(kv->v);
    free(kv->seq_len);
    free(kv->scores);
    free(kv->scratch16);
    free(kv);
}

/* Element index of (layer, seq, pos) in a cache with rows of w elements. */
static size_t row_index(const dc_kv_cache *kv, int layer, int32_t seq, int32_t pos, int64_t w) {
    return (((size_t)layer * (size_t)kv->n_seq + (size_t)seq) * (size_t)kv->n_ctx + (size_t)pos) * (size_t)w;
}

void dc_kv_cache_store_k(dc_kv_cache *kv, int layer, int32_t seq, int32_t pos, const float *row) {
    dc_kv_store(kv->k, kv->f16, row_index(kv, layer, seq, pos, kv->k_width), row, kv->k_width);
}

void dc_kv_cache_store_v(dc_kv_cache *kv, int layer, int32_t seq, int32_t pos, const float *row) {
    dc_kv_store(kv->v, kv->f16, row_index(kv, layer, seq, pos, kv->v_width), row, kv->v_width);
}

void dc_kv_cache_attend(dc_kv_cache *kv, int ith, float *out, const float *q, int layer, int32_t seq, int64_t n_kv,
                        int64_t k_off, bool v_in_k, int64_t v_off, int head_dim, int head_dim_v, float scale) {
    const int64_t v_width = v_in_k ? kv->k_width : kv->v_width;
    const size_t k0 = row_index(kv, layer, seq, 0, kv->k_width) + (size_t)k_off;
    const size_t v0 = row_index(kv, layer, seq, 0, v_width) + (size_t)v_off;
    const void *v = v_in_k ? kv->k : kv->v;
    if (kv->f16) {
        dc_attend_head_f16(out, q, (const uint16_t *)kv->k + k0, (size_t)kv->k_width, (const uint16_t *)v + v0,
                           (size_t)v_width, n_kv, head_dim, head_dim_v, scale,
                           kv->scratch16 + (size_t)ith * (size_t)kv->scratch_width);
    } else {
        dc_attend_head(out, q, (const float *)kv->k + k0, (size_t)kv->k_width, (const float *)v + v0,
                       (size_t)v_width, n_kv, head_dim, head_dim_v, scale,
                       kv->scores + (size_t)ith * (size_t)kv->n_ctx);
    }
}

void dc_kv_cache_copy(dc_kv_cache *kv, int32_t src, int32_t dst, int32_t n) {
    const size_t elt = kv->f16 ? sizeof(uint16_t) : sizeof(float);
    for (int il = 0; il < kv->n_layer; il++) {
        memcpy((char *)kv->k + row_index(kv, il, dst, 0, kv->k_width) * elt,
               (const char *)kv->k + row_index(kv, il, src, 0, kv->k_width) * elt,
               (size_t)n * (size_t)kv->k_width * elt);
        memcpy((char *)kv->v + row_index(kv, il, dst, 0, kv->v_width) * elt,
               (const char *)kv->v + row_index(kv, il, src, 0, kv->v_width) * elt,
               (size_t)n * (size_t)kv->v_width * elt);
    }
    kv->seq_len[dst] = n;
}
