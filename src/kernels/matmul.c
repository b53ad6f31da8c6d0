/* matmul.c - weight matrices x activations, over quantized blocks in place.
 *
 * How: one call runs a list of ops (each: a weight matrix, its input rows,
 * its output rows) in two parallel phases. First every op's activation rows
 * (float) are converted into its weight type's vec_dot_type (e.g. Q8_K for
 * Q4_K weights), exactly as ggml's CPU backend does; ops reading the same
 * rows in the same format share one conversion. Then the output rows of all
 * ops, taken as one list, are split into one contiguous range per thread;
 * within a range rows are visited in tiles, so a tile of weights stays in
 * cache while every token of the op is multiplied with it. Several small
 * matmuls (q/k/v, attention heads, MoE experts) thus cost one dispatch.
 * Each y element is one vec_dot call, so the thread count never changes a
 * result; where the type has a 4-row twin of the dot product (K-quants),
 * tokens go 4 at a time through it, which unpacks each weight block once
 * for the 4 and gives each the single call's bits.
 */
#include "kernels.h"

#include <stdatomic.h>
#include <string.h>

#include "../quant/quant.h"

enum { ROW_TILE = 16 };

/* Weight bytes all dispatches have read, for benchmarks (see kernels.h). */
static _Atomic int64_t weight_bytes_read;

int64_t dc_matmul_weight_bytes(void) { return weight_bytes_read; }

size_t dc_matmul_scratch_size(uint32_t wtype, int64_t n_in, int64_t n_tok) {
    const dc_type_traits *tt = dc_type_get(wtype);
    if (!tt || tt->vec_dot_type == DC_TYPE_F32) return 0;
    return dc_row_size(tt->vec_dot_type, n_in) * (size_t)n_tok;
}

typedef struct {
    dc_matmul_op *ops;
    int n_ops;
    int64_t n_rows; /* sum of the ops' output rows */
} matmul_job;

static const dc_type_traits *act_traits(const dc_matmul_op *op) {
    return dc_type_get(dc_type_get(op->w->type)->vec_dot_type);
}

/* Phase 1: convert the activation rows of ops that own their buffer. */
static void quantize_rows(void *arg, int ith, int nth) {
    matmul_job *j = arg;
    int64_t total = 0;
    for (int o = 0; o < j->n_ops; o++) total += j->ops[o].xq_owner ? j->ops[o].n_tok : 0;
    int64_t i0, i1, base = 0;
    dc_split(total, ith, nth, &i0, &i1);
    for (int o = 0; o < j->n_ops && base < i1; o++) {
        const dc_matmul_op *op = &j->ops[o];
        if (!op->xq_owner) continue;
        const dc_type_traits *at = act_traits(op);
        for (int64_t t = i0 > base ? i0 - base : 0; t < op->n_tok && base + t < i1; t++)
            at->from_float(op->x + t * op->x_stride, (char *)op->xq + t * op->xq_row_bytes, op->w->ne[0]);
        base += op->n_tok;
    }
}

/* The dot product llama.cpp's kernel for this op sums like (quant.h), and
 * its 4-row twin (NULL: none). */
typedef struct {
    dc_vec_dot_fn one;
    dc_vec_dot_x4_fn four;
} dot_pick;

static dot_pick pick_dot(const dc_matmul_op *op) {
    const dc_type_traits *tt = dc_type_get(op->w->type);
    if (tt->vec_dot_repack && !op->batched && op->w->ne[1] % 8 == 0)
        return (dot_pick){tt->vec_dot_repack, tt->vec_dot_repack_x4};
    if (tt->vec_dot_gemm && op->n_tok >= 2) return (dot_pick){tt->vec_dot_gemm, NULL};
    return (dot_pick){tt->vec_dot, tt->vec_dot_x4};
}

/* Phase 2: rows [r0, r1) of the concatenated outputs. */
static void multiply_rows(void *arg, int ith, int nth) {
    matmul_job *j = arg;
    int64_t r0, r1, base = 0;
    dc_split(j->n_rows, ith, nth, &r0, &r1);
    for (int o = 0; o < j->n_ops && base < r1; base += j->ops[o++].w->ne[1]) {
        const dc_matmul_op *op = &j->ops[o];
        const int64_t n_in = op->w->ne[0], n_out = op->w->ne[1];
        const int64_t lo = r0 > base ? r0 - base : 0, hi = r1 - base < n_out ? r1 - base : n_out;
        const dot_pick dot = pick_dot(op);
        const char *wdata = op->w->data, *xq = op->xq;
        /* tokens [0, n4) in groups of 4 through dot.four, the rest one by one */
        const int64_t n4 = dot.four ? op->n_tok / 4 * 4 : 0;
        for (int64_t rt = lo; rt < hi; rt += ROW_TILE) {
            const int64_t dc_rt_end = rt + ROW_TILE < hi ? rt + ROW_TILE : hi;
            for (int64_t t = 0; t < n4; t += 4) {
                float *y = op->y + t * op->y_stride;
                for (int64_t r = rt; r < dc_rt_end; r++) {
                    float s[4];
                    dot.four(n_in, s, wdata + r * op->w->row_bytes, xq + t * op->xq_row_bytes, op->xq_row_bytes);
                    for (int k = 0; k < 4; k++) y[k * op->y_stride + r] = s[k];
                }
            }
            for (int64_t t = n4; t < op->n_tok; t++) {
                const char *xrow = xq + t * op->xq_row_bytes;
                float *yrow = op->y + t * op->y_stride;
                for (int64_t r = rt; r < dc_rt_end; r++) dot.one(n_in, &yrow[r], wdata + r * op->w->row_bytes, xrow);
            }
        }
    }
}

/* Points each op at its converted activations: F32 weights read x in place,
 * ops sharing (x, stride, rows, format) share a buffer, others get a slice of
 * scratch. */
static void plan_activations(dc_matmul_op *ops, int n_ops, void *scratch) {
    char *next = scratch;
    for (int o = 0; o < n_ops; o++) {
        dc_matmul_op *op = &ops[o];
        const uint32_t vt = dc_type_get(op->w->type)->vec_dot_type;
        op->xq_owner = false;
        if (vt == DC_TYPE_F32) {
            op->xq = op->x;
            op->xq_row_bytes = op->x_stride * sizeof(float);
            continue;
        }
        op->xq_row_bytes = dc_row_size(vt, op->w->ne[0]);
        for (int p = 0; p < o && !op->xq; p++) {
            const dc_matmul_op *q = &ops[p];
            if (q->x == op->x && q->x_stride == op->x_stride && q->n_tok == op->n_tok && q->w->ne[0] == op->w->ne[0] &&
                dc_type_get(q->w->type)->vec_dot_type == vt)
                op->xq = q->xq;
        }
        if (!op->xq) {
            op->xq = next;
            op->xq_owner = true;
            next += op->xq_row_bytes * (size_t)op->n_tok;
        }
    }
}

void dc_matmul_many(dc_pool *pool, dc_matmul_op *ops, int n_ops, void *scratch) {
    matmul_job j = {ops, n_ops, 0};
    bool any_owner = false;
    int64_t quant_rows = 0;
    for (int o = 0; o < n_ops; o++) ops[o].xq = NULL;
    plan_activations(ops, n_ops, scratch);
    int64_t bytes = 0;
    for (int o = 0; o < n_ops; o++) {
        bytes += ops[o].w->ne[1] * (int64_t)ops[o].w->row_bytes;
        j.n_rows += ops[o].w->ne[1];
        any_owner |= ops[o].xq_owner;
        quant_rows += ops[o].xq_owner ? ops[o].n_tok : 0;
    }
    if (quant_rows == 1)
        quantize_rows(&j, 0, 1);
    else if (any_owner)
        dc_pool_run(pool, quantize_rows, &j);
    dc_pool_run(pool, multiply_rows, &j);
    weight_bytes_read += bytes;
}

void dc_matmul(dc_pool *pool, const dc_tensor *w, const float *x, int64_t n_tok, float *y, void *scratch) {
    dc_matmul_op op = {.w = w, .x = x, .x_stride = (size_t)w->ne[0], .n_tok = n_tok, .y = y,
                       .y_stride = (size_t)w->ne[1]};
    dc_matmul_many(pool, &op, 1, scratch);
}

dc_tensor dc_tensor_slice(const dc_tensor *t, int64_t i) {
    dc_tensor s = *t;
    s.ne[2] = 1;
    s.data = (const char *)t->data + (size_t)i * (size_t)t->ne[1] * t->row_bytes;
    return s;
}

void dc_get_row(const dc_tensor *w, int64_t row, float *out) {
    dc_type_get(w->type)->to_float((const char *)w->data + row * w->row_bytes, out, w->ne[0]);
}
