/* json_str.h - decoding one JSON string literal into bytes with a length.
 *
 * cJSON hands strings back NUL-terminated, so a "\u0000" escape would cut
 * them short; tokenizer inputs may contain U+0000, so the tokenize command,
 * the tokenizer test and the benchmark decode JSON string literals with this
 * instead. Strict RFC 8259: escapes \" \\ \/ \b \f \n \r \t \uXXXX (UTF-16
 * surrogate pairs combined; a lone surrogate is an error), raw control
 * characters rejected, other raw bytes copied unchanged.
 */
#ifndef DC_JSON_STR_H
#define DC_JSON_STR_H

#include <stddef.h>

#include "../base/err.h"

/* Decodes the literal starting at s[0] (which must be '"') within s[0, n).
 * Returns the malloc'ed bytes (NUL-terminated, *len excludes the NUL) and
 * sets *end to the index just past the closing quote; NULL + message on a
 * malformed literal. */
char *dc_json_str_decode(const char *s, size_t n, size_t *len, size_t *end, char err[DC_ERR_LEN]);

#endif
