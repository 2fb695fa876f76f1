// miForward on CUDA. Inputs: two logits matrices [N, V] (under the full and the
// profile-ablated prompt; float32 or bf16 bits, on the host or already on the device), the
// sampled tokens [N], an optional mask [N], sequence offsets [S + 1] and advantages [S] or [N].
// Outputs, each [N] floats: both log-sums-exp and log-probabilities of the sampled token, the
// entropy under the full prompt, the PMI (their difference), the normalized score, RAPO's weight
// and the weighted advantage.
//
// Stage 1 reads the logits once: one 256-thread block per (row, conditioning), grid [N, 2].
// Each thread streams its share of the row in groups of 8 values with evict-first loads, keeps
// an online log-sum-exp in base 2 and the entropy sum, and the block merges the partial states.
// Masked rows return at once without reading logits. Stage 2 (PMI, scores, weights) works on N
// floats: a row kernel, one block per scope for the robust median (radix select), one block per
// group for the variants, one block per sequence for the weights, and a batch renormalization.
// The CPU twin is cpu/mi_forward.cc plus common/finalize.cc; the oracle is
// libs/kernels/src/reference/mi-forward.ts.
#include <cmath>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/internal.h"
#include "cuda/common.cuh"
#include "cuda/op_helpers.cuh"

namespace rapo {
namespace cuda {

namespace {

// Row outputs, each [N], in one scratch allocation.
enum RowOut : int {
  kLseWith = 0, kLseWithout, kLogpWith, kLogpWithout, kEntropy, kMi, kScore, kWeight, kWeightedAdv, kRowAdv,
  kRowOutCount
};

// Adds a batch of K values (already divided by T) to the online state.
template <int K, bool kEntropy>
__device__ __forceinline__ void consume(LseState& st, const float* z) {
  float cm = z[0];
#pragma unroll
  for (int k = 1; k < K; ++k) cm = fmaxf(cm, z[k]);
  if (cm > st.m) {
    if (st.m != -INFINITY) {
      const float d = (st.m - cm) * kLog2e, sc = ex2(d);
      if (kEntropy) st.tz = sc * (st.tz + d * st.s);
      st.s *= sc;
    }
    st.m = cm;
  }
  const float shift = st.m == -INFINITY ? 0.f : st.m;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const float t = (z[k] - shift) * kLog2e;  // NaN stays NaN; -inf gives e = 0
    const float e = ex2(t);
    st.s += e;
    if (kEntropy) st.tz += e * fmaxf(t, -127.f);
  }
}

struct Stage1Args {
  const void* with;
  const void* without;
  const int32_t* tokens;
  const uint8_t* mask;
  int64_t n, v;
  float invT;
  float* rows;      // RowOut layout
  int32_t* status;  // [2N]
};

template <typename T, bool kVec>
__global__ void __launch_bounds__(kBlock) lseRowsKernel(Stage1Args a) {
  __shared__ float shm[3 * 32];
  const int64_t row = blockIdx.x;
  const int cond = blockIdx.y;
  const int64_t n = a.n, v = a.v;
  float* lse = a.rows + (cond == 0 ? kLseWith : kLseWithout) * n;
  float* logp = a.rows + (cond == 0 ? kLogpWith : kLogpWithout) * n;
  if (a.mask && !a.mask[row]) {
    if (threadIdx.x == 0) {
      lse[row] = 0.f;
      logp[row] = 0.f;
      if (cond == 0) a.rows[kEntropy * n + row] = 0.f;
      a.status[cond * n + row] = kRowOk;
    }
    return;
  }
  const T* x = static_cast<const T*>(cond == 0 ? a.with : a.without) + row * v;
  const float invT = a.invT;
  LseState st{-INFINITY, 0.f, 0.f};
  // A NaN does not always reach the sum (a thread whose values are all NaN or -inf keeps
  // m = -inf, and merging skips such states), so NaN is tracked on its own.
  bool sawNaN = false;
  if (kVec) {
    const int64_t groups = v / 8;
    for (int64_t g0 = threadIdx.x; g0 < groups; g0 += 2 * kBlock) {
      float z[16];
      loadGroup(x, g0, z);
      if (g0 + kBlock < groups) {
        loadGroup(x, g0 + kBlock, z + 8);
      } else {
#pragma unroll
        for (int k = 8; k < 16; ++k) z[k] = -INFINITY;
      }
#pragma unroll
      for (int k = 0; k < 16; ++k) {
        z[k] *= invT;
        sawNaN |= isnan(z[k]);
      }
      if (cond == 0) consume<16, true>(st, z); else consume<16, false>(st, z);
    }
  } else {
    for (int64_t j0 = threadIdx.x; j0 < v; j0 += 8 * kBlock) {
      float z[8];
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const int64_t j = j0 + int64_t(k) * kBlock;
        z[k] = j < v ? loadOne(x, j) * invT : -INFINITY;
        sawNaN |= isnan(z[k]);
      }
      if (cond == 0) consume<8, true>(st, z); else consume<8, false>(st, z);
    }
  }
  // Merge the block's states (every thread takes part in the barrier-vote first).
  sawNaN = __syncthreads_or(sawNaN);
  st = warpReduceLse(st);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    shm[warp] = st.m;
    shm[32 + warp] = st.s;
    shm[64 + warp] = st.tz;
  }
  __syncthreads();
  if (warp != 0) return;
  const int warps = kBlock / 32;
  st = lane < warps ? LseState{shm[lane], shm[32 + lane], shm[64 + lane]} : LseState{-INFINITY, 0.f, 0.f};
  st = warpReduceLse(st);
  if (lane != 0) return;
  int32_t status = kRowOk;
  if (sawNaN || !isfinite(st.s) || st.m == INFINITY) {
    status = kRowNonFinite;
  } else if (st.m == -INFINITY) {
    status = kRowAllMasked;
  } else {
    const int32_t tok = a.tokens[row];
    const float ztok = loadOne(x, tok) * invT;
    const double l = double(st.m) + log(double(st.s));
    if (!isfinite(float(l))) {
      status = kRowNonFinite;
    } else if (!(ztok > -FLT_MAX)) {
      status = kRowTokenMasked;
    } else {
      lse[row] = float(l);
      logp[row] = float(double(ztok) - l);
      if (cond == 0) {
        const double h = log(double(st.s)) - (double(st.tz) / double(kLog2e)) / double(st.s);
        a.rows[kEntropy * n + row] = float(h > 0 ? h : 0.0);
      }
    }
  }
  a.status[cond * n + row] = status;
}

struct Stage2Args {
  const uint8_t* mask;
  const int32_t* offsets;
  const float* advantages;
  int64_t n, numSeqs;
  bool perToken;
  const uint8_t* neutral;  // [N] or nullptr
  const float* scores;     // [N] or nullptr: given scores instead of the normalized PMI
  int norm, scope, renorm, variant;
  int64_t groupSize;       // sequences per group (>= 1)
  float scale, lamPos, lamNeg, cap;
  float* rows;
  double2* seqStats;  // [S]: sum of weights, count
  double* signStats;  // [4 S] (bounded): sum w A and sum A over A > 0, sum w |A| and sum |A| over A < 0
};

__global__ void rowsKernel(Stage2Args a) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= a.n) return;
  float* r = a.rows;
  const int64_t n = a.n;
  if (a.mask && !a.mask[i]) {
    r[kMi * n + i] = r[kScore * n + i] = r[kWeight * n + i] = r[kWeightedAdv * n + i] = r[kRowAdv * n + i] = 0.f;
    return;
  }
  const float m = float(double(r[kLogpWith * n + i]) - double(r[kLogpWithout * n + i]));
  r[kMi * n + i] = m;
  float s = 0.f;
  if (a.scores) {
    s = a.scores[i];
  } else if (a.norm == int(Norm::Clip)) {
    const double c = a.scale;
    s = float(fmin(fmax(double(m), -c), c) / c);
  } else if (a.norm == int(Norm::Tanh)) {
    s = float(tanh(double(m) / a.scale));
  }
  r[kScore * n + i] = s;
}

// Orders float bit patterns so that unsigned comparison matches float comparison.
__device__ __forceinline__ uint32_t orderKey(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float keyValue(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// k-th smallest (0-based) unmasked mi in [begin, end): radix select, 8 bits per round.
__device__ float blockSelect(const float* mi, const uint8_t* mask, int64_t begin, int64_t end, int64_t k,
                             unsigned* hist, unsigned long long* shared) {
  uint32_t prefix = 0, prefixMask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      if (mask && !mask[i]) continue;
      const uint32_t key = orderKey(mi[i]);
      if ((key & prefixMask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned long long below = 0;
      int digit = 255;
      for (int d = 0; d < 256; ++d) {
        if (below + hist[d] > static_cast<unsigned long long>(k)) {
          digit = d;
          break;
        }
        below += hist[d];
      }
      shared[0] = (static_cast<unsigned long long>(digit) << 40) | (static_cast<unsigned long long>(k) - below);
    }
    __syncthreads();
    const unsigned long long packed = shared[0];
    __syncthreads();
    prefix |= static_cast<uint32_t>(packed >> 40) << shift;
    prefixMask |= 0xffu << shift;
    k = static_cast<int64_t>(packed & ((1ull << 40) - 1));
  }
  return keyValue(prefix);
}

// One block per scope segment (the batch, or one sequence).
__global__ void robustKernel(Stage2Args a) {
  __shared__ unsigned hist[256];
  __shared__ unsigned long long sharedK[1];
  __shared__ float shf[32];
  __shared__ int shi[32];
  int64_t begin = 0, end = a.n;
  if (a.scope == int(Scope::Sequence)) {
    begin = a.offsets[blockIdx.x];
    end = a.offsets[blockIdx.x + 1];
  }
  const float* mi = a.rows + kMi * a.n;
  float lo = INFINITY, hi = -INFINITY;
  int count = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    lo = fminf(lo, mi[i]);
    hi = fmaxf(hi, mi[i]);
    ++count;
  }
  count = blockReduce(count, SumOp<int>(), 0, shi);
  if (count == 0) return;
  lo = blockReduce(lo, MinOp(), INFINITY, shf);
  hi = blockReduce(hi, MaxOp(), -INFINITY, shf);
  const int64_t k = count / 2;
  const double upper = blockSelect(mi, a.mask, begin, end, k, hist, sharedK);
  const double med = (count % 2 == 0) ? 0.5 * (double(blockSelect(mi, a.mask, begin, end, k - 1, hist, sharedK)) + upper)
                                      : upper;
  float* score = a.rows + kScore * a.n;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    const double d = double(mi[i]) - med;
    score[i] = float(d > 0 ? d / (double(hi) - med) : (d < 0 ? d / (med - double(lo)) : 0.0));
  }
}

__device__ __forceinline__ double rowAdvantage(const Stage2Args& a, int64_t s, int64_t i) {
  return a.perToken ? a.advantages[i] : a.advantages[s];
}

// One block per group (symmetric, bounded, or neutral rows given): centring of the group's
// non-neutral scores (clipped back to [-1, 1]), neutral rows to 0, and (bounded) the cap of each
// sequence's sum of lam * |s|.
__global__ void groupKernel(Stage2Args a) {
  __shared__ double shd[32];
  __shared__ int shi[32];
  const int64_t g0 = int64_t(blockIdx.x) * a.groupSize;
  const int64_t begin = a.offsets[g0], end = a.offsets[g0 + a.groupSize];
  float* score = a.rows + kScore * a.n;
  auto active = [&](int64_t i) { return !a.mask || a.mask[i]; };
  auto neutral = [&](int64_t i) { return a.neutral && a.neutral[i]; };
  if (a.variant != int(Variant::Paper)) {
    double sum = 0;
    int count = 0;
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      if (active(i) && !neutral(i)) {
        sum += score[i];
        ++count;
      }
    }
    sum = blockReduce(sum, SumOp<double>(), 0.0, shd);
    count = blockReduce(count, SumOp<int>(), 0, shi);
    if (count > 0) {
      const double mean = sum / count;
      for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
        if (active(i) && !neutral(i)) score[i] = float(fmin(1.0, fmax(-1.0, double(score[i]) - mean)));
      }
    }
  }
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (active(i) && neutral(i)) score[i] = 0.f;
  }
  if (a.variant != int(Variant::Bounded)) return;
  __syncthreads();
  for (int64_t s = g0; s < g0 + a.groupSize; ++s) {
    const int64_t b = a.offsets[s], e = a.offsets[s + 1];
    double extra = 0;
    int count = 0;
    for (int64_t i = b + threadIdx.x; i < e; i += blockDim.x) {
      if (!active(i)) continue;
      const double adv = rowAdvantage(a, s, i);
      const double lam = adv > 0 ? double(a.lamPos) : (adv < 0 ? double(a.lamNeg) : 0.0);
      extra += lam * fabs(double(score[i]));
      ++count;
    }
    extra = blockReduce(extra, SumOp<double>(), 0.0, shd);
    count = blockReduce(count, SumOp<int>(), 0, shi);
    const double limit = double(a.cap) * count;
    if (extra > limit) {
      const double f = limit / extra;
      for (int64_t i = b + threadIdx.x; i < e; i += blockDim.x) {
        if (active(i)) score[i] = float(double(score[i]) * f);
      }
    }
    __syncthreads();
  }
}

// One block per sequence: weights, and the sequence renormalization.
__global__ void weightsKernel(Stage2Args a) {
  __shared__ double shd[32];
  __shared__ int shi[32];
  const int64_t s = blockIdx.x;
  const int64_t begin = a.offsets[s], end = a.offsets[s + 1];
  const int64_t n = a.n;
  float* r = a.rows;
  double sum = 0;
  int count = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    const double adv = rowAdvantage(a, s, i);
    const double sc = r[kScore * n + i];
    const double w = a.variant == int(Variant::Symmetric)
                         ? 1.0 + double(a.lamPos) * sc
                         : (adv > 0 ? 1.0 + double(a.lamPos) * sc : (adv < 0 ? 1.0 - double(a.lamNeg) * sc : 1.0));
    r[kWeight * n + i] = float(w);
    r[kRowAdv * n + i] = float(adv);
    sum += w;
    ++count;
  }
  if (a.variant == int(Variant::Bounded)) {
    // Per sign: sum of w |A| and of |A|, for the batch-wide factors of signRenormKernel. The
    // float weight is what the sums read, so that w = 1 gives factors of exactly 1.
    double st[4] = {0, 0, 0, 0};
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      if (a.mask && !a.mask[i]) continue;
      const double adv = r[kRowAdv * n + i], w = r[kWeight * n + i];
      if (adv > 0) {
        st[0] += w * adv;
        st[1] += adv;
      } else if (adv < 0) {
        st[2] -= w * adv;
        st[3] -= adv;
      }
    }
    for (int k = 0; k < 4; ++k) {
      const double total = blockReduce(st[k], SumOp<double>(), 0.0, shd);
      if (threadIdx.x == 0) a.signStats[4 * s + k] = total;
    }
    return;
  }
  if (a.renorm == int(Renorm::None)) {
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      if (a.mask && !a.mask[i]) continue;
      r[kWeightedAdv * n + i] = float(double(r[kWeight * n + i]) * double(r[kRowAdv * n + i]));
    }
    return;
  }
  sum = blockReduce(sum, SumOp<double>(), 0.0, shd);
  count = blockReduce(count, SumOp<int>(), 0, shi);
  if (a.renorm == int(Renorm::Batch)) {
    if (threadIdx.x == 0) a.seqStats[s] = make_double2(sum, double(count));
    return;
  }
  const double mean = (count > 0 && sum > 0) ? sum / count : 1.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    const double w = double(r[kWeight * n + i]) / mean;
    r[kWeight * n + i] = float(w);
    r[kWeightedAdv * n + i] = float(w * double(r[kRowAdv * n + i]));
  }
}

__global__ void batchRenormKernel(Stage2Args a) {
  __shared__ double mean;
  if (threadIdx.x == 0) {
    double sum = 0, count = 0;
    for (int64_t s = 0; s < a.numSeqs; ++s) {
      sum += a.seqStats[s].x;
      count += a.seqStats[s].y;
    }
    mean = (count > 0 && sum > 0) ? sum / count : 1.0;
  }
  __syncthreads();
  const int64_t n = a.n;
  float* r = a.rows;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    const double w = double(r[kWeight * n + i]) / mean;
    r[kWeight * n + i] = float(w);
    r[kWeightedAdv * n + i] = float(w * double(r[kRowAdv * n + i]));
  }
}

// Bounded: each sign's weights divided by one batch-wide factor so that sum w |A| = sum |A|.
__global__ void signRenormKernel(Stage2Args a) {
  __shared__ double factor[2];
  if (threadIdx.x == 0) {
    double pos = 0, pos0 = 0, neg = 0, neg0 = 0;
    for (int64_t s = 0; s < a.numSeqs; ++s) {
      pos += a.signStats[4 * s];
      pos0 += a.signStats[4 * s + 1];
      neg += a.signStats[4 * s + 2];
      neg0 += a.signStats[4 * s + 3];
    }
    factor[0] = pos > 0 ? pos / pos0 : 1.0;
    factor[1] = neg > 0 ? neg / neg0 : 1.0;
  }
  __syncthreads();
  const int64_t n = a.n;
  float* r = a.rows;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (a.mask && !a.mask[i]) continue;
    const double adv = r[kRowAdv * n + i];
    double w = r[kWeight * n + i];
    if (adv > 0) w /= factor[0];
    else if (adv < 0) w /= factor[1];
    r[kWeight * n + i] = float(w);
    r[kWeightedAdv * n + i] = float(w * adv);
  }
}

// --- host side ----------------------------------------------------------------------------------

struct PreparedMi {
  Stage1Args s1;
  Stage2Args s2;
  DType dtype;
};

PreparedMi prepareMi(const MiForwardInput& in, bool logitsOnDevice) {
  validateMiForward(in);
  requireDevice();
  const int64_t n = in.n, v = in.v;
  const std::size_t logitsBytes = static_cast<std::size_t>(n) * v * dtypeSize(in.dtype);
  PreparedMi p{};
  p.dtype = in.dtype;
  if (logitsOnDevice) {
    p.s1.with = in.logitsWith;
    p.s1.without = in.logitsWithout;
  } else {
    p.s1.with = upload(kSlotLogitsA, static_cast<const char*>(in.logitsWith), logitsBytes);
    p.s1.without = upload(kSlotLogitsB, static_cast<const char*>(in.logitsWithout), logitsBytes);
  }
  p.s1.tokens = upload(kSlotTokens, in.tokens, n);
  p.s1.mask = in.mask ? upload(kSlotMask, in.mask, n) : nullptr;
  p.s1.n = n;
  p.s1.v = v;
  p.s1.invT = 1.0f / in.params.temperature;
  p.s1.rows = static_cast<float*>(scratch(kSlotRowOut, sizeof(float) * n * kRowOutCount));
  p.s1.status = static_cast<int32_t*>(scratch(kSlotStatus, sizeof(int32_t) * 2 * n));
  Stage2Args& s2 = p.s2;
  s2.mask = p.s1.mask;
  s2.offsets = upload(kSlotOffsets, in.seqOffsets, in.numSeqs + 1);
  s2.advantages = upload(kSlotAdvantages, in.advantages, in.advantagePerToken ? n : in.numSeqs);
  s2.n = n;
  s2.numSeqs = in.numSeqs;
  s2.perToken = in.advantagePerToken;
  s2.norm = int(in.params.norm);
  s2.scope = int(in.params.scope);
  s2.renorm = int(in.params.renorm);
  s2.variant = int(in.params.variant);
  s2.groupSize = in.params.groupSize > 0 ? in.params.groupSize : in.numSeqs;
  s2.cap = in.params.cap;
  s2.neutral = in.neutral ? upload(kSlotNeutral, in.neutral, n) : nullptr;
  s2.scores = in.scores ? upload(kSlotScores, in.scores, n) : nullptr;
  s2.signStats = static_cast<double*>(scratch(kSlotSignStats, sizeof(double) * 4 * in.numSeqs));
  s2.scale = in.params.scale;
  s2.lamPos = in.params.lamPos;
  s2.lamNeg = in.params.lamNeg;
  s2.rows = p.s1.rows;
  s2.seqStats = static_cast<double2*>(scratch(kSlotSeqStats, sizeof(double2) * in.numSeqs));
  return p;
}

void launchMi(const PreparedMi& p) {
  cudaStream_t s = stream();
  const dim3 grid(static_cast<unsigned>(p.s1.n), 2);
  const bool vec = p.s1.v % 8 == 0;
  if (p.dtype == DType::F32) {
    if (vec) lseRowsKernel<float, true><<<grid, kBlock, 0, s>>>(p.s1);
    else lseRowsKernel<float, false><<<grid, kBlock, 0, s>>>(p.s1);
  } else {
    if (vec) lseRowsKernel<uint16_t, true><<<grid, kBlock, 0, s>>>(p.s1);
    else lseRowsKernel<uint16_t, false><<<grid, kBlock, 0, s>>>(p.s1);
  }
  RAPO_CUDA_CHECK(cudaGetLastError());
  const unsigned rowBlocks = static_cast<unsigned>((p.s2.n + kBlock - 1) / kBlock);
  rowsKernel<<<rowBlocks, kBlock, 0, s>>>(p.s2);
  RAPO_CUDA_CHECK(cudaGetLastError());
  if (p.s2.norm == int(Norm::Robust) && !p.s2.scores) {
    const unsigned segments = p.s2.scope == int(Scope::Sequence) ? static_cast<unsigned>(p.s2.numSeqs) : 1u;
    robustKernel<<<segments, 1024, 0, s>>>(p.s2);
    RAPO_CUDA_CHECK(cudaGetLastError());
  }
  if (p.s2.variant != int(Variant::Paper) || p.s2.neutral) {
    groupKernel<<<static_cast<unsigned>(p.s2.numSeqs / p.s2.groupSize), kBlock, 0, s>>>(p.s2);
    RAPO_CUDA_CHECK(cudaGetLastError());
  }
  weightsKernel<<<static_cast<unsigned>(p.s2.numSeqs), kBlock, 0, s>>>(p.s2);
  RAPO_CUDA_CHECK(cudaGetLastError());
  if (p.s2.variant == int(Variant::Bounded)) {
    signRenormKernel<<<rowBlocks < 1024 ? rowBlocks : 1024, kBlock, 0, s>>>(p.s2);
    RAPO_CUDA_CHECK(cudaGetLastError());
  } else if (p.s2.renorm == int(Renorm::Batch)) {
    batchRenormKernel<<<rowBlocks < 1024 ? rowBlocks : 1024, kBlock, 0, s>>>(p.s2);
    RAPO_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

}  // namespace cuda

void miForwardCuda(const MiForwardInput& in, const MiForwardOutput& out, bool logitsOnDevice) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedMi p = prepareMi(in, logitsOnDevice);
  launchMi(p);
  const int64_t n = in.n;
  std::vector<int32_t> status(static_cast<std::size_t>(2 * n));
  RAPO_CUDA_CHECK(cudaMemcpyAsync(status.data(), p.s1.status, sizeof(int32_t) * 2 * n, cudaMemcpyDeviceToHost, stream()));
  RAPO_CUDA_CHECK(cudaStreamSynchronize(stream()));
  for (int64_t i = 0; i < n; ++i) {
    for (int cond = 0; cond < 2; ++cond) {
      if (status[cond * n + i] == kRowOk) continue;
      const void* base = cond == 0 ? in.logitsWith : in.logitsWithout;
      const std::vector<char> row = rowToHost(base, logitsOnDevice, i, in.v, in.dtype);
      throwRowProblem(in, i, cond == 0, row.data());
    }
  }
  const float* rows = p.s1.rows;
  const std::pair<float*, int> copies[] = {
      {out.lseWith, kLseWith}, {out.logpWith, kLogpWith}, {out.logpWithout, kLogpWithout},
      {out.entropyWith, kEntropy}, {out.mi, kMi}, {out.score, kScore}, {out.weight, kWeight},
      {out.weightedAdvantage, kWeightedAdv}};
  for (const auto& [dst, index] : copies) {
    RAPO_CUDA_CHECK(cudaMemcpyAsync(dst, rows + index * n, sizeof(float) * n, cudaMemcpyDeviceToHost, stream()));
  }
  RAPO_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

double timeMiForwardCuda(const MiForwardInput& in, int iterations) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedMi p = prepareMi(in, true);
  return timeIterations(iterations, [&] { launchMi(p); });
}

}  // namespace rapo
