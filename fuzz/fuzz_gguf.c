/* fuzz_gguf.c - libFuzzer target for the GGUF reader.
 *
 * Parses the input with dc_gguf_open_buffer(); when it is accepted, walks
 * everything the accessors expose - every key (escaped, looked up again by
 * name), every value including nested arrays element by element, the typed
 * getters on common keys, and the first and last byte of every tensor's data
 * - so ASan/UBSan flag any reader invariant (see gguf.h) that does not hold.
 * libFuzzer hands over an exactly sized buffer, so over-reads are caught.
 */
#include <stdint.h>
#include <string.h>

#include "gguf/gguf.h"

static volatile uint64_t sink;

static void walk_value(const dc_gguf_value *v) {
    if (v->type == GGUF_TYPE_STRING && v->str.len) sink += (uint8_t)v->str.ptr[v->str.len - 1];
    if (v->type != GGUF_TYPE_ARRAY) return;
    for (uint64_t i = 0; i < v->arr.n; i++) {
        if (v->arr.elem_type == GGUF_TYPE_ARRAY) walk_value(&v->arr.arrs[i]);
        else if (v->arr.elem_type == GGUF_TYPE_STRING) sink += v->arr.strs[i].len;
        else sink += (uint64_t)dc_gguf_arr_i64(v, i) + (dc_gguf_arr_f64(v, i) > 0);
    }
}

static void walk_kvs(const dc_gguf_file *f) {
    char name[256], shown[80];
    for (uint64_t i = 0; i < dc_gguf_n_kv(f); i++) {
        const dc_gguf_kv *kv = dc_gguf_kv_at(f, i);
        sink += strlen(dc_gguf_str_escape(kv->key, shown, sizeof shown));
        if (kv->key.len < sizeof name) {
            memcpy(name, kv->key.ptr, kv->key.len);
            name[kv->key.len] = '\0';
            if (dc_gguf_find(f, name) != &kv->value) __builtin_trap();
        }
        walk_value(&kv->value);
    }
}

static void walk_getters(const dc_gguf_file *f) {
    char err[DC_ERR_LEN];
    uint32_t u;
    float x;
    bool b;
    dc_gguf_str s;
    const dc_gguf_value *arr;
    sink += (uint64_t)dc_gguf_get_u32(f, "general.alignment", &u, err) + (uint64_t)dc_gguf_get_f32(f, "general.alignment", &x, err);
    sink += (uint64_t)dc_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, err);
    sink += (uint64_t)dc_gguf_get_str(f, "general.architecture", &s, err);
    sink += (uint64_t)dc_gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &arr, err);
}

static void walk_tensors(const dc_gguf_file *f) {
    char name[256];
    for (uint64_t i = 0; i < dc_gguf_n_tensors(f); i++) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(f, i);
        const uint8_t *d = t->data;
        sink += d[0] + d[t->nbytes - 1];
        if (t->name.len < sizeof name && !memchr(t->name.ptr, 0, t->name.len)) {
            memcpy(name, t->name.ptr, t->name.len);
            name[t->name.len] = '\0';
            if (dc_gguf_find_tensor(f, name) != t) __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[DC_ERR_LEN];
    dc_gguf_file *f = dc_gguf_open_buffer(data, size, "fuzz", err);
    if (!f) {
        if (!err[0] || strchr(err, '\n')) __builtin_trap(); /* failures carry a one-line message */
        return 0;
    }
    sink += dc_gguf_version(f) + dc_gguf_alignment(f) + dc_gguf_file_size(f) + strlen(dc_gguf_path(f));
    walk_kvs(f);
    walk_getters(f);
    walk_tensors(f);
    dc_gguf_close(f);
    return 0;
}
