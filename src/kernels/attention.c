/* attention.c - scaled dot-product attention of one query head over a
 * sequence's cached keys and values (plain softmax, F32 throughout: the
 * "exact" configuration llama.cpp runs without flash attention).
 *
 * Causality is the caller's: it passes only the positions a query may see.
 */
#include "kernels.h"

#include <string.h>

void dc_attend_head(float *out, const float *q, const float *k, size_t k_stride, const float *v,
                    size_t v_stride, int64_t n_kv, int head_dim, int head_dim_v, float scale,
                    float *scores) {
    for (int64_t j = 0; j < n_kv; j++) scores[j] = dc_dot_f32(q, k + j * k_stride, head_dim) * scale;
    dc_softmax(scores, n_kv);
    memset(out, 0, sizeof(float) * (size_t)head_dim_v);
    for (int64_t j = 0; j < n_kv; j++) dc_axpy(out, scores[j], v + j * v_stride, head_dim_v);
}
