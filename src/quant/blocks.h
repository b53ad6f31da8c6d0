/* blocks.h - the on-disk block layouts of the quantized types, defined once.
 *
 * These are ggml's layouts byte for byte (GGUF tensor data is an array of
 * them). Scales are IEEE half (uint16_t, see dc_fp16_to_fp32) unless noted.
 * Each struct is checked against its ggml size below.
 */
#ifndef DC_BLOCKS_H
#define DC_BLOCKS_H

#include <stdint.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK4_NL 32
#define QK_K 256
#define K_SCALE_SIZE 12

/* x = d * (q - 8), q: 4 bits; qs[j] low nibble = element j, high = j + 16 */
typedef struct { uint16_t d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
/* x = d * q + m */
typedef struct { uint16_t d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
/* x = d * (q - 16), q: 5 bits, fifth bit of element j in bit j of qh */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
/* x = d * q + m, 5-bit q */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
/* x = d * q, q: int8 */
typedef struct { uint16_t d; int8_t qs[QK8_0]; } block_q8_0;
/* x = d * q; s = d * sum(q) (both half) - activation format for Q4_1/Q5_1 */
typedef struct { uint16_t d, s; int8_t qs[QK8_1]; } block_q8_1;
/* x = d * kvalues_iq4nl[q], q: 4 bits in Q4_0's nibble order */
typedef struct { uint16_t d; uint8_t qs[QK4_NL / 2]; } block_iq4_nl;

/* 16 sub-blocks of 16: scales[i] low nibble = scale, high nibble = min; 2-bit q */
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; } block_q2_K;
/* 16 sub-blocks of 16, 6-bit scales packed in 12 bytes; 3-bit q = 2 low bits + hmask bit */
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; } block_q3_K;
/* 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes; 4-bit q */
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
/* as q4_K with a fifth bit per element in qh */
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
/* 16 sub-blocks of 16, int8 scales; 6-bit q = 4 low bits (ql) + 2 high bits (qh), minus 32 */
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K;
/* activation format for the K-quants: float scale, int8 q, sums of each 16 q */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;
/* 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l, high 2 in scales_h), iq4_nl values */
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; } block_iq4_xs;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl layout");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs layout");

/* The 16 non-linear values of IQ4_NL / IQ4_XS. */
extern const int8_t dc_kvalues_iq4nl[16];

#endif
