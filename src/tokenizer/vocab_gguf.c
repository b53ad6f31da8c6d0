/* vocab_gguf.c - builds a dc_tokenizer from a GGUF file's tokenizer.ggml.*
 * keys, following llama.cpp's reading of them.
 *
 * Required: tokenizer.ggml.model = "gpt2" (byte-level BPE), tokens (strings),
 * merges ("left right" strings), pre (selects the regexes below). Optional:
 * token_type (default NORMAL), bos/eos/eot/eom/padding ids (each must be a
 * valid id), add_bos_token / add_eos_token (add_bos defaults to true for the
 * Llama-3 pre-tokenizer, as in llama.cpp). Token types: 1 NORMAL and 6 BYTE
 * are BPE tokens, 2 UNKNOWN and 3 CONTROL special added tokens, 4
 * USER_DEFINED non-special added tokens, 5 UNUSED placeholders. Merges whose
 * parts are not tokens are skipped, as llama.cpp would never apply them.
 * The regexes are Hugging Face's own for the families whose tokenizer.json
 * we know (qwen2 also gets its NFC normalizer) and llama.cpp's for
 * deepseek-llm (which has no tokenizer.json regex of that form).
 */
#include <string.h>

#include "tok_internal.h"

#define QWEN2_RE                                                                                                     \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"                                              \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define LLAMA3_RE                                                                                                    \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"                                         \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* DeepSeek-V3's main regex: note the literal CR / LF characters, as in tokenizer.json */
#define DEEPSEEK3_RE                                                                                                 \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"                \
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
/* llama.cpp's deepseek-llm letter ranges, written with \x{} escapes */
#define DEEPSEEK_LLM_LETTERS                                                                                         \
    "A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}\\x{1c4}-\\x{293}\\x{295}-\\x{2af}" \
    "\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37b}-\\x{37d}\\x{37f}\\x{386}\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}"   \
    "\\x{3a3}-\\x{3f5}\\x{3f7}-\\x{481}\\x{48a}-\\x{52f}\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}"     \
    "\\x{13f8}-\\x{13fd}\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}\\x{1d6b}-\\x{1d77}\\x{1d79}-"      \
    "\\x{1d9a}\\x{1e00}-\\x{1f15}\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}"       \
    "\\x{1f59}\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-"        \
    "\\x{1fc4}\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}\\x{1ff2}-\\x{1ff4}"       \
    "\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-\\x{2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}\\x{2126}"         \
    "\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}\\x{2139}\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}\\x{214e}"        \
    "\\x{2183}\\x{2184}\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}\\x{a640}-"        \
    "\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}\\x{a771}-\\x{a787}\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}"       \
    "\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}\\x{104b0}-"   \
    "\\x{104d3}\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}\\x{1e900}-"      \
    "\\x{1e943}"

typedef struct {
    const char *name;
    const char *regexes[7];
    bool nfc, ignore_merges, add_bos, dollar_endonly;
} pre_type;

static const pre_type PRE_TYPES[] = {
    {.name = "qwen2", .regexes = {QWEN2_RE}, .nfc = true},
    {.name = "deepseek-r1-qwen", .regexes = {QWEN2_RE}, .nfc = true},
    {.name = "llama-bpe", .regexes = {LLAMA3_RE}, .ignore_merges = true, .add_bos = true},
    {.name = "llama3", .regexes = {LLAMA3_RE}, .ignore_merges = true, .add_bos = true},
    {.name = "deepseek-v3",
     .regexes = {"\\p{N}{1,3}", "[\\x{4e00}-\\x{9fa5}\\x{3040}-\\x{309f}\\x{30a0}-\\x{30ff}]+", DEEPSEEK3_RE}},
    {.name = "deepseek-llm",
     .regexes = {"[\r\n]", "\\s?[" DEEPSEEK_LLM_LETTERS "]+",
                 "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+", "\\s+$",
                 "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+", "\\p{N}+"},
     .dollar_endonly = true},
};

static const pre_type *find_pre(dc_gguf_str name) {
    for (size_t i = 0; i < sizeof PRE_TYPES / sizeof PRE_TYPES[0]; i++)
        if (dc_gguf_str_eq(name, PRE_TYPES[i].name)) return &PRE_TYPES[i];
    return NULL;
}

static dc_tk_kind kind_of_type(int64_t type) {
    switch (type) {
    case 2:                    /* UNKNOWN */
    case 3: return TK_SPECIAL; /* CONTROL */
    case 4: return TK_ADDED;   /* USER_DEFINED */
    case 5: return TK_UNUSED;
    default: return TK_NORMAL; /* NORMAL, BYTE, undefined */
    }
}

static bool check_model(const dc_gguf_file *f, const char *path, const pre_type **pre, char err[DC_ERR_LEN]) {
    dc_gguf_str s;
    char shown[80];
    int r = dc_gguf_get_str(f, "tokenizer.ggml.model", &s, err);
    if (r < 0) return false;
    if (r == 0) return dc_err(err, "%s: no tokenizer.ggml.model (the file has no tokenizer)", path), false;
    if (!dc_gguf_str_eq(s, "gpt2"))
        return dc_err(err, "%s: tokenizer.ggml.model is '%s', only 'gpt2' (byte-level BPE) is supported", path,
                      dc_gguf_str_escape(s, shown, sizeof shown)),
               false;
    if ((r = dc_gguf_get_str(f, "tokenizer.ggml.pre", &s, err)) < 0) return false;
    if (r == 0) return dc_err(err, "%s: no tokenizer.ggml.pre (pre-tokenizer type)", path), false;
    *pre = find_pre(s);
    if (!*pre)
        return dc_err(err,
                      "%s: tokenizer.ggml.pre '%s' is not supported (supported: qwen2, deepseek-r1-qwen, llama-bpe, "
                      "llama3, deepseek-v3, deepseek-llm)",
                      path, dc_gguf_str_escape(s, shown, sizeof shown)),
               false;
    return true;
}

static bool load_tokens(dc_tokenizer *t, const dc_gguf_file *f, const char *path, char err[DC_ERR_LEN]) {
    const dc_gguf_value *tokens, *types = NULL;
    int r = dc_gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens, err);
    if (r < 0) return false;
    if (r == 0) return dc_err(err, "%s: no tokenizer.ggml.tokens", path), false;
    if (tokens->arr.n == 0 || tokens->arr.n > INT32_MAX / 2)
        return dc_err(err, "%s: tokenizer.ggml.tokens has %llu entries", path, (unsigned long long)tokens->arr.n),
               false;
    const dc_gguf_value *v = dc_gguf_find(f, "tokenizer.ggml.token_type");
    if (v) {
        dc_gguf_type et = v->arr.elem_type;
        if (v->type != GGUF_TYPE_ARRAY || et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY || et == GGUF_TYPE_FLOAT32 ||
            et == GGUF_TYPE_FLOAT64 || v->arr.n != tokens->arr.n)
            return dc_err(err, "%s: tokenizer.ggml.token_type must be an integer array with one entry per token", path),
                   false;
        types = v;
    }
    if (!dc_tk_set_vocab_size(t, (int32_t)tokens->arr.n, err)) return false;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        dc_gguf_str s = tokens->arr.strs[id];
        dc_tk_kind kind = types ? kind_of_type(dc_gguf_arr_i64(types, (uint64_t)id)) : TK_NORMAL;
        if (!dc_tk_set_token(t, id, s.ptr, s.len, kind, err)) return false;
    }
    return dc_tk_vocab_build(t, err);
}

static bool load_merges(dc_tokenizer *t, const dc_gguf_file *f, const char *path, char err[DC_ERR_LEN]) {
    const dc_gguf_value *merges;
    int r = dc_gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &merges, err);
    if (r < 0) return false;
    if (r == 0) return dc_err(err, "%s: no tokenizer.ggml.merges", path), false;
    if (merges->arr.n > UINT32_MAX / 4)
        return dc_err(err, "%s: tokenizer.ggml.merges has too many entries", path), false;
    if (!dc_tk_merges_init(t, merges->arr.n, err)) return false;
    for (uint64_t i = 0; i < merges->arr.n; i++) {
        dc_gguf_str m = merges->arr.strs[i];
        const char *space = m.len > 1 ? memchr(m.ptr + 1, ' ', m.len - 1) : NULL;
        if (!space) continue; /* malformed: llama.cpp cannot use it either */
        size_t left = (size_t)(space - m.ptr);
        if (!dc_tk_merge_add(t, (uint32_t)i, m.ptr, left, space + 1, m.len - left - 1, false, err)) return false;
    }
    return true;
}

static bool load_added(dc_tokenizer *t, char err[DC_ERR_LEN]) {
    for (int32_t id = 0; id < t->n_vocab; id++) {
        dc_tk_kind kind = t->tokens[id].kind;
        if (kind != TK_SPECIAL && kind != TK_ADDED) continue;
        dc_tk_added a = {.id = id, .special = kind == TK_SPECIAL};
        if (!dc_tk_add_added(t, &a, false, err)) return false;
    }
    return true;
}

/* Reads an optional token id key into *out (unchanged when absent). */
static bool get_id(dc_tokenizer *t, const dc_gguf_file *f, const char *path, const char *key, int32_t *out,
                   char err[DC_ERR_LEN]) {
    uint32_t v;
    int r = dc_gguf_get_u32(f, key, &v, err);
    if (r < 0) return false;
    if (r == 0) return true;
    if (v >= (uint32_t)t->n_vocab)
        return dc_err(err, "%s: %s = %u is not a token id (n_vocab %d)", path, key, v, t->n_vocab), false;
    *out = (int32_t)v;
    return true;
}

static bool load_special(dc_tokenizer *t, const dc_gguf_file *f, const char *path, const pre_type *pre,
                         char err[DC_ERR_LEN]) {
    if (!get_id(t, f, path, "tokenizer.ggml.bos_token_id", &t->bos, err) ||
        !get_id(t, f, path, "tokenizer.ggml.eos_token_id", &t->eos, err) ||
        !get_id(t, f, path, "tokenizer.ggml.eot_token_id", &t->eot, err) ||
        !get_id(t, f, path, "tokenizer.ggml.eom_token_id", &t->eom, err) ||
        !get_id(t, f, path, "tokenizer.ggml.padding_token_id", &t->pad, err))
        return false;
    bool add_bos = pre->add_bos, add_eos = false;
    if (dc_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &add_bos, err) < 0 ||
        dc_gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &add_eos, err) < 0)
        return false;
    if (add_bos && t->bos >= 0) t->prefix[t->n_prefix++] = t->bos;
    if (add_eos && t->eos >= 0) t->suffix[t->n_suffix++] = t->eos;
    return true;
}

dc_tokenizer *dc_tok_load_gguf(const dc_gguf_file *f, char err[DC_ERR_LEN]) {
    const char *path = dc_gguf_path(f);
    const pre_type *pre;
    if (!check_model(f, path, &pre, err)) return NULL;
    dc_tokenizer *t = dc_tk_new(err);
    if (!t) return NULL;
    t->nfc = pre->nfc;
    t->ignore_merges = pre->ignore_merges;
    bool ok = load_tokens(t, f, path, err) && load_merges(t, f, path, err) && load_added(t, err) &&
              load_special(t, f, path, pre, err);
    for (int i = 0; ok && i < 7 && pre->regexes[i]; i++)
        ok = dc_tk_add_stage(t, pre->regexes[i], strlen(pre->regexes[i]), false, pre->dollar_endonly, err);
    if (ok) ok = dc_tk_finish(t, true, err);
    if (!ok) {
        dc_tok_free(t);
        return NULL;
    }
    return t;
}
