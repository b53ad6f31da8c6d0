/* quant_impl.h - how the block-family files plug into the type table.
 *
 * quant.c owns the table of every ggml type id (name, block size, type size)
 * and asks each family file to fill in the function pointers of its types for
 * a SIMD level: 0 = scalar reference, 1 = AVX2 (+FMA, F16C), 2 = AVX-512
 * (F, BW, VL, VNNI). A family fills every function of its types: where it has
 * no variant at the requested level it uses the best lower one, so the table
 * at any level is complete. SIMD functions are compiled with
 * __attribute__((target(DC_TARGET_AVX2))) etc., so the rest of the build
 * needs no -march flags and one binary runs on every x86-64 CPU.
 */
#ifndef DC_QUANT_IMPL_H
#define DC_QUANT_IMPL_H

#include "quant.h"

#define DC_TARGET_AVX2 "avx2,fma,f16c"
#define DC_TARGET_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"

void dc_quant_fill_float(dc_type_traits t[DC_TYPE_COUNT], int level);  /* F32, F16, BF16 */
void dc_quant_fill_legacy(dc_type_traits t[DC_TYPE_COUNT], int level); /* Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 */
void dc_quant_fill_k(dc_type_traits t[DC_TYPE_COUNT], int level);      /* Q2_K..Q6_K, Q8_K */
void dc_quant_fill_iq4(dc_type_traits t[DC_TYPE_COUNT], int level);    /* IQ4_NL, IQ4_XS */

#endif
