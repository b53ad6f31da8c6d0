/* nfc.c - Unicode Normalization Form C over UTF-8 (see tok_internal.h).
 *
 * tk_nfc_append works on a code point array: decode (an invalid byte b is
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

static bool nfc_unstable(uint32_t cp) {
    const uint8_t *block = nfc_unstable_blocks[nfc_unstable_index[cp >> 7]];
    return (block[(cp & 127) >> 3] >> (cp & 7)) & 1;
}

/* bsearch comparators: key is a uint32_t code point or a uint64_t pair. */
static int cmp_ccc(const void *key, const void *elt) {
    const uint32_t cp = *(const uint32_t *)key;
    const nfc_ccc_range *r = elt;
    return cp < r->lo ? -1 : cp > r->hi;
}

static int cmp_decomp(const void *key, const void *elt) {
    const uint32_t cp = *(const uint32_t *)key, e = ((const nfc_decomp_entry *)elt)->cp;
    return (cp > e) - (cp < e);
}

static int cmp_compose(const void *key, const void *elt) {
    const uint64_t k = *(const uint64_t *)key, e = ((const nfc_compose_entry *)elt)->pair;
    return (k > e) - (k < e);
}

static uint8_t nfc_class(uint32_t cp) {
    if (cp < 0x300 || cp >= TK_RAW) return 0;
    const nfc_ccc_range *r = bsearch(&cp, nfc_ccc, nfc_ccc_count, sizeof *nfc_ccc, cmp_ccc);
    return r ? r->ccc : 0;
}

static const nfc_decomp_entry *nfc_find_decomp(uint32_t cp) {
    return bsearch(&cp, nfc_decomp, nfc_decomp_count, sizeof *nfc_decomp, cmp_decomp);
}

/* The primary composite of (a, b), or 0 when they do not compose. */
static uint32_t nfc_compose_pair(uint32_t a, uint32_t b) {
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT) return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1) return a + (b - T_BASE);
    if (a >= TK_RAW || b >= TK_RAW) return 0;
    const uint64_t key = (uint64_t)a << 21 | b;
    const nfc_compose_entry *e = bsearch(&key, nfc_compose, nfc_compose_count, sizeof *nfc_compose, cmp_compose);
    return e ? e->composite : 0;
}

size_t tk_nfc_stable_prefix(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, prev = 0; /* prev: start of the character before i */
    while (i < n) {
        if (u[i] < 0xCC) { /* ASCII, stray bytes and 2-byte characters below U+0300 */
            prev = i;
            i += (u[i] >= 0xC2 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) ? 2 : 1;
            continue;
        }
        size_t len;
        int32_t cp = tk_utf8_decode(u + i, n - i, &len);
        if (cp >= 0 && nfc_unstable((uint32_t)cp)) return prev;
        prev = i;
        i += len;
    }
    return n;
}

size_t tk_nfc_unstable_span(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i, len;
    tk_utf8_decode(u, n, &len);
    for (i = len; i < n; i += len) {
        int32_t cp = tk_utf8_decode(u + i, n - i, &len);
        if (cp < 0 || !nfc_unstable((uint32_t)cp)) break;
    }
    return i;
}

/* Appends the full canonical decomposition of cp to cps. */
static size_t nfc_decompose(uint32_t cp, uint32_t *cps) {
    if (cp - S_BASE < S_COUNT) {
        uint32_t s = cp - S_BASE;
        cps[0] = L_BASE + s / N_COUNT;
        cps[1] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (s % T_COUNT == 0) return 2;
        cps[2] = T_BASE + s % T_COUNT;
        return 3;
    }
    const nfc_decomp_entry *e = cp >= 0xC0 && cp < TK_RAW ? nfc_find_decomp(cp) : NULL;
    if (!e) {
        cps[0] = cp;
        return 1;
    }
    for (size_t k = 0; k < e->len; k++) cps[k] = nfc_decomp_pool[e->off + k];
    return e->len;
}

/* Stable insertion sort of every run of non-starters by combining class. */
static void nfc_reorder(uint32_t *cps, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint8_t c = nfc_class(cps[i]);
        if (c == 0) continue;
        uint32_t cp = cps[i];
        size_t j = i;
        while (j > 0 && nfc_class(cps[j - 1]) > c) {
            cps[j] = cps[j - 1];
            j--;
        }
        cps[j] = cp;
    }
}

/* Canonical composition in place; returns the new length. */
static size_t nfc_compose_all(uint32_t *cps, size_t n) {
    if (n == 0) return 0;
    size_t starter = 0, out = 1;
    int last_class = nfc_class(cps[0]) ? 256 : 0; /* 256: no starter to compose with yet */
    for (size_t i = 1; i < n; i++) {
        uint32_t cp = cps[i];
        int cls = nfc_class(cp);
        uint32_t comp = last_class < cls || last_class == 0 ? nfc_compose_pair(cps[starter], cp) : 0;
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

bool tk_nfc_append(const char *s, size_t n, tk_buf *out) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t *cps = malloc((2 * n + 4) * sizeof *cps);
    if (!cps) return false;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int32_t cp = tk_utf8_decode(u + i, n - i, &len);
        m += nfc_decompose(cp < 0 ? TK_RAW + u[i] : (uint32_t)cp, cps + m);
        i += len;
    }
    nfc_reorder(cps, m);
    m = nfc_compose_all(cps, m);
    bool ok = tk_buf_reserve(out, 4 * m);
    for (size_t i = 0; ok && i < m; i++) {
        if (cps[i] >= TK_RAW)
            out->p[out->n++] = (char)(cps[i] - TK_RAW);
        else
            out->n += tk_utf8_encode(cps[i], out->p + out->n);
    }
    free(cps);
    return ok;
}
