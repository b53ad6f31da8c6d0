/* nfc.h - Unicode data for Normalization Form C (UAX #15), used by the
 * tokenizers whose normalizer is NFC.
 *
 * This header declares the generated tables (nfc_tables.c, see its header
 * for how they are made); the functions using them, dc_tk_nfc_stable_prefix()
 * and dc_tk_nfc_append(), are declared in tok_internal.h and live in nfc.c.
 */
#ifndef DC_NFC_H
#define DC_NFC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t lo, hi;
    uint8_t ccc;
} dc_nfc_ccc_range;

typedef struct {
    uint32_t cp;
    uint16_t off; /* into dc_nfc_decomp_pool */
    uint8_t len;
} dc_nfc_decomp_entry;

typedef struct {
    uint64_t pair; /* first << 21 | second */
    uint32_t composite;
} dc_nfc_compose_entry;

extern const dc_nfc_ccc_range dc_nfc_ccc[];
extern const size_t dc_nfc_ccc_count;
extern const uint32_t dc_nfc_decomp_pool[];
extern const dc_nfc_decomp_entry dc_nfc_decomp[];
extern const size_t dc_nfc_decomp_count;
extern const dc_nfc_compose_entry dc_nfc_compose[];
extern const size_t dc_nfc_compose_count;
extern const uint8_t dc_nfc_unstable_index[0x110000 / 128];
extern const uint8_t dc_nfc_unstable_blocks[][16];

#endif
