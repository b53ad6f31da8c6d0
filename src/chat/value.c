/* value.c - the Python-like values of the template interpreter (see jinja.h):
 * reference counting, construction of strings / lists / dicts, truthiness,
 * equality and ordering, Python's str() / repr() / json.dumps() output,
 * conversion from cJSON, UTF-8 helpers, and the arena that owns a parsed
 * template.
 *
 * Recursive walks (free, equality, printing) are bounded because no list or
 * dict may be nested deeper than DC_TPL_MAX_VALUE_NESTING (checked whenever an
 * element is added) and walks never enter namespaces, except repr(), which
 * stops descending after a few namespace levels (they can form cycles).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

static bool oom(char *err) { return dc_err(err, "out of memory"), false; }

/* ------------------------------------------------------------ refcounts */

void dc_jv_retain(jv v) {
    if (dc_jv_is_heap(v) && v.u.o->rc >= 0) v.u.o->rc++;
}

static void release_all(jv *v, size_t n) {
    for (size_t i = 0; i < n; i++) dc_jv_release(v[i]);
}

void dc_jv_release(jv v) {
    if (!dc_jv_is_heap(v) || v.u.o->rc < 0 || --v.u.o->rc > 0) return;
    switch (v.type) {
    case JV_LIST:
        release_all(v.u.l->v, v.u.l->n);
        free(v.u.l->v);
        break;
    case JV_DICT:
    case JV_NS:
        dc_jdict_clear(v.u.d);
        break;
    case JV_FUNC:
        dc_jv_release(v.u.fn->self);
        break;
    case JV_LOOP:
        dc_jv_release(v.u.lp->items);
        break;
    default:
        break;
    }
    free(v.u.o);
}

/* ------------------------------------------------------------ construction */

bool dc_jv_new_str(char *err, jv *out, const char *s, size_t n) {
    if (n > DC_TPL_MAX_OUTPUT) return dc_err(err, "string of %zu bytes exceeds the limit of %u", n, DC_TPL_MAX_OUTPUT), false;
    jstr *p = malloc(sizeof *p + n + 1);
    if (!p) return oom(err);
    p->h.rc = 1;
    p->len = n;
    if (n) memcpy(p->s, s, n);
    p->s[n] = '\0';
    p->ncp = dc_utf8_count(p->s, n);
    *out = (jv){.type = JV_STR, .u.s = p};
    return true;
}

bool dc_jv_new_list(char *err, jv *out, size_t cap) {
    jlist *l = calloc(1, sizeof *l);
    if (!l) return oom(err);
    l->h.rc = 1;
    if (cap > DC_TPL_MAX_ITEMS) cap = DC_TPL_MAX_ITEMS;
    if (cap && !(l->v = malloc(cap * sizeof *l->v))) return free(l), oom(err);
    l->cap = cap;
    *out = (jv){.type = JV_LIST, .u.l = l};
    return true;
}

static unsigned value_depth(jv v) {
    return v.type == JV_LIST ? v.u.l->depth : v.type == JV_DICT ? v.u.d->depth : 0;
}

/* Raises *depth to hold v one level down; false when that is too deep. */
static bool note_depth(char *err, uint16_t *depth, jv v) {
    unsigned d = value_depth(v) + 1;
    if (d > DC_TPL_MAX_VALUE_NESTING) return dc_err(err, "value nested more than %d levels deep", DC_TPL_MAX_VALUE_NESTING), false;
    if (d > *depth) *depth = (uint16_t)d;
    return true;
}

/* Makes room for one more element in an array of *cap elements of size sz. */
static bool grow(char *err, void **arr, size_t n, size_t *cap, size_t sz) {
    if (n < *cap) return true;
    if (n >= DC_TPL_MAX_ITEMS) return dc_err(err, "more than %d elements in a list or dict", DC_TPL_MAX_ITEMS), false;
    size_t nc = *cap ? *cap * 2 : 4;
    if (nc > DC_TPL_MAX_ITEMS) nc = DC_TPL_MAX_ITEMS;
    void *p = realloc(*arr, nc * sz);
    if (!p) return oom(err);
    *arr = p;
    *cap = nc;
    return true;
}

bool dc_jlist_push(char *err, jlist *l, jv v) {
    if (!note_depth(err, &l->depth, v) || !grow(err, (void **)&l->v, l->n, &l->cap, sizeof *l->v)) {
        dc_jv_release(v);
        return false;
    }
    l->v[l->n++] = v;
    return true;
}

bool dc_jv_new_dict(char *err, jv *out, dc_jv_type type) {
    jdict *d = calloc(1, sizeof *d);
    if (!d) return oom(err);
    d->h.rc = 1;
    *out = (jv){.type = (uint8_t)type, .u.d = d};
    return true;
}

jv *dc_jdict_get(const jdict *d, jv key) {
    for (size_t i = 0; i < d->n; i++)
        if (dc_jv_equal(d->k[i], key)) return &d->v[i];
    return NULL;
}

jv *dc_jdict_get_name(const jdict *d, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < d->n; i++) {
        const jv k = d->k[i];
        if (k.type == JV_STR && k.u.s->len == n && !memcmp(k.u.s->s, name, n)) return &d->v[i];
    }
    return NULL;
}

bool dc_jdict_set(char *err, jdict *d, jv k, jv v) {
    if (k.type == JV_LIST || k.type == JV_DICT || k.type == JV_UNDEF) {
        dc_err(err, "unhashable type: '%s'", dc_jv_type_name(k));
        goto fail;
    }
    jv *slot = dc_jdict_get(d, k);
    if (slot) {
        if (!note_depth(err, &d->depth, v)) goto fail;
        dc_jv_release(*slot);
        *slot = v;
        dc_jv_release(k);
        return true;
    }
    size_t cap = d->cap;
    if (!note_depth(err, &d->depth, v) || !grow(err, (void **)&d->k, d->n, &cap, sizeof *d->k) ||
        !grow(err, (void **)&d->v, d->n, &d->cap, sizeof *d->v))
        goto fail;
    d->k[d->n] = k;
    d->v[d->n++] = v;
    return true;
fail:
    dc_jv_release(k);
    dc_jv_release(v);
    return false;
}

void dc_jdict_clear(jdict *d) {
    size_t n = d->n;
    jv *k = d->k, *v = d->v;
    d->n = d->cap = 0;
    d->k = d->v = NULL;
    release_all(k, n);
    release_all(v, n);
    free(k);
    free(v);
}

bool dc_jv_new_func(char *err, jv *out, jfunc_kind kind, int id, jv self, const struct jnode *node) {
    jfunc *f = calloc(1, sizeof *f);
    if (!f) return oom(err);
    f->h.rc = 1;
    f->kind = (uint8_t)kind;
    f->id = id;
    f->self = dc_jv_ref(self);
    f->node = node;
    *out = (jv){.type = JV_FUNC, .u.fn = f};
    return true;
}

/* ------------------------------------------------------------ semantics */

bool dc_jv_truthy(jv v) {
    switch (v.type) {
    case JV_UNDEF:
    case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s->len > 0;
    case JV_LIST: return v.u.l->kind >= JL_ITER || v.u.l->n > 0;
    case JV_DICT: return v.u.d->n > 0;
    default: return true;
    }
}

double dc_jv_num(jv v) {
    return v.type == JV_FLOAT ? v.u.f : v.type == JV_INT ? (double)v.u.i : (double)v.u.b;
}

static int64_t int_of(jv v) { return v.type == JV_INT ? v.u.i : v.u.b; }

bool dc_jv_equal(jv a, jv b) {
    if (dc_jv_is_number(a) && dc_jv_is_number(b))
        return a.type != JV_FLOAT && b.type != JV_FLOAT ? int_of(a) == int_of(b) : dc_jv_num(a) == dc_jv_num(b);
    if (a.type != b.type) return false;
    switch (a.type) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.u.s->len == b.u.s->len && !memcmp(a.u.s->s, b.u.s->s, a.u.s->len);
    case JV_LIST:
        if (a.u.l->kind != b.u.l->kind || a.u.l->n != b.u.l->n || a.u.l->kind >= JL_ITER) return a.u.l == b.u.l;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!dc_jv_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            const jv *other = dc_jdict_get(b.u.d, a.u.d->k[i]);
            if (!other || !dc_jv_equal(a.u.d->v[i], *other)) return false;
        }
        return true;
    default: return a.u.o == b.u.o;
    }
}

bool dc_jv_compare(char *err, jv a, jv b, int *cmp) {
    if (dc_jv_is_number(a) && dc_jv_is_number(b)) {
        if (a.type != JV_FLOAT && b.type != JV_FLOAT) {
            *cmp = (int_of(a) > int_of(b)) - (int_of(a) < int_of(b));
        } else {
            double x = dc_jv_num(a), y = dc_jv_num(b);
            *cmp = (x > y) - (x < y);
        }
        return true;
    }
    if (a.type == JV_STR && b.type == JV_STR) {
        size_t n = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int c = memcmp(a.u.s->s, b.u.s->s, n); /* UTF-8 byte order is code point order */
        *cmp = c ? (c > 0) - (c < 0) : (a.u.s->len > b.u.s->len) - (a.u.s->len < b.u.s->len);
        return true;
    }
    if (a.type == JV_LIST && b.type == JV_LIST && a.u.l->kind == b.u.l->kind && a.u.l->kind < JL_ITER) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (dc_jv_equal(a.u.l->v[i], b.u.l->v[i])) continue;
            return dc_jv_compare(err, a.u.l->v[i], b.u.l->v[i], cmp);
        }
        *cmp = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return true;
    }
    return dc_err(err, "cannot compare '%s' with '%s'", dc_jv_type_name(a), dc_jv_type_name(b)), false;
}

const char *dc_jv_type_name(jv v) {
    switch (v.type) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: {
        static const char *const names[] = {"list", "tuple", "dict_keys", "dict_values", "dict_items", "generator", "generator"};
        return names[v.u.l->kind];
    }
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_FUNC: return v.u.fn->kind == FN_MACRO ? "Macro" : "function";
    default: return "LoopContext";
    }
}

int64_t dc_jv_len(jv v) {
    switch (v.type) {
    case JV_UNDEF: return 0;
    case JV_STR: return (int64_t)v.u.s->ncp;
    case JV_LIST: return v.u.l->kind >= JL_ITER ? -1 : (int64_t)v.u.l->n;
    case JV_DICT: return (int64_t)v.u.d->n;
    default: return -1;
    }
}

/* ------------------------------------------------------------ UTF-8 */

static bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t dc_utf8_count(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += i == 0 || !is_cont((unsigned char)s[i]);
    return count;
}

size_t dc_utf8_next(const char *s, size_t n, size_t pos) {
    if (pos < n) pos++;
    while (pos < n && is_cont((unsigned char)s[pos])) pos++;
    return pos;
}

uint32_t dc_utf8_decode(const char *s, size_t n, size_t *len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t need = u[0] < 0x80 ? 0 : u[0] >= 0xF0 ? 3 : u[0] >= 0xE0 ? 2 : u[0] >= 0xC0 ? 1 : 0;
    uint32_t cp = need == 0 ? u[0] : u[0] & (0x3Fu >> need);
    size_t i = 1;
    for (; i <= need && i < n && is_cont(u[i]); i++) cp = cp << 6 | (u[i] & 0x3Fu);
    if (i <= need) cp = u[0]; /* truncated sequence: the lead byte alone */
    *len = dc_utf8_next(s, n, 0);
    return cp;
}

size_t dc_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18 & 0x07));
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t dc_jstr_offset(const jstr *s, int64_t cp) {
    if (s->ncp == s->len) return (size_t)cp;
    size_t pos = 0;
    for (int64_t i = 0; i < cp && pos < s->len; i++) pos = dc_utf8_next(s->s, s->len, pos);
    return pos;
}

/* str.isspace() of Python */
bool dc_py_isspace(uint32_t c) {
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* ------------------------------------------------------------ buffers */

bool dc_jbuf_reserve(char *err, jbuf *b, size_t n) {
    if (n > b->limit - b->n)
        return dc_err(err, "output exceeds the limit of %zu bytes", b->limit), false;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) return oom(err);
        b->p = p;
        b->cap = nc;
    }
    return true;
}

bool dc_jbuf_put(char *err, jbuf *b, const char *s, size_t n) {
    if (!dc_jbuf_reserve(err, b, n)) return false;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return true;
}

void dc_jbuf_free(jbuf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

bool dc_jbuf_to_str(char *err, jbuf *b, jv *out) {
    bool ok = dc_jv_new_str(err, out, b->p, b->n);
    dc_jbuf_free(b);
    return ok;
}

static bool putc_(char *err, jbuf *b, char c) { return dc_jbuf_put(err, b, &c, 1); }

/* ------------------------------------------------------------ printing */

void dc_fmt_float(double x, char out[40]) {
    if (isnan(x)) return (void)strcpy(out, "nan");
    if (isinf(x)) return (void)strcpy(out, x < 0 ? "-inf" : "inf");
    /* the shortest digit string that reads back as x, like Python's repr */
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, x);
        if (strtod(e, NULL) == x) break;
    }
    const char *p = e + (e[0] == '-');
    char digits[24];
    int nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int decpt = exp10 + 1; /* digits before the decimal point */
    char *o = out;
    if (e[0] == '-') *o++ = '-';
    if (decpt <= -4 || decpt > 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return;
    }
    if (decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -decpt; i++) *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else {
        for (int i = 0; i < decpt; i++) *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > decpt) {
            memcpy(o, digits + decpt, (size_t)(nd - decpt));
            o += nd - decpt;
        } else {
            *o++ = '0';
        }
    }
    *o = '\0';
}

static bool put_int(char *err, jbuf *b, int64_t i) {
    char t[24];
    return dc_jbuf_put(err, b, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)i));
}

static bool put_float(char *err, jbuf *b, double f) {
    char t[40];
    dc_fmt_float(f, t);
    return dc_jbuf_puts(err, b, t);
}

/* Characters str.isprintable() rejects (approximated: controls, separators,
 * format characters, surrogates, private use); repr() escapes them. */
static bool py_unprintable(uint32_t c) {
    return c < 0x20 || (c >= 0x7F && c < 0xA0) || (c != ' ' && dc_py_isspace(c)) || c == 0xAD || c == 0x61C ||
           c == 0x180E || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x206F) || (c >= 0xD800 && c <= 0xF8FF) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB);
}

static bool put_str_repr(char *err, jbuf *b, const jstr *s) {
    const char q = memchr(s->s, '\'', s->len) && !memchr(s->s, '"', s->len) ? '"' : '\'';
    if (!putc_(err, b, q)) return false;
    for (size_t i = 0, len; i < s->len; i += len) {
        uint32_t c = dc_utf8_decode(s->s + i, s->len - i, &len);
        char t[16];
        const char *esc = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        bool ok;
        if (esc) ok = dc_jbuf_puts(err, b, esc);
        else if (c == (uint32_t)q) ok = putc_(err, b, '\\') && putc_(err, b, q);
        else if (!py_unprintable(c)) ok = dc_jbuf_put(err, b, s->s + i, len);
        else {
            snprintf(t, sizeof t, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", (unsigned)c);
            ok = dc_jbuf_puts(err, b, t);
        }
        if (!ok) return false;
    }
    return putc_(err, b, q);
}

static bool write_repr(char *err, jbuf *b, jv v, int ns_depth);

static bool put_items_repr(char *err, jbuf *b, const jv *keys, const jv *vals, size_t n, int ns_depth) {
    for (size_t i = 0; i < n; i++) {
        if (i && !dc_jbuf_puts(err, b, ", ")) return false;
        if (keys && !(write_repr(err, b, keys[i], ns_depth) && dc_jbuf_puts(err, b, ": "))) return false;
        if (!write_repr(err, b, vals[i], ns_depth)) return false;
    }
    return true;
}

static bool write_repr(char *err, jbuf *b, jv v, int ns_depth) {
    char t[64];
    switch (v.type) {
    case JV_STR: return put_str_repr(err, b, v.u.s);
    case JV_UNDEF: return dc_jbuf_puts(err, b, "Undefined");
    case JV_LIST: {
        const bool tuple = v.u.l->kind == JL_TUPLE;
        const bool view = v.u.l->kind >= JL_KEYS && v.u.l->kind <= JL_ITEMS;
        if (v.u.l->kind >= JL_ITER) return dc_jbuf_puts(err, b, "<generator object>");
        return (!view || (dc_jbuf_puts(err, b, dc_jv_type_name(v)) && putc_(err, b, '('))) && dc_jbuf_puts(err, b, tuple ? "(" : "[") &&
               put_items_repr(err, b, NULL, v.u.l->v, v.u.l->n, ns_depth) &&
               dc_jbuf_puts(err, b, !tuple ? "]" : v.u.l->n == 1 ? ",)" : ")") && (!view || putc_(err, b, ')'));
    }
    case JV_DICT:
        return putc_(err, b, '{') && put_items_repr(err, b, v.u.d->k, v.u.d->v, v.u.d->n, ns_depth) && putc_(err, b, '}');
    case JV_NS:
        if (ns_depth > 8) return dc_jbuf_puts(err, b, "<Namespace {...}>");
        return dc_jbuf_puts(err, b, "<Namespace {") &&
               put_items_repr(err, b, v.u.d->k, v.u.d->v, v.u.d->n, ns_depth + 1) && dc_jbuf_puts(err, b, "}>");
    case JV_FUNC:
        if (v.u.fn->kind == FN_MACRO || v.u.fn->kind == FN_CALLER)
            snprintf(t, sizeof t, "<Macro '%s'>", v.u.fn->kind == FN_MACRO ? v.u.fn->node->name : "caller");
        else
            snprintf(t, sizeof t, "<built-in function %s>", dc_jinja_builtin_name((jfunc_kind)v.u.fn->kind, v.u.fn->id));
        return dc_jbuf_puts(err, b, t);
    case JV_LOOP:
        snprintf(t, sizeof t, "<LoopContext %lld/%lld>", (long long)v.u.lp->index0 + 1, (long long)v.u.lp->length);
        return dc_jbuf_puts(err, b, t);
    default: return dc_jv_write_str(err, b, v);
    }
}

bool dc_jv_write_repr(char *err, jbuf *b, jv v) { return write_repr(err, b, v, 0); }

bool dc_jv_write_str(char *err, jbuf *b, jv v) {
    switch (v.type) {
    case JV_UNDEF: return true;
    case JV_NONE: return dc_jbuf_puts(err, b, "None");
    case JV_BOOL: return dc_jbuf_puts(err, b, v.u.b ? "True" : "False");
    case JV_INT: return put_int(err, b, v.u.i);
    case JV_FLOAT: return put_float(err, b, v.u.f);
    case JV_STR: return dc_jbuf_put(err, b, v.u.s->s, v.u.s->len);
    default: return write_repr(err, b, v, 0);
    }
}

bool dc_jv_to_str(char *err, jv v, jv *out) {
    if (v.type == JV_STR) return *out = dc_jv_ref(v), true;
    jbuf b = {.limit = DC_TPL_MAX_OUTPUT};
    if (!dc_jv_write_str(err, &b, v)) return dc_jbuf_free(&b), false;
    return dc_jbuf_to_str(err, &b, out);
}

/* ------------------------------------------------------------ JSON */

static bool put_json_str(char *err, jbuf *b, const char *s, size_t n, bool ascii) {
    if (!putc_(err, b, '"')) return false;
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t c = dc_utf8_decode(s + i, n - i, &len);
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        char t[16];
        bool ok;
        if (esc) ok = dc_jbuf_puts(err, b, esc);
        else if (c < 0x20 || (ascii && c >= 0x7F && c < 0x10000)) ok = dc_jbuf_put(err, b, t, (size_t)snprintf(t, sizeof t, "\\u%04x", (unsigned)c));
        else if (ascii && c >= 0x10000) {
            unsigned v = c - 0x10000;
            ok = dc_jbuf_put(err, b, t, (size_t)snprintf(t, sizeof t, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)));
        } else ok = dc_jbuf_put(err, b, s + i, len);
        if (!ok) return false;
    }
    return putc_(err, b, '"');
}

static bool put_json_float(char *err, jbuf *b, double f) {
    if (isnan(f)) return dc_jbuf_puts(err, b, "NaN");
    if (isinf(f)) return dc_jbuf_puts(err, b, f < 0 ? "-Infinity" : "Infinity");
    return put_float(err, b, f);
}

/* A dict key as json.dumps writes it: always a JSON string. */
static bool put_json_key(char *err, jbuf *b, jv k, const json_opts *o) {
    switch (k.type) {
    case JV_STR: return put_json_str(err, b, k.u.s->s, k.u.s->len, o->ensure_ascii);
    case JV_NONE: return dc_jbuf_puts(err, b, "\"null\"");
    case JV_BOOL: return dc_jbuf_puts(err, b, k.u.b ? "\"true\"" : "\"false\"");
    case JV_INT: return putc_(err, b, '"') && put_int(err, b, k.u.i) && putc_(err, b, '"');
    case JV_FLOAT: return putc_(err, b, '"') && put_json_float(err, b, k.u.f) && putc_(err, b, '"');
    default: return dc_err(err, "keys must be str, int, float, bool or None, not %s", dc_jv_type_name(k)), false;
    }
}

static bool put_newline_indent(char *err, jbuf *b, const json_opts *o, int level) {
    if (o->indent < 0) return true;
    if (!putc_(err, b, '\n')) return false;
    for (int i = 0; i < level; i++) {
        if (o->indent_str) {
            if (!dc_jbuf_puts(err, b, o->indent_str)) return false;
        } else {
            for (int64_t j = 0; j < o->indent; j++)
                if (!putc_(err, b, ' ')) return false;
        }
    }
    return true;
}

/* Order in which a dict's items are written: insertion or sorted keys. */
static bool json_key_order(char *err, const jdict *d, bool sort, size_t *order) {
    for (size_t i = 0; i < d->n; i++) order[i] = i;
    if (!sort) return true;
    for (size_t i = 1; i < d->n; i++) { /* insertion sort: stable, dicts are small */
        size_t cur = order[i], j = i;
        for (; j > 0; j--) {
            int c;
            if (!dc_jv_compare(err, d->k[order[j - 1]], d->k[cur], &c)) return false;
            if (c <= 0) break;
            order[j] = order[j - 1];
        }
        order[j] = cur;
    }
    return true;
}

static bool write_json(char *err, jbuf *b, jv v, const json_opts *o, int level);

static bool write_json_dict(char *err, jbuf *b, const jdict *d, const json_opts *o, int level) {
    if (d->n == 0) return dc_jbuf_puts(err, b, "{}");
    size_t *order = malloc(d->n * sizeof *order);
    if (!order) return oom(err);
    bool ok = json_key_order(err, d, o->sort_keys, order) && putc_(err, b, '{');
    for (size_t i = 0; ok && i < d->n; i++) {
        ok = (!i || dc_jbuf_puts(err, b, o->item_sep)) && put_newline_indent(err, b, o, level + 1) &&
             put_json_key(err, b, d->k[order[i]], o) && dc_jbuf_puts(err, b, o->key_sep) &&
             write_json(err, b, d->v[order[i]], o, level + 1);
    }
    free(order);
    return ok && put_newline_indent(err, b, o, level) && putc_(err, b, '}');
}

static bool write_json(char *err, jbuf *b, jv v, const json_opts *o, int level) {
    switch (v.type) {
    case JV_NONE: return dc_jbuf_puts(err, b, "null");
    case JV_BOOL: return dc_jbuf_puts(err, b, v.u.b ? "true" : "false");
    case JV_INT: return put_int(err, b, v.u.i);
    case JV_FLOAT: return put_json_float(err, b, v.u.f);
    case JV_STR: return put_json_str(err, b, v.u.s->s, v.u.s->len, o->ensure_ascii);
    case JV_LIST:
        if (v.u.l->kind > JL_TUPLE) break; /* views and generators are not JSON */
        if (v.u.l->n == 0) return dc_jbuf_puts(err, b, "[]");
        if (!putc_(err, b, '[')) return false;
        for (size_t i = 0; i < v.u.l->n; i++)
            if (!((!i || dc_jbuf_puts(err, b, o->item_sep)) && put_newline_indent(err, b, o, level + 1) &&
                  write_json(err, b, v.u.l->v[i], o, level + 1)))
                return false;
        return put_newline_indent(err, b, o, level) && putc_(err, b, ']');
    case JV_DICT: return write_json_dict(err, b, v.u.d, o, level);
    default: break;
    }
    return dc_err(err, "Object of type %s is not JSON serializable", dc_jv_type_name(v)), false;
}

bool dc_jv_write_json(char *err, jbuf *b, jv v, const json_opts *o) {
    json_opts full = *o;
    if (!full.item_sep) full.item_sep = full.indent < 0 ? ", " : ",";
    if (!full.key_sep) full.key_sep = ": ";
    return write_json(err, b, v, &full, 0);
}

/* ------------------------------------------------------------ cJSON */

static bool raw_number(char *err, const char *lit, jv *out) {
    char *end;
    if (!lit || !*lit) return dc_err(err, "empty raw JSON value"), false;
    if (!strpbrk(lit, ".eE")) {
        errno = 0;
        long long i = strtoll(lit, &end, 10);
        if (!*end && !errno) return *out = dc_jv_int(i), true;
    }
    double f = strtod(lit, &end);
    if (*end) return dc_err(err, "raw JSON value '%.40s' is not a number", lit), false;
    *out = dc_jv_float(f);
    return true;
}

static bool from_cjson(char *err, const cJSON *j, jv *out, int depth) {
    if (depth > DC_TPL_MAX_VALUE_NESTING) return dc_err(err, "JSON nested more than %d levels deep", DC_TPL_MAX_VALUE_NESTING), false;
    if (cJSON_IsNull(j)) return *out = dc_jv_none(), true;
    if (cJSON_IsBool(j)) return *out = dc_jv_bool(cJSON_IsTrue(j)), true;
    if (cJSON_IsRaw(j)) return raw_number(err, j->valuestring, out);
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        *out = d == floor(d) && fabs(d) < 9.2e18 ? dc_jv_int((int64_t)d) : dc_jv_float(d);
        return true;
    }
    if (cJSON_IsString(j)) return dc_jv_new_cstr(err, out, j->valuestring);
    bool obj = cJSON_IsObject(j);
    if (!obj && !cJSON_IsArray(j)) return dc_err(err, "unsupported JSON value"), false;
    if (!(obj ? dc_jv_new_dict(err, out, JV_DICT) : dc_jv_new_list(err, out, 0))) return false;
    for (const cJSON *c = j->child; c; c = c->next) {
        jv item, key;
        if (!from_cjson(err, c, &item, depth + 1)) return dc_jv_release(*out), false;
        bool ok;
        if (!obj) ok = dc_jlist_push(err, out->u.l, item);
        else if ((ok = dc_jv_new_cstr(err, &key, c->string ? c->string : ""))) ok = dc_jdict_set(err, out->u.d, key, item);
        else dc_jv_release(item);
        if (!ok) return dc_jv_release(*out), false;
    }
    return true;
}

bool dc_jv_from_cjson(char *err, const cJSON *j, jv *out) { return from_cjson(err, j, out, 0); }

/* ------------------------------------------------------------ arena */

struct dc_arena_chunk {
    dc_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *dc_arena_alloc(arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    dc_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (!(c = malloc(sizeof *c + cap))) return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return memset(p, 0, n);
}

void dc_arena_free(arena *a) {
    for (dc_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}

char *dc_arena_strdup(arena *a, const char *s, size_t n) {
    char *p = dc_arena_alloc(a, n + 1);
    if (p && n) memcpy(p, s, n);
    return p;
}

bool dc_arena_str(arena *a, jv *out, const char *s, size_t n) {
    jstr *p = dc_arena_alloc(a, sizeof *p + n + 1);
    if (!p) return false;
    p->h.rc = -1;
    p->len = n;
    if (n) memcpy(p->s, s, n);
    p->ncp = dc_utf8_count(s, n);
    *out = (jv){.type = JV_STR, .u.s = p};
    return true;
}
