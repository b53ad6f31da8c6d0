/* nfc.c - Unicode Normalization Form C over UTF-8 (see tok_internal.h).
 *
 * dc_tk_nfc_append works on a code point array: decode (an invalid byte b is
 * kept as the pseudo code point TK_RAW + b, class 0, never composing),
 * decompose fully (table or Hangul arithmetic), sort each run of non-zero
 * combining classes stably by class, then compose left to right with the
 * UAX #15 blocking rule, and encode back. The quick check keeps
 * already-normalized text (almost all text) off that path, and since NFC
 * never reaches across a stable code point, only the spans from the stable
 * character before an unstable run to the next stable one are normalized.
 */
#include <stdlib.h>

#include "tok_internal.h"

#define TK_RAW 0x110000u /* pseudo code points for invalid bytes */

enum {
    S_BASE = 0xAC00,
    L_BASE = 0x1100,
    V_BASE = 0x1161,
    T_BASE = 0x11A7,
    L_COUNT = 19,
    V_COUNT = 21,
    T_COUNT = 28,
    N_COUNT = V_COUNT * T_COUNT,
    S_COUNT = L_COUNT * N_COUNT
};

static bool dc_nfc_unstable(uint32_t cp) {
    const uint8_t *block = dc_nfc_unstable_blocks[dc_nfc_unstable_index[cp >> 7]];
    return (block[(cp & 127) >> 3] >> (cp & 7)) & 1;
}

/* bsearch comparators: key is a uint32_t code point or a uint64_t pair. */
static int cmp_ccc(const void *key, const void *elt) {
    const uint32_t cp = *(const uint32_t *)key;
    const dc_nfc_ccc_range *r = elt;
    return cp < r->lo ? -1 : cp > r->hi;
}

static int cmp_decomp(const void *key, const void *elt) {
    const uint32_t cp = *(const uint32_t *)key, e = ((const dc_nfc_decomp_entry *)elt)->cp;
    return (cp > e) - (cp < e);
}

static int cmp_compose(const void *key, const void *elt) {
    const uint64_t k = *(const uint64_t *)key, e = ((const dc_nfc_compose_entry *)elt)->pair;
    return (k > e) - (k < e);
}

static uint8_t dc_nfc_class(uint32_t cp) {
    if (cp < 0x300 || cp >= TK_RAW) return 0;
    const dc_nfc_ccc_range *r = bsearch(&cp, dc_nfc_ccc, dc_nfc_ccc_count, sizeof *dc_nfc_ccc, cmp_ccc);
    return r ? r->ccc : 0;
}

static const dc_nfc_decomp_entry *dc_nfc_find_decomp(uint32_t cp) {
    return bsearch(&cp, dc_nfc_decomp, dc_nfc_decomp_count, sizeof *dc_nfc_decomp, cmp_decomp);
}

/* The primary composite of (a, b), or 0 when they do not compose. */
static uint32_t dc_nfc_compose_pair(uint32_t a, uint32_t b) {
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT) return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1) return a + (b - T_BASE);
    if (a >= TK_RAW || b >= TK_RAW) return 0;
    const uint64_t key = (uint64_t)a << 21 | b;
    const dc_nfc_compose_entry *e = bsearch(&key, dc_nfc_compose, dc_nfc_compose_count, sizeof *dc_nfc_compose, cmp_compose);
    return e ? e->composite : 0;
}

size_t dc_tk_nfc_stable_prefix(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, prev = 0; /* prev: start of the character before i */
    while (i < n) {
        if (u[i] < 0xCC) { /* ASCII, stray bytes and 2-byte characters below U+0300 */
            prev = i;
            i += (u[i] >= 0xC2 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) ? 2 : 1;
            continue;
        }
        size_t len;
        int32_t cp = dc_tk_utf8_decode(u + i, n - i, &len);
        if (cp >= 0 && dc_nfc_unstable((uint32_t)cp)) return prev;
        prev = i;
        i += len;
    }
    return n;
}

size_t dc_tk_nfc_unstable_span(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i, len;
    dc_tk_utf8_decode(u, n, &len);
    for (i = len; i < n; i += len) {
        int32_t cp = dc_tk_utf8_decode(u + i, n - i, &len);
        if (cp < 0 || !dc_nfc_unstable((uint32_t)cp)) break;
    }
    return i;
}

/* Appends the full canonical decomposition of cp to cps. */
static size_t dc_nfc_decompose(uint32_t cp, uint32_t *cps) {
    if (cp - S_BASE < S_COUNT) {
        uint32_t s = cp - S_BASE;
        cps[0] = L_BASE + s / N_COUNT;
        cps[1] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (s % T_COUNT == 0) return 2;
        cps[2] = T_BASE + s % T_COUNT;
        return 3;
    }
    const dc_nfc_decomp_entry *e = cp >= 0xC0 && cp < TK_RAW ? dc_nfc_find_decomp(cp) : NULL;
    if (!e) {
        cps[0] = cp;
        return 1;
    }
    for (size_t k = 0; k < e->len; k++) cps[k] = dc_nfc_decomp_pool[e->off + k];
    return e->len;
}

/* Stable insertion sort of every run of non-starters by combining class. */
static void dc_nfc_reorder(uint32_t *cps, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint8_t c = dc_nfc_class(cps[i]);
        if (c == 0) continue;
        uint32_t cp = cps[i];
        size_t j = i;
        while (j > 0 && dc_nfc_class(cps[j - 1]) > c) {
            cps[j] = cps[j - 1];
            j--;
        }
        cps[j] = cp;
    }
}

/* Canonical composition in place; returns the new length. */
static size_t dc_nfc_compose_all(uint32_t *cps, size_t n) {
    if (n == 0) return 0;
    size_t starter = 0, out = 1;
    int last_class = dc_nfc_class(cps[0]) ? 256 : 0; /* 256: no starter to compose with yet */
    for (size_t i = 1; i < n; i++) {
        uint32_t cp = cps[i];
        int cls = dc_nfc_class(cp);
        uint32_t comp = last_class < cls || last_class == 0 ? dc_nfc_compose_pair(cps[starter], cp) : 0;
        if (comp) {
            cps[starter] = comp;
            continue;
        }
        if (cls == 0) starter = out;
        last_class = cls;
        cps[out++] = cp;
    }
    return out;
}

bool dc_tk_nfc_append(const char *s, size_t n, dc_tk_buf *out) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t *cps = malloc((2 * n + 4) * sizeof *cps);
    if (!cps) return false;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int32_t cp = dc_tk_utf8_decode(u + i, n - i, &len);
        m += dc_nfc_decompose(cp < 0 ? TK_RAW + u[i] : (uint32_t)cp, cps + m);
        i += len;
    }
    dc_nfc_reorder(cps, m);
    m = dc_nfc_compose_all(cps, m);
    bool ok = dc_tk_buf_reserve(out, 4 * m);
    for (size_t i = 0; ok && i < m; i++) {
        if (cps[i] >= TK_RAW)
            out->p[out->n++] = (char)(cps[i] - TK_RAW);
        else
            out->n += dc_tk_utf8_encode(cps[i], out->p + out->n);
    }
    free(cps);
    return ok;
}
