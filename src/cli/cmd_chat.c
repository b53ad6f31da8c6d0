/* cmd_chat.c - `deepc chat MODEL`: an interactive, multi-turn chat with the
 * model's own chat template.
 *
 * Each turn re-renders the whole conversation with the template and feeds
 * only what the cache does not already hold (dc_gen_prompt reuses the common
 * prefix). The answer streams as it is generated; for thinking models the
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

#include <editline/readline.h>

#include "chat/prompt.h"
#include "models/model.h"
#include "chat/reasoning.h"
#include "cli.h"
#include "engine/generate.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct {
    cli_text t;
    dc_chat_format fmt;
    dc_gen_session gs;
    cJSON *messages;
    int enable_thinking;   /* -1: template default */
    bool tty, hide_think, ignore_eos;
    int32_t max_tokens;
    int64_t reasoning_budget; /* < 0: none */
    /* per answer */
    dc_detok detok;
    dc_reasoning rs;
    dc_text_kind shown;    /* kind of the text last written */
    bool any_shown;
    char *content, *reasoning;
    size_t content_len, reasoning_len;
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
static void emit(void *user, dc_text_kind kind, const char *s, size_t n) {
    chat *c = user;
    if (kind == DC_TEXT_REASONING) append(&c->reasoning, &c->reasoning_len, s, n);
    else append(&c->content, &c->content_len, s, n);
    if (kind == DC_TEXT_REASONING && c->hide_think) return;
    if (!c->any_shown || kind != c->shown) {
        if (c->tty) fputs(kind == DC_TEXT_REASONING ? "\033[2m" : "\033[0m", stdout);
        else if (kind == DC_TEXT_REASONING) fputs("<think>\n", stdout);
        else if (c->any_shown) fputs("\n</think>\n", stdout);
        c->shown = kind;
        c->any_shown = true;
    }
    fwrite(s, 1, n, stdout);
    fflush(stdout);
}

static bool on_token(void *user, int32_t id) {
    chat *c = user;
    const char *s;
    size_t n;
    char err[DC_ERR_LEN];
    if (!dc_detok_feed(&c->detok, id, &s, &n, err)) return false;
    if (!dc_tok_is_eog(c->t.tok, id)) dc_reasoning_feed(&c->rs, s, n);
    return true;
}

/* Reasoning budget: once spent, close the thinking block ourselves. */
static int force_close_think(void *user, int32_t *tokens, int max) {
    chat *c = user;
    if (c->reasoning_budget < 0 || !dc_reasoning_over_budget(&c->rs)) return 0;
    dc_tok_ids ids = {0};
    char err[DC_ERR_LEN];
    int n = 0;
    if (dc_tok_encode(c->t.tok, DC_REASONING_CLOSE_TEXT, strlen(DC_REASONING_CLOSE_TEXT), DC_TOK_PARSE_SPECIAL, &ids,
                      err))
        for (; n < max && (size_t)n < ids.n; n++) tokens[n] = ids.ids[n];
    dc_tok_ids_free(&ids);
    return n;
}

static void add_message(chat *c, const char *role, const char *content, const char *reasoning) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content ? content : "");
    if (reasoning && *reasoning) cJSON_AddStringToObject(m, "reasoning_content", reasoning);
    cJSON_AddItemToArray(c->messages, m);
}

/* One user turn: render, tokenize, generate, remember the answer. */
static void answer(chat *c, const char *user_text) {
    char err[DC_ERR_LEN], *prompt = NULL;
    size_t prompt_len = 0;
    add_message(c, "user", user_text, NULL);
    dc_tok_ids ids = {0};
    if (dc_chat_format_render(&c->fmt, c->messages, true, c->enable_thinking, NULL, &prompt, &prompt_len, err) < 0 ||
        !dc_tok_encode(c->t.tok, prompt, prompt_len, DC_TOK_PARSE_SPECIAL, &ids, err) ||
        dc_gen_prompt(&c->gs, ids.ids, (int32_t)ids.n, NULL, err) < 0) {
        fprintf(stderr, "deepc chat: %s\n", err);
        cJSON_DeleteItemFromArray(c->messages, cJSON_GetArraySize(c->messages) - 1);
        free(prompt);
        dc_tok_ids_free(&ids);
        return;
    }
    dc_detok_init(&c->detok, c->t.tok, false);
    dc_reasoning_init(&c->rs, dc_reasoning_prompt_opens(prompt, prompt_len), emit, c);
    if (c->reasoning_budget >= 0) dc_reasoning_set_budget(&c->rs, c->reasoning_budget);
    c->any_shown = false;
    dc_gen_params gp = {.max_tokens = c->max_tokens, .ignore_eos = c->ignore_eos, .stop = &interrupted};
    dc_gen_stats st = {0};
    interrupted = 0;
    const int rc = dc_generate(&c->gs, c->t.smp, c->t.tok, &gp, on_token, force_close_think, c, &st, err);
    size_t n;
    const char *rest = dc_detok_flush(&c->detok, &n);
    dc_reasoning_feed(&c->rs, rest, n);
    dc_reasoning_finish(&c->rs);
    if (c->tty) fputs("\033[0m", stdout);
    else if (c->any_shown && c->shown == DC_TEXT_REASONING && !c->hide_think) fputs("\n</think>", stdout);
    putchar('\n');
    if (rc < 0) fprintf(stderr, "deepc chat: %s\n", err);
    const double tps = st.gen_seconds > 0 ? st.n_generated / st.gen_seconds : 0;
    fprintf(c->tty ? stdout : stderr, "%s[%d tokens, %.1f tokens/s%s]%s\n", c->tty ? "\033[2m" : "", st.n_generated,
            tps, st.stopped ? ", interrupted" : st.context_full ? ", context full" : "", c->tty ? "\033[0m" : "");
    add_message(c, "assistant", c->content ? c->content : "", c->reasoning);
    free(c->content);
    free(c->reasoning);
    c->content = c->reasoning = NULL;
    c->content_len = c->reasoning_len = 0;
    dc_detok_free(&c->detok);
    dc_tok_ids_free(&ids);
    free(prompt);
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
    dc_gen_session_reset(&c->gs);
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
    chat c = {.enable_thinking = -1, .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)};
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
    o.n_tokens = 512;
    if (!status && !cli_open_text(cmd, &o, &samp, &c.t)) status = 1;
    char err[DC_ERR_LEN];
    if (!status && !dc_chat_format_load(&c.fmt, c.t.model->gguf, c.t.tok, err)) status = cli_fail(cmd, 1, "%s", err);
    if (!status && !dc_gen_session_init(&c.gs, c.t.ctx, 0, 512)) status = cli_fail(cmd, 1, "out of memory");
    if (!status) {
        c.max_tokens = (int32_t)n_gen;
        c.reasoning_budget = budget;
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        reset(&c, system);
        if (c.tty) printf("deepc chat: %s (template: %s). /help for commands, Ctrl-D to exit.\n", o.model_path, c.fmt.source);
        loop(&c, system);
        cJSON_Delete(c.messages);
    }
    dc_gen_session_free(&c.gs);
    dc_chat_format_free(&c.fmt);
    cli_close_text(&c.t);
    cli_model_opts_free(&o);
    return status;
}
