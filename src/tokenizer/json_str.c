/* json_str.c - JSON string literal decoding with explicit length (see
 * json_str.h). The output never exceeds the literal's length: every escape
 * is at least as long as the UTF-8 it stands for. */
#include "json_str.h"

#include <stdlib.h>

#include "tok_internal.h"

static int hex4(const char *s, size_t n, size_t i) {
    if (n - i < 4) return -1;
    int v = 0;
    for (size_t k = i; k < i + 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Decodes the \u escape at s[i] (pointing at 'u'), with its low surrogate
 * if it is a high one; advances *i past it. -1 when malformed. */
static int32_t unicode_escape(const char *s, size_t n, size_t *i) {
    int hi = hex4(s, n, *i + 1);
    if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return -1;
    *i += 5;
    if (hi < 0xD800 || hi > 0xDBFF) return hi;
    if (n - *i < 6 || s[*i] != '\\' || s[*i + 1] != 'u') return -1;
    int lo = hex4(s, n, *i + 2);
    if (lo < 0xDC00 || lo > 0xDFFF) return -1;
    *i += 6;
    return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

static char simple_escape(char c) {
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

char *dc_json_str_decode(const char *s, size_t n, size_t *len, size_t *end, char err[DC_ERR_LEN]) {
    if (n == 0 || s[0] != '"') return dc_err(err, "expected a JSON string"), NULL;
    char *out = malloc(n);
    if (!out) return dc_err(err, "out of memory"), NULL;
    size_t o = 0;
    for (size_t i = 1; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            out[o] = '\0';
            *len = o;
            *end = i + 1;
            return out;
        }
        if (c < 0x20) {
            free(out);
            return dc_err(err, "raw control character 0x%02x in a JSON string (byte %zu)", c, i), NULL;
        }
        if (c != '\\') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (i + 1 >= n) break;
        if (s[i + 1] == 'u') {
            i++;
            int32_t cp = unicode_escape(s, n, &i);
            if (cp < 0) {
                free(out);
                return dc_err(err, "bad \\u escape (or lone surrogate) in a JSON string (byte %zu)", i), NULL;
            }
            o += dc_tk_utf8_encode((uint32_t)cp, out + o);
            continue;
        }
        char e = simple_escape(s[i + 1]);
        if (!e) {
            free(out);
            return dc_err(err, "bad escape '\\%c' in a JSON string (byte %zu)", s[i + 1], i), NULL;
        }
        out[o++] = e;
        i += 2;
    }
    free(out);
    return dc_err(err, "unterminated JSON string"), NULL;
}
