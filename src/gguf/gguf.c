/* gguf.c - the validating GGUF v2/v3 reader declared in gguf.h.
 *
 * How it works: dc_gguf_open() mmaps the file read-only (the fd is closed right
 * after) and hands the mapping to dc_gguf_open_buffer(), which parses it with one
 * bounds-checked cursor (`reader`: read_u32 / read_u64 / read_str ...). Every
 * read first checks the bytes left, so a truncated or lying file fails with a
 * message instead of reading past the end.
 *
 * The metadata is walked twice by the same code: a measuring pass validates
 * every kv and counts the string-array elements and nested-array values it
 * will need (`pool` with NULL storage), then exactly that many are allocated
 * and a filling pass stores them. Each count is bounded by the bytes it
 * occupies (n elements need >= n * smallest element size bytes), so nothing
 * is ever allocated from an unchecked count. Keys and tensor names go into
 * open-addressing hash indexes (duplicates rejected, O(1) lookups).
 *
 * Invariants after a successful open: every dc_gguf_str, numeric array and
 * tensor extent (padded to the alignment) lies inside the buffer; arrays nest
 * at most DC_GGUF_MAX_DEPTH deep; bools are 0/1; keys are non-empty and free
 * of NUL bytes; tensor dims are in 1..INT64_MAX with a representable element
 * count and byte size; tensor types are known with ne[0] a whole number of
 * blocks; offsets are aligned. Reader-owned memory (kvs, tensors, the string
 * and value pools, indexes, the path copy) is allocated at open and freed by
 * dc_gguf_close(), also on every error path.
 */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../quant/quant.h"

#define DC_GGUF_MAX_DEPTH 8
#define DC_GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_HEADER_BYTES 24 /* magic, version, n_tensors, n_kv */
/* Smallest encodings, used to bound counts by the bytes left. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)                 /* key len, 1-byte key, type, u8 value */
#define MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8) /* name len, 1-byte name, n_dims, ne[0], type, offset */
#define MIN_ARRAY_BYTES (4 + 8)                     /* element type, count */
#define NAME_SHOW 72                                /* bytes of a key / name shown in messages */

/* Open-addressing index of names: slot holds entry index + 1, 0 = empty. */
typedef dc_gguf_str (*name_of_fn)(const dc_gguf_file *f, uint64_t i);
typedef struct {
    uint64_t *slot;
    uint64_t mask;
    name_of_fn name_of;
} name_index;

struct dc_gguf_file {
    char *path;
    const uint8_t *base;
    uint64_t size;
    void *map; /* owned mapping (dc_gguf_open), NULL for a caller's buffer */
    uint32_t version;
    uint64_t alignment;
    uint64_t n_kv, n_tensors;
    dc_gguf_kv *kvs;
    dc_gguf_tensor *tensors;
    dc_gguf_str *str_pool;   /* elements of every string array */
    dc_gguf_value *val_pool; /* elements of every array of arrays */
    name_index kv_index, tensor_index;
};

/* Bounds-checked cursor over the buffer; pos <= size always holds. */
typedef struct {
    const uint8_t *base;
    uint64_t size, pos;
    const char *name; /* file name for messages */
    char ctx[160];    /* what is being read, e.g. "key 'general.name'" */
    char *err;
} reader;

/* Element storage for arrays; NULL storage = measuring pass (count only). */
typedef struct {
    dc_gguf_str *strs;
    dc_gguf_value *vals;
    uint64_t n_strs, n_vals;
} pool;

/* ---- messages ---- */

const char *dc_gguf_str_escape(dc_gguf_str s, char *out, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (uint64_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\';
        if (o + (plain ? 1 : 4) + 4 > cap) { /* keep room for "..." and NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

static void set_ctx(reader *r, const char *fmt, ...) DC_PRINTF(2, 3);
static void set_ctx(reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->ctx, sizeof r->ctx, fmt, ap);
    va_end(ap);
}

static void set_ctx_named(reader *r, const char *what, dc_gguf_str s) {
    char shown[NAME_SHOW];
    set_ctx(r, "%s '%s'", what, dc_gguf_str_escape(s, shown, sizeof shown));
}

/* "FILE: CONTEXT: detail"; returns false for `return fail(...)`. */
static bool fail(reader *r, const char *fmt, ...) DC_PRINTF(2, 3);
static bool fail(reader *r, const char *fmt, ...) {
    char detail[DC_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    dc_err(r->err, "%s: %s: %s", r->name, r->ctx, detail);
    return false;
}

/* ---- cursor ---- */

static uint64_t bytes_left(const reader *r) { return r->size - r->pos; }

static bool need(reader *r, uint64_t n, const char *field) {
    if (n <= bytes_left(r)) return true;
    return fail(r, "truncated: %s needs %llu bytes at offset %llu, %llu left", field,
                (unsigned long long)n, (unsigned long long)r->pos, (unsigned long long)bytes_left(r));
}

static uint64_t load_le(const uint8_t *p, unsigned nbytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < nbytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool read_uint(reader *r, unsigned nbytes, uint64_t *out, const char *field) {
    if (!need(r, nbytes, field)) return false;
    *out = load_le(r->base + r->pos, nbytes);
    r->pos += nbytes;
    return true;
}

static bool read_u32(reader *r, uint32_t *out, const char *field) {
    uint64_t v;
    if (!read_uint(r, 4, &v, field)) return false;
    *out = (uint32_t)v;
    return true;
}

static bool read_u64(reader *r, uint64_t *out, const char *field) { return read_uint(r, 8, out, field); }

static bool read_str(reader *r, dc_gguf_str *out, const char *field) {
    uint64_t len;
    if (!read_u64(r, &len, field) || !need(r, len, field)) return false;
    out->ptr = (const char *)r->base + r->pos;
    out->len = len;
    r->pos += len;
    return true;
}

static bool skip(reader *r, uint64_t n, const char *field) {
    if (!need(r, n, field)) return false;
    r->pos += n;
    return true;
}

/* ---- value types ---- */

static const char *const type_names[GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
};
/* Encoded size of a scalar; 0 for string and array. */
static const unsigned scalar_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *dc_gguf_type_name(dc_gguf_type t) {
    return (unsigned)t < GGUF_TYPE_COUNT ? type_names[t] : "unknown";
}

static bool is_unsigned(dc_gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}
static bool is_signed(dc_gguf_type t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}
static bool is_float(dc_gguf_type t) { return t == GGUF_TYPE_FLOAT32 || t == GGUF_TYPE_FLOAT64; }

static uint64_t min_elem_size(dc_gguf_type t) {
    if (t == GGUF_TYPE_STRING) return 8;
    if (t == GGUF_TYPE_ARRAY) return MIN_ARRAY_BYTES;
    return scalar_size[t];
}

static int64_t sign_extend(uint64_t v, unsigned nbytes) {
    if (nbytes == 8) return (int64_t)v;
    uint64_t sign = (uint64_t)1 << (8 * nbytes - 1);
    return (int64_t)((v ^ sign) - sign);
}

static double float_bits(uint64_t v, unsigned nbytes) {
    if (nbytes == 4) {
        uint32_t b = (uint32_t)v;
        float x;
        memcpy(&x, &b, sizeof x);
        return x;
    }
    double x;
    memcpy(&x, &v, sizeof x);
    return x;
}

/* Stores raw little-endian scalar bits into the value's union member. */
static void set_scalar(dc_gguf_value *out, dc_gguf_type t, uint64_t raw) {
    unsigned n = scalar_size[t];
    if (is_unsigned(t)) out->u64 = raw;
    else if (is_signed(t)) out->i64 = sign_extend(raw, n);
    else if (is_float(t)) out->f64 = float_bits(raw, n);
    else out->b = raw != 0;
}

static bool parse_value(reader *r, pool *p, dc_gguf_type t, int depth, dc_gguf_value *out);

static bool check_bools(reader *r, const uint8_t *b, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (b[i] > 1) return fail(r, "bool array element %llu is %u, not 0 or 1", (unsigned long long)i, b[i]);
    return true;
}

static bool parse_string_elems(reader *r, pool *p, uint64_t n, dc_gguf_value *out) {
    uint64_t first = p->n_strs;
    p->n_strs += n;
    out->arr.strs = p->strs ? p->strs + first : NULL;
    for (uint64_t i = 0; i < n; i++) {
        dc_gguf_str s;
        if (!read_str(r, &s, "string array element")) return false;
        if (p->strs) p->strs[first + i] = s;
    }
    return true;
}

static bool parse_array_elems(reader *r, pool *p, uint64_t n, int depth, dc_gguf_value *out) {
    uint64_t first = p->n_vals;
    p->n_vals += n;
    out->arr.arrs = p->vals ? p->vals + first : NULL;
    for (uint64_t i = 0; i < n; i++) {
        dc_gguf_value v;
        if (!parse_value(r, p, GGUF_TYPE_ARRAY, depth + 1, &v)) return false;
        if (p->vals) p->vals[first + i] = v;
    }
    return true;
}

static bool parse_array(reader *r, pool *p, int depth, dc_gguf_value *out) {
    if (depth >= DC_GGUF_MAX_DEPTH) return fail(r, "arrays nested deeper than %d levels", DC_GGUF_MAX_DEPTH);
    uint32_t et;
    uint64_t n;
    if (!read_u32(r, &et, "array element type")) return false;
    if (et >= GGUF_TYPE_COUNT) return fail(r, "array of unknown element type %u", et);
    if (!read_u64(r, &n, "array length")) return false;
    uint64_t min = min_elem_size((dc_gguf_type)et);
    if (n > bytes_left(r) / min)
        return fail(r, "array of %llu %s elements does not fit in the %llu bytes left", (unsigned long long)n,
                    type_names[et], (unsigned long long)bytes_left(r));
    out->arr.elem_type = (dc_gguf_type)et;
    out->arr.n = n;
    out->arr.data = r->base + r->pos;
    if (et == GGUF_TYPE_STRING) return parse_string_elems(r, p, n, out);
    if (et == GGUF_TYPE_ARRAY) return parse_array_elems(r, p, n, depth, out);
    if (et == GGUF_TYPE_BOOL && !check_bools(r, out->arr.data, n)) return false;
    return skip(r, n * min, "array data"); /* n * min <= bytes left: no overflow */
}

static bool parse_value(reader *r, pool *p, dc_gguf_type t, int depth, dc_gguf_value *out) {
    memset(out, 0, sizeof *out);
    out->type = t;
    if (t == GGUF_TYPE_STRING) return read_str(r, &out->str, "string value");
    if (t == GGUF_TYPE_ARRAY) return parse_array(r, p, depth, out);
    uint64_t raw;
    if (!read_uint(r, scalar_size[t], &raw, "value")) return false;
    if (t == GGUF_TYPE_BOOL && raw > 1) return fail(r, "bool value is %llu, not 0 or 1", (unsigned long long)raw);
    set_scalar(out, t, raw);
    return true;
}

/* ---- header and metadata ---- */

static bool parse_version(reader *r, dc_gguf_file *f) {
    if (!read_u32(r, &f->version, "version")) return false;
    uint32_t v = f->version;
    if (v == 2 || v == 3) return true;
    if (v == 1) return fail(r, "GGUF version 1 is not supported (only v2 and v3)");
    if (v >= (1u << 16) && __builtin_bswap32(v) <= 3)
        return fail(r, "big-endian GGUF (version field 0x%08x) is not supported", v);
    return fail(r, "unsupported GGUF version %u (only v2 and v3)", v);
}

static bool parse_header(reader *r, dc_gguf_file *f) {
    set_ctx(r, "header");
    if (r->size == 0) return fail(r, "empty file, not a GGUF model");
    if (r->size < 4 || memcmp(r->base, "GGUF", 4) != 0) {
        char shown[24];
        dc_gguf_str magic = {(const char *)r->base, r->size < 4 ? r->size : 4};
        return fail(r, "not a GGUF file (magic '%s', expected 'GGUF')", dc_gguf_str_escape(magic, shown, sizeof shown));
    }
    r->pos = 4;
    if (!parse_version(r, f) || !read_u64(r, &f->n_tensors, "tensor count") ||
        !read_u64(r, &f->n_kv, "metadata kv count"))
        return false;
    if (f->n_kv > bytes_left(r) / MIN_KV_BYTES)
        return fail(r, "metadata kv count %llu cannot fit in the %llu bytes left", (unsigned long long)f->n_kv,
                    (unsigned long long)bytes_left(r));
    if (f->n_tensors > bytes_left(r) / MIN_TENSOR_INFO_BYTES)
        return fail(r, "tensor count %llu cannot fit in the %llu bytes left", (unsigned long long)f->n_tensors,
                    (unsigned long long)bytes_left(r));
    return true;
}

static bool parse_key(reader *r, uint64_t i, dc_gguf_str *key) {
    set_ctx(r, "metadata kv #%llu", (unsigned long long)i);
    if (!read_str(r, key, "key")) return false;
    if (key->len == 0) return fail(r, "empty key");
    set_ctx_named(r, "key", *key);
    if (memchr(key->ptr, '\0', key->len)) return fail(r, "key contains a NUL byte");
    return true;
}

static bool parse_kv(reader *r, pool *p, uint64_t i, dc_gguf_kv *kv) {
    uint32_t t;
    if (!parse_key(r, i, &kv->key) || !read_u32(r, &t, "value type")) return false;
    if (t >= GGUF_TYPE_COUNT) return fail(r, "unknown value type %u", t);
    return parse_value(r, p, (dc_gguf_type)t, 0, &kv->value);
}

/* kvs == NULL: measuring pass. */
static bool parse_kvs(reader *r, pool *p, dc_gguf_kv *kvs, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        dc_gguf_kv kv;
        if (!parse_kv(r, p, i, &kv)) return false;
        if (kvs) kvs[i] = kv;
    }
    return true;
}

static void *alloc_array(uint64_t n, size_t elem) { return calloc(n ? n : 1, elem); }

/* Measures, allocates and fills the kvs and their array pools. */
static bool load_metadata(reader *r, dc_gguf_file *f) {
    uint64_t start = r->pos;
    pool p = {0};
    if (!parse_kvs(r, &p, NULL, f->n_kv)) return false;
    f->kvs = alloc_array(f->n_kv, sizeof *f->kvs);
    f->str_pool = alloc_array(p.n_strs, sizeof *f->str_pool);
    f->val_pool = alloc_array(p.n_vals, sizeof *f->val_pool);
    if (!f->kvs || !f->str_pool || !f->val_pool) return fail(r, "out of memory");
    r->pos = start;
    pool fill = {f->str_pool, f->val_pool, 0, 0};
    return parse_kvs(r, &fill, f->kvs, f->n_kv);
}

/* ---- name indexes ---- */

static uint64_t hash_bytes(const char *p, uint64_t len) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint64_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static dc_gguf_str key_of(const dc_gguf_file *f, uint64_t i) { return f->kvs[i].key; }
static dc_gguf_str tensor_name_of(const dc_gguf_file *f, uint64_t i) { return f->tensors[i].name; }

/* Index of the entry named (p, len), or UINT64_MAX with *hole = its free slot. */
static uint64_t index_lookup(const dc_gguf_file *f, const name_index *ix, const char *p, uint64_t len,
                             uint64_t *hole) {
    if (!ix->slot) return UINT64_MAX;
    for (uint64_t h = hash_bytes(p, len) & ix->mask;; h = (h + 1) & ix->mask) {
        uint64_t e = ix->slot[h];
        if (e == 0) {
            if (hole) *hole = h;
            return UINT64_MAX;
        }
        dc_gguf_str s = ix->name_of(f, e - 1);
        if (s.len == len && memcmp(s.ptr, p, len) == 0) return e - 1;
    }
}

/* Indexes entries 0..n-1; on a duplicate name fails naming it. */
static bool index_build(reader *r, const dc_gguf_file *f, name_index *ix, uint64_t n, const char *what) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2; /* n <= file size / 13: cannot overflow */
    ix->slot = calloc(cap, sizeof *ix->slot);
    if (!ix->slot) return fail(r, "out of memory");
    ix->mask = cap - 1;
    for (uint64_t i = 0; i < n; i++) {
        dc_gguf_str s = ix->name_of(f, i);
        uint64_t hole = 0;
        if (index_lookup(f, ix, s.ptr, s.len, &hole) != UINT64_MAX) {
            set_ctx_named(r, what, s);
            return fail(r, "duplicate %s", what);
        }
        ix->slot[hole] = i + 1;
    }
    return true;
}

/* ---- tensors ---- */

static bool load_alignment(reader *r, dc_gguf_file *f) {
    f->alignment = DC_GGUF_DEFAULT_ALIGNMENT;
    const dc_gguf_value *v = dc_gguf_find(f, "general.alignment");
    if (!v) return true;
    set_ctx(r, "key 'general.alignment'");
    if (v->type != GGUF_TYPE_UINT32) return fail(r, "type %s, expected u32", dc_gguf_type_name(v->type));
    if (v->u64 == 0 || (v->u64 & (v->u64 - 1)) != 0)
        return fail(r, "alignment %llu is not a nonzero power of two", (unsigned long long)v->u64);
    f->alignment = v->u64;
    return true;
}

static bool parse_tensor_info(reader *r, uint64_t i, dc_gguf_tensor *t) {
    set_ctx(r, "tensor info #%llu", (unsigned long long)i);
    if (!read_str(r, &t->name, "tensor name")) return false;
    set_ctx_named(r, "tensor", t->name);
    if (!read_u32(r, &t->n_dims, "n_dims")) return false;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return fail(r, "n_dims %u is not in 1..%d", t->n_dims, GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < t->n_dims && !read_u64(r, &ne, "dimension")) return false;
        if (ne < 1 || ne > INT64_MAX) return fail(r, "ne[%u] = %llu is not in 1..2^63-1", d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    return read_u32(r, &t->type, "tensor type") && read_u64(r, &t->offset, "data offset");
}

/* Element count and byte size of t, checking its type and overflow. */
static bool size_tensor(reader *r, dc_gguf_tensor *t) {
    const dc_type_traits *tt = dc_type_get(t->type);
    if (!tt || tt->block_size <= 0 || tt->type_size == 0) return fail(r, "unknown tensor type id %u", t->type);
    if (t->ne[0] % tt->block_size != 0)
        return fail(r, "ne[0] = %lld is not a multiple of the %s block size %lld", (long long)t->ne[0], tt->name,
                    (long long)tt->block_size);
    int64_t nel = t->ne[0];
    uint64_t nbytes = (uint64_t)(t->ne[0] / tt->block_size);
    bool ovf = __builtin_mul_overflow(nbytes, (uint64_t)tt->type_size, &nbytes);
    for (int d = 1; d < GGUF_MAX_DIMS; d++) {
        ovf |= __builtin_mul_overflow(nel, t->ne[d], &nel);
        ovf |= __builtin_mul_overflow(nbytes, (uint64_t)t->ne[d], &nbytes);
    }
    if (ovf) return fail(r, "shape [%lld, %lld, %lld, %lld] overflows the element count or byte size",
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
    t->nbytes = nbytes;
    return true;
}

static bool round_up(uint64_t x, uint64_t align, uint64_t *out) {
    if (__builtin_add_overflow(x, align - 1, out)) return false;
    *out &= ~(align - 1);
    return true;
}

/* Data [offset, offset + nbytes), padded to the alignment as GGUF writers
 * pad every tensor, must lie inside the file. */
static bool place_tensor(reader *r, const dc_gguf_file *f, uint64_t data_start, dc_gguf_tensor *t) {
    if (t->offset % f->alignment != 0)
        return fail(r, "data offset %llu is not a multiple of the alignment %llu", (unsigned long long)t->offset,
                    (unsigned long long)f->alignment);
    uint64_t end, padded, file_end;
    if (__builtin_add_overflow(t->offset, t->nbytes, &end) || !round_up(end, f->alignment, &padded) ||
        __builtin_add_overflow(data_start, padded, &file_end) || file_end > f->size)
        return fail(r, "data at offset %llu + %llu bytes (padded to a multiple of %llu) lies outside the %llu-byte data section (truncated file?)",
                    (unsigned long long)t->offset, (unsigned long long)t->nbytes, (unsigned long long)f->alignment,
                    (unsigned long long)(f->size > data_start ? f->size - data_start : 0));
    t->data = f->base + data_start + t->offset;
    return true;
}

static bool load_tensors(reader *r, dc_gguf_file *f) {
    set_ctx(r, "tensor infos");
    if (f->n_tensors > bytes_left(r) / MIN_TENSOR_INFO_BYTES)
        return fail(r, "tensor count %llu cannot fit in the %llu bytes left", (unsigned long long)f->n_tensors,
                    (unsigned long long)bytes_left(r));
    f->tensors = alloc_array(f->n_tensors, sizeof *f->tensors);
    if (!f->tensors) return fail(r, "out of memory");
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (!parse_tensor_info(r, i, &f->tensors[i]) || !size_tensor(r, &f->tensors[i])) return false;
    uint64_t data_start;
    if (!round_up(r->pos, f->alignment, &data_start)) return fail(r, "data section start overflows");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        set_ctx_named(r, "tensor", f->tensors[i].name);
        if (!place_tensor(r, f, data_start, &f->tensors[i])) return false;
    }
    return index_build(r, f, &f->tensor_index, f->n_tensors, "tensor name");
}

/* ---- open / close ---- */

dc_gguf_file *dc_gguf_open_buffer(const void *buf, size_t size, const char *name, char err[DC_ERR_LEN]) {
    static const uint8_t empty[1];
    dc_gguf_file *f = calloc(1, sizeof *f);
    char *path = strdup(name ? name : "<buffer>");
    if (!f || !path) {
        free(f);
        free(path);
        dc_err(err, "%s: out of memory", name ? name : "<buffer>");
        return NULL;
    }
    f->path = path;
    f->base = buf ? buf : empty;
    f->size = buf ? size : 0;
    f->kv_index.name_of = key_of;
    f->tensor_index.name_of = tensor_name_of;
    reader r = {.base = f->base, .size = f->size, .name = f->path, .err = err};
    if (parse_header(&r, f) && load_metadata(&r, f) && index_build(&r, f, &f->kv_index, f->n_kv, "key") &&
        load_alignment(&r, f) && load_tensors(&r, f))
        return f;
    dc_gguf_close(f);
    return NULL;
}

/* Maps the whole file read-only; *map stays NULL for an empty file (mmap
 * rejects length 0; the parser then reports the empty file). */
static bool map_file(const char *path, void **map, size_t *size, char err[DC_ERR_LEN]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dc_err(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool ok = false;
    *map = NULL;
    *size = 0;
    if (fstat(fd, &st) != 0) dc_err(err, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode)) dc_err(err, "%s: not a regular file", path);
    else if (st.st_size == 0) ok = true;
    else if ((*map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        *map = NULL;
        dc_err(err, "%s: cannot mmap: %s", path, strerror(errno));
    } else {
        *size = (size_t)st.st_size;
        ok = true;
    }
    close(fd);
    return ok;
}

dc_gguf_file *dc_gguf_open(const char *path, char err[DC_ERR_LEN]) {
    void *map = NULL;
    size_t size = 0;
    if (!map_file(path, &map, &size, err)) return NULL;
    dc_gguf_file *f = dc_gguf_open_buffer(map, size, path, err);
    if (f) f->map = map;
    else if (map) munmap(map, size);
    return f;
}

void dc_gguf_close(dc_gguf_file *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->size);
    free(f->kv_index.slot);
    free(f->tensor_index.slot);
    free(f->kvs);
    free(f->tensors);
    free(f->str_pool);
    free(f->val_pool);
    free(f->path);
    free(f);
}

/* ---- accessors ---- */

uint32_t dc_gguf_version(const dc_gguf_file *f) { return f->version; }
uint64_t dc_gguf_alignment(const dc_gguf_file *f) { return f->alignment; }
uint64_t dc_gguf_file_size(const dc_gguf_file *f) { return f->size; }
const char *dc_gguf_path(const dc_gguf_file *f) { return f->path; }
uint64_t dc_gguf_n_kv(const dc_gguf_file *f) { return f->n_kv; }
uint64_t dc_gguf_n_tensors(const dc_gguf_file *f) { return f->n_tensors; }

const dc_gguf_kv *dc_gguf_kv_at(const dc_gguf_file *f, uint64_t i) { return i < f->n_kv ? &f->kvs[i] : NULL; }

const dc_gguf_tensor *dc_gguf_tensor_at(const dc_gguf_file *f, uint64_t i) {
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const dc_gguf_value *dc_gguf_find(const dc_gguf_file *f, const char *key) {
    uint64_t i = index_lookup(f, &f->kv_index, key, strlen(key), NULL);
    return i == UINT64_MAX ? NULL : &f->kvs[i].value;
}

const dc_gguf_tensor *dc_gguf_find_tensor(const dc_gguf_file *f, const char *name) {
    uint64_t i = index_lookup(f, &f->tensor_index, name, strlen(name), NULL);
    return i == UINT64_MAX ? NULL : &f->tensors[i];
}

bool dc_gguf_str_eq(dc_gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

/* ---- typed lookups ---- */

static int lookup_error(const dc_gguf_file *f, const char *key, char *err, const char *what, const dc_gguf_value *v) {
    dc_err(err, "%s: key '%s': expected %s, found %s", f->path, key, what, dc_gguf_type_name(v->type));
    return -1;
}

int dc_gguf_get_u32(const dc_gguf_file *f, const char *key, uint32_t *out, char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    if (!is_unsigned(v->type) && !is_signed(v->type)) return lookup_error(f, key, err, "an integer", v);
    bool negative = is_signed(v->type) && v->i64 < 0;
    uint64_t x = is_signed(v->type) ? (uint64_t)v->i64 : v->u64;
    if (negative || x > UINT32_MAX) {
        dc_err(err, "%s: key '%s': value out of range for u32", f->path, key);
        return -1;
    }
    *out = (uint32_t)x;
    return 1;
}

int dc_gguf_get_f32(const dc_gguf_file *f, const char *key, float *out, char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    if (is_float(v->type)) *out = (float)v->f64;
    else if (is_unsigned(v->type)) *out = (float)v->u64;
    else if (is_signed(v->type)) *out = (float)v->i64;
    else return lookup_error(f, key, err, "a number", v);
    return 1;
}

int dc_gguf_get_bool(const dc_gguf_file *f, const char *key, bool *out, char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    if (v->type != GGUF_TYPE_BOOL) return lookup_error(f, key, err, "a bool", v);
    *out = v->b;
    return 1;
}

int dc_gguf_get_str(const dc_gguf_file *f, const char *key, dc_gguf_str *out, char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    if (v->type != GGUF_TYPE_STRING) return lookup_error(f, key, err, "a string", v);
    *out = v->str;
    return 1;
}

int dc_gguf_get_arr(const dc_gguf_file *f, const char *key, dc_gguf_type elem_type, const dc_gguf_value **out,
                 char err[DC_ERR_LEN]) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (!v) return 0;
    if (v->type != GGUF_TYPE_ARRAY || v->arr.elem_type != elem_type) {
        char what[32];
        snprintf(what, sizeof what, "an array of %s", dc_gguf_type_name(elem_type));
        if (v->type == GGUF_TYPE_ARRAY)
            dc_err(err, "%s: key '%s': expected %s, found an array of %s", f->path, key, what,
                   dc_gguf_type_name(v->arr.elem_type));
        else lookup_error(f, key, err, what, v);
        return -1;
    }
    *out = v;
    return 1;
}

int64_t dc_gguf_arr_i64(const dc_gguf_value *arr, uint64_t i) {
    dc_gguf_type t = arr->arr.elem_type;
    if (!is_unsigned(t) && !is_signed(t) && t != GGUF_TYPE_BOOL) return 0;
    unsigned n = scalar_size[t];
    uint64_t raw = load_le(arr->arr.data + i * n, n);
    return is_signed(t) ? sign_extend(raw, n) : (int64_t)raw;
}

double dc_gguf_arr_f64(const dc_gguf_value *arr, uint64_t i) {
    dc_gguf_type t = arr->arr.elem_type;
    if (t == GGUF_TYPE_UINT64) return (double)(uint64_t)dc_gguf_arr_i64(arr, i);
    if (!is_float(t)) return (double)dc_gguf_arr_i64(arr, i);
    unsigned n = scalar_size[t];
    return float_bits(load_le(arr->arr.data + i * n, n), n);
}
