/* gguf.h - read-only, validating reader for GGUF v2/v3 model files.
 *
 * The file is mmap'ed once; every string, array and tensor returned points
 * into that mapping (nothing is copied) and stays valid until dc_gguf_close().
 * dc_gguf_open() validates the whole header before returning: magic, version,
 * counts and lengths against the file size, overflow in size arithmetic,
 * value types, nesting depth of arrays, tensor dims (>= 1, product fits,
 * ne[0] multiple of the type's block size), known tensor types, alignment
 * (general.alignment, a power of two), tensor data offsets aligned and every
 * tensor extent inside the file. After a successful open, no accessor can
 * read outside the mapping. On failure it returns NULL with a one-line
 * message naming the file and the field (see base/err.h).
 *
 * Strings in the file are not NUL-terminated: dc_gguf_str carries a length.
 * Numeric array data may be unaligned: read it only via dc_gguf_arr_* helpers.
 */
#ifndef DC_GGUF_H
#define DC_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"

/* Metadata value types: ids as stored in the file (append-only). */
typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} dc_gguf_type;

typedef struct {
    const char *ptr; /* into the mapping, NOT NUL-terminated */
    uint64_t len;
} dc_gguf_str;

typedef struct dc_gguf_value dc_gguf_value;
struct dc_gguf_value {
    dc_gguf_type type;
    union {
        uint64_t u64;   /* UINT8/16/32/64 */
        int64_t i64;    /* INT8/16/32/64 */
        double f64;     /* FLOAT32/64 */
        bool b;         /* BOOL */
        dc_gguf_str str;   /* STRING */
        struct {        /* ARRAY */
            dc_gguf_type elem_type;
            uint64_t n;
            const uint8_t *data;     /* numeric/bool elements: raw little-endian, maybe unaligned */
            const dc_gguf_str *strs;    /* STRING elements: n entries (reader-owned) */
            const dc_gguf_value *arrs;  /* ARRAY elements (nested): n entries (reader-owned) */
        } arr;
    };
};

typedef struct {
    dc_gguf_str key;
    dc_gguf_value value;
} dc_gguf_kv;

#define GGUF_MAX_DIMS 4

typedef struct {
    dc_gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] contiguous; unused dims are 1 */
    uint32_t type;             /* ggml type id, see quant/quant.h */
    uint64_t offset;           /* relative to the data section */
    const void *data;          /* into the mapping */
    uint64_t nbytes;
} dc_gguf_tensor;

typedef struct dc_gguf_file dc_gguf_file;

/* Opens and validates `path`. NULL + message on any problem. */
dc_gguf_file *dc_gguf_open(const char *path, char err[DC_ERR_LEN]);
/* Same over a caller-owned buffer (used by the fuzzer and tests; not copied,
 * must outlive the dc_gguf_file). `name` is used in messages. */
dc_gguf_file *dc_gguf_open_buffer(const void *buf, size_t size, const char *name, char err[DC_ERR_LEN]);
void dc_gguf_close(dc_gguf_file *f);

uint32_t dc_gguf_version(const dc_gguf_file *f);
uint64_t dc_gguf_alignment(const dc_gguf_file *f);
uint64_t dc_gguf_file_size(const dc_gguf_file *f);
const char *dc_gguf_path(const dc_gguf_file *f);

uint64_t dc_gguf_n_kv(const dc_gguf_file *f);
const dc_gguf_kv *dc_gguf_kv_at(const dc_gguf_file *f, uint64_t i);
/* NULL when the key is absent. Key comparison is exact (bytes). */
const dc_gguf_value *dc_gguf_find(const dc_gguf_file *f, const char *key);

uint64_t dc_gguf_n_tensors(const dc_gguf_file *f);
const dc_gguf_tensor *dc_gguf_tensor_at(const dc_gguf_file *f, uint64_t i);
const dc_gguf_tensor *dc_gguf_find_tensor(const dc_gguf_file *f, const char *name);

/* Typed lookups. Each returns 1 when found and converted, 0 when the key is
 * absent, -1 when present but of an incompatible type or out of range (with a
 * message in err naming the key). Integer getters accept any integer type
 * whose value fits; float getters accept FLOAT32/FLOAT64 and integers. */
int dc_gguf_get_u32(const dc_gguf_file *f, const char *key, uint32_t *out, char err[DC_ERR_LEN]);
int dc_gguf_get_f32(const dc_gguf_file *f, const char *key, float *out, char err[DC_ERR_LEN]);
int dc_gguf_get_bool(const dc_gguf_file *f, const char *key, bool *out, char err[DC_ERR_LEN]);
int dc_gguf_get_str(const dc_gguf_file *f, const char *key, dc_gguf_str *out, char err[DC_ERR_LEN]);
/* An array of the given element type (GGUF_TYPE_STRING / numeric); returns the value. */
int dc_gguf_get_arr(const dc_gguf_file *f, const char *key, dc_gguf_type elem_type, const dc_gguf_value **out, char err[DC_ERR_LEN]);

/* Element reads from a numeric array value (index < n checked by caller). */
int64_t dc_gguf_arr_i64(const dc_gguf_value *arr, uint64_t i);  /* integer elements */
double dc_gguf_arr_f64(const dc_gguf_value *arr, uint64_t i);   /* float or integer elements */

/* true when s equals the NUL-terminated c string */
bool dc_gguf_str_eq(dc_gguf_str s, const char *c);
/* s as printable one-line text in out (cap >= 8): bytes outside 0x20..0x7e
 * and backslash become \xNN, cut with "..." when it does not fit. Returns out. */
const char *dc_gguf_str_escape(dc_gguf_str s, char *out, size_t cap);
const char *dc_gguf_type_name(dc_gguf_type t);

#endif
