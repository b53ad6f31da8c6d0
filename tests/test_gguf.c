/* test_gguf.c - the GGUF reader against the fixtures and against corrupt files.
 *
 * 1. Every fixture model (DEEPC_FIXTURES/models/NAME.gguf) opens, and its kvs
 *    and tensors match the file's .expected.json: every metadata key (value,
 *    or array type and length), every tensor's name/type/ne in file order,
 *    n_params and model_size_bytes; plus the typed getters and lookups.
 * 2. Small GGUF files built here, each valid or broken in one named way
 *    (version, alignment, duplicates, bools, nesting, dims, types, offsets,
 *    data size) must open or fail as stated.
 * 3. Corrupt variants of fixture files, made in memory: truncations at many
 *    offsets, huge counts and lengths, bad fields located through the
 *    reader's own pointers into a valid parse, and seeded random byte flips.
 *    Variants that must fail are checked for NULL plus a one-line message;
 *    the rest only must not crash (each parse is walked, touching every
 *    tensor's first and last byte, so ASan sees any bad extent). Each variant
 *    is copied into an exactly sized allocation so ASan also catches reads
 *    past the end. At least 300 variants are required.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "gguf/gguf.h"
#include "quant/quant.h"

static int n_variants;

/* ---- helpers ---- */

/* out = dir/name with the ".gguf" of name replaced by suffix when suffix != NULL. */
static void model_path(char *out, size_t cap, const char *dir, const char *name, const char *suffix) {
    int stem = (int)strlen(name) - (suffix ? 5 : 0);
    if (snprintf(out, cap, "%s/%.*s%s", dir, stem, name, suffix ? suffix : "") >= (int)cap) out[0] = 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the *.gguf files in dir; returns the count. */
static int list_models(const char *dir, char ***out) {
    DIR *d = opendir(dir);
    int n = 0;
    char **names = NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        names = realloc(names, (size_t)(n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    if (d) closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static uint64_t n_elements(const dc_gguf_tensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];
    return n;
}

/* ---- 1. fixtures vs expected.json ---- */

static void check_metadata_value(const char *model, const char *key, const dc_gguf_value *v, const cJSON *j) {
    if (cJSON_IsString(j)) {
        CHECKF(v->type == GGUF_TYPE_STRING && dc_gguf_str_eq(v->str, j->valuestring), "%s: %s", model, key);
    } else if (cJSON_IsBool(j)) {
        CHECKF(v->type == GGUF_TYPE_BOOL && v->b == cJSON_IsTrue(j), "%s: %s", model, key);
    } else if (cJSON_IsNumber(j)) {
        double x = v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64 ? v->f64
                   : v->type == GGUF_TYPE_INT8 || v->type == GGUF_TYPE_INT16 || v->type == GGUF_TYPE_INT32 ||
                           v->type == GGUF_TYPE_INT64
                       ? (double)v->i64
                       : (double)v->u64;
        CHECKF(fabs(x - j->valuedouble) <= 1e-6 * fabs(j->valuedouble), "%s: %s = %g, want %g", model, key, x,
               j->valuedouble);
    } else {
        const cJSON *of = cJSON_GetObjectItem(j, "array_of"), *n = cJSON_GetObjectItem(j, "n");
        CHECKF(v->type == GGUF_TYPE_ARRAY && cJSON_IsString(of) && cJSON_IsNumber(n) &&
                   strcmp(dc_gguf_type_name(v->arr.elem_type), of->valuestring) == 0 && (double)v->arr.n == n->valuedouble,
               "%s: %s array", model, key);
    }
}

static void check_metadata(const char *model, const dc_gguf_file *f, const cJSON *meta) {
    CHECKF((int)dc_gguf_n_kv(f) == cJSON_GetArraySize(meta), "%s: n_kv %llu", model, (unsigned long long)dc_gguf_n_kv(f));
    for (const cJSON *j = meta ? meta->child : NULL; j; j = j->next) {
        const dc_gguf_value *v = dc_gguf_find(f, j->string);
        CHECKF(v != NULL, "%s: key %s missing", model, j->string);
        if (v) check_metadata_value(model, j->string, v, j);
    }
}

static void check_tensors(const char *model, const dc_gguf_file *f, const cJSON *json) {
    const cJSON *tensors = cJSON_GetObjectItem(json, "tensors");
    CHECKF((int)dc_gguf_n_tensors(f) == cJSON_GetArraySize(tensors), "%s: n_tensors", model);
    uint64_t params = 0, bytes = 0, i = 0;
    for (const cJSON *j = tensors ? tensors->child : NULL; j && i < dc_gguf_n_tensors(f); j = j->next, i++) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(f, i);
        const char *name = cJSON_GetObjectItem(j, "name")->valuestring;
        const cJSON *ne = cJSON_GetObjectItem(j, "ne");
        CHECKF(dc_gguf_str_eq(t->name, name), "%s: tensor %llu name", model, (unsigned long long)i);
        CHECKF(strcmp(dc_type_get(t->type)->name, cJSON_GetObjectItem(j, "type")->valuestring) == 0, "%s: %s type",
               model, name);
        CHECKF((int)t->n_dims == cJSON_GetArraySize(ne), "%s: %s n_dims", model, name);
        for (int d = 0; d < cJSON_GetArraySize(ne) && d < GGUF_MAX_DIMS; d++)
            CHECKF((double)t->ne[d] == cJSON_GetArrayItem(ne, d)->valuedouble, "%s: %s ne[%d]", model, name, d);
        CHECKF(dc_gguf_find_tensor(f, name) == t, "%s: find_tensor %s", model, name);
        params += n_elements(t);
        bytes += t->nbytes;
    }
    CHECKF((double)params == cJSON_GetObjectItem(json, "n_params")->valuedouble, "%s: n_params", model);
    CHECKF((double)bytes == cJSON_GetObjectItem(json, "model_size_bytes")->valuedouble, "%s: size", model);
}

static void check_getters(const char *model, const dc_gguf_file *f, const cJSON *json) {
    char err[DC_ERR_LEN] = "", key[128];
    dc_gguf_str arch;
    CHECK(dc_gguf_get_str(f, "general.architecture", &arch, err) == 1);
    snprintf(key, sizeof key, "%.*s.embedding_length", (int)arch.len, arch.ptr);
    uint32_t u = 0;
    CHECKF(dc_gguf_get_u32(f, key, &u, err) == 1 && u == 256, "%s: %s", model, key);
    snprintf(key, sizeof key, "%.*s.rope.freq_base", (int)arch.len, arch.ptr);
    float x = 0;
    CHECKF(dc_gguf_get_f32(f, key, &x, err) == 1 && x >= 1e4f, "%s: %s", model, key);
    const dc_gguf_value *tokens = NULL, *types = NULL;
    double n_vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "vocab"), "n_vocab")->valuedouble;
    CHECK(dc_gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens, err) == 1 &&
          (double)tokens->arr.n == n_vocab && tokens->arr.strs[0].len > 0);
    CHECK(dc_gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &types, err) == 1 &&
          dc_gguf_arr_i64(types, 0) >= 1 && dc_gguf_arr_i64(types, types->arr.n - 1) <= 6);
    bool b;
    CHECK(dc_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, err) == 1);
    err[0] = 0;
    CHECK(dc_gguf_get_u32(f, "general.architecture", &u, err) == -1 && err[0] && !strchr(err, '\n'));
    err[0] = 0;
    CHECK(dc_gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_INT32, &types, err) == -1 && err[0]);
    CHECK(dc_gguf_get_u32(f, "no.such.key", &u, err) == 0 && dc_gguf_find(f, "") == NULL);
    CHECK(dc_gguf_find_tensor(f, "no.such.tensor") == NULL && dc_gguf_kv_at(f, dc_gguf_n_kv(f)) == NULL &&
          dc_gguf_tensor_at(f, dc_gguf_n_tensors(f)) == NULL);
    CHECK(dc_gguf_version(f) == 3 && dc_gguf_alignment(f) == 32);
}

static void check_fixture(const char *dir, const char *model) {
    char path[1024], json_path[1024], err[DC_ERR_LEN] = "";
    model_path(path, sizeof path, dir, model, NULL);
    model_path(json_path, sizeof json_path, dir, model, ".expected.json");
    size_t n;
    char *text = (char *)fixture_read_file(json_path, &n);
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    dc_gguf_file *f = dc_gguf_open(path, err);
    CHECKF(f != NULL, "%s", err);
    CHECKF(json != NULL, "cannot read %s", json_path);
    if (f && json) {
        CHECK(strcmp(dc_gguf_path(f), path) == 0);
        check_metadata(model, f, cJSON_GetObjectItem(json, "metadata"));
        check_tensors(model, f, json);
        check_getters(model, f, json);
    }
    dc_gguf_close(f);
    cJSON_Delete(json);
}

static void test_fixtures(const char *dir) {
    char **names;
    int n = list_models(dir, &names);
    CHECKF(n >= 10, "only %d models in %s", n, dir);
    for (int i = 0; i < n; i++) check_fixture(dir, names[i]);
    free_names(names, n);
    char err[DC_ERR_LEN] = "";
    CHECK(dc_gguf_open("/nonexistent/x.gguf", err) == NULL && strstr(err, "/nonexistent/x.gguf"));
    CHECK(dc_gguf_open(dir, err) == NULL && strstr(err, "not a regular file"));
    CHECK(dc_gguf_open("/dev/null", err) == NULL && err[0]);
}

/* ---- opening variants ---- */

/* s as a C string in out, false when it does not fit or holds a NUL. */
static bool c_string(dc_gguf_str s, char *out, size_t cap) {
    if (s.len >= cap || memchr(s.ptr, 0, s.len)) return false;
    memcpy(out, s.ptr, s.len);
    out[s.len] = 0;
    return true;
}

/* Touches every kv and tensor a successful parse exposes; lookups by name
 * find the same entries. */
static void walk(const dc_gguf_file *f) {
    volatile uint64_t sink = 0;
    char name[256];
    for (uint64_t i = 0; i < dc_gguf_n_kv(f); i++) {
        const dc_gguf_kv *kv = dc_gguf_kv_at(f, i);
        CHECK(kv->key.len > 0 && (!c_string(kv->key, name, sizeof name) || dc_gguf_find(f, name) == &kv->value));
        const dc_gguf_value *v = &kv->value;
        if (v->type == GGUF_TYPE_STRING && v->str.len) sink += (uint64_t)v->str.ptr[v->str.len - 1];
        if (v->type == GGUF_TYPE_ARRAY && v->arr.n && v->arr.elem_type == GGUF_TYPE_STRING)
            sink += v->arr.strs[v->arr.n - 1].len;
        else if (v->type == GGUF_TYPE_ARRAY && v->arr.n && v->arr.elem_type != GGUF_TYPE_ARRAY)
            sink += dc_gguf_arr_f64(v, v->arr.n - 1) > 0;
    }
    for (uint64_t i = 0; i < dc_gguf_n_tensors(f); i++) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(f, i);
        CHECK(!c_string(t->name, name, sizeof name) || dc_gguf_find_tensor(f, name) == t);
        const uint8_t *d = t->data;
        sink += d[0] + d[t->nbytes - 1];
    }
    (void)sink;
}

/* Opens a private exactly-sized copy; checks failure when must_fail. */
static void try_variant(const uint8_t *data, size_t size, bool must_fail, const char *label) {
    char err[DC_ERR_LEN] = "";
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    n_variants++;
    dc_gguf_file *f = dc_gguf_open_buffer(copy, size, label, err);
    if (f) {
        CHECKF(!must_fail, "%s: accepted", label);
        walk(f);
        dc_gguf_close(f);
    } else {
        CHECKF(err[0] && !strchr(err, '\n') && strncmp(err, label, strlen(label)) == 0, "%s: message '%s'", label,
               err);
    }
    free(copy);
}

/* ---- 2. crafted files ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_le(buf *b, uint64_t v, int nbytes) {
    for (int i = 0; i < nbytes; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}
static void put_str(buf *b, const char *s, size_t len) {
    put_le(b, len, 8);
    put(b, s, len);
}
static void put_key(buf *b, const char *key, uint32_t type) {
    put_str(b, key, strlen(key));
    put_le(b, type, 4);
}

/* One small file: kv general.architecture="test", optional kvs, tensor "w"
 * (f32 [8] at offset 0 unless changed) and an optional second tensor. */
typedef struct {
    uint32_t version;
    bool has_align;
    uint32_t align_type;
    uint64_t align;
    const char *extra_key; /* extra kv with extra_type (NULL: none) */
    size_t extra_key_len;
    uint32_t extra_type;   /* scalar: 1 byte; ARRAY: of arr_elem, 1 element */
    uint32_t arr_elem;
    uint8_t extra_byte;    /* the scalar / the element's value */
    int nest;              /* > 0: kv "test.nest", arrays nested this deep */
    uint32_t n_tensors;
    uint32_t n_dims, type;
    uint64_t ne[5], offset;
    const char *name2;     /* second tensor's name (f32 [8] at offset 32) */
    size_t data_len;
} craft;

static craft craft_default(void) {
    return (craft){.version = 3, .align_type = GGUF_TYPE_UINT32, .align = 32, .extra_type = GGUF_TYPE_UINT8,
                   .extra_byte = 1, .n_tensors = 1, .n_dims = 1, .type = DC_TYPE_F32, .ne = {8, 1, 1, 1, 1},
                   .data_len = 64};
}

static void put_nested(buf *b, int depth) {
    put_le(b, depth > 1 ? GGUF_TYPE_ARRAY : GGUF_TYPE_UINT8, 4);
    put_le(b, 1, 8);
    if (depth > 1) put_nested(b, depth - 1);
    else put_le(b, 7, 1);
}

/* One array element of type t with value v ("x" for a string). */
static void put_elem(buf *b, uint32_t t, uint8_t v) {
    static const int size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == GGUF_TYPE_STRING) put_str(b, "x", 1);
    else put_le(b, v, t < GGUF_TYPE_COUNT ? size[t] : 1);
}

static void put_kvs(buf *b, const craft *c) {
    put_key(b, "general.architecture", GGUF_TYPE_STRING);
    put_str(b, "test", 4);
    if (c->has_align) {
        put_key(b, "general.alignment", c->align_type);
        put_le(b, c->align, c->align_type == GGUF_TYPE_UINT64 ? 8 : 4);
    }
    if (c->extra_key) {
        put_str(b, c->extra_key, c->extra_key_len ? c->extra_key_len : strlen(c->extra_key));
        put_le(b, c->extra_type, 4);
        if (c->extra_type == GGUF_TYPE_ARRAY) {
            put_le(b, c->arr_elem, 4);
            put_le(b, 1, 8);
            put_elem(b, c->arr_elem, c->extra_byte);
        } else {
            put_le(b, c->extra_byte, 1);
        }
    }
    if (c->nest) {
        put_key(b, "test.nest", GGUF_TYPE_ARRAY);
        put_nested(b, c->nest);
    }
}

static void put_tensor_info(buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                            uint64_t offset) {
    put_str(b, name, strlen(name));
    put_le(b, n_dims, 4);
    for (uint32_t d = 0; d < n_dims && d < 5; d++) put_le(b, ne[d], 8);
    put_le(b, type, 4);
    put_le(b, offset, 8);
}

static void build(buf *b, const craft *c) {
    b->n = 0;
    put(b, "GGUF", 4);
    put_le(b, c->version, 4);
    put_le(b, c->n_tensors + (c->name2 != NULL), 8);
    put_le(b, 1 + c->has_align + (c->extra_key != NULL) + (c->nest > 0), 8);
    put_kvs(b, c);
    if (c->n_tensors) put_tensor_info(b, "w", c->n_dims, c->ne, c->type, c->offset);
    static const uint64_t ne8[1] = {8};
    if (c->name2) put_tensor_info(b, c->name2, 1, ne8, DC_TYPE_F32, 32);
    if (!c->n_tensors && !c->name2) return;
    uint64_t a = c->has_align && c->align && !(c->align & (c->align - 1)) ? c->align : 32;
    while (b->n % a) put_le(b, 0, 1);
    for (size_t i = 0; i < c->data_len; i++) put_le(b, 0, 1);
}

static void try_craft(buf *b, const craft *c, bool must_fail, const char *label) {
    build(b, c);
    try_variant(b->p, b->n, must_fail, label);
    if (!must_fail) { /* must open */
        char err[DC_ERR_LEN] = "";
        dc_gguf_file *f = dc_gguf_open_buffer(b->p, b->n, label, err);
        CHECKF(f != NULL, "%s: rejected: %s", label, err);
        dc_gguf_close(f);
    }
}

static void test_crafted(void) {
    buf b = {0};
    craft c = craft_default();
    try_craft(&b, &c, false, "valid");
    c.version = 2, try_craft(&b, &c, false, "version 2");
    const uint32_t bad_versions[] = {0, 1, 4, 0x03000000, 0xffffffff};
    for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++)
        c = craft_default(), c.version = bad_versions[i], try_craft(&b, &c, true, "bad version");
    const uint64_t good_align[] = {1, 32, 64, 4096}, bad_align[] = {0, 3, 48, 0x80000001};
    for (size_t i = 0; i < 4; i++) {
        c = craft_default(), c.has_align = true, c.align = good_align[i];
        c.data_len = good_align[i] > 64 ? good_align[i] : 64;
        try_craft(&b, &c, false, "alignment ok");
        c.align = bad_align[i], try_craft(&b, &c, true, "bad alignment");
    }
    c = craft_default(), c.has_align = true, c.align_type = GGUF_TYPE_UINT64, try_craft(&b, &c, true, "align u64");
    c = craft_default(), c.extra_key = "general.architecture", try_craft(&b, &c, true, "duplicate key");
    c.extra_key = "test.extra", try_craft(&b, &c, false, "extra key");
    c.extra_key = "", try_craft(&b, &c, true, "empty key");
    c.extra_key = "a\0b", c.extra_key_len = 3, try_craft(&b, &c, true, "key with NUL");
    c = craft_default(), c.extra_key = "test.b", c.extra_type = GGUF_TYPE_BOOL;
    try_craft(&b, &c, false, "bool 1");
    c.extra_byte = 2, try_craft(&b, &c, true, "bool 2");
    c.extra_type = 13, try_craft(&b, &c, true, "value type 13");
    c.extra_type = 0xffffffff, try_craft(&b, &c, true, "value type 2^32-1");
    c.extra_type = GGUF_TYPE_ARRAY;
    c.extra_byte = 1;
    const uint32_t ok_elems[] = {GGUF_TYPE_STRING, GGUF_TYPE_UINT64, GGUF_TYPE_FLOAT64, GGUF_TYPE_INT8};
    for (size_t i = 0; i < 4; i++) c.arr_elem = ok_elems[i], try_craft(&b, &c, false, "array ok");
    c.arr_elem = GGUF_TYPE_BOOL, try_craft(&b, &c, false, "bool array 1");
    c.extra_byte = 2, try_craft(&b, &c, true, "bool array 2");
    c.arr_elem = 13, try_craft(&b, &c, true, "array element type 13");
    c = craft_default(), c.nest = 8, try_craft(&b, &c, false, "nested 8");
    c.nest = 9, try_craft(&b, &c, true, "nested 9");
    c.nest = 200, try_craft(&b, &c, true, "nested 200");
    c = craft_default(), c.n_tensors = 0, try_craft(&b, &c, false, "no tensors");
    const uint32_t bad_dims[] = {0, 5, 0xffffffff};
    for (size_t i = 0; i < 3; i++) c = craft_default(), c.n_dims = bad_dims[i], try_craft(&b, &c, true, "bad n_dims");
    c = craft_default(), c.n_dims = 4, try_craft(&b, &c, false, "4 dims");
    const uint64_t bad_ne[][2] = {{0, 1}, {8, 0}, {1ull << 63, 1}, {8, 1ull << 61}, {8, 1ull << 62}, {~0ull, 1}};
    for (size_t i = 0; i < 6; i++)
        c = craft_default(), c.n_dims = 2, c.ne[0] = bad_ne[i][0], c.ne[1] = bad_ne[i][1],
        try_craft(&b, &c, true, "bad ne");
    const uint32_t bad_types[] = {4, 5, DC_TYPE_COUNT, 1000, 0xffffffff};
    for (size_t i = 0; i < 5; i++) c = craft_default(), c.type = bad_types[i], try_craft(&b, &c, true, "bad type");
    c = craft_default(), c.type = DC_TYPE_Q4_0, try_craft(&b, &c, true, "q4_0 ne[0] 8");
    c.ne[0] = 32, try_craft(&b, &c, false, "q4_0 ne[0] 32");
    const uint64_t bad_offsets[] = {4, 31, 64, ~0ull - 31, 1ull << 63};
    for (size_t i = 0; i < 5; i++) c = craft_default(), c.offset = bad_offsets[i], try_craft(&b, &c, true, "offset");
    c = craft_default(), c.offset = 32, try_craft(&b, &c, false, "offset 32");
    const size_t bad_data[] = {0, 1, 31, 63};
    for (size_t i = 0; i < 4; i++)
        c = craft_default(), c.name2 = "v", c.data_len = bad_data[i], try_craft(&b, &c, true, "short data");
    c = craft_default(), c.name2 = "v", try_craft(&b, &c, false, "two tensors");
    c.name2 = "w", try_craft(&b, &c, true, "duplicate tensor");
    free(b.p);
}

/* ---- 3. corrupt fixture variants ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) { /* xorshift64*, fixed seed: deterministic */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void store_le(uint8_t *p, uint64_t v, int nbytes) {
    for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A copy of the file with nbytes at pos replaced by v, then opened. */
static void try_patch(const uint8_t *raw, size_t size, size_t pos, uint64_t v, int nbytes, bool must_fail,
                      const char *label) {
    uint8_t *b = malloc(size);
    memcpy(b, raw, size);
    store_le(b + pos, v, nbytes);
    try_variant(b, size, must_fail, label);
    free(b);
}

static const uint64_t huge[] = {0x7fffffffffffffffull, 0x100000007ull, 0xffffffffffffffffull, 0x8000000000000000ull};

static void truncations(const uint8_t *raw, size_t size, size_t data_start) {
    for (size_t cut = 0; cut <= 64; cut++) try_variant(raw, cut, true, "truncated header");
    for (int i = 1; i < 40; i++) try_variant(raw, data_start * (size_t)i / 40, true, "truncated metadata");
    for (size_t d = 0; d < 3; d++) try_variant(raw, data_start - 1 + d, true, "truncated at data start");
    for (int i = 1; i < 20; i++) try_variant(raw, data_start + (size - data_start) * (size_t)i / 20, true, "truncated data");
    const size_t tail[] = {1, 2, 31, 32, 33};
    for (size_t i = 0; i < 5; i++) try_variant(raw, size - tail[i], true, "truncated end");
}

static void header_fields(const uint8_t *raw, size_t size) {
    for (size_t i = 0; i < 4; i++) try_patch(raw, size, i, 'X', 1, true, "bad magic");
    const uint32_t versions[] = {0, 1, 4, 0x03000000};
    for (size_t i = 0; i < 4; i++) try_patch(raw, size, 4, versions[i], 4, true, "bad version");
    for (size_t i = 0; i < 4; i++) {
        try_patch(raw, size, 8, huge[i], 8, true, "huge n_tensors");
        try_patch(raw, size, 16, huge[i], 8, true, "huge n_kv");
    }
    uint64_t n_t = 0, n_kv = 0;
    memcpy(&n_t, raw + 8, 8), memcpy(&n_kv, raw + 16, 8);
    try_patch(raw, size, 8, n_t + 1, 8, false, "n_tensors + 1");
    try_patch(raw, size, 8, n_t - 1, 8, false, "n_tensors - 1");
    try_patch(raw, size, 16, n_kv + 1, 8, false, "n_kv + 1");
    try_patch(raw, size, 16, n_kv - 1, 8, false, "n_kv - 1");
}

static void kv_fields(const uint8_t *raw, size_t size, const dc_gguf_file *f) {
    for (uint64_t i = 0; i < dc_gguf_n_kv(f); i += 3) {
        const dc_gguf_kv *kv = dc_gguf_kv_at(f, i);
        size_t key = (size_t)((const uint8_t *)kv->key.ptr - raw), type = key + kv->key.len;
        for (size_t h = 0; h < 4; h++) try_patch(raw, size, key - 8, huge[h], 8, true, "huge key length");
        try_patch(raw, size, key - 8, 0, 8, true, "empty key");
        try_patch(raw, size, type, 13, 4, true, "value type 13");
        try_patch(raw, size, type, 0x80000000u, 4, true, "value type 2^31");
        if (kv->value.type == GGUF_TYPE_STRING)
            try_patch(raw, size, type + 4, huge[i % 4], 8, true, "huge string length");
        if (kv->value.type == GGUF_TYPE_BOOL) try_patch(raw, size, type + 4, 2, 1, true, "bool 2");
        if (kv->value.type == GGUF_TYPE_ARRAY) {
            try_patch(raw, size, type + 4, 99, 4, true, "array element type 99");
            for (size_t h = 0; h < 4; h++) try_patch(raw, size, type + 8, huge[h], 8, true, "huge array length");
        }
    }
}

static void tensor_fields(const uint8_t *raw, size_t size, const dc_gguf_file *f) {
    for (uint64_t i = 0; i < dc_gguf_n_tensors(f); i += 4) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(f, i);
        size_t name = (size_t)((const uint8_t *)t->name.ptr - raw), dims = name + t->name.len;
        size_t type = dims + 4 + 8 * t->n_dims, offset = type + 4;
        try_patch(raw, size, name - 8, huge[i % 4], 8, true, "huge name length");
        try_patch(raw, size, dims, 0, 4, true, "n_dims 0");
        try_patch(raw, size, dims, 5, 4, true, "n_dims 5");
        try_patch(raw, size, dims + 4, 0, 8, true, "ne[0] 0");
        try_patch(raw, size, dims + 4, huge[3], 8, true, "ne[0] 2^63");
        try_patch(raw, size, dims + 4, t->ne[0] + 1, 8, dc_type_get(t->type)->block_size > 1, "ne[0] + 1");
        try_patch(raw, size, type, DC_TYPE_COUNT + (uint32_t)i, 4, true, "bad type");
        try_patch(raw, size, type, 4, 4, true, "removed type 4");
        try_patch(raw, size, offset, t->offset + 1, 8, true, "misaligned offset");
        try_patch(raw, size, offset, t->offset + size, 8, true, "offset past end");
        try_patch(raw, size, offset, ~0ull - 31, 8, true, "offset 2^64-32");
    }
}

static void random_flips(const uint8_t *raw, size_t size, size_t data_start) {
    uint8_t *b = malloc(size);
    for (int i = 0; i < 60; i++) {
        memcpy(b, raw, size);
        int n = 1 << (rng() % 4);
        for (int k = 0; k < n; k++) {
            const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80, (uint8_t)rng()};
            b[4 + rng() % (data_start - 4)] = vals[rng() % 5];
        }
        try_variant(b, size, false, "random flips");
    }
    for (int i = 0; i < 20; i++) {
        memcpy(b, raw, size);
        store_le(b + 4 + rng() % (data_start - 12), huge[rng() % 4], 8);
        try_variant(b, size, false, "random huge value");
    }
    free(b);
}

static void corrupt_fixture(const char *dir, const char *model) {
    char path[1024], err[DC_ERR_LEN] = "";
    model_path(path, sizeof path, dir, model, NULL);
    size_t size;
    uint8_t *raw = fixture_read_file(path, &size);
    dc_gguf_file *f = raw ? dc_gguf_open_buffer(raw, size, model, err) : NULL;
    CHECKF(f != NULL, "%s: %s", path, err);
    if (f) {
        const dc_gguf_tensor *t0 = dc_gguf_tensor_at(f, 0);
        size_t data_start = (size_t)((const uint8_t *)t0->data - raw) - t0->offset;
        truncations(raw, size, data_start);
        header_fields(raw, size);
        kv_fields(raw, size, f);
        tensor_fields(raw, size, f);
        random_flips(raw, size, data_start < 8192 ? data_start : 8192);
    }
    dc_gguf_close(f);
    free(raw);
}

static void test_escape(void) {
    char out[16];
    dc_gguf_str s = {"a\n\x01\\b\xff", 6};
    CHECK(strcmp(dc_gguf_str_escape(s, out, sizeof out), "a\\x0a\\x01...") == 0);
    s = (dc_gguf_str){"abc", 3};
    CHECK(strcmp(dc_gguf_str_escape(s, out, sizeof out), "abc") == 0);
    s = (dc_gguf_str){"0123456789abcdefghij", 20};
    CHECK(strcmp(dc_gguf_str_escape(s, out, sizeof out), "0123456789ab...") == 0);
}

static void test_corrupt(const char *dir) {
    const char *models[] = {"tiny-llama-Q4_K_M.gguf", "tiny-qwen2-Q2_K.gguf", "tiny-deepseek3-IQ4_XS.gguf"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) corrupt_fixture(dir, models[i]);
}

int main(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models", fixtures_dir());
    test_fixtures(dir);
    test_escape();
    test_crafted();
    test_corrupt(dir);
    CHECKF(n_variants >= 300, "only %d corrupt variants", n_variants);
    printf("test_gguf: %d variants opened\n", n_variants);
    return CHECK_DONE();
}
