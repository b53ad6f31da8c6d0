/* jinja_eval.c - renders a parsed template: walks the AST with a chain of
 * scopes, evaluating expressions to values (value.c) and writing text into
 * an output buffer.
 *
 * Scoping follows jinja2: the template body is the root scope (its `set`s
 * shadow the render variables, which shadow the globals); each for-loop
 * iteration, loop `else`, macro call, call/filter/set block and `with` runs
 * in a child scope, so a `set` there is gone when it ends; `if` opens none.
 * Namespaces are shared objects, so `set ns.x` inside a loop persists.
 * Macros see their arguments and the root scope (not the caller's locals).
 *
 * Failures: the innermost node where an operation fails formats
 * "LINE:COL: message" into rt.err (later, outer nodes keep it). Every node
 * evaluation costs a step and strings/lists cost steps by size, loops count
 * iterations, and nesting depth is counted, each against the limits in
 * template.h, so a hostile template ends with an error in bounded time.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

#define SCOPE_INLINE 4

struct scope {
    scope *parent;
    const jdecl *decl; /* names this scope declares (see jinja_scope.c) */
    size_t n, cap;
    const char **names; /* the inline arrays until more are needed */
    jv *vals;
    const char *names_inline[SCOPE_INLINE];
    jv vals_inline[SCOPE_INLINE];
};

typedef enum { X_OK, X_ERR, X_BREAK, X_CONTINUE } exec_status;

static bool eval(rt *r, scope *s, const jnode *n, jv *out);
static exec_status exec_body(rt *r, scope *s, const jnodes *body);

/* ------------------------------------------------------------ errors, limits */

/* Positions the pending message (r->msg) at node n, unless an inner node
 * already reported. Returns false for `return fail_at(...)`. */
static bool fail_at(rt *r, const jnode *n) {
    if (!r->err[0]) snprintf(r->err, sizeof r->err, "%d:%d: %.480s", n->line, n->col, r->msg[0] ? r->msg : "error");
    return false;
}

static bool fail_msg(rt *r, const jnode *n, const char *fmt, ...) DC_PRINTF(3, 4);
static bool fail_msg(rt *r, const jnode *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return fail_at(r, n);
}

bool dc_rt_charge(rt *r, uint64_t n) {
    r->steps += n;
    if (r->steps <= DC_TPL_MAX_STEPS) return true;
    return dc_err(r->msg, "template needs more than %d evaluation steps", DC_TPL_MAX_STEPS), false;
}

/* Steps for handling a value of this size: strings by bytes, containers by items. */
static uint64_t weight(jv v) {
    return v.type == JV_STR ? v.u.s->len / 64 : v.type == JV_LIST ? v.u.l->n / 4 : v.type == JV_DICT ? v.u.d->n / 4 : 0;
}

static bool enter(rt *r, const jnode *n) {
    if (++r->depth > DC_TPL_MAX_DEPTH) return fail_msg(r, n, "template recursion deeper than %d levels", DC_TPL_MAX_DEPTH);
    return dc_rt_charge(r, 1) || fail_at(r, n);
}

bool dc_rt_undefined_error(rt *r, jv v) {
    static const char *const owner[] = {[JV_NONE] = "'None'", [JV_BOOL] = "'bool object'", [JV_INT] = "'int object'",
                                        [JV_FLOAT] = "'float object'", [JV_STR] = "'str object'", [JV_LIST] = "'list object'",
                                        [JV_DICT] = "'dict object'", [JV_NS] = "'Namespace object'", [JV_FUNC] = "'function object'",
                                        [JV_LOOP] = "'LoopContext object'"};
    if (v.hint == JV_UNDEF) return dc_err(r->msg, "'%s' is undefined", v.u.name ? v.u.name : "value"), false;
    if (v.u.name) return dc_err(r->msg, "%s has no attribute '%s'", owner[v.hint], v.u.name), false;
    return dc_err(r->msg, "%s has no such item", owner[v.hint]), false;
}

bool dc_rt_track_namespace(rt *r, jv ns) { return dc_jlist_push(r->msg, r->namespaces.u.l, dc_jv_ref(ns)); }

/* ------------------------------------------------------------ scopes */

static bool declares(const jdecl *d, const char *name) {
    for (size_t i = 0; d && i < d->n; i++)
        if (!strcmp(d->names[i], name)) return true;
    return false;
}

/* The binding of name seen from s, or NULL; *hidden is set when a scope
 * declares the name but has not assigned it yet (it reads as undefined
 * there, whatever outer scopes or the render variables hold). */
static jv *scope_find(scope *s, const char *name, bool *hidden) {
    *hidden = false;
    for (; s; s = s->parent) {
        for (size_t i = s->n; i-- > 0;)
            if (!strcmp(s->names[i], name)) return &s->vals[i];
        if (declares(s->decl, name)) return *hidden = true, NULL;
    }
    return NULL;
}

/* Binds name in s itself; takes v. */
static bool scope_set(rt *r, scope *s, const char *name, jv v) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            dc_jv_release(s->vals[i]);
            s->vals[i] = v;
            return true;
        }
    if (!s->cap) {
        s->names = s->names_inline;
        s->vals = s->vals_inline;
        s->cap = SCOPE_INLINE;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap * 2;
        const char **names = malloc(nc * sizeof *names);
        jv *vals = malloc(nc * sizeof *vals);
        if (!names || !vals) return free(names), free(vals), dc_jv_release(v), dc_err(r->msg, "out of memory"), false;
        memcpy(names, s->names, s->n * sizeof *names);
        memcpy(vals, s->vals, s->n * sizeof *vals);
        if (s->names != s->names_inline) free(s->names), free(s->vals);
        s->names = names;
        s->vals = vals;
        s->cap = nc;
    }
    s->names[s->n] = name;
    s->vals[s->n++] = v;
    return true;
}

static void scope_free(scope *s) {
    for (size_t i = 0; i < s->n; i++) dc_jv_release(s->vals[i]);
    if (s->names != s->names_inline) free(s->names), free(s->vals);
}

static bool lookup(rt *r, scope *s, const char *name, jv *out) {
    bool hidden;
    const jv *v = scope_find(s, name, &hidden);
    if (!v && !hidden) v = dc_jdict_get_name(r->vars, name);
    if (v) return *out = dc_jv_ref(*v), true;
    int id = hidden ? -1 : dc_jinja_global_id(name);
    *out = id >= 0 ? dc_jinja_global_value(id) : dc_jv_undef(name, JV_UNDEF);
    return true;
}

/* ------------------------------------------------------------ iteration */

bool dc_jinja_iter_list(rt *r, jv v, jv *out) {
    if (v.type == JV_LIST && v.u.l->kind == JL_BROKEN_ITER) return dc_err(r->msg, "%s", v.u.l->v[0].u.s->s), false;
    if (v.type == JV_LIST) return *out = dc_jv_ref(v), dc_rt_charge(r, v.u.l->n / 16);
    if (v.type != JV_STR && v.type != JV_DICT && v.type != JV_UNDEF)
        return dc_err(r->msg, "'%s' object is not iterable", dc_jv_type_name(v)), false;
    size_t n = v.type == JV_STR ? v.u.s->ncp : v.type == JV_DICT ? v.u.d->n : 0;
    if (!dc_jv_new_list(r->msg, out, n) || !dc_rt_charge(r, n / 4)) return false;
    for (size_t i = 0, pos = 0; i < n; i++) {
        jv item;
        bool ok;
        if (v.type == JV_DICT) {
            ok = dc_jlist_push(r->msg, out->u.l, dc_jv_ref(v.u.d->k[i]));
        } else {
            size_t end = dc_utf8_next(v.u.s->s, v.u.s->len, pos);
            ok = dc_jv_new_str(r->msg, &item, v.u.s->s + pos, end - pos) && dc_jlist_push(r->msg, out->u.l, item);
            pos = end;
        }
        if (!ok) return dc_jv_release(*out), false;
    }
    return true;
}

/* ------------------------------------------------------------ attributes, items */

static bool loop_attr(rt *r, jv obj, const char *name, jv *out) {
    const jloop *lp = obj.u.lp;
    const jlist *items = lp->items.u.l;
    const int64_t i = lp->index0, n = lp->length;
    if (!strcmp(name, "index")) *out = dc_jv_int(i + 1);
    else if (!strcmp(name, "index0")) *out = dc_jv_int(i);
    else if (!strcmp(name, "revindex")) *out = dc_jv_int(n - i);
    else if (!strcmp(name, "revindex0")) *out = dc_jv_int(n - i - 1);
    else if (!strcmp(name, "first")) *out = dc_jv_bool(i == 0);
    else if (!strcmp(name, "last")) *out = dc_jv_bool(i == n - 1);
    else if (!strcmp(name, "length")) *out = dc_jv_int(n);
    else if (!strcmp(name, "depth")) *out = dc_jv_int(1);
    else if (!strcmp(name, "depth0")) *out = dc_jv_int(0);
    else if (!strcmp(name, "previtem")) *out = i > 0 ? dc_jv_ref(items->v[i - 1]) : dc_jv_undef(name, JV_LOOP);
    else if (!strcmp(name, "nextitem")) *out = i + 1 < n ? dc_jv_ref(items->v[i + 1]) : dc_jv_undef(name, JV_LOOP);
    else if (!strcmp(name, "cycle")) return dc_jv_new_func(r->msg, out, FN_CYCLE, 0, obj, NULL);
    else *out = dc_jv_undef(name, JV_LOOP);
    return true;
}

/* getattr(obj, name) as the sandbox sees it: methods of str/list/dict, keys
 * of dicts and namespaces, loop variables; missing gives undefined. */
static bool get_attr(rt *r, jv obj, const char *name, bool dict_keys, jv *out) {
    if (obj.type == JV_UNDEF) return dc_rt_undefined_error(r, obj);
    if (obj.type == JV_LOOP) return loop_attr(r, obj, name, out);
    int id = dc_jinja_method_id((dc_jv_type)obj.type, name);
    if (id >= 0) return dc_jv_new_func(r->msg, out, FN_METHOD, id, obj, NULL);
    const jv *v = (obj.type == JV_DICT && dict_keys) || obj.type == JV_NS ? dc_jdict_get_name(obj.u.d, name) : NULL;
    *out = v ? dc_jv_ref(*v) : dc_jv_undef(name, obj.type);
    return true;
}

/* An undefined result must not keep a name that dies with the caller's key. */
static bool forget_name(bool ok, jv *v) {
    if (ok && v->type == JV_UNDEF) v->u.name = NULL;
    return ok;
}

bool dc_rt_getattr(rt *r, jv obj, const char *name, jv *out) { return forget_name(get_attr(r, obj, name, true, out), out); }

bool dc_rt_getitem(rt *r, jv obj, jv key, jv *out) {
    if (obj.type == JV_UNDEF) return dc_rt_undefined_error(r, obj);
    if (obj.type == JV_DICT) {
        if (!dc_rt_charge(r, obj.u.d->n / 16)) return false;
        const jv *v = dc_jdict_get(obj.u.d, key);
        if (v) return *out = dc_jv_ref(*v), true;
    } else if (dc_jv_is_seq(obj) && (key.type == JV_INT || key.type == JV_BOOL)) {
        int64_t n = dc_jv_len(obj), i = key.type == JV_INT ? key.u.i : key.u.b;
        if (i < 0) i += n;
        if (i >= 0 && i < n) {
            if (obj.type == JV_LIST) return *out = dc_jv_ref(obj.u.l->v[i]), true;
            size_t at = dc_jstr_offset(obj.u.s, i);
            return dc_jv_new_str(r->msg, out, obj.u.s->s + at, dc_utf8_next(obj.u.s->s, obj.u.s->len, at) - at);
        }
    }
    if (key.type == JV_STR) return forget_name(get_attr(r, obj, key.u.s->s, false, out), out);
    *out = dc_jv_undef(NULL, obj.type);
    return true;
}

/* Python's slice.indices() for one bound: omitted, negative, clamped. */
static bool slice_bound(rt *r, jv v, int64_t len, int64_t step, bool is_start, int64_t *out) {
    const int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
    if (v.type == JV_NONE || v.type == JV_UNDEF) return *out = (is_start == (step < 0)) ? upper : lower, true;
    if (v.type != JV_INT && v.type != JV_BOOL) return dc_err(r->msg, "slice indices must be integers or None"), false;
    int64_t i = v.type == JV_INT ? v.u.i : v.u.b;
    if (i < 0) i = i < -len ? lower : i + len; /* -len may not negate safely; compare first */
    *out = i < lower ? lower : i > upper ? upper : i;
    return true;
}

static bool slice_value(rt *r, jv obj, jv start_v, jv stop_v, jv step_v, jv *out) {
    if (obj.type == JV_UNDEF) return dc_rt_undefined_error(r, obj);
    if (obj.type == JV_DICT) return dc_err(r->msg, "unhashable type: 'slice'"), false; /* slices bypass jinja2's getitem */
    if (!dc_jv_is_seq(obj)) return dc_err(r->msg, "'%s' object is not subscriptable", dc_jv_type_name(obj)), false;
    int64_t step = 1, start, stop, len = dc_jv_len(obj);
    if (step_v.type != JV_NONE && step_v.type != JV_UNDEF) {
        if (step_v.type != JV_INT && step_v.type != JV_BOOL) return dc_err(r->msg, "slice indices must be integers or None"), false;
        step = step_v.type == JV_INT ? step_v.u.i : step_v.u.b;
        if (step == 0) return dc_err(r->msg, "slice step cannot be zero"), false;
        if (step == INT64_MIN) step = -INT64_MAX;
    }
    if (!slice_bound(r, start_v, len, step, true, &start) || !slice_bound(r, stop_v, len, step, false, &stop)) return false;
    int64_t count = step > 0 ? (stop > start ? (stop - start - 1) / step + 1 : 0) : (start > stop ? (start - stop - 1) / -step + 1 : 0);
    if (!dc_rt_charge(r, (uint64_t)count / 16)) return false;
    if (obj.type == JV_LIST) {
        if (!dc_jv_new_list(r->msg, out, (size_t)count)) return false;
        out->u.l->kind = obj.u.l->kind;
        for (int64_t k = 0, i = start; k < count; k++, i += step)
            if (!dc_jlist_push(r->msg, out->u.l, dc_jv_ref(obj.u.l->v[i]))) return dc_jv_release(*out), false;
        return true;
    }
    const jstr *s = obj.u.s;
    size_t *at = malloc(((size_t)len + 1) * sizeof *at); /* code point -> byte offset */
    if (!at) return dc_err(r->msg, "out of memory"), false;
    for (int64_t i = 0, pos = 0; i <= len; i++, pos = (int64_t)dc_utf8_next(s->s, s->len, (size_t)pos)) at[i] = (size_t)pos;
    jbuf b = {.limit = DC_TPL_MAX_OUTPUT};
    bool ok = true;
    for (int64_t k = 0, i = start; ok && k < count; k++, i += step) ok = dc_jbuf_put(r->msg, &b, s->s + at[i], at[i + 1] - at[i]);
    free(at);
    if (!ok) return dc_jbuf_free(&b), false;
    return dc_jbuf_to_str(r->msg, &b, out);
}

/* ------------------------------------------------------------ arithmetic */

static bool type_error(rt *r, const char *op, jv a, jv b) {
    if (a.type == JV_UNDEF) return dc_rt_undefined_error(r, a);
    if (b.type == JV_UNDEF) return dc_rt_undefined_error(r, b);
    if (a.type == JV_STR && !strcmp(op, "+"))
        return dc_err(r->msg, "can only concatenate str (not \"%s\") to str", dc_jv_type_name(b)), false;
    return dc_err(r->msg, "unsupported operand type(s) for %s: '%s' and '%s'", op, dc_jv_type_name(a), dc_jv_type_name(b)), false;
}

static int64_t ival(jv v) { return v.type == JV_INT ? v.u.i : v.u.b; }

static bool overflow(rt *r) { return dc_err(r->msg, "integer overflow"), false; }

/* seq * count for strings and lists */
static bool repeat(rt *r, jv seq, int64_t count, jv *out) {
    if (count < 0) count = 0;
    size_t unit = seq.type == JV_STR ? seq.u.s->len : seq.u.l->n;
    size_t cap = seq.type == JV_STR ? DC_TPL_MAX_OUTPUT : DC_TPL_MAX_ITEMS;
    if (unit && (uint64_t)count > cap / unit) return dc_err(r->msg, "repetition result too large"), false;
    if (!dc_rt_charge(r, unit * (uint64_t)count / 64)) return false;
    if (seq.type == JV_LIST) {
        if (!dc_jv_new_list(r->msg, out, unit * (size_t)count)) return false;
        out->u.l->kind = seq.u.l->kind;
        for (int64_t k = 0; k < count; k++)
            for (size_t i = 0; i < unit; i++)
                if (!dc_jlist_push(r->msg, out->u.l, dc_jv_ref(seq.u.l->v[i]))) return dc_jv_release(*out), false;
        return true;
    }
    jbuf b = {.limit = DC_TPL_MAX_OUTPUT};
    const size_t total = unit * (size_t)count;
    bool ok = !total || (dc_jbuf_reserve(r->msg, &b, total) && dc_jbuf_put(r->msg, &b, seq.u.s->s, unit));
    while (ok && b.n < total) /* doubling copies within the reserved room: no reallocation */
        ok = dc_jbuf_put(r->msg, &b, b.p, b.n <= total - b.n ? b.n : total - b.n);
    return ok ? dc_jbuf_to_str(r->msg, &b, out) : (dc_jbuf_free(&b), false);
}

static bool concat_seq(rt *r, jv a, jv b, jv *out) {
    if (!dc_rt_charge(r, weight(a) + weight(b))) return false;
    if (a.type == JV_STR) {
        jbuf buf = {.limit = DC_TPL_MAX_OUTPUT};
        if (!dc_jbuf_put(r->msg, &buf, a.u.s->s, a.u.s->len) || !dc_jbuf_put(r->msg, &buf, b.u.s->s, b.u.s->len)) return dc_jbuf_free(&buf), false;
        return dc_jbuf_to_str(r->msg, &buf, out);
    }
    if (!dc_jv_new_list(r->msg, out, a.u.l->n + b.u.l->n)) return false;
    out->u.l->kind = a.u.l->kind;
    for (size_t i = 0; i < a.u.l->n + b.u.l->n; i++) {
        jv item = i < a.u.l->n ? a.u.l->v[i] : b.u.l->v[i - a.u.l->n];
        if (!dc_jlist_push(r->msg, out->u.l, dc_jv_ref(item))) return dc_jv_release(*out), false;
    }
    return true;
}

/* Python's float floor division and modulo (results take the divisor's sign). */
static void float_divmod(double a, double b, double *div, double *mod) {
    double m = fmod(a, b), d = (a - m) / b;
    if (m != 0.0 && ((b < 0) != (m < 0))) {
        m += b;
        d -= 1.0;
    }
    if (m == 0.0) m = copysign(0.0, b);
    double fd = floor(d);
    if (d - fd > 0.5) fd += 1.0;
    *div = d != 0.0 ? fd : copysign(0.0, a / b);
    *mod = m;
}

static bool int_arith(rt *r, jop op, int64_t x, int64_t y, jv *out) {
    int64_t z;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &z)) return overflow(r); break;
    case OP_SUB: if (__builtin_sub_overflow(x, y, &z)) return overflow(r); break;
    case OP_MUL: if (__builtin_mul_overflow(x, y, &z)) return overflow(r); break;
    case OP_FLOORDIV:
    case OP_MOD:
        if (y == 0) return dc_err(r->msg, "integer division or modulo by zero"), false;
        if (x == INT64_MIN && y == -1) return op == OP_MOD ? (*out = dc_jv_int(0), true) : overflow(r);
        z = op == OP_MOD ? x % y : x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) z = op == OP_MOD ? z + y : z - 1;
        break;
    case OP_DIV:
        if (y == 0) return dc_err(r->msg, "division by zero"), false;
        return *out = dc_jv_float((double)x / (double)y), true;
    default: /* OP_POW */
        if (y < 0) return *out = dc_jv_float(pow((double)x, (double)y)), true;
        z = 1;
        for (int64_t base = x; y; y >>= 1) {
            if ((y & 1) && __builtin_mul_overflow(z, base, &z)) return overflow(r);
            if (y > 1 && __builtin_mul_overflow(base, base, &base)) return overflow(r);
        }
    }
    *out = dc_jv_int(z);
    return true;
}

static bool float_arith(rt *r, jop op, double x, double y, jv *out) {
    double z, m;
    switch (op) {
    case OP_ADD: z = x + y; break;
    case OP_SUB: z = x - y; break;
    case OP_MUL: z = x * y; break;
    case OP_POW:
        if (x == 0.0 && y < 0) return dc_err(r->msg, "0.0 cannot be raised to a negative power"), false;
        z = pow(x, y);
        break;
    default:
        if (y == 0.0) return dc_err(r->msg, "float division by zero"), false;
        if (op == OP_DIV) z = x / y;
        else float_divmod(x, y, op == OP_FLOORDIV ? &z : &m, op == OP_FLOORDIV ? &m : &z);
    }
    *out = dc_jv_float(z);
    return true;
}

/* Markup + str (either order): the plain string is escaped, the result is Markup. */
static bool markup_concat(rt *r, jv a, jv b, jv *out) {
    jv ea, eb;
    if (!dc_jinja_escape(r, a, &ea)) return false;
    if (!dc_jinja_escape(r, b, &eb)) return dc_jv_release(ea), false;
    bool ok = concat_seq(r, ea, eb, out);
    dc_jv_release(ea);
    dc_jv_release(eb);
    if (ok) out->hint = 1;
    return ok;
}

static bool binop(rt *r, jop op, jv a, jv b, jv *out) {
    static const char *const names[] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_DIV] = "/", [OP_FLOORDIV] = "//",
                                        [OP_MUL] = "*", [OP_MOD] = "%", [OP_POW] = "**"};
    if (dc_jv_is_number(a) && dc_jv_is_number(b)) {
        if (a.type != JV_FLOAT && b.type != JV_FLOAT) return int_arith(r, op, ival(a), ival(b), out);
        return float_arith(r, op, dc_jv_num(a), dc_jv_num(b), out);
    }
    if (op == OP_ADD && a.type == JV_STR && b.type == JV_STR && (a.hint || b.hint)) return markup_concat(r, a, b, out);
    if (op == OP_ADD && a.type == b.type && (a.type == JV_STR || (dc_jv_is_seq(a) && a.u.l->kind == b.u.l->kind)))
        return concat_seq(r, a, b, out);
    if (op == OP_MUL && dc_jv_is_seq(a) && (b.type == JV_INT || b.type == JV_BOOL)) return repeat(r, a, ival(b), out);
    if (op == OP_MUL && dc_jv_is_seq(b) && (a.type == JV_INT || a.type == JV_BOOL)) return repeat(r, b, ival(a), out);
    if (op == OP_MOD && a.type == JV_STR) return dc_jinja_percent_format(r, a, b, out);
    return type_error(r, names[op], a, b);
}

/* ------------------------------------------------------------ comparison */

static bool contains(rt *r, jv container, jv item, bool *result) {
    switch (container.type) {
    case JV_STR:
        if (item.type != JV_STR)
            return dc_err(r->msg, "'in <string>' requires string as left operand, not %s", dc_jv_type_name(item)), false;
        *result = memmem(container.u.s->s, container.u.s->len, item.u.s->s, item.u.s->len) != NULL;
        return dc_rt_charge(r, weight(container));
    case JV_LIST:
        if (container.u.l->kind == JL_BROKEN_ITER) return dc_err(r->msg, "%s", container.u.l->v[0].u.s->s), false;
        *result = false;
        for (size_t i = 0; i < container.u.l->n && !*result; i++) *result = dc_jv_equal(container.u.l->v[i], item);
        return dc_rt_charge(r, container.u.l->n / 8);
    case JV_DICT:
        if (item.type == JV_LIST || item.type == JV_DICT) return dc_err(r->msg, "unhashable type: '%s'", dc_jv_type_name(item)), false;
        *result = dc_jdict_get(container.u.d, item) != NULL;
        return dc_rt_charge(r, container.u.d->n / 8);
    case JV_UNDEF: return *result = false, true;
    default: return dc_err(r->msg, "argument of type '%s' is not iterable", dc_jv_type_name(container)), false;
    }
}

bool dc_rt_compare(rt *r, jop op, jv a, jv b, bool *result) {
    int c;
    switch (op) {
    case OP_EQ: return *result = dc_jv_equal(a, b), true;
    case OP_NE: return *result = !dc_jv_equal(a, b), true;
    case OP_IN:
    case OP_NOTIN:
        if (!contains(r, b, a, result)) return false;
        if (op == OP_NOTIN) *result = !*result;
        return true;
    default:
        if (a.type == JV_UNDEF || b.type == JV_UNDEF) return dc_rt_undefined_error(r, a.type == JV_UNDEF ? a : b);
        if (!dc_jv_compare(r->msg, a, b, &c)) return false;
        *result = op == OP_LT ? c < 0 : op == OP_LTEQ ? c <= 0 : op == OP_GT ? c > 0 : c >= 0;
        return true;
    }
}

static bool eval_compare(rt *r, scope *s, const jnode *n, jv *out) {
    jv left, right;
    bool result = true;
    if (!eval(r, s, n->a, &left)) return false;
    for (size_t i = 0; i < n->args.n && result; i++) {
        if (!eval(r, s, n->args.v[i], &right)) return dc_jv_release(left), false;
        bool ok = dc_rt_compare(r, (jop)n->ops[i], left, right, &result);
        dc_jv_release(left);
        left = right;
        if (!ok) return dc_jv_release(left), fail_at(r, n);
    }
    dc_jv_release(left);
    *out = dc_jv_bool(result);
    return true;
}

/* ------------------------------------------------------------ calls */

static void args_free(jargs *a) {
    for (size_t i = 0; i < a->npos; i++) dc_jv_release(a->pos[i]);
    for (size_t i = 0; i < a->nkw; i++) dc_jv_release(a->kw[i]);
    if (a->pos != a->pos_inline) free(a->pos);
    if (a->kw != a->kw_inline) free(a->kw), free(a->names);
    dc_jv_release(a->keep);
    a->npos = a->nkw = 0;
    a->pos = a->kw = NULL;
    a->names = NULL;
    a->keep = dc_jv_none();
}

/* Evaluates a call's arguments, expanding *x and **x; `caller` (may be NULL)
 * is added as keyword `caller`. */
static bool eval_args(rt *r, scope *s, const jnode *n, const jv *caller, jargs *a) {
    jv star = dc_jv_none(), dstar = dc_jv_none(), tmp;
    a->npos = a->nkw = 0;
    a->pos = a->kw = NULL;
    a->names = NULL;
    a->keep = dc_jv_none();
    if (n->star) {
        if (!eval(r, s, n->star, &tmp)) return false;
        bool ok = dc_jinja_iter_list(r, tmp, &star);
        dc_jv_release(tmp);
        if (!ok) return fail_at(r, n->star);
    }
    if (n->dstar && !eval(r, s, n->dstar, &dstar)) return dc_jv_release(star), false;
    if (n->dstar && dstar.type != JV_DICT) {
        dc_jv_release(star);
        dc_jv_release(dstar);
        return fail_msg(r, n->dstar, "argument after ** must be a mapping");
    }
    size_t npos = n->args.n + (star.type == JV_LIST ? star.u.l->n : 0);
    size_t nkw = n->kw.n + (dstar.type == JV_DICT ? dstar.u.d->n : 0) + (caller != NULL);
    a->pos = npos <= JARGS_INLINE ? a->pos_inline : malloc(npos * sizeof *a->pos);
    a->kw = nkw <= JARGS_INLINE ? a->kw_inline : malloc(nkw * sizeof *a->kw);
    a->names = nkw <= JARGS_INLINE ? a->names_inline : malloc(nkw * sizeof *a->names);
    bool ok = a->pos && a->kw && a->names;
    if (!ok) dc_err(r->msg, "out of memory"), fail_at(r, n);
    for (size_t i = 0; ok && i < n->args.n; i++)
        if ((ok = eval(r, s, n->args.v[i], &a->pos[a->npos]))) a->npos++;
    for (size_t i = 0; ok && star.type == JV_LIST && i < star.u.l->n; i++) a->pos[a->npos++] = dc_jv_ref(star.u.l->v[i]);
    for (size_t i = 0; ok && i < n->kw.n; i++) {
        a->names[a->nkw] = n->names[i];
        if ((ok = eval(r, s, n->kw.v[i], &a->kw[a->nkw]))) a->nkw++;
    }
    for (size_t i = 0; ok && dstar.type == JV_DICT && i < dstar.u.d->n; i++) {
        if (dstar.u.d->k[i].type != JV_STR) ok = fail_msg(r, n->dstar, "keywords must be strings");
        else a->names[a->nkw] = dstar.u.d->k[i].u.s->s, a->kw[a->nkw++] = dc_jv_ref(dstar.u.d->v[i]);
    }
    if (ok && caller) a->names[a->nkw] = "caller", a->kw[a->nkw++] = dc_jv_ref(*caller);
    a->keep = dstar;
    dc_jv_release(star);
    if (!ok) args_free(a);
    return ok;
}

static const jv *kwarg(const jargs *a, const char *name) {
    for (size_t i = 0; i < a->nkw; i++)
        if (!strcmp(a->names[i], name)) return &a->kw[i];
    return NULL;
}

/* Renders body in scope s into a new string (the current output is set aside). */
static bool render_to_string(rt *r, scope *s, const jnodes *body, jv *out) {
    jbuf buf = {.limit = DC_TPL_MAX_OUTPUT}, *saved = r->out;
    r->out = &buf;
    exec_status st = exec_body(r, s, body);
    r->out = saved;
    if (st == X_ERR) return dc_jbuf_free(&buf), false;
    return dc_jbuf_to_str(r->msg, &buf, out);
}

/* Binds a macro's (or caller's) parameters in s: positional, then keyword,
 * then its default (evaluated in s), else undefined; the rest go to
 * varargs / kwargs, and a `caller` keyword becomes `caller`. */
static bool bind_params(rt *r, scope *s, const jnode *m, const jargs *a) {
    static jlist no_varargs = {.h = {-1}, .kind = JL_TUPLE}; /* immortal: shared by calls without extras */
    static jdict no_kwargs = {.h = {-1}};
    jv varargs = {.type = JV_LIST, .u.l = &no_varargs}, kwargs = {.type = JV_DICT, .u.d = &no_kwargs}, v;
    const size_t np = m->args.n;
    bool ok = true;
    if (a->npos > np) {
        if (!dc_jv_new_list(r->msg, &varargs, a->npos - np)) return false;
        varargs.u.l->kind = JL_TUPLE;
    }
    if (a->nkw && !dc_jv_new_dict(r->msg, &kwargs, JV_DICT)) return dc_jv_release(varargs), false;
    for (size_t i = 0; ok && i < np; i++) {
        const jv *given = i < a->npos ? &a->pos[i] : kwarg(a, m->names[i]);
        if (given) v = dc_jv_ref(*given);
        else if (m->args.v[i]) ok = eval(r, s, m->args.v[i], &v);
        else v = dc_jv_undef(m->names[i], JV_UNDEF);
        ok = ok && scope_set(r, s, m->names[i], v);
    }
    for (size_t i = np; ok && i < a->npos; i++) ok = dc_jlist_push(r->msg, varargs.u.l, dc_jv_ref(a->pos[i]));
    for (size_t i = 0; ok && i < a->nkw; i++) {
        bool is_param = false;
        for (size_t k = 0; k < np && !is_param; k++) is_param = !strcmp(m->names[k], a->names[i]);
        if (is_param) continue;
        if (!strcmp(a->names[i], "caller")) ok = scope_set(r, s, "caller", dc_jv_ref(a->kw[i]));
        else ok = dc_jv_new_cstr(r->msg, &v, a->names[i]) && dc_jdict_set(r->msg, kwargs.u.d, v, dc_jv_ref(a->kw[i]));
    }
    if (!ok) return dc_jv_release(varargs), dc_jv_release(kwargs), false;
    return scope_set(r, s, "varargs", varargs) && scope_set(r, s, "kwargs", kwargs);
}

static bool call_macro(rt *r, const jfunc *f, const jargs *a, jv *out) {
    if (f->kind == FN_CALLER && !f->scope) return dc_err(r->msg, "caller() used after its call block ended"), false;
    scope s = {.parent = f->kind == FN_CALLER ? f->scope : r->root, .decl = &f->node->decl};
    bool ok = bind_params(r, &s, f->node, a) && render_to_string(r, &s, &f->node->body, out);
    scope_free(&s);
    return ok;
}

bool dc_rt_call(rt *r, jv fn, const jargs *a, jv *out) {
    if (fn.type == JV_UNDEF) return dc_rt_undefined_error(r, fn);
    if (fn.type != JV_FUNC) return dc_err(r->msg, "'%s' object is not callable", dc_jv_type_name(fn)), false;
    const jfunc *f = fn.u.fn;
    switch ((jfunc_kind)f->kind) {
    case FN_GLOBAL: return dc_jinja_global(r, f->id, a, out);
    case FN_METHOD: return dc_jinja_method(r, f->id, f->self, a, out);
    case FN_CYCLE:
        if (!a->npos) return dc_err(r->msg, "no items for cycling given"), false;
        return *out = dc_jv_ref(a->pos[f->self.u.lp->index0 % (int64_t)a->npos]), true;
    default: return call_macro(r, f, a, out);
    }
}

static bool eval_call(rt *r, scope *s, const jnode *n, const jv *caller, jv *out) {
    jv fn, self = dc_jv_none();
    jargs a;
    int method = -1;
    if (n->a->kind == N_GETATTR) { /* obj.method(...): call it without making a bound method */
        if (!eval(r, s, n->a->a, &self)) return false;
        method = dc_jinja_method_id((dc_jv_type)self.type, n->a->name);
        if (method < 0) {
            bool ok = get_attr(r, self, n->a->name, true, &fn);
            dc_jv_release(self);
            self = dc_jv_none();
            if (!ok) return fail_at(r, n->a);
        }
    } else if (!eval(r, s, n->a, &fn)) {
        return false;
    }
    if (method >= 0) fn = dc_jv_none();
    bool ok = eval_args(r, s, n, caller, &a);
    if (ok) {
        ok = (method >= 0 ? dc_jinja_method(r, method, self, &a, out) : dc_rt_call(r, fn, &a, out)) && dc_rt_charge(r, weight(*out));
        args_free(&a);
    }
    dc_jv_release(self);
    dc_jv_release(fn);
    return ok || fail_at(r, n);
}

/* FILTER and TEST nodes: input (or the block's text), then the builtin. */
static bool eval_filter_or_test(rt *r, scope *s, const jnode *n, jv *out) {
    const bool is_test = n->kind == N_TEST;
    jv input;
    jargs a;
    if (n->builtin < 0) return fail_msg(r, n, "no %s named '%s'", is_test ? "test" : "filter", n->name);
    if (!n->a) input = dc_jv_ref(r->implicit);
    else if (!eval(r, s, n->a, &input)) return false;
    if (!eval_args(r, s, n, NULL, &a)) return dc_jv_release(input), false;
    bool ok, result;
    if (is_test) {
        ok = dc_jinja_test(r, n->builtin, input, &a, &result);
        *out = dc_jv_bool(ok && result);
    } else {
        ok = dc_jinja_filter(r, n->builtin, input, &a, out) && dc_rt_charge(r, weight(*out));
    }
    args_free(&a);
    dc_jv_release(input);
    return ok || fail_at(r, n);
}

/* ------------------------------------------------------------ expressions */

static bool eval_unary(rt *r, const jnode *n, jv v, jv *out) {
    if (n->kind == N_NOT) return *out = dc_jv_bool(!dc_jv_truthy(v)), true;
    if (!dc_jv_is_number(v)) {
        if (v.type == JV_UNDEF) return dc_rt_undefined_error(r, v);
        return dc_err(r->msg, "bad operand type for unary %c: '%s'", n->kind == N_NEG ? '-' : '+', dc_jv_type_name(v)), false;
    }
    if (v.type == JV_FLOAT) return *out = dc_jv_float(n->kind == N_NEG ? -v.u.f : v.u.f), true;
    int64_t i = ival(v);
    if (n->kind == N_NEG && i == INT64_MIN) return overflow(r);
    return *out = dc_jv_int(n->kind == N_NEG ? -i : i), true;
}

static bool eval_seq(rt *r, scope *s, const jnode *n, jv *out) {
    if (!dc_jv_new_list(r->msg, out, n->args.n)) return fail_at(r, n);
    out->u.l->kind = n->kind == N_TUPLE ? JL_TUPLE : JL_LIST;
    for (size_t i = 0; i < n->args.n; i++) {
        jv v;
        if (!eval(r, s, n->args.v[i], &v)) return dc_jv_release(*out), false;
        if (!dc_jlist_push(r->msg, out->u.l, v)) return dc_jv_release(*out), fail_at(r, n);
    }
    return true;
}

static bool eval_dict(rt *r, scope *s, const jnode *n, jv *out) {
    if (!dc_jv_new_dict(r->msg, out, JV_DICT)) return fail_at(r, n);
    for (size_t i = 0; i < n->args.n; i++) {
        jv k, v;
        if (!eval(r, s, n->args.v[i], &k)) return dc_jv_release(*out), false;
        if (!eval(r, s, n->kw.v[i], &v)) return dc_jv_release(k), dc_jv_release(*out), false;
        if (!dc_jdict_set(r->msg, out->u.d, k, v)) return dc_jv_release(*out), fail_at(r, n);
    }
    return true;
}

static bool eval_concat(rt *r, scope *s, const jnode *n, jv *out) {
    jbuf b = {.limit = DC_TPL_MAX_OUTPUT};
    for (size_t i = 0; i < n->args.n; i++) {
        jv v;
        if (!eval(r, s, n->args.v[i], &v)) return dc_jbuf_free(&b), false;
        bool ok = dc_jv_write_str(r->msg, &b, v);
        dc_jv_release(v);
        if (!ok) return dc_jbuf_free(&b), fail_at(r, n);
    }
    return (dc_rt_charge(r, b.n / 64) && dc_jbuf_to_str(r->msg, &b, out)) || (dc_jbuf_free(&b), fail_at(r, n));
}

static bool eval_getitem(rt *r, scope *s, const jnode *n, jv *out) {
    jv obj, parts[3] = {dc_jv_none(), dc_jv_none(), dc_jv_none()};
    const jnode *k = n->b;
    bool ok;
    if (!eval(r, s, n->a, &obj)) return false;
    if (k->kind != N_SLICE) {
        if (!(ok = eval(r, s, k, &parts[0]))) return dc_jv_release(obj), false;
        ok = dc_rt_getitem(r, obj, parts[0], out);
    } else {
        const jnode *bounds[3] = {k->b, k->c, k->d};
        ok = true;
        for (int i = 0; ok && i < 3; i++) ok = !bounds[i] || eval(r, s, bounds[i], &parts[i]);
        if (!ok) {
            for (int i = 0; i < 3; i++) dc_jv_release(parts[i]);
            return dc_jv_release(obj), false;
        }
        ok = slice_value(r, obj, parts[0], parts[1], parts[2], out);
    }
    for (int i = 0; i < 3; i++) dc_jv_release(parts[i]);
    dc_jv_release(obj);
    return ok || fail_at(r, n);
}

static bool eval_node(rt *r, scope *s, const jnode *n, jv *out) {
    jv a, b;
    bool ok;
    switch ((jnode_kind)n->kind) {
    case N_CONST: return *out = dc_jv_ref(n->value), true;
    case N_NAME: return lookup(r, s, n->name, out) || fail_at(r, n);
    case N_GETATTR:
        if (!eval(r, s, n->a, &a)) return false;
        ok = get_attr(r, a, n->name, true, out); /* AST names live as long as any value */
        dc_jv_release(a);
        return ok || fail_at(r, n);
    case N_GETITEM: return eval_getitem(r, s, n, out);
    case N_CALL: return eval_call(r, s, n, NULL, out);
    case N_FILTER:
    case N_TEST: return eval_filter_or_test(r, s, n, out);
    case N_NEG:
    case N_POS:
    case N_NOT:
        if (!eval(r, s, n->a, &a)) return false;
        ok = eval_unary(r, n, a, out);
        dc_jv_release(a);
        return ok || fail_at(r, n);
    case N_AND:
    case N_OR:
        if (!eval(r, s, n->a, &a)) return false;
        if (dc_jv_truthy(a) == (n->kind == N_OR)) return *out = a, true;
        dc_jv_release(a);
        return eval(r, s, n->b, out);
    case N_BINOP:
        if (!eval(r, s, n->a, &a)) return false;
        if (!eval(r, s, n->b, &b)) return dc_jv_release(a), false;
        ok = binop(r, (jop)n->op, a, b, out);
        dc_jv_release(a);
        dc_jv_release(b);
        return ok || fail_at(r, n);
    case N_COMPARE: return eval_compare(r, s, n, out);
    case N_CONCAT: return eval_concat(r, s, n, out);
    case N_CONDEXPR:
        if (!eval(r, s, n->a, &a)) return false;
        ok = dc_jv_truthy(a);
        dc_jv_release(a);
        if (ok) return eval(r, s, n->b, out);
        if (n->c) return eval(r, s, n->c, out);
        return *out = dc_jv_undef(NULL, JV_UNDEF), true;
    case N_LIST:
    case N_TUPLE: return eval_seq(r, s, n, out);
    case N_DICT: return eval_dict(r, s, n, out);
    default: return fail_msg(r, n, "a slice is only allowed in a subscript");
    }
}

static bool eval(rt *r, scope *s, const jnode *n, jv *out) {
    if (!enter(r, n)) return false;
    bool ok = eval_node(r, s, n, out);
    r->depth--;
    return ok;
}

/* ------------------------------------------------------------ statements */

static bool assign(rt *r, scope *s, const jnode *target, jv v);

static bool assign_tuple(rt *r, scope *s, const jnode *target, jv v) {
    jv items;
    if (!dc_jinja_iter_list(r, v, &items)) return dc_jv_release(v), fail_at(r, target);
    dc_jv_release(v);
    size_t want = target->args.n, got = items.u.l->n;
    if (got != want) {
        dc_jv_release(items);
        if (got < want) return fail_msg(r, target, "not enough values to unpack (expected %zu, got %zu)", want, got);
        return fail_msg(r, target, "too many values to unpack (expected %zu)", want);
    }
    bool ok = true;
    for (size_t i = 0; ok && i < want; i++) ok = assign(r, s, target->args.v[i], dc_jv_ref(items.u.l->v[i]));
    dc_jv_release(items);
    return ok;
}

/* Assigns v (taken) to a name, tuple of targets or namespace attribute. */
static bool assign(rt *r, scope *s, const jnode *target, jv v) {
    if (target->kind == N_TUPLE) return assign_tuple(r, s, target, v);
    if (target->kind == N_NAME) return scope_set(r, s, target->name, v) || fail_at(r, target);
    bool hidden;
    jv *ns = scope_find(s, target->name, &hidden);
    if (!ns && !hidden) ns = dc_jdict_get_name(r->vars, target->name);
    if (!ns || ns->type != JV_NS) {
        dc_jv_release(v);
        return fail_msg(r, target, "cannot assign attribute '%s' on non-namespace object", target->attr2);
    }
    jv key;
    if (!dc_jv_new_cstr(r->msg, &key, target->attr2)) return dc_jv_release(v), fail_at(r, target);
    return dc_jdict_set(r->msg, ns->u.d, key, v) || fail_at(r, target);
}

static exec_status exec_for_items(rt *r, scope *s, const jnode *n, jv items) {
    jloop *lp = calloc(1, sizeof *lp);
    if (!lp) return dc_err(r->msg, "out of memory"), fail_at(r, n), X_ERR;
    lp->h.rc = 1;
    lp->items = dc_jv_ref(items);
    lp->length = (int64_t)items.u.l->n;
    const jv loop = {.type = JV_LOOP, .u.lp = lp};
    exec_status st = X_OK;
    for (size_t i = 0; i < items.u.l->n && st != X_ERR; i++) {
        if (++r->iterations > DC_TPL_MAX_ITERATIONS) {
            fail_msg(r, n, "more than %d loop iterations", DC_TPL_MAX_ITERATIONS);
            st = X_ERR;
            break;
        }
        lp->index0 = (int64_t)i;
        scope body = {.parent = s, .decl = &n->decl};
        st = assign(r, &body, n->a, dc_jv_ref(items.u.l->v[i])) && scope_set(r, &body, "loop", dc_jv_ref(loop))
                 ? exec_body(r, &body, &n->body)
                 : (fail_at(r, n), X_ERR);
        scope_free(&body);
        if (st == X_BREAK) break;
        if (st == X_CONTINUE) st = X_OK;
    }
    dc_jv_release(loop);
    return st == X_ERR ? X_ERR : X_OK;
}

/* The items a for loop runs over: iter(value), kept only where `if` holds. */
static bool loop_items(rt *r, scope *s, const jnode *n, jv *items) {
    jv v, all;
    if (!eval(r, s, n->b, &v)) return false;
    bool ok = dc_jinja_iter_list(r, v, &all);
    dc_jv_release(v);
    if (!ok) return fail_at(r, n->b);
    if (!n->c) return *items = all, true;
    ok = dc_jv_new_list(r->msg, items, 0) || fail_at(r, n);
    for (size_t i = 0; ok && i < all.u.l->n; i++) {
        scope probe = {.parent = s};
        jv keep;
        ok = assign(r, &probe, n->a, dc_jv_ref(all.u.l->v[i])) && eval(r, &probe, n->c, &keep);
        if (ok && dc_jv_truthy(keep)) ok = dc_jlist_push(r->msg, items->u.l, dc_jv_ref(all.u.l->v[i])) || fail_at(r, n);
        if (ok) dc_jv_release(keep);
        scope_free(&probe);
    }
    dc_jv_release(all);
    if (!ok) dc_jv_release(*items);
    return ok;
}

static exec_status exec_for(rt *r, scope *s, const jnode *n) {
    jv items;
    if (!loop_items(r, s, n, &items)) return X_ERR;
    exec_status st;
    if (items.u.l->n) {
        st = exec_for_items(r, s, n, items);
    } else {
        scope other = {.parent = s, .decl = &n->else_decl};
        st = exec_body(r, &other, &n->orelse);
        scope_free(&other);
    }
    dc_jv_release(items);
    return st;
}

static bool print_value(rt *r, const jnode *n, jv v) {
    bool ok = dc_jv_write_str(r->msg, r->out, v) && dc_rt_charge(r, weight(v));
    dc_jv_release(v);
    return ok || fail_at(r, n);
}

/* Runs a block body in a child scope and returns its text filtered by the
 * chain n->c (set and filter blocks). */
static bool block_text(rt *r, scope *s, const jnode *n, jv *out) {
    scope inner = {.parent = s, .decl = &n->decl};
    jv text;
    bool ok = render_to_string(r, &inner, &n->body, &text) || fail_at(r, n);
    scope_free(&inner);
    if (!ok) return false;
    if (!n->c) return *out = text, true;
    jv saved = r->implicit;
    r->implicit = text;
    ok = eval(r, s, n->c, out);
    r->implicit = saved;
    dc_jv_release(text);
    return ok;
}

static exec_status exec_callblock(rt *r, scope *s, const jnode *n) {
    jv caller, result;
    if (!dc_jv_new_func(r->msg, &caller, FN_CALLER, 0, dc_jv_none(), n)) return fail_at(r, n), X_ERR;
    caller.u.fn->scope = s;
    bool ok = eval_call(r, s, n->a, &caller, &result);
    caller.u.fn->scope = NULL; /* the scope ends with this statement */
    dc_jv_release(caller);
    return ok && print_value(r, n, result) ? X_OK : X_ERR;
}

static exec_status exec_with(rt *r, scope *s, const jnode *n) {
    scope inner = {.parent = s, .decl = &n->decl};
    bool ok = true;
    for (size_t i = 0; ok && i < n->args.n; i++) {
        jv v;
        ok = eval(r, s, n->args.v[i], &v) && assign(r, &inner, n->kw.v[i], v);
    }
    exec_status st = ok ? exec_body(r, &inner, &n->body) : X_ERR;
    scope_free(&inner);
    return st;
}

static exec_status exec_stmt(rt *r, scope *s, const jnode *n) {
    jv v;
    switch ((jnode_kind)n->kind) {
    case N_DATA:
        return dc_jbuf_put(r->msg, r->out, n->value.u.s->s, n->value.u.s->len) && dc_rt_charge(r, weight(n->value)) ? X_OK
                                                                                                              : (fail_at(r, n), X_ERR);
    case N_PRINT: return eval(r, s, n->a, &v) && print_value(r, n, v) ? X_OK : X_ERR;
    case N_IF: {
        if (!eval(r, s, n->a, &v)) return X_ERR;
        bool yes = dc_jv_truthy(v);
        dc_jv_release(v);
        return exec_body(r, s, yes ? &n->body : &n->orelse);
    }
    case N_FOR: return exec_for(r, s, n);
    case N_SET: return eval(r, s, n->b, &v) && assign(r, s, n->a, v) ? X_OK : X_ERR;
    case N_SETBLOCK: return block_text(r, s, n, &v) && assign(r, s, n->a, v) ? X_OK : X_ERR;
    case N_FILTERBLOCK: return block_text(r, s, n, &v) && print_value(r, n, v) ? X_OK : X_ERR;
    case N_MACRO:
        if (!dc_jv_new_func(r->msg, &v, FN_MACRO, 0, dc_jv_none(), n)) return fail_at(r, n), X_ERR;
        return scope_set(r, s, n->name, v) ? X_OK : (fail_at(r, n), X_ERR);
    case N_CALLBLOCK: return exec_callblock(r, s, n);
    case N_WITH: return exec_with(r, s, n);
    case N_SCOPE: {
        scope inner = {.parent = s, .decl = &n->decl};
        exec_status st = exec_body(r, &inner, &n->body);
        scope_free(&inner);
        return st;
    }
    case N_BREAK: return X_BREAK;
    case N_CONTINUE: return X_CONTINUE;
    default: return fail_msg(r, n, "expression used as a statement"), X_ERR;
    }
}

static exec_status exec_body(rt *r, scope *s, const jnodes *body) {
    for (size_t i = 0; i < body->n; i++) {
        const jnode *n = body->v[i];
        if (!enter(r, n)) return X_ERR;
        exec_status st = exec_stmt(r, s, n);
        r->depth--;
        if (st != X_OK) return st;
    }
    return X_OK;
}

/* ------------------------------------------------------------ entry */

int dc_template_render(const dc_template *t, const cJSON *vars, char **out, size_t *out_len, char err[DC_ERR_LEN]) {
    rt *r = calloc(1, sizeof *r);
    jbuf buf = {.limit = DC_TPL_MAX_OUTPUT};
    scope root = {.decl = &t->decl};
    jv vars_v = dc_jv_none();
    bool ok = r != NULL;
    *out = NULL;
    *out_len = 0;
    if (!ok) return dc_err(err, "out of memory"), -1;
    if (vars && !cJSON_IsObject(vars)) ok = dc_err(r->msg, "template variables must be a JSON object");
    else ok = vars ? dc_jv_from_cjson(r->msg, vars, &vars_v) : dc_jv_new_dict(r->msg, &vars_v, JV_DICT);
    ok = ok && dc_jv_new_list(r->msg, &r->namespaces, 0);
    if (ok) {
        r->vars = vars_v.u.d;
        r->out = &buf;
        r->root = &root;
        r->implicit = dc_jv_undef(NULL, JV_UNDEF);
        ok = exec_body(r, &root, &t->body) == X_OK;
    }
    scope_free(&root);
    if (r->namespaces.type == JV_LIST) /* empty every namespace first: breaks cycles through them */
        for (size_t i = 0; i < r->namespaces.u.l->n; i++)
            if (r->namespaces.u.l->v[i].type == JV_NS) dc_jdict_clear(r->namespaces.u.l->v[i].u.d);
    dc_jv_release(r->namespaces);
    dc_jv_release(vars_v);
    if (!ok) {
        if (r->err[0]) dc_err(err, "%s", r->err); /* dc_err keeps it one line: values may hold newlines */
        else dc_err(err, "1:1: %s", r->msg);
        free(r);
        dc_jbuf_free(&buf);
        return -1;
    }
    free(r);
    if (!buf.p && !dc_jbuf_put(err, &buf, "", 0)) return -1;
    *out = buf.p;
    *out_len = buf.n;
    return 0;
}
