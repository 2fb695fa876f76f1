// rapo: fused RAPO kernels, plain C++ API (no Node types).
//
// Two ops, each for f32 and bf16 logits (bf16 given as raw uint16 bit patterns):
//
//   miForward        one pass over each row's V logits under both conditionings (with the
//                    character profile, and with the profile ablated), with an online
//                    log-sum-exp, producing per response token: log-probs, PMI, the
//                    role-specificity score, the asymmetric RAPO weight and the weighted
//                    advantage. See docs/kernels.md for the formulas.
//   logprobBackward  dlogits[n, v] = coef[n] * (softmax(logits[n] / T)[v] - [v == tokens[n]]) / T
//                    from the lse saved by miForward, so no softmax tensor is ever stored.
//
// Shapes (row-major, N response tokens, V vocabulary entries, S sequences):
//   logitsWith, logitsWithout   [N, V]   f32 or bf16
//   tokens                      [N]      int32, each in [0, V)
//   mask                        [N]      uint8 0/1 (nullptr: all 1). Masked rows are not read.
//   seqOffsets                  [S + 1]  int32; rows of sequence s are [off[s], off[s+1]),
//                                        off[0] = 0, non-decreasing, off[S] = N
//   advantages                  [S] (one per sequence) or [N] (advantagePerToken)
//
// Every function validates what it is given and throws rapo::Error naming the argument, the
// expectation and what it received; nothing here calls exit() or aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rapo {

// Error kinds map to JavaScript error classes in the binding.
enum class ErrorKind { Type, Range, Runtime };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

enum class DType : int { F32 = 0, BF16 = 1 };
enum class Norm : int { Robust = 0, Clip = 1, Tanh = 2, None = 3 };
enum class Scope : int { Batch = 0, Sequence = 1 };
enum class Renorm : int { None = 0, Sequence = 1, Batch = 2 };

inline std::size_t dtypeSize(DType d) { return d == DType::F32 ? 4 : 2; }
const char* dtypeName(DType d);

// RAPO options; defaults match docs/kernels.md.
struct RapoParams {
  float temperature = 1.0f;  // logits are divided by it before the softmax
  Norm norm = Norm::Robust;  // how PMI becomes a role-specificity score s in [-1, 1]
  Scope scope = Scope::Batch;  // robust statistics over the whole batch or per sequence
  float scale = 1.0f;        // c of the clip and tanh normalizations
  float lamPos = 0.0f;       // w = 1 + lamPos * s when the advantage is > 0
  float lamNeg = 0.0f;       // w = 1 - lamNeg * s when the advantage is < 0
  Renorm renorm = Renorm::None;  // divide w by its mean over the sequence or the batch
};

struct MiForwardInput {
  DType dtype = DType::F32;
  const void* logitsWith = nullptr;
  const void* logitsWithout = nullptr;
  const int32_t* tokens = nullptr;
  const uint8_t* mask = nullptr;
  const int32_t* seqOffsets = nullptr;
  int64_t numSeqs = 0;
  const float* advantages = nullptr;
  bool advantagePerToken = false;
  int64_t n = 0;
  int64_t v = 0;
  RapoParams params;
};

// Each output is [N] float32. Masked rows get 0 in every output.
struct MiForwardOutput {
  float* logpWith = nullptr;
  float* logpWithout = nullptr;
  float* lseWith = nullptr;   // log-sum-exp of logitsWith / T, for logprobBackward
  float* mi = nullptr;        // logpWith - logpWithout (the PMI m)
  float* score = nullptr;     // s in [-1, 1]
  float* weight = nullptr;    // w >= 0
  float* weightedAdvantage = nullptr;  // w * A
  float* entropyWith = nullptr;        // entropy of softmax(logitsWith / T)
};

struct LogprobBackwardInput {
  DType dtype = DType::F32;  // of logits
  const void* logits = nullptr;
  const int32_t* tokens = nullptr;
  const float* lse = nullptr;   // [N] log-sum-exp of logits / T (miForward's lseWith)
  const float* coef = nullptr;  // [N] upstream gradient of each row's log-prob; 0 skips the row
  int64_t n = 0;
  int64_t v = 0;
  float temperature = 1.0f;
  DType outDtype = DType::F32;  // dtype of dlogits
  void* dlogits = nullptr;      // [N, V]
};

// --- validation (shared by every backend) -------------------------------------------------

// Checks shapes, index arrays and parameters; throws rapo::Error. Does not read logits.
void validateMiForward(const MiForwardInput& in);
void validateLogprobBackward(const LogprobBackwardInput& in);

// --- CPU ----------------------------------------------------------------------------------

struct CpuInfo {
  bool avx2 = false;  // AVX2 + FMA usable (compiled in and supported by this CPU)
  int threads = 1;    // threads used by the kernels
  int hardwareThreads = 1;
  std::string simd;   // row kernels in use: "avx512", "avx2" or "scalar"
  std::vector<std::string> available;  // those this CPU can run, widest first
};

CpuInfo cpuInfo();
void setCpuThreads(int threads);  // 0: one per hardware thread
// Row kernels: "auto" (the widest available, the default), or one of cpuInfo().available
// (tests and benchmarks compare them).
void setCpuIsa(const std::string& isa);

void miForwardCpu(const MiForwardInput& in, const MiForwardOutput& out);
void logprobBackwardCpu(const LogprobBackwardInput& in);

// Machine ceiling: streaming read of `count` floats with all kernel threads; returns their sum
// so the read cannot be optimized away.
double streamReadCpu(const float* data, int64_t count);

// --- stage 2, shared by every backend that computes rows on the host ------------------------

// Given per-row logpWith/logpWithout (masked rows ignored), fills mi, score, weight and
// weightedAdvantage. Float64 accumulation.
void miFinalize(const MiForwardInput& in, const MiForwardOutput& out);

// --- CUDA (compiled in when RAPO_WITH_CUDA) --------------------------------------------------

struct CudaInfo {
  bool compiled = false;   // built with CUDA support
  bool available = false;  // a usable device was found
  std::string reason;      // why not available
  std::string deviceName;
  int computeCapability = 0;  // major * 10 + minor
  int multiprocessors = 0;
  std::size_t totalMemory = 0;
  int runtimeVersion = 0;
  int driverVersion = 0;
};

CudaInfo cudaInfo();

// Device memory owned by the caller (upload once, run many, read back).
void* cudaAlloc(std::size_t bytes);
void cudaFreeBuffer(void* ptr);
void cudaUpload(void* dst, const void* src, std::size_t bytes);
void cudaDownload(void* dst, const void* src, std::size_t bytes);

// When `logitsOnDevice` is true, in.logitsWith/logitsWithout (or in.logits, dlogits) are device
// pointers; every other array is on the host. Outputs are host arrays.
void miForwardCuda(const MiForwardInput& in, const MiForwardOutput& out, bool logitsOnDevice);
void logprobBackwardCuda(const LogprobBackwardInput& in, bool logitsOnDevice, bool outOnDevice);

// Kernel-only timing: with device logits (and device dlogits), runs the op `iterations` times
// back to back between CUDA events after one warm-up; returns seconds per iteration.
double timeMiForwardCuda(const MiForwardInput& in, int iterations);
double timeLogprobBackwardCuda(const LogprobBackwardInput& in, int iterations);
// Machine ceiling: device-to-device copy of `bytes`; returns seconds per copy.
double timeDeviceCopyCuda(std::size_t bytes, int iterations);

}  // namespace rapo
