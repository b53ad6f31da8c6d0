/* cmd_info.c - `deepc info FILE`: a readable summary of a GGUF model file.
 *
 * Opens the file with the validating reader (dc_gguf_open) and prints "key:
 * value" lines: the file (version, size, alignment), the architecture and
 * name, every scalar `<arch>.*` hyperparameter (arrays as "[type x n]"), a
 * tokenizer summary, the tensor count per type with bytes, and the total
 * tensor bytes and parameter count. Nothing is computed from tensor data.
 * Every string from the file is printed escaped (dc_gguf_str_escape), so a file
 * cannot inject control bytes into the terminal. A file the reader rejects
 * gives one line "deepc info: <message>" on stderr and exit status 1 (2 for
 * a usage error).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gguf/gguf.h"
#include "quant/quant.h"

#define SHOW_LEN 256 /* longest string shown, escaped */

static void print_str(dc_gguf_str s) {
    char shown[SHOW_LEN];
    fputs(dc_gguf_str_escape(s, shown, sizeof shown), stdout);
}

static void print_value(const dc_gguf_value *v) {
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        printf("%" PRIu64, v->u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        printf("%" PRId64, v->i64);
        break;
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64:
        printf("%g", v->f64);
        break;
    case GGUF_TYPE_BOOL:
        fputs(v->b ? "true" : "false", stdout);
        break;
    case GGUF_TYPE_STRING:
        print_str(v->str);
        break;
    default: /* GGUF_TYPE_ARRAY: the reader admits no other type */
        printf("[%s x %" PRIu64 "]", dc_gguf_type_name(v->arr.elem_type), v->arr.n);
        break;
    }
}

/* "label: value" when the key exists, "label: -" otherwise. */
static void print_key(const dc_gguf_file *f, const char *label, const char *key) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    printf("%s: ", label);
    if (v) print_value(v);
    else fputs("-", stdout);
    fputc('\n', stdout);
}

static void print_bytes(const char *label, uint64_t n) {
    printf("%s: %" PRIu64 " (%.2f MiB)\n", label, n, (double)n / (1024.0 * 1024.0));
}

static void print_file_summary(const dc_gguf_file *f) {
    printf("file: %s\n", dc_gguf_path(f));
    printf("GGUF version: %" PRIu32 "\n", dc_gguf_version(f));
    print_bytes("file size", dc_gguf_file_size(f));
    printf("alignment: %" PRIu64 "\n", dc_gguf_alignment(f));
    printf("metadata keys: %" PRIu64 "\n", dc_gguf_n_kv(f));
    print_key(f, "architecture", "general.architecture");
    print_key(f, "name", "general.name");
}

/* Every key "<arch>.*", in file order. */
static void print_hyperparameters(const dc_gguf_file *f) {
    const dc_gguf_value *arch = dc_gguf_find(f, "general.architecture");
    if (!arch || arch->type != GGUF_TYPE_STRING) return;
    printf("hyperparameters:\n");
    for (uint64_t i = 0; i < dc_gguf_n_kv(f); i++) {
        const dc_gguf_kv *kv = dc_gguf_kv_at(f, i);
        if (kv->key.len <= arch->str.len || kv->key.ptr[arch->str.len] != '.' ||
            memcmp(kv->key.ptr, arch->str.ptr, arch->str.len) != 0)
            continue;
        fputs("  ", stdout);
        print_str(kv->key);
        fputs(": ", stdout);
        print_value(&kv->value);
        fputc('\n', stdout);
    }
}

/* Count of an array-valued key, "-" when absent or not an array. */
static void print_array_len(const dc_gguf_file *f, const char *label, const char *key) {
    const dc_gguf_value *v = dc_gguf_find(f, key);
    if (v && v->type == GGUF_TYPE_ARRAY) printf("%s: %" PRIu64 "\n", label, v->arr.n);
    else printf("%s: -\n", label);
}

static void print_tokenizer(const dc_gguf_file *f) {
    printf("tokenizer:\n");
    print_key(f, "  model", "tokenizer.ggml.model");
    print_key(f, "  pre", "tokenizer.ggml.pre");
    print_array_len(f, "  tokens", "tokenizer.ggml.tokens");
    print_array_len(f, "  merges", "tokenizer.ggml.merges");
    print_key(f, "  bos_token_id", "tokenizer.ggml.bos_token_id");
    print_key(f, "  eos_token_id", "tokenizer.ggml.eos_token_id");
    const dc_gguf_value *tmpl = dc_gguf_find(f, "tokenizer.chat_template");
    if (tmpl && tmpl->type == GGUF_TYPE_STRING) printf("  chat_template: yes (%" PRIu64 " bytes)\n", tmpl->str.len);
    else printf("  chat_template: no\n");
}

static uint64_t tensor_elements(const dc_gguf_tensor *t) {
    uint64_t n = 1; /* fits: the reader checked the product */
    for (int d = 0; d < GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];
    return n;
}

static void print_tensors(const dc_gguf_file *f) {
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
    printf("tensors: %" PRIu64 "\n", dc_gguf_n_tensors(f));
    for (uint32_t type = 0; type < DC_TYPE_COUNT; type++)
        if (count[type])
            printf("  %s: %" PRIu64 " (%" PRIu64 " bytes)\n", dc_type_get(type)->name, count[type], bytes[type]);
    print_bytes("tensor bytes", total_bytes);
    printf("parameters: %" PRIu64 " (%.3f M)\n", params, (double)params / 1e6);
}

/* What loading the model adds: whether deepc can run it, and the KV cache
 * it needs per token of context. */
static void print_runtime(const char *path) {
    char err[DEEPC_ERR_LEN];
    deepc_model *m = deepc_model_load(path, err);
    if (!m) {
        printf("runnable: no (%s)\n", err);
        return;
    }
    const int64_t floats = deepc_model_kv_floats_per_token(m);
    printf("runnable: yes\n");
    printf("kv cache per token: %lld elements, %lld bytes (F16), %lld bytes (F32)\n", (long long)floats,
           (long long)floats * 2, (long long)floats * 4);
    deepc_model_free(m);
}

int cmd_info(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') return cli_fail("info", 2, "usage: deepc info MODEL.gguf");
    char err[DC_ERR_LEN];
    dc_gguf_file *f = dc_gguf_open(argv[1], err);
    if (!f) return cli_fail("info", 1, "%s", err);
    print_file_summary(f);
    print_hyperparameters(f);
    print_tokenizer(f);
    print_tensors(f);
    dc_gguf_close(f);
    print_runtime(argv[1]);
    return 0;
}
