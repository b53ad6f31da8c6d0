/* nfc.h - Unicode data for Normalization Form C (UAX #15), used by the
 * tokenizers whose normalizer is NFC.
 *
 * This header declares the generated tables (nfc_tables.c, see its header
 * for how they are made); the functions using them, tk_nfc_stable_prefix()
 * and tk_nfc_append(), are declared in tok_internal.h and live in nfc.c.
 */
#ifndef DC_NFC_H
#define DC_NFC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t lo, hi;
    uint8_t ccc;
} nfc_ccc_range;

typedef struct {
    uint32_t cp;
    uint16_t off; /* into nfc_decomp_pool */
    uint8_t len;
} nfc_decomp_entry;

typedef struct {
    uint64_t pair; /* first << 21 | second */
    uint32_t composite;
} nfc_compose_entry;

extern const nfc_ccc_range nfc_ccc[];
extern const size_t nfc_ccc_count;
extern const uint32_t nfc_decomp_pool[];
extern const nfc_decomp_entry nfc_decomp[];
extern const size_t nfc_decomp_count;
extern const nfc_compose_entry nfc_compose[];
extern const size_t nfc_compose_count;
extern const uint8_t nfc_unstable_index[0x110000 / 128];
extern const uint8_t nfc_unstable_blocks[][16];

#endif
