// The vectorized row kernels for AVX2 + FMA (compiled with -mavx2 -mfma).
#include "cpu/rows_simd.inc"
