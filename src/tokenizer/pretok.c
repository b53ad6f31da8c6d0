/* pretok.c - the pre-tokenizer: a sequence of regex Split stages (Hugging
 * Face behavior "Isolated": every match and every gap between matches
 * becomes a piece), each stage re-splitting every piece of the previous one,
 * the pieces of the last stage going to BPE.
 *
 * Regexes are written for Oniguruma (HF) or std::regex (llama.cpp) and run
 * on PCRE2 in UTF + UCP mode, so \p{L}, \p{N}, \p{M}, \p{P}, \p{S} are Unicode
 * categories and (?i:...) folds case the Unicode way (ſ matches s). Two
 * translations make PCRE2 agree with Oniguruma: \s there is Unicode
 * White_Space, which includes U+0085 while PCRE2's \s does not, so \s / \S
 * are rewritten to the explicit set [\t-\r \x{85}\p{Z}] (= White_Space); and
 * Oniguruma's categories are Unicode 16.0 while PCRE2 10.42 has 14.0, so
 * \p{X} gets the code points 16.0 added to X (class_tables.c) alongside
 * (\P{X} too, except inside a character class). Each piece is matched as
 * a whole subject of its own, so lookaheads and $ stop at the piece's end,
 * as they do in HF. PCRE2_MATCH_INVALID_UTF lets arbitrary bytes through:
 * invalid UTF-8 never matches, so it ends up in the gaps. Empty matches are
 * skipped. JIT compilation is used when available, the interpreter when it
 * is not or when a match needs more than the JIT's stack.
 */
#include <string.h>

#include "tok_internal.h"

#define SPACE_SET "\\x{9}-\\x{d}\\x{20}\\x{85}\\p{Z}"

/* Copies a POSIX class "[:name:]" starting at p[*i] (inside a class). */
static bool copy_posix_class(const char *p, size_t n, size_t *i, dc_tk_buf *out) {
    const char *end = n - *i > 2 ? memmem(p + *i + 2, n - *i - 2, ":]", 2) : NULL;
    if (!end) return dc_tk_buf_append(out, "[", 1);
    size_t len = (size_t)(end + 2 - (p + *i));
    bool ok = dc_tk_buf_append(out, p + *i, len);
    *i += len - 1;
    return ok;
}

static const char *class_delta(const char *name, size_t len) {
    for (size_t k = 0; k < dc_tk_class_deltas_count; k++)
        if (strlen(dc_tk_class_deltas[k].name) == len && !memcmp(dc_tk_class_deltas[k].name, name, len))
            return dc_tk_class_deltas[k].ranges;
    return NULL;
}

/* p[*i] is the 'p' or 'P' of a property escape (\pX, \p{X}, \p{^X}): writes
 * it with the Unicode 16.0 additions of its category, or verbatim when there
 * are none, for a negated property inside a class, or when malformed (PCRE2
 * then reports it). Leaves *i on the escape's last character. */
static bool translate_property(const char *p, size_t n, size_t *i, bool in_class, dc_tk_buf *out) {
    size_t esc = *i - 1, name = *i + 1, name_len = 1, end = *i + 2;
    bool negated = p[*i] == 'P';
    const char *close = name < n && p[name] == '{' ? memchr(p + name, '}', n - name) : NULL;
    if (close) {
        end = (size_t)(close - p) + 1;
        name_len = end - ++name - 1;
        if (name_len && p[name] == '^') negated = !negated, name++, name_len--;
    }
    const char *ranges = end <= n && (close || p[name] != '{') ? class_delta(p + name, name_len) : NULL;
    if (end > n) end = n;
    *i = end - 1;
    if (!ranges || (negated && in_class)) return dc_tk_buf_append(out, p + esc, end - esc);
    return (in_class || dc_tk_buf_append(out, negated ? "[^" : "[", negated ? 2 : 1)) && dc_tk_buf_append(out, "\\p{", 3) &&
           dc_tk_buf_append(out, p + name, name_len) && dc_tk_buf_append(out, "}", 1) &&
           dc_tk_buf_append(out, ranges, strlen(ranges)) && (in_class || dc_tk_buf_append(out, "]", 1));
}

/* Rewrites \s, \S and (with_delta) the category escapes; everything else is copied as is. */
static bool translate_regex(const char *p, size_t n, bool with_delta, dc_tk_buf *out, char err[DC_ERR_LEN]) {
    bool in_class = false, ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            if (e == 's')
                ok = in_class ? dc_tk_buf_append(out, SPACE_SET, strlen(SPACE_SET))
                              : dc_tk_buf_append(out, "[" SPACE_SET "]", strlen(SPACE_SET) + 2);
            else if (e == 'S' && !in_class)
                ok = dc_tk_buf_append(out, "[^" SPACE_SET "]", strlen(SPACE_SET) + 3);
            else if (e == 'S')
                return dc_err(err, "regex '%.*s': \\S inside a character class is not supported", (int)n, p), false;
            else if (with_delta && (e == 'p' || e == 'P'))
                ok = translate_property(p, n, &i, in_class, out);
            else
                ok = dc_tk_buf_append(out, p + i - 1, 2);
        } else if (!in_class && c == '[') {
            in_class = true;
            size_t start = i;
            if (i + 1 < n && p[i + 1] == '^') i++;
            if (i + 1 < n && p[i + 1] == ']') i++; /* a leading ] is literal */
            ok = dc_tk_buf_append(out, p + start, i + 1 - start);
        } else if (in_class && c == '[' && i + 1 < n && p[i + 1] == ':') {
            ok = copy_posix_class(p, n, &i, out);
        } else {
            if (in_class && c == ']') in_class = false;
            ok = dc_tk_buf_append(out, &c, 1);
        }
    }
    return ok || dc_err(err, "out of memory");
}

static bool compile_regex(const dc_tk_buf *re, uint32_t opts, const char *pattern, size_t len, dc_tk_regex *out,
                          char err[DC_ERR_LEN]) {
    int code;
    PCRE2_SIZE at;
    out->code = pcre2_compile((PCRE2_SPTR)(re->p ? re->p : ""), re->n, opts, &code, &at, NULL);
    if (!out->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return dc_err(err, "pre-tokenizer regex '%.*s': %s (at offset %zu)", (int)(len > 200 ? 200 : len), pattern,
                      (const char *)msg, (size_t)at),
               false;
    }
    out->jit = pcre2_jit_compile(out->code, PCRE2_JIT_COMPLETE) == 0; /* else the interpreter */
    return true;
}

bool dc_tk_add_stage(dc_tokenizer *t, const char *pattern, size_t len, bool literal, bool dollar_endonly,
                  char err[DC_ERR_LEN]) {
    if (t->n_stages == TK_MAX_STAGES) return dc_err(err, "more than %d pre-tokenizer stages", TK_MAX_STAGES), false;
    dc_tk_buf re[2] = {{0}, {0}};
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    bool ok = true;
    if (literal) {
        opts |= PCRE2_LITERAL;
        ok = dc_tk_buf_append(&re[0], pattern, len) || dc_err(err, "out of memory");
    } else {
        opts |= PCRE2_UCP | (dollar_endonly ? PCRE2_DOLLAR_ENDONLY : PCRE2_MULTILINE);
        ok = translate_regex(pattern, len, false, &re[0], err) && translate_regex(pattern, len, true, &re[1], err);
    }
    dc_tk_regex *plain = &t->stages[0][t->n_stages], *full = &t->stages[1][t->n_stages];
    ok = ok && compile_regex(&re[0], opts, pattern, len, plain, err);
    bool same = literal || (re[0].n == re[1].n && !memcmp(re[0].p, re[1].p, re[0].n));
    if (ok && same)
        *full = *plain;
    else if (ok && !compile_regex(&re[1], opts, pattern, len, full, err))
        ok = (pcre2_code_free(plain->code), false);
    dc_tk_buf_free(&re[0]);
    dc_tk_buf_free(&re[1]);
    if (ok) t->n_stages++;
    return ok;
}

void dc_tk_free_stages(dc_tokenizer *t) {
    for (int i = 0; i < t->n_stages; i++) {
        if (t->stages[1][i].code != t->stages[0][i].code) pcre2_code_free(t->stages[1][i].code);
        pcre2_code_free(t->stages[0][i].code);
    }
    t->n_stages = 0;
}

bool dc_tk_has_new_class_chars(const char *text, size_t n) {
    const unsigned char *u = (const unsigned char *)text;
    const uint32_t first = dc_tk_class_delta_all[0].lo;
    for (size_t i = 0, len; i < n; i += len) {
        if (u[i] < 0xE0) { /* below U+0800: never added */
            len = 1;
            continue;
        }
        int32_t cp = dc_tk_utf8_decode(u + i, n - i, &len);
        if (cp < (int32_t)first) continue;
        size_t lo = 0, hi = dc_tk_class_delta_all_count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if ((uint32_t)cp < dc_tk_class_delta_all[mid].lo)
                hi = mid;
            else if ((uint32_t)cp > dc_tk_class_delta_all[mid].hi)
                lo = mid + 1;
            else
                return true;
        }
    }
    return false;
}

static bool split_stage(dc_tk_session *s, int stage, const char *text, size_t n) {
    if (n == 0) return true;
    if (stage == s->t->n_stages) return dc_tk_bpe(s, (const unsigned char *)text, n);
    const dc_tk_regex *re = &s->stages[stage];
    size_t pos = 0, prev = 0;
    while (pos < n) {
        int rc =
            re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)text, n, pos, 0, s->md, NULL) : PCRE2_ERROR_JIT_STACKLIMIT;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* no JIT, or its stack is too small: the interpreter */
            rc = pcre2_match(re->code, (PCRE2_SPTR)text, n, pos, PCRE2_NO_JIT, s->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return dc_err(s->err, "pre-tokenizer stage %d: %s", stage + 1, (const char *)msg), false;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        size_t start = ov[0], end = ov[1];
        if (end <= start) { /* empty match: no piece, move on by one character */
            size_t len = 1;
            if (start < n) dc_tk_utf8_decode((const unsigned char *)text + start, n - start, &len);
            pos = start + len;
            continue;
        }
        if (start > prev && !split_stage(s, stage + 1, text + prev, start - prev)) return false;
        if (!split_stage(s, stage + 1, text + start, end - start)) return false;
        prev = pos = end;
    }
    return split_stage(s, stage + 1, text + prev, n - prev);
}

bool dc_tk_pretokenize(dc_tk_session *s, const char *text, size_t n) { return split_stage(s, 0, text, n); }
