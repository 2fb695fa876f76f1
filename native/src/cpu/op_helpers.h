// Small pieces both fused CPU ops use (mi_forward.cc, logprob_backward.cc): the row kernels
// in use, per-worker scratch, reading one logit of either dtype, and an atomic minimum that
// records the lowest bad row while the threads run.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/bf16.h"
#include "cpu/rows.h"
#include "rapo/rapo.h"

namespace rapo::cpu {

// The row kernels in use: the widest this CPU supports unless setCpuIsa chose another
// (cpu_settings.cc).
const RowKernels& activeKernels();

// Softmax of one row of `cols` floats into `orow` (may be `xr`) with the row kernels `k`:
// -inf entries give exactly 0, a row with NaN or +inf goes through a plain loop that gives
// tfjs's answers, and an all -inf row gives NaN. `scratch` is a worker's Scratch area
// (tensor_ops.cc).
void softmaxRow(const RowKernels& k, const float* xr, float* orow, int64_t cols, float* scratch);

// Grows a per-worker scratch area of kChunk floats (32-byte aligned).
struct Scratch {
  std::vector<float> data;
  float* forWorker(int worker) { return data.data() + static_cast<std::size_t>(worker) * (kChunk + 8); }
  explicit Scratch(int workers) : data(static_cast<std::size_t>(workers) * (kChunk + 8)) {}
};

inline float rawAt(const void* base, DType dtype, int64_t index) {
  return dtype == DType::F32 ? static_cast<const float*>(base)[index]
                             : bf16ToFloat(static_cast<const uint16_t*>(base)[index]);
}

inline void atomicMin(std::atomic<int64_t>& target, int64_t value) {
  int64_t cur = target.load();
  while (value < cur && !target.compare_exchange_weak(cur, value)) {
  }
}

}  // namespace rapo::cpu
