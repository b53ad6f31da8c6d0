/* reasoning.c - the streaming reasoning/content splitter of reasoning.h.
 *
 * How it works: a byte-at-a-time state machine
 *
 *   PRELUDE     start of output, prompt did not open `<think>`: whitespace
 *               is content; `<think>` -> REASONING; anything else -> CONTENT
 *   REASONING   inside the block: `</think>` -> AFTER_CLOSE; while
 *               may_open, a `<think>` is swallowed
 *   AFTER_CLOSE whitespace after `</think>` is dropped; anything else ->
 *               CONTENT
 *   CONTENT     everything is content but the tags (fast path: the text up
 *               to the next '<' of a piece)
 *
 * Tags are never content: a `<think>` or `</think>` met in PRELUDE (a
 * closing one), AFTER_CLOSE or CONTENT - a model repeating its tags after it
 * stopped thinking - is dropped, the text around it stays content.
 *
 * A '<' starts a held tag prefix (r->tag); each next
 * byte either extends it towards a tag the state accepts, completes it (the
 * tag is consumed, never emitted), or shows it is not a tag: the held bytes
 * are then released as ordinary text of the state and the byte is handled
 * afresh. That restart is enough because '<' occurs in the tags only at
 * their first byte, so no suffix of a failed prefix can begin a tag.
 *
 * Invariants: r->tag holds a proper prefix of a tag the current state
 * accepts (tag_len < 9); r->ws holds whitespace only in REASONING with
 * block_empty false and always precedes r->tag in the text; text reaches
 * the callback in input order. Output goes through r->out so the callback
 * sees runs rather than bytes; it is flushed at the end of every feed.
 */
#include "reasoning.h"

#include <string.h>

enum { ST_PRELUDE, ST_REASONING, ST_AFTER_CLOSE, ST_CONTENT };

static const char TAG_OPEN[] = "<think>";
static const char TAG_CLOSE[] = "</think>";

typedef enum { MATCH_NONE, MATCH_PARTIAL, MATCH_OPEN, MATCH_CLOSE } tag_match;

/* The C locale's isspace, independent of the current locale. */
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/* ---- output ---- */

static void flush(dc_reasoning *r) {
    if (r->out_len) r->emit(r->user, r->out_kind, r->out, r->out_len);
    r->out_len = 0;
}

static void put(dc_reasoning *r, dc_text_kind kind, const char *s, size_t n) {
    if (n == 0) return;
    if (r->out_len && (kind != r->out_kind || r->out_len + n > sizeof r->out)) flush(r);
    if (n > sizeof r->out) {
        r->emit(r->user, kind, s, n);
        return;
    }
    memcpy(r->out + r->out_len, s, n);
    r->out_len += n;
    r->out_kind = kind;
}

/* Reasoning text other than trailing whitespace: held whitespace goes first. */
static void reasoning_text(dc_reasoning *r, const char *s, size_t n) {
    put(r, DC_TEXT_REASONING, r->ws, r->ws_len);
    r->ws_len = 0;
    put(r, DC_TEXT_REASONING, s, n);
    r->block_empty = false;
    r->may_open = false;
}

static void hold_ws(dc_reasoning *r, char c) {
    if (r->ws_len == sizeof r->ws) { /* too long to hold: pass it on */
        put(r, DC_TEXT_REASONING, r->ws, r->ws_len);
        r->ws_len = 0;
    }
    r->ws[r->ws_len++] = c;
}

/* ---- tags ---- */

static bool accepts_open(const dc_reasoning *r) { return r->state != ST_REASONING || r->may_open; }

static tag_match match_one(const dc_reasoning *r, const char *tag, tag_match full) {
    size_t n = strlen(tag);
    if (r->tag_len > n || memcmp(r->tag, tag, r->tag_len) != 0) return MATCH_NONE;
    return r->tag_len == n ? full : MATCH_PARTIAL;
}

/* Classifies the held bytes against the tags the current state accepts. */
static tag_match match_held(const dc_reasoning *r) {
    tag_match open = accepts_open(r) ? match_one(r, TAG_OPEN, MATCH_OPEN) : MATCH_NONE;
    tag_match close = match_one(r, TAG_CLOSE, MATCH_CLOSE);
    return open != MATCH_NONE ? open : close;
}

/* The held bytes were not a tag: they are ordinary text of the state. */
static void release_tag(dc_reasoning *r) {
    if (r->state == ST_REASONING) {
        reasoning_text(r, r->tag, r->tag_len);
    } else {
        r->state = ST_CONTENT;
        put(r, DC_TEXT_CONTENT, r->tag, r->tag_len);
    }
    r->tag_len = 0;
}

static void open_reasoning(dc_reasoning *r) {
    r->state = ST_REASONING;
    r->block_empty = true;
    r->may_open = false;
}

static void close_reasoning(dc_reasoning *r) {
    r->ws_len = 0; /* whitespace before `</think>` is trimmed */
    r->state = ST_AFTER_CLOSE;
}

static void on_byte(dc_reasoning *r, char c);

/* c extends, completes or breaks the held tag prefix (tag_len > 0 or c == '<'). */
static void tag_byte(dc_reasoning *r, char c) {
    r->tag[r->tag_len++] = c;
    const tag_match m = match_held(r);
    if (m == MATCH_PARTIAL) return;
    if (m != MATCH_NONE) {
        r->tag_len = 0;
        if (m == MATCH_OPEN && r->state != ST_CONTENT && r->state != ST_AFTER_CLOSE) open_reasoning(r);
        else if (m == MATCH_CLOSE && (r->state == ST_REASONING || r->state == ST_PRELUDE)) close_reasoning(r);
        /* otherwise a stray tag in the answer: dropped */
        return;
    }
    r->tag_len--;
    release_tag(r);
    on_byte(r, c); /* tag_len is 0 now: at most one more level */
}

/* ---- bytes ---- */

static void reasoning_byte(dc_reasoning *r, char c) {
    if (!is_ws(c)) reasoning_text(r, &c, 1);
    else if (!r->block_empty) hold_ws(r, c);
    /* leading whitespace of the reasoning is dropped */
}

static void on_byte(dc_reasoning *r, char c) {
    if (r->tag_len > 0 || c == '<') {
        tag_byte(r, c);
        return;
    }
    switch (r->state) {
    case ST_PRELUDE:
        if (!is_ws(c)) r->state = ST_CONTENT;
        put(r, DC_TEXT_CONTENT, &c, 1);
        break;
    case ST_REASONING: reasoning_byte(r, c); break;
    case ST_AFTER_CLOSE:
        if (is_ws(c)) break;
        r->state = ST_CONTENT;
        put(r, DC_TEXT_CONTENT, &c, 1);
        break;
    default: put(r, DC_TEXT_CONTENT, &c, 1); break;
    }
}

/* ---- API ---- */

void dc_reasoning_init(dc_reasoning *r, bool starts_in_reasoning, dc_reasoning_emit emit, void *user) {
    memset(r, 0, sizeof *r);
    r->emit = emit;
    r->user = user;
    r->budget = -1;
    if (starts_in_reasoning) {
        open_reasoning(r);
        r->may_open = true;
    } else {
        r->state = ST_PRELUDE;
    }
}

void dc_reasoning_feed(dc_reasoning *r, const char *piece, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (r->state == ST_CONTENT && r->tag_len == 0) { /* fast path: content up to the next '<' */
            const char *lt = memchr(piece + i, '<', len - i);
            const size_t n = lt ? (size_t)(lt - (piece + i)) : len - i;
            put(r, DC_TEXT_CONTENT, piece + i, n);
            i += n;
            if (i == len) break;
        }
        on_byte(r, piece[i++]);
    }
    if (r->state == ST_REASONING) r->n_reasoning++;
    flush(r);
}

void dc_reasoning_finish(dc_reasoning *r) {
    if (r->tag_len) release_tag(r);
    r->ws_len = 0; /* trailing whitespace of an unclosed reasoning */
    flush(r);
}

bool dc_reasoning_active(const dc_reasoning *r) { return r->state == ST_REASONING; }

void dc_reasoning_set_budget(dc_reasoning *r, int64_t max_tokens) { r->budget = max_tokens; }

bool dc_reasoning_over_budget(const dc_reasoning *r) {
    return r->budget >= 0 && r->state == ST_REASONING && r->n_reasoning >= r->budget;
}

bool dc_reasoning_prompt_opens(const char *prompt, size_t len) {
    while (len > 0 && is_ws(prompt[len - 1])) len--;
    size_t n = sizeof TAG_OPEN - 1;
    return len >= n && memcmp(prompt + len - n, TAG_OPEN, n) == 0;
}
