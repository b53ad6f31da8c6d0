/* vocab_hf.c - builds a dc_tokenizer from a Hugging Face tokenizer.json and
 * the tokenizer_config.json beside it (optional).
 *
 * Supported (anything else is a one-line error naming the field):
 *   model: BPE with vocab, merges as "a b" strings or ["a", "b"] pairs,
 *     ignore_merges, unk_token; no byte_fallback, no subword prefix/suffix;
 *   normalizer: null, NFC, or a Sequence of those;
 *   pre_tokenizer: Split (Regex or String pattern, behavior Isolated, not
 *     inverted) and ByteLevel (add_prefix_space false; use_regex adds the
 *     GPT-2 regex), alone or in a Sequence; a ByteLevel step is required;
 *   decoder: null or ByteLevel;
 *   added_tokens: content, special, normalized, lstrip, rstrip, single_word
 *     (ids assigned the way tokenizers does on loading, see load_added);
 *   post_processor: a TemplateProcessing (also inside a Sequence) gives the
 *     ids added around the text by DC_TOK_ADD_SPECIAL; other kinds add none.
 * tokenizer_config.json: bos_token / eos_token / pad_token (string or
 * {"content": ...}) name the special ids; add_bos_token / add_eos_token,
 * when present, decide what DC_TOK_ADD_SPECIAL adds instead of the
 * post-processor (as transformers' Llama tokenizers do).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define MAX_ID (1 << 26)

static char *read_file(const char *path, size_t *size, char err[DC_ERR_LEN]) {
    FILE *f = fopen(path, "rb");
    if (!f) return dc_err(err, "%s: cannot open", path), NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *size = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
        dc_err(err, "%s: cannot read", path);
    }
    fclose(f);
    return buf;
}

static cJSON *parse_json_file(const char *path, char err[DC_ERR_LEN]) {
    size_t n;
    char *text = read_file(path, &n, err);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    if (!root) dc_err(err, "%s: invalid JSON near byte %zu", path, end ? (size_t)(end - text) : (size_t)0);
    free(text);
    return root;
}

static const char *type_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

static bool flag(const cJSON *o, const char *key, bool dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static bool id_value(const cJSON *v, int32_t *id) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= MAX_ID ||
        v->valuedouble != (int32_t)v->valuedouble)
        return false;
    *id = (int32_t)v->valuedouble;
    return true;
}

/* ---- normalizer, pre-tokenizer, decoder ---- */

static bool load_normalizer(dc_tokenizer *t, const cJSON *n, const char *path, char err[DC_ERR_LEN]) {
    if (!n || cJSON_IsNull(n)) return true;
    const char *type = type_of(n);
    if (!strcmp(type, "NFC")) return t->nfc = true;
    if (strcmp(type, "Sequence"))
        return dc_err(err, "%s: normalizer type '%.40s' is not supported (only NFC)", path, type), false;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) {
        if (!load_normalizer(t, item, path, err)) return false;
    }
    return true;
}

static bool load_split(dc_tokenizer *t, const cJSON *p, const char *path, char err[DC_ERR_LEN]) {
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(p, "pattern");
    const cJSON *regex = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
    const cJSON *literal = cJSON_GetObjectItemCaseSensitive(pattern, "String");
    const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(p, "behavior");
    const cJSON *src = cJSON_IsString(regex) ? regex : literal;
    if (!cJSON_IsString(src))
        return dc_err(err, "%s: pre_tokenizer Split: pattern needs a Regex or String", path), false;
    if (!cJSON_IsString(behavior) || strcmp(behavior->valuestring, "Isolated"))
        return dc_err(err, "%s: pre_tokenizer Split: behavior '%.40s' is not supported (only Isolated)", path,
                      cJSON_IsString(behavior) ? behavior->valuestring : "?"),
               false;
    if (flag(p, "invert", false)) return dc_err(err, "%s: pre_tokenizer Split: invert is not supported", path), false;
    char msg[DC_ERR_LEN];
    if (!dc_tk_add_stage(t, src->valuestring, strlen(src->valuestring), src == literal, false, msg))
        return dc_err(err, "%s: %s", path, msg), false;
    return true;
}

static bool load_pretok(dc_tokenizer *t, const cJSON *p, bool *byte_level, const char *path, char err[DC_ERR_LEN]) {
    if (!p || cJSON_IsNull(p)) return true;
    const char *type = type_of(p);
    if (!strcmp(type, "Split")) return load_split(t, p, path, err);
    if (!strcmp(type, "ByteLevel")) {
        if (flag(p, "add_prefix_space", false))
            return dc_err(err, "%s: pre_tokenizer ByteLevel: add_prefix_space true is not supported", path), false;
        *byte_level = true;
        return !flag(p, "use_regex", true) || dc_tk_add_stage(t, GPT2_RE, strlen(GPT2_RE), false, false, err);
    }
    if (strcmp(type, "Sequence"))
        return dc_err(err, "%s: pre_tokenizer type '%.40s' is not supported (Split, ByteLevel, Sequence)", path, type),
               false;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers")) {
        if (!load_pretok(t, item, byte_level, path, err)) return false;
    }
    return true;
}

static bool check_decoder(const cJSON *d, const char *path, char err[DC_ERR_LEN]) {
    if (!d || cJSON_IsNull(d) || !strcmp(type_of(d), "ByteLevel")) return true;
    return dc_err(err, "%s: decoder type '%.40s' is not supported (only ByteLevel)", path, type_of(d)), false;
}

/* ---- vocabulary ---- */

/* The model vocabulary, all BPE tokens; the token table gets room for the
 * added tokens too. *n_model = the number of entries (HF's vocab size). */
static bool load_vocab(dc_tokenizer *t, const cJSON *model, const cJSON *added, int32_t *n_model, const char *path,
                       char err[DC_ERR_LEN]) {
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *item;
    if (!cJSON_IsObject(vocab)) return dc_err(err, "%s: model.vocab is missing or not an object", path), false;
    int32_t max = -1, id;
    *n_model = 0;
    cJSON_ArrayForEach(item, vocab) {
        if (!id_value(item, &id))
            return dc_err(err, "%s: model.vocab['%.60s'] is not a token id in [0, %d)", path, item->string, MAX_ID),
                   false;
        if (id > max) max = id;
        ++*n_model;
    }
    if (!dc_tk_set_vocab_size(t, max + 1 + cJSON_GetArraySize(added), err)) return false;
    cJSON_ArrayForEach(item, vocab) {
        if (!dc_tk_set_token(t, (int32_t)item->valuedouble, item->string, strlen(item->string), TK_NORMAL, err))
            return false;
    }
    t->n_vocab = max + 1;
    return dc_tk_vocab_build(t, err);
}

/* A merge entry: "left right" or ["left", "right"]. */
static bool merge_parts(const cJSON *m, const char **l, size_t *ll, const char **r, size_t *rl) {
    if (cJSON_IsString(m)) {
        const char *space = strchr(m->valuestring, ' ');
        if (!space) return false;
        *l = m->valuestring;
        *ll = (size_t)(space - m->valuestring);
        *r = space + 1;
        *rl = strlen(*r);
        return true;
    }
    const cJSON *a = cJSON_GetArrayItem(m, 0), *b = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(a) || !cJSON_IsString(b)) return false;
    *l = a->valuestring;
    *ll = strlen(*l);
    *r = b->valuestring;
    *rl = strlen(*r);
    return true;
}

static bool load_merges(dc_tokenizer *t, const cJSON *model, const char *path, char err[DC_ERR_LEN]) {
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges)) return dc_err(err, "%s: model.merges is missing or not an array", path), false;
    if (!dc_tk_merges_init(t, (size_t)cJSON_GetArraySize(merges), err)) return false;
    uint32_t rank = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        const char *l, *r;
        size_t ll, rl;
        if (!merge_parts(m, &l, &ll, &r, &rl))
            return dc_err(err, "%s: model.merges[%u] is neither \"a b\" nor [\"a\", \"b\"]", path, rank), false;
        char msg[DC_ERR_LEN];
        if (!dc_tk_merge_add(t, rank, l, ll, r, rl, true, msg))
            return dc_err(err, "%s: model.merges: %s", path, msg), false;
        rank++;
    }
    return true;
}

static bool check_model(dc_tokenizer *t, const cJSON *model, const char *path, char err[DC_ERR_LEN]) {
    const char *type = type_of(model);
    if (*type && strcmp(type, "BPE"))
        return dc_err(err, "%s: model.type '%.40s' is not supported (only BPE)", path, type), false;
    if (flag(model, "byte_fallback", false))
        return dc_err(err, "%s: model.byte_fallback is not supported", path), false;
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (cJSON_IsString(v) && *v->valuestring)
            return dc_err(err, "%s: model.%s is not supported", path, affixes[i]), false;
    }
    t->ignore_merges = flag(model, "ignore_merges", false);
    return true;
}

/* An earlier added token with this content, -1 if none. */
static int32_t added_with_text(const dc_tokenizer *t, const char *s, size_t n) {
    for (size_t k = 0; k < t->n_added; k++) {
        size_t len;
        const char *text = dc_tk_text(t, t->added[k].id, &len);
        if (len == n && !memcmp(text, s, n)) return t->added[k].id;
    }
    return -1;
}

/* Added tokens get their ids as tokenizers assigns them on loading (the
 * file's "id" fields are not used): an earlier added token or a model token
 * with the same content keeps that id, any other takes the next id after the
 * model vocabulary size or the largest added id. */
static bool load_added(dc_tokenizer *t, const cJSON *added, int32_t n_model, const char *path, char err[DC_ERR_LEN]) {
    int32_t max_added = -1, n_vocab = t->n_vocab;
    const cJSON *item;
    cJSON_ArrayForEach(item, added) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
        if (!cJSON_IsString(content))
            return dc_err(err, "%s: added_tokens: an entry has no content string", path), false;
        size_t len = strlen(content->valuestring);
        int32_t id = added_with_text(t, content->valuestring, len);
        if (id >= 0) continue;
        id = dc_tk_vocab_find(t, content->valuestring, len);
        if (id < 0) id = max_added >= n_model ? max_added + 1 : n_model;
        if (id > max_added) max_added = id;
        dc_tk_added a = {.id = id,
                      .special = flag(item, "special", false),
                      .lstrip = flag(item, "lstrip", false),
                      .rstrip = flag(item, "rstrip", false),
                      .single_word = flag(item, "single_word", false)};
        if (!dc_tk_set_token(t, id, content->valuestring, len, a.special ? TK_SPECIAL : TK_ADDED, err) ||
            !dc_tk_add_added(t, &a, flag(item, "normalized", !a.special), err))
            return false;
        if (id >= n_vocab) n_vocab = id + 1;
    }
    t->n_vocab = n_vocab;
    return true;
}

/* ---- special tokens ---- */

/* Id of a config token given as "text" or {"content": "text"}; -1 if none. */
static int32_t config_token(const dc_tokenizer *t, const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? dc_tok_find(t, v->valuestring, strlen(v->valuestring)) : -1;
}

static const cJSON *find_template(const cJSON *post) {
    if (!strcmp(type_of(post), "TemplateProcessing")) return post;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(post, "processors")) {
        if (!strcmp(type_of(item), "TemplateProcessing")) return item;
    }
    return NULL;
}

/* TemplateProcessing "single": special tokens before $A go to prefix, after it to suffix. */
static bool load_template(dc_tokenizer *t, const cJSON *tpl, const char *path, char err[DC_ERR_LEN]) {
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(tpl, "special_tokens"), *piece;
    bool after = false;
    cJSON_ArrayForEach(piece, cJSON_GetObjectItemCaseSensitive(tpl, "single")) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken");
        if (!st) {
            after = true;
            continue;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(st, "id"), *id;
        const cJSON *ids =
            cJSON_IsString(name)
                ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(specials, name->valuestring), "ids")
                : NULL;
        if (!cJSON_IsArray(ids)) return dc_err(err, "%s: post_processor: special token without ids", path), false;
        cJSON_ArrayForEach(id, ids) {
            int32_t v;
            int *n = after ? &t->n_suffix : &t->n_prefix;
            if (!id_value(id, &v) || v >= t->n_vocab || *n == 4)
                return dc_err(err, "%s: post_processor: bad or too many special token ids", path), false;
            (after ? t->suffix : t->prefix)[(*n)++] = v;
        }
    }
    return true;
}

static bool load_config(dc_tokenizer *t, const cJSON *root, const char *json_path, char err[DC_ERR_LEN]) {
    const char *slash = strrchr(json_path, '/');
    size_t dir = slash ? (size_t)(slash - json_path + 1) : 0;
    char *cfg_path = malloc(dir + sizeof "tokenizer_config.json");
    if (!cfg_path) return dc_err(err, "out of memory"), false;
    memcpy(cfg_path, json_path, dir);
    strcpy(cfg_path + dir, "tokenizer_config.json");
    FILE *probe = fopen(cfg_path, "rb");
    cJSON *cfg = NULL;
    if (probe) {
        fclose(probe);
        cfg = parse_json_file(cfg_path, err);
    }
    free(cfg_path);
    if (probe && !cfg) return false;
    t->bos = config_token(t, cfg, "bos_token");
    t->eos = config_token(t, cfg, "eos_token");
    t->pad = config_token(t, cfg, "pad_token");
    const cJSON *add_bos = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
    const cJSON *add_eos = cJSON_GetObjectItemCaseSensitive(cfg, "add_eos_token");
    const cJSON *tpl = find_template(cJSON_GetObjectItemCaseSensitive(root, "post_processor"));
    bool ok = true;
    if (cJSON_IsBool(add_bos) || cJSON_IsBool(add_eos)) {
        if (cJSON_IsTrue(add_bos) && t->bos >= 0) t->prefix[t->n_prefix++] = t->bos;
        if (cJSON_IsTrue(add_eos) && t->eos >= 0) t->suffix[t->n_suffix++] = t->eos;
    } else if (tpl) {
        ok = load_template(t, tpl, json_path, err);
        if (ok && t->bos < 0 && t->n_prefix == 1) t->bos = t->prefix[0];
    }
    cJSON_Delete(cfg);
    return ok;
}

dc_tokenizer *dc_tok_load_hf(const char *path, char err[DC_ERR_LEN]) {
    cJSON *root = parse_json_file(path, err);
    if (!root) return NULL;
    dc_tokenizer *t = dc_tk_new(err);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    bool byte_level = false;
    int32_t n_model = 0;
    bool ok = t && check_model(t, model, path, err) &&
              load_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path, err) &&
              load_vocab(t, model, added, &n_model, path, err) && load_merges(t, model, path, err) &&
              load_added(t, added, n_model, path, err) &&
              load_pretok(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), &byte_level, path, err) &&
              check_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), path, err);
    if (ok && !byte_level)
        ok = dc_err(err, "%s: pre_tokenizer has no ByteLevel step (only byte-level BPE is supported)", path);
    if (ok) {
        const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
        t->unk_id = cJSON_IsString(unk) ? dc_tok_find(t, unk->valuestring, strlen(unk->valuestring)) : -1;
        ok = load_config(t, root, path, err) && dc_tk_finish(t, false, err);
    }
    cJSON_Delete(root);
    if (!ok) {
        dc_tok_free(t);
        return NULL;
    }
    return t;
}
