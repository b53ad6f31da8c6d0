/* jinja_lex.c - tokenizer of the template language, a port of the rules of
 * jinja2's lexer with trim_blocks and lstrip_blocks on.
 *
 * Text outside tags becomes T_DATA tokens, after whitespace control:
 *  - `{%-` / `{{-` / `{#-` strip all whitespace before the tag (Python's
 *    str.rstrip, so Unicode whitespace too);
 *  - otherwise, before `{%` and `{#` (not `{{`, and not with `{%+`), spaces
 *    and tabs between the start of a line and the tag are removed
 *    (lstrip_blocks), "start of line" including the position right after a
 *    tag whose end consumed a newline;
 *  - `-%}` / `-}}` / `-#}` strip all whitespace after the tag; a plain `%}` or
 *    `#}` swallows one newline (trim_blocks), `+%}` keeps it.
 * Comments vanish, `{% raw %}...{% endraw %}` becomes data. Inside tags,
 * `%}`/`}}` only end the tag when brackets are balanced (as in jinja2, so
 * `{{ {'a': {'b': 1}} }}` works). String literals are decoded like Python's
 * unicode-escape; numbers follow Python's literal syntax with `_` separators.
 * Positions are 1-based lines and columns counted in code points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

typedef struct {
    arena *a;
    const char *src;
    size_t len, pos;
    int32_t line, col;
    bool line_starting; /* the last match ended with a newline */
    jtok *toks;
    size_t n, cap;
    char *err;
} lexer;

static bool fail(lexer *lx, int32_t line, int32_t col, const char *msg) {
    return dc_err(lx->err, "%d:%d: %s", line, col, msg), false;
}

/* Moves the position to `to`, counting lines and columns. */
static void advance(lexer *lx, size_t to) {
    for (; lx->pos < to; lx->pos++) {
        unsigned char c = (unsigned char)lx->src[lx->pos];
        if (c == '\n') lx->line++, lx->col = 1;
        else if ((c & 0xC0) != 0x80) lx->col++;
    }
}

static jtok *push(lexer *lx, jtok_type type, int32_t line, int32_t col) {
    if (lx->n == lx->cap) {
        size_t nc = lx->cap ? lx->cap * 2 : 256;
        jtok *t = realloc(lx->toks, nc * sizeof *t);
        if (!t) return dc_err(lx->err, "out of memory"), NULL;
        lx->toks = t;
        lx->cap = nc;
    }
    jtok *t = &lx->toks[lx->n++];
    *t = (jtok){.type = (uint8_t)type, .line = line, .col = col};
    return t;
}

/* ------------------------------------------------------------ whitespace */

static size_t skip_ws(const char *s, size_t len, size_t pos) {
    size_t n;
    while (pos < len && dc_py_isspace(dc_utf8_decode(s + pos, len - pos, &n))) pos += n;
    return pos;
}

/* End of [start, end) without its trailing whitespace (str.rstrip()). */
static size_t rstrip_end(const char *s, size_t start, size_t end) {
    while (end > start) {
        size_t p = end - 1, n;
        while (p > start && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
        if (!dc_py_isspace(dc_utf8_decode(s + p, end - p, &n))) break;
        end = p;
    }
    return end;
}

/* Emits the text [start, end) before a tag whose whitespace sign is `sign`;
 * `lstrip` says whether lstrip_blocks applies to that kind of tag. */
static bool emit_text(lexer *lx, size_t start, size_t end, char sign, bool lstrip) {
    size_t keep = end;
    if (sign == '-') {
        keep = rstrip_end(lx->src, start, end);
    } else if (sign != '+' && lstrip) {
        size_t l = end;
        while (l > start && lx->src[l - 1] != '\n') l--;
        if ((l > start || lx->line_starting) && l < end && skip_ws(lx->src, end, l) == end) keep = l;
    }
    if (keep > start) {
        jtok *t = push(lx, T_DATA, lx->line, lx->col);
        if (!t) return false;
        if (!dc_arena_str(lx->a, &t->value, lx->src + start, keep - start)) return dc_err(lx->err, "out of memory"), false;
    }
    advance(lx, end);
    return true;
}

/* ------------------------------------------------------------ literals */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int hex_val(char c) {
    return is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

/* Matches (\d+_)*\d+ at p; returns the end, p when it does not match. */
static size_t digit_run(const char *s, size_t len, size_t p) {
    size_t q = p;
    while (q < len && is_digit(s[q])) q++;
    if (q == p) return p;
    while (q + 1 < len && s[q] == '_' && is_digit(s[q + 1]))
        for (q++; q < len && is_digit(s[q]); q++) {}
    return q;
}

/* End of a float literal at p (jinja2's float_re), or p. */
static size_t float_end(const char *s, size_t len, size_t p) {
    if (p > 0 && s[p - 1] == '.') return p;
    size_t i = digit_run(s, len, p);
    if (i == p) return p;
    size_t frac = i < len && s[i] == '.' ? digit_run(s, len, i + 1) : i;
    if (frac == i + 1) frac = i; /* a dot without digits is not a fraction */
    if (frac < len && (s[frac] | 0x20) == 'e') {
        size_t j = frac + 1;
        if (j < len && (s[j] == '+' || s[j] == '-')) j++;
        size_t k = digit_run(s, len, j);
        if (k > j) return k;
    }
    return frac > i ? frac : p;
}

/* End of an integer literal at p (jinja2's integer_re); *base set. */
static size_t int_end(const char *s, size_t len, size_t p, int *base) {
    static const struct { char tag; int base; } prefixed[] = {{'b', 2}, {'o', 8}, {'x', 16}};
    if (s[p] == '0' && p + 1 < len) {
        for (size_t k = 0; k < 3; k++) {
            if ((s[p + 1] | 0x20) != prefixed[k].tag) continue;
            size_t q = p + 2;
            for (;;) {
                size_t r = q < len && s[q] == '_' ? q + 1 : q;
                int v = r < len ? hex_val(s[r]) : -1;
                if (v < 0 || v >= prefixed[k].base) break;
                q = r + 1;
            }
            if (q > p + 2) return *base = prefixed[k].base, q;
        }
    }
    *base = 10;
    size_t q = p + 1;
    for (;;) {
        size_t r = q < len && s[q] == '_' ? q + 1 : q;
        if (r >= len || !is_digit(s[r]) || (s[p] == '0' && s[r] != '0')) break;
        q = r + 1;
    }
    return q;
}

static bool lex_number(lexer *lx, jtok *t) {
    const char *s = lx->src;
    size_t p = lx->pos, end = float_end(s, lx->len, p);
    char buf[128];
    size_t n = 0;
    if (end > p) {
        for (size_t i = p; i < end && n + 1 < sizeof buf; i++)
            if (s[i] != '_') buf[n++] = s[i];
        buf[n] = '\0';
        t->type = T_FLOAT;
        t->value = dc_jv_float(strtod(buf, NULL));
    } else {
        int base;
        end = int_end(s, lx->len, p, &base);
        uint64_t v = 0;
        for (size_t i = p + (base == 10 ? 0 : 2); i < end; i++) {
            if (s[i] == '_') continue;
            uint64_t d = (uint64_t)hex_val(s[i]);
            if (v > (UINT64_C(0x7FFFFFFFFFFFFFFF) - d) / (uint64_t)base) return fail(lx, t->line, t->col, "integer literal too large");
            v = v * (uint64_t)base + d;
        }
        t->type = T_INT;
        t->value = dc_jv_int((int64_t)v);
    }
    advance(lx, end);
    return true;
}

/* Appends the Python escape sequence starting after the backslash at *i. */
static bool decode_escape(lexer *lx, jtok *t, jbuf *b, size_t end, size_t *i) {
    static const char simple_in[] = "\\'\"abfnrtv", simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    const char *s = lx->src;
    char c = s[*i], u8[4];
    const char *hit = c ? strchr(simple_in, c) : NULL;
    if (c == '\n') return ++*i, true;
    if (hit) return ++*i, dc_jbuf_put(lx->err, b, &simple_out[hit - simple_in], 1);
    uint32_t cp = 0;
    size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits) {
        for (size_t k = 1; k <= digits; k++) {
            int v = *i + k < end ? hex_val(s[*i + k]) : -1;
            if (v < 0) return fail(lx, t->line, t->col, "truncated escape sequence in string literal");
            cp = cp << 4 | (uint32_t)v;
        }
        if (cp > 0x10FFFF) return fail(lx, t->line, t->col, "illegal Unicode character in string literal");
        *i += digits + 1;
    } else if (c >= '0' && c <= '7') {
        for (size_t k = 0; k < 3 && *i < end && s[*i] >= '0' && s[*i] <= '7'; k++) cp = cp * 8 + (uint32_t)(s[(*i)++] - '0');
    } else if (c == 'N') {
        return fail(lx, t->line, t->col, "\\N{...} escapes are not supported");
    } else if ((unsigned char)c >= 0x80) {
        /* Python first turns the non-ASCII character into a \x/\u/\U escape,
         * so the backslash escapes only that escape's own backslash */
        size_t n;
        cp = dc_utf8_decode(s + *i, end - *i, &n);
        char tmp[16];
        int w = snprintf(tmp, sizeof tmp, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", (unsigned)cp);
        *i += n;
        return dc_jbuf_put(lx->err, b, tmp, (size_t)w);
    } else {
        return dc_jbuf_put(lx->err, b, "\\", 1); /* unknown escape: kept as written */
    }
    return dc_jbuf_put(lx->err, b, u8, dc_utf8_encode(cp, u8));
}

static bool lex_string(lexer *lx, jtok *t) {
    const char *s = lx->src;
    const char q = s[lx->pos];
    size_t end = lx->pos + 1;
    while (end < lx->len && s[end] != q) end += s[end] == '\\' ? 2 : 1;
    if (end >= lx->len) return fail(lx, t->line, t->col, "unterminated string literal");
    jbuf b = {.limit = DC_TPL_MAX_OUTPUT};
    bool ok = true;
    for (size_t i = lx->pos + 1; ok && i < end;) {
        size_t j = i;
        while (j < end && s[j] != '\\') j++;
        ok = dc_jbuf_put(lx->err, &b, s + i, j - i);
        i = j + 1;
        if (ok && j < end) ok = decode_escape(lx, t, &b, end, &i);
    }
    ok = ok && dc_arena_str(lx->a, &t->value, b.p ? b.p : "", b.n);
    dc_jbuf_free(&b);
    if (!ok) return lx->err[0] ? false : (dc_err(lx->err, "out of memory"), false);
    t->type = T_STRING;
    advance(lx, end + 1);
    return true;
}

static bool lex_name(lexer *lx, jtok *t) {
    size_t end = lx->pos;
    while (end < lx->len && (is_name_start(lx->src[end]) || is_digit(lx->src[end]))) end++;
    t->type = T_NAME;
    if (!(t->name = dc_arena_strdup(lx->a, lx->src + lx->pos, end - lx->pos))) return dc_err(lx->err, "out of memory"), false;
    advance(lx, end);
    return true;
}

static const struct {
    const char *text;
    jop op;
} operators[] = {
    {"//", OP_FLOORDIV}, {"**", OP_POW}, {"==", OP_EQ}, {"!=", OP_NE}, {">=", OP_GTEQ}, {"<=", OP_LTEQ},
    {"+", OP_ADD}, {"-", OP_SUB}, {"/", OP_DIV}, {"*", OP_MUL}, {"%", OP_MOD}, {"~", OP_TILDE},
    {"[", OP_LBRACKET}, {"]", OP_RBRACKET}, {"(", OP_LPAREN}, {")", OP_RPAREN}, {"{", OP_LBRACE},
    {"}", OP_RBRACE}, {">", OP_GT}, {"<", OP_LT}, {"=", OP_ASSIGN}, {".", OP_DOT}, {":", OP_COLON},
    {"|", OP_PIPE}, {",", OP_COMMA}, {";", OP_SEMICOLON},
};

typedef struct {
    char open[DC_TPL_MAX_NESTING];
    int depth;
} brackets;

static bool balance(lexer *lx, jtok *t, brackets *br, jop op) {
    static const char opens[] = "([{", closes[] = ")]}";
    const char *o = op == OP_LPAREN ? "(" : op == OP_LBRACKET ? "[" : op == OP_LBRACE ? "{" : NULL;
    const char *c = op == OP_RPAREN ? ")" : op == OP_RBRACKET ? "]" : op == OP_RBRACE ? "}" : NULL;
    char msg[64];
    if (o) {
        if (br->depth == DC_TPL_MAX_NESTING) return fail(lx, t->line, t->col, "brackets nested too deeply");
        br->open[br->depth++] = *o;
    } else if (c) {
        if (!br->depth) return snprintf(msg, sizeof msg, "unexpected '%c'", *c), fail(lx, t->line, t->col, msg);
        char want = closes[strchr(opens, br->open[--br->depth]) - opens];
        if (want != *c) return snprintf(msg, sizeof msg, "unexpected '%c', expected '%c'", *c, want), fail(lx, t->line, t->col, msg);
    }
    return true;
}

static bool lex_operator(lexer *lx, jtok *t, brackets *br) {
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        size_t n = strlen(operators[k].text);
        if (lx->len - lx->pos >= n && !memcmp(lx->src + lx->pos, operators[k].text, n)) {
            t->type = T_OP;
            t->op = (uint8_t)operators[k].op;
            advance(lx, lx->pos + n);
            return balance(lx, t, br, operators[k].op);
        }
    }
    char msg[48];
    unsigned char c = (unsigned char)lx->src[lx->pos];
    snprintf(msg, sizeof msg, c >= 0x20 && c < 0x7F ? "unexpected char '%c'" : "unexpected byte 0x%02x", c);
    return fail(lx, t->line, t->col, msg);
}

/* ------------------------------------------------------------ tags */

static bool starts(const lexer *lx, size_t p, const char *s) {
    size_t n = strlen(s);
    return p <= lx->len && lx->len - p >= n && !memcmp(lx->src + p, s, n);
}

/* If a block end ("-%}", "+%}", "%}") or variable end ("-}}", "}}") is at
 * the position, consumes it with the whitespace it trims and returns true. */
static bool tag_end(lexer *lx, char kind, bool *ended) {
    const char *close = kind == '%' ? "%}" : "}}";
    size_t p = lx->pos, end;
    char sign = lx->src[p] == '-' || (lx->src[p] == '+' && kind == '%') ? lx->src[p] : 0;
    *ended = false;
    if (!starts(lx, p + (sign != 0), close)) return true;
    end = p + (sign != 0) + 2;
    if (sign == '-') end = skip_ws(lx->src, lx->len, end);
    else if (!sign && kind == '%' && end < lx->len && lx->src[end] == '\n') end++;
    if (!push(lx, kind == '%' ? T_BLOCK_END : T_VAR_END, lx->line, lx->col)) return false;
    lx->line_starting = lx->src[end - 1] == '\n';
    advance(lx, end);
    *ended = true;
    return true;
}

static bool lex_tag(lexer *lx, char kind, int32_t line, int32_t col) {
    brackets br = {.depth = 0};
    for (;;) {
        if (lx->pos >= lx->len) return fail(lx, line, col, kind == '%' ? "unexpected end of template, '%}' missing" : "unexpected end of template, '}}' missing");
        bool ended;
        if (br.depth == 0) {
            if (!tag_end(lx, kind, &ended)) return false;
            if (ended) return true;
        }
        size_t ws = skip_ws(lx->src, lx->len, lx->pos);
        if (ws > lx->pos) {
            advance(lx, ws);
            continue;
        }
        jtok *t = push(lx, T_OP, lx->line, lx->col);
        if (!t) return false;
        char c = lx->src[lx->pos];
        bool ok = is_digit(c) ? lex_number(lx, t)
                  : is_name_start(c) ? lex_name(lx, t)
                  : c == '\'' || c == '"' ? lex_string(lx, t)
                                          : lex_operator(lx, t, &br);
        if (!ok) return false;
    }
}

static bool lex_comment(lexer *lx, int32_t line, int32_t col) {
    const char *s = lx->src;
    size_t q = lx->pos;
    while (q + 1 < lx->len && !(s[q] == '#' && s[q + 1] == '}')) q++;
    if (q + 1 >= lx->len) return fail(lx, line, col, "missing end of comment tag");
    char sign = q > lx->pos && (s[q - 1] == '-' || s[q - 1] == '+') ? s[q - 1] : 0;
    size_t end = q + 2;
    if (sign == '-') end = skip_ws(s, lx->len, end);
    else if (!sign && end < lx->len && s[end] == '\n') end++;
    lx->line_starting = s[end - 1] == '\n';
    advance(lx, end);
    return true;
}

/* `{%[-+]?\s*raw\s*(-%}\s*|%})` at p: the end of the match, or 0. */
static size_t raw_begin_end(const lexer *lx, size_t p) {
    size_t q = p + 2;
    if (q < lx->len && (lx->src[q] == '-' || lx->src[q] == '+')) q++;
    q = skip_ws(lx->src, lx->len, q);
    if (!starts(lx, q, "raw")) return 0;
    q = skip_ws(lx->src, lx->len, q + 3);
    if (starts(lx, q, "-%}")) return skip_ws(lx->src, lx->len, q + 3);
    return starts(lx, q, "%}") ? q + 2 : 0;
}

/* `{%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?)` at p: the end, or 0. */
static size_t raw_end_end(const lexer *lx, size_t p, char *sign) {
    size_t q = p + 2;
    *sign = q < lx->len && (lx->src[q] == '-' || lx->src[q] == '+') ? lx->src[q] : 0;
    q = skip_ws(lx->src, lx->len, q + (*sign != 0));
    if (!starts(lx, q, "endraw")) return 0;
    q = skip_ws(lx->src, lx->len, q + 6);
    if (starts(lx, q, "+%}")) return q + 3;
    if (starts(lx, q, "-%}")) return skip_ws(lx->src, lx->len, q + 3);
    if (!starts(lx, q, "%}")) return 0;
    return q + 2 < lx->len && lx->src[q + 2] == '\n' ? q + 3 : q + 2;
}

static bool lex_raw(lexer *lx, size_t body, int32_t line, int32_t col) {
    lx->line_starting = lx->src[body - 1] == '\n';
    advance(lx, body);
    for (size_t p = body; p + 1 < lx->len; p++) {
        char sign;
        size_t end;
        if (lx->src[p] != '{' || lx->src[p + 1] != '%' || !(end = raw_end_end(lx, p, &sign))) continue;
        if (!emit_text(lx, body, p, sign, true)) return false;
        lx->line_starting = lx->src[end - 1] == '\n';
        advance(lx, end);
        return true;
    }
    return fail(lx, line, col, "missing end of raw directive");
}

bool dc_jinja_lex(arena *a, const char *src, size_t len, jtok **toks, size_t *n, char *err) {
    lexer lx = {.a = a, .src = src, .len = len, .line = 1, .col = 1, .line_starting = true, .err = err};
    bool ok = true;
    while (ok && lx.pos < len) {
        size_t tag = lx.pos;
        while (tag + 1 < len && !(src[tag] == '{' && (src[tag + 1] == '{' || src[tag + 1] == '%' || src[tag + 1] == '#'))) tag++;
        if (tag + 1 >= len) {
            ok = emit_text(&lx, lx.pos, len, 0, false);
            break;
        }
        const char kind = src[tag + 1];
        const char sign = tag + 2 < len && (src[tag + 2] == '-' || src[tag + 2] == '+') ? src[tag + 2] : 0;
        const size_t raw = kind == '%' ? raw_begin_end(&lx, tag) : 0;
        if (!emit_text(&lx, lx.pos, tag, sign, kind != '{')) return free(lx.toks), false;
        const int32_t line = lx.line, col = lx.col;
        lx.line_starting = false;
        if (raw) {
            ok = lex_raw(&lx, raw, line, col);
            continue;
        }
        advance(&lx, tag + 2 + (sign != 0));
        if (kind == '#') {
            ok = lex_comment(&lx, line, col);
        } else {
            ok = push(&lx, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, line, col) && lex_tag(&lx, kind, line, col);
        }
    }
    if (!ok || !push(&lx, T_EOF, lx.line, lx.col)) return free(lx.toks), false;
    *toks = lx.toks;
    *n = lx.n;
    return true;
}
