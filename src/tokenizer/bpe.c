/* bpe.c - the BPE model: vocabulary hash (token text -> id), merge table
 * ((left id, right id) -> rank and merged id) and the merge loop.
 *
 * Both tables use open addressing with linear probing at load factor <= 1/2
 * and are read-only after loading. dc_tk_bpe turns a pre-token's raw bytes into
 * the single-byte tokens of the byte-level alphabet, then repeatedly merges
 * the adjacent pair of lowest rank, leftmost first (Hugging Face's order),
 * using a doubly linked list of symbols and a binary min-heap of candidate
 * pairs keyed by (rank, position): O(n log n) per pre-token, so a huge
 * single-word input cannot take quadratic time. Each candidate records the
 * pair it was made for; when the symbols at its position are no longer that
 * pair (a side was merged away since) it is stale and skipped. Long inputs
 * also get a per-call cache of short words' ids (see dc_tk_bpe).
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

struct dc_tk_sym {
    int32_t id; /* -1 once merged into its left neighbour */
    int32_t prev, next;
};

struct dc_tk_cand {
    uint32_t rank;
    int32_t pos;
    int32_t left, right, merged; /* the pair when pushed, and its merge */
};

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
}

static uint64_t hash_pair(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ULL;
    return key ^ (key >> 31);
}

static size_t table_size(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
}

int32_t dc_tk_vocab_find(const dc_tokenizer *t, const char *s, size_t n) {
    for (size_t i = hash_bytes(s, n) & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        int32_t id = t->vocab_slots[i];
        if (id < 0) return -1;
        const dc_tk_token *tok = &t->tokens[id];
        if (tok->text_len == n && !memcmp(t->texts.p + tok->text_off, s, n)) return id;
    }
}

bool dc_tk_vocab_build(dc_tokenizer *t, char err[DC_ERR_LEN]) {
    size_t count = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) count += t->tokens[id].kind == TK_NORMAL;
    size_t cap = table_size(count);
    free(t->vocab_slots);
    t->vocab_slots = malloc(cap * sizeof *t->vocab_slots);
    if (!t->vocab_slots) return dc_err(err, "out of memory for the vocabulary"), false;
    memset(t->vocab_slots, 0xFF, cap * sizeof *t->vocab_slots);
    t->vocab_mask = cap - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->tokens[id].kind != TK_NORMAL) continue;
        size_t n;
        const char *s = dc_tk_text(t, id, &n);
        if (dc_tk_vocab_find(t, s, n) >= 0) continue; /* duplicate text: the first id wins */
        size_t i = hash_bytes(s, n) & t->vocab_mask;
        while (t->vocab_slots[i] >= 0) i = (i + 1) & t->vocab_mask;
        t->vocab_slots[i] = id;
    }
    return true;
}

bool dc_tk_merges_init(dc_tokenizer *t, size_t n_merges, char err[DC_ERR_LEN]) {
    size_t cap = table_size(n_merges);
    t->merges = malloc(cap * sizeof *t->merges);
    if (!t->merges) return dc_err(err, "out of memory for %zu merges", n_merges), false;
    for (size_t i = 0; i < cap; i++) t->merges[i].key = UINT64_MAX;
    t->merge_mask = cap - 1;
    return true;
}

static const dc_tk_merge *merge_find(const dc_tokenizer *t, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = hash_pair(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        if (t->merges[i].key == key) return &t->merges[i];
        if (t->merges[i].key == UINT64_MAX) return NULL;
    }
}

bool dc_tk_merge_add(dc_tokenizer *t, uint32_t rank, const char *left, size_t left_len, const char *right,
                  size_t right_len, bool strict, char err[DC_ERR_LEN]) {
    char stack[256], *joined = left_len + right_len <= sizeof stack ? stack : malloc(left_len + right_len);
    if (!joined) return dc_err(err, "out of memory"), false;
    memcpy(joined, left, left_len);
    memcpy(joined + left_len, right, right_len);
    int32_t a = dc_tk_vocab_find(t, left, left_len), b = dc_tk_vocab_find(t, right, right_len);
    int32_t merged = dc_tk_vocab_find(t, joined, left_len + right_len);
    if (joined != stack) free(joined);
    if (a < 0 || b < 0 || merged < 0) {
        if (!strict) return true;
        return dc_err(err, "merge %u ('%.*s' + '%.*s'): %s is not in the vocabulary", rank,
                      (int)(left_len > 64 ? 64 : left_len), left, (int)(right_len > 64 ? 64 : right_len), right,
                      a < 0   ? "the left part"
                      : b < 0 ? "the right part"
                              : "the merged token"),
               false;
    }
    if (merge_find(t, a, b)) return true; /* the first of two equal merges wins */
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = hash_pair(key) & t->merge_mask;
    while (t->merges[i].key != UINT64_MAX) i = (i + 1) & t->merge_mask;
    t->merges[i] = (dc_tk_merge){key, rank, merged};
    return true;
}

bool dc_tk_emit(dc_tk_session *s, int32_t id) {
    dc_tok_ids *o = s->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        int32_t *ids = realloc(o->ids, cap * sizeof *ids);
        if (!ids) return dc_err(s->err, "out of memory for %zu token ids", cap), false;
        o->ids = ids;
        o->cap = cap;
    }
    o->ids[o->n++] = id;
    return true;
}

static bool cand_less(struct dc_tk_cand a, struct dc_tk_cand b) {
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(dc_tk_session *s, struct dc_tk_cand c) {
    size_t i = s->heap_n++;
    while (i > 0 && cand_less(c, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = c;
}

static struct dc_tk_cand heap_pop(dc_tk_session *s) {
    struct dc_tk_cand top = s->heap[0], last = s->heap[--s->heap_n];
    size_t i = 0, n = s->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(s->heap[c + 1], s->heap[c])) c++;
        if (!cand_less(s->heap[c], last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

/* Pushes the pair starting at symbol pos when it has a merge. */
static void push_pair(dc_tk_session *s, int32_t pos) {
    if (pos < 0 || s->syms[pos].next < 0) return;
    int32_t left = s->syms[pos].id, right = s->syms[s->syms[pos].next].id;
    const dc_tk_merge *m = merge_find(s->t, left, right);
    if (m) heap_push(s, (struct dc_tk_cand){m->rank, pos, left, right, m->merged});
}

static bool reserve_scratch(dc_tk_session *s, size_t n) {
    if (n <= s->syms_cap) return true;
    if (n > INT32_MAX / 2) return dc_err(s->err, "pre-token of %zu bytes is too long", n), false;
    struct dc_tk_sym *syms = realloc(s->syms, n * sizeof *syms);
    if (syms) s->syms = syms;
    /* each merge pops one candidate and pushes at most two: <= 2n live */
    struct dc_tk_cand *heap = realloc(s->heap, 2 * n * sizeof *heap);
    if (heap) s->heap = heap;
    if (!syms || !heap) return dc_err(s->err, "out of memory for a %zu-byte pre-token", n), false;
    s->syms_cap = n;
    s->heap_cap = 2 * n;
    return true;
}

/* ignore_merges: the whole pre-token, byte-level mapped, as a vocab token. */
static int32_t whole_word_token(dc_tk_session *s, const unsigned char *word, size_t n) {
    s->mapped.n = 0;
    if (!dc_tk_buf_reserve(&s->mapped, 2 * n)) return -1;
    for (size_t i = 0; i < n; i++) s->mapped.n += dc_tk_utf8_encode(dc_tk_byte_to_cp(word[i]), s->mapped.p + s->mapped.n);
    return dc_tk_vocab_find(s->t, s->mapped.p, s->mapped.n);
}

static bool bpe_word(dc_tk_session *s, const unsigned char *word, size_t n) {
    const dc_tokenizer *t = s->t;
    if (t->ignore_merges && n > 1) {
        int32_t id = whole_word_token(s, word, n);
        if (id >= 0) return dc_tk_emit(s, id);
    }
    if (!reserve_scratch(s, n)) return false;
    int32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_token[word[i]] >= 0 ? t->byte_token[word[i]] : t->unk_id;
        if (id < 0) continue; /* no token for this byte and no unk: dropped, as HF does */
        s->syms[m] = (struct dc_tk_sym){id, m - 1, m + 1};
        m++;
    }
    if (m == 0) return true;
    s->syms[m - 1].next = -1;
    s->heap_n = 0;
    for (int32_t i = 0; i + 1 < m; i++) push_pair(s, i);
    while (s->heap_n) {
        struct dc_tk_cand c = heap_pop(s);
        struct dc_tk_sym *a = &s->syms[c.pos];
        if (a->id != c.left || a->next < 0 || s->syms[a->next].id != c.right) continue; /* stale */
        struct dc_tk_sym *b = &s->syms[a->next];
        a->id = c.merged;
        a->next = b->next;
        b->id = -1;
        if (a->next >= 0) s->syms[a->next].prev = c.pos;
        push_pair(s, a->prev);
        push_pair(s, c.pos);
    }
    for (int32_t i = 0; i >= 0; i = s->syms[i].next)
        if (!dc_tk_emit(s, s->syms[i].id)) return false;
    return true;
}

/* Word cache: short pre-tokens recur (" the", ",", "\n"), and their ids
 * depend on nothing else, so one session remembers them in a direct-mapped
 * table (a colliding word replaces the entry). */
#define CACHE_WORD 15
#define CACHE_IDS 7

struct dc_tk_cache_entry {
    uint64_t hash;
    uint8_t len, n_ids; /* len 0: empty */
    char word[CACHE_WORD];
    int32_t ids[CACHE_IDS];
};

void dc_tk_bpe_cache_init(dc_tk_session *s, size_t text_len) {
    if (text_len < 8192) return; /* short texts repeat too few words to repay it */
    size_t n = 512;
    while (n < 8192 && n < text_len / 16) n *= 2;
    s->cache = calloc(n, sizeof *s->cache); /* without it, words are just not cached */
    s->cache_mask = n - 1;
}

bool dc_tk_bpe(dc_tk_session *s, const unsigned char *word, size_t n) {
    if (!s->cache || n > CACHE_WORD) return bpe_word(s, word, n);
    uint64_t h = hash_bytes((const char *)word, n);
    struct dc_tk_cache_entry *e = &s->cache[h & s->cache_mask];
    if (e->len == n && e->hash == h && !memcmp(e->word, word, n)) {
        for (int i = 0; i < e->n_ids; i++)
            if (!dc_tk_emit(s, e->ids[i])) return false;
        return true;
    }
    size_t before = s->out->n;
    if (!bpe_word(s, word, n)) return false;
    size_t n_ids = s->out->n - before;
    if (n_ids <= CACHE_IDS) {
        *e = (struct dc_tk_cache_entry){.hash = h, .len = (uint8_t)n, .n_ids = (uint8_t)n_ids};
        memcpy(e->word, word, n);
        memcpy(e->ids, s->out->ids + before, n_ids * sizeof *e->ids);
    }
    return true;
}

void dc_tk_bpe_session_free(dc_tk_session *s) {
    free(s->syms);
    free(s->heap);
    free(s->cache);
    s->syms = NULL;
    s->heap = NULL;
    s->cache = NULL;
    s->syms_cap = s->heap_cap = 0;
}
