/* test_api_parse.c - the server's request validation (src/server/api_parse.c):
 * what the templates get (normalized messages), which fields override the
 * sampling defaults, and that each invalid field is refused with 400 and its
 * name in `param`. No model needed. */
#include <string.h>

#include "check.h"
#include "server/api_parse.h"

static int chat(const char *body, api_request *r, api_error *e) {
    return api_parse_chat(body, strlen(body), r, e);
}

static void refused(const char *body, bool is_chat, const char *param) {
    api_request r;
    api_error e;
    const int rc = (is_chat ? api_parse_chat : api_parse_completion)(body, strlen(body), &r, &e);
    CHECKF(rc == -1 && e.status == 400 && !strcmp(e.type, "invalid_request_error") && !strcmp(e.param, param),
           "%s -> rc %d status %d param '%s' (want '%s')", body, rc, e.status, rc ? e.param : "", param);
    /* the message is one line of valid UTF-8 even when it quotes the client */
    CHECKF(rc == 0 || (!strpbrk(e.message, "\r\n") && api_utf8_invalid_at(e.message, strlen(e.message)) == strlen(e.message)),
           "%s -> message '%s'", body, e.message);
    api_request_free(&r);
}

int main(void) {
    api_request r;
    api_error e;

    /* normalization: parts joined, reasoning -> reasoning_content, null fields = absent */
    CHECK(chat("{\"messages\":[{\"role\":\"developer\",\"content\":\"d\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
               "{\"type\":\"text\",\"text\":\"b\"}]},{\"role\":\"assistant\",\"content\":\"c\",\"reasoning\":\"r\"},"
               "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}],\"temperature\":null,\"seed\":7,"
               "\"stop\":[\"x\",\"\",\"y\"],\"max_completion_tokens\":5,\"chat_template_kwargs\":{\"enable_thinking\":false}}",
               &r, &e) == 0);
    CHECKF(r.messages_json && !strcmp(r.messages_json, "[{\"role\":\"system\",\"content\":\"d\"},{\"role\":\"user\",\"content\":\"a\\nb\"},"
                                                       "{\"role\":\"assistant\",\"content\":\"c\",\"reasoning_content\":\"r\"},"
                                                       "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[]}]"),
           "%s", r.messages_json);
    CHECK(r.kwargs_json && !strcmp(r.kwargs_json, "{\"enable_thinking\":false}"));
    CHECK(!r.tools_json && !r.model && !r.stream && r.max_tokens == 5 && r.reasoning_budget == -1);
    CHECK(r.n_stop == 2 && !strcmp(r.stop[0], "x") && !strcmp(r.stop[1], "y"));
    deepc_sampling s = {.temp = 0.6f, .top_k = 20, .seed = 1};
    api_apply_sampling(&r, &s);
    CHECK(s.temp == 0.6f && s.top_k == 20 && s.seed == 7 && r.set.seed && !r.set.temp);
    api_request_free(&r);

    /* completions: text, ids, or one string in an array; logprobs as a count */
    const char *ids = "{\"prompt\":[5,6]}", *text = "{\"prompt\":[\"hi\"],\"logprobs\":3}";
    CHECK(api_parse_completion(text, strlen(text), &r, &e) == 0);
    CHECK(r.prompt && !strcmp(r.prompt, "hi") && r.n_prompt_ids == -1 && r.logprobs && r.top_logprobs == 3);
    api_request_free(&r);
    CHECK(api_parse_completion(ids, strlen(ids), &r, &e) == 0);
    CHECK(r.n_prompt_ids == 2 && r.prompt_ids[1] == 6 && !r.prompt);
    api_request_free(&r);

    /* the body as a whole */
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} x", true, "");
    refused("[]", true, "");
    /* U+0000 would cut a cJSON string short: refused; an escaped backslash before "u0000" is no NUL */
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}", true, "");
    CHECK(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\\\\u0000b\"}]}", &r, &e) == 0);
    CHECKF(r.messages_json && strstr(r.messages_json, "a\\\\u0000b"), "%s", r.messages_json);
    /* logit_bias: token ids as keys, biases in [-100, 100] */
    CHECK(r.n_logit_bias == 0);
    api_request_free(&r);
    CHECK(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"5\":-100,\"17\":2.5}}", &r, &e) == 0);
    CHECK(r.n_logit_bias == 2 && r.logit_bias[0].token == 5 && r.logit_bias[0].bias == -100 &&
          r.logit_bias[1].token == 17 && r.logit_bias[1].bias == 2.5f);
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"-1\":1}}", true, "logit_bias");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"5\":\"1\"}}", true, "logit_bias");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":[1]}", true, "logit_bias");
    /* found by fuzz_request: a key with a newline was quoted into the message */
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"0\\n\":1}}", true, "logit_bias");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\":1}}", true, "logit_bias");
    /* thinking is on unless the client says otherwise (llama.cpp's default) */
    CHECKF(r.kwargs_json && !strcmp(r.kwargs_json, "{\"enable_thinking\":true}"), "%s", r.kwargs_json);
    api_request_free(&r);
    CHECK(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", &r, &e) == -1 && e.status == 400);
    /* each field */
    refused("{}", true, "messages");
    refused("{\"messages\":[]}", true, "messages");
    refused("{\"messages\":[1]}", true, "messages[0]");
    refused("{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", true, "messages[0].role");
    refused("{\"messages\":[{\"role\":\"user\"}]}", true, "messages[0].content");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", true, "messages[0].content");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]}", true, "messages[0].tool_calls");
#define MSG "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
    refused(MSG "\"temperature\":2.5}", true, "temperature");
    refused(MSG "\"temperature\":\"1\"}", true, "temperature");
    refused(MSG "\"top_p\":0}", true, "top_p");
    refused(MSG "\"top_k\":1.5}", true, "top_k");
    refused(MSG "\"min_p\":-0.1}", true, "min_p");
    refused(MSG "\"presence_penalty\":3}", true, "presence_penalty");
    refused(MSG "\"repeat_penalty\":0}", true, "repeat_penalty");
    refused(MSG "\"seed\":\"x\"}", true, "seed");
    refused(MSG "\"max_tokens\":0}", true, "max_tokens");
    refused(MSG "\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", true, "stop");
    refused(MSG "\"stop\":5}", true, "stop");
    refused(MSG "\"n\":2}", true, "n");
    refused(MSG "\"logprobs\":1}", true, "logprobs");
    refused(MSG "\"top_logprobs\":2}", true, "top_logprobs");
    CHECK(chat(MSG "\"top_logprobs\":0}", &r, &e) == 0 && !r.logprobs); /* 0 alternatives need no logprobs */
    api_request_free(&r);
    refused(MSG "\"logprobs\":true,\"top_logprobs\":21}", true, "top_logprobs");
    refused(MSG "\"stream\":\"yes\"}", true, "stream");
    refused(MSG "\"stream_options\":{\"include_usage\":1}}", true, "stream_options.include_usage");
    refused(MSG "\"chat_template_kwargs\":[]}", true, "chat_template_kwargs");
    refused(MSG "\"reasoning_budget\":-2}", true, "reasoning_budget");
    refused(MSG "\"tools\":[{\"type\":\"function\"}]}", true, "tools[0]");
    refused(MSG "\"tool_choice\":\"required\"}", true, "tool_choice");
    refused(MSG "\"response_format\":{\"type\":\"json_object\"}}", true, "response_format");
    refused(MSG "\"model\":5}", true, "model");
    refused("{\"prompt\":5}", false, "prompt");
    refused("{\"prompt\":[1,-2]}", false, "prompt");
    refused("{\"prompt\":\"x\",\"logprobs\":6}", false, "logprobs");
    refused("{\"prompt\":\"x\",\"echo\":true}", false, "echo");
    return CHECK_DONE();
}
