/* loader.h - what model.c shares with the family files while loading:
 * reading `<arch>.*` metadata with range checks and binding tensors by name
 * with shape and type checks. Every failure writes a one-line message naming
 * the file and the key or tensor into ld->err and returns false. */
#ifndef DC_LOADER_H
#define DC_LOADER_H

#include "model.h"

struct dc_loader {
    deepc_model *m;
    const char *path;
    char *err;
};

/* `<arch>.<suffix>` as an integer in [lo, hi]; *out keeps its value when the
 * key is absent and !required. */
bool dc_load_u32(dc_loader *ld, const char *suffix, bool required, uint32_t lo, uint32_t hi, int32_t *out);
/* `<arch>.<suffix>` as a float in [lo, hi]; *out keeps its value when absent. */
bool dc_load_f32(dc_loader *ld, const char *suffix, float lo, float hi, float *out);
bool dc_load_bool(dc_loader *ld, const char *suffix, bool *out);

/* How a tensor is used, which decides the types it may have. */
typedef enum { DC_USE_VECTOR, DC_USE_MATRIX, DC_USE_ROWS } dc_tensor_use;

/* Binds tensor `fmt` (printf-style with the layer index) of shape
 * [ne0, ne1, ne2] (trailing 0s: fewer dims) to *t. Absent optional tensors
 * leave t->data NULL. VECTOR: F32 only; MATRIX: a type with a dot product;
 * ROWS: a type that dequantizes (embedding lookup). */
bool dc_bind(dc_loader *ld, dc_tensor *t, dc_tensor_use use, bool required, int64_t ne0, int64_t ne1, int64_t ne2,
             const char *fmt, int layer);

/* Family hooks (see dc_arch_info). */
bool dc_gqa_read_hparams(dc_loader *ld);
bool dc_gqa_bind(dc_loader *ld, int il);
bool dc_mla_read_hparams(dc_loader *ld);
bool dc_mla_bind(dc_loader *ld, int il);

#endif
