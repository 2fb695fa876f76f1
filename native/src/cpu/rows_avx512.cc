// The vectorized row kernels with AVX-512 F/VL/DQ on 256-bit registers (compiled with
// -mavx512f -mavx512vl -mavx512dq -mavx2 -mfma).
#define RAPO_ROWS_AVX512 1
#include "cpu/rows_simd.inc"
