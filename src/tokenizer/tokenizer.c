/* tokenizer.c - the dc_tokenizer object: construction helpers shared by the
 * GGUF and tokenizer.json loaders, the encode pipeline, id queries and
 * dc_tok_load's dispatch on the path.
 *
 * Encode pipeline (Hugging Face order): prefix ids (ADD_SPECIAL) -> added
 * tokens matched on the raw text -> each gap normalized (NFC only on the
 * spans around unstable code points) -> "normalized" added tokens matched
 * on it -> each gap pre-tokenized and BPE-encoded -> suffix ids. All per-call state lives in a
 * dc_tk_session on the stack, so a tokenizer is never written after loading.
 *
 * End-of-generation detection follows llama.cpp's text rules (only over
 * added tokens here): eot = the file's eot id, else eos when its text is an
 * end-of-turn name, else the first token with such a name; eom likewise;
 * eog = eos + eot + eom + every token named like an end of turn / message
 * + the FIM pad / repo / file-separator tokens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok_internal.h"

dc_tokenizer *dc_tk_new(char err[DC_ERR_LEN]) {
    dc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return dc_err(err, "out of memory"), NULL;
    t->unk_id = t->bos = t->eos = t->eot = t->eom = t->pad = -1;
    memset(t->byte_token, 0xFF, sizeof t->byte_token);
    dc_tk_trie_init(&t->raw_trie);
    dc_tk_trie_init(&t->norm_trie);
    return t;
}

void dc_tok_free(dc_tokenizer *t) {
    if (!t) return;
    free(t->tokens);
    dc_tk_buf_free(&t->texts);
    dc_tk_buf_free(&t->pieces);
    free(t->vocab_slots);
    free(t->merges);
    dc_tk_free_stages(t);
    pcre2_code_free(t->word_re);
    free(t->added);
    dc_tk_trie_free(&t->raw_trie);
    dc_tk_trie_free(&t->norm_trie);
    free(t->eog);
    free(t);
}

bool dc_tk_set_vocab_size(dc_tokenizer *t, int32_t n, char err[DC_ERR_LEN]) {
    if (n <= 0) return dc_err(err, "empty vocabulary"), false;
    t->tokens = calloc((size_t)n, sizeof *t->tokens);
    if (!t->tokens) return dc_err(err, "out of memory for %d tokens", n), false;
    t->n_vocab = t->tokens_cap = n;
    return true;
}

bool dc_tk_set_token(dc_tokenizer *t, int32_t id, const char *text, size_t len, dc_tk_kind kind, char err[DC_ERR_LEN]) {
    if (id < 0 || id >= t->tokens_cap) return dc_err(err, "token id %d out of range [0, %d)", id, t->tokens_cap), false;
    if (len > UINT32_MAX - t->texts.n) return dc_err(err, "token texts exceed 4 GiB"), false;
    dc_tk_token *tok = &t->tokens[id];
    tok->text_off = (uint32_t)t->texts.n;
    tok->text_len = (uint32_t)len;
    tok->kind = (uint8_t)kind;
    return dc_tk_buf_append(&t->texts, text, len) || dc_err(err, "out of memory for token texts");
}

const char *dc_tk_text(const dc_tokenizer *t, int32_t id, size_t *len) {
    *len = t->tokens[id].text_len;
    return t->texts.p ? t->texts.p + t->tokens[id].text_off : "";
}

bool dc_tk_add_added(dc_tokenizer *t, const dc_tk_added *a, bool normalized, char err[DC_ERR_LEN]) {
    dc_tk_added *added = realloc(t->added, (t->n_added + 1) * sizeof *added);
    if (!added) return dc_err(err, "out of memory for added tokens"), false;
    t->added = added;
    t->added[t->n_added] = *a;
    size_t n;
    const char *text = dc_tk_text(t, a->id, &n);
    dc_tk_buf norm = {0};
    if (normalized && t->nfc && !dc_tk_nfc_append(text, n, &norm)) return dc_err(err, "out of memory"), false;
    bool ok = normalized && t->nfc
                  ? dc_tk_trie_insert(&t->norm_trie, norm.p, norm.n, (int32_t)t->n_added)
                  : dc_tk_trie_insert(normalized ? &t->norm_trie : &t->raw_trie, text, n, (int32_t)t->n_added);
    dc_tk_buf_free(&norm);
    if (!ok) return dc_err(err, "out of memory for added tokens"), false;
    t->n_added++;
    if (a->single_word && !t->word_re) { /* Rust regex \w, which single_word uses */
        static const char word[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
        int code;
        PCRE2_SIZE at;
        t->word_re = pcre2_compile((PCRE2_SPTR)word, sizeof word - 1, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                                   &code, &at, NULL);
        if (!t->word_re) return dc_err(err, "cannot compile %s", word), false;
    }
    return true;
}

/* ---- finishing ---- */

/* HF ByteLevel decoder rule: a token whose characters all belong to the
 * byte-level alphabet stands for those bytes, any other token for its text. */
static bool set_piece(dc_tokenizer *t, int32_t id, bool raw) {
    dc_tk_token *tok = &t->tokens[id];
    size_t n;
    const unsigned char *s = (const unsigned char *)dc_tk_text(t, id, &n);
    tok->piece_off = (uint32_t)t->pieces.n;
    if (tok->kind == TK_NONE || tok->kind == TK_UNUSED || n == 0) return true;
    if (!dc_tk_buf_reserve(&t->pieces, n)) return false;
    size_t start = t->pieces.n;
    for (size_t i = 0, len; !raw && i < n; i += len) {
        int b = dc_tk_cp_to_byte(dc_tk_utf8_decode(s + i, n - i, &len));
        if (b < 0) {
            raw = true;
            t->pieces.n = start;
        } else {
            t->pieces.p[t->pieces.n++] = (char)b;
        }
    }
    if (raw) memcpy(t->pieces.p + start, s, n), t->pieces.n = start + n;
    tok->piece_len = (uint32_t)(t->pieces.n - start);
    return true;
}

static bool name_in(const char *s, size_t n, const char *const *names) {
    for (; *names; names++)
        if (strlen(*names) == n && !memcmp(*names, s, n)) return true;
    return false;
}

static const char *const EOT_NAMES[] = {"<|eot_id|>", "<|im_end|>",      "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|end_of_text|>", "<EOT>",   "_<EOT>",
                                        "<｜end▁of▁sentence｜>", "<end_of_utterance>", NULL};
static const char *const EOM_NAMES[] = {"<|eom_id|>", NULL};
static const char *const EOG_NAMES[] = {"<|eot_id|>",      "<|im_end|>",         "<|end|>",    "<|return|>", "<|call|>",
                                        "<end_of_turn>",   "<|endoftext|>",      "<|eom_id|>", "<EOT>",      "_<EOT>",
                                        "<|end_of_text|>", "<end_of_utterance>", NULL};
static const char *const FIM_NAMES[3][6] = {
    {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL},
    {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL},
    {"<|file_sep|>", "<fim-sep>", "<SEP>", "<filename>", NULL},
};

/* First added token whose text is one of names, -1 if none. */
static int32_t find_named(const dc_tokenizer *t, const char *const *names) {
    int32_t best = -1;
    for (size_t k = 0; k < t->n_added; k++) {
        size_t n;
        const char *s = dc_tk_text(t, t->added[k].id, &n);
        if (name_in(s, n, names) && (best < 0 || t->added[k].id < best)) best = t->added[k].id;
    }
    return best;
}

static int cmp_id(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bool set_eog(dc_tokenizer *t, char err[DC_ERR_LEN]) {
    size_t n;
    if (t->eot < 0 && t->eos >= 0) {
        const char *s = dc_tk_text(t, t->eos, &n);
        if (name_in(s, n, EOT_NAMES)) t->eot = t->eos;
    }
    if (t->eot < 0) t->eot = find_named(t, EOT_NAMES);
    if (t->eom < 0) t->eom = find_named(t, EOM_NAMES);
    t->eog = malloc((t->n_added + 6) * sizeof *t->eog);
    if (!t->eog) return dc_err(err, "out of memory"), false;
    int32_t fixed[6] = {
        t->eos, t->eot, t->eom, find_named(t, FIM_NAMES[0]), find_named(t, FIM_NAMES[1]), find_named(t, FIM_NAMES[2])};
    for (int k = 0; k < 6; k++)
        if (fixed[k] >= 0) t->eog[t->n_eog++] = fixed[k];
    for (size_t k = 0; k < t->n_added; k++) {
        const char *s = dc_tk_text(t, t->added[k].id, &n);
        if (name_in(s, n, EOG_NAMES)) t->eog[t->n_eog++] = t->added[k].id;
    }
    qsort(t->eog, t->n_eog, sizeof *t->eog, cmp_id);
    size_t m = 0;
    for (size_t k = 0; k < t->n_eog; k++)
        if (m == 0 || t->eog[m - 1] != t->eog[k]) t->eog[m++] = t->eog[k];
    t->n_eog = m;
    return true;
}

/* llama.cpp marks every end-of-generation token CONTROL (special). */
static void eog_tokens_special(dc_tokenizer *t) {
    for (size_t k = 0; k < t->n_added; k++) {
        if (!dc_tok_is_eog(t, t->added[k].id)) continue;
        t->added[k].special = true;
        t->tokens[t->added[k].id].kind = TK_SPECIAL;
    }
}

bool dc_tk_finish(dc_tokenizer *t, bool llama_rules, char err[DC_ERR_LEN]) {
    for (int b = 0; b < 256; b++) {
        char s[4];
        t->byte_token[b] = dc_tk_vocab_find(t, s, dc_tk_utf8_encode(dc_tk_byte_to_cp((uint8_t)b), s));
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        bool added = t->tokens[id].kind == TK_SPECIAL || t->tokens[id].kind == TK_ADDED;
        if (!set_piece(t, id, llama_rules && added)) return dc_err(err, "out of memory for token pieces"), false;
    }
    if (!set_eog(t, err)) return false;
    if (llama_rules) eog_tokens_special(t);
    return true;
}

/* ---- encoding ---- */

static bool normalized_gap(dc_tk_session *s, const char *text, size_t n) {
    return dc_tk_split_added(s, &s->t->norm_trie, text, n, dc_tk_pretokenize);
}

static bool raw_gap(dc_tk_session *s, const char *text, size_t n) {
    if (!s->t->nfc || dc_tk_nfc_stable_prefix(text, n) == n) return normalized_gap(s, text, n);
    s->norm.n = 0;
    for (size_t pos = 0; pos < n;) {
        size_t keep = dc_tk_nfc_stable_prefix(text + pos, n - pos);
        size_t span = pos + keep < n ? dc_tk_nfc_unstable_span(text + pos + keep, n - pos - keep) : 0;
        if (!dc_tk_buf_append(&s->norm, text + pos, keep) || !dc_tk_nfc_append(text + pos + keep, span, &s->norm))
            return dc_err(s->err, "out of memory normalizing %zu bytes", n), false;
        pos += keep + span;
    }
    return normalized_gap(s, s->norm.p, s->norm.n);
}

static bool emit_all(dc_tk_session *s, const int32_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (!dc_tk_emit(s, ids[i])) return false;
    return true;
}

bool dc_tok_encode(const dc_tokenizer *t, const char *text, size_t len, unsigned flags, dc_tok_ids *out,
                   char err[DC_ERR_LEN]) {
    out->n = 0;
    dc_tk_session s = {.t = t,
                    .parse_special = flags & DC_TOK_PARSE_SPECIAL,
                    .stages = t->stages[dc_tk_has_new_class_chars(text, len)],
                    .out = out,
                    .err = err};
    s.md = pcre2_match_data_create(1, NULL);
    if (!s.md) return dc_err(err, "out of memory"), false;
    dc_tk_bpe_cache_init(&s, len);
    bool add = flags & DC_TOK_ADD_SPECIAL;
    bool ok = (!add || emit_all(&s, t->prefix, t->n_prefix)) && dc_tk_split_added(&s, &t->raw_trie, text, len, raw_gap) &&
              (!add || emit_all(&s, t->suffix, t->n_suffix));
    pcre2_match_data_free(s.md);
    dc_tk_buf_free(&s.norm);
    dc_tk_buf_free(&s.mapped);
    dc_tk_bpe_session_free(&s);
    return ok;
}

void dc_tok_ids_free(dc_tok_ids *ids) {
    free(ids->ids);
    *ids = (dc_tok_ids){0};
}

/* ---- queries ---- */

int32_t dc_tok_n_vocab(const dc_tokenizer *t) { return t->n_vocab; }
int32_t dc_tok_bos(const dc_tokenizer *t) { return t->bos; }
int32_t dc_tok_eos(const dc_tokenizer *t) { return t->eos; }
int32_t dc_tok_eot(const dc_tokenizer *t) { return t->eot; }
bool dc_tok_add_bos(const dc_tokenizer *t) { return t->n_prefix > 0 && t->prefix[0] == t->bos; }

bool dc_tok_is_eog(const dc_tokenizer *t, int32_t id) {
    return id >= 0 && bsearch(&id, t->eog, t->n_eog, sizeof *t->eog, cmp_id) != NULL;
}

size_t dc_tok_eog_ids(const dc_tokenizer *t, const int32_t **ids) {
    *ids = t->eog;
    return t->n_eog;
}

int32_t dc_tok_find(const dc_tokenizer *t, const char *text, size_t len) {
    int32_t a = dc_tk_trie_find(&t->raw_trie, text, len);
    if (a < 0) a = dc_tk_trie_find(&t->norm_trie, text, len);
    return a >= 0 ? t->added[a].id : dc_tk_vocab_find(t, text, len);
}

/* ---- loading by path ---- */

static bool is_gguf_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    if (f) fclose(f);
    return yes;
}

dc_tokenizer *dc_tok_load(const char *path, char err[DC_ERR_LEN]) {
    struct stat st;
    if (stat(path, &st) != 0) return dc_err(err, "%s: cannot open (%s)", path, strerror(errno)), NULL;
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(path);
        char *json = malloc(n + sizeof "/tokenizer.json");
        if (!json) return dc_err(err, "out of memory"), NULL;
        memcpy(json, path, n);
        strcpy(json + n, "/tokenizer.json");
        dc_tokenizer *t = dc_tok_load_hf(json, err);
        free(json);
        return t;
    }
    if (!is_gguf_file(path)) return dc_tok_load_hf(path, err);
    dc_gguf_file *f = dc_gguf_open(path, err);
    if (!f) return NULL;
    dc_tokenizer *t = dc_tok_load_gguf(f, err);
    dc_gguf_close(f);
    return t;
}
