/* test_reasoning.c - the streaming reasoning/content splitter.
 *
 * Each case is an output string with the reasoning and content it must give.
 * Every case is run whole, cut once at every byte boundary, and fed one byte
 * at a time; all runs must give the same two strings, so split tags are
 * recognised and never leak as partial text. Also: the budget mechanism,
 * streaming (text is passed on before finish), and the prompt helper on
 * real rendered prompts from the chat-template fixtures.
 */
#include <stdbool.h>
#include <string.h>

#include "chat/reasoning.h"
#include "check.h"
#include "fixture.h"

typedef struct {
    char text[2][4096]; /* [DC_TEXT_CONTENT], [DC_TEXT_REASONING] */
    size_t len[2];
    int empty_calls;
} sink;

static void collect(void *user, dc_text_kind kind, const char *text, size_t len) {
    sink *s = user;
    if (len == 0) s->empty_calls++;
    if (s->len[kind] + len >= sizeof s->text[kind]) {
        fprintf(stderr, "sink overflow\n");
        exit(1);
    }
    memcpy(s->text[kind] + s->len[kind], text, len);
    s->len[kind] += len;
    s->text[kind][s->len[kind]] = 0;
}

/* Feeds in[0..n) cut at the given boundaries (ascending, < n). */
static void run(const char *in, size_t n, bool starts, const size_t *cuts, int n_cuts, sink *out) {
    memset(out, 0, sizeof *out);
    dc_reasoning r;
    dc_reasoning_init(&r, starts, collect, out);
    size_t at = 0;
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        dc_reasoning_feed(&r, in + at, end - at);
        at = end;
    }
    dc_reasoning_finish(&r);
}

static bool same(const sink *s, const char *reasoning, const char *content) {
    return s->empty_calls == 0 && strcmp(s->text[DC_TEXT_REASONING], reasoning) == 0 &&
           strcmp(s->text[DC_TEXT_CONTENT], content) == 0;
}

static void expect(bool starts, const char *in, const char *reasoning, const char *content) {
    size_t n = strlen(in);
    sink s;
    run(in, n, starts, NULL, 0, &s);
    CHECKF(same(&s, reasoning, content), "whole '%s': reasoning '%s' content '%s', want '%s' / '%s'", in,
           s.text[DC_TEXT_REASONING], s.text[DC_TEXT_CONTENT], reasoning, content);
    for (size_t cut = 1; cut < n; cut++) {
        run(in, n, starts, &cut, 1, &s);
        CHECKF(same(&s, reasoning, content), "'%s' cut at %zu: reasoning '%s' content '%s'", in, cut,
               s.text[DC_TEXT_REASONING], s.text[DC_TEXT_CONTENT]);
    }
    static size_t every[4096];
    for (size_t i = 1; i < n; i++) every[i - 1] = i;
    run(in, n, starts, every, n > 0 ? (int)n - 1 : 0, &s);
    CHECKF(same(&s, reasoning, content), "'%s' byte by byte: reasoning '%s' content '%s'", in,
           s.text[DC_TEXT_REASONING], s.text[DC_TEXT_CONTENT]);
}

static void test_cases(void) {
    /* <think> opened by the output (Qwen3, R1 without a prompt-opened block) */
    expect(false, "<think>\nLet me think.\n</think>\n\nThe answer is 4.", "Let me think.", "The answer is 4.");
    expect(false, "  \n<think>a b</think>x", "a b", "  \nx");
    expect(false, "<think>\nabc", "abc", "");
    expect(false, "<think>数学 😀</think>答案 é", "数学 😀", "答案 é");
    /* opened by the prompt (R1-Distill, QwQ) */
    expect(true, "Okay, so...\n\n</think>\n\nHello", "Okay, so...", "Hello");
    expect(true, "\n<think>\nhm</think>ok", "hm", "ok");
    expect(true, "a<think>b</think>c", "a<think>b", "c");
    expect(true, "thinking...\n\n", "thinking...", "");
    expect(true, "a \n b  \n</think>  \n\t c d  ", "a \n b", "c d  ");
    expect(true, "x<</think>y", "x<", "y");
    expect(true, "   ", "", "");
    expect(true, "", "", "");
    /* no tags at all, or Qwen3 with enable_thinking=false (empty block in the prompt) */
    expect(false, "Just an answer.", "", "Just an answer.");
    expect(false, "\n\nSure! Here it is.\n", "", "\n\nSure! Here it is.\n");
    expect(false, "   ", "", "   ");
    expect(false, "", "", "");
    expect(false, "Answer</think>tail", "", "Answertail");
    /* empty blocks */
    expect(false, "<think></think>Answer", "", "Answer");
    expect(false, "<think>\n\n</think>\n\nAnswer", "", "Answer");
    expect(true, "<think></think>x", "", "x");
    expect(true, "</think>\n\nx", "", "x");
    /* tag-like text that is not a tag */
    expect(false, "Text <thinking> more", "", "Text <thinking> more");
    expect(false, "<thinking>x</think>", "", "<thinking>x");
    expect(false, "ends with <thin", "", "ends with <thin");
    expect(false, "<thin", "", "<thin");
    expect(false, "<think", "", "<think");
    expect(false, "<<think>x", "", "<x");
    expect(true, "a <thinking> b</think>c", "a <thinking> b", "c");
    expect(true, "reasoning </th", "reasoning </th", "");
    expect(true, "a</thinker>b", "a</thinker>b", "");
    /* only the first </think> closes; later tags are dropped, never content */
    expect(false, "<think>a</think>b</think>c", "a", "bc");
    expect(false, "<think>a</think>\n<think>b</think>c", "a", "bc");
    expect(true, "a</think></think>", "a", "");
    expect(true, "a</think>x <think> y </thin z", "a", "x  y </thin z");
    expect(false, "</think>\n\nx", "", "x");
    expect(false, "x<<think>>y", "", "x<>y");
}

/* Longer than the internal buffers: runs pass through unchanged. */
static void test_long_text(void) {
    static char in[3000], want[3000];
    memset(want, 'r', 1200);
    want[600] = ' ';
    memcpy(in, want, 1200);
    strcpy(in + 1200, "</think>");
    memset(in + 1208, 'c', 1000);
    in[2208] = 0;
    want[1200] = 0;
    expect(true, in, want, in + 1208);

    /* a whitespace run longer than DC_REASONING_WS_HOLD: its first part stays */
    static char ws[400], ws_want[400];
    strcpy(ws, "a");
    memset(ws + 1, ' ', 200);
    strcpy(ws + 201, "</think>b");
    strcpy(ws_want, "a");
    memset(ws_want + 1, ' ', DC_REASONING_WS_HOLD);
    ws_want[1 + DC_REASONING_WS_HOLD] = 0;
    expect(true, ws, ws_want, "b");
}

static void feed(dc_reasoning *r, const char *s) { dc_reasoning_feed(r, s, strlen(s)); }

/* Text is passed on as soon as it cannot be part of a tag or trailing space. */
static void test_streaming(void) {
    sink s;
    memset(&s, 0, sizeof s);
    dc_reasoning r;
    dc_reasoning_init(&r, false, collect, &s);
    CHECK(!dc_reasoning_active(&r));
    feed(&r, "<thi");
    CHECK(s.len[0] == 0 && s.len[1] == 0 && !dc_reasoning_active(&r));
    feed(&r, "nk>\nstep one");
    CHECK(dc_reasoning_active(&r) && strcmp(s.text[DC_TEXT_REASONING], "step one") == 0);
    feed(&r, " \n</th");
    CHECK(strcmp(s.text[DC_TEXT_REASONING], "step one") == 0);
    feed(&r, "ink>\n\nHi");
    CHECK(!dc_reasoning_active(&r) && strcmp(s.text[DC_TEXT_CONTENT], "Hi") == 0);
    dc_reasoning_finish(&r);
    CHECK(same(&s, "step one", "Hi"));
}

static void test_budget(void) {
    sink s;
    memset(&s, 0, sizeof s);
    dc_reasoning r;
    dc_reasoning_init(&r, true, collect, &s);
    CHECK(!dc_reasoning_over_budget(&r)); /* no budget by default */
    dc_reasoning_set_budget(&r, 3);
    const char *pieces[] = {"a", " b", " c"};
    for (int i = 0; i < 3; i++) {
        CHECK(!dc_reasoning_over_budget(&r));
        feed(&r, pieces[i]);
    }
    CHECK(dc_reasoning_over_budget(&r));
    feed(&r, DC_REASONING_CLOSE_TEXT);
    CHECK(!dc_reasoning_active(&r) && !dc_reasoning_over_budget(&r));
    feed(&r, "Answer");
    dc_reasoning_finish(&r);
    CHECK(same(&s, "a b c", "Answer"));

    /* forced close while a partial closing tag is held */
    memset(&s, 0, sizeof s);
    dc_reasoning_init(&r, true, collect, &s);
    dc_reasoning_set_budget(&r, 2);
    feed(&r, "x");
    feed(&r, "</th");
    CHECK(dc_reasoning_over_budget(&r));
    feed(&r, DC_REASONING_CLOSE_TEXT);
    feed(&r, "ok");
    dc_reasoning_finish(&r);
    CHECK(same(&s, "x</th", "ok"));

    /* the budget counts only pieces that leave the splitter inside the block */
    memset(&s, 0, sizeof s);
    dc_reasoning_init(&r, false, collect, &s);
    dc_reasoning_set_budget(&r, 2);
    feed(&r, "\n");
    feed(&r, "<thi");
    CHECK(!dc_reasoning_over_budget(&r));
    feed(&r, "nk>");
    CHECK(!dc_reasoning_over_budget(&r));
    feed(&r, "a");
    CHECK(dc_reasoning_over_budget(&r));
    feed(&r, DC_REASONING_CLOSE_TEXT);
    feed(&r, "Done.");
    CHECK(!dc_reasoning_over_budget(&r));
    dc_reasoning_finish(&r);
    CHECK(same(&s, "a", "\nDone."));

    /* budget 0 with a prompt-opened block: close before the first token */
    dc_reasoning_init(&r, true, collect, &s);
    dc_reasoning_set_budget(&r, 0);
    CHECK(dc_reasoning_over_budget(&r));
}

static bool opens(const char *p) { return dc_reasoning_prompt_opens(p, strlen(p)); }

static void test_prompt_opens(void) {
    CHECK(opens("<｜User｜>Hi<｜Assistant｜><think>\n"));
    CHECK(opens("x<think>  \t\n"));
    CHECK(opens("<think>"));
    CHECK(!opens("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    CHECK(!opens("<think"));
    CHECK(!opens("think>"));
    CHECK(!opens(""));
    CHECK(!opens("\n\n"));
    CHECK(!opens("<think>x"));

    /* real prompts rendered by the templates (chat_templates/cases.json) */
    static const struct { const char *tmpl, *id; bool want; } real[] = {
        {"deepseek-r1-distill", "single-user-gen", true},
        {"deepseek-r1-distill", "whitespace-content", true},
        {"deepseek-r1-distill", "multi-step-tools-qwen3", false}, /* ends in tool output, no gen prompt */
        {"qwq-32b", "single-user-gen", true},
        {"qwq-32b", "special-tokens-in-content", true},
        {"qwen3", "single-user-gen", false},
        {"qwen3", "enable-thinking-false", false}, /* empty <think></think> block */
        {"qwen3", "special-tokens-in-content", false},
        {"deepseek-v3.1", "v31-thinking-true", true},
        {"deepseek-v3.1", "single-user-gen", false},
        {"qwen2.5", "single-user-gen", false},
        {"llama3", "single-user-gen", false},
    };
    cJSON *cases = fixture_json(fixture_path("chat_templates/cases.json"));
    CHECK(cases != NULL);
    if (!cases) return;
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        const char *prompt = NULL;
        const cJSON *c;
        cJSON_ArrayForEach(c, cases) {
            const cJSON *t = cJSON_GetObjectItem(c, "template"), *id = cJSON_GetObjectItem(c, "id");
            if (cJSON_IsString(t) && cJSON_IsString(id) && strcmp(t->valuestring, real[i].tmpl) == 0 &&
                strcmp(id->valuestring, real[i].id) == 0)
                prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "expected"));
        }
        CHECKF(prompt != NULL, "no case %s/%s", real[i].tmpl, real[i].id);
        if (prompt) CHECKF(opens(prompt) == real[i].want, "%s/%s", real[i].tmpl, real[i].id);
    }
    cJSON_Delete(cases);
}

int main(void) {
    test_cases();
    test_long_text();
    test_streaming();
    test_budget();
    test_prompt_opens();
    return CHECK_DONE();
}
