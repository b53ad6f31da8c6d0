/* cmd_chat.c - `deepc chat MODEL`: an interactive, multi-turn chat with the
 * model's own chat template.
 *
 * Each turn re-renders the whole conversation with the template and submits
 * it as one request to the engine, whose prefix cache evaluates only what the
 * cache does not already hold. The answer streams as it is generated; for thinking models the
 * reasoning (<think>...</think>, also when the template opened it) is shown
 * apart from the answer: dimmed on a terminal, between "<think>" / "</think>"
 * lines otherwise, not at all with --hide-think. Ctrl-C stops the current
 * answer and returns to the prompt; Ctrl-D (end of input) exits. With stdin
 * not a terminal each input line is one user message and no prompt, colours
 * or line editing are used, for scripts. Commands: /help, /reset,
 * /think on|off, /save FILE, /exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <editline/readline.h>

#include "cli.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef enum { SHOWN_CONTENT, SHOWN_REASONING } shown_kind;

typedef struct {
    cli_text t;
    deepc_chat_template *tpl;
    cJSON *messages;
    bool enable_thinking;  /* on unless --think off (as llama.cpp and deepc serve) */
    bool tty, hide_think, ignore_eos;
    int32_t max_tokens;
    int64_t reasoning_budget; /* < 0: none */
    /* per answer */
    shown_kind shown;      /* kind of the text last written */
    bool any_shown;
    char *content, *reasoning;
    size_t content_len, reasoning_len;
    deepc_event done;      /* the DONE event's counters */
    char error[DEEPC_ERR_LEN];
} chat;

static void append(char **buf, size_t *len, const char *s, size_t n) {
    char *p = realloc(*buf, *len + n + 1);
    if (!p) return;
    memcpy(p + *len, s, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

/* Writes answer text, switching the style between reasoning and content. */
static void show(chat *c, shown_kind kind, const char *s, size_t n) {
    if (n == 0) return;
    if (kind == SHOWN_REASONING) append(&c->reasoning, &c->reasoning_len, s, n);
    else append(&c->content, &c->content_len, s, n);
    if (kind == SHOWN_REASONING && c->hide_think) return;
    if (!c->any_shown || kind != c->shown) {
        if (c->tty) fputs(kind == SHOWN_REASONING ? "\033[2m" : "\033[0m", stdout);
        else if (kind == SHOWN_REASONING) fputs("<think>\n", stdout);
        else if (c->any_shown) fputs("\n</think>\n", stdout);
        c->shown = kind;
        c->any_shown = true;
    }
    fwrite(s, 1, n, stdout);
    fflush(stdout);
}

static void on_event(void *user, const deepc_event *ev) {
    chat *c = user;
    show(c, SHOWN_REASONING, ev->reasoning, ev->reasoning_len);
    show(c, SHOWN_CONTENT, ev->content, ev->content_len);
    if (ev->kind == DEEPC_EVENT_DONE) {
        c->done = *ev;
        c->done.error = NULL;
        if (ev->error) snprintf(c->error, sizeof c->error, "%s", ev->error);
    }
}

static void add_message(chat *c, const char *role, const char *content, const char *reasoning) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content ? content : "");
    if (reasoning && *reasoning) cJSON_AddStringToObject(m, "reasoning_content", reasoning);
    cJSON_AddItemToArray(c->messages, m);
}

/* The prompt of the conversation so far, as tokens (malloc'ed), or -1. */
static int64_t render_prompt(chat *c, int32_t **ids, bool *opens_think, char err[DEEPC_ERR_LEN]) {
    char *messages = cJSON_PrintUnformatted(c->messages), *prompt = NULL;
    const char *kwargs = c->enable_thinking ? "{\"enable_thinking\": true}" : "{\"enable_thinking\": false}";
    size_t len = 0;
    int64_t n = -1;
    if (!messages) snprintf(err, DEEPC_ERR_LEN, "out of memory");
    else if (deepc_chat_render(c->tpl, messages, true, NULL, kwargs, &prompt, &len, err) == 0)
        n = deepc_tokenize(c->t.tok, prompt, len, DEEPC_TOKENIZE_PARSE_SPECIAL, ids, err);
    *opens_think = prompt && deepc_prompt_opens_reasoning(prompt, len);
    free(messages);
    free(prompt);
    return n;
}

/* One user turn: render, tokenize, generate, remember the answer. */
static void answer(chat *c, const char *user_text) {
    char err[DEEPC_ERR_LEN];
    add_message(c, "user", user_text, NULL);
    int32_t *ids = NULL;
    bool opens_think = false;
    const int64_t n = render_prompt(c, &ids, &opens_think, err);
    deepc_request rq = {.prompt = ids, .n_prompt = (int32_t)n, .sampling = c->t.sampling, .max_tokens = c->max_tokens,
                        .ignore_eos = c->ignore_eos, .split_reasoning = true, .starts_in_reasoning = opens_think,
                        .reasoning_budget = c->reasoning_budget, .on_event = on_event, .user = c};
    const int32_t n_ctx = deepc_engine_n_ctx(c->t.engine);
    uint64_t id = 0;
    if (n >= n_ctx) snprintf(err, sizeof err, "the conversation has %lld tokens but the context holds %d (use -c to enlarge it, or /reset)", (long long)n, n_ctx);
    if (n < 0 || n >= n_ctx || !(id = deepc_engine_submit(c->t.engine, &rq, NULL, err))) {
        fprintf(stderr, "deepc chat: %s\n", err);
        cJSON_DeleteItemFromArray(c->messages, cJSON_GetArraySize(c->messages) - 1);
        free(ids);
        return;
    }
    free(ids);
    c->any_shown = false;
    c->error[0] = '\0';
    interrupted = 0;
    cli_run_request("chat", &c->t, id, &interrupted);
    if (c->tty) fputs("\033[0m", stdout);
    else if (c->any_shown && c->shown == SHOWN_REASONING && !c->hide_think) fputs("\n</think>", stdout);
    putchar('\n');
    if (c->error[0]) fprintf(stderr, "deepc chat: %s\n", c->error);
    const double gen_seconds = c->done.t_total - c->done.t_first_token;
    const double tps = gen_seconds > 0 && c->done.n_generated > 1 ? (c->done.n_generated - 1) / gen_seconds : 0;
    fprintf(c->tty ? stdout : stderr, "%s[%d tokens, %.1f tokens/s%s]%s\n", c->tty ? "\033[2m" : "",
            c->done.n_generated, tps,
            c->done.finish == DEEPC_FINISH_CANCELLED ? ", interrupted"
            : c->done.finish == DEEPC_FINISH_LENGTH && c->max_tokens < 0 ? ", context full" : "",
            c->tty ? "\033[0m" : "");
    add_message(c, "assistant", c->content ? c->content : "", c->reasoning);
    free(c->content);
    free(c->reasoning);
    c->content = c->reasoning = NULL;
    c->content_len = c->reasoning_len = 0;
    interrupted = 0;
}

static void save(chat *c, const char *path) {
    char *json = cJSON_Print(c->messages);
    FILE *f = json ? fopen(path, "w") : NULL;
    if (!f || fputs(json, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0)
        fprintf(stderr, "deepc chat: cannot write %s: %s\n", path, strerror(errno));
    else
        printf("saved %d messages to %s\n", cJSON_GetArraySize(c->messages), path);
    free(json);
}

static void reset(chat *c, const char *system) {
    cJSON_Delete(c->messages);
    c->messages = cJSON_CreateArray();
    if (system) add_message(c, "system", system, NULL);
}

/* Handles a /command; returns false for /exit. */
static bool command(chat *c, const char *line, const char *system) {
    if (!strcmp(line, "/exit") || !strcmp(line, "/bye") || !strcmp(line, "/quit")) return false;
    if (!strcmp(line, "/reset")) {
        reset(c, system);
        puts("conversation cleared");
    } else if (!strcmp(line, "/think on") || !strcmp(line, "/think off")) {
        c->enable_thinking = !strcmp(line, "/think on");
        printf("thinking %s\n", c->enable_thinking ? "on" : "off");
    } else if (!strncmp(line, "/save ", 6) && line[6]) {
        save(c, line + 6);
    } else {
        puts("commands: /help, /reset (new conversation), /think on|off, /save FILE (messages as JSON), /exit\n"
             "Ctrl-C stops an answer, Ctrl-D exits.");
    }
    return true;
}

/* The next input line without its newline (malloc'ed), or NULL at the end. */
static char *read_line(chat *c) {
    if (c->tty) {
        for (;;) {
            char *line = readline("> ");
            if (line || !interrupted) return line;
            interrupted = 0; /* Ctrl-C at the prompt: a fresh line */
            putchar('\n');
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    return line;
}

static void loop(chat *c, const char *system) {
    for (char *line; (line = read_line(c));) {
        const size_t len = strlen(line), bad = cli_utf8_invalid_at(line, len);
        if (bad < len) {
            fprintf(stderr, "deepc chat: input is not valid UTF-8 (byte %zu); ignored\n", bad);
        } else if (line[0] == '/') {
            if (c->tty) add_history(line);
            if (!command(c, line, system)) {
                free(line);
                return;
            }
        } else if (len) {
            if (c->tty) add_history(line);
            answer(c, line);
        }
        free(line);
    }
}

int cmd_chat(int argc, char **argv) {
    const char *cmd = "chat";
    cli_model_opts o = {0};
    cli_sampling samp = cli_sampling_unset();
    const char *system = NULL;
    long n_gen = -1, budget = -1;
    chat c = {.enable_thinking = true, .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)};
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        const char *a = argv[i];
        int r = cli_common_option(cmd, &o, argc, argv, &i);
        if (r == 0) r = cli_sampling_option(cmd, &samp, argc, argv, &i);
        if (r < 0) status = 2;
        else if (r == 1) continue;
        else if (!strcmp(a, "--system") && i + 1 < argc) system = argv[++i];
        else if (!strcmp(a, "--hide-think")) c.hide_think = true;
        else if (!strcmp(a, "--ignore-eos")) c.ignore_eos = true;
        else if (!strcmp(a, "--think") && i + 1 < argc && (!strcmp(argv[i + 1], "on") || !strcmp(argv[i + 1], "off")))
            c.enable_thinking = !strcmp(argv[++i], "on");
        else if ((!strcmp(a, "-n") || !strcmp(a, "--n-predict")) && i + 1 < argc && cli_parse_int(argv[i + 1], -1, 1 << 24, &n_gen))
            i++;
        else if (!strcmp(a, "--reasoning-budget") && i + 1 < argc && cli_parse_int(argv[i + 1], -1, 1 << 24, &budget))
            i++;
        else status = cli_fail(cmd, 2, "unknown or incomplete option '%s'", a);
    }
    if (!status && (!o.model_path || o.tokens))
        status = cli_fail(cmd, 2, "usage: deepc chat MODEL.gguf [--system TEXT] [--hide-think] [--think on|off] "
                                  "[--reasoning-budget N] [-n N] [--ignore-eos] [sampling options] [-t N] [-c N]");
    if (!status && system && cli_utf8_invalid_at(system, strlen(system)) < strlen(system))
        status = cli_fail(cmd, 2, "--system: not valid UTF-8");
    if (!status && !cli_open_text(cmd, &o, &samp, &c.t)) status = 1;
    char err[DEEPC_ERR_LEN];
    if (!status && !(c.tpl = deepc_chat_template_from_model(c.t.model, c.t.tok, err))) status = cli_fail(cmd, 1, "%s", err);
    if (!status) {
        c.max_tokens = (int32_t)n_gen;
        c.reasoning_budget = budget;
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        reset(&c, system);
        if (c.tty) printf("deepc chat: %s (template: %s). /help for commands, Ctrl-D to exit.\n", o.model_path, deepc_chat_template_source(c.tpl));
        loop(&c, system);
        cJSON_Delete(c.messages);
    }
    deepc_chat_template_free(c.tpl);
    cli_close_text(&c.t);
    cli_model_opts_free(&o);
    return status;
}
