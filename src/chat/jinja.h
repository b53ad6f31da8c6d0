/* jinja.h - internals shared by the chat-template interpreter (not public).
 *
 * Pipeline: jinja_lex.c turns source into tokens (doing all whitespace
 * control), jinja_parse.c builds the AST, jinja_scope.c works out which names
 * each scope declares (jinja2's symbol tracking), jinja_eval.c walks the AST,
 * calling jinja_builtins.c for filters, tests, methods and globals; value.c
 * holds the Python-like values they all share.
 *
 * Values (jv) are small tagged structs passed by value. Strings, lists, dicts,
 * namespaces, functions and loop objects live on the heap with a reference
 * count; functions that return a jv through an out-parameter hand over one
 * reference, jv arguments are borrowed unless a comment says "takes". Objects
 * made at parse time (literals) are immortal (rc < 0): they belong to the
 * template's arena, so concurrent renders never write to them. Lists and
 * dicts are never mutated once built; only namespaces are, and the renderer
 * keeps every namespace alive until the render ends and then empties them,
 * which breaks any reference cycle through them.
 *
 * Failing functions return false (or -1) and write a one-line message without
 * position into an `err` buffer of DC_ERR_LEN bytes; the evaluator prefixes
 * the line and column of the node being evaluated.
 */
#ifndef DC_CHAT_JINJA_H
#define DC_CHAT_JINJA_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "template.h"

/* ------------------------------------------------------------------ values */

typedef enum { JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT, JV_NS, JV_FUNC, JV_LOOP } dc_jv_type;

typedef struct { int32_t rc; } jobj; /* header of every heap value; rc < 0: immortal */

typedef struct {
    jobj h;
    size_t len; /* bytes */
    size_t ncp; /* code points (== len for ASCII) */
    char s[];   /* NUL-terminated */
} jstr;

typedef struct jv jv;
typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jfunc jfunc;
typedef struct jloop jloop;

struct jv {
    uint8_t type;
    /* JV_UNDEF: type of the object an attribute was missing on (JV_UNDEF for a variable);
     * JV_STR: nonzero for Markup (made by |safe or |escape): `+` escapes the plain operand */
    uint8_t hint;
    union {
        bool b;
        int64_t i;
        double f;
        jobj *o;
        jstr *s;
        jlist *l;
        jdict *d; /* JV_DICT and JV_NS */
        jfunc *fn;
        jloop *lp;
        const char *name; /* JV_UNDEF: the missing name (may be NULL) */
    } u;
};

/* What Python type a jlist stands for. dict.keys()/values()/items() give
 * views: sized, but not subscriptable and not JSON. Filters that return
 * generators in jinja2 (map, select*, reject*, unique, items, reverse) give
 * JL_ITER: always true, no len(), no indexing, not JSON; iterating it works
 * like a list. JL_BROKEN_ITER is such a generator whose body failed: its one
 * item is the message, raised when something iterates it (dc_jinja_iter_list). */
typedef enum { JL_LIST, JL_TUPLE, JL_KEYS, JL_VALUES, JL_ITEMS, JL_ITER, JL_BROKEN_ITER } dc_jlist_kind;

struct jlist {
    jobj h;
    uint8_t kind;   /* dc_jlist_kind */
    uint16_t depth; /* nesting of lists/dicts inside, for bounded recursion */
    size_t n, cap;
    jv *v;
};

struct jdict { /* insertion-ordered; lookups are linear */
    jobj h;
    uint16_t depth;
    size_t n, cap;
    jv *k, *v;
};

typedef enum { FN_GLOBAL, FN_METHOD, FN_MACRO, FN_CALLER, FN_CYCLE } jfunc_kind;

struct jnode;
struct scope;

struct jfunc {
    jobj h;
    uint8_t kind;
    int id;                   /* FN_GLOBAL / FN_METHOD: builtin id */
    jv self;                  /* FN_METHOD: bound object; FN_CYCLE: the loop */
    const struct jnode *node; /* FN_MACRO / FN_CALLER: definition */
    struct scope *scope;      /* FN_CALLER: scope of the call block while it runs, NULL after */
};

struct jloop {
    jobj h;
    int64_t index0, length;
    jv items; /* the list iterated, for previtem / nextitem */
};

static inline jv dc_jv_undef(const char *name, uint8_t hint) { return (jv){.type = JV_UNDEF, .hint = hint, .u.name = name}; }
static inline jv dc_jv_none(void) { return (jv){.type = JV_NONE}; }
static inline jv dc_jv_bool(bool b) { return (jv){.type = JV_BOOL, .u.b = b}; }
static inline jv dc_jv_int(int64_t i) { return (jv){.type = JV_INT, .u.i = i}; }
static inline jv dc_jv_float(double f) { return (jv){.type = JV_FLOAT, .u.f = f}; }
static inline bool dc_jv_is_heap(jv v) { return v.type >= JV_STR; }
static inline bool dc_jv_is_number(jv v) { return v.type == JV_BOOL || v.type == JV_INT || v.type == JV_FLOAT; }
static inline bool dc_jv_is_seq(jv v) { return (v.type == JV_LIST && v.u.l->kind <= JL_TUPLE) || v.type == JV_STR; }

void dc_jv_retain(jv v);
void dc_jv_release(jv v);
static inline jv dc_jv_ref(jv v) { dc_jv_retain(v); return v; }

bool dc_jv_new_str(char *err, jv *out, const char *s, size_t n);
static inline bool dc_jv_new_cstr(char *err, jv *out, const char *s) { return dc_jv_new_str(err, out, s, strlen(s)); }
bool dc_jv_new_list(char *err, jv *out, size_t cap);
bool dc_jlist_push(char *err, jlist *l, jv v); /* takes v (released on failure) */
bool dc_jv_new_dict(char *err, jv *out, dc_jv_type type); /* JV_DICT or JV_NS */
bool dc_jdict_set(char *err, jdict *d, jv k, jv v);    /* takes k and v (released on failure) */
jv *dc_jdict_get(const jdict *d, jv key);              /* borrowed, NULL when absent */
jv *dc_jdict_get_name(const jdict *d, const char *name);
void dc_jdict_clear(jdict *d);
bool dc_jv_new_func(char *err, jv *out, jfunc_kind kind, int id, jv self, const struct jnode *node); /* self borrowed */

bool dc_jv_truthy(jv v);
bool dc_jv_equal(jv a, jv b);
/* Python ordering (<): numbers, strings by code point, lists/tuples lexicographically. */
bool dc_jv_compare(char *err, jv a, jv b, int *cmp);
double dc_jv_num(jv v); /* numeric value of a bool/int/float */
const char *dc_jv_type_name(jv v); /* Python's name for messages: 'NoneType', 'str', 'dict', ... */
/* Length like Python len(): code points, items, keys; -1 when it has none. */
int64_t dc_jv_len(jv v);

/* UTF-8 and Python character classes. Invalid bytes count as one code point each. */
size_t dc_utf8_count(const char *s, size_t n);
size_t dc_utf8_next(const char *s, size_t n, size_t pos);          /* byte offset of the next code point */
uint32_t dc_utf8_decode(const char *s, size_t n, size_t *len);     /* one code point at s; *len bytes */
size_t dc_utf8_encode(uint32_t cp, char out[4]);
size_t dc_jstr_offset(const jstr *s, int64_t cp);                    /* byte offset of code point cp (<= ncp) */
bool dc_py_isspace(uint32_t cp);

/* Growable byte buffer bounded by `limit` bytes. */
typedef struct {
    char *p;
    size_t n, cap, limit;
} jbuf;
bool dc_jbuf_put(char *err, jbuf *b, const char *s, size_t n); /* s may point into b only within reserved room */
bool dc_jbuf_reserve(char *err, jbuf *b, size_t n);            /* room for n more bytes */
static inline bool dc_jbuf_puts(char *err, jbuf *b, const char *s) { return dc_jbuf_put(err, b, s, strlen(s)); }
void dc_jbuf_free(jbuf *b);
bool dc_jbuf_to_str(char *err, jbuf *b, jv *out); /* copies into a string value, empties b */

/* Python str(), repr() and json.dumps(). */
bool dc_jv_write_str(char *err, jbuf *b, jv v);
bool dc_jv_write_repr(char *err, jbuf *b, jv v);
typedef struct {
    bool ensure_ascii, sort_keys;
    int64_t indent;             /* < 0: none */
    const char *indent_str;     /* when not NULL: indent with this string instead of spaces */
    const char *item_sep, *key_sep; /* NULL: Python's defaults for the indent mode */
} json_opts;
bool dc_jv_write_json(char *err, jbuf *b, jv v, const json_opts *o);
bool dc_jv_to_str(char *err, jv v, jv *out); /* str(v) as a string value */
void dc_fmt_float(double x, char out[40]);  /* Python repr(float) */

/* cJSON -> values; a cJSON_Raw number literal keeps int/float exactly. */
bool dc_jv_from_cjson(char *err, const cJSON *j, jv *out);

/* Bump allocator owning a template's AST, names and immortal literals. */
typedef struct dc_arena_chunk dc_arena_chunk;
typedef struct {
    dc_arena_chunk *head;
} arena;
void *dc_arena_alloc(arena *a, size_t n); /* zeroed, NULL on OOM */
void dc_arena_free(arena *a);
char *dc_arena_strdup(arena *a, const char *s, size_t n);
bool dc_arena_str(arena *a, jv *out, const char *s, size_t n); /* immortal string value */

/* ------------------------------------------------------------------ tokens */

typedef enum { T_EOF, T_DATA, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END, T_NAME, T_STRING, T_INT, T_FLOAT, T_OP } jtok_type;

typedef enum {
    OP_ADD, OP_SUB, OP_DIV, OP_FLOORDIV, OP_MUL, OP_MOD, OP_POW, OP_TILDE,
    OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
    OP_EQ, OP_NE, OP_GT, OP_GTEQ, OP_LT, OP_LTEQ, OP_IN, OP_NOTIN,
    OP_ASSIGN, OP_DOT, OP_COLON, OP_PIPE, OP_COMMA, OP_SEMICOLON
} jop;

typedef struct {
    uint8_t type, op;
    int32_t line, col;
    const char *name; /* T_NAME: NUL-terminated, in the arena */
    jv value;         /* T_DATA / T_STRING / T_INT / T_FLOAT: immortal */
} jtok;

/* Tokenizes normalized source (newlines already \n) into a malloc'ed array
 * ending with T_EOF. Data tokens already have whitespace control applied. */
bool dc_jinja_lex(arena *a, const char *src, size_t len, jtok **toks, size_t *n, char *err);

/* ------------------------------------------------------------------ AST */

typedef enum {
    /* expressions */
    N_CONST, N_NAME, N_NSREF, N_GETATTR, N_GETITEM, N_SLICE, N_CALL, N_FILTER, N_TEST,
    N_NEG, N_POS, N_NOT, N_AND, N_OR, N_BINOP, N_COMPARE, N_CONCAT, N_CONDEXPR,
    N_LIST, N_TUPLE, N_DICT,
    /* statements */
    N_DATA, N_PRINT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_CALLBLOCK, N_FILTERBLOCK,
    N_WITH, N_SCOPE, N_BREAK, N_CONTINUE
} jnode_kind;

typedef struct jnode jnode;
typedef struct {
    jnode **v;
    size_t n;
} jnodes;

/* Names a scope assigns but that read as undefined in nested scopes until
 * that assignment runs (jinja2 declares them at the start of the scope);
 * filled in by jinja_scope.c. */
typedef struct {
    const char **names;
    size_t n;
} jdecl;

/* One node type for everything; which fields a kind uses:
 *  CONST/DATA value | NAME name | NSREF name.attr2 | GETATTR a.name | GETITEM a[b]
 *  SLICE a[b:c:d] (NULL parts omitted) | CALL a(args, kw) | FILTER a|name(args, kw),
 *  a NULL = the body of a filter/set block | TEST a is name(args)
 *  NEG/POS/NOT a | AND/OR/BINOP(op) a, b | COMPARE a then ops[i] args[i]
 *  CONCAT args | CONDEXPR b if a else c (c may be NULL) | LIST/TUPLE args | DICT args: kw
 *  PRINT a | IF a: body else orelse | FOR a in b if c: body else orelse
 *  SET a = b | SETBLOCK a = body filtered by c | MACRO name(params=defaults): body
 *  CALLBLOCK a (the call) with caller(params=defaults): body
 *  FILTERBLOCK body through c | WITH kw (targets) = args: body | SCOPE body
 * Calls also carry star (*x) and dstar (**x). Params: names[i] with default
 * args[i] (or NULL). Call keywords: names[i] = kw[i]. */
struct jnode {
    uint8_t kind, op;
    int32_t line, col;
    int builtin; /* FILTER / TEST: resolved builtin id, -1 when unknown */
    const char *name, *attr2;
    jv value;
    jnode *a, *b, *c, *d, *star, *dstar;
    jnodes args, kw, body, orelse;
    const char **names;
    uint8_t *ops;
    jdecl decl, else_decl; /* scopes this statement opens (else_decl: a for loop's else) */
};

struct dc_template {
    arena mem;
    jnodes body;
    jdecl decl;
};

/* Computes the jdecl of every scope, like jinja2's symbol tracking. */
bool dc_jinja_analyze_scopes(dc_template *t, char *err);

/* ------------------------------------------------------------------ runtime */

typedef struct scope scope;

#define JARGS_INLINE 4

typedef struct {
    jv *pos;
    size_t npos;
    const char **names; /* keyword names */
    jv *kw;
    size_t nkw;
    jv keep; /* owns the strings of names that came from a **dict */
    /* storage for calls with few arguments (no allocation) */
    jv pos_inline[JARGS_INLINE], kw_inline[JARGS_INLINE];
    const char *names_inline[JARGS_INLINE];
} jargs;

typedef struct rt {
    char err[DC_ERR_LEN]; /* final message "LINE:COL: ..." */
    char msg[DC_ERR_LEN]; /* message of the failing operation, no position */
    uint64_t steps, iterations;
    int depth;
    jbuf *out;
    scope *root;
    jdict *vars;
    jv namespaces; /* list of every namespace made, emptied at the end */
    jv implicit;   /* input of a filter block's first filter */
} rt;

/* Counts n evaluation steps; false (message in r->msg) past the limit. */
bool dc_rt_charge(rt *r, uint64_t n);
/* Comparison operators (==, <, in, ...) of the language, for tests too. */
bool dc_rt_compare(rt *r, jop op, jv a, jv b, bool *result);
/* Calls any callable value (function, macro, bound method). */
bool dc_rt_call(rt *r, jv fn, const jargs *a, jv *out);
/* obj.name / obj[key] with jinja2's fallbacks; undefined when missing. */
bool dc_rt_getattr(rt *r, jv obj, const char *name, jv *out);
bool dc_rt_getitem(rt *r, jv obj, jv key, jv *out);
/* The error for using an undefined value where that fails; returns false. */
bool dc_rt_undefined_error(rt *r, jv v);
/* Registers a namespace so the render can break cycles through it. */
bool dc_rt_track_namespace(rt *r, jv ns);

int dc_jinja_filter_id(const char *name);
int dc_jinja_test_id(const char *name);
int dc_jinja_global_id(const char *name);
jv dc_jinja_global_value(int id); /* the (immortal) function object of a global */
int dc_jinja_method_id(dc_jv_type type, const char *name);
bool dc_jinja_filter(rt *r, int id, jv input, const jargs *a, jv *out);
bool dc_jinja_test(rt *r, int id, jv input, const jargs *a, bool *result);
bool dc_jinja_global(rt *r, int id, const jargs *a, jv *out);
bool dc_jinja_method(rt *r, int id, jv self, const jargs *a, jv *out);
const char *dc_jinja_builtin_name(jfunc_kind kind, int id);
/* printf-style `fmt % args` (Python's str % operator, the format filter). */
bool dc_jinja_percent_format(rt *r, jv fmt, jv args, jv *out);
/* markupsafe.escape(): str(v) with & < > " ' escaped, as Markup (unchanged if already Markup). */
bool dc_jinja_escape(rt *r, jv v, jv *out);
/* Iterates v like Python iter(): the items as a list value (strings give
 * characters, dicts their keys, undefined nothing). */
bool dc_jinja_iter_list(rt *r, jv v, jv *out);

#endif
