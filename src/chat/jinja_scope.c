/* jinja_scope.c - which names each scope declares up front, as jinja2's
 * compiler does (jinja2/idtracking.py), so that name lookups see what jinja2
 * sees.
 *
 * jinja2 compiles every scope (the template, a for-loop body, a macro, a
 * call/filter/set block, `with`) into Python locals. A name the scope assigns
 * is given a starting value when the scope starts:
 *  - if the scope already read it before (in source order), or assigns it
 *    only inside `if` branches: the value from the enclosing scopes or the
 *    render variables;
 *  - if an enclosing scope knows the name: that scope's current value;
 *  - otherwise: undefined.
 * The last case is visible from nested scopes: a loop body (or macro) that
 * reads `x` while its template assigns `x` only later sees undefined, not the
 * render variable `x`. This file computes those names per scope (jdecl); the
 * evaluator stops a lookup at a scope that declares the name but has not
 * assigned it yet. Each scope is analyzed completely before the scopes nested
 * in it, which see its names as "known by an enclosing scope".
 */
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

typedef enum { REF_RESOLVE, REF_ALIAS, REF_UNDEFINED, REF_PARAM } ref_kind;

typedef struct symtab symtab;
struct symtab {
    const symtab *parent;
    struct ref {
        const char *name;
        uint8_t kind;
    } *refs;
    size_t n, cap;
    const char **stores; /* names assigned in this scope */
    size_t ns, scap;
};

typedef struct { /* nested scopes met while visiting one scope, analyzed after it */
    const jnode **v;
    size_t n, cap;
} pending;

typedef struct {
    arena *a;
    char *err;
    bool failed;
} analyzer;

static bool oom(analyzer *z) {
    if (!z->failed) dc_err(z->err, "out of memory");
    z->failed = true;
    return false;
}

static bool grow(analyzer *z, void **arr, size_t n, size_t *cap, size_t sz) {
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * sz);
    if (!p) return oom(z);
    *arr = p;
    *cap = nc;
    return true;
}

static struct ref *own_ref(const symtab *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->refs[i].name, name)) return &s->refs[i];
    return NULL;
}

static bool known(const symtab *s, const char *name) {
    for (; s; s = s->parent)
        if (own_ref(s, name)) return true;
    return false;
}

static bool stored(const symtab *s, const char *name) {
    for (size_t i = 0; i < s->ns; i++)
        if (!strcmp(s->stores[i], name)) return true;
    return false;
}

/* Sets (or adds) the ref of name. */
static bool define(analyzer *z, symtab *s, const char *name, ref_kind kind) {
    struct ref *r = own_ref(s, name);
    if (r) return r->kind = (uint8_t)kind, true;
    if (!grow(z, (void **)&s->refs, s->n, &s->cap, sizeof *s->refs)) return false;
    s->refs[s->n++] = (struct ref){name, (uint8_t)kind};
    return true;
}

static bool add_store(analyzer *z, symtab *s, const char *name) {
    if (stored(s, name)) return true;
    if (!grow(z, (void **)&s->stores, s->ns, &s->scap, sizeof *s->stores)) return false;
    s->stores[s->ns++] = name;
    return true;
}

static bool sym_load(analyzer *z, symtab *s, const char *name) {
    return known(s, name) || define(z, s, name, REF_RESOLVE);
}

static bool sym_store(analyzer *z, symtab *s, const char *name) {
    if (!add_store(z, s, name)) return false;
    if (own_ref(s, name)) return true;
    return define(z, s, name, s->parent && known(s->parent, name) ? REF_ALIAS : REF_UNDEFINED);
}

static bool sym_param(analyzer *z, symtab *s, const char *name) {
    return add_store(z, s, name) && define(z, s, name, REF_PARAM);
}

static void sym_free(symtab *s) {
    free(s->refs);
    free(s->stores);
}

static bool sym_copy(analyzer *z, symtab *dst, const symtab *src) {
    *dst = (symtab){.parent = src->parent};
    for (size_t i = 0; i < src->n; i++)
        if (!define(z, dst, src->refs[i].name, (ref_kind)src->refs[i].kind)) return false;
    for (size_t i = 0; i < src->ns; i++)
        if (!add_store(z, dst, src->stores[i])) return false;
    return true;
}

/* After the branches of an `if`: their refs count in this scope, and a name
 * first assigned in a branch starts from the outer value (it may not be
 * assigned at all at run time). */
static bool branch_update(analyzer *z, symtab *s, symtab *branches, size_t nb) {
    size_t before = s->ns;
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < branches[b].n; i++)
            if (!define(z, s, branches[b].refs[i].name, (ref_kind)branches[b].refs[i].kind)) return false;
        for (size_t i = 0; i < branches[b].ns; i++) {
            const char *name = branches[b].stores[i];
            bool had = false;
            for (size_t k = 0; k < before && !had; k++) had = !strcmp(s->stores[k], name);
            if (had) continue;
            if (!add_store(z, s, name) || !define(z, s, name, s->parent && known(s->parent, name) ? REF_ALIAS : REF_RESOLVE))
                return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ visiting */

static bool visit_expr(analyzer *z, symtab *s, const jnode *n);

static bool visit_list(analyzer *z, symtab *s, const jnodes *l) {
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && !visit_expr(z, s, l->v[i])) return false;
    return true;
}

/* Reads in an expression. Operator chains nest to any depth on one side
 * (`a + b + c`: the left operand; `x if c1 if c2`: the then-branch), so that
 * side is followed in a loop and only the other, shallow children recurse. */
static bool visit_expr(analyzer *z, symtab *s, const jnode *n) {
    while (n) {
        if (n->kind == N_NAME || n->kind == N_NSREF) return sym_load(z, s, n->name);
        const jnode *spine = n->kind == N_CONDEXPR ? n->b : n->a;
        const jnode *kids[] = {n->a, n->b, n->c, n->d, n->star, n->dstar};
        for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
            if (kids[i] != spine && !visit_expr(z, s, kids[i])) return false;
        if (!visit_list(z, s, &n->args) || !visit_list(z, s, &n->kw)) return false;
        n = spine;
    }
    return true;
}

/* An assignment target: names are stored, `ns.attr` reads ns. */
static bool visit_target(analyzer *z, symtab *s, const jnode *t) {
    if (t->kind == N_TUPLE) {
        for (size_t i = 0; i < t->args.n; i++)
            if (!visit_target(z, s, t->args.v[i])) return false;
        return true;
    }
    return t->kind == N_NSREF ? sym_load(z, s, t->name) : sym_store(z, s, t->name);
}

static bool later(analyzer *z, pending *p, const jnode *n) {
    if (!grow(z, (void **)&p->v, p->n, &p->cap, sizeof *p->v)) return false;
    p->v[p->n++] = n;
    return true;
}

static bool visit_body(analyzer *z, symtab *s, const jnodes *body, pending *p);

static bool visit_if(analyzer *z, symtab *s, const jnode *n, pending *p) {
    symtab branches[2];
    size_t made = 0;
    bool ok = visit_expr(z, s, n->a);
    for (int b = 0; ok && b < 2; b++) {
        ok = sym_copy(z, &branches[b], s);
        made++;
        ok = ok && visit_body(z, &branches[b], b ? &n->orelse : &n->body, p);
    }
    ok = ok && branch_update(z, s, branches, 2);
    for (size_t b = 0; b < made; b++) sym_free(&branches[b]);
    return ok;
}

/* One statement as its scope sees it; scopes it opens go to p. */
static bool visit_stmt(analyzer *z, symtab *s, const jnode *n, pending *p) {
    switch ((jnode_kind)n->kind) {
    case N_PRINT: return visit_expr(z, s, n->a);
    case N_IF: return visit_if(z, s, n, p);
    case N_FOR: return visit_expr(z, s, n->b) && later(z, p, n);
    case N_SET: return visit_expr(z, s, n->b) && visit_target(z, s, n->a);
    case N_SETBLOCK: return visit_target(z, s, n->a) && later(z, p, n);
    case N_MACRO: return sym_store(z, s, n->name) && later(z, p, n);
    case N_CALLBLOCK: return visit_expr(z, s, n->a) && later(z, p, n);
    case N_FILTERBLOCK: return visit_expr(z, s, n->c) && later(z, p, n);
    case N_WITH: return visit_list(z, s, &n->args) && later(z, p, n);
    case N_SCOPE: return later(z, p, n);
    default: return true; /* data, break, continue */
    }
}

static bool visit_body(analyzer *z, symtab *s, const jnodes *body, pending *p) {
    for (size_t i = 0; i < body->n; i++)
        if (!visit_stmt(z, s, body->v[i], p)) return false;
    return true;
}

/* ------------------------------------------------------------ scopes */

static bool analyze_scope(analyzer *z, const symtab *parent, const jnode *owner, const jnodes *body, bool is_else, jdecl *out);

/* The scopes a statement opens, analyzed inside scope s. */
static bool analyze_nested(analyzer *z, const symtab *s, const jnode *n) {
    jnode *w = (jnode *)n; /* the analysis result is stored in the node */
    if (n->kind == N_FOR && !analyze_scope(z, s, n, &n->orelse, true, &w->else_decl)) return false;
    return analyze_scope(z, s, n, &n->body, false, &w->decl);
}

/* Parameters a scope binds when it starts. */
static bool declare_params(analyzer *z, symtab *s, const jnode *owner, bool is_else) {
    if (!owner || is_else) return true;
    switch ((jnode_kind)owner->kind) {
    case N_FOR: return visit_target(z, s, owner->a) && sym_param(z, s, "loop");
    case N_WITH:
        for (size_t i = 0; i < owner->kw.n; i++)
            if (!visit_target(z, s, owner->kw.v[i])) return false;
        return true;
    case N_MACRO:
    case N_CALLBLOCK:
        for (size_t i = 0; i < owner->args.n; i++)
            if (!sym_param(z, s, owner->names[i]) || !visit_expr(z, s, owner->args.v[i])) return false;
        return sym_param(z, s, "varargs") && sym_param(z, s, "kwargs") && sym_param(z, s, "caller");
    default: return true;
    }
}

static bool analyze_scope(analyzer *z, const symtab *parent, const jnode *owner, const jnodes *body, bool is_else, jdecl *out) {
    symtab s = {.parent = parent};
    pending p = {0};
    bool ok = declare_params(z, &s, owner, is_else) && visit_body(z, &s, body, &p);
    size_t n = 0;
    for (size_t i = 0; ok && i < s.n; i++) n += s.refs[i].kind == REF_UNDEFINED;
    if (ok && n) {
        out->names = dc_arena_alloc(z->a, n * sizeof *out->names);
        if (!out->names) ok = oom(z);
        for (size_t i = 0; ok && i < s.n; i++)
            if (s.refs[i].kind == REF_UNDEFINED) out->names[out->n++] = s.refs[i].name;
    }
    for (size_t i = 0; ok && i < p.n; i++) ok = analyze_nested(z, &s, p.v[i]);
    free(p.v);
    sym_free(&s);
    return ok;
}

bool dc_jinja_analyze_scopes(dc_template *t, char *err) {
    analyzer z = {.a = &t->mem, .err = err};
    return analyze_scope(&z, NULL, NULL, &t->body, false, &t->decl);
}
