/* jinja_parse.c - recursive-descent parser from tokens to the AST (jinja.h),
 * following jinja2's parser function by function so that precedence and
 * corner cases match: filters and tests bind tighter than arithmetic
 * (`'a' + x | trim` trims x only), `not x is defined` is `not (x is defined)`,
 * `**` is left-associative, comparisons chain, a test takes one bare
 * argument (`x is divisibleby 3`), `{{ a, b }}` is a tuple.
 *
 * All nodes, names and literals live in the template's arena, so freeing a
 * template is freeing its arena. Nesting (blocks, parentheses, unary and
 * `not` chains) is bounded by DC_TPL_MAX_NESTING so hostile input cannot
 * exhaust the stack. Filter and test names are resolved here; an unknown one
 * is only an error if it is evaluated (jinja2 3.x defers those too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

typedef struct {
    arena *a;
    const jtok *t;
    size_t i;
    char *err;
    int depth, loops;
} parser;

typedef struct { /* a growing node list */
    jnodes l;
    size_t cap;
} nvec;
#define NVEC_INIT {{NULL, 0}, 0}

static const jtok *cur(const parser *p) { return &p->t[p->i]; }
static const jtok *look(const parser *p) { return p->t[p->i].type == T_EOF ? &p->t[p->i] : &p->t[p->i + 1]; }
static const jtok *next(parser *p) { return p->t[p->i].type == T_EOF ? &p->t[p->i] : &p->t[p->i++]; }
static bool is_op(const jtok *t, jop op) { return t->type == T_OP && t->op == op; }
static bool is_name(const jtok *t, const char *name) { return t->type == T_NAME && !strcmp(t->name, name); }

static void describe(const jtok *t, char *out, size_t cap) {
    static const char *const ops[] = {"+", "-", "/", "//", "*", "%", "**", "~", "[", "]", "(", ")", "{", "}",
                                      "==", "!=", ">", ">=", "<", "<=", "in", "not in", "=", ".", ":", "|", ",", ";"};
    switch (t->type) {
    case T_EOF: snprintf(out, cap, "end of template"); break;
    case T_DATA: snprintf(out, cap, "template data"); break;
    case T_VAR_BEGIN: snprintf(out, cap, "begin of print statement"); break;
    case T_VAR_END: snprintf(out, cap, "end of print statement"); break;
    case T_BLOCK_BEGIN: snprintf(out, cap, "begin of statement block"); break;
    case T_BLOCK_END: snprintf(out, cap, "end of statement block"); break;
    case T_NAME: snprintf(out, cap, "'%.60s'", t->name); break;
    case T_STRING: snprintf(out, cap, "string"); break;
    case T_INT:
    case T_FLOAT: snprintf(out, cap, "number"); break;
    default: snprintf(out, cap, "'%s'", ops[t->op]); break;
    }
}

static void *fail(parser *p, const jtok *at, const char *fmt, ...) DC_PRINTF(3, 4);
static void *fail(parser *p, const jtok *at, const char *fmt, ...) {
    char msg[DC_ERR_LEN - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dc_err(p->err, "%d:%d: %s", at->line, at->col, msg);
    return NULL;
}

static void *fail_unexpected(parser *p, const jtok *at, const char *wanted) {
    char got[80];
    describe(at, got, sizeof got);
    return wanted ? fail(p, at, "expected %s, got %s", wanted, got) : fail(p, at, "unexpected %s", got);
}

static void *oom(parser *p) { return dc_err(p->err, "out of memory"), NULL; }

static bool expect_op(parser *p, jop op, const char *what) {
    if (is_op(cur(p), op)) return next(p), true;
    return fail_unexpected(p, cur(p), what), false;
}

static bool expect_type(parser *p, jtok_type type, const char *what) {
    if (cur(p)->type == type) return next(p), true;
    return fail_unexpected(p, cur(p), what), false;
}

static jnode *mk(parser *p, jnode_kind kind, const jtok *at) {
    jnode *n = dc_arena_alloc(p->a, sizeof *n);
    if (!n) return oom(p);
    n->kind = (uint8_t)kind;
    n->line = at->line;
    n->col = at->col;
    n->builtin = -1;
    return n;
}

/* A node over children that were just parsed: NULL (error passed on) if one is NULL. */
static jnode *mk1(parser *p, jnode_kind kind, const jtok *at, jnode *a) {
    jnode *n = a ? mk(p, kind, at) : NULL;
    if (n) n->a = a;
    return n;
}

static jnode *mk2(parser *p, jnode_kind kind, const jtok *at, jnode *a, jnode *b) {
    jnode *n = b ? mk1(p, kind, at, a) : NULL;
    if (n) n->b = b;
    return n;
}

/* Appends n (which may be NULL, as a "nothing here" slot). */
static bool push_node(parser *p, nvec *v, jnode *n) {
    if (v->l.n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4;
        jnode **arr = dc_arena_alloc(p->a, nc * sizeof *arr);
        if (!arr) return oom(p), false;
        if (v->l.n) memcpy(arr, v->l.v, v->l.n * sizeof *arr);
        v->l.v = arr;
        v->cap = nc;
    }
    v->l.v[v->l.n++] = n;
    return true;
}

/* Appends a just-parsed node; false when parsing it failed. */
static bool add(parser *p, nvec *v, jnode *n) { return n && push_node(p, v, n); }

/* Names parallel to a node list (keyword names, parameters): called before
 * the node is added, with that list's count and capacity, so both arrays
 * grow in step. */
static bool add_name(parser *p, const char ***names, size_t n, size_t cap, const char *name) {
    if (n == cap) {
        const char **arr = dc_arena_alloc(p->a, (cap ? cap * 2 : 4) * sizeof *arr);
        if (!arr) return oom(p), false;
        if (n) memcpy(arr, *names, n * sizeof *arr);
        *names = arr;
    }
    (*names)[n] = name;
    return true;
}

static bool enter(parser *p) {
    if (++p->depth <= DC_TPL_MAX_NESTING) return true;
    fail(p, cur(p), "template nested more than %d levels deep", DC_TPL_MAX_NESTING);
    return false;
}

/* ------------------------------------------------------------ expressions */

static jnode *parse_expression(parser *p, bool with_condexpr);
static jnode *parse_unary(parser *p, bool with_filter);
static jnode *parse_tuple(parser *p, bool with_condexpr, const char *end_name, bool explicit_parens);

static bool is_tuple_end(const parser *p, const char *end_name) {
    const jtok *t = cur(p);
    return t->type == T_VAR_END || t->type == T_BLOCK_END || is_op(t, OP_RPAREN) || (end_name && is_name(t, end_name));
}

static jnode *parse_call_args(parser *p, jnode *n) {
    const jtok *open = cur(p);
    nvec args = NVEC_INIT, kw = NVEC_INIT;
    if (!expect_op(p, OP_LPAREN, "'('")) return NULL;
    while (!is_op(cur(p), OP_RPAREN)) {
        if (args.l.n + kw.l.n + (n->star != NULL) + (n->dstar != NULL)) {
            if (!expect_op(p, OP_COMMA, "','")) return NULL;
            if (is_op(cur(p), OP_RPAREN)) break;
        }
        const jtok *t = cur(p);
        bool bad;
        if (is_op(t, OP_MUL) || is_op(t, OP_POW)) {
            jnode **slot = is_op(t, OP_MUL) ? &n->star : &n->dstar;
            bad = *slot || n->dstar;
            next(p);
            if (!bad && !(*slot = parse_expression(p, true))) return NULL;
        } else if (t->type == T_NAME && is_op(look(p), OP_ASSIGN)) {
            bad = n->dstar != NULL;
            p->i += 2;
            if (!bad && !(add_name(p, &n->names, kw.l.n, kw.cap, t->name) && add(p, &kw, parse_expression(p, true)))) return NULL;
        } else {
            bad = n->star || n->dstar || kw.l.n;
            if (!bad && !add(p, &args, parse_expression(p, true))) return NULL;
        }
        if (bad) return fail(p, open, "invalid syntax for function call expression");
    }
    n->args = args.l;
    n->kw = kw.l;
    return expect_op(p, OP_RPAREN, "')'") ? n : NULL;
}

static jnode *parse_call(parser *p, jnode *callee) {
    jnode *n = mk(p, N_CALL, cur(p));
    if (!n) return NULL;
    n->a = callee;
    return parse_call_args(p, n);
}

/* A dotted name after `|` or `is`: "a.b" */
static const char *parse_dotted_name(parser *p) {
    const jtok *t = cur(p);
    if (!expect_type(p, T_NAME, "a name")) return NULL;
    const char *name = t->name;
    while (is_op(cur(p), OP_DOT)) {
        next(p);
        const jtok *part = cur(p);
        if (!expect_type(p, T_NAME, "a name")) return NULL;
        size_t a = strlen(name), b = strlen(part->name);
        char *joined = dc_arena_alloc(p->a, a + b + 2);
        if (!joined) return oom(p);
        memcpy(joined, name, a);
        joined[a] = '.';
        memcpy(joined + a + 1, part->name, b);
        name = joined;
    }
    return name;
}

/* `|name(args)` filters; with start_inline the first has no pipe (filter block). */
static jnode *parse_filter(parser *p, jnode *input, bool start_inline) {
    while (is_op(cur(p), OP_PIPE) || start_inline) {
        if (!start_inline) next(p);
        start_inline = false;
        jnode *n = mk(p, N_FILTER, cur(p));
        if (!n || !(n->name = parse_dotted_name(p))) return NULL;
        n->a = input;
        n->builtin = dc_jinja_filter_id(n->name);
        if (is_op(cur(p), OP_LPAREN) && !parse_call_args(p, n)) return NULL;
        input = n;
    }
    return input;
}

static jnode *parse_primary(parser *p);
static jnode *parse_postfix(parser *p, jnode *n);

static jnode *parse_test(parser *p, jnode *input) {
    const jtok *is = next(p);
    bool negated = is_name(cur(p), "not");
    if (negated) next(p);
    jnode *n = mk(p, N_TEST, is);
    if (!n || !(n->name = parse_dotted_name(p))) return NULL;
    n->a = input;
    n->builtin = dc_jinja_test_id(n->name);
    const jtok *t = cur(p);
    if (is_op(t, OP_LPAREN)) {
        if (!parse_call_args(p, n)) return NULL;
    } else if ((t->type == T_NAME || t->type == T_STRING || t->type == T_INT || t->type == T_FLOAT || is_op(t, OP_LPAREN) ||
                is_op(t, OP_LBRACKET) || is_op(t, OP_LBRACE)) &&
               !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and")) {
        if (is_name(t, "is")) return fail(p, t, "you cannot chain multiple tests with 'is'");
        nvec args = NVEC_INIT;
        if (!add(p, &args, parse_postfix(p, parse_primary(p)))) return NULL;
        n->args = args.l;
    }
    return negated ? mk1(p, N_NOT, is, n) : n;
}

/* One subscript: an expression or a slice start:stop:step. */
static jnode *parse_subscribed(parser *p) {
    const jtok *at = cur(p);
    jnode *start = NULL;
    if (!is_op(at, OP_COLON)) {
        if (!(start = parse_expression(p, true))) return NULL;
        if (!is_op(cur(p), OP_COLON)) return start;
    }
    jnode *n = mk(p, N_SLICE, at);
    if (!n) return NULL;
    n->b = start;
    next(p); /* the first colon */
    if (!is_op(cur(p), OP_COLON) && !is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA) && !(n->c = parse_expression(p, true)))
        return NULL;
    if (is_op(cur(p), OP_COLON)) {
        next(p);
        if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA) && !(n->d = parse_expression(p, true))) return NULL;
    }
    return n;
}

static jnode *parse_subscript(parser *p, jnode *obj) {
    const jtok *t = next(p);
    if (is_op(t, OP_DOT)) {
        const jtok *attr = next(p);
        jnode *n;
        if (attr->type == T_NAME) {
            if ((n = mk(p, N_GETATTR, t))) n->a = obj, n->name = attr->name;
            return n;
        }
        if (attr->type != T_INT) return fail_unexpected(p, attr, "a name or number");
        jnode *key = mk(p, N_CONST, attr);
        if (!key) return NULL;
        key->value = attr->value;
        return mk2(p, N_GETITEM, t, obj, key);
    }
    nvec keys = NVEC_INIT;
    while (!is_op(cur(p), OP_RBRACKET)) {
        if (keys.l.n && !expect_op(p, OP_COMMA, "','")) return NULL;
        if (!add(p, &keys, parse_subscribed(p))) return NULL;
    }
    next(p);
    if (keys.l.n == 1) return mk2(p, N_GETITEM, t, obj, keys.l.v[0]);
    jnode *tuple = mk(p, N_TUPLE, t);
    if (!tuple) return NULL;
    tuple->args = keys.l;
    return mk2(p, N_GETITEM, t, obj, tuple);
}

static jnode *parse_postfix(parser *p, jnode *n) {
    while (n) {
        const jtok *t = cur(p);
        if (is_op(t, OP_DOT) || is_op(t, OP_LBRACKET)) n = parse_subscript(p, n);
        else if (is_op(t, OP_LPAREN)) n = parse_call(p, n);
        else break;
    }
    return n;
}

static jnode *parse_filter_expr(parser *p, jnode *n) {
    while (n) {
        const jtok *t = cur(p);
        if (is_op(t, OP_PIPE)) n = parse_filter(p, n, false);
        else if (is_name(t, "is")) n = parse_test(p, n);
        else if (is_op(t, OP_LPAREN)) n = parse_call(p, n);
        else break;
    }
    return n;
}

static jnode *parse_list_or_dict(parser *p, bool dict) {
    const jtok *open = next(p);
    jnode *n = mk(p, dict ? N_DICT : N_LIST, open);
    nvec keys = NVEC_INIT, vals = NVEC_INIT;
    const jop close = dict ? OP_RBRACE : OP_RBRACKET;
    if (!n) return NULL;
    while (!is_op(cur(p), close)) {
        if (keys.l.n && !expect_op(p, OP_COMMA, "','")) return NULL;
        if (is_op(cur(p), close)) break;
        if (!add(p, &keys, parse_expression(p, true))) return NULL;
        if (dict && !(expect_op(p, OP_COLON, "':'") && add(p, &vals, parse_expression(p, true)))) return NULL;
    }
    next(p);
    n->args = keys.l;
    n->kw = vals.l;
    return n;
}

static jnode *parse_primary(parser *p) {
    const jtok *t = cur(p);
    jnode *n;
    if (t->type == T_NAME) {
        next(p);
        bool is_true = !strcmp(t->name, "true") || !strcmp(t->name, "True");
        bool is_false = !strcmp(t->name, "false") || !strcmp(t->name, "False");
        bool is_none = !strcmp(t->name, "none") || !strcmp(t->name, "None");
        if (!(n = mk(p, is_true || is_false || is_none ? N_CONST : N_NAME, t))) return NULL;
        n->name = t->name;
        n->value = is_none ? dc_jv_none() : dc_jv_bool(is_true);
        return n;
    }
    if (t->type == T_STRING) {
        if (!(n = mk(p, N_CONST, t))) return NULL;
        n->value = next(p)->value;
        if (cur(p)->type != T_STRING) return n;
        jbuf b = {.limit = DC_TPL_MAX_OUTPUT}; /* adjacent literals concatenate */
        bool ok = dc_jbuf_put(p->err, &b, n->value.u.s->s, n->value.u.s->len);
        while (ok && cur(p)->type == T_STRING) {
            const jstr *more = next(p)->value.u.s;
            ok = dc_jbuf_put(p->err, &b, more->s, more->len);
        }
        ok = ok && dc_arena_str(p->a, &n->value, b.p, b.n);
        dc_jbuf_free(&b);
        return ok ? n : p->err[0] ? NULL : oom(p);
    }
    if (t->type == T_INT || t->type == T_FLOAT) {
        if ((n = mk(p, N_CONST, t))) n->value = next(p)->value;
        return n;
    }
    if (is_op(t, OP_LPAREN)) {
        next(p);
        n = parse_tuple(p, true, NULL, true);
        return n && expect_op(p, OP_RPAREN, "')'") ? n : NULL;
    }
    if (is_op(t, OP_LBRACKET) || is_op(t, OP_LBRACE)) return parse_list_or_dict(p, is_op(t, OP_LBRACE));
    return fail_unexpected(p, t, NULL);
}

static jnode *parse_unary(parser *p, bool with_filter) {
    const jtok *t = cur(p);
    jnode *n;
    if (!enter(p)) return NULL;
    if (is_op(t, OP_SUB) || is_op(t, OP_ADD)) {
        next(p);
        n = mk1(p, is_op(t, OP_SUB) ? N_NEG : N_POS, t, parse_unary(p, false));
    } else {
        n = parse_primary(p);
    }
    n = parse_postfix(p, n);
    if (with_filter) n = parse_filter_expr(p, n);
    p->depth--;
    return n;
}

static jnode *parse_pow(parser *p) {
    jnode *n = parse_unary(p, true);
    while (n && is_op(cur(p), OP_POW)) {
        const jtok *op = next(p);
        if ((n = mk2(p, N_BINOP, op, n, parse_unary(p, true)))) n->op = OP_POW;
    }
    return n;
}

static jnode *parse_math2(parser *p) {
    jnode *n = parse_pow(p);
    while (n && (is_op(cur(p), OP_MUL) || is_op(cur(p), OP_DIV) || is_op(cur(p), OP_FLOORDIV) || is_op(cur(p), OP_MOD))) {
        const jtok *op = next(p);
        if ((n = mk2(p, N_BINOP, op, n, parse_pow(p)))) n->op = op->op;
    }
    return n;
}

static jnode *parse_concat(parser *p) {
    jnode *first = parse_math2(p);
    if (!first || !is_op(cur(p), OP_TILDE)) return first;
    jnode *n = mk(p, N_CONCAT, cur(p));
    nvec parts = NVEC_INIT;
    if (!n || !add(p, &parts, first)) return NULL;
    while (is_op(cur(p), OP_TILDE)) {
        next(p);
        if (!add(p, &parts, parse_math2(p))) return NULL;
    }
    n->args = parts.l;
    return n;
}

static jnode *parse_math1(parser *p) {
    jnode *n = parse_concat(p);
    while (n && (is_op(cur(p), OP_ADD) || is_op(cur(p), OP_SUB))) {
        const jtok *op = next(p);
        if ((n = mk2(p, N_BINOP, op, n, parse_concat(p)))) n->op = op->op;
    }
    return n;
}

/* The comparison operator at the current token (consumed), or -1. */
static int compare_op(parser *p) {
    const jtok *t = cur(p);
    if (t->type == T_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_GT || t->op == OP_GTEQ || t->op == OP_LT || t->op == OP_LTEQ))
        return next(p)->op;
    if (is_name(t, "in")) return next(p), OP_IN;
    if (is_name(t, "not") && is_name(look(p), "in")) return p->i += 2, OP_NOTIN;
    return -1;
}

static jnode *parse_compare(parser *p) {
    jnode *first = parse_math1(p);
    const jtok *at = cur(p);
    int op = first ? compare_op(p) : -1;
    if (op < 0) return first;
    jnode *n = mk(p, N_COMPARE, at);
    nvec rhs = NVEC_INIT;
    uint8_t *ops = NULL;
    size_t cap = 0;
    if (!n) return NULL;
    n->a = first;
    for (; op >= 0; op = compare_op(p)) {
        if (rhs.l.n == cap) {
            uint8_t *grown = dc_arena_alloc(p->a, cap ? cap * 2 : 4);
            if (!grown) return oom(p);
            if (cap) memcpy(grown, ops, cap);
            ops = grown;
            cap = cap ? cap * 2 : 4;
        }
        ops[rhs.l.n] = (uint8_t)op;
        if (!add(p, &rhs, parse_math1(p))) return NULL;
    }
    n->args = rhs.l;
    n->ops = ops;
    return n;
}

static jnode *parse_not(parser *p) {
    if (!is_name(cur(p), "not")) return parse_compare(p);
    const jtok *t = next(p);
    if (!enter(p)) return NULL;
    jnode *n = mk1(p, N_NOT, t, parse_not(p));
    p->depth--;
    return n;
}

static jnode *parse_and_or(parser *p, bool is_or) {
    jnode *n = is_or ? parse_and_or(p, false) : parse_not(p);
    while (n && is_name(cur(p), is_or ? "or" : "and")) {
        const jtok *op = next(p);
        n = mk2(p, is_or ? N_OR : N_AND, op, n, is_or ? parse_and_or(p, false) : parse_not(p));
    }
    return n;
}

static jnode *parse_condexpr(parser *p) {
    jnode *n = parse_and_or(p, true);
    while (n && is_name(cur(p), "if")) {
        const jtok *t = next(p);
        jnode *cond = parse_and_or(p, true), *other = NULL;
        if (cond && is_name(cur(p), "else")) {
            next(p);
            if (!(other = parse_condexpr(p))) return NULL;
        }
        jnode *c = mk2(p, N_CONDEXPR, t, cond, n);
        if (c) c->c = other;
        n = c;
    }
    return n;
}

static jnode *parse_expression(parser *p, bool with_condexpr) {
    if (!enter(p)) return NULL;
    jnode *n = with_condexpr ? parse_condexpr(p) : parse_and_or(p, true);
    p->depth--;
    return n;
}

static jnode *parse_tuple(parser *p, bool with_condexpr, const char *end_name, bool explicit_parens) {
    const jtok *at = cur(p);
    nvec items = NVEC_INIT;
    bool is_tuple = false;
    for (;;) {
        if (items.l.n && !expect_op(p, OP_COMMA, "','")) return NULL;
        if (is_tuple_end(p, end_name)) break;
        if (!add(p, &items, parse_expression(p, with_condexpr))) return NULL;
        if (!is_op(cur(p), OP_COMMA)) break;
        is_tuple = true;
    }
    if (!is_tuple) {
        if (items.l.n) return items.l.v[0];
        if (!explicit_parens) return fail_unexpected(p, cur(p), "an expression");
    }
    jnode *n = mk(p, N_TUPLE, at);
    if (n) n->args = items.l;
    return n;
}

/* Assignment targets: names, tuples of them, `ns.attr` where allowed. */
static jnode *parse_target(parser *p, bool with_tuple, bool allow_ns, const char *end_name);

static jnode *parse_target_primary(parser *p, bool allow_ns) {
    const jtok *t = cur(p);
    if (is_op(t, OP_LPAREN)) {
        next(p);
        jnode *n = parse_target(p, true, allow_ns, NULL);
        return n && expect_op(p, OP_RPAREN, "')'") ? n : NULL;
    }
    if (t->type != T_NAME) return fail(p, t, "can't assign to this expression");
    static const char *const consts[] = {"true", "false", "none", "True", "False", "None"};
    for (size_t k = 0; k < 6; k++)
        if (!strcmp(t->name, consts[k])) return fail(p, t, "can't assign to '%s'", t->name);
    next(p);
    jnode *n = mk(p, N_NAME, t);
    if (!n) return NULL;
    n->name = t->name;
    if (allow_ns && is_op(cur(p), OP_DOT)) {
        next(p);
        const jtok *attr = cur(p);
        if (!expect_type(p, T_NAME, "an attribute name")) return NULL;
        n->kind = N_NSREF;
        n->attr2 = attr->name;
    }
    return n;
}

static jnode *parse_target(parser *p, bool with_tuple, bool allow_ns, const char *end_name) {
    if (!with_tuple) return parse_target_primary(p, allow_ns);
    const jtok *at = cur(p);
    nvec items = NVEC_INIT;
    bool is_tuple = false;
    for (;;) {
        if (items.l.n && !expect_op(p, OP_COMMA, "','")) return NULL;
        if (is_tuple_end(p, end_name)) break;
        if (!add(p, &items, parse_target_primary(p, allow_ns))) return NULL;
        if (!is_op(cur(p), OP_COMMA)) break;
        is_tuple = true;
    }
    if (!items.l.n) return fail_unexpected(p, cur(p), "an assignment target");
    if (!is_tuple) return items.l.v[0];
    jnode *n = mk(p, N_TUPLE, at);
    if (n) n->args = items.l;
    return n;
}

/* ------------------------------------------------------------ statements */

static bool subparse(parser *p, const char *const *end_names, jnodes *body);

/* `%}` then the body up to one of end_names; leaves that name current, or
 * consumes it (and nothing else) with drop_needle. */
static bool parse_body(parser *p, const char *const *end_names, bool drop_needle, jnodes *body) {
    if (is_op(cur(p), OP_COLON)) next(p);
    if (!expect_type(p, T_BLOCK_END, "end of statement block") || !subparse(p, end_names, body)) return false;
    if (drop_needle) next(p);
    return true;
}

static jnode *parse_for(parser *p, const jtok *at) {
    static const char *const ends[] = {"endfor", "else", NULL}, *const end_only[] = {"endfor", NULL};
    jnode *n = mk(p, N_FOR, at);
    if (!n || !(n->a = parse_target(p, true, false, "in"))) return NULL;
    if (!is_name(cur(p), "in")) return fail_unexpected(p, cur(p), "'in'");
    next(p);
    if (!(n->b = parse_tuple(p, false, "recursive", false))) return NULL;
    if (is_name(cur(p), "if")) {
        next(p);
        if (!(n->c = parse_expression(p, true))) return NULL;
    }
    if (is_name(cur(p), "recursive")) return fail(p, cur(p), "recursive loops are not supported");
    p->loops++;
    bool ok = parse_body(p, ends, false, &n->body);
    p->loops--;
    if (!ok) return NULL;
    return !strcmp(next(p)->name, "else") && !parse_body(p, end_only, true, &n->orelse) ? NULL : n;
}

static jnode *parse_if(parser *p, const jtok *at) {
    static const char *const ends[] = {"elif", "else", "endif", NULL}, *const end_only[] = {"endif", NULL};
    jnode *top = mk(p, N_IF, at), *n = top;
    while (n) {
        if (!(n->a = parse_tuple(p, false, NULL, false)) || !parse_body(p, ends, false, &n->body)) return NULL;
        const jtok *t = next(p);
        if (!strcmp(t->name, "elif")) {
            jnode *elif = mk(p, N_IF, t);
            nvec one = NVEC_INIT;
            if (!add(p, &one, elif)) return NULL;
            n->orelse = one.l;
            n = elif;
            continue;
        }
        if (!strcmp(t->name, "else") && !parse_body(p, end_only, true, &n->orelse)) return NULL;
        break;
    }
    return top;
}

/* `(a, b=default, ...)` of a macro or call block. */
static bool parse_signature(parser *p, jnode *n) {
    nvec defaults = NVEC_INIT;
    size_t n_params = 0;
    bool any_default = false;
    if (!expect_op(p, OP_LPAREN, "'('")) return false;
    while (!is_op(cur(p), OP_RPAREN)) {
        if (n_params && !expect_op(p, OP_COMMA, "','")) return false;
        const jtok *t = cur(p);
        if (!expect_type(p, T_NAME, "a parameter name")) return false;
        jnode *def = NULL;
        if (is_op(cur(p), OP_ASSIGN)) {
            next(p);
            if (!(def = parse_expression(p, true))) return false;
            any_default = true;
        } else if (any_default) {
            return fail(p, t, "non-default argument follows default argument"), false;
        }
        if (!add_name(p, &n->names, n_params, defaults.cap, t->name) || !push_node(p, &defaults, def)) return false;
        n_params++;
    }
    next(p);
    n->args = defaults.l;
    return true;
}

static jnode *parse_macro(parser *p, const jtok *at) {
    static const char *const ends[] = {"endmacro", NULL};
    jnode *n = mk(p, N_MACRO, at);
    const jtok *name = cur(p);
    if (!n || !expect_type(p, T_NAME, "a macro name")) return NULL;
    n->name = name->name;
    int loops = p->loops;
    p->loops = 0;
    bool ok = parse_signature(p, n) && parse_body(p, ends, true, &n->body);
    p->loops = loops;
    return ok ? n : NULL;
}

static jnode *parse_call_block(parser *p, const jtok *at) {
    static const char *const ends[] = {"endcall", NULL};
    jnode *n = mk(p, N_CALLBLOCK, at);
    if (!n || (is_op(cur(p), OP_LPAREN) && !parse_signature(p, n))) return NULL;
    const jtok *t = cur(p);
    if (!(n->a = parse_expression(p, true))) return NULL;
    if (n->a->kind != N_CALL) return fail(p, t, "expected a call");
    int loops = p->loops;
    p->loops = 0;
    bool ok = parse_body(p, ends, true, &n->body);
    p->loops = loops;
    return ok ? n : NULL;
}

static jnode *parse_set(parser *p, const jtok *at) {
    static const char *const ends[] = {"endset", NULL};
    jnode *n = mk(p, N_SET, at);
    if (!n || !(n->a = parse_target(p, true, true, NULL))) return NULL;
    if (is_op(cur(p), OP_ASSIGN)) {
        next(p);
        return (n->b = parse_tuple(p, true, NULL, false)) ? n : NULL;
    }
    n->kind = N_SETBLOCK;
    if (is_op(cur(p), OP_PIPE) && !(n->c = parse_filter(p, NULL, false))) return NULL;
    return parse_body(p, ends, true, &n->body) ? n : NULL;
}

static jnode *parse_with(parser *p, const jtok *at) {
    static const char *const ends[] = {"endwith", NULL};
    jnode *n = mk(p, N_WITH, at);
    nvec targets = NVEC_INIT, values = NVEC_INIT;
    if (!n) return NULL;
    while (cur(p)->type != T_BLOCK_END) {
        if (targets.l.n && !expect_op(p, OP_COMMA, "','")) return NULL;
        if (!add(p, &targets, parse_target(p, true, false, NULL)) || !expect_op(p, OP_ASSIGN, "'='") ||
            !add(p, &values, parse_expression(p, true)))
            return NULL;
    }
    n->kw = targets.l;
    n->args = values.l;
    return parse_body(p, ends, true, &n->body) ? n : NULL;
}

static jnode *parse_block_statement(parser *p, const jtok *at, jnode_kind kind, const char *end, jnode *filter) {
    const char *const ends[] = {end, NULL};
    jnode *n = mk(p, kind, at);
    if (n) n->c = filter;
    return n && parse_body(p, ends, true, &n->body) ? n : NULL;
}

/* One `{% ... %}` statement (current token: its name), appended to body. */
static bool parse_statement(parser *p, nvec *body) {
    const jtok *t = cur(p);
    if (t->type != T_NAME) return fail(p, t, "tag name expected"), false;
    const char *k = next(p)->name;
    if (!strcmp(k, "for")) return add(p, body, parse_for(p, t));
    if (!strcmp(k, "if")) return add(p, body, parse_if(p, t));
    if (!strcmp(k, "set")) return add(p, body, parse_set(p, t));
    if (!strcmp(k, "macro")) return add(p, body, parse_macro(p, t));
    if (!strcmp(k, "call")) return add(p, body, parse_call_block(p, t));
    if (!strcmp(k, "with")) return add(p, body, parse_with(p, t));
    if (!strcmp(k, "filter")) return add(p, body, parse_block_statement(p, t, N_FILTERBLOCK, "endfilter", parse_filter(p, NULL, true)));
    if (!strcmp(k, "generation")) return add(p, body, parse_block_statement(p, t, N_SCOPE, "endgeneration", NULL));
    if (!strcmp(k, "break") || !strcmp(k, "continue")) {
        if (!p->loops) return fail(p, t, "'%s' outside of a loop", k), false;
        return add(p, body, mk(p, k[0] == 'b' ? N_BREAK : N_CONTINUE, t));
    }
    if (!strcmp(k, "print")) {
        for (;;) {
            if (!add(p, body, mk1(p, N_PRINT, t, parse_expression(p, true)))) return false;
            if (!is_op(cur(p), OP_COMMA)) return true;
            next(p);
        }
    }
    static const char *const unsupported[] = {"block", "extends", "include", "import", "from", "autoescape", NULL};
    for (const char *const *u = unsupported; *u; u++)
        if (!strcmp(k, *u)) return fail(p, t, "tag '%s' is not supported in chat templates", k), false;
    return fail(p, t, "unknown tag '%s'", k), false;
}

static bool subparse(parser *p, const char *const *end_names, jnodes *body) {
    nvec out = NVEC_INIT;
    if (!enter(p)) return false;
    for (;;) {
        const jtok *t = cur(p);
        if (t->type == T_DATA) {
            jnode *d = mk(p, N_DATA, t);
            if (!add(p, &out, d)) return false;
            d->value = next(p)->value;
        } else if (t->type == T_VAR_BEGIN) {
            next(p);
            jnode *e = parse_tuple(p, true, NULL, false);
            if (!add(p, &out, mk1(p, N_PRINT, t, e)) || !expect_type(p, T_VAR_END, "end of print statement")) return false;
        } else if (t->type == T_BLOCK_BEGIN) {
            next(p);
            for (const char *const *e = end_names; e && *e; e++)
                if (is_name(cur(p), *e)) {
                    *body = out.l;
                    p->depth--;
                    return true;
                }
            if (!parse_statement(p, &out) || !expect_type(p, T_BLOCK_END, "end of statement block")) return false;
        } else if (t->type == T_EOF) {
            if (end_names) return fail(p, t, "unexpected end of template, expected '%s'", end_names[0]), false;
            *body = out.l;
            p->depth--;
            return true;
        } else {
            return fail_unexpected(p, t, NULL), false;
        }
    }
}

/* ------------------------------------------------------------ entry */

/* Python splits lines at \r\n, \r and \n, drops one trailing newline
 * (keep_trailing_newline=False) and joins them with \n. */
static char *normalize_newlines(arena *a, const char *src, size_t len, size_t *out_len) {
    char *s = dc_arena_alloc(a, len + 1);
    size_t n = 0;
    if (!s) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (n && s[n - 1] == '\n') n--;
    *out_len = n;
    return s;
}

dc_template *dc_template_parse(const char *src, size_t len, char err[DC_ERR_LEN]) {
    dc_template *t = calloc(1, sizeof *t);
    if (!t) return dc_err(err, "out of memory"), NULL;
    size_t n, ntoks;
    jtok *toks = NULL;
    err[0] = '\0';
    const char *s = normalize_newlines(&t->mem, src ? src : "", src ? len : 0, &n);
    if (!s) dc_err(err, "out of memory");
    else if (dc_jinja_lex(&t->mem, s, n, &toks, &ntoks, err)) {
        parser p = {.a = &t->mem, .t = toks, .err = err};
        if (subparse(&p, NULL, &t->body)) dc_jinja_analyze_scopes(t, err);
    }
    free(toks);
    if (err[0]) {
        dc_template_free(t);
        return NULL;
    }
    return t;
}

void dc_template_free(dc_template *t) {
    if (!t) return;
    dc_arena_free(&t->mem);
    free(t);
}
