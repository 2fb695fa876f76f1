// AVX2 + FMA row kernels. This file is compiled with -mavx2 -mfma and only called after a
// run-time check of the CPU (cpu/dispatch.cc).
//
// Log-sum-exp over a row of V logits in one sweep of memory: the row is cut into chunks of
// kChunk values that stay in L1; pass 1 over a chunk finds its max (and, for bf16, widens it
// to f32 into scratch), pass 2 adds exp(x - max) from L1. The running sum is rescaled once per
// chunk, not per value. exp is a degree-5 polynomial for 2^f on [-0.5, 0.5] (relative error
// about 2e-7) with the exponent put in by integer add; NaN propagates through it so a bad
// value shows up as a non-finite sum at no cost per element. Pass 1 prefetches a few KiB
// ahead: the hardware prefetcher alone leaves a third of the bandwidth unused here.
#include <immintrin.h>

#include <cfloat>
#include <cmath>

#include "cpu/rows.h"

namespace rapo::cpu {

#if defined(__AVX2__) && defined(__FMA__)

namespace {

constexpr int kPrefetchBytes = 3072;
constexpr float kLog2e = 1.44269504088896341f;

// 2^t for t in [-125, 64] (the caller clamps; NaN passes through).
// Rounding adds 1.5 * 2^23, which leaves n = round(t) in the low mantissa bits; the exponent is
// then put in by an integer add of n << 23 to the polynomial's bits, which keeps the two FMA
// pipes for the polynomial. At t = -125 the result is 2^-125, far below anything that counts.
constexpr float kExpLow = -125.0f;
inline __m256 exp2Clamped(__m256 t) {
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 r = _mm256_add_ps(t, magic);
  const __m256 f = _mm256_sub_ps(t, _mm256_sub_ps(r, magic));
  __m256 p = _mm256_set1_ps(1.3276471e-3f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6755410e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5507131e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022121e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314694e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0000001f));
  return _mm256_castsi256_ps(
      _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(r), 23)));
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

inline double hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// Lanes [0, k) set, for the tail of a row.
inline __m256i tailMask(int64_t k) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), idx);
}

inline __m256 bf16x8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Pass 1 over one chunk: returns the max and sets *nan when a value is NaN (one unordered
// compare per pair of vectors: it is true where either operand is NaN). The max alone cannot
// be trusted for that: _mm256_max_ps drops a NaN in its first operand. For bf16, also writes
// the f32 values (tail padded with -inf to a whole vector) into scratch.
inline float chunkMaxF32(const float* x, int64_t len, bool* nan) {
  const char* pf = reinterpret_cast<const char*>(x) + kPrefetchBytes;
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, un = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= len; j += 16) {
    _mm_prefetch(pf + j * 4, _MM_HINT_T0);
    const __m256 a = _mm256_loadu_ps(x + j), b = _mm256_loadu_ps(x + j + 8);
    m0 = _mm256_max_ps(m0, a);
    m1 = _mm256_max_ps(m1, b);
    un = _mm256_or_ps(un, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  for (; j < len; j += 8) {
    const __m256i mask = tailMask(len - j);
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + j, mask),
                                      _mm256_castsi256_ps(mask));
    m0 = _mm256_max_ps(m0, v);
    un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(un)) *nan = true;
  return hmax(_mm256_max_ps(m0, m1));
}

inline float chunkMaxBf16(const uint16_t* x, int64_t len, float* scratch, bool* nan) {
  const char* pf = reinterpret_cast<const char*>(x) + kPrefetchBytes;
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, un = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= len; j += 32) {
    _mm_prefetch(pf + j * 2, _MM_HINT_T0);
    for (int u = 0; u < 32; u += 16) {
      const __m256 a = bf16x8(x + j + u), b = bf16x8(x + j + u + 8);
      _mm256_storeu_ps(scratch + j + u, a);
      _mm256_storeu_ps(scratch + j + u + 8, b);
      m0 = _mm256_max_ps(m0, a);
      m1 = _mm256_max_ps(m1, b);
      un = _mm256_or_ps(un, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
    }
  }
  for (; j + 8 <= len; j += 8) {
    const __m256 a = bf16x8(x + j);
    _mm256_storeu_ps(scratch + j, a);
    m0 = _mm256_max_ps(m0, a);
    un = _mm256_or_ps(un, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
  if (j < len) {
    alignas(32) float tail[8];
    for (int k = 0; k < 8; ++k) {
      if (j + k < len) {
        const uint32_t bits = static_cast<uint32_t>(x[j + k]) << 16;
        float f;
        __builtin_memcpy(&f, &bits, 4);
        tail[k] = f;
      } else {
        tail[k] = -INFINITY;
      }
    }
    const __m256 a = _mm256_load_ps(tail);
    _mm256_storeu_ps(scratch + j, a);
    m0 = _mm256_max_ps(m0, a);
    un = _mm256_or_ps(un, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(un)) *nan = true;
  return hmax(_mm256_max_ps(m0, m1));
}

// Pass 2 over one chunk of f32 values: adds 2^t, t = (x - shift) * c, to *s and, when wanted,
// 2^t * t to *tz. The subtraction comes first so that t is exact for the values that matter
// (x near the max), whatever their magnitude. Four vectors per step keep enough independent
// exp evaluations in flight. `len` may end mid-vector only when `padded` is false.
template <bool kEntropy>
inline void chunkExp(const float* x, int64_t len, bool padded, float shift, float c, double* s, double* tz) {
  const __m256 vs = _mm256_set1_ps(shift), vc = _mm256_set1_ps(c), lo = _mm256_set1_ps(kExpLow);
  // t = max(kExpLow, (x - shift) * c); max's second operand keeps a NaN.
  auto tOf = [&](__m256 v) { return _mm256_max_ps(lo, _mm256_mul_ps(_mm256_sub_ps(v, vs), vc)); };
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0;
  int64_t j = 0;
  for (; j + 32 <= len; j += 32) {
    const __m256 ta = tOf(_mm256_loadu_ps(x + j)), tb = tOf(_mm256_loadu_ps(x + j + 8));
    const __m256 tc = tOf(_mm256_loadu_ps(x + j + 16)), td = tOf(_mm256_loadu_ps(x + j + 24));
    const __m256 ea = exp2Clamped(ta), eb = exp2Clamped(tb), ec = exp2Clamped(tc), ed = exp2Clamped(td);
    s0 = _mm256_add_ps(s0, ea);
    s1 = _mm256_add_ps(s1, eb);
    s2 = _mm256_add_ps(s2, ec);
    s3 = _mm256_add_ps(s3, ed);
    if (kEntropy) {
      t0 = _mm256_fmadd_ps(ea, ta, t0);
      t1 = _mm256_fmadd_ps(eb, tb, t1);
      t0 = _mm256_fmadd_ps(ec, tc, t0);
      t1 = _mm256_fmadd_ps(ed, td, t1);
    }
  }
  for (; j < len; j += 8) {
    __m256 v;
    if (padded || j + 8 <= len) {
      v = _mm256_loadu_ps(x + j);
    } else {
      const __m256i mask = tailMask(len - j);
      v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + j, mask), _mm256_castsi256_ps(mask));
    }
    const __m256 t = tOf(v);
    const __m256 e = exp2Clamped(t);
    s0 = _mm256_add_ps(s0, e);
    if (kEntropy) t0 = _mm256_fmadd_ps(e, t, t0);
  }
  *s += hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  if (kEntropy) *tz += hsum(_mm256_add_ps(t0, t1));
}

// The chunk loop shared by f32 and bf16. `pass1(begin, len, ...)` returns the chunk max, points
// at the chunk's f32 values and flags NaN. Sums are kept in base 2 relative to the running max; a
// growing max rescales them once per chunk.
template <bool kEntropy, typename Pass1>
RowLse lseRow(int64_t v, float temperature, Pass1 pass1) {
  const float c = kLog2e / temperature;
  float runMax = -INFINITY;  // max of the raw values seen so far
  double s = 0, tz = 0;      // sums of 2^t and 2^t * t relative to runMax
  bool sawNaN = false;
  for (int64_t begin = 0; begin < v; begin += kChunk) {
    const int64_t len = v - begin < kChunk ? v - begin : kChunk;
    bool padded = false;
    const float* vals = nullptr;
    const float cmax = pass1(begin, len, &vals, &padded, &sawNaN);
    if (cmax > runMax) {
      if (runMax != -INFINITY) {
        const double d = (double(runMax) - double(cmax)) * double(c);
        const double scale = std::exp2(d);
        tz = scale * (tz + d * s);
        s *= scale;
      }
      runMax = cmax;
    }
    // With nothing above -inf yet, shift by 0: -inf values then add exactly 0 and NaN still
    // propagates.
    chunkExp<kEntropy>(vals, len, padded, runMax == -INFINITY ? 0.0f : runMax, c, &s, &tz);
  }
  constexpr double kLn2 = 0.69314718055994530942;
  RowLse r;
  r.maxRaw = runMax;
  r.lse = double(runMax) / double(temperature) + std::log(s);
  r.entropy = kEntropy ? std::log(s) - kLn2 * tz / s : 0.0;
  // A NaN or +inf anywhere makes s NaN (and +inf makes runMax +inf); a value that overflows
  // float32 once divided by T makes the float32 lse infinite. A row of only -inf is finite
  // here: the caller reports it as a masked row.
  r.finite = !sawNaN && !std::isnan(s) && runMax != INFINITY &&
             (runMax == -INFINITY || std::isfinite(static_cast<float>(r.lse)));
  return r;
}

template <bool kEntropy>
RowLse lseF32T(const float* row, int64_t v, float temperature) {
  return lseRow<kEntropy>(v, temperature,
                          [row](int64_t begin, int64_t len, const float** vals, bool* padded, bool* nan) {
                            *vals = row + begin;
                            *padded = false;
                            return chunkMaxF32(row + begin, len, nan);
                          });
}

template <bool kEntropy>
RowLse lseBf16T(const uint16_t* row, int64_t v, float temperature, float* scratch) {
  return lseRow<kEntropy>(v, temperature,
                          [row, scratch](int64_t begin, int64_t len, const float** vals, bool* padded, bool* nan) {
                            *vals = scratch;
                            *padded = true;
                            return chunkMaxBf16(row + begin, len, scratch, nan);
                          });
}

RowLse lseF32(const float* row, int64_t v, float temperature, bool wantEntropy, float*) {
  return wantEntropy ? lseF32T<true>(row, v, temperature) : lseF32T<false>(row, v, temperature);
}

RowLse lseBf16(const uint16_t* row, int64_t v, float temperature, bool wantEntropy, float* scratch) {
  return wantEntropy ? lseBf16T<true>(row, v, temperature, scratch) : lseBf16T<false>(row, v, temperature, scratch);
}

// float32 -> bf16 (round to nearest even) for 8 lanes, packed into 8 uint16.
inline __m128i toBf16x8(__m256 g) {
  const __m256i bits = _mm256_castps_si256(g);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7fff)), lsb), 16);
  return _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1));
}

template <typename In, typename Out>
double backwardT(const In* row, int64_t v, float temperature, float lse, float scale, Out* out) {
  constexpr bool kInF32 = sizeof(In) == 4;
  constexpr bool kOutF32 = sizeof(Out) == 4;
  // t = x * c - b with c = log2(e) / T and b = lse * log2(e): one fma. The rounding of b shifts
  // every t of the row alike (relative error ~1e-6 in the softmax), well inside what a gradient
  // needs; the softmax-sum check below allows 1e-3.
  const __m256 vc = _mm256_set1_ps(kLog2e / temperature), nb = _mm256_set1_ps(-lse * kLog2e);
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(kExpLow), hi = _mm256_set1_ps(64.0f);
  const char* pf = reinterpret_cast<const char*>(row) + kPrefetchBytes;
  __m256 sum0 = _mm256_setzero_ps(), un = _mm256_setzero_ps();
  double sum = 0;
  int64_t j = 0;
  auto step = [&](__m256 x, int64_t at) {
    // NaN is tracked on its own: the exponent bit trick can turn a NaN with payload bits into
    // a finite number, which the softmax-sum check would not see.
    un = _mm256_or_ps(un, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    // t <= 0 when lse belongs to the row; a stale lse can push it above 0, so it is clamped on
    // both sides (the softmax-sum check then reports the row).
    const __m256 t = _mm256_fmadd_ps(x, vc, nb);
    const __m256 e = exp2Clamped(_mm256_min_ps(hi, _mm256_max_ps(lo, t)));
    sum0 = _mm256_add_ps(sum0, e);
    const __m256 g = _mm256_mul_ps(e, vscale);
    if constexpr (kOutF32) {
      _mm256_storeu_ps(reinterpret_cast<float*>(out) + at, g);
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + at), toBf16x8(g));
    }
  };
  for (; j + 8 <= v; j += 8) {
    if ((j & 15) == 0) _mm_prefetch(pf + j * sizeof(In), _MM_HINT_T0);
    __m256 x;
    if constexpr (kInF32) {
      x = _mm256_loadu_ps(reinterpret_cast<const float*>(row) + j);
    } else {
      x = bf16x8(reinterpret_cast<const uint16_t*>(row) + j);
    }
    step(x, j);
    if ((j & 4095) == 4088) {  // keep the float32 partial sums short
      sum += hsum(sum0);
      sum0 = _mm256_setzero_ps();
    }
  }
  sum += hsum(sum0);
  if (_mm256_movemask_ps(un)) sum = NAN;
  for (; j < v; ++j) {  // scalar tail
    float x;
    if constexpr (kInF32) {
      x = row[j];
    } else {
      const uint32_t bits = static_cast<uint32_t>(row[j]) << 16;
      __builtin_memcpy(&x, &bits, 4);
    }
    const double e = std::exp(double(x) / double(temperature) - double(lse));
    sum += e;
    const float g = static_cast<float>(e * scale);
    if constexpr (kOutF32) {
      out[j] = g;
    } else {
      uint32_t bits;
      __builtin_memcpy(&bits, &g, 4);
      out[j] = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }
  }
  return sum;
}

double backward(const void* row, DType inDtype, int64_t v, float temperature, float lse, float scale, void* out,
                DType outDtype, float*) {
  if (inDtype == DType::F32) {
    if (outDtype == DType::F32)
      return backwardT(static_cast<const float*>(row), v, temperature, lse, scale, static_cast<float*>(out));
    return backwardT(static_cast<const float*>(row), v, temperature, lse, scale, static_cast<uint16_t*>(out));
  }
  if (outDtype == DType::F32)
    return backwardT(static_cast<const uint16_t*>(row), v, temperature, lse, scale, static_cast<float*>(out));
  return backwardT(static_cast<const uint16_t*>(row), v, temperature, lse, scale, static_cast<uint16_t*>(out));
}

double streamRead(const float* data, int64_t count) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  const char* pf = reinterpret_cast<const char*>(data) + kPrefetchBytes;
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    _mm_prefetch(pf + i * 4, _MM_HINT_T0);
    _mm_prefetch(pf + i * 4 + 64, _MM_HINT_T0);
    a = _mm256_add_ps(a, _mm256_loadu_ps(data + i));
    b = _mm256_add_ps(b, _mm256_loadu_ps(data + i + 8));
    c = _mm256_add_ps(c, _mm256_loadu_ps(data + i + 16));
    d = _mm256_add_ps(d, _mm256_loadu_ps(data + i + 24));
  }
  double s = hsum(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  for (; i < count; ++i) s += data[i];
  return s;
}

}  // namespace

bool avx2Supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

const RowKernels& avx2Kernels() {
  static const RowKernels k{"avx2", lseF32, lseBf16, backward, streamRead};
  return k;
}

#else  // built without AVX2 support in the compiler

bool avx2Supported() { return false; }
const RowKernels& avx2Kernels() { return scalarKernels(); }

#endif

}  // namespace rapo::cpu
