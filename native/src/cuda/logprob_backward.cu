// logprobBackward on CUDA. Inputs: logits [N, V] (float32 or bf16 bits, host or device), the
// sampled tokens [N], the log-sums-exp [N] that miForward saved, per-row coefficients [N] and
// the temperature. Output: dlogits [N, V] in float32 or bf16, the gradient of
// -sum_n coef[n] * logp[n]: coef[n] * (softmax(z[n]) - onehot(tokens[n])) / T with z = logits / T,
// rebuilt from the saved lse so no softmax is ever stored.
//
// One 256-thread block per row streams the row once, writes every entry and sums the softmax;
// a sum that is not 1 within 1e-3 means the lse belongs to other logits, and the call fails
// naming the row. Rows with coef = 0 are written as zeros without reading the logits. The CPU
// twin is cpu/logprob_backward.cc; the oracle is libs/kernels/src/reference/logprob-backward.ts.
#include <cmath>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/internal.h"
#include "cuda/common.cuh"
#include "cuda/op_helpers.cuh"

namespace rapo {
namespace cuda {

namespace {

__device__ __forceinline__ void storeGroup(float* row, int64_t g, const float* vals) {
  float4* p = reinterpret_cast<float4*>(row) + 2 * g;
  __stcs(p, make_float4(vals[0], vals[1], vals[2], vals[3]));
  __stcs(p + 1, make_float4(vals[4], vals[5], vals[6], vals[7]));
}

__device__ __forceinline__ uint32_t toBf16(float f) {  // round to nearest even
  const uint32_t b = __float_as_uint(f);
  return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
}

__device__ __forceinline__ void storeGroup(uint16_t* row, int64_t g, const float* vals) {
  uint4 q;
  q.x = toBf16(vals[0]) | (toBf16(vals[1]) << 16);
  q.y = toBf16(vals[2]) | (toBf16(vals[3]) << 16);
  q.z = toBf16(vals[4]) | (toBf16(vals[5]) << 16);
  q.w = toBf16(vals[6]) | (toBf16(vals[7]) << 16);
  __stcs(reinterpret_cast<uint4*>(row) + g, q);
}

__device__ __forceinline__ void storeOne(float* p, int64_t j, float x) { p[j] = x; }
__device__ __forceinline__ void storeOne(uint16_t* p, int64_t j, float x) { p[j] = uint16_t(toBf16(x)); }

struct BackwardArgs {
  const void* logits;
  const int32_t* tokens;
  const float* lse;
  const float* coef;
  int64_t n, v;
  float invT;
  void* out;
  int32_t* status;  // [N]
  float* sums;      // [N]
};

template <typename TIn, typename TOut, bool kVec>
__global__ void __launch_bounds__(kBlock) backwardKernel(BackwardArgs a) {
  __shared__ float shf[32];
  const int64_t row = blockIdx.x, v = a.v;
  const TIn* x = static_cast<const TIn*>(a.logits) + row * v;
  TOut* out = static_cast<TOut*>(a.out) + row * v;
  const float coef = a.coef[row];
  if (coef == 0.f) {
    const float zero[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (kVec) {
      for (int64_t g = threadIdx.x; g < v / 8; g += kBlock) storeGroup(out, g, zero);
    } else {
      for (int64_t j = threadIdx.x; j < v; j += kBlock) storeOne(out, j, 0.f);
    }
    if (threadIdx.x == 0) a.status[row] = kRowOk;
    return;
  }
  const float invT = a.invT, nl = -a.lse[row], scale = coef * invT;
  float sum = 0.f;
  if (kVec) {
    // Two groups per thread per step, both loads issued before any math, for memory-level
    // parallelism.
    const int64_t groups = v / 8;
    for (int64_t g = threadIdx.x; g < groups; g += 2 * kBlock) {
      const bool second = g + kBlock < groups;
      float vals[16];
      loadGroup(x, g, vals);
      if (second) loadGroup(x, g + kBlock, vals + 8);
#pragma unroll
      for (int k = 0; k < 16; ++k) {
        if (k >= 8 && !second) break;
        const float e = ex2(fminf(fmaf(vals[k], invT, nl) * kLog2e, 127.f));
        sum += e;
        vals[k] = e * scale;
      }
      storeGroup(out, g, vals);
      if (second) storeGroup(out, g + kBlock, vals + 8);
    }
  } else {
    for (int64_t j = threadIdx.x; j < v; j += kBlock) {
      const float e = ex2(fminf(fmaf(loadOne(x, j), invT, nl) * kLog2e, 127.f));
      sum += e;
      storeOne(out, j, e * scale);
    }
  }
  sum = blockReduce(sum, SumOp<float>(), 0.f, shf);  // ends with a barrier: every store above is done
  if (threadIdx.x != 0) return;
  if (!(fabsf(sum - 1.f) <= 1e-3f)) {
    a.status[row] = 1;
    a.sums[row] = sum;
    return;
  }
  a.status[row] = kRowOk;
  const int32_t tok = a.tokens[row];
  const double p = exp(double(loadOne(x, tok)) * double(invT) + double(nl));
  storeOne(out, tok, float(double(scale) * (p - 1.0)));
}

// --- host side ----------------------------------------------------------------------------------

struct PreparedBackward {
  BackwardArgs args;
  DType in, out;
};

PreparedBackward prepareBackward(const LogprobBackwardInput& in, bool logitsOnDevice, bool outOnDevice) {
  validateLogprobBackward(in);
  requireDevice();
  const int64_t n = in.n, v = in.v;
  PreparedBackward p{};
  p.in = in.dtype;
  p.out = in.outDtype;
  BackwardArgs& a = p.args;
  a.logits = logitsOnDevice ? in.logits
                            : upload(kSlotLogitsA, static_cast<const char*>(in.logits),
                                     static_cast<std::size_t>(n) * v * dtypeSize(in.dtype));
  a.out = outOnDevice ? in.dlogits : scratch(kSlotDlogits, static_cast<std::size_t>(n) * v * dtypeSize(in.outDtype));
  a.tokens = upload(kSlotTokens, in.tokens, n);
  a.lse = upload(kSlotLse, in.lse, n);
  a.coef = upload(kSlotCoef, in.coef, n);
  a.n = n;
  a.v = v;
  a.invT = 1.0f / in.temperature;
  a.status = static_cast<int32_t*>(scratch(kSlotStatus, sizeof(int32_t) * n));
  a.sums = static_cast<float*>(scratch(kSlotRowOut, sizeof(float) * n));
  return p;
}

void launchBackward(const PreparedBackward& p) {
  cudaStream_t s = stream();
  const unsigned grid = static_cast<unsigned>(p.args.n);
  const bool vec = p.args.v % 8 == 0;
#define RAPO_LAUNCH_BWD(TI, TO)                                                        \
  (vec ? backwardKernel<TI, TO, true><<<grid, kBlock, 0, s>>>(p.args)                    \
       : backwardKernel<TI, TO, false><<<grid, kBlock, 0, s>>>(p.args))
  if (p.in == DType::F32 && p.out == DType::F32) RAPO_LAUNCH_BWD(float, float);
  else if (p.in == DType::F32) RAPO_LAUNCH_BWD(float, uint16_t);
  else if (p.out == DType::F32) RAPO_LAUNCH_BWD(uint16_t, float);
  else RAPO_LAUNCH_BWD(uint16_t, uint16_t);
#undef RAPO_LAUNCH_BWD
  RAPO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

}  // namespace cuda

void logprobBackwardCuda(const LogprobBackwardInput& in, bool logitsOnDevice, bool outOnDevice) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedBackward p = prepareBackward(in, logitsOnDevice, outOnDevice);
  launchBackward(p);
  const int64_t n = in.n;
  std::vector<int32_t> status(static_cast<std::size_t>(n));
  RAPO_CUDA_CHECK(cudaMemcpyAsync(status.data(), p.args.status, sizeof(int32_t) * n, cudaMemcpyDeviceToHost, stream()));
  RAPO_CUDA_CHECK(cudaStreamSynchronize(stream()));
  for (int64_t i = 0; i < n; ++i) {
    if (status[i] == kRowOk) continue;
    float sum = 0;
    RAPO_CUDA_CHECK(cudaMemcpy(&sum, p.args.sums + i, sizeof(float), cudaMemcpyDeviceToHost));
    const std::vector<char> row = rowToHost(in.logits, logitsOnDevice, i, in.v, in.dtype);
    std::string msg = describeRowProblemRaw(row.data(), in.dtype, in.v, i, in.tokens[i], in.temperature, "logits");
    if (msg.empty() || msg.find("finite values") == std::string::npos) {
      msg = lseMismatchMessage(i, in.lse[i], sum);
    }
    throw Error(ErrorKind::Range, msg);
  }
  if (!outOnDevice) {
    RAPO_CUDA_CHECK(cudaMemcpyAsync(in.dlogits, p.args.out, static_cast<std::size_t>(n) * in.v * dtypeSize(in.outDtype),
                                    cudaMemcpyDeviceToHost, stream()));
    RAPO_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
}

double timeLogprobBackwardCuda(const LogprobBackwardInput& in, int iterations) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedBackward p = prepareBackward(in, true, true);
  return timeIterations(iterations, [&] { launchBackward(p); });
}

}  // namespace rapo
