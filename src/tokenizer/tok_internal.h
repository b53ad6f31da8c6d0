/* tok_internal.h - the dc_tokenizer structure and the helpers its source files
 * share (not part of the public API, see tokenizer.h).
 *
 * Layout: every token id in [0, n_vocab) has a dc_tk_token entry. Its `text` is
 * the string as the vocabulary stores it (byte-level mapped for BPE tokens,
 * raw text for added tokens) and its `piece` the bytes it decodes to; both
 * live in the arenas `texts` / `pieces` (offsets, so the arenas may grow while
 * loading). Ids a file leaves undefined have kind TK_NONE and empty strings.
 * The BPE vocabulary (string -> id, only the model's own tokens) and the merge
 * table ((left id, right id) -> rank, merged id) are open-addressing hash
 * tables. Added tokens live in one or two byte tries (raw text / normalized
 * text). Pre-tokenizer stages are compiled PCRE2 regexes applied in sequence,
 * each to every piece of the previous one.
 */
#ifndef DC_TOK_INTERNAL_H
#define DC_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "nfc.h"
#include "tokenizer.h"

/* ---- growable byte buffer (utf8.c) ---- */
typedef struct {
    char *p;
    size_t n, cap;
} dc_tk_buf;

bool dc_tk_buf_reserve(dc_tk_buf *b, size_t extra);
bool dc_tk_buf_append(dc_tk_buf *b, const void *src, size_t n);
void dc_tk_buf_free(dc_tk_buf *b);

/* ---- UTF-8 (utf8.c) ---- */
/* Decodes one code point at s[0, n) (n >= 1): returns it and sets *len, or
 * returns -1 with *len = 1 when s does not start a valid sequence. */
int32_t dc_tk_utf8_decode(const unsigned char *s, size_t n, size_t *len);
/* Encodes cp (< 0x110000) into out, returns 1..4. */
size_t dc_tk_utf8_encode(uint32_t cp, char out[4]);
/* Appends the valid UTF-8 prefix of s[0, n) to out, each maximal invalid
 * subsequence replaced by U+FFFD (Rust from_utf8_lossy). With final == false
 * it stops before an incomplete sequence at the end (which might still be
 * completed) and returns how many bytes it consumed; with final == true it
 * consumes everything. Returns (size_t)-1 when memory runs out. */
size_t dc_tk_utf8_lossy(const unsigned char *s, size_t n, bool final, dc_tk_buf *out);
/* Unicode White_Space. */
bool dc_tk_is_space(int32_t cp);

/* ---- NFC (nfc.c) ---- */
/* Length of the longest prefix of s[0, n) that NFC leaves unchanged whatever
 * follows it (n when the whole string is already NFC): code points that are
 * NFC_QC=Yes with combining class 0 never change and never combine with what
 * precedes them. */
size_t dc_tk_nfc_stable_prefix(const char *s, size_t n);
/* Given s starting where dc_tk_nfc_stable_prefix stopped, the length of the
 * span to normalize: up to the next code point (after the first) that is
 * NFC_QC=Yes with class 0 (or an invalid byte), across which NFC never
 * reaches. */
size_t dc_tk_nfc_unstable_span(const char *s, size_t n);
/* Appends NFC(s[0, n)) to out: full canonical decomposition, canonical
 * reordering, canonical composition (Hangul algorithmically). Bytes that are
 * not valid UTF-8 pass through unchanged and block composition across them. */
bool dc_tk_nfc_append(const char *s, size_t n, dc_tk_buf *out);

/* ---- Unicode 16.0 additions to the general categories (class_tables.c,
 * generated): ranges pretok.c adds to each \p{name} it hands to PCRE2, in
 * the copy of each regex used for text containing such code points ---- */
typedef struct {
    const char *name;   /* short category name: L, Lu, N, P, S, ... */
    const char *ranges; /* PCRE2 class ranges, e.g. \x{1c89}-\x{1c8a} */
} dc_tk_class_delta;

typedef struct {
    uint32_t lo, hi;
} dc_tk_range;

extern const dc_tk_class_delta dc_tk_class_deltas[];
extern const size_t dc_tk_class_deltas_count;
extern const dc_tk_range dc_tk_class_delta_all[]; /* every code point of those additions */
extern const size_t dc_tk_class_delta_all_count;

/* ---- the tokenizer ---- */
typedef enum {
    TK_NONE = 0, /* id not defined by the file */
    TK_NORMAL,   /* BPE vocabulary token */
    TK_SPECIAL,  /* added token, special (HF special / GGUF CONTROL, UNKNOWN) */
    TK_ADDED,    /* added token, not special (HF special=false / GGUF USER_DEFINED) */
    TK_UNUSED,   /* GGUF UNUSED: kept for its id only */
} dc_tk_kind;

typedef struct {
    uint32_t text_off, text_len;
    uint32_t piece_off, piece_len;
    uint8_t kind; /* dc_tk_kind */
} dc_tk_token;

/* An added token as the matcher sees it. */
typedef struct {
    int32_t id;
    bool special, lstrip, rstrip, single_word;
} dc_tk_added;

/* Byte trie over added-token strings; node 0 is the root. */
typedef struct {
    int32_t first_child, next_sibling;
    int32_t added; /* index into dc_tokenizer.added, -1 if no token ends here */
    uint8_t byte;
} dc_tk_trie_node;

typedef struct {
    dc_tk_trie_node *nodes;
    size_t n, cap;
    int32_t root_child[256]; /* children of the root, -1 when absent */
} dc_tk_trie;

/* One merge: the pair (left id << 32 | right id, UINT64_MAX = empty slot),
 * its rank (position in the merge list) and the id of the merged token. */
typedef struct {
    uint64_t key;
    uint32_t rank;
    int32_t merged;
} dc_tk_merge;

#define TK_MAX_STAGES 8

typedef struct {
    pcre2_code *code;
    bool jit; /* JIT-compiled: matched with pcre2_jit_match */
} dc_tk_regex;

struct dc_tokenizer {
    int32_t n_vocab;    /* ids in use: [0, n_vocab) */
    int32_t tokens_cap; /* entries allocated in tokens (>= n_vocab) */
    dc_tk_token *tokens;
    dc_tk_buf texts, pieces;

    /* BPE model */
    int32_t *vocab_slots; /* token ids, -1 = empty; size vocab_mask + 1 */
    size_t vocab_mask;
    dc_tk_merge *merges; /* hash slots; size merge_mask + 1 */
    size_t merge_mask;
    int32_t byte_token[256]; /* id of the single-byte token of each byte, -1 if absent */
    int32_t unk_id;          /* HF unk_token, -1 when none */
    bool ignore_merges;      /* emit a pre-token directly when it is a vocab token */

    /* normalization and pre-tokenization */
    bool nfc;
    int n_stages;
    /* stages[0]: PCRE2's own Unicode data; stages[1]: with the Unicode 16.0
     * additions (the same compiled regex when they change nothing) */
    dc_tk_regex stages[2][TK_MAX_STAGES];

    /* added tokens */
    dc_tk_added *added;
    size_t n_added;
    dc_tk_trie raw_trie;    /* matched on the raw text */
    dc_tk_trie norm_trie;   /* matched on normalized text (HF "normalized": true) */
    pcre2_code *word_re; /* \w, compiled when some token is single_word */

    /* special ids */
    int32_t bos, eos, eot, eom, pad;
    int32_t prefix[4], suffix[4]; /* added by DC_TOK_ADD_SPECIAL */
    int n_prefix, n_suffix;
    int32_t *eog;
    size_t n_eog;
};

/* GPT-2 byte-level mapping (utf8.c): byte b is written as the code point
 * dc_tk_byte_to_cp(b); dc_tk_cp_to_byte() inverts it (-1 for other code points). */
uint32_t dc_tk_byte_to_cp(uint8_t b);
int dc_tk_cp_to_byte(int32_t cp);

/* tokenizer.c: construction helpers used by the loaders */
dc_tokenizer *dc_tk_new(char err[DC_ERR_LEN]);
/* Sizes the token table (n_vocab = n ids, room for n); every id starts as TK_NONE. */
bool dc_tk_set_vocab_size(dc_tokenizer *t, int32_t n, char err[DC_ERR_LEN]);
/* Sets the text of token id (copied) and its kind. */
bool dc_tk_set_token(dc_tokenizer *t, int32_t id, const char *text, size_t len, dc_tk_kind kind, char err[DC_ERR_LEN]);
const char *dc_tk_text(const dc_tokenizer *t, int32_t id, size_t *len);
/* Registers token id as an added token (its text must be set). normalized:
 * matched after normalization (HF "normalized": true). */
bool dc_tk_add_added(dc_tokenizer *t, const dc_tk_added *a, bool normalized, char err[DC_ERR_LEN]);
/* Compiles one pre-tokenizer stage (Oniguruma-style regex, or a literal). */
bool dc_tk_add_stage(dc_tokenizer *t, const char *pattern, size_t len, bool literal, bool dollar_endonly,
                  char err[DC_ERR_LEN]);
/* After tokens, merges, added tokens and bos/eos are set: builds the vocab
 * hash and byte table, the decoded pieces, eot/eom/eog. llama_rules: GGUF
 * semantics (eog tokens become special, as llama.cpp does). */
bool dc_tk_finish(dc_tokenizer *t, bool llama_rules, char err[DC_ERR_LEN]);

/* bpe.c */
bool dc_tk_vocab_build(dc_tokenizer *t, char err[DC_ERR_LEN]);
int32_t dc_tk_vocab_find(const dc_tokenizer *t, const char *s, size_t n);
/* Adds merge number `rank` "left right" (token texts). Unknown parts: error
 * when strict, ignored otherwise. The first of two equal merges wins. */
bool dc_tk_merges_init(dc_tokenizer *t, size_t n_merges, char err[DC_ERR_LEN]);
bool dc_tk_merge_add(dc_tokenizer *t, uint32_t rank, const char *left, size_t left_len, const char *right,
                  size_t right_len, bool strict, char err[DC_ERR_LEN]);

/* The per-call state of one encode. */
typedef struct {
    const dc_tokenizer *t;
    bool parse_special;
    const dc_tk_regex *stages; /* t->stages[0] or [1] */
    dc_tok_ids *out;
    char *err;
    pcre2_match_data *md;
    dc_tk_buf norm;   /* NFC output */
    dc_tk_buf mapped; /* byte-level mapped pre-token (ignore_merges lookups) */
    struct dc_tk_sym *syms;
    size_t syms_cap;
    struct dc_tk_cand *heap;
    size_t heap_n, heap_cap;
    struct dc_tk_cache_entry *cache; /* NULL for short inputs */
    size_t cache_mask;
} dc_tk_session;

bool dc_tk_emit(dc_tk_session *s, int32_t id);
/* BPE-encodes one pre-token (raw bytes) and appends the ids. */
bool dc_tk_bpe(dc_tk_session *s, const unsigned char *word, size_t n);
/* Gives a session with a long input a word cache (optional: none on failure). */
void dc_tk_bpe_cache_init(dc_tk_session *s, size_t text_len);
void dc_tk_bpe_session_free(dc_tk_session *s);

/* pretok.c: splits text[0, n) with the stages and BPE-encodes every piece. */
bool dc_tk_pretokenize(dc_tk_session *s, const char *text, size_t n);
/* Whether text has a code point that Unicode 16.0 added to a category
 * (then the stages[1] regexes are needed). */
bool dc_tk_has_new_class_chars(const char *text, size_t n);
void dc_tk_free_stages(dc_tokenizer *t);

/* added.c */
void dc_tk_trie_init(dc_tk_trie *tr);
void dc_tk_trie_free(dc_tk_trie *tr);
bool dc_tk_trie_insert(dc_tk_trie *tr, const char *s, size_t n, int32_t added_index);
/* Index (into dc_tokenizer.added) of the token whose string is exactly s[0, n), -1 if none. */
int32_t dc_tk_trie_find(const dc_tk_trie *tr, const char *s, size_t n);
/* Finds added tokens of trie in text[0, n) and calls `gap` for the text
 * between them and emits the ids of the tokens themselves. */
typedef bool (*dc_tk_gap_fn)(dc_tk_session *s, const char *text, size_t n);
bool dc_tk_split_added(dc_tk_session *s, const dc_tk_trie *trie, const char *text, size_t n, dc_tk_gap_fn gap);

#endif
