/* test_tokenizer.c - the byte-level BPE tokenizers against the reference data.
 *
 * 1. tokenizers/cases.jsonl: for every line, the family's tokenizer.json
 *    gives exactly `ids` (special tokens parsed) and `ids_plain` (special
 *    tokens as text); decoding `ids` gives `decoded`; the streaming
 *    detokenizer fed one id at a time emits the same bytes in chunks that are
 *    each complete, valid UTF-8; DC_TOK_ADD_SPECIAL prepends the BOS the
 *    family asks for (DeepSeek-V3, Llama-3) or nothing (Qwen).
 * 2. llama.cpp-vectors/vectors.jsonl: every vector that applies to a family
 *    (qwen2 -> qwen2.5 and qwen3, llama-bpe -> llama3), parse_special false.
 * 3. Every fixture model (models/NAME.gguf): its GGUF vocabulary gives the
 *    `tokenization` ids of its .expected.json for all three flag combinations,
 *    the pieces of the parse_special ids, and the same bos / eos / eot /
 *    add_bos / end-of-generation ids as llama.cpp.
 * 4. Hostile input: random bytes, invalid UTF-8, NUL, long runs: encoding
 *    never fails and, without NFC, the pieces give back the input bytes.
 * 5. Loader errors: missing files and unsupported tokenizer.json features
 *    give NULL plus a one-line message naming the file.
 * 6. A synthetic tokenizer.json built here (added tokens with lstrip, rstrip,
 *    single_word, normalized; a token also in the model vocabulary; NFC):
 *    ids as Hugging Face tokenizers 0.23.2 gives them.
 * 7. Characters where Unicode versions matter: regex categories as in
 *    Unicode 16.0 (Oniguruma), NFC as in Unicode 9.0 (HF's normalizer).
 * Text fields are decoded with dc_json_str_decode so that "\u0000" survives.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "tokenizer/json_str.h"
#include "tokenizer/tokenizer.h"

static const char *const FAMILIES[] = {"qwen3", "qwen2.5", "deepseek-v3", "llama3"};
#define N_FAMILIES 4

static int n_ids, n_plain, n_decoded, n_stream, n_bos, n_vectors, n_gguf_ids, n_gguf_models, n_hostile, n_synthetic,
    n_unicode;

/* ---- helpers ---- */

/* The string value of "key" in one JSON-object line, with its length. */
static char *line_field(const char *line, const char *key, size_t *len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) return NULL;
    p += strlen(pat);
    p += strspn(p, " ");
    size_t end;
    char err[DC_ERR_LEN];
    return dc_json_str_decode(p, strlen(p), len, &end, err);
}

static bool ids_equal(const dc_tok_ids *got, const cJSON *want) {
    if (!cJSON_IsArray(want) || (size_t)cJSON_GetArraySize(want) != got->n) return false;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, want) {
        if (got->ids[i++] != (int32_t)e->valuedouble) return false;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at s[0, n), 0 when there is none. */
static size_t dc_utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

/* Every chunk the stream emits must be complete, valid UTF-8. */
static bool valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0, len; i < n; i += len)
        if (!(len = dc_utf8_seq(s + i, n - i))) return false;
    return true;
}

/* Streams ids one by one; checks each chunk and compares the total with whole. */
static bool stream_matches(const dc_tokenizer *t, const dc_tok_ids *ids, const char *whole, size_t whole_len) {
    dc_detok d;
    dc_detok_init(&d, t, true);
    char *all = malloc(whole_len + 4);
    size_t n = 0;
    bool ok = all != NULL;
    char err[DC_ERR_LEN];
    for (size_t i = 0; ok && i <= ids->n; i++) {
        const char *chunk;
        size_t len;
        if (i < ids->n)
            ok = dc_detok_feed(&d, ids->ids[i], &chunk, &len, err);
        else
            chunk = dc_detok_flush(&d, &len);
        ok = ok && valid_utf8((const unsigned char *)chunk, len) && n + len <= whole_len;
        if (ok) memcpy(all + n, chunk, len), n += len;
    }
    ok = ok && n == whole_len && !memcmp(all, whole, n);
    free(all);
    dc_detok_free(&d);
    return ok;
}

static dc_tokenizer *load_family(const char *family) {
    char rel[128], err[DC_ERR_LEN];
    snprintf(rel, sizeof rel, "tokenizers/%s", family);
    dc_tokenizer *t = dc_tok_load(fixture_path(rel), err);
    CHECKF(t != NULL, "%s: %s", family, err);
    return t;
}

static int family_index(const char *family) {
    for (int i = 0; i < N_FAMILIES; i++)
        if (!strcmp(FAMILIES[i], family)) return i;
    return -1;
}

/* A special token streamed with special = false has no bytes: the stream
 * must give an empty chunk (regression: nothing pending, nothing new). */
static void check_stream_silent_special(const dc_tokenizer *t) {
    const int32_t eos = dc_tok_eos(t);
    dc_detok d;
    dc_detok_init(&d, t, false);
    const char *chunk = NULL;
    size_t len = 1;
    char err[DC_ERR_LEN];
    CHECK(eos >= 0 && dc_detok_feed(&d, eos, &chunk, &len, err) && len == 0);
    CHECK(dc_detok_feed(&d, eos, &chunk, &len, err) && len == 0);
    dc_detok_flush(&d, &len);
    CHECK(len == 0);
    dc_detok_free(&d);
}

/* ---- 1. cases.jsonl ---- */

static void check_case(const dc_tokenizer *t, const char *line, const cJSON *c, dc_tok_ids *ids) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring,
               *fam = cJSON_GetObjectItem(c, "family")->valuestring;
    size_t text_len, want_len, got_len;
    char *text = line_field(line, "text", &text_len), *want = line_field(line, "decoded", &want_len), err[DC_ERR_LEN];
    CHECKF(text && want, "%s/%s: cannot decode the text fields", fam, name);
    if (!text || !want) goto done;
    CHECKF(dc_tok_encode(t, text, text_len, DC_TOK_PARSE_SPECIAL, ids, err), "%s/%s: %s", fam, name, err);
    CHECKF(ids_equal(ids, cJSON_GetObjectItem(c, "ids")), "%s/%s: ids differ", fam, name);
    n_ids += ids_equal(ids, cJSON_GetObjectItem(c, "ids"));
    char *got = dc_tok_decode(t, ids->ids, ids->n, true, &got_len, err);
    bool same = got && got_len == want_len && !memcmp(got, want, want_len);
    CHECKF(same, "%s/%s: decoded text differs", fam, name);
    n_decoded += same;
    bool streamed = stream_matches(t, ids, want, want_len);
    CHECKF(streamed, "%s/%s: streamed text differs or splits a character", fam, name);
    n_stream += streamed;
    free(got);
    CHECKF(dc_tok_encode(t, text, text_len, 0, ids, err), "%s/%s: %s", fam, name, err);
    CHECKF(ids_equal(ids, cJSON_GetObjectItem(c, "ids_plain")), "%s/%s: ids_plain differ", fam, name);
    n_plain += ids_equal(ids, cJSON_GetObjectItem(c, "ids_plain"));
done:
    free(text);
    free(want);
}

/* ADD_SPECIAL on a case: [bos] + ids for the families that add one. */
static void check_add_special(const dc_tokenizer *t, const char *family, dc_tok_ids *ids) {
    static const int32_t want_bos[N_FAMILIES] = {-1, -1, 0, 128000};
    int32_t bos = want_bos[family_index(family)];
    char err[DC_ERR_LEN];
    CHECK(dc_tok_encode(t, "Hi", 2, DC_TOK_ADD_SPECIAL | DC_TOK_PARSE_SPECIAL, ids, err));
    bool ok = bos < 0 ? ids->n == 1 : ids->n == 2 && ids->ids[0] == bos;
    CHECKF(ok && dc_tok_add_bos(t) == (bos >= 0) && (bos < 0 || dc_tok_bos(t) == bos), "%s: add_special BOS", family);
    n_bos += ok;
}

static void check_cases(dc_tokenizer *const *toks) {
    size_t size;
    char *all = fixture_read_file(fixture_path("tokenizers/cases.jsonl"), &size);
    CHECKF(all != NULL, "cannot read cases.jsonl");
    if (!all) return;
    dc_tok_ids ids = {0};
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *c = cJSON_Parse(line);
        const cJSON *fam = cJSON_GetObjectItem(c, "family");
        int f = cJSON_IsString(fam) ? family_index(fam->valuestring) : -1;
        CHECKF(f >= 0, "cases.jsonl: bad line '%.60s'", line);
        if (f >= 0 && toks[f]) check_case(toks[f], line, c, &ids);
        cJSON_Delete(c);
    }
    for (int f = 0; f < N_FAMILIES; f++)
        if (toks[f]) check_add_special(toks[f], FAMILIES[f], &ids);
    dc_tok_ids_free(&ids);
    free(all);
}

/* bos / eos / eot and the end-of-generation set of each tokenizer.json. */
static void check_hf_special(dc_tokenizer *const *toks) {
    static const struct {
        int32_t bos, eos, eot, eog[6];
    } want[N_FAMILIES] = {
        {-1,
         151645,
         151645,
         {151643, 151645, 151662, 151663, 151664, -1}}, /* eog: endoftext, im_end, fim_pad, repo_name, file_sep */
        {-1, 151645, 151645, {151643, 151645, 151662, 151663, 151664, -1}},
        {0, 1, 1, {1, -1}},
        {128000, 128009, 128009, {128001, 128009, -1}}, /* <|end_of_text|>, <|eot_id|> */
    };
    for (int f = 0; f < N_FAMILIES; f++) {
        if (!toks[f]) continue;
        const int32_t *eog;
        size_t n = dc_tok_eog_ids(toks[f], &eog), k = 0;
        while (want[f].eog[k] >= 0) k++;
        bool same = n == k && !memcmp(eog, want[f].eog, k * sizeof *eog);
        CHECKF(same && dc_tok_bos(toks[f]) == want[f].bos && dc_tok_eos(toks[f]) == want[f].eos &&
                   dc_tok_eot(toks[f]) == want[f].eot && dc_tok_is_eog(toks[f], want[f].eos) &&
                   !dc_tok_is_eog(toks[f], 100),
               "%s: special ids", FAMILIES[f]);
    }
}

/* ---- 2. llama.cpp vectors ---- */

static void check_vectors(dc_tokenizer *const *toks) {
    size_t size;
    char *all = fixture_read_file(fixture_path("tokenizers/llama.cpp-vectors/vectors.jsonl"), &size);
    CHECKF(all != NULL, "cannot read vectors.jsonl");
    if (!all) return;
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *v = cJSON_Parse(line);
        size_t len;
        char *text = line_field(line, "text", &len);
        const cJSON *fam;
        cJSON_ArrayForEach(fam, cJSON_GetObjectItem(v, "applies_to")) {
            int f = family_index(fam->valuestring);
            if (f < 0 || !toks[f] || !text) continue;
            CHECKF(dc_tok_encode(toks[f], text, len, 0, &ids, err), "%s", err);
            bool ok = ids_equal(&ids, cJSON_GetObjectItem(v, "ids"));
            CHECKF(ok, "vector for %s differs: '%.60s'", fam->valuestring, text);
            n_vectors += ok;
        }
        free(text);
        cJSON_Delete(v);
    }
    dc_tok_ids_free(&ids);
    free(all);
}

/* ---- 3. GGUF vocabularies ---- */

static void check_special_ids(const dc_tokenizer *t, const char *name, const cJSON *vocab) {
    CHECKF(dc_tok_bos(t) == cJSON_GetObjectItem(vocab, "bos")->valueint, "%s: bos", name);
    CHECKF(dc_tok_eos(t) == cJSON_GetObjectItem(vocab, "eos")->valueint, "%s: eos", name);
    CHECKF(dc_tok_eot(t) == cJSON_GetObjectItem(vocab, "eot")->valueint, "%s: eot", name);
    CHECKF(dc_tok_add_bos(t) == cJSON_IsTrue(cJSON_GetObjectItem(vocab, "add_bos")), "%s: add_bos", name);
    CHECKF(dc_tok_n_vocab(t) == cJSON_GetObjectItem(vocab, "n_vocab")->valueint, "%s: n_vocab", name);
    const int32_t *eog;
    size_t n_eog = dc_tok_eog_ids(t, &eog);
    dc_tok_ids got = {(int32_t *)eog, n_eog, n_eog};
    CHECKF(ids_equal(&got, cJSON_GetObjectItem(vocab, "eog_ids")), "%s: eog ids", name);
}

/* The expected pieces are llama_token_to_piece bytes with every byte that
 * is not part of a complete UTF-8 sequence shown as U+FFFD. */
static bool piece_matches(const char *got, size_t len, const char *want) {
    const unsigned char *g = (const unsigned char *)got;
    size_t w = 0, want_len = strlen(want);
    for (size_t i = 0, n; i < len; i += n) {
        n = dc_utf8_seq(g + i, len - i);
        const char *expect = n ? got + i : "\xEF\xBF\xBD";
        size_t expect_len = n ? n : 3;
        if (want_len - w < expect_len || memcmp(want + w, expect, expect_len)) return false;
        w += expect_len;
        n = n ? n : 1;
    }
    return w == want_len;
}

static void check_pieces(const dc_tokenizer *t, const char *name, const dc_tok_ids *ids, const cJSON *pieces) {
    size_t i = 0, len;
    const cJSON *p;
    cJSON_ArrayForEach(p, pieces) {
        const char *s = i < ids->n ? dc_tok_piece(t, ids->ids[i], true, &len) : NULL;
        CHECKF(s && piece_matches(s, len, p->valuestring), "%s: piece %zu of id %d", name, i,
               i < ids->n ? ids->ids[i] : -1);
        i++;
    }
}

static void check_tokenization(const dc_tokenizer *t, const char *name, const cJSON *tok, dc_tok_ids *ids) {
    static const struct {
        const char *key;
        unsigned flags;
    } modes[] = {{"ids_parse_special_false", 0},
                 {"ids_add_special_true_parse_special_true", DC_TOK_ADD_SPECIAL | DC_TOK_PARSE_SPECIAL},
                 {"ids_parse_special_true", DC_TOK_PARSE_SPECIAL}};
    const char *text = cJSON_GetObjectItem(tok, "text")->valuestring;
    char err[DC_ERR_LEN];
    for (int m = 0; m < 3; m++) {
        CHECKF(dc_tok_encode(t, text, strlen(text), modes[m].flags, ids, err), "%s: %s", name, err);
        bool ok = ids_equal(ids, cJSON_GetObjectItem(tok, modes[m].key));
        CHECKF(ok, "%s: %s for '%.50s'", name, modes[m].key, text);
        n_gguf_ids += ok;
    }
    check_pieces(t, name, ids, cJSON_GetObjectItem(tok, "pieces_parse_special_true"));
}

static void check_gguf_model(const char *name, dc_tok_ids *ids) {
    char rel[256], err[DC_ERR_LEN];
    snprintf(rel, sizeof rel, "models/%s.expected.json", name);
    cJSON *expected = fixture_json(fixture_path(rel));
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    dc_gguf_file *f = dc_gguf_open(fixture_path(rel), err);
    CHECKF(f && expected, "%s: %s", name, f ? "no expected.json" : err);
    dc_tokenizer *t = f ? dc_tok_load_gguf(f, err) : NULL;
    if (f) dc_gguf_close(f); /* the tokenizer keeps no pointer into the file */
    CHECKF(!f || t, "%s: %s", name, err);
    if (t && expected) {
        check_special_ids(t, name, cJSON_GetObjectItem(expected, "vocab"));
        const cJSON *tok;
        cJSON_ArrayForEach(tok, cJSON_GetObjectItem(expected, "tokenization")) check_tokenization(t, name, tok, ids);
        n_gguf_models++;
    }
    dc_tok_free(t);
    cJSON_Delete(expected);
}

static void check_gguf_models(void) {
    char **names;
    int n = fixture_models(".*", &names);
    CHECKF(n > 0, "no fixture models");
    dc_tok_ids ids = {0};
    for (int i = 0; i < n; i++) check_gguf_model(names[i], &ids);
    dc_tok_ids_free(&ids);
    fixture_free_names(names, n);
}

/* ---- 4. hostile input ---- */

/* Encodes s in both modes; without NFC the pieces must rebuild s exactly. */
static void check_roundtrip(const dc_tokenizer *t, bool nfc, const char *what, const char *s, size_t n,
                            dc_tok_ids *ids) {
    char err[DC_ERR_LEN];
    for (unsigned flags = 0; flags <= DC_TOK_PARSE_SPECIAL; flags += DC_TOK_PARSE_SPECIAL) {
        bool ok = dc_tok_encode(t, s, n, flags, ids, err);
        CHECKF(ok, "%s: %s", what, err);
        size_t total = 0, len;
        for (size_t i = 0; ok && i < ids->n; i++) {
            const char *p = dc_tok_piece(t, ids->ids[i], true, &len);
            ok = p && (nfc || (total + len <= n && !memcmp(s + total, p, len)));
            total += len;
        }
        CHECKF(ok && (nfc || total == n), "%s: pieces do not rebuild the input", what);
        n_hostile += ok;
    }
}

static void check_hostile(dc_tokenizer *const *toks) {
    enum { N = 1 << 20 };
    char *buf = malloc(N);
    dc_tok_ids ids = {0};
    uint32_t seed = 12345;
    for (int f = 0; f < N_FAMILIES && buf; f++) {
        if (!toks[f]) continue;
        bool nfc = f < 2;                          /* the Qwen tokenizers normalize */
        for (int round = 0; round < 50; round++) { /* random bytes, biased towards UTF-8 lead bytes and '<' */
            size_t n = (size_t)(round * 37 % 400);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                uint8_t b = (uint8_t)(seed >> 16);
                buf[i] = (char)(b % 7 == 0 ? '<' : b % 11 == 0 ? 0xCC : b);
            }
            check_roundtrip(toks[f], nfc, "random bytes", buf, n, &ids);
        }
        static const char odd[] = "\xC3\x28\xA0\xA1\xE2\x28\xA1\xF0\x28\x8C\xBC\xED\xA0\x80\xC0\xAF\xF8\x88\x80\x80\x80"
                                  "<|im_\xFF|>\0<|endoftext|>\xE4\xBD";
        check_roundtrip(toks[f], nfc, "invalid UTF-8", odd, sizeof odd - 1, &ids);
        memset(buf, 'a', N);
        check_roundtrip(toks[f], nfc, "1 MiB of 'a'", buf, N, &ids);
        memset(buf, ' ', N);
        check_roundtrip(toks[f], nfc, "1 MiB of spaces", buf, N, &ids);
        for (size_t i = 0; i < N; i++) buf[i] = "e\xCC\x81\n 7\t"[i % 7];
        check_roundtrip(toks[f], nfc, "1 MiB of combining marks", buf, N, &ids);
    }
    dc_tok_ids_free(&ids);
    free(buf);
}

/* ---- 5. loader errors ---- */

static void expect_load_error(const char *json, const char *fragment) {
    char path[] = "/tmp/deepc-tok-XXXXXX", err[DC_ERR_LEN] = "";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, json, strlen(json)) == (ssize_t)strlen(json));
    if (fd >= 0) close(fd);
    dc_tokenizer *t = dc_tok_load(path, err);
    CHECKF(!t && strstr(err, path) && strstr(err, fragment) && !strchr(err, '\n'), "error for %s: got '%s'", fragment,
           err);
    dc_tok_free(t);
    unlink(path);
}

static void check_errors(void) {
    char err[DC_ERR_LEN];
    CHECK(dc_tok_load("/nonexistent/tokenizer.json", err) == NULL && strstr(err, "/nonexistent"));
    expect_load_error(
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": {\"type\": \"NFKC\"}}",
        "NFKC");
    expect_load_error("{\"model\": {\"type\": \"Unigram\"}}", "Unigram");
    expect_load_error(
        "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
        "merges");
    expect_load_error("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": null}", "ByteLevel");
    expect_load_error("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", "
                      "\"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}",
                      "regex");
    expect_load_error("{\"model\": ", "invalid JSON");
}

/* ---- 6. a synthetic tokenizer.json: added-token options and normalized tokens ---- */

/* GPT-2 byte-level alphabet + a few merges; added tokens with lstrip,
 * rstrip, single_word and normalized set; NFC; GPT-2 regex. Returns the
 * path of the file written (static buffer). */
static const char *write_synthetic_tokenizer(void) {
    static char path[] = "/tmp/deepc-synth-XXXXXX";
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab"), *merges = cJSON_AddArrayToObject(model, "merges");
    int id = 0;
    for (int b = 0; b < 256; b++) { /* GPT-2 bytes_to_unicode order: printable bytes first */
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (!printable) continue;
        char s[4] = {0};
        if (b < 0x80)
            s[0] = (char)b;
        else
            s[0] = (char)(0xC0 | b >> 6), s[1] = (char)(0x80 | (b & 0x3F));
        cJSON_AddNumberToObject(vocab, s, id++);
    }
    for (int b = 0, k = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (printable) continue;
        int cp = 256 + k++;
        char s[3] = {(char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 0x3F)), 0};
        cJSON_AddNumberToObject(vocab, s, id++);
    }
    static const char *const pairs[][2] = {{"c", "a"}, {"ca", "t"}, {"\xC4\xA0", "cat"}, {"d", "o"}, {"do", "g"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char merged[16];
        snprintf(merged, sizeof merged, "%s%s", pairs[i][0], pairs[i][1]);
        cJSON_AddNumberToObject(vocab, merged, id++);
        cJSON_AddItemToArray(merges, cJSON_CreateStringArray(pairs[i], 2));
    }
    static const struct {
        const char *content;
        bool special, lstrip, rstrip, single_word, normalized;
    } added[] = {{"<mask>", true, true, false, false, false},
                 {"[R]", false, false, true, false, false},
                 {"cat", false, false, false, true, false},
                 {"\xC3\xA9t\xC3\xA9", false, false, false, false, true}, /* "été", NFC */
                 {"<s>", true, false, false, false, false}};
    cJSON *list = cJSON_AddArrayToObject(root, "added_tokens");
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", id++);
        cJSON_AddStringToObject(a, "content", added[i].content);
        cJSON_AddBoolToObject(a, "single_word", added[i].single_word);
        cJSON_AddBoolToObject(a, "lstrip", added[i].lstrip);
        cJSON_AddBoolToObject(a, "rstrip", added[i].rstrip);
        cJSON_AddBoolToObject(a, "normalized", added[i].normalized);
        cJSON_AddBoolToObject(a, "special", added[i].special);
        cJSON_AddItemToArray(list, a);
    }
    cJSON *norm = cJSON_AddObjectToObject(root, "normalizer"), *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(norm, "type", "NFC");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", false);
    cJSON_AddBoolToObject(pre, "trim_offsets", false);
    cJSON_AddBoolToObject(pre, "use_regex", true);
    cJSON_AddItemToObject(root, "decoder", cJSON_Duplicate(pre, true));
    char *text = cJSON_PrintUnformatted(root);
    int fd = mkstemp(path);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0) close(fd);
    CHECKF(ok, "cannot write %s", path);
    free(text);
    cJSON_Delete(root);
    return path;
}

/* Expected ids from Hugging Face tokenizers 0.23.2 on that file (special
 * tokens parsed / plain); -1 ends a list. */
static const struct {
    const char *text;
    int32_t ids[32], plain[32];
} SYNTH_VECTORS[] = {
    {"a <mask> b", {64, 261, 220, 65, -1}, {64, 220, 27, 76, 64, 82, 74, 29, 220, 65, -1}},
    {"a\xE3\x80\x80\x09<mask>b", {64, 261, 65, -1}, {64, 159, 222, 222, 197, 27, 76, 64, 82, 74, 29, 65, -1}},
    {"x[R]  \x0A y", {87, 262, 88, -1}, {87, 262, 88, -1}},
    {"cat concat cats cat. _cat cat9 (cat) \xC3\xA9"
     "cat",
     {257, 220, 66, 78, 77, 257, 258, 82, 220, 257, 13, 220, 62, 257, 258, 24, 220, 7, 257, 8, 220, 127, 102, 257, -1},
     {257, 220, 66, 78, 77, 257, 258, 82, 220, 257, 13, 220, 62, 257, 258, 24, 220, 7, 257, 8, 220, 127, 102, 257, -1}},
    {"ete\xCC\x81 e\xCC\x81te\xCC\x81 \xC3\xA9t\xC3\xA9",
     {68, 83, 127, 102, 220, 263, 220, 263, -1},
     {68, 83, 127, 102, 220, 263, 220, 263, -1}},
    {"<s>cat<mask>  <s> <mask>",
     {264, 257, 261, 220, 220, 264, 261, -1},
     {27, 82, 29, 257, 27, 76, 64, 82, 74, 29, 220, 220, 27, 82, 29, 220, 27, 76, 64, 82, 74, 29, -1}},
    {"  <mask>[R] cat", {261, 262, 257, -1}, {220, 220, 27, 76, 64, 82, 74, 29, 262, 257, -1}},
    {"<mask><mask>  <mask>", {261, 261, 261, -1}, {27, 76,  64,  82, 74, 29, 27, 76, 64, 82, 74,
                                                   29, 220, 220, 27, 76, 64, 82, 74, 29, -1}},
    {"cat_ cat\xC3\xA9 \xC3\xA9"
     "cat \xE7\x8C\xAB"
     "cat cat\xE7\x8C\xAB cat\xCC\x81 cat\xE2\x80\xA8",
     {257, 62,  258, 127, 102, 220, 127, 102, 257, 220, 163, 234, 104, 257,
      258, 163, 234, 104, 258, 136, 223, 220, 257, 158, 222, 101, -1},
     {257, 62,  258, 127, 102, 220, 127, 102, 257, 220, 163, 234, 104, 257,
      258, 163, 234, 104, 258, 136, 223, 220, 257, 158, 222, 101, -1}},
    {"[R]\xE3\x80\x80\xE2\x80\xA8\xC2\x85x", {262, 87, -1}, {262, 87, -1}},
    {"x \xC2\xA0<mask>", {87, 261, -1}, {87, 220, 126, 254, 27, 76, 64, 82, 74, 29, -1}},
    {"\xC3\xA9t\xC3\xA9\xCC\x81 \xC3\xA9te\xCC\x81", {263, 136, 223, 220, 263, -1}, {263, 136, 223, 220, 263, -1}},
    {"catcat cat-cat", {257, 257, 220, 257, 12, 257, -1}, {257, 257, 220, 257, 12, 257, -1}},
};

static bool ids_equal_list(const dc_tok_ids *got, const int32_t *want) {
    size_t n = 0;
    while (want[n] >= 0) n++;
    return got->n == n && !memcmp(got->ids, want, n * sizeof *want);
}

static void check_synthetic(void) {
    char err[DC_ERR_LEN];
    const char *path = write_synthetic_tokenizer();
    dc_tokenizer *t = dc_tok_load(path, err);
    CHECKF(t != NULL, "synthetic tokenizer: %s", err);
    dc_tok_ids ids = {0};
    for (size_t i = 0; t && i < sizeof SYNTH_VECTORS / sizeof SYNTH_VECTORS[0]; i++) {
        const char *text = SYNTH_VECTORS[i].text;
        bool ok = dc_tok_encode(t, text, strlen(text), DC_TOK_PARSE_SPECIAL, &ids, err) &&
                  ids_equal_list(&ids, SYNTH_VECTORS[i].ids);
        ok = ok && dc_tok_encode(t, text, strlen(text), 0, &ids, err) && ids_equal_list(&ids, SYNTH_VECTORS[i].plain);
        CHECKF(ok, "synthetic tokenizer: '%s'", text);
        n_synthetic += ok;
    }
    dc_tok_ids_free(&ids);
    dc_tok_free(t);
    unlink(path);
}

/* ---- 7. Unicode versions: Oniguruma's 16.0 categories, the 9.0 NFC data ---- */

static void check_unicode_versions(dc_tokenizer *const *toks) {
    static const struct {
        int family;
        const char *text;
        int32_t ids[24];
    } vectors[] = {
        /* U+1FAE8 (So, 15.0), U+13A18 (Lo, 16.0), U+1C89/U+1C8A (Lu/Ll, 16.0) */
        {2,
         "a\xF0\x9F\xAB\xA8"
         "b \xF0\x93\xA8\x98x \xE1\xB2\x89\xE1\xB2\x8A!",
         {67, 3574, 107, 104, 68, 86387, 111643, 249, 90, 8751, 113, 234, 160, 113, 235, 3, -1}},
        /* U+31350 (Lo, 15.0) inside a word; U+0898 (mark of 14.0: class 0 for HF's NFC);
         * U+11935 U+11930 (composes to U+11938 since 13.0, not in HF's NFC) */
        {0,
         "x\xF0\xB1\x8D\x90y \xE1\xB2\x89"
         "ab a\xE0\xA2\x98\xCC\x96 \xF0\x91\xA4\xB5\xF0\x91\xA4\xB0",
         {87, 172, 109, 235, 238, 88,     86089, 110, 231,    370, 264, 156,
          95, 246, 136, 244, 220, 128240, 97,    113, 128240, 97,  108, -1}},
        {3,
         "\xF0\xB1\x8D\x90\xF0\xB1\x8D\x91 12345 \xF0\x9F\xAB\xA8\xF0\x9F\xAB\xA8",
         {172, 109, 235, 238, 172, 109, 235, 239, 220, 4513, 1774, 11410, 104, 101, 9468, 104, 101, -1}},
    };
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const dc_tokenizer *t = toks[vectors[i].family];
        if (!t) continue;
        bool ok = dc_tok_encode(t, vectors[i].text, strlen(vectors[i].text), DC_TOK_PARSE_SPECIAL, &ids, err) &&
                  ids_equal_list(&ids, vectors[i].ids);
        CHECKF(ok, "%s: Unicode version vector %zu", FAMILIES[vectors[i].family], i);
        n_unicode += ok;
    }
    dc_tok_ids_free(&ids);
}

int main(void) {
    dc_tokenizer *toks[N_FAMILIES];
    for (int f = 0; f < N_FAMILIES; f++) toks[f] = load_family(FAMILIES[f]);
    check_cases(toks);
    check_hf_special(toks);
    check_vectors(toks);
    check_gguf_models();
    check_hostile(toks);
    check_errors();
    check_synthetic();
    check_unicode_versions(toks);
    for (int f = 0; f < N_FAMILIES; f++) check_stream_silent_special(toks[f]);
    for (int f = 0; f < N_FAMILIES; f++) dc_tok_free(toks[f]);
    printf("test_tokenizer: cases ids %d, ids_plain %d, decoded %d, streamed %d, add_special %d; llama.cpp vectors %d; "
           "GGUF models %d (%d id lists); hostile inputs %d; synthetic tokenizer %d; Unicode versions %d\n",
           n_ids, n_plain, n_decoded, n_stream, n_bos, n_vectors, n_gguf_models, n_gguf_ids, n_hostile, n_synthetic,
           n_unicode);
    return CHECK_DONE();
}
