/* utf8.c - byte buffers, UTF-8 decoding / encoding / lossy repair, Unicode
 * White_Space and the GPT-2 byte-level mapping (see tok_internal.h).
 *
 * Decoding is strict (no overlongs, no surrogates, nothing above U+10FFFF),
 * so "valid" means what Rust's str means. dc_tk_utf8_lossy follows the
 * "maximal subpart" rule of Rust's String::from_utf8_lossy (one U+FFFD per
 * maximal prefix of a valid sequence that cannot be completed, one per stray
 * byte), which makes streamed and whole decoding agree byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

bool dc_tk_buf_reserve(dc_tk_buf *b, size_t extra) {
    if (extra <= b->cap - b->n) return true;
    if (extra > SIZE_MAX / 2 - b->n) return false;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->n < extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool dc_tk_buf_append(dc_tk_buf *b, const void *src, size_t n) {
    if (!dc_tk_buf_reserve(b, n)) return false;
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
    return true;
}

void dc_tk_buf_free(dc_tk_buf *b) {
    free(b->p);
    *b = (dc_tk_buf){0};
}

/* Valid range of the second byte of a sequence led by `lead` (>= 0xC2). */
static void second_byte_range(unsigned char lead, unsigned char *lo, unsigned char *hi) {
    *lo = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    *hi = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
}

static size_t sequence_length(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
}

/* How many bytes of s[0, n) form a valid prefix of the sequence that s[0]
 * starts (need = its full length; 0 for a byte that cannot start one). */
static size_t valid_prefix(const unsigned char *s, size_t n, size_t *need) {
    *need = sequence_length(s[0]);
    if (*need <= 1) return *need;
    unsigned char lo, hi;
    second_byte_range(s[0], &lo, &hi);
    size_t k = 1;
    for (; k < *need && k < n; k++) {
        if (k == 1 ? (s[1] < lo || s[1] > hi) : (s[k] & 0xC0) != 0x80) break;
    }
    return k;
}

int32_t dc_tk_utf8_decode(const unsigned char *s, size_t n, size_t *len) {
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    size_t need, k = valid_prefix(s, n, &need);
    if (need == 0 || k < need) {
        *len = 1;
        return -1;
    }
    int32_t cp = s[0] & (0x7F >> need);
    for (size_t i = 1; i < need; i++) cp = cp << 6 | (s[i] & 0x3F);
    *len = need;
    return cp;
}

size_t dc_tk_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t dc_tk_utf8_lossy(const unsigned char *s, size_t n, bool final, dc_tk_buf *out) {
    static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};
    if (n == 0) return 0;
    if (!dc_tk_buf_reserve(out, n * 3)) return (size_t)-1;
    size_t i = 0, run = 0; /* s[run, i) is valid and not yet copied */
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t need, k = valid_prefix(s + i, n - i, &need);
        if (k == need && need) {
            i += need;
            continue;
        }
        if (i + k == n && need && !final) break; /* might still be completed */
        memcpy(out->p + out->n, s + run, i - run);
        out->n += i - run;
        memcpy(out->p + out->n, replacement, 3);
        out->n += 3;
        i += k ? k : 1;
        run = i;
    }
    memcpy(out->p + out->n, s + run, i - run);
    out->n += i - run;
    return i;
}

bool dc_tk_is_space(int32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes (0x00-0x20, 0x7F-0xA0, 0xAD) become U+0100.. in order. */
uint32_t dc_tk_byte_to_cp(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    if (b <= 0x20) return 0x100u + b;
    if (b <= 0xA0) return b + 0xA2u;
    return 0x143;
}

int dc_tk_cp_to_byte(int32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return cp;
    if (cp >= 0x100 && cp <= 0x120) return cp - 0x100;
    if (cp >= 0x121 && cp <= 0x142) return cp - 0xA2;
    return cp == 0x143 ? 0xAD : -1;
}
