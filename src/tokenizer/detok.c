/* detok.c - turning ids back into text: single pieces, whole sequences
 * (lossy UTF-8, like Hugging Face decode) and the streaming detokenizer.
 *
 * Each token's bytes were computed once at load time (tokenizer.c), so a
 * piece is a pointer into the tokenizer. The stream keeps at most 3 bytes
 * back: the start of a UTF-8 sequence that the next piece may complete.
 * Everything else goes out at once through the same lossy rule as whole
 * decoding, so the concatenated stream equals dc_tok_decode's result.
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

const char *dc_tok_piece(const dc_tokenizer *t, int32_t id, bool special, size_t *len) {
    if (id < 0 || id >= t->n_vocab) {
        *len = 0;
        return NULL;
    }
    const dc_tk_token *tok = &t->tokens[id];
    *len = !special && tok->kind == TK_SPECIAL ? 0 : tok->piece_len;
    return t->pieces.p ? t->pieces.p + tok->piece_off : "";
}

char *dc_tok_decode(const dc_tokenizer *t, const int32_t *ids, size_t n, bool special, size_t *len,
                    char err[DC_ERR_LEN]) {
    dc_tk_buf raw = {0}, out = {0};
    for (size_t i = 0; i < n; i++) {
        size_t plen;
        const char *p = dc_tok_piece(t, ids[i], special, &plen);
        if (!p) {
            dc_tk_buf_free(&raw);
            return dc_err(err, "token id %d at position %zu is out of range [0, %d)", ids[i], i, t->n_vocab), NULL;
        }
        if (!dc_tk_buf_append(&raw, p, plen)) goto oom;
    }
    if (dc_tk_utf8_lossy((const unsigned char *)raw.p, raw.n, true, &out) == (size_t)-1 || !dc_tk_buf_append(&out, "", 1))
        goto oom;
    dc_tk_buf_free(&raw);
    *len = out.n - 1;
    return out.p;
oom:
    dc_tk_buf_free(&raw);
    dc_tk_buf_free(&out);
    return dc_err(err, "out of memory decoding %zu tokens", n), NULL;
}

void dc_detok_init(dc_detok *d, const dc_tokenizer *t, bool special) { *d = (dc_detok){.t = t, .special = special}; }

bool dc_detok_feed(dc_detok *d, int32_t id, const char **bytes, size_t *len, char err[DC_ERR_LEN]) {
    size_t plen;
    const char *p = dc_tok_piece(d->t, id, d->special, &plen);
    if (!p) return dc_err(err, "token id %d is out of range [0, %d)", id, d->t->n_vocab), false;
    dc_tk_buf in = {0}, out = {.p = d->out, .cap = d->out_cap};
    bool ok = dc_tk_buf_append(&in, d->pend, d->n_pend) && dc_tk_buf_append(&in, p, plen);
    size_t used = ok ? dc_tk_utf8_lossy((const unsigned char *)in.p, in.n, false, &out) : (size_t)-1;
    d->out = out.p;
    d->out_cap = out.cap;
    if (used == (size_t)-1) {
        dc_tk_buf_free(&in);
        return dc_err(err, "out of memory"), false;
    }
    d->n_pend = in.n - used; /* < 4: only an incomplete sequence is held back */
    if (d->n_pend) memcpy(d->pend, in.p + used, d->n_pend); /* in.p is NULL when nothing came in */
    dc_tk_buf_free(&in);
    *bytes = out.p ? out.p : "";
    *len = out.n;
    return true;
}

const char *dc_detok_flush(dc_detok *d, size_t *len) {
    static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};
    *len = d->n_pend ? 3 : 0;
    d->n_pend = 0;
    return replacement;
}

void dc_detok_free(dc_detok *d) {
    free(d->out);
    d->out = NULL;
    d->out_cap = 0;
}
