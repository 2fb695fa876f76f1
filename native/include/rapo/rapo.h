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
// How scores become weights (docs/kernels.md): the paper's asymmetric weights; symmetric
// weights on group-centred scores; bounded asymmetric weights (group-centred, capped, each
// sign rescaled to GRPO's gradient mass).
enum class Variant : int { Paper = 0, Symmetric = 1, Bounded = 2 };

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
  Variant variant = Variant::Paper;
  int64_t groupSize = 0;     // sequences per group for the centring; 0: the whole batch is one group
  float cap = 0.25f;         // bounded: per sequence, sum_t lam * |s_t| <= cap * (its unmasked rows)
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
  const uint8_t* neutral = nullptr;  // [N] optional: 1 = a neutral row (score 0)
  const float* scores = nullptr;     // [N] optional: scores in [-1, 1] used instead of the normalized PMI
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

// --- dense training kernels (CPU) -------------------------------------------------------------

// Batched matrix product, the tfjs BatchMatMul contract: for b in [0, max(batchA, batchB)),
//   C[b] = op(A[b % batchA]) * op(B[b % batchB]),
// A[i] is [m, k] ([k, m] when transA), B[i] is [k, n] ([n, k] when transB), C[b] is [m, n];
// all row-major float32. GEMM comes from BLAS when the addon was built with one (see
// blasInfo), else from a portable blocked loop. Work is split over batches and row blocks on
// the kernel threads.
struct MatmulShape {
  int64_t batchA = 1, batchB = 1, m = 0, n = 0, k = 0;
  bool transA = false, transB = false;
};
void matmulCpu(const float* a, const float* b, float* c, const MatmulShape& s);

struct BlasInfo {
  bool blas = false;    // built with a BLAS
  std::string library;  // "openblas <version>", or "none"
  std::string impl;     // what matmulCpu uses now: "blas" or "blocked"
  int threads = 1;      // threads the matmul uses (the kernel threads)
  std::string core;     // the BLAS's kernel family for this CPU ("Cooperlake", "Haswell"), or "none"
};
BlasInfo blasInfo();
// "auto" (BLAS when built with one, the default) or "blocked" (the portable loop; tests
// compare both).
void setMatmulImpl(const std::string& impl);

// Elementwise and data-movement kernels for tfjs training (float32, or any 4-byte type for
// the copies). Shapes have rank <= kMaxRank; strides are in elements, and a stride of 0
// broadcasts that dimension. Work is split over the kernel threads.
constexpr int kMaxRank = 8;
enum class BinaryOp { Add = 0, Sub, Mul, Div, Max, Min, SquaredDifference };
// out (contiguous, shape `shape`) = a op b, reading a and b through their strides.
void binaryCpu(BinaryOp op, const float* a, const float* b, float* out, int rank, const int64_t* shape,
               const int64_t* aStrides, const int64_t* bStrides);
// dst[...] = src[...] over `shape`, both through strides (slices, concatenation, transposes).
void stridedCopyCpu(const float* src, float* dst, int rank, const int64_t* shape, const int64_t* srcStrides,
                    const int64_t* dstStrides);
// Softmax of each row of `cols` values (rows x cols, contiguous).
void softmaxRowsCpu(const float* x, float* out, int64_t rows, int64_t cols);
enum class UnaryOp { Neg = 0, Exp, Log, Sigmoid, Sqrt, Rsqrt, Square, Abs, Reciprocal };
// out[i] = op(x[i]) over n contiguous values.
void unaryCpu(UnaryOp op, const float* x, float* out, int64_t n);
// x is outer x reduce x inner (contiguous); out[o][i] = sum over r of x[o][r][i], accumulated in
// float64 and multiplied by `scale` (1 for a sum, 1/reduce for a mean).
void sumAxisCpu(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner, double scale);
// x is outer x axis x inner; out[o][j][i] = x[o][index[j]][i] for j < count (4-byte words).
// Throws a Range error naming the first index outside [0, axis).
void gatherCpu(const float* x, const int32_t* index, float* out, int64_t outer, int64_t axis, int64_t inner, int64_t count);

// Machine ceiling for the matmul: the BLAS sgemm called directly, with its own threading over
// `threads` threads, on m x k times k x n; returns seconds per call (median of `iterations`
// after a warm-up). Without a BLAS it times the blocked loop.
double timeSgemmDirect(int64_t m, int64_t n, int64_t k, int iterations, int threads);

// --- fused layer kernels for training (CPU) --------------------------------------------------

// RMSNorm over `rows` vectors of `size` values: rstd[r] = 1 / sqrt(mean(x[r]^2) + eps),
// y[r] = x[r] * rstd[r] * weight. The backward takes the saved rstd and gives dx and the
// weight's gradient summed over rows (fixed blocks of rows, float64 partials added in order,
// so the result does not depend on the thread count).
void rmsNormForwardCpu(const float* x, const float* weight, float* y, float* rstd, int64_t rows, int64_t size, float eps);
void rmsNormBackwardCpu(const float* dy, const float* x, const float* weight, const float* rstd, float* dx, float* dweight, int64_t rows,
                        int64_t size);
// SwiGLU's product y = silu(gate) * up = gate * sigmoid(gate) * up over n values, and its
// gradients dgate = dy * up * (s + gate * s * (1 - s)), dup = dy * gate * s (s = sigmoid(gate)).
// The forward can keep s (sig, or null) so the backward need not compute it again (sig null:
// computed from gate).
void swigluForwardCpu(const float* gate, const float* up, float* y, float* sig, int64_t n);
void swigluBackwardCpu(const float* dy, const float* gate, const float* up, const float* sig, float* dgate, float* dup, int64_t n);
// Rotary position embedding, half-split layout: x and out are [batch, heads, seq, headDim], cos
// and sin [batch, seq, headDim] (shared by the heads); out[i] = x[i] cos[i] - x[i + h] sin[i] and
// out[i + h] = x[i + h] cos[i + h] + x[i] sin[i + h] for i < h = headDim / 2. `inverse` rotates
// the other way (sin negated): the gradient.
void rotaryCpu(const float* x, const float* cosv, const float* sinv, float* out, int64_t batch, int64_t heads, int64_t seq, int64_t headDim,
               bool inverse);
// out [rows, width] = 0, then out[index[j]] += src[j] for j < count, in index order (the
// gradient of an embedding lookup). Throws a Range error naming the first index outside
// [0, rows), before writing anything.
void scatterAddRowsCpu(const float* src, const int32_t* index, float* out, int64_t count, int64_t rows, int64_t width);

// Causal grouped-query attention (training): q and out [batch, seq, heads, headDim]; k and v
// [batch, keys, kvHeads, headDim] (query head h reads kv head h / (heads / kvHeads)); keyMask
// [batch, keys], nonzero where a key may be seen. Query t sees key j when keyMask[b, j] != 0 and
// j <= t + keys - seq. probs [batch, heads, seq, keys] receives the softmax of scale * q k^T over
// the visible keys (0 elsewhere; uniform over all keys when none is visible, a constant that
// gets no gradient), which the backward reads. The backward writes dq (like q), dk and dv (like
// k); dk and dv sum their query heads in head order.
struct AttentionShape {
  int64_t batch = 0, heads = 1, kvHeads = 1, seq = 0, keys = 0, headDim = 1;
  float scale = 1.0f;
};
void attentionForwardCpu(const float* q, const float* k, const float* v, const float* keyMask, float* out, float* probs,
                         const AttentionShape& s);
void attentionBackwardCpu(const float* dout, const float* q, const float* k, const float* v, const float* keyMask,
                          const float* probs, float* dq, float* dk, float* dv, const AttentionShape& s);

// --- KV-cached decoding (CPU) ------------------------------------------------------------------

// A Llama-style decoder (libs/model): sizes, rotary inverse frequencies [headDim / 2], and the
// shape of the caller's key/value cache, [layers, batch, kvHeads, capacity, headDim] each.
struct DecoderSpec {
  int64_t layers = 0, hidden = 0, heads = 0, kvHeads = 0, headDim = 0, intermediate = 0, vocab = 0;
  int64_t batch = 0, capacity = 0;
  float eps = 1e-6f;
  const float* invFreq = nullptr;
};

// One layer's weights, Hugging Face layout (Linear weights [out, in]); biases and the q/k norms
// (Qwen3, [headDim]) may be null.
struct DecoderLayerWeights {
  const float *inputNorm = nullptr, *q = nullptr, *qBias = nullptr, *k = nullptr, *kBias = nullptr, *v = nullptr, *vBias = nullptr;
  const float *o = nullptr, *oBias = nullptr, *qNorm = nullptr, *kNorm = nullptr, *postNorm = nullptr;
  const float *gate = nullptr, *gateBias = nullptr, *up = nullptr, *upBias = nullptr, *down = nullptr, *downBias = nullptr;
};

struct DecoderWeights {
  const float* embed = nullptr;      // [vocab, hidden]
  const float* finalNorm = nullptr;  // [hidden]
  const float* head = nullptr;       // [vocab, hidden] (the embedding when tied)
  std::vector<DecoderLayerWeights> layer;
};

// `count` new tokens per sequence go into cache slots [start, start + count): ids and positions
// are [batch, count]; keyMask [batch, capacity] is 1 where a slot holds a token others may
// attend to (it must already cover the new slots). A query at slot start + t attends to the
// slots j <= start + t with keyMask 1. Writes the new keys (rotated) and values into the cache
// and the logits [batch, vocab] of each sequence's last new token.
struct DecodeCall {
  int64_t start = 0, count = 0;
  const int32_t* ids = nullptr;
  const int32_t* positions = nullptr;
  const uint8_t* keyMask = nullptr;
  float* kCache = nullptr;
  float* vCache = nullptr;
  float* logits = nullptr;
};

// Checks sizes, weights and the ids (array lengths are the binding's job); throws rapo::Error.
void validateDecoder(const DecoderSpec& s, const DecoderWeights& w, const DecodeCall& c);
void decodeCpu(const DecoderSpec& s, const DecoderWeights& w, const DecodeCall& c);

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
