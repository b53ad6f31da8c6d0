/* jinja_builtins.c - the filters, tests, globals and str/list/dict methods of
 * the template language, with jinja2's (and Python's) semantics.
 *
 * Every builtin is a table row: name, implementation, parameter names.
 * Arguments are bound like Python binds them (positional, then keywords by
 * name); an absent parameter arrives as undefined, which each builtin reads
 * as "use the default". Variadic builtins get the raw arguments instead.
 * Filters and tests receive their input as `self`, like methods. Failures
 * leave a message in r->msg; the evaluator adds the position.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jinja.h"

#define MAX_PARAMS 5
#define MAX_RANGE 100000 /* jinja2's sandbox refuses longer ranges */

typedef bool (*builtin_fn)(rt *r, jv self, const jv *p, const jargs *a, jv *out);

typedef struct {
    const char *name;
    builtin_fn fn;
    const char *params[MAX_PARAMS]; /* NULL-terminated */
    bool variadic;                  /* gets the raw arguments */
    uint8_t type;                   /* methods: the type they belong to */
} builtin;

static bool fail(rt *r, const char *fmt, ...) DC_PRINTF(2, 3);
static bool fail(rt *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return false;
}

static bool given(jv v) { return v.type != JV_UNDEF && v.type != JV_NONE; }
static bool opt_bool(jv v, bool dflt) { return v.type != JV_UNDEF ? dc_jv_truthy(v) : dflt; }

static bool want_int(rt *r, jv v, int64_t dflt, int64_t *out) {
    if (!given(v)) return *out = dflt, true;
    if (v.type == JV_INT || v.type == JV_BOOL) return *out = v.type == JV_INT ? v.u.i : v.u.b, true;
    return fail(r, "expected an integer, got '%s'", dc_jv_type_name(v));
}

static bool want_str(rt *r, jv v, const char *what) {
    return v.type == JV_STR || fail(r, "%s must be a string, not '%s'", what, dc_jv_type_name(v));
}

static bool new_str(rt *r, jv *out, const char *s, size_t n) { return dc_jv_new_str(r->msg, out, s, n); }
static bool put(rt *r, jbuf *b, const char *s, size_t n) { return dc_jbuf_put(r->msg, b, s, n); }
static bool finish(rt *r, jbuf *b, bool ok, jv *out) { return ok ? dc_jbuf_to_str(r->msg, b, out) : (dc_jbuf_free(b), false); }
#define NEW_BUF {.limit = DC_TPL_MAX_OUTPUT}

/* n copies of c (padding, indentation), written in one piece. */
static bool put_fill(rt *r, jbuf *b, char c, int64_t n) {
    if (n <= 0) return true;
    if ((uint64_t)n > DC_TPL_MAX_OUTPUT) n = (int64_t)DC_TPL_MAX_OUTPUT + 1; /* fails the reserve below */
    if (!dc_rt_charge(r, (uint64_t)n / 64) || !dc_jbuf_reserve(r->msg, b, (size_t)n)) return false;
    memset(b->p + b->n, c, (size_t)n);
    b->n += (size_t)n;
    b->p[b->n] = '\0';
    return true;
}

/* jinja2 returns an iterator here: the list is marked as one (see JL_ITER). */
static bool generator(bool ok, jv *out) {
    if (ok) out->u.l->kind = JL_ITER;
    return ok;
}

/* For filters that jinja2 writes as generator functions: their body runs
 * only when the result is iterated, so a failure becomes part of the result
 * (JL_BROKEN_ITER holding the message) and is raised by whatever iterates
 * it. Running out of the render's limits is not deferred. */
static bool lazy(rt *r, bool ok, jv *out) {
    char msg[DC_ERR_LEN];
    jv text;
    if (ok || r->steps > DC_TPL_MAX_STEPS) return generator(ok, out);
    snprintf(msg, sizeof msg, "%s", r->msg);
    if (!dc_jv_new_cstr(r->msg, &text, msg)) return false;
    if (!dc_jv_new_list(r->msg, out, 1)) return dc_jv_release(text), false;
    if (!dc_jlist_push(r->msg, out->u.l, text)) return dc_jv_release(*out), false;
    out->u.l->kind = JL_BROKEN_ITER;
    return true;
}

static bool push_copy(rt *r, jv list, jv v) { return dc_jlist_push(r->msg, list.u.l, dc_jv_ref(v)); }

static bool new_pair(rt *r, jv a, jv b, jv *out) {
    if (!dc_jv_new_list(r->msg, out, 2)) return false;
    out->u.l->kind = JL_TUPLE;
    return (push_copy(r, *out, a) && push_copy(r, *out, b)) || (dc_jv_release(*out), false);
}

/* ------------------------------------------------------------ characters */

/* Simple case mapping (ASCII, Latin-1, Greek, Cyrillic): templates apply it
 * to role names and keywords, not to prose. */
static uint32_t to_upper(uint32_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) ||
        (c >= 0x430 && c <= 0x44F))
        return c - 32;
    return c >= 0x450 && c <= 0x45F ? c - 80 : c;
}

static uint32_t to_lower(uint32_t c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 32;
    return c >= 0x400 && c <= 0x40F ? c + 80 : c;
}

static bool is_cased(uint32_t c) { return to_upper(c) != c || to_lower(c) != c; }
static bool is_digit_cp(uint32_t c) { return c >= '0' && c <= '9'; }
static bool is_alpha_cp(uint32_t c) { return is_cased(c) || (c >= 0x80 && !dc_py_isspace(c) && c != 0xA0); }

typedef enum { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_TITLE, CASE_JINJA_TITLE } case_mode;

/* Python's upper/lower/capitalize/title; jinja2's title filter starts words
 * only after whitespace and -({[< where str.title starts after any non-letter. */
static bool change_case(rt *r, jv v, case_mode mode, jv *out) {
    jv s;
    if (!dc_jv_to_str(r->msg, v, &s)) return false;
    jbuf b = NEW_BUF;
    bool ok = true, word_start = true;
    for (size_t i = 0, n; ok && i < s.u.s->len; i += n) {
        uint32_t c = dc_utf8_decode(s.u.s->s + i, s.u.s->len - i, &n), m;
        if (mode == CASE_UPPER) m = to_upper(c);
        else if (mode == CASE_LOWER) m = to_lower(c);
        else if (mode == CASE_CAPITALIZE) m = i == 0 ? to_upper(c) : to_lower(c);
        else {
            m = word_start ? to_upper(c) : to_lower(c);
            word_start = mode == CASE_JINJA_TITLE ? dc_py_isspace(c) || (c < 0x80 && strchr("-({[<", (int)c)) : !is_alpha_cp(c);
        }
        char u8[4];
        ok = m == c ? put(r, &b, s.u.s->s + i, n) : put(r, &b, u8, dc_utf8_encode(m, u8));
    }
    dc_jv_release(s);
    return finish(r, &b, ok, out);
}

static bool in_chars(const jstr *chars, uint32_t c) {
    for (size_t i = 0, n; i < chars->len; i += n)
        if (dc_utf8_decode(chars->s + i, chars->len - i, &n) == c) return true;
    return false;
}

/* str.strip / lstrip / rstrip: whitespace, or the characters of `chars`. */
static bool strip(rt *r, jv self, jv chars, bool left, bool right, jv *out) {
    if (given(chars) && !want_str(r, chars, "strip characters")) return false;
    const bool ws = !given(chars);
    const jstr *s = self.u.s;
    size_t start = 0, end = s->len, n;
    while (left && start < end) {
        uint32_t c = dc_utf8_decode(s->s + start, end - start, &n);
        if (ws ? !dc_py_isspace(c) : !in_chars(chars.u.s, c)) break;
        start += n;
    }
    while (right && end > start) {
        size_t p = end - 1;
        while (p > start && ((unsigned char)s->s[p] & 0xC0) == 0x80) p--;
        uint32_t c = dc_utf8_decode(s->s + p, end - p, &n);
        if (ws ? !dc_py_isspace(c) : !in_chars(chars.u.s, c)) break;
        end = p;
    }
    if (start == 0 && end == s->len) return *out = dc_jv_ref(self), true;
    return new_str(r, out, s->s + start, end - start);
}

/* Line breaks of str.splitlines(): \n \r \r\n \v \f \x1c-\x1e \x85 \u2028 \u2029.
 * Returns the length of the break at s[i] (0 if none). */
static size_t line_break(const char *s, size_t n, size_t i) {
    size_t len;
    uint32_t c = dc_utf8_decode(s + i, n - i, &len);
    if (c == '\r' && i + 1 < n && s[i + 1] == '\n') return 2;
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 || c == 0x2029 ? len : 0;
}

static bool splitlines(rt *r, const jstr *s, bool keepends, jv *out) {
    if (!dc_jv_new_list(r->msg, out, 0)) return false;
    size_t start = 0;
    for (size_t i = 0; i <= s->len;) {
        size_t br = i < s->len ? line_break(s->s, s->len, i) : 0;
        if (i < s->len && !br) {
            i = dc_utf8_next(s->s, s->len, i);
            continue;
        }
        if (i == s->len && start == s->len) break;
        jv line;
        if (!new_str(r, &line, s->s + start, i - start + (keepends ? br : 0)) || !dc_jlist_push(r->msg, out->u.l, line))
            return dc_jv_release(*out), false;
        if (i == s->len) break;
        i += br;
        start = i;
    }
    return true;
}

/* ------------------------------------------------------------ formatting */

typedef struct {
    char fill, align, sign, type; /* align: < > ^ = or 0; type 0: default */
    bool alt, zero;
    bool printf_style; /* `%` formatting: right-aligned unless `-`, zeros only for numbers */
    int64_t width, prec; /* -1: none */
} fspec;

/* The text of v for one conversion (no padding). */
static bool format_body(rt *r, jbuf *t, jv v, const fspec *f, bool *numeric) {
    char tmp[400];
    const char ty = f->type;
    *numeric = false;
    if (ty == 0 || ty == 's' || ty == 'r' || (ty == 'c' && v.type == JV_STR)) {
        if (ty == 0 && dc_jv_is_number(v)) *numeric = true;
        jbuf s = NEW_BUF;
        bool ok = ty == 'r' ? dc_jv_write_repr(r->msg, &s, v) : dc_jv_write_str(r->msg, &s, v);
        size_t cut = s.n;
        if (ok && f->prec >= 0) {
            cut = 0;
            for (int64_t k = 0; k < f->prec && cut < s.n; k++) cut = dc_utf8_next(s.p, s.n, cut);
        }
        ok = ok && put(r, t, s.p ? s.p : "", cut);
        dc_jbuf_free(&s);
        return ok;
    }
    if (!dc_jv_is_number(v)) return fail(r, "%%%c format: a number is required, not %s", ty, dc_jv_type_name(v));
    *numeric = true;
    double d = dc_jv_num(v);
    long long i = v.type == JV_FLOAT ? (isfinite(d) && fabs(d) < 9.2e18 ? (long long)d : 0) : (long long)(v.type == JV_INT ? v.u.i : v.u.b);
    int prec = f->prec < 0 ? 6 : f->prec > 100 ? 100 : (int)f->prec;
    int n;
    switch (ty) {
    case 'c': {
        char u8[4];
        return i >= 0 && i <= 0x10FFFF ? put(r, t, u8, dc_utf8_encode((uint32_t)i, u8)) : fail(r, "%%c arg not in range(0x110000)");
    }
    case 'd': case 'i': case 'u': n = snprintf(tmp, sizeof tmp, "%lld", i); break;
    case 'x': case 'X': case 'o': {
        const unsigned long long mag = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
        const char *sign = i < 0 ? "-" : "", *prefix = !f->alt ? "" : ty == 'x' ? "0x" : ty == 'X' ? "0X" : "0o";
        n = snprintf(tmp, sizeof tmp, ty == 'o' ? "%s%s%llo" : ty == 'x' ? "%s%s%llx" : "%s%s%llX", sign, prefix, mag);
        break;
    }
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
        n = snprintf(tmp, sizeof tmp,
                     ty == 'e' ? "%.*e" : ty == 'E' ? "%.*E" : ty == 'f' ? "%.*f" : ty == 'F' ? "%.*F" : ty == 'g' ? "%.*g" : "%.*G",
                     prec, d);
        break;
    case '%': n = snprintf(tmp, sizeof tmp, "%.*f%%", prec, d * 100); break;
    default: return fail(r, "unsupported format character '%c'", ty);
    }
    return put(r, t, tmp, (size_t)(n < 0 ? 0 : n >= (int)sizeof tmp ? (int)sizeof tmp - 1 : n));
}

/* One formatted value with sign and padding, appended to b. */
static bool put_formatted(rt *r, jbuf *b, jv v, const fspec *f) {
    jbuf t = NEW_BUF;
    bool numeric, ok = format_body(r, &t, v, f, &numeric);
    if (!ok) return dc_jbuf_free(&t), false;
    const char *s = t.p ? t.p : "";
    size_t len = t.n, sign_len = numeric && len && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    const char *sign = sign_len ? "" : numeric && f->sign == '+' ? "+" : numeric && f->sign == ' ' ? " " : "";
    int64_t cps = (int64_t)dc_utf8_count(s, len) + (int64_t)strlen(sign);
    int64_t pad = f->width > cps ? f->width - cps : 0;
    char align = f->align, fill = f->fill;
    if (!align) {
        align = f->zero && numeric ? '=' : numeric || f->printf_style ? '>' : '<';
        fill = f->zero && numeric ? '0' : ' ';
    }
    int64_t before = align == '>' ? pad : align == '^' ? pad / 2 : 0, after = align == '<' ? pad : align == '^' ? pad - pad / 2 : 0;
    ok = (align == '=' || put_fill(r, b, fill, before)) && put(r, b, s, sign_len) && dc_jbuf_puts(r->msg, b, sign) &&
         (align != '=' || put_fill(r, b, fill, pad)) && put(r, b, s + sign_len, len - sign_len) && put_fill(r, b, fill, after);
    dc_jbuf_free(&t);
    return ok;
}

static int64_t parse_count(const char *s, size_t *i, size_t n) {
    int64_t v = -1;
    while (*i < n && is_digit_cp((unsigned char)s[*i])) {
        v = (v < 0 ? 0 : v) * 10 + (s[(*i)++] - '0');
        if (v > DC_TPL_MAX_OUTPUT) v = (int64_t)DC_TPL_MAX_OUTPUT + 1; /* still too wide, without overflow */
    }
    return v;
}

bool dc_jinja_percent_format(rt *r, jv fmt, jv args, jv *out) {
    const char *s = fmt.u.s->s;
    const size_t n = fmt.u.s->len;
    const bool tuple = args.type == JV_LIST && args.u.l->kind == JL_TUPLE;
    size_t next_arg = 0, used_single = 0;
    bool used_mapping = false;
    jbuf b = NEW_BUF;
    bool ok = true;
    for (size_t i = 0; ok && i < n;) {
        size_t j = i;
        while (j < n && s[j] != '%') j++;
        ok = put(r, &b, s + i, j - i);
        if (!ok || j >= n) break;
        i = j + 1;
        jv v = dc_jv_undef(NULL, JV_UNDEF);
        if (i < n && s[i] == '(') { /* %(name)s takes the value from a mapping */
            size_t close = i + 1;
            while (close < n && s[close] != ')') close++;
            if (close >= n || args.type != JV_DICT) return finish(r, &b, fail(r, "format requires a mapping"), out);
            jv key;
            if (!new_str(r, &key, s + i + 1, close - i - 1)) return finish(r, &b, false, out);
            const jv *found = dc_jdict_get(args.u.d, key);
            dc_jv_release(key);
            if (!found) return finish(r, &b, fail(r, "format key not found"), out);
            v = *found;
            used_mapping = true;
            i = close + 1;
        }
        fspec f = {.fill = ' ', .width = -1, .prec = -1, .printf_style = true};
        for (; i < n && strchr("-+ 0#", s[i]); i++) {
            if (s[i] == '-') f.align = '<';
            else if (s[i] == '0') f.zero = true;
            else if (s[i] == '#') f.alt = true;
            else f.sign = f.sign == '+' ? '+' : s[i];
        }
        f.width = parse_count(s, &i, n);
        if (i < n && s[i] == '.') i++, f.prec = parse_count(s, &i, n), f.prec = f.prec < 0 ? 0 : f.prec;
        while (i < n && strchr("hlL", s[i])) i++;
        if (i >= n) return finish(r, &b, fail(r, "incomplete format"), out);
        f.type = s[i++];
        if (f.type == '%') {
            ok = put(r, &b, "%", 1);
            continue;
        }
        if (f.type == 'a') f.type = 'r';
        if (f.type == 'i' || f.type == 'u') f.type = 'd';
        if (v.type == JV_UNDEF) {
            if (tuple) {
                if (next_arg >= args.u.l->n) return finish(r, &b, fail(r, "not enough arguments for format string"), out);
                v = args.u.l->v[next_arg++];
            } else {
                if (used_single++) return finish(r, &b, fail(r, "not enough arguments for format string"), out);
                v = args;
            }
        }
        ok = put_formatted(r, &b, v, &f);
    }
    /* like Python, an unused argument is only an error if it is not a mapping (anything with __getitem__) */
    const bool mapping_like = args.type == JV_DICT || args.type == JV_UNDEF || (args.type == JV_LIST && args.u.l->kind == JL_LIST);
    if (ok && !used_mapping && ((tuple && next_arg < args.u.l->n) || (!tuple && !used_single && !mapping_like)))
        ok = fail(r, "not all arguments converted during string formatting");
    return finish(r, &b, ok, out);
}

/* Parses a str.format spec [[fill]align][sign][#][0][width][,][.prec][type]. */
static bool parse_spec(rt *r, const char *s, size_t n, fspec *f) {
    size_t i = 0;
    *f = (fspec){.fill = ' ', .width = -1, .prec = -1};
    if (n >= 2 && strchr("<>^=", s[1])) { /* a fill character (ASCII only here), then the alignment */
        f->fill = s[0];
        f->align = s[1];
        i = 2;
    } else if (n && strchr("<>^=", s[0])) {
        f->align = s[i++];
    }
    if (i < n && strchr("+- ", s[i])) f->sign = s[i++];
    if (i < n && s[i] == '#') f->alt = true, i++;
    if (i < n && s[i] == '0') f->zero = true, i++;
    f->width = parse_count(s, &i, n);
    if (i < n && s[i] == ',') i++;
    if (i < n && s[i] == '.') i++, f->prec = parse_count(s, &i, n);
    if (i < n) f->type = s[i++];
    if (f->type == 'n') f->type = 'd';
    return i == n || fail(r, "invalid format specifier");
}

/* The value a str.format field names: index or keyword, then .attr / [key]. */
static bool format_field(rt *r, const char *s, size_t n, const jargs *a, size_t *auto_index, jv *out) {
    size_t i = 0;
    while (i < n && s[i] != '.' && s[i] != '[') i++;
    jv cur;
    if (i == 0 || is_digit_cp((unsigned char)s[0])) {
        size_t k = 0;
        int64_t idx = i == 0 ? (int64_t)(*auto_index)++ : parse_count(s, &k, i);
        if ((i && k != i) || idx < 0 || (size_t)idx >= a->npos) return fail(r, "format: replacement index out of range");
        cur = dc_jv_ref(a->pos[idx]);
    } else {
        size_t k = 0;
        while (k < a->nkw && (strlen(a->names[k]) != i || memcmp(a->names[k], s, i))) k++;
        if (k == a->nkw) return fail(r, "format: no keyword argument '%.*s'", (int)i, s);
        cur = dc_jv_ref(a->kw[k]);
    }
    while (i < n) {
        size_t j = i + 1;
        bool item = s[i] == '[';
        while (j < n && s[j] != (item ? ']' : '.') && (item || s[j] != '[')) j++;
        char name[128];
        size_t len = j - i - 1 < sizeof name - 1 ? j - i - 1 : sizeof name - 1;
        memcpy(name, s + i + 1, len);
        name[len] = '\0';
        jv next, key;
        char *end;
        long long idx = strtoll(name, &end, 10);
        if (!(item && len && !*end ? (key = dc_jv_int(idx), true) : dc_jv_new_cstr(r->msg, &key, name))) return dc_jv_release(cur), false;
        bool ok = item ? dc_rt_getitem(r, cur, key, &next) : dc_rt_getattr(r, cur, name, &next);
        dc_jv_release(key);
        dc_jv_release(cur);
        if (!ok) return false;
        cur = next;
        i = j + item;
    }
    *out = cur;
    return true;
}

/* str.format(*args, **kwargs) */
static bool str_format(rt *r, jv self, const jargs *a, jv *out) {
    const char *s = self.u.s->s;
    const size_t n = self.u.s->len;
    size_t auto_index = 0;
    jbuf b = NEW_BUF;
    bool ok = true;
    for (size_t i = 0; ok && i < n;) {
        if ((s[i] == '{' || s[i] == '}') && i + 1 < n && s[i + 1] == s[i]) {
            ok = put(r, &b, s + i, 1);
            i += 2;
            continue;
        }
        if (s[i] == '}') return finish(r, &b, fail(r, "single '}' encountered in format string"), out);
        if (s[i] != '{') {
            ok = put(r, &b, s + i++, 1);
            continue;
        }
        size_t close = i + 1;
        while (close < n && s[close] != '}') close++;
        if (close >= n) return finish(r, &b, fail(r, "single '{' encountered in format string"), out);
        size_t field_end = i + 1, spec;
        while (field_end < close && s[field_end] != '!' && s[field_end] != ':') field_end++;
        char conv = 0; /* !r / !s: repr() or str() before the spec applies */
        spec = field_end;
        if (spec < close && s[spec] == '!') conv = spec + 1 < close ? s[spec + 1] : '?', spec += 2;
        if (spec < close && s[spec] == ':') spec++;
        else if (spec < close || (conv && conv != 'r' && conv != 's')) return finish(r, &b, fail(r, "invalid replacement field"), out);
        fspec f;
        jv v, text;
        ok = parse_spec(r, s + spec, spec < close ? close - spec : 0, &f) && format_field(r, s + i + 1, field_end - i - 1, a, &auto_index, &v);
        if (ok && conv) {
            const fspec plain = {.type = conv, .width = -1, .prec = -1};
            jbuf t = NEW_BUF;
            ok = put_formatted(r, &t, v, &plain) && dc_jbuf_to_str(r->msg, &t, &text);
            dc_jv_release(v);
            if (ok) v = text;
            else dc_jbuf_free(&t);
        }
        if (ok) {
            ok = put_formatted(r, &b, v, &f);
            dc_jv_release(v);
        }
        i = close + 1;
    }
    return finish(r, &b, ok, out);
}

/* ------------------------------------------------------------ sequences */

/* The value at a dotted attribute path ("a.b", "0") of item, like jinja2's
 * make_attrgetter; `dflt` replaces an undefined result when given. */
static bool attr_path(rt *r, jv item, const char *path, jv dflt, jv *out) {
    jv cur = dc_jv_ref(item);
    char part[256];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof part) return dc_jv_release(cur), fail(r, "attribute name too long");
        memcpy(part, p, n);
        part[n] = '\0';
        p += n + (p[n] == '.');
        jv key, next;
        char *end;
        long long idx = strtoll(part, &end, 10);
        if (!(n && !*end ? (key = dc_jv_int(idx), true) : new_str(r, &key, part, n))) return dc_jv_release(cur), false;
        bool ok = dc_rt_getitem(r, cur, key, &next);
        dc_jv_release(key);
        dc_jv_release(cur);
        if (!ok) return false;
        cur = next;
    }
    if (cur.type == JV_UNDEF && dflt.type != JV_UNDEF) cur = dc_jv_ref(dflt);
    *out = cur;
    return true;
}

/* An item's key for sort/unique/min/max: its attribute (a dotted path or an
 * index), lowercased when not case sensitive. */
static bool item_key(rt *r, jv item, jv attribute, bool case_sensitive, jv *out) {
    jv v;
    if (attribute.type == JV_STR) {
        if (!attr_path(r, item, attribute.u.s->s, dc_jv_undef(NULL, JV_UNDEF), &v)) return false;
    } else if (given(attribute)) {
        if (!dc_rt_getitem(r, item, attribute, &v)) return false;
    } else {
        v = dc_jv_ref(item);
    }
    if (case_sensitive || v.type != JV_STR) return *out = v, true;
    bool ok = change_case(r, v, CASE_LOWER, out);
    dc_jv_release(v);
    return ok;
}

/* The keys of every item of the list `items` (caller releases and frees). */
static jv *item_keys(rt *r, jv items, jv attribute, bool case_sensitive) {
    const size_t n = items.u.l->n;
    jv *keys = calloc(n + 1, sizeof *keys);
    if (!keys) return fail(r, "out of memory"), NULL;
    for (size_t i = 0; i < n; i++)
        if (!dc_rt_charge(r, 1) || !item_key(r, items.u.l->v[i], attribute, case_sensitive, &keys[i])) {
            for (size_t k = 0; k < i; k++) dc_jv_release(keys[k]);
            free(keys);
            return NULL;
        }
    return keys;
}

static void free_keys(jv *keys, size_t n) {
    for (size_t i = 0; i < n; i++) dc_jv_release(keys[i]);
    free(keys);
}

typedef struct {
    rt *r;
    const jv *keys;
    bool reverse, failed;
} sort_ctx;

static bool before(sort_ctx *c, size_t x, size_t y) { /* strictly before: keeps the sort stable */
    int cmp;
    if (c->failed) return false;
    if (!dc_jv_compare(c->r->msg, c->keys[x], c->keys[y], &cmp)) return c->failed = true, false;
    return c->reverse ? cmp > 0 : cmp < 0;
}

static void merge_sort(sort_ctx *c, size_t *idx, size_t *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    merge_sort(c, idx, tmp, h);
    merge_sort(c, idx + h, tmp, n - h);
    while (i < h && j < n) tmp[k++] = before(c, idx[j], idx[i]) ? idx[j++] : idx[i++];
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

/* A sorted copy of the list `items` (stable, like Python's sorted()). */
static bool sort_list(rt *r, jv items, jv attribute, bool case_sensitive, bool reverse, jv *out) {
    const size_t n = items.u.l->n;
    jv *keys = item_keys(r, items, attribute, case_sensitive);
    size_t *idx = malloc((n + 1) * sizeof *idx), *tmp = malloc((n + 1) * sizeof *tmp);
    bool ok = keys && idx && tmp && dc_rt_charge(r, n * 8);
    if (keys && (!idx || !tmp)) fail(r, "out of memory");
    if (ok) {
        sort_ctx c = {r, keys, reverse, false};
        for (size_t i = 0; i < n; i++) idx[i] = i;
        merge_sort(&c, idx, tmp, n);
        ok = !c.failed && dc_jv_new_list(r->msg, out, n);
    }
    for (size_t i = 0; ok && i < n; i++)
        if (!push_copy(r, *out, items.u.l->v[idx[i]])) ok = (dc_jv_release(*out), false);
    if (keys) free_keys(keys, n);
    free(idx);
    free(tmp);
    return ok;
}

/* ------------------------------------------------------------ filters */

static bool f_abs(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    if (self.type == JV_FLOAT) return *out = dc_jv_float(fabs(self.u.f)), true;
    if (self.type == JV_INT && self.u.i == INT64_MIN) return fail(r, "integer overflow");
    if (self.type == JV_INT || self.type == JV_BOOL) return *out = dc_jv_int(llabs(self.type == JV_INT ? self.u.i : self.u.b)), true;
    return fail(r, "bad operand type for abs(): '%s'", dc_jv_type_name(self));
}

static bool f_attr(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    return want_str(r, p[0], "attribute name") && dc_rt_getattr(r, self, p[0].u.s->s, out);
}

static bool f_upper(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, change_case(r, self, CASE_UPPER, out); }
static bool f_lower(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, change_case(r, self, CASE_LOWER, out); }
static bool f_title(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, change_case(r, self, CASE_JINJA_TITLE, out); }
static bool f_capitalize(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)p, (void)a, change_case(r, self, CASE_CAPITALIZE, out);
}

static bool f_default(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    if (self.type == JV_UNDEF || (opt_bool(p[1], false) && !dc_jv_truthy(self)))
        return p[0].type != JV_UNDEF ? (*out = dc_jv_ref(p[0]), true) : new_str(r, out, "", 0);
    return *out = dc_jv_ref(self), true;
}

static bool f_dictsort(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    if (self.type != JV_DICT) return fail(r, "dictsort needs a mapping, not '%s'", dc_jv_type_name(self));
    const bool by_value = p[1].type == JV_STR && !strcmp(p[1].u.s->s, "value");
    if (given(p[1]) && !by_value && !(p[1].type == JV_STR && !strcmp(p[1].u.s->s, "key")))
        return fail(r, "you can only sort by either \"key\" or \"value\"");
    jv pairs, pair;
    if (!dc_jv_new_list(r->msg, &pairs, self.u.d->n)) return false;
    for (size_t i = 0; i < self.u.d->n; i++)
        if (!new_pair(r, self.u.d->k[i], self.u.d->v[i], &pair) || !dc_jlist_push(r->msg, pairs.u.l, pair)) return dc_jv_release(pairs), false;
    bool ok = sort_list(r, pairs, dc_jv_int(by_value), opt_bool(p[0], false), opt_bool(p[2], false), out);
    dc_jv_release(pairs);
    return ok;
}

bool dc_jinja_escape(rt *r, jv self, jv *out) {
    jv s;
    if (self.type == JV_STR && self.hint) return *out = dc_jv_ref(self), true;
    if (!dc_jv_to_str(r->msg, self, &s)) return false;
    jbuf b = NEW_BUF;
    bool ok = true;
    for (size_t i = 0; ok && i < s.u.s->len; i++) {
        const char c = s.u.s->s[i];
        const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
        ok = e ? dc_jbuf_puts(r->msg, &b, e) : put(r, &b, &c, 1);
    }
    dc_jv_release(s);
    if (!finish(r, &b, ok, out)) return false;
    out->hint = 1;
    return true;
}

static bool f_escape(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, dc_jinja_escape(r, self, out); }

static bool f_safe(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    if (!dc_jv_to_str(r->msg, self, out)) return false;
    out->hint = 1;
    return true;
}

static bool first_or_last(rt *r, jv self, bool last, jv *out) {
    jv items;
    if (last && self.type == JV_LIST && self.u.l->kind >= JL_ITER) return fail(r, "'generator' object is not reversible");
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    const size_t n = items.u.l->n;
    *out = n ? dc_jv_ref(items.u.l->v[last ? n - 1 : 0]) : dc_jv_undef(last ? "last" : "first", JV_LIST);
    dc_jv_release(items);
    return true;
}

static bool f_first(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, first_or_last(r, self, false, out); }
static bool f_last(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, first_or_last(r, self, true, out); }

/* Python's int(str, base) / float(str): surrounding whitespace, a sign,
 * `_` between digits. */
static bool parse_number(const jstr *s, bool want_float, int base, jv *out) {
    char buf[128];
    size_t start = 0, end = s->len, n = 0, len;
    while (start < end && dc_py_isspace(dc_utf8_decode(s->s + start, end - start, &len))) start += len;
    while (end > start && dc_py_isspace((unsigned char)s->s[end - 1])) end--;
    if (start == end || end - start >= sizeof buf) return false;
    for (size_t i = start; i < end; i++) {
        const char c = s->s[i];
        if (c == '_' && (i == start || i + 1 == end || !is_digit_cp((unsigned char)s->s[i - 1]) || !is_digit_cp((unsigned char)s->s[i + 1])))
            return false;
        if (c != '_') buf[n++] = c;
    }
    buf[n] = '\0';
    char *stop;
    errno = 0;
    if (!want_float) {
        long long v = strtoll(buf, &stop, base);
        return !*stop && !errno && (*out = dc_jv_int(v), true);
    }
    if (strpbrk(buf, "xXpP")) return false; /* C reads hex floats, Python does not */
    double d = strtod(buf, &stop);
    return !*stop && (*out = dc_jv_float(d), true);
}

static bool f_int(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    int64_t base = 10;
    jv f;
    if (!want_int(r, p[1], 10, &base)) return false;
    if (base < 2 || base > 36) return fail(r, "int() base must be >= 2 and <= 36");
    if (self.type == JV_UNDEF) return dc_rt_undefined_error(r, self); /* Undefined.__int__ raises */
    if (self.type == JV_INT || self.type == JV_BOOL) return *out = dc_jv_int(self.type == JV_INT ? self.u.i : self.u.b), true;
    if (self.type == JV_FLOAT && isfinite(self.u.f) && fabs(self.u.f) < 9.2e18) return *out = dc_jv_int((int64_t)self.u.f), true;
    if (self.type == JV_STR) {
        if (parse_number(self.u.s, false, (int)base, out)) return true;
        if (parse_number(self.u.s, true, 10, &f) && isfinite(f.u.f) && fabs(f.u.f) < 9.2e18) return *out = dc_jv_int((int64_t)f.u.f), true;
    }
    *out = p[0].type != JV_UNDEF ? dc_jv_ref(p[0]) : dc_jv_int(0);
    return true;
}

static bool f_float(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    if (self.type == JV_UNDEF) return dc_rt_undefined_error(r, self); /* Undefined.__float__ raises */
    if (dc_jv_is_number(self)) return *out = dc_jv_float(dc_jv_num(self)), true;
    if (self.type == JV_STR && parse_number(self.u.s, true, 10, out)) return true;
    *out = p[0].type != JV_UNDEF ? dc_jv_ref(p[0]) : dc_jv_float(0.0);
    return true;
}

/* "%s, %s"|format(a, b) or "%(x)s"|format(x=1) */
static bool f_format(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p;
    jv args, fmt, k;
    if (a->npos && a->nkw) return fail(r, "can't handle positional and keyword arguments at the same time");
    if (!(a->nkw ? dc_jv_new_dict(r->msg, &args, JV_DICT) : dc_jv_new_list(r->msg, &args, a->npos))) return false;
    bool ok = true;
    if (args.type == JV_LIST) args.u.l->kind = JL_TUPLE;
    for (size_t i = 0; ok && i < a->npos; i++) ok = push_copy(r, args, a->pos[i]);
    for (size_t i = 0; ok && i < a->nkw; i++)
        ok = dc_jv_new_cstr(r->msg, &k, a->names[i]) && dc_jdict_set(r->msg, args.u.d, k, dc_jv_ref(a->kw[i]));
    if (ok && (ok = dc_jv_to_str(r->msg, self, &fmt))) {
        ok = dc_jinja_percent_format(r, fmt, args, out);
        dc_jv_release(fmt);
    }
    dc_jv_release(args);
    return ok;
}

/* jinja2's indent: every line but the first (all with first=True) gets the
 * prefix; blank lines only with blank=True. */
static bool f_indent(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    int64_t width = 4;
    if (p[0].type != JV_STR && !want_int(r, p[0], 4, &width)) return false;
    jbuf pad = NEW_BUF, b = NEW_BUF;
    bool ok = p[0].type == JV_STR ? put(r, &pad, p[0].u.s->s, p[0].u.s->len) : put_fill(r, &pad, ' ', width);
    jv text, lines;
    if (ok && self.type != JV_STR) ok = fail(r, "unsupported operand type(s) for +=: '%s' and 'str'", dc_jv_type_name(self));
    if (!ok) return dc_jbuf_free(&pad), false;
    /* like jinja2: s + "\n", then splitlines */
    ok = put(r, &b, self.u.s->s, self.u.s->len) && put(r, &b, "\n", 1) && dc_jbuf_to_str(r->msg, &b, &text);
    if (!ok) return dc_jbuf_free(&pad), dc_jbuf_free(&b), false;
    ok = splitlines(r, text.u.s, false, &lines);
    dc_jv_release(text);
    if (!ok) return dc_jbuf_free(&pad), false;
    const bool blank = opt_bool(p[2], false);
    const char *padp = pad.p ? pad.p : "";
    if (opt_bool(p[1], false)) ok = put(r, &b, padp, pad.n);
    for (size_t i = 0; ok && i < lines.u.l->n; i++) {
        const jstr *line = lines.u.l->v[i].u.s;
        if (i) ok = put(r, &b, "\n", 1) && (!(blank || line->len) || put(r, &b, padp, pad.n));
        ok = ok && put(r, &b, line->s, line->len);
    }
    dc_jv_release(lines);
    dc_jbuf_free(&pad);
    return finish(r, &b, ok, out);
}

static bool item_pairs(rt *r, jv self, jv *out) {
    if (self.type == JV_UNDEF) return dc_jv_new_list(r->msg, out, 0);
    if (self.type != JV_DICT) return fail(r, "can only get item pairs from a mapping");
    if (!dc_jv_new_list(r->msg, out, self.u.d->n)) return false;
    for (size_t i = 0; i < self.u.d->n; i++) {
        jv pair;
        if (!new_pair(r, self.u.d->k[i], self.u.d->v[i], &pair) || !dc_jlist_push(r->msg, out->u.l, pair)) return dc_jv_release(*out), false;
    }
    return true;
}

static bool f_items(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, lazy(r, item_pairs(r, self, out), out); }

static bool f_join(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    jv items, sep = dc_jv_none();
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    jbuf b = NEW_BUF;
    bool ok = p[0].type == JV_UNDEF || dc_jv_to_str(r->msg, p[0], &sep);
    for (size_t i = 0; ok && i < items.u.l->n; i++) {
        jv v;
        if (i && sep.type == JV_STR) ok = put(r, &b, sep.u.s->s, sep.u.s->len);
        if (ok && given(p[1])) {
            ok = p[1].type == JV_STR ? attr_path(r, items.u.l->v[i], p[1].u.s->s, dc_jv_undef(NULL, JV_UNDEF), &v)
                                     : dc_rt_getitem(r, items.u.l->v[i], p[1], &v);
        } else {
            v = dc_jv_ref(items.u.l->v[i]);
        }
        if (ok) {
            ok = dc_jv_write_str(r->msg, &b, v);
            dc_jv_release(v);
        }
    }
    dc_jv_release(sep);
    dc_jv_release(items);
    return finish(r, &b, ok, out);
}

static bool f_length(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    int64_t n = dc_jv_len(self);
    if (n < 0) return fail(r, "object of type '%s' has no len()", dc_jv_type_name(self));
    return *out = dc_jv_int(n), true;
}

static bool f_list(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    if (items.u.l->kind == JL_LIST) return *out = items, true;
    bool ok = dc_jv_new_list(r->msg, out, items.u.l->n);
    for (size_t i = 0; ok && i < items.u.l->n; i++) ok = push_copy(r, *out, items.u.l->v[i]) || (dc_jv_release(*out), false);
    dc_jv_release(items);
    return ok;
}

/* select / reject / selectattr / rejectattr: keeps items whose (attribute's)
 * test result equals `keep`; without a test name, truthiness decides. */
static bool select_items(rt *r, jv self, const jargs *a, bool by_attr, bool keep, jv *out) {
    size_t skip = by_attr;
    if (by_attr && (!a->npos || a->pos[0].type != JV_STR)) return fail(r, "missing attribute name");
    const bool has_test = a->npos > skip;
    int test = -1;
    if (has_test) {
        if (!want_str(r, a->pos[skip], "test name")) return false;
        if ((test = dc_jinja_test_id(a->pos[skip].u.s->s)) < 0) return fail(r, "no test named '%s'", a->pos[skip].u.s->s);
    }
    const jargs targs = {.pos = a->pos + skip + has_test, .npos = a->npos - skip - has_test, .names = a->names, .kw = a->kw, .nkw = a->nkw};
    jv items;
    if (!dc_jv_truthy(self)) return dc_jv_new_list(r->msg, out, 0); /* jinja2 skips falsy input (None) */
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    if (!dc_jv_new_list(r->msg, out, 0)) return dc_jv_release(items), false;
    bool ok = true;
    for (size_t i = 0; ok && i < items.u.l->n; i++) {
        jv v, item = items.u.l->v[i];
        bool hit;
        ok = by_attr ? attr_path(r, item, a->pos[0].u.s->s, dc_jv_undef(NULL, JV_UNDEF), &v) : (v = dc_jv_ref(item), true);
        if (!ok) break;
        ok = test >= 0 ? dc_jinja_test(r, test, v, &targs, &hit) : (hit = dc_jv_truthy(v), true);
        dc_jv_release(v);
        if (ok && hit == keep) ok = push_copy(r, *out, item);
    }
    if (!ok) dc_jv_release(*out);
    dc_jv_release(items);
    return ok;
}

static bool f_select(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, lazy(r, select_items(r, self, a, false, true, out), out); }
static bool f_reject(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, lazy(r, select_items(r, self, a, false, false, out), out); }
static bool f_selectattr(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, lazy(r, select_items(r, self, a, true, true, out), out); }
static bool f_rejectattr(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, lazy(r, select_items(r, self, a, true, false, out), out); }

static const jv *kwarg(const jargs *a, const char *name) {
    for (size_t i = 0; i < a->nkw; i++)
        if (!strcmp(a->names[i], name)) return &a->kw[i];
    return NULL;
}

/* map(attribute='x', default=d) or map('filter', args...) */
static bool map_items(rt *r, jv self, const jargs *a, jv *out) {
    const jv *attribute = kwarg(a, "attribute"), *dflt = kwarg(a, "default");
    int filter = -1;
    if (!attribute) {
        if (!a->npos || !want_str(r, a->pos[0], "filter name")) return a->npos ? false : fail(r, "map requires a filter argument");
        if ((filter = dc_jinja_filter_id(a->pos[0].u.s->s)) < 0) return fail(r, "no filter named '%s'", a->pos[0].u.s->s);
    } else if (attribute->type != JV_STR) {
        return fail(r, "map attribute must be a string");
    }
    const jargs fargs = {.pos = a->pos + 1, .npos = a->npos ? a->npos - 1 : 0, .names = a->names, .kw = a->kw, .nkw = a->nkw};
    jv items;
    if (!dc_jv_truthy(self)) return dc_jv_new_list(r->msg, out, 0); /* jinja2 skips falsy input (None) */
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    bool ok = dc_jv_new_list(r->msg, out, items.u.l->n);
    for (size_t i = 0; ok && i < items.u.l->n; i++) {
        jv v;
        ok = attribute ? attr_path(r, items.u.l->v[i], attribute->u.s->s, dflt ? *dflt : dc_jv_undef(NULL, JV_UNDEF), &v)
                       : dc_jinja_filter(r, filter, items.u.l->v[i], &fargs, &v);
        ok = ok && dc_jlist_push(r->msg, out->u.l, v);
        if (!ok) dc_jv_release(*out);
    }
    dc_jv_release(items);
    return ok;
}

static bool f_map(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, lazy(r, map_items(r, self, a, out), out); }

static bool min_max(rt *r, jv self, const jv *p, bool max, jv *out) {
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    const size_t n = items.u.l->n;
    jv *keys = item_keys(r, items, p[1], opt_bool(p[0], false));
    bool ok = keys != NULL;
    size_t best = 0;
    for (size_t i = 1; ok && i < n; i++) {
        int c;
        ok = dc_jv_compare(r->msg, keys[i], keys[best], &c);
        if (ok && (max ? c > 0 : c < 0)) best = i;
    }
    if (ok) *out = n ? dc_jv_ref(items.u.l->v[best]) : dc_jv_undef(max ? "max" : "min", JV_LIST);
    if (keys) free_keys(keys, n);
    dc_jv_release(items);
    return ok;
}

static bool f_max(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, min_max(r, self, p, true, out); }
static bool f_min(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, min_max(r, self, p, false, out); }

/* str.replace semantics; an empty `old` inserts `new` between characters. */
static bool replace(rt *r, jv self, jv old, jv new_, jv count_v, jv *out) {
    int64_t count = -1;
    jv s, o, w;
    if (!want_int(r, count_v, -1, &count)) return false;
    if (!dc_jv_to_str(r->msg, self, &s)) return false;
    if (!dc_jv_to_str(r->msg, old, &o)) return dc_jv_release(s), false;
    if (!dc_jv_to_str(r->msg, new_, &w)) return dc_jv_release(s), dc_jv_release(o), false;
    const jstr *hs = s.u.s, *os = o.u.s, *ws = w.u.s;
    jbuf b = NEW_BUF;
    bool ok = true;
    size_t i = 0;
    for (int64_t done = 0; ok && (count < 0 || done < count) && i <= hs->len; done++) {
        const char *hit = os->len ? memmem(hs->s + i, hs->len - i, os->s, os->len) : hs->s + i;
        if (!hit) break;
        size_t at = (size_t)(hit - hs->s);
        ok = put(r, &b, hs->s + i, at - i) && put(r, &b, ws->s, ws->len) && dc_rt_charge(r, ws->len / 64);
        i = at + os->len;
        if (!os->len) { /* step over one character after each insertion */
            size_t next = dc_utf8_next(hs->s, hs->len, i);
            ok = ok && put(r, &b, hs->s + i, next - i);
            if (i == hs->len) i++;
            else i = next;
        }
    }
    if (ok && i < hs->len) ok = put(r, &b, hs->s + i, hs->len - i);
    dc_jv_release(s);
    dc_jv_release(o);
    dc_jv_release(w);
    return finish(r, &b, ok, out);
}

static bool f_replace(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, replace(r, self, p[0], p[1], p[2], out); }

static bool reversed_list(rt *r, jv list, jv *out) {
    bool ok = dc_jv_new_list(r->msg, out, list.u.l->n);
    for (size_t i = list.u.l->n; ok && i-- > 0;) ok = push_copy(r, *out, list.u.l->v[i]) || (dc_jv_release(*out), false);
    return ok;
}

static bool f_reverse(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    if (self.type == JV_STR) {
        jbuf b = NEW_BUF;
        bool ok = true;
        for (size_t end = self.u.s->len; ok && end > 0;) {
            size_t start = end - 1;
            while (start > 0 && ((unsigned char)self.u.s->s[start] & 0xC0) == 0x80) start--;
            ok = put(r, &b, self.u.s->s + start, end - start);
            end = start;
        }
        return finish(r, &b, ok, out);
    }
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    bool ok = reversed_list(r, items, out);
    dc_jv_release(items);
    return generator(ok, out);
}

static bool f_round(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    int64_t prec = 0;
    if (!want_int(r, p[0], 0, &prec)) return false;
    const char *method = p[1].type == JV_STR ? p[1].u.s->s : "common";
    if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
        return fail(r, "method must be common, ceil or floor");
    if (!dc_jv_is_number(self)) return fail(r, "round needs a number, not '%s'", dc_jv_type_name(self));
    if (self.type != JV_FLOAT && !strcmp(method, "common") && prec >= 0) return *out = dc_jv_int(self.type == JV_INT ? self.u.i : self.u.b), true;
    double m = pow(10.0, (double)(prec > 300 ? 300 : prec < -300 ? -300 : prec)), x = dc_jv_num(self) * m;
    x = method[0] == 'c' && method[1] == 'e' ? ceil(x) : method[0] == 'f' ? floor(x) : nearbyint(x);
    *out = dc_jv_float(x / m);
    return true;
}


static bool f_sort(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    bool ok = sort_list(r, items, p[2], opt_bool(p[1], false), opt_bool(p[0], false), out);
    dc_jv_release(items);
    return ok;
}

static bool f_string(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, dc_jv_to_str(r->msg, self, out); }

static bool f_sum(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    jv acc = p[1].type != JV_UNDEF ? p[1] : dc_jv_int(0);
    bool ok = true;
    for (size_t i = 0; ok && i < items.u.l->n; i++) {
        jv v;
        if (p[0].type == JV_STR) ok = attr_path(r, items.u.l->v[i], p[0].u.s->s, dc_jv_undef(NULL, JV_UNDEF), &v);
        else v = dc_jv_ref(items.u.l->v[i]);
        if (!ok) break;
        int64_t x, y, z;
        if (!dc_jv_is_number(acc) || !dc_jv_is_number(v)) {
            ok = fail(r, "unsupported operand type(s) for +: '%s' and '%s'", dc_jv_type_name(acc), dc_jv_type_name(v));
        } else if (acc.type == JV_FLOAT || v.type == JV_FLOAT) {
            acc = dc_jv_float(dc_jv_num(acc) + dc_jv_num(v));
        } else {
            x = acc.type == JV_INT ? acc.u.i : acc.u.b;
            y = v.type == JV_INT ? v.u.i : v.u.b;
            if (__builtin_add_overflow(x, y, &z)) ok = fail(r, "integer overflow");
            else acc = dc_jv_int(z);
        }
        dc_jv_release(v);
    }
    dc_jv_release(items);
    return ok && (*out = dc_jv_ref(acc), true);
}

/* transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False) with those parameters in that order. */
static bool f_tojson(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    json_opts o = {.ensure_ascii = opt_bool(p[0], false), .sort_keys = opt_bool(p[3], false), .indent = -1};
    if (p[1].type == JV_STR) o.indent = 0, o.indent_str = p[1].u.s->s;
    else if (!want_int(r, p[1], -1, &o.indent)) return false;
    else if (given(p[1]) && o.indent < 0) o.indent = 0; /* ' ' * negative is '' but still multi-line */
    if (given(p[2])) {
        const jv sep = p[2];
        if (sep.type != JV_LIST || sep.u.l->n != 2 || sep.u.l->v[0].type != JV_STR || sep.u.l->v[1].type != JV_STR)
            return fail(r, "separators must be a pair of strings");
        o.item_sep = sep.u.l->v[0].u.s->s;
        o.key_sep = sep.u.l->v[1].u.s->s;
    }
    jbuf b = NEW_BUF;
    return finish(r, &b, dc_jv_write_json(r->msg, &b, self, &o), out);
}

static bool f_trim(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    jv s;
    if (!dc_jv_to_str(r->msg, self, &s)) return false;
    bool ok = strip(r, s, p[0], true, true, out);
    dc_jv_release(s);
    return ok;
}

static bool unique_items(rt *r, jv self, const jv *p, jv *out) {
    jv items;
    if (!dc_jinja_iter_list(r, self, &items)) return false;
    const size_t n = items.u.l->n;
    jv *keys = item_keys(r, items, p[1], opt_bool(p[0], false));
    bool ok = keys && dc_jv_new_list(r->msg, out, 0);
    for (size_t i = 0; ok && i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) seen = dc_jv_equal(keys[k], keys[i]);
        ok = dc_rt_charge(r, i / 16) && (seen || push_copy(r, *out, items.u.l->v[i]));
        if (!ok) dc_jv_release(*out);
    }
    if (keys) free_keys(keys, n);
    dc_jv_release(items);
    return ok;
}

static bool f_unique(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, lazy(r, unique_items(r, self, p, out), out); }

static bool f_wordcount(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)p, (void)a;
    jv s;
    if (!dc_jv_to_str(r->msg, self, &s)) return false;
    int64_t words = 0;
    bool in_word = false;
    for (size_t i = 0, n; i < s.u.s->len; i += n) {
        uint32_t c = dc_utf8_decode(s.u.s->s + i, s.u.s->len - i, &n);
        bool w = is_alpha_cp(c) || is_digit_cp(c) || c == '_';
        words += w && !in_word;
        in_word = w;
    }
    dc_jv_release(s);
    return *out = dc_jv_int(words), true;
}

static const builtin filters[] = {
    {"abs", f_abs, {NULL}, false, 0},
    {"attr", f_attr, {"name"}, false, 0},
    {"capitalize", f_capitalize, {NULL}, false, 0},
    {"count", f_length, {NULL}, false, 0},
    {"d", f_default, {"default_value", "boolean"}, false, 0},
    {"default", f_default, {"default_value", "boolean"}, false, 0},
    {"dictsort", f_dictsort, {"case_sensitive", "by", "reverse"}, false, 0},
    {"e", f_escape, {NULL}, false, 0},
    {"escape", f_escape, {NULL}, false, 0},
    {"first", f_first, {NULL}, false, 0},
    {"float", f_float, {"default"}, false, 0},
    {"format", f_format, {NULL}, true, 0},
    {"indent", f_indent, {"width", "first", "blank"}, false, 0},
    {"int", f_int, {"default", "base"}, false, 0},
    {"items", f_items, {NULL}, false, 0},
    {"join", f_join, {"d", "attribute"}, false, 0},
    {"last", f_last, {NULL}, false, 0},
    {"length", f_length, {NULL}, false, 0},
    {"list", f_list, {NULL}, false, 0},
    {"lower", f_lower, {NULL}, false, 0},
    {"map", f_map, {NULL}, true, 0},
    {"max", f_max, {"case_sensitive", "attribute"}, false, 0},
    {"min", f_min, {"case_sensitive", "attribute"}, false, 0},
    {"reject", f_reject, {NULL}, true, 0},
    {"rejectattr", f_rejectattr, {NULL}, true, 0},
    {"replace", f_replace, {"old", "new", "count"}, false, 0},
    {"reverse", f_reverse, {NULL}, false, 0},
    {"round", f_round, {"precision", "method"}, false, 0},
    {"safe", f_safe, {NULL}, false, 0},
    {"select", f_select, {NULL}, true, 0},
    {"selectattr", f_selectattr, {NULL}, true, 0},
    {"sort", f_sort, {"reverse", "case_sensitive", "attribute"}, false, 0},
    {"string", f_string, {NULL}, false, 0},
    {"sum", f_sum, {"attribute", "start"}, false, 0},
    {"title", f_title, {NULL}, false, 0},
    {"tojson", f_tojson, {"ensure_ascii", "indent", "separators", "sort_keys"}, false, 0},
    {"trim", f_trim, {"chars"}, false, 0},
    {"unique", f_unique, {"case_sensitive", "attribute"}, false, 0},
    {"upper", f_upper, {NULL}, false, 0},
    {"wordcount", f_wordcount, {NULL}, false, 0},
};

/* ------------------------------------------------------------ tests */

static bool t_defined(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type != JV_UNDEF), true; }
static bool t_undefined(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_UNDEF), true; }
static bool t_none(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_NONE), true; }
static bool t_boolean(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_BOOL), true; }
static bool t_true(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_BOOL && self.u.b), true; }
static bool t_false(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_BOOL && !self.u.b), true; }
static bool t_integer(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_INT), true; }
static bool t_float(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_FLOAT), true; }
static bool t_number(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(dc_jv_is_number(self)), true; }
static bool t_string(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_STR), true; }
static bool t_mapping(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_DICT), true; }
static bool t_callable(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_FUNC), true; }
static bool t_escaped(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)self, (void)p, (void)a, *out = dc_jv_bool(false), true; }
/* Python: iterable = has __iter__ (Undefined has); sequence = len + getitem. */
static bool t_iterable(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)r, (void)p, (void)a, *out = dc_jv_bool(self.type == JV_UNDEF || self.type == JV_LIST || self.type == JV_STR || self.type == JV_DICT), true;
}
static bool t_sequence(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)r, (void)p, (void)a, *out = dc_jv_bool(dc_jv_is_seq(self) || self.type == JV_DICT || self.type == JV_UNDEF), true;
}

static bool cased_test(rt *r, jv self, bool upper, jv *out) {
    jv s;
    if (!dc_jv_to_str(r->msg, self, &s)) return false;
    bool any = false, all = true;
    for (size_t i = 0, n; i < s.u.s->len; i += n) {
        uint32_t c = dc_utf8_decode(s.u.s->s + i, s.u.s->len - i, &n);
        if (!is_cased(c)) continue;
        any = true;
        all = all && (upper ? to_lower(c) != c : to_upper(c) != c);
    }
    dc_jv_release(s);
    return *out = dc_jv_bool(any && all), true;
}

static bool t_lower(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, cased_test(r, self, false, out); }
static bool t_upper(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, cased_test(r, self, true, out); }

static bool int_mod(rt *r, jv self, jv by, bool *zero) {
    if (!dc_jv_is_number(self) || !dc_jv_is_number(by)) return fail(r, "divisibility needs numbers");
    if (self.type == JV_FLOAT || by.type == JV_FLOAT) {
        if (dc_jv_num(by) == 0.0) return fail(r, "float modulo by zero");
        return *zero = fmod(dc_jv_num(self), dc_jv_num(by)) == 0.0, true;
    }
    int64_t x = self.type == JV_INT ? self.u.i : self.u.b, y = by.type == JV_INT ? by.u.i : by.u.b;
    if (y == 0) return fail(r, "integer modulo by zero");
    return *zero = y == -1 || x % y == 0, true;
}

static bool t_divisibleby(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    bool zero;
    (void)a;
    return int_mod(r, self, p[0], &zero) && (*out = dc_jv_bool(zero), true);
}
static bool t_even(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    bool zero;
    (void)p, (void)a;
    return int_mod(r, self, dc_jv_int(2), &zero) && (*out = dc_jv_bool(zero), true);
}
static bool t_odd(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    bool zero;
    (void)p, (void)a;
    return int_mod(r, self, dc_jv_int(2), &zero) && (*out = dc_jv_bool(!zero), true);
}

static bool compare_test(rt *r, jop op, jv self, jv other, jv *out) {
    bool res;
    return dc_rt_compare(r, op, self, other, &res) && (*out = dc_jv_bool(res), true);
}
static bool t_eq(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_EQ, self, p[0], out); }
static bool t_ne(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_NE, self, p[0], out); }
static bool t_lt(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_LT, self, p[0], out); }
static bool t_le(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_LTEQ, self, p[0], out); }
static bool t_gt(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_GT, self, p[0], out); }
static bool t_ge(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_GTEQ, self, p[0], out); }
static bool t_in(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, compare_test(r, OP_IN, self, p[0], out); }

static bool t_sameas(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)r, (void)a;
    const jv o = p[0];
    bool same = self.type == o.type && (dc_jv_is_heap(self) ? self.u.o == o.u.o : dc_jv_equal(self, o));
    return *out = dc_jv_bool(same), true;
}

static bool t_filter(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)r, (void)p, (void)a;
    return *out = dc_jv_bool(self.type == JV_STR && dc_jinja_filter_id(self.u.s->s) >= 0), true;
}
static bool t_test(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)r, (void)p, (void)a;
    return *out = dc_jv_bool(self.type == JV_STR && dc_jinja_test_id(self.u.s->s) >= 0), true;
}

static const builtin tests[] = {
    {"!=", t_ne, {"other"}, false, 0},
    {"<", t_lt, {"other"}, false, 0},
    {"<=", t_le, {"other"}, false, 0},
    {"==", t_eq, {"other"}, false, 0},
    {">", t_gt, {"other"}, false, 0},
    {">=", t_ge, {"other"}, false, 0},
    {"boolean", t_boolean, {NULL}, false, 0},
    {"callable", t_callable, {NULL}, false, 0},
    {"defined", t_defined, {NULL}, false, 0},
    {"divisibleby", t_divisibleby, {"num"}, false, 0},
    {"eq", t_eq, {"other"}, false, 0},
    {"equalto", t_eq, {"other"}, false, 0},
    {"escaped", t_escaped, {NULL}, false, 0},
    {"even", t_even, {NULL}, false, 0},
    {"false", t_false, {NULL}, false, 0},
    {"filter", t_filter, {NULL}, false, 0},
    {"float", t_float, {NULL}, false, 0},
    {"ge", t_ge, {"other"}, false, 0},
    {"greaterthan", t_gt, {"other"}, false, 0},
    {"gt", t_gt, {"other"}, false, 0},
    {"in", t_in, {"seq"}, false, 0},
    {"integer", t_integer, {NULL}, false, 0},
    {"iterable", t_iterable, {NULL}, false, 0},
    {"le", t_le, {"other"}, false, 0},
    {"lessthan", t_lt, {"other"}, false, 0},
    {"lower", t_lower, {NULL}, false, 0},
    {"lt", t_lt, {"other"}, false, 0},
    {"mapping", t_mapping, {NULL}, false, 0},
    {"ne", t_ne, {"other"}, false, 0},
    {"none", t_none, {NULL}, false, 0},
    {"number", t_number, {NULL}, false, 0},
    {"odd", t_odd, {NULL}, false, 0},
    {"sameas", t_sameas, {"other"}, false, 0},
    {"sequence", t_sequence, {NULL}, false, 0},
    {"string", t_string, {NULL}, false, 0},
    {"test", t_test, {NULL}, false, 0},
    {"true", t_true, {NULL}, false, 0},
    {"undefined", t_undefined, {NULL}, false, 0},
    {"upper", t_upper, {NULL}, false, 0},
};

/* ------------------------------------------------------------ globals */

static bool g_range(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)self, (void)p;
    int64_t v[3] = {0, 0, 1};
    if (a->nkw || a->npos < 1 || a->npos > 3) return fail(r, "range expects 1 to 3 integer arguments");
    for (size_t i = 0; i < a->npos; i++)
        if (!want_int(r, a->pos[i], 0, &v[a->npos == 1 ? 1 : i])) return false;
    if (v[2] == 0) return fail(r, "range() arg 3 must not be zero");
    double count = v[2] > 0 ? ceil(((double)v[1] - (double)v[0]) / (double)v[2]) : ceil(((double)v[0] - (double)v[1]) / -(double)v[2]);
    if (count > MAX_RANGE) return fail(r, "range too big, the sandbox blocks ranges larger than %d", MAX_RANGE);
    if (!dc_jv_new_list(r->msg, out, count > 0 ? (size_t)count : 0)) return false;
    for (int64_t i = 0; i < (int64_t)count; i++)
        if (!dc_jlist_push(r->msg, out->u.l, dc_jv_int(v[0] + i * v[2]))) return dc_jv_release(*out), false;
    return true;
}

/* dict(mapping, **kw) and namespace(mapping, **kw) */
static bool make_mapping(rt *r, const jargs *a, dc_jv_type type, jv *out) {
    if (a->npos > 1 || (a->npos && a->pos[0].type != JV_DICT)) return fail(r, "expected at most one mapping argument");
    if (!dc_jv_new_dict(r->msg, out, type)) return false;
    bool ok = true;
    for (size_t i = 0; ok && a->npos && i < a->pos[0].u.d->n; i++)
        ok = dc_jdict_set(r->msg, out->u.d, dc_jv_ref(a->pos[0].u.d->k[i]), dc_jv_ref(a->pos[0].u.d->v[i]));
    for (size_t i = 0; ok && i < a->nkw; i++) {
        jv k;
        ok = dc_jv_new_cstr(r->msg, &k, a->names[i]) && dc_jdict_set(r->msg, out->u.d, k, dc_jv_ref(a->kw[i]));
    }
    ok = ok && (type != JV_NS || dc_rt_track_namespace(r, *out));
    if (!ok) dc_jv_release(*out);
    return ok;
}

static bool g_dict(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)self, (void)p, make_mapping(r, a, JV_DICT, out); }
static bool g_namespace(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)self, (void)p, make_mapping(r, a, JV_NS, out); }

static bool g_raise_exception(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)self, (void)a, (void)out;
    jv msg;
    if (!dc_jv_to_str(r->msg, p[0], &msg)) return false;
    fail(r, "%s", msg.u.s->s);
    dc_jv_release(msg);
    return false;
}

static bool g_strftime_now(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)self, (void)a;
    if (!want_str(r, p[0], "format")) return false;
    char buf[512];
    time_t now = time(NULL);
    struct tm tm;
    size_t n = localtime_r(&now, &tm) ? strftime(buf, sizeof buf, p[0].u.s->s, &tm) : 0;
    return new_str(r, out, buf, n);
}

static const builtin globals[] = {
    {"dict", g_dict, {NULL}, true, 0},
    {"namespace", g_namespace, {NULL}, true, 0},
    {"raise_exception", g_raise_exception, {"message"}, false, 0},
    {"range", g_range, {NULL}, true, 0},
    {"strftime_now", g_strftime_now, {"format"}, false, 0},
};

/* ------------------------------------------------------------ methods */

static bool m_strip(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, strip(r, self, p[0], true, true, out); }
static bool m_lstrip(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, strip(r, self, p[0], true, false, out); }
static bool m_rstrip(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, strip(r, self, p[0], false, true, out); }
static bool m_title(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, change_case(r, self, CASE_TITLE, out); }
static bool m_format(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, str_format(r, self, a, out); }
static bool m_splitlines(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, splitlines(r, self.u.s, opt_bool(p[0], false), out); }

static const char *rfind_bytes(const char *s, size_t lo, size_t hi, const char *d, size_t dn) {
    if (hi - lo < dn) return NULL;
    for (size_t k = hi - dn + 1; k-- > lo;)
        if (!memcmp(s + k, d, dn)) return s + k;
    return NULL;
}

/* The next piece of a split of s[*lo, *hi) from the left (or the right):
 * returns false when nothing is left. `last` pieces take all the rest. */
static bool next_piece(const jstr *s, jv sep, bool from_right, bool last, size_t *lo, size_t *hi, size_t *plo, size_t *phi) {
    size_t n;
    if (sep.type != JV_STR) { /* runs of whitespace, ignored at the ends */
        if (!from_right)
            while (*lo < *hi && dc_py_isspace(dc_utf8_decode(s->s + *lo, *hi - *lo, &n))) *lo += n;
        else
            while (*hi > *lo && dc_py_isspace((unsigned char)s->s[*hi - 1])) --*hi;
        if (*lo >= *hi) return false;
        *plo = *lo, *phi = *hi;
        if (last) return *lo = *hi, true;
        if (!from_right) {
            while (*lo < *hi && !dc_py_isspace(dc_utf8_decode(s->s + *lo, *hi - *lo, &n))) *lo += n;
            *phi = *lo;
        } else {
            while (*hi > *lo && !dc_py_isspace((unsigned char)s->s[*hi - 1])) --*hi;
            *plo = *hi;
        }
        return true;
    }
    if (*lo > *hi) return false;
    const jstr *d = sep.u.s;
    const char *hit = last ? NULL : from_right ? rfind_bytes(s->s, *lo, *hi, d->s, d->len) : memmem(s->s + *lo, *hi - *lo, d->s, d->len);
    *plo = *lo, *phi = *hi;
    if (!hit) return *lo = *hi + 1, true; /* the final piece */
    const size_t at = (size_t)(hit - s->s);
    if (from_right) *plo = at + d->len, *hi = at;
    else *phi = at, *lo = at + d->len;
    return true;
}

/* str.split / str.rsplit */
static bool split(rt *r, jv self, jv sep, jv maxsplit_v, bool from_right, jv *out) {
    int64_t maxsplit = -1;
    if (!want_int(r, maxsplit_v, -1, &maxsplit)) return false;
    if (given(sep) && !want_str(r, sep, "separator")) return false;
    if (given(sep) && !sep.u.s->len) return fail(r, "empty separator");
    jv pieces, piece;
    if (!dc_jv_new_list(r->msg, &pieces, 0)) return false;
    size_t lo = 0, hi = self.u.s->len, plo, phi;
    bool ok = true;
    for (int64_t done = 0; ok && next_piece(self.u.s, sep, from_right, maxsplit >= 0 && done >= maxsplit, &lo, &hi, &plo, &phi); done++)
        ok = dc_rt_charge(r, 1) && new_str(r, &piece, self.u.s->s + plo, phi - plo) && dc_jlist_push(r->msg, pieces.u.l, piece);
    if (ok && from_right) ok = reversed_list(r, pieces, out);
    else if (ok) *out = dc_jv_ref(pieces);
    dc_jv_release(pieces);
    return ok;
}

static bool m_split(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, split(r, self, p[0], p[1], false, out); }
static bool m_rsplit(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, split(r, self, p[0], p[1], true, out); }

/* startswith / endswith with a string or a tuple of strings */
static bool affix(rt *r, jv self, jv what, bool at_end, jv *out) {
    const jv *opts = what.type == JV_LIST ? what.u.l->v : &what;
    size_t n = what.type == JV_LIST ? what.u.l->n : 1;
    bool hit = false;
    for (size_t i = 0; i < n && !hit; i++) {
        if (!want_str(r, opts[i], "prefix/suffix")) return false;
        const jstr *s = self.u.s, *x = opts[i].u.s;
        hit = x->len <= s->len && !memcmp(s->s + (at_end ? s->len - x->len : 0), x->s, x->len);
    }
    return *out = dc_jv_bool(hit), true;
}

static bool m_startswith(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, affix(r, self, p[0], false, out); }
static bool m_endswith(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, affix(r, self, p[0], true, out); }

static bool remove_affix(rt *r, jv self, jv what, bool at_end, jv *out) {
    jv hit;
    if (!affix(r, self, what, at_end, &hit)) return false;
    if (!hit.u.b) return *out = dc_jv_ref(self), true;
    const size_t cut = what.u.s->len;
    return new_str(r, out, self.u.s->s + (at_end ? 0 : cut), self.u.s->len - cut);
}

static bool m_removeprefix(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)a, want_str(r, p[0], "prefix") && remove_affix(r, self, p[0], false, out);
}
static bool m_removesuffix(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)a, want_str(r, p[0], "suffix") && remove_affix(r, self, p[0], true, out);
}

typedef enum { FIND, RFIND, COUNT } search_mode;

/* find / rfind (positions in code points) and count of a substring */
static bool search(rt *r, jv self, jv sub, search_mode mode, jv *out) {
    if (!want_str(r, sub, "substring")) return false;
    const jstr *s = self.u.s, *x = sub.u.s;
    if (!x->len) return *out = dc_jv_int(mode == FIND ? 0 : mode == RFIND ? (int64_t)s->ncp : (int64_t)s->ncp + 1), true;
    int64_t count = 0;
    size_t first = SIZE_MAX, last = SIZE_MAX;
    for (size_t i = 0; i < s->len;) {
        const char *hit = memmem(s->s + i, s->len - i, x->s, x->len);
        if (!hit) break;
        const size_t at = (size_t)(hit - s->s);
        if (first == SIZE_MAX) first = at;
        last = at;
        count++;
        if (mode == FIND || !dc_rt_charge(r, 1)) break;
        i = at + (mode == COUNT ? x->len : 1); /* rfind also sees overlapping matches */
    }
    if (r->steps > DC_TPL_MAX_STEPS) return false;
    const size_t at = mode == FIND ? first : last;
    return *out = dc_jv_int(mode == COUNT ? count : at == SIZE_MAX ? -1 : (int64_t)dc_utf8_count(s->s, at)), true;
}

static bool m_find(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, search(r, self, p[0], FIND, out); }
static bool m_rfind(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, search(r, self, p[0], RFIND, out); }
static bool m_count(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)a, search(r, self, p[0], COUNT, out); }

static bool char_class(jv self, bool (*pred)(uint32_t)) {
    const jstr *s = self.u.s;
    if (!s->len) return false;
    for (size_t i = 0, n; i < s->len; i += n)
        if (!pred(dc_utf8_decode(s->s + i, s->len - i, &n))) return false;
    return true;
}
static bool is_alnum_cp(uint32_t c) { return is_alpha_cp(c) || is_digit_cp(c); }
static bool m_isalpha(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(char_class(self, is_alpha_cp)), true; }
static bool m_isdigit(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(char_class(self, is_digit_cp)), true; }
static bool m_isalnum(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(char_class(self, is_alnum_cp)), true; }
static bool m_isspace(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)r, (void)p, (void)a, *out = dc_jv_bool(char_class(self, dc_py_isspace)), true; }

static bool m_join(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    jv items;
    if (!dc_jinja_iter_list(r, p[0], &items)) return false;
    jbuf b = NEW_BUF;
    bool ok = true;
    for (size_t i = 0; ok && i < items.u.l->n; i++) {
        const jv v = items.u.l->v[i];
        if (v.type != JV_STR) ok = fail(r, "sequence item %zu: expected str instance, %s found", i, dc_jv_type_name(v));
        else ok = (!i || put(r, &b, self.u.s->s, self.u.s->len)) && put(r, &b, v.u.s->s, v.u.s->len);
    }
    dc_jv_release(items);
    return finish(r, &b, ok, out);
}

static bool m_list_count(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)r, (void)a;
    int64_t n = 0;
    for (size_t i = 0; i < self.u.l->n; i++) n += dc_jv_equal(self.u.l->v[i], p[0]);
    return *out = dc_jv_int(n), true;
}

static bool m_list_index(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)a;
    for (size_t i = 0; i < self.u.l->n; i++)
        if (dc_jv_equal(self.u.l->v[i], p[0])) return *out = dc_jv_int((int64_t)i), true;
    return fail(r, "value is not in list");
}

static bool m_get(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    (void)r, (void)a;
    const jv *v = dc_jdict_get(self.u.d, p[0]);
    return *out = v ? dc_jv_ref(*v) : p[1].type != JV_UNDEF ? dc_jv_ref(p[1]) : dc_jv_none(), true;
}

/* dict.keys() / values() / items() */
static bool dict_view(rt *r, jv self, int what, jv *out) {
    const jdict *d = self.u.d;
    if (!dc_jv_new_list(r->msg, out, d->n)) return false;
    out->u.l->kind = (uint8_t)(JL_KEYS + what);
    for (size_t i = 0; i < d->n; i++) {
        jv v;
        bool ok = what == 2 ? new_pair(r, d->k[i], d->v[i], &v) : (v = dc_jv_ref(what ? d->v[i] : d->k[i]), true);
        if (!ok || !dc_jlist_push(r->msg, out->u.l, v)) return dc_jv_release(*out), false;
    }
    return true;
}

static bool m_keys(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, dict_view(r, self, 0, out); }
static bool m_values(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, dict_view(r, self, 1, out); }
static bool m_items(rt *r, jv self, const jv *p, const jargs *a, jv *out) { return (void)p, (void)a, dict_view(r, self, 2, out); }
static bool m_replace(rt *r, jv self, const jv *p, const jargs *a, jv *out) {
    return (void)a, want_str(r, p[0], "old") && want_str(r, p[1], "new") && replace(r, self, p[0], p[1], p[2], out);
}

static const builtin methods[] = {
    {"capitalize", f_capitalize, {NULL}, false, JV_STR},
    {"count", m_count, {"sub"}, false, JV_STR},
    {"endswith", m_endswith, {"suffix"}, false, JV_STR},
    {"find", m_find, {"sub"}, false, JV_STR},
    {"format", m_format, {NULL}, true, JV_STR},
    {"isalnum", m_isalnum, {NULL}, false, JV_STR},
    {"isalpha", m_isalpha, {NULL}, false, JV_STR},
    {"isdigit", m_isdigit, {NULL}, false, JV_STR},
    {"islower", t_lower, {NULL}, false, JV_STR},
    {"isspace", m_isspace, {NULL}, false, JV_STR},
    {"isupper", t_upper, {NULL}, false, JV_STR},
    {"join", m_join, {"iterable"}, false, JV_STR},
    {"lower", f_lower, {NULL}, false, JV_STR},
    {"lstrip", m_lstrip, {"chars"}, false, JV_STR},
    {"removeprefix", m_removeprefix, {"prefix"}, false, JV_STR},
    {"removesuffix", m_removesuffix, {"suffix"}, false, JV_STR},
    {"replace", m_replace, {"old", "new", "count"}, false, JV_STR},
    {"rfind", m_rfind, {"sub"}, false, JV_STR},
    {"rsplit", m_rsplit, {"sep", "maxsplit"}, false, JV_STR},
    {"rstrip", m_rstrip, {"chars"}, false, JV_STR},
    {"split", m_split, {"sep", "maxsplit"}, false, JV_STR},
    {"splitlines", m_splitlines, {"keepends"}, false, JV_STR},
    {"startswith", m_startswith, {"prefix"}, false, JV_STR},
    {"strip", m_strip, {"chars"}, false, JV_STR},
    {"title", m_title, {NULL}, false, JV_STR},
    {"upper", f_upper, {NULL}, false, JV_STR},
    {"count", m_list_count, {"value"}, false, JV_LIST},
    {"index", m_list_index, {"value"}, false, JV_LIST},
    {"get", m_get, {"key", "default"}, false, JV_DICT},
    {"items", m_items, {NULL}, false, JV_DICT},
    {"keys", m_keys, {NULL}, false, JV_DICT},
    {"values", m_values, {NULL}, false, JV_DICT},
};

/* ------------------------------------------------------------ dispatch */

#define COUNT(t) (int)(sizeof t / sizeof t[0])

static int find(const builtin *t, int n, const char *name, int type) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name) && (type < 0 || t[i].type == type)) return i;
    return -1;
}

int dc_jinja_filter_id(const char *name) { return find(filters, COUNT(filters), name, -1); }
int dc_jinja_test_id(const char *name) { return find(tests, COUNT(tests), name, -1); }
int dc_jinja_global_id(const char *name) { return find(globals, COUNT(globals), name, -1); }

jv dc_jinja_global_value(int id) {
    /* immortal and never written, so renders in several threads can share them */
#define GLOBAL_FN(i) {.h = {-1}, .kind = FN_GLOBAL, .id = i, .self = {.type = JV_NONE}}
    static jfunc fns[] = {GLOBAL_FN(0), GLOBAL_FN(1), GLOBAL_FN(2), GLOBAL_FN(3), GLOBAL_FN(4)};
#undef GLOBAL_FN
    _Static_assert(sizeof fns / sizeof fns[0] == sizeof globals / sizeof globals[0], "one function object per global");
    return (jv){.type = JV_FUNC, .u.fn = &fns[id]};
}
int dc_jinja_method_id(dc_jv_type type, const char *name) {
    return type == JV_STR || type == JV_LIST || type == JV_DICT ? find(methods, COUNT(methods), name, type) : -1;
}

const char *dc_jinja_builtin_name(jfunc_kind kind, int id) {
    return kind == FN_GLOBAL ? globals[id].name : kind == FN_METHOD ? methods[id].name : "cycle";
}

/* Binds arguments to the builtin's parameters and calls it. */
static bool call(rt *r, const builtin *b, jv self, const jargs *a, jv *out) {
    jv p[MAX_PARAMS];
    size_t np = 0;
    if (!b->variadic) {
        while (np < MAX_PARAMS && b->params[np]) np++;
        if (a->npos > np) return fail(r, "%s() takes at most %zu argument(s), %zu given", b->name, np, a->npos);
        for (size_t i = 0; i < np; i++) p[i] = i < a->npos ? a->pos[i] : dc_jv_undef(NULL, JV_UNDEF);
        for (size_t i = 0; i < a->nkw; i++) {
            size_t k = 0;
            while (k < np && strcmp(b->params[k], a->names[i])) k++;
            if (k == np) return fail(r, "%s() got an unexpected keyword argument '%s'", b->name, a->names[i]);
            if (k < a->npos) return fail(r, "%s() got multiple values for argument '%s'", b->name, a->names[i]);
            p[k] = a->kw[i];
        }
    }
    return b->fn(r, self, p, a, out);
}

bool dc_jinja_filter(rt *r, int id, jv input, const jargs *a, jv *out) { return call(r, &filters[id], input, a, out); }
bool dc_jinja_global(rt *r, int id, const jargs *a, jv *out) { return call(r, &globals[id], dc_jv_none(), a, out); }
bool dc_jinja_method(rt *r, int id, jv self, const jargs *a, jv *out) { return call(r, &methods[id], self, a, out); }

bool dc_jinja_test(rt *r, int id, jv input, const jargs *a, bool *result) {
    jv v;
    if (!call(r, &tests[id], input, a, &v)) return false;
    *result = v.u.b;
    return true;
}
