// CUDA kernels of the two ops and their host drivers.
//
// miForward, stage 1: one block per (row, conditioning), grid [N, 2]. Each thread streams its
// share of the row in groups of 8 values (two float4 or one uint4 of bf16, evict-first loads),
// keeps an online log-sum-exp in base 2 and the entropy sum, and the block merges the partial
// states. Masked rows return at once without reading logits. Stage 2 (PMI, scores, weights)
// works on N floats: a row kernel, one block per scope for the robust median (radix select),
// one block per sequence for weights, and a batch renormalization.
//
// logprobBackward: one block per row; dlogits = coef * (softmax(z) - onehot) / T from the saved
// lse, with the softmax sum checked against 1 so a stale lse is an error, not silent garbage.
#include <cmath>
#include <vector>

#include "common/errors.h"
#include "common/internal.h"
#include "cuda/common.cuh"

namespace rapo {
namespace cuda {

namespace {

constexpr int kBlock = 256;

// Row outputs, each [N], in one scratch allocation.
enum RowOut : int {
  kLseWith = 0, kLseWithout, kLogpWith, kLogpWithout, kEntropy, kMi, kScore, kWeight, kWeightedAdv, kRowAdv,
  kRowOutCount
};

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

// --- logprobBackward --------------------------------------------------------------------------

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

template <typename T>
T* upload(Slot slot, const T* host, std::size_t count) {
  T* dev = static_cast<T*>(scratch(slot, count * sizeof(T)));
  RAPO_CUDA_CHECK(cudaMemcpyAsync(dev, host, count * sizeof(T), cudaMemcpyHostToDevice, stream()));
  return dev;
}

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

// Copies one row of logits (host or device) to host memory for an error message.
std::vector<char> rowToHost(const void* base, bool onDevice, int64_t row, int64_t v, DType dtype) {
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

double timeMiForwardCuda(const MiForwardInput& in, int iterations) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedMi p = prepareMi(in, true);
  return timeIterations(iterations, [&] { launchMi(p); });
}

double timeLogprobBackwardCuda(const LogprobBackwardInput& in, int iterations) {
  using namespace cuda;
  std::lock_guard<std::mutex> lock(cudaMutex());
  const PreparedBackward p = prepareBackward(in, true, true);
  return timeIterations(iterations, [&] { launchBackward(p); });
}

}  // namespace rapo
