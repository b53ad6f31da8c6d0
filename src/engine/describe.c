/* describe.c - `deepc info FILE`'s text (deepc_file_describe in deepc.h):
 * a readable summary of a GGUF model file.
 *
 * Opens the file with the validating reader (dc_gguf_open) and writes "key:
 * value" lines: the file (version, size, alignment), the architecture and
 * name, every scalar `<arch>.*` hyperparameter (arrays as "[type x n]"), a
 * tokenizer summary, the tensor count per type with bytes, and the total
 * tensor bytes and parameter count. Nothing is computed from tensor data.
 * Every string from the file is printed escaped (dc_gguf_str_escape), so a file
 * cannot inject control bytes into the terminal. The text is written to a
 * memory stream (open_memstream) and handed to the caller.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "../gguf/gguf.h"
#include "../quant/quant.h"
#include "deepc.h"

#define SHOW_LEN 256 /* longest string shown, escaped */

static void print_str(FILE *o, dc_gguf_str s) {
    char shown[SHOW_LEN];
    fputs(dc_gguf_str_escape(s, shown, sizeof shown), o);
}

static void print_value(FILE *o, const dc_gguf_value *v) {
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        fprintf(o, "%" PRIu64, v->u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        fprintf(o, "%" PRId64, v->i64);
        break;
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64:
        fprintf(o, "%g", v->f64);
        break;
    case GGUF_TYPE_BOOL:
        fputs(v->b ? "true" : "false", o);
        break;
    case GGUF_TYPE_STRING:
        print_str(o, v->str);
        break;
    default: /* GGUF_TYPE_ARRAY: the reader admits no other type */
        fprintf(o, "[%s x %" PRIu64 "]", dc_gguf_type_name(v->arr.elem_type), v->arr.n);
        break;
    }
}

/* "label: value" when the key exists, "label: -" otherwise. */
static void print_key(FILE *o, const dc_gguf_file *f, const char *label, const char *key) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    fprintf(o, "%s: ", label);
    if (v) print_value(o, v);
    else fputs("-", o);
    fputc('\n', o);
}

static void print_bytes(FILE *o, const char *label, uint64_t n) {
    fprintf(o, "%s: %" PRIu64 " (%.2f MiB)\n", label, n, (double)n / (1024.0 * 1024.0));
}

static void print_file_summary(FILE *o, const dc_gguf_file *f) {
    fprintf(o, "file: %s\n", dc_gguf_path(f));
    fprintf(o, "GGUF version: %" PRIu32 "\n", dc_gguf_version(f));
    print_bytes(o, "file size", dc_gguf_file_size(f));
    fprintf(o, "alignment: %" PRIu64 "\n", dc_gguf_alignment(f));
    fprintf(o, "metadata keys: %" PRIu64 "\n", dc_gguf_n_kv(f));
    print_key(o, f, "architecture", "general.architecture");
    print_key(o, f, "name", "general.name");
}

/* Every key "<arch>.*", in file order. */
static void print_hyperparameters(FILE *o, const dc_gguf_file *f) {
    const dc_gguf_value *arch = dc_gguf_find(f, "general.architecture");
    if (!arch || arch->type != GGUF_TYPE_STRING) return;
    fprintf(o, "hyperparameters:\n");
    for (uint64_t i = 0; i < dc_gguf_n_kv(f); i++) {
        const dc_gguf_kv *kv = dc_gguf_kv_at(f, i);
        if (kv->key.len <= arch->str.len || kv->key.ptr[arch->str.len] != '.' ||
            memcmp(kv->key.ptr, arch->str.ptr, arch->str.len) != 0)
            continue;
        fputs("  ", o);
        print_str(o, kv->key);
        fputs(": ", o);
        print_value(o, &kv->value);
        fputc('\n', o);
    }
}

/* Count of an array-valued key, "-" when absent or not an array. */
static void print_array_len(FILE *o, const dc_gguf_file *f, const char *label, const char *key) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (v && v->type == GGUF_TYPE_ARRAY) fprintf(o, "%s: %" PRIu64 "\n", label, v->arr.n);
    else fprintf(o, "%s: -\n", label);
}

static void print_tokenizer(FILE *o, const dc_gguf_file *f) {
    fprintf(o, "tokenizer:\n");
    print_key(o, f, "  model", "tokenizer.ggml.model");
    print_key(o, f, "  pre", "tokenizer.ggml.pre");
    print_array_len(o, f, "  tokens", "tokenizer.ggml.tokens");
    print_array_len(o, f, "  merges", "tokenizer.ggml.merges");
    print_key(o, f, "  bos_token_id", "tokenizer.ggml.bos_token_id");
    print_key(o, f, "  eos_token_id", "tokenizer.ggml.eos_token_id");
    const dc_gguf_value *tmpl = dc_gguf_find(f, "tokenizer.chat_template");
    if (tmpl && tmpl->type == GGUF_TYPE_STRING) fprintf(o, "  chat_template: yes (%" PRIu64 " bytes)\n", tmpl->str.len);
    else fprintf(o, "  chat_template: no\n");
}

static uint64_t tensor_elements(const dc_gguf_tensor *t) {
    uint64_t n = 1; /* fits: the reader checked the product */
    for (int d = 0; d < GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];
    return n;
}

static void print_tensors(FILE *o, const dc_gguf_file *f) {
    uint64_t count[DC_TYPE_COUNT] = {0}, bytes[DC_TYPE_COUNT] = {0}, total_bytes = 0, params = 0;
    for (uint64_t i = 0; i < dc_gguf_n_tensors(f); i++) {
        const dc_gguf_tensor *t = dc_gguf_tensor_at(f, i);
        if (t->type < DC_TYPE_COUNT) {
            count[t->type]++;
            bytes[t->type] += t->nbytes;
        }
        total_bytes += t->nbytes; /* all inside the file: no overflow */
        params += tensor_elements(t);
    }
    fprintf(o, "tensors: %" PRIu64 "\n", dc_gguf_n_tensors(f));
    for (uint32_t type = 0; type < DC_TYPE_COUNT; type++)
        if (count[type])
            fprintf(o, "  %s: %" PRIu64 " (%" PRIu64 " bytes)\n", dc_type_get(type)->name, count[type], bytes[type]);
    print_bytes(o, "tensor bytes", total_bytes);
    fprintf(o, "parameters: %" PRIu64 " (%.3f M)\n", params, (double)params / 1e6);
}

/* What loading the model adds: whether deepc can run it, and the KV cache
 * it needs per token of context. */
static void print_runtime(FILE *o, const char *path) {
    char err[DEEPC_ERR_LEN];
    deepc_model *m = deepc_model_load(path, err);
    if (!m) {
        fprintf(o, "runnable: no (%s)\n", err);
        return;
    }
    const int64_t floats = deepc_model_kv_floats_per_token(m);
    fprintf(o, "runnable: yes\n");
    fprintf(o, "kv cache per token: %lld elements, %lld bytes (F16), %lld bytes (F32)\n", (long long)floats,
           (long long)floats * 2, (long long)floats * 4);
    deepc_model_free(m);
}

char *deepc_file_describe(const char *path, char err[DEEPC_ERR_LEN]) {
    dc_gguf_file *f = dc_gguf_open(path, err);
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (!o) {
        dc_gguf_close(f);
        return dc_err(err, "out of memory"), NULL;
    }
    print_file_summary(o, f);
    print_hyperparameters(o, f);
    print_tokenizer(o, f);
    print_tensors(o, f);
    dc_gguf_close(f);
    print_runtime(o, path);
    if (fclose(o) != 0) return free(text), dc_err(err, "out of memory"), NULL;
    return text;
}
