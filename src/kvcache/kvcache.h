/* kvcache.h - the KV cache: its layout, storing a token's new keys and
 * values, attention of a query over a sequence's cached positions, and
 * moving whole prefixes between sequences.
 *
 * Layout (F16 or F32 elements): k[layer][seq][pos][k_width] and
 * v[layer][seq][pos][v_width]. For grouped-query attention a row holds the
 * K (or V) heads of one position; for DeepSeek's latent attention a K row is
 * [latent kv_lora_rank | rope part] and there is no V (v_width 0): values are
 * read from the K rows. Sequence s holds positions 0..seq_len[s]-1; the
 * forward pass writes rows at the positions of a batch and the caller
 * (engine/context.c) commits the new lengths.
 *
 * Memory: everything is allocated by dc_kv_cache_create, including the
 * per-thread attention scratch; nothing afterwards.
 */
#ifndef DC_KVCACHE_H
#define DC_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"

typedef struct {
    int32_t n_layer, n_seq, n_ctx;
    int64_t k_width, v_width; /* elements per position per layer */
    bool f16;                 /* element type: F16 (true) or F32 */
    void *k, *v;
    int32_t *seq_len;         /* [n_seq] positions held */
    int64_t bytes;            /* allocated for k and v */
    float *scores;            /* [n_parts][n_ctx] attention scores (F32 cache) */
    uint16_t *scratch16;      /* [n_parts][scratch_width] query + accumulator (F16 cache) */
    int64_t scratch_width;
} dc_kv_cache;

/* n_parts: the pool's parts (attention scratch per part); scratch_width: the
 * most head_dim + head_dim_v of any attend call. NULL + message when out of
 * memory. */
dc_kv_cache *dc_kv_cache_create(int32_t n_layer, int32_t n_seq, int32_t n_ctx, int64_t k_width, int64_t v_width,
                                bool f16, int n_parts, int64_t scratch_width, char err[DC_ERR_LEN]);
void dc_kv_cache_free(dc_kv_cache *kv);

/* Writes a token's K row (k_width floats) / V row (v_width floats). */
void dc_kv_cache_store_k(dc_kv_cache *kv, int layer, int32_t seq, int32_t pos, const float *row);
void dc_kv_cache_store_v(dc_kv_cache *kv, int layer, int32_t seq, int32_t pos, const float *row);

/* Attention of one query head q[head_dim] over positions 0..n_kv-1 of seq
 * in layer: keys at element k_off of each K row, values at element v_off of
 * each V row, or of each K row when v_in_k (latent attention). out receives
 * head_dim_v floats. ith: the calling pool part (its scratch). */
void dc_kv_cache_attend(dc_kv_cache *kv, int ith, float *out, const float *q, int layer, int32_t seq, int64_t n_kv,
                        int64_t k_off, bool v_in_k, int64_t v_off, int head_dim, int head_dim_v, float scale);

/* Copies positions 0..n-1 of src into dst, which then holds exactly those. */
void dc_kv_cache_copy(dc_kv_cache *kv, int32_t src, int32_t dst, int32_t n);

#endif
