/* output.h - the text side of one generation request: generated token ids in,
 * releasable text out.
 *
 *   id -> streaming detokenizer (whole UTF-8 characters only)
 *      -> stop strings: text that may still begin a stop string is held; a
 *         completed stop string ends the output and neither it nor anything
 *         after it is released
 *      -> reasoning splitter (optional): <think> ... </think> as reasoning,
 *         the rest as content (see chat/reasoning.h)
 *      -> content / reasoning of this step, read by the caller and cleared
 *
 * The result does not depend on how the text is cut into tokens: a stop
 * string split across several tokens is caught, and the concatenation of
 * every step's text plus dc_output_finish's is the whole answer.
 *
 * Memory: a dc_output owns copies of the stop strings and its buffers; free
 * it with dc_output_free. The tokenizer is borrowed.
 */
#ifndef DC_OUTPUT_H
#define DC_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../chat/reasoning.h"
#include "../tokenizer/tokenizer.h"
#include "deepc.h"

typedef struct {
    char *p;
    size_t len, cap;
} dc_text;

typedef struct {
    dc_detok detok;
    dc_reasoning rs;
    bool split;                       /* reasoning split on */
    char *stop[DEEPC_MAX_STOP];       /* owned copies */
    size_t stop_len[DEEPC_MAX_STOP];
    int n_stop;
    bool stopped;                     /* a stop string matched: the output is over */
    bool oom;                         /* a buffer could not grow: text was lost */
    dc_text held;                     /* decoded text not yet past the stop check */
    dc_text content, reasoning;       /* released since the last dc_output_clear */
} dc_output;

/* false when out of memory (o is then safe to free). */
bool dc_output_init(dc_output *o, const dc_tokenizer *tok, const char *const *stop, int n_stop, bool split,
                    bool starts_in_reasoning, int64_t reasoning_budget);
void dc_output_free(dc_output *o);

/* Passes one generated token's text through the pipeline (end-of-generation
 * tokens should not be fed: their text is not part of the answer). Does
 * nothing once stopped. */
void dc_output_feed(dc_output *o, int32_t id);
/* End of output: releases what was held (an incomplete UTF-8 character as
 * U+FFFD, a partial stop string as text) unless a stop string matched. */
void dc_output_finish(dc_output *o);
/* Forgets the text released so far (after the caller has passed it on). */
void dc_output_clear(dc_output *o);
/* true while inside the reasoning and over its budget (see reasoning.h). */
bool dc_output_over_budget(const dc_output *o);

#endif
