/* matmul.c - weight matrix x activations, over quantized blocks in place.
 *
 * How: the activations (float) are converted once into the weight type's
 * vec_dot_type (e.g. Q8_K for Q4_K weights), exactly as ggml's CPU backend
 * does, so every dot product is the type's vec_dot over whole blocks. The
 * output rows are split into one contiguous range per thread; within a range
 * rows are visited in tiles so a tile of weights stays in cache while every
 * token of the batch is multiplied with it. Each y element is one vec_dot
 * call, so the thread count never changes a result.
 */
#include "kernels.h"

#include <string.h>

#include "../quant/quant.h"

enum { ROW_TILE = 16 };

size_t dc_matmul_scratch_size(uint32_t wtype, int64_t n_in, int64_t n_tok) {
    const dc_type_traits *tt = dc_type_get(wtype);
    if (!tt || tt->vec_dot_type == DC_TYPE_F32) return 0;
    return dc_row_size(tt->vec_dot_type, n_in) * (size_t)n_tok;
}

typedef struct {
    const dc_tensor *w;
    const dc_type_traits *wt;
    const float *x;
    const void *xq;       /* activations in vec_dot_type */
    void *xq_out;         /* same buffer, writable (quantize phase) */
    size_t xq_row_bytes;
    int64_t n_tok;
    float *y;
} matmul_job;

static void quantize_rows(void *arg, int ith, int nth) {
    matmul_job *j = arg;
    const dc_type_traits *at = dc_type_get(j->wt->vec_dot_type);
    const int64_t n_in = j->w->ne[0];
    int64_t t0, t1;
    dc_split(j->n_tok, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++)
        at->from_float(j->x + t * n_in, (char *)j->xq_out + t * j->xq_row_bytes, n_in);
}

static void multiply_rows(void *arg, int ith, int nth) {
    matmul_job *j = arg;
    const int64_t n_in = j->w->ne[0], n_out = j->w->ne[1];
    const char *wdata = j->w->data;
    int64_t r0, r1;
    dc_split(n_out, ith, nth, &r0, &r1);
    for (int64_t rt = r0; rt < r1; rt += ROW_TILE) {
        const int64_t rt_end = rt + ROW_TILE < r1 ? rt + ROW_TILE : r1;
        for (int64_t t = 0; t < j->n_tok; t++) {
            const char *xrow = (const char *)j->xq + t * j->xq_row_bytes;
            float *yrow = j->y + t * n_out;
            for (int64_t r = rt; r < rt_end; r++)
                j->wt->vec_dot(n_in, &yrow[r], wdata + r * j->w->row_bytes, xrow);
        }
    }
}

void dc_matmul(dc_pool *pool, const dc_tensor *w, const float *x, int64_t n_tok, float *y,
               void *scratch) {
    matmul_job j = {.w = w, .wt = dc_type_get(w->type), .x = x, .n_tok = n_tok, .y = y};
    if (j.wt->vec_dot_type == DC_TYPE_F32) {
        j.xq = x;
        j.xq_row_bytes = (size_t)w->ne[0] * sizeof(float);
    } else {
        j.xq = j.xq_out = scratch;
        j.xq_row_bytes = dc_row_size(j.wt->vec_dot_type, w->ne[0]);
        if (n_tok == 1)
            quantize_rows(&j, 0, 1);
        else
            dc_pool_run(pool, quantize_rows, &j);
    }
    dc_pool_run(pool, multiply_rows, &j);
}

void dc_get_row(const dc_tensor *w, int64_t row, float *out) {
    dc_type_get(w->type)->to_float((const char *)w->data + row * w->row_bytes, out, w->ne[0]);
}
