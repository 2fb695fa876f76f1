// Per-row CPU kernels. One implementation per instruction set (portable scalar, AVX2+FMA,
// AVX-512VL); cpu/cpu_settings.cc picks one at run time.
#pragma once

#include <cstdint>

#include "rapo/rapo.h"

namespace rapo::cpu {

// Floats of per-thread scratch a row kernel needs.
constexpr int64_t kChunk = 2048;

struct RowLse {
  double lse;      // log-sum-exp of row / T
  double entropy;  // entropy of softmax(row / T) (only when asked)
  double maxRaw;   // max of the raw row (-inf when every value is -inf), NaN-free not guaranteed
  bool finite;     // false when the row holds NaN or +inf, or overflows after / T
};

// In base 2: a probability below 2^-100 (7.9e-31) is 0 for every kernel's backward.
constexpr float kZeroBelowLog2 = -100.0f;

struct RowKernels {
  const char* name;
  // Online log-sum-exp (and entropy) over one row of V logits.
  RowLse (*lseF32)(const float* row, int64_t v, float temperature, bool wantEntropy, float* scratch);
  RowLse (*lseBf16)(const uint16_t* row, int64_t v, float temperature, bool wantEntropy, float* scratch);
  // out[v] = scale * exp(row[v] / T - lse) in the out dtype; returns the sum of exp(row / T - lse),
  // which is 1 when lse belongs to the row. Probabilities below 2^kZeroBelowLog2 are written as
  // exactly 0 (and left out of the sum): a masked entry (-1e9) must give 0, not the clamped
  // exponential's 2^-125, whose products with anything are subnormal floats, 50-100x slower in
  // every later matmul and multiply on Intel cores.
  double (*backward)(const void* row, DType inDtype, int64_t v, float temperature, float lse, float scale,
                     void* out, DType outDtype, float* scratch);
  double (*streamRead)(const float* data, int64_t count);
  // out[i] = 1 / (1 + exp(-x[i])) (SwiGLU's gate); out may be x.
  void (*sigmoid)(const float* x, float* out, int64_t n);
};

const RowKernels& scalarKernels();
bool avx2Supported();  // compiled in and supported by this CPU
const RowKernels& avx2Kernels();
bool avx512Supported();  // AVX-512 F/VL/DQ: compiled in and supported by this CPU
const RowKernels& avx512Kernels();

}  // namespace rapo::cpu
