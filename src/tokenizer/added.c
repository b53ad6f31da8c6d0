/* added.c - finding added tokens in text before pre-tokenization.
 *
 * The added-token strings sit in a byte trie (root children in a 256-entry
 * table, deeper children as sibling lists). Scanning left to right, the
 * first position where some eligible token matches wins, and there the
 * longest eligible token (Hugging Face's Aho-Corasick "leftmost-longest").
 * Without parse_special, special tokens are not eligible at all (as if
 * removed from the table, like llama.cpp parse_special = false). Token
 * options follow HF: single_word needs a non-word character (or the text's
 * end) on both sides, else the match is dropped and its text stays plain;
 * lstrip / rstrip take the adjacent White_Space into the token (lstrip never
 * reaching back into a previous match).
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

void dc_tk_trie_init(dc_tk_trie *tr) {
    memset(tr, 0, sizeof *tr);
    memset(tr->root_child, 0xFF, sizeof tr->root_child);
}

void dc_tk_trie_free(dc_tk_trie *tr) {
    free(tr->nodes);
    dc_tk_trie_init(tr);
}

static int32_t trie_new_node(dc_tk_trie *tr, uint8_t byte, int32_t next_sibling) {
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? tr->cap * 2 : 256;
        dc_tk_trie_node *nodes = realloc(tr->nodes, cap * sizeof *nodes);
        if (!nodes) return -1;
        tr->nodes = nodes;
        tr->cap = cap;
    }
    tr->nodes[tr->n] = (dc_tk_trie_node){-1, next_sibling, -1, byte};
    return (int32_t)tr->n++;
}

static int32_t trie_child(const dc_tk_trie *tr, int32_t node, uint8_t byte) {
    int32_t c = tr->nodes[node].first_child;
    while (c >= 0 && tr->nodes[c].byte != byte) c = tr->nodes[c].next_sibling;
    return c;
}

bool dc_tk_trie_insert(dc_tk_trie *tr, const char *s, size_t n, int32_t added_index) {
    if (n == 0) return true; /* an empty token can never match */
    const unsigned char *u = (const unsigned char *)s;
    int32_t cur = tr->root_child[u[0]];
    if (cur < 0 && (cur = tr->root_child[u[0]] = trie_new_node(tr, u[0], -1)) < 0) return false;
    for (size_t i = 1; i < n; i++) {
        int32_t next = trie_child(tr, cur, u[i]);
        if (next < 0) {
            next = trie_new_node(tr, u[i], tr->nodes[cur].first_child);
            if (next < 0) return false;
            tr->nodes[cur].first_child = next;
        }
        cur = next;
    }
    if (tr->nodes[cur].added < 0) tr->nodes[cur].added = added_index; /* the first of equal strings wins */
    return true;
}

int32_t dc_tk_trie_find(const dc_tk_trie *tr, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    int32_t cur = n ? tr->root_child[u[0]] : -1;
    for (size_t i = 1; cur >= 0 && i < n; i++) cur = trie_child(tr, cur, u[i]);
    return cur >= 0 ? tr->nodes[cur].added : -1;
}

/* The longest eligible added token starting at s[0]; -1 if none. */
static int32_t longest_at(const dc_tk_session *s, const dc_tk_trie *tr, const unsigned char *u, size_t n, size_t *len) {
    int32_t best = -1;
    int32_t cur = tr->root_child[u[0]];
    for (size_t i = 1; cur >= 0; i++) {
        int32_t a = tr->nodes[cur].added;
        if (a >= 0 && (s->parse_special || !s->t->added[a].special)) {
            best = a;
            *len = i;
        }
        if (i == n) break;
        cur = trie_child(tr, cur, u[i]);
    }
    return best;
}

/* Start of the character that ends just before u[pos] (pos > 0). */
static size_t char_before(const unsigned char *u, size_t pos) {
    size_t p = pos - 1;
    while (p > 0 && pos - p < 4 && (u[p] & 0xC0) == 0x80) p--;
    size_t len;
    dc_tk_utf8_decode(u + p, pos - p, &len);
    return p + len == pos ? p : pos - 1;
}

static int32_t cp_at(const unsigned char *u, size_t n, size_t pos) {
    size_t len;
    return dc_tk_utf8_decode(u + pos, n - pos, &len);
}

/* Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation, joiners. */
static bool is_word_at(dc_tk_session *s, const unsigned char *u, size_t n, size_t pos) {
    int32_t cp = cp_at(u, n, pos);
    if (cp < 0x80)
        return cp >= 0 && (cp == '_' || (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'));
    return pcre2_match(s->t->word_re, u, n, pos, PCRE2_ANCHORED, s->md, NULL) > 0;
}

static bool single_word_ok(dc_tk_session *s, const unsigned char *u, size_t n, size_t start, size_t end) {
    return (start == 0 || !is_word_at(s, u, n, char_before(u, start))) && (end == n || !is_word_at(s, u, n, end));
}

bool dc_tk_split_added(dc_tk_session *s, const dc_tk_trie *trie, const char *text, size_t n, dc_tk_gap_fn gap) {
    if (trie->n == 0) return gap(s, text, n);
    const unsigned char *u = (const unsigned char *)text;
    size_t done = 0; /* text[0, done) is handled */
    for (size_t i = 0; i < n; i++) {
        if (trie->root_child[u[i]] < 0) continue;
        size_t len = 0;
        int32_t a = longest_at(s, trie, u + i, n - i, &len);
        if (a < 0) continue;
        const dc_tk_added *tok = &s->t->added[a];
        size_t start = i, end = i + len;
        if (tok->single_word && !single_word_ok(s, u, n, start, end)) { /* HF drops the match, text stays */
            i = end - 1;
            continue;
        }
        while (tok->lstrip && start > done && dc_tk_is_space(cp_at(u, n, char_before(u, start))))
            start = char_before(u, start);
        for (size_t l; tok->rstrip && end < n && dc_tk_is_space(dc_tk_utf8_decode(u + end, n - end, &l));) end += l;
        if (start > done && !gap(s, text + done, start - done)) return false;
        if (!dc_tk_emit(s, tok->id)) return false;
        done = end;
        i = end - 1;
    }
    return done < n ? gap(s, text + done, n - done) : true;
}
