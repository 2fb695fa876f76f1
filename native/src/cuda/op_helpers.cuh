// Pieces both fused ops' CUDA files share (mi_forward.cu, logprob_backward.cu): the block
// size, loads of 8 consecutive logits (two float4, or one uint4 of bf16) and of one logit,
// host-to-device uploads into the grow-only scratch, the copy of one logits row back to the
// host for an error message, and event timing of repeated launches for the benchmark.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/errors.h"
#include "cuda/common.cuh"

namespace rapo::cuda {

constexpr int kBlock = 256;

__device__ __forceinline__ float loadOne(const float* p, int64_t j) { return p[j]; }
__device__ __forceinline__ float loadOne(const uint16_t* p, int64_t j) { return bf16Bits(p[j]); }

// 8 consecutive values starting at group g (the row holds a whole number of groups).
__device__ __forceinline__ void loadGroup(const float* row, int64_t g, float* out) {
  const float4* p = reinterpret_cast<const float4*>(row) + 2 * g;
  const float4 a = __ldcs(p), b = __ldcs(p + 1);
  out[0] = a.x; out[1] = a.y; out[2] = a.z; out[3] = a.w;
  out[4] = b.x; out[5] = b.y; out[6] = b.z; out[7] = b.w;
}

__device__ __forceinline__ void loadGroup(const uint16_t* row, int64_t g, float* out) {
  const uint4 q = __ldcs(reinterpret_cast<const uint4*>(row) + g);
  const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    out[2 * k] = __uint_as_float(w[k] << 16);
    out[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
  }
}

template <typename T>
T* upload(Slot slot, const T* host, std::size_t count) {
  T* dev = static_cast<T*>(scratch(slot, count * sizeof(T)));
  RAPO_CUDA_CHECK(cudaMemcpyAsync(dev, host, count * sizeof(T), cudaMemcpyHostToDevice, stream()));
  return dev;
}

// Copies one row of logits (host or device) to host memory for an error message.
inline std::vector<char> rowToHost(const void* base, bool onDevice, int64_t row, int64_t v, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(v) * dtypeSize(dtype);
  std::vector<char> host(bytes);
  const char* src = static_cast<const char*>(base) + row * bytes;
  if (onDevice) {
    RAPO_CUDA_CHECK(cudaMemcpy(host.data(), src, bytes, cudaMemcpyDeviceToHost));
  } else {
    std::copy(src, src + bytes, host.begin());
  }
  return host;
}

template <typename F>
double timeIterations(int iterations, F launch) {
  if (iterations < 1) throwExpected(ErrorKind::Range, "an integer >= 1", "iterations", std::to_string(iterations));
  cudaStream_t s = stream();
  launch();  // warm-up
  cudaEvent_t start, stop;
  RAPO_CUDA_CHECK(cudaEventCreate(&start));
  RAPO_CUDA_CHECK(cudaEventCreate(&stop));
  RAPO_CUDA_CHECK(cudaEventRecord(start, s));
  for (int i = 0; i < iterations; ++i) launch();
  RAPO_CUDA_CHECK(cudaEventRecord(stop, s));
  RAPO_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  RAPO_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / 1000.0 / iterations;
}

}  // namespace rapo::cuda
