// Shared device helpers: error checks, warp/block reductions, fast exp2, bf16 loads, and the
// grow-only device scratch the host wrappers reuse between calls.
#pragma once

#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>
#include <mutex>
#include <string>

#include "rapo/rapo.h"

namespace rapo::cuda {

[[noreturn]] void throwCudaError(cudaError_t err, const char* expr, const char* file, int line);

// Every CUDA call goes through this: the error is cleared and thrown with file and line.
#define RAPO_CUDA_CHECK(expr)                                                      \
  do {                                                                             \
    const cudaError_t rapoErr_ = (expr);                                           \
    if (rapoErr_ != cudaSuccess) ::rapo::cuda::throwCudaError(rapoErr_, #expr, __FILE__, __LINE__); \
  } while (0)

// One CUDA operation at a time from this addon (async workers share the scratch and stream).
std::mutex& cudaMutex();
// Throws a clear error when no device is usable.
void requireDevice();
cudaStream_t stream();

// Device scratch slots, grown on demand and kept for the next call.
enum Slot : int {
  kSlotLogitsA = 0, kSlotLogitsB, kSlotTokens, kSlotMask, kSlotOffsets, kSlotAdvantages,
  kSlotRowOut, kSlotStatus, kSlotSeqStats, kSlotLse, kSlotCoef, kSlotDlogits, kSlotNeutral, kSlotScores,
  kSlotSignStats, kSlotCount
};
void* scratch(Slot slot, std::size_t bytes);

constexpr float kLog2e = 1.44269504088896341f;

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float bf16Bits(uint32_t lo16) { return __uint_as_float(lo16 << 16); }

// Online log-sum-exp state in base 2: sum of 2^t and of 2^t * t, t = (z - m) * log2(e).
struct LseState {
  float m;   // running max of z (-inf before any value)
  float s;   // sum of exp2((z - m) * log2e)
  float tz;  // sum of exp2(t) * t
};

__device__ __forceinline__ LseState lseMerge(LseState a, LseState b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.f, 0.f};
  LseState r{m, 0.f, 0.f};
  if (a.m != -INFINITY) {
    const float d = (a.m - m) * kLog2e, sc = ex2(d);
    r.s += a.s * sc;
    r.tz += sc * (a.tz + d * a.s);
  }
  if (b.m != -INFINITY) {
    const float d = (b.m - m) * kLog2e, sc = ex2(d);
    r.s += b.s * sc;
    r.tz += sc * (b.tz + d * b.s);
  }
  return r;
}

template <typename Op, typename V>
__device__ __forceinline__ V warpReduce(V v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ LseState warpReduceLse(LseState st) {
  for (int o = 16; o > 0; o >>= 1) {
    LseState other{__shfl_xor_sync(0xffffffffu, st.m, o), __shfl_xor_sync(0xffffffffu, st.s, o),
                   __shfl_xor_sync(0xffffffffu, st.tz, o)};
    st = lseMerge(st, other);
  }
  return st;
}

// Block-wide reduction; every thread gets the result. `shared` holds at least 32 values.
template <typename V, typename Op>
__device__ V blockReduce(V v, Op op, V identity, V* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warpReduce(v, op);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < warps ? shared[threadIdx.x] : identity;
  if (warp == 0) v = warpReduce(v, op);
  if (threadIdx.x == 0) shared[0] = v;
  __syncthreads();
  v = shared[0];
  __syncthreads();
  return v;
}

struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct MinOp { __device__ float operator()(float a, float b) const { return fminf(a, b); } };
template <typename V> struct SumOp { __device__ V operator()(V a, V b) const { return a + b; } };
struct OrOp { __device__ int operator()(int a, int b) const { return a | b; } };

}  // namespace rapo::cuda
