/* test_template.c - the chat-template interpreter (src/chat) through its API.
 *
 * 1. Every case of chat_templates/cases.json renders byte-exact (or fails
 *    where transformers raised), with tools/documents None when absent as
 *    transformers passes them.
 * 2. Tricky semantics with expected strings taken from the Jinja and Python
 *    documentation (and confirmed against jinja2 3.1 set up like
 *    transformers): whitespace control with trim_blocks + lstrip_blocks, loop
 *    variables, scoping, slicing, tojson, Python printing, undefined.
 * 3. Errors carry the line and column of the failing construct.
 * 4. Hostile templates stop with an error in bounded time: nested loops,
 *    recursion, exponential macros, huge output, deep nesting.
 * 5. The built-in fallback templates.
 */
#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

#include "chat/template.h"
#include "check.h"
#include "fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
/* Seconds a hostile template may take before its error: 1, with slack for sanitizers. */
#define HOSTILE_SECONDS (SANITIZED ? 15.0 : 1.0)

/* Renders src with vars (JSON text); returns the output (caller frees) or
 * NULL with the message in err. */
static char *render(const char *src, const char *vars_json, char err[DC_ERR_LEN]) {
    cJSON *vars = cJSON_Parse(vars_json);
    char *out = NULL;
    size_t len;
    err[0] = '\0';
    dc_template *t = dc_template_parse(src, strlen(src), err);
    if (t && dc_template_render(t, vars, &out, &len, err) == 0) CHECK(strlen(out) == len);
    dc_template_free(t);
    cJSON_Delete(vars);
    return out;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- 1. fixture cases ---- */

static void add_none_if_absent(cJSON *vars, const char *key) {
    if (!cJSON_HasObjectItem(vars, key)) cJSON_AddNullToObject(vars, key);
}

static void test_fixture_cases(void) {
    cJSON *cases = fixture_json(fixture_path("chat_templates/cases.json"));
    int n = 0, errors = 0;
    CHECK(cases != NULL);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *name = cJSON_GetObjectItem(c, "template")->valuestring;
        const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
        const cJSON *expected = cJSON_GetObjectItem(c, "expected");
        char rel[256], err[DC_ERR_LEN];
        snprintf(rel, sizeof rel, "chat_templates/%s.jinja", name);
        size_t size, len;
        char *src = fixture_read_file(fixture_path(rel), &size), *out = NULL;
        CHECKF(src != NULL, "%s", rel);
        if (!src) continue;
        cJSON *vars = cJSON_Duplicate(cJSON_GetObjectItem(c, "conversation"), 1);
        add_none_if_absent(vars, "tools");
        add_none_if_absent(vars, "documents");
        dc_template *t = dc_template_parse(src, size, err);
        CHECKF(t != NULL, "%s: %s", rel, err);
        int rc = t ? dc_template_render(t, vars, &out, &len, err) : -1;
        if (cJSON_IsString(expected)) {
            CHECKF(rc == 0 && len == strlen(expected->valuestring) && !memcmp(out, expected->valuestring, len),
                   "%s/%s renders differently%s%s", name, id, rc ? ": " : "", rc ? err : "");
        } else {
            CHECKF(rc != 0 && err[0] && !strchr(err, '\n'), "%s/%s must fail with a one-line message", name, id);
            errors++;
        }
        n++;
        free(out);
        dc_template_free(t);
        cJSON_Delete(vars);
        free(src);
    }
    CHECKF(n == 189 && errors == 7, "%d cases, %d error cases", n, errors);
    cJSON_Delete(cases);
}

/* ---- 2. semantics ---- */

static const struct {
    const char *name, *src, *vars, *expected; /* expected NULL: must fail */
} semantics[] = {
    {"trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter",
     "{}", "yes\nafter"},
    {"lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\n",
     "{}", "  x\n"},
    {"minus_both_sides", "a  {%- if true -%}  b  {%- endif -%}  c",
     "{}", "abc"},
    {"plus_keeps_indent", "  {%+ if true %}x{% endif %}",
     "{}", "  x"},
    {"print_not_lstripped", "  {{ 'v' }}\n",
     "{}", "  v"},
    {"print_minus", "a \n {{- 'b' -}} \n c",
     "{}", "abc"},
    {"comment_line", "a\n  {# c #}\nb",
     "{}", "a\nb"},
    {"comment_minus", "a  {#- c -#}  b",
     "{}", "ab"},
    {"raw_block", "{% raw %}{{ x }}{% endraw %}",
     "{}", "{{ x }}"},
    {"one_trailing_newline_dropped", "x\n\n",
     "{}", "x\n"},
    {"crlf_newlines", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n",
     "{}", "a\nb\n"},
    {"lstrip_after_trimmed_newline", "{% if true %}\n  {% if true %}x{% endif %}{% endif %}",
     "{}", "x"},
    {"loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
     "{}", "1032TrueFalse3|2121FalseFalse3|3210FalseTrue3|"},
    {"loop_else", "{% for x in [] %}a{% else %}empty{% endfor %}",
     "{}", "empty"},
    {"loop_filter", "{% for x in range(6) if x is even %}{{ x }}/{{ loop.length }} {% endfor %}",
     "{}", "0/3 2/3 4/3 "},
    {"break_continue", "{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
     "{}", "023"},
    {"loop_cycle_previtem", "{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{{ loop.previtem }}{% endfor %}",
     "{}", "ab1a2"},
    {"loop_unpack_items", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}",
     "{}", "a=1;b=2;"},
    {"inner_loop_shadows", "{% for a in [1, 2] %}{% for b in [1] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}",
     "{}", "1112"},
    {"set_in_loop_is_local", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
     "{}", "21"},
    {"namespace_persists", "{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
     "{}", "6"},
    {"if_has_no_scope", "{% if true %}{% set y = 'in' %}{% endif %}{{ y }}",
     "{}", "in"},
    {"macro_locals", "{% macro m() %}{% set z = 1 %}{{ z }}{% endmacro %}{{ m() }}{{ z is defined }}",
     "{}", "1False"},
    {"set_block", "{% set b %}x{{ 1 }}{% endset %}{{ b }}|{{ b | length }}",
     "{}", "x1|2"},
    {"with_block", "{% with a = 5 %}{{ a }}{% endwith %}{{ a is defined }}",
     "{}", "5False"},
    {"assigned_later_is_undefined_in_loop", "{% for x in [1] %}[{{ s }}]{% endfor %}{% set s = 2 %}{{ s }}",
     "{\"s\": \"Hello\"}", "[]2"},
    {"read_first_keeps_outer_value", "{{ s }}{% for x in [1] %}[{{ s }}]{% endfor %}{% set s = 2 %}",
     "{\"s\": \"Hello\"}", "Hello[Hello]"},
    {"assigned_in_branch_keeps_outer", "{% for x in [1] %}[{{ s }}]{% endfor %}{% if false %}{% set s = 2 %}{% endif %}",
     "{\"s\": \"Hello\"}", "[Hello]"},
    {"top_level_set_shadows_var", "{% if not flag is defined %}{% set flag = false %}{% endif %}{{ flag }}|{% set v = 2 %}{{ v }}",
     "{\"v\": 1}", "False|2"},
    {"slicing", "{{ 'hello'[1:4] }}|{{ 'hello'[::-1] }}|{{ 'hello'[-3:] }}|{{ 'hello'[::2] }}|{{ [1, 2, 3, 4, 5][4:0:-2] }}|{{ 'héllo'[1] }}|{{ 'añb'[::-1] }}",
     "{}", "ell|olleh|llo|hlo|[5, 3]|é|bña"},
    {"index_out_of_range", "{{ [1][5] }}|{{ 'ab'[-5:10] }}|{{ [1, 2, 3][-1] }}",
     "{}", "|ab|3"},
    {"tojson_nested_unicode", "{{ v | tojson }}",
     "{\"v\": {\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\\n\\ud83d\\ude00\"}}", "{\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\\n😀\"}"},
    {"tojson_indent", "{{ {'a': [1, {}]} | tojson(indent=2) }}",
     "{}", "{\n  \"a\": [\n    1,\n    {}\n  ]\n}"},
    {"tojson_ascii_sorted", "{{ {'b': 'é', 'a': 1} | tojson(ensure_ascii=true, sort_keys=true) }}",
     "{}", "{\"a\": 1, \"b\": \"\\u00e9\"}"},
    {"tojson_floats", "{{ [1.0, 1e16, 1.5e-05, 0.1] | tojson }}",
     "{}", "[1.0, 1e+16, 1.5e-05, 0.1]"},
    {"python_printing", "{{ none }}|{{ true }}|{{ false }}|{{ 1.0 }}|{{ 3 / 2 }}|{{ 10 / 5 }}|{{ [none, 'a', 1] }}|{{ {'k': none} }}|{{ ('x',) }}|{{ undefined_var }}|",
     "{}", "None|True|False|1.0|1.5|2.0|[None, 'a', 1]|{'k': None}|('x',)||"},
    {"repr_quotes", "{{ [\"it's\", 'x'] }}",
     "{}", "[\"it's\", 'x']"},
    {"json_null_is_none", "{{ c }}|{{ c is none }}|{{ c is defined }}",
     "{\"c\": null}", "None|True|True"},
    {"operators", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 'ab' * 2 }} {{ 'a' ~ 1 ~ none }} {{ 1 < 2 < 3 }} {{ 'ell' in 'hello' }} {{ 'k' in {'k': 1} }} {{ 3 not in [1, 2] }}",
     "{}", "3 -4 2 1024 abab a1None True True True True"},
    {"filter_binds_tighter", "{{ 'a' + '  b  ' | trim }}|{{ not x is defined }}",
     "{}", "ab|True"},
    {"inline_if", "{{ 'y' if 0 else 'n' }}{{ 'z' if false }}.",
     "{}", "n."},
    {"and_or_values", "{{ 0 or 'd' }}|{{ 'a' and 'b' }}|{{ [] and 1 }}",
     "{}", "d|b|[]"},
    {"string_dict_methods", "{{ 'a,b,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ '  x y  '.split() }}|{{ 'xxhixx'.strip('x') }}|{{ 'Hi'.startswith('H') }}|{{ 'Hi'.endswith('i') }}|{{ d.get('z', 0) }}|{{ d.keys() | list }}",
     "{\"d\": {\"a\": 1}}", "['a', 'b', 'c']|['a', 'b,c']|['x', 'y']|hi|True|True|0|['a']"},
    {"filters", "{{ ['b', 'a'] | sort | join('-') }}|{{ 'ab' | upper }}|{{ x | default('d') }}|{{ [1, 2, 3] | length }}|{{ 'héllo' | length }}|{{ [3, 1] | first }}|{{ [3, 1] | last }}|{{ '42' | int + 1 }}|{{ users | selectattr('ok') | map(attribute='n') | join(',') }}",
     "{\"users\": [{\"n\": \"a\", \"ok\": true}, {\"n\": \"b\", \"ok\": false}]}", "a-b|AB|d|3|5|3|1|43|a"},
    {"tests", "{{ none is none }}{{ 1 is number }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 3 is odd }}{{ false is false }}{{ 2 is equalto 2 }}{{ 1 is in [1] }}",
     "{}", "TrueTrueTrueTrueTrueTrueTrueTrueTrue"},
    {"macro_defaults", "{% macro g(n, p='Hi') %}{{ p }} {{ n }}{% endmacro %}{{ g('A') }}|{{ g('B', p='Yo') }}",
     "{}", "Hi A|Yo B"},
    {"call_block", "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}in{% endcall %}",
     "{}", "[in]"},
    {"undefined_semantics", "{{ u }}|{{ u | default('x') }}|{{ u is defined }}|{% for i in u %}no{% endfor %}|{{ u | length }}|{{ none.attr }}",
     "{}", "|x|False||0|"},
    {"undefined_attribute_fails", "{{ u.attr }}",
     "{}", NULL},
    {"none_in_fails", "{{ '</think>' in c }}",
     "{\"c\": null}", NULL},
    {"str_plus_dict_fails", "{{ 'a' + d }}",
     "{\"d\": {}}", NULL},
    {"raise_exception", "{{ raise_exception('bad input') }}",
     "{}", NULL},
    {"unknown_filter", "{{ 1 | nosuchfilter }}",
     "{}", NULL},
    {"unterminated_block", "{% for x in y %}",
     "{}", NULL},
    {"fuzz_failing_call_argument", "{{ 'a' | replace(u // 'x', 'b') }}",
     "{}", NULL},
    {"fuzz_dynamic_key_undefined", "{{ [1]['z' ~ 'z'].y }}",
     "{}", NULL},
    {"fuzz_newline_in_message", "{{ '%\n5s' % 'a' }}",
     "{}", NULL},
};

static void test_semantics(void) {
    for (size_t i = 0; i < sizeof semantics / sizeof semantics[0]; i++) {
        char err[DC_ERR_LEN];
        char *out = render(semantics[i].src, semantics[i].vars, err);
        if (semantics[i].expected)
            CHECKF(out && !strcmp(out, semantics[i].expected), "%s: got '%s' (%s)", semantics[i].name, out ? out : "", err);
        else
            CHECKF(!out && err[0] && !strchr(err, '\n'), "%s: should fail with a one-line message, rendered '%s'", semantics[i].name, out);
        free(out);
    }
}

/* Parsing once and rendering many times; no variables at all. */
static void test_reuse(void) {
    char err[DC_ERR_LEN], *out[2] = {NULL, NULL};
    size_t len;
    const char *src = "{% set ns = namespace(n=0) %}{% set ns.n = ns.n + 1 %}{{ ns.n }}{{ x }}";
    dc_template *t = dc_template_parse(src, strlen(src), err);
    CHECK(t != NULL);
    for (int i = 0; t && i < 2; i++) {
        CHECK(dc_template_render(t, NULL, &out[i], &len, err) == 0);
        CHECK(out[i] && !strcmp(out[i], "1"));
    }
    cJSON *not_object = cJSON_CreateArray();
    char *bad = NULL;
    CHECK(t && dc_template_render(t, not_object, &bad, &len, err) != 0 && !bad && err[0]);
    cJSON_Delete(not_object);
    free(out[0]);
    free(out[1]);
    dc_template_free(t);
}

/* ---- 3. error positions ---- */

static void test_error_positions(void) {
    static const struct {
        const char *src, *vars, *prefix;
    } cases[] = {
        {"line1\n{{ x.y }}", "{}", "2:5: "},                      /* the '.' of an attribute of undefined */
        {"ab\n  {{ 1 + }}", "{}", "2:10: "},                      /* '}}' where an operand should be */
        {"{{ 'a' + 1 }}", "{}", "1:8: "},                         /* the '+' */
        {"{{ raise_exception('bad input') }}", "{}", "1:19: bad input"}, /* the call's '(' */
        {"x\n\n   {% if true %}\n{% endfor %}", "{}", "4:4: "},   /* the stray end tag */
        {"{{ \"\xe6\x97\xa5\xe6\x9c\xac\" ~ a.b }}", "{}", "1:12: "}, /* columns count code points */
        {"{% for x in 5 %}{% endfor %}", "{}", "1:13: "},         /* the iterated expression */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[DC_ERR_LEN];
        char *out = render(cases[i].src, cases[i].vars, err);
        CHECKF(!out && !strncmp(err, cases[i].prefix, strlen(cases[i].prefix)), "case %zu: '%s' should start with '%s'", i, err,
               cases[i].prefix);
        free(out);
    }
}

/* ---- 4. hostile templates ---- */

static void expect_fast_error(const char *what, const char *src, const char *needle) {
    char err[DC_ERR_LEN];
    double t0 = now();
    char *out = render(src, "{}", err);
    double dt = now() - t0;
    CHECKF(!out && strstr(err, needle), "%s: expected an error about '%s', got '%s'", what, needle, out ? "output" : err);
    CHECKF(dt < HOSTILE_SECONDS, "%s took %.2f s", what, dt);
    free(out);
}

static char *repeat_text(const char *head, const char *unit, int n, const char *tail) {
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * (size_t)n + tl + 1), *p = s;
    memcpy(p, head, hl);
    p += hl;
    for (int i = 0; i < n; i++, p += ul) memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static void test_hostile(void) {
    expect_fast_error("nested loops", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "iterations");
    expect_fast_error("macro recursion", "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", "recursion");
    expect_fast_error("exponential macro", "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                      "steps");
    expect_fast_error("huge output", "{% for i in range(2000) %}{{ 'x' * 60000 }}{% endfor %}", "output exceeds");
    expect_fast_error("huge string", "{{ 'x' * 1000000000000 }}", "too large");
    expect_fast_error("huge range", "{{ range(10000000) | length }}", "range");
    expect_fast_error("huge format width", "{{ '%0999999999999d' % 1 }}", "output exceeds");
    expect_fast_error("huge indent", "{{ 'a\nb' | indent(1000000000000) }}", "output exceeds");
    expect_fast_error("deep value", "{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l] %}{% endfor %}",
                      "nested");
    char *parens = repeat_text("{{ ", "(", 100000, "1 }}");
    expect_fast_error("deep parentheses", parens, "nested");
    free(parens);
    char *blocks = repeat_text("", "{% if true %}", 100000, "");
    expect_fast_error("deep blocks", blocks, "nested");
    free(blocks);
    char *chain = repeat_text("{{ 1", " + 1", 100000, " }}");
    expect_fast_error("long operator chain", chain, "recursion");
    free(chain);
    /* a namespace holding itself: renders, and (under ASan) leaks nothing */
    char err[DC_ERR_LEN], *out = render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me is defined }}", "{}", err);
    CHECKF(out && !strcmp(out, "True"), "self-referencing namespace: %s", out ? out : err);
    free(out);
}

/* ---- 5. built-in templates ---- */

static void test_builtins(void) {
    static const struct {
        const char *name, *vars, *expected;
    } cases[] = {
        {"chatml", "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"U\"}], \"add_generation_prompt\": true}",
         "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"},
        {"llama3", "{\"messages\": [{\"role\": \"system\", \"content\": \" S \"}, {\"role\": \"user\", \"content\": \"U\"}], \"add_generation_prompt\": true, \"bos_token\": \"<B>\"}",
         "<B><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n"},
        {"deepseek", "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"U\"}, "
                     "{\"role\": \"assistant\", \"content\": \"<think>r</think>A\"}, {\"role\": \"user\", \"content\": \"V\"}], "
                     "\"add_generation_prompt\": true, \"bos_token\": \"<B>\"}",
         "<B>S<\xef\xbd\x9cUser\xef\xbd\x9c>U<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>A<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
         "<\xef\xbd\x9cUser\xef\xbd\x9c>V<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *src = dc_template_builtin(cases[i].name);
        CHECKF(src != NULL, "builtin %s", cases[i].name);
        if (!src) continue;
        char err[DC_ERR_LEN], *out = render(src, cases[i].vars, err);
        CHECKF(out && !strcmp(out, cases[i].expected), "builtin %s: got '%s' (%s)", cases[i].name, out ? out : "", err);
        free(out);
    }
    CHECK(dc_template_builtin("no-such-template") == NULL);
    int n = 0;
    for (const char *const *name = dc_template_builtin_names(); *name; name++) n += dc_template_builtin(*name) != NULL;
    CHECK(n == 3);
}

int main(void) {
    test_fixture_cases();
    test_semantics();
    test_reuse();
    test_error_positions();
    test_hostile();
    test_builtins();
    return CHECK_DONE();
}
