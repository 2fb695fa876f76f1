// Elementwise binary ops with broadcasting, strided copies and row softmax for the rapo-native
// tfjs backend. Dimensions that are contiguous in every operand are merged first, so the
// common cases (same shape, a row broadcast over a matrix, a scalar) become one long inner
// loop with unit or zero stride, which the compiler vectorizes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/errors.h"
#include "cpu/op_helpers.h"
#include "cpu/thread_pool.h"
#include "rapo/rapo.h"

namespace rapo {

namespace {

struct Layout {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t s[3][kMaxRank];  // strides of up to three operands (the first is the output's)
};

// Drops size-1 dimensions and merges dimension d into d+1 when every operand steps through
// them contiguously.
Layout collapse(int rank, const int64_t* shape, const int64_t* const* strides, int operands) {
  if (rank < 0 || rank > kMaxRank) throwExpected(ErrorKind::Range, "a rank in [0, " + std::to_string(kMaxRank) + "]", "rank", std::to_string(rank));
  Layout l;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] < 0) throwExpected(ErrorKind::Range, "sizes >= 0", "shape", std::to_string(shape[d]));
    if (shape[d] == 1) continue;
    if (l.rank > 0) {
      bool merge = true;
      for (int o = 0; o < operands; ++o) merge = merge && l.s[o][l.rank - 1] == strides[o][d] * shape[d];
      if (merge) {
        l.shape[l.rank - 1] *= shape[d];
        for (int o = 0; o < operands; ++o) l.s[o][l.rank - 1] = strides[o][d];
        continue;
      }
    }
    l.shape[l.rank] = shape[d];
    for (int o = 0; o < operands; ++o) l.s[o][l.rank] = strides[o][d];
    ++l.rank;
  }
  if (l.rank == 0) {  // a scalar
    l.rank = 1;
    l.shape[0] = 1;
    for (int o = 0; o < operands; ++o) l.s[o][0] = 1;
  }
  return l;
}

// Calls inner(offsets..., count) for every run of the innermost dimension, over outer rows
// [begin, end) in row-major order.
template <int N, typename Inner>
void forRows(const Layout& l, int64_t begin, int64_t end, Inner inner) {
  const int last = l.rank - 1;
  int64_t idx[kMaxRank] = {0};
  int64_t off[N] = {0};
  // Position of row `begin`.
  int64_t r = begin;
  for (int d = last - 1; d >= 0; --d) {
    idx[d] = r % l.shape[d];
    r /= l.shape[d];
    for (int o = 0; o < N; ++o) off[o] += idx[d] * l.s[o][d];
  }
  for (int64_t row = begin; row < end; ++row) {
    inner(off, l.shape[last]);
    for (int d = last - 1; d >= 0; --d) {
      ++idx[d];
      for (int o = 0; o < N; ++o) off[o] += l.s[o][d];
      if (idx[d] < l.shape[d]) break;
      for (int o = 0; o < N; ++o) off[o] -= l.s[o][d] * l.shape[d];
      idx[d] = 0;
    }
  }
}

int64_t outerRows(const Layout& l) {
  int64_t rows = 1;
  for (int d = 0; d < l.rank - 1; ++d) rows *= l.shape[d];
  return rows;
}

// Rows per task so each task has at least ~16k elements.
int64_t grainFor(const Layout& l) {
  const int64_t inner = std::max<int64_t>(1, l.shape[l.rank - 1]);
  return std::max<int64_t>(1, (int64_t{1} << 14) / inner);
}

template <typename F>
inline void runInner(float* o, const float* a, const float* b, int64_t sa, int64_t sb, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float y = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], y);
  } else if (sa == 0 && sb == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(x, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <typename F>
void binaryWith(const float* a, const float* b, float* out, const Layout& l, F f) {
  const int last = l.rank - 1;
  const int64_t so = l.s[0][last], sa = l.s[1][last], sb = l.s[2][last];
  (void)so;  // the output is contiguous: its innermost stride is 1
  cpu::ThreadPool::instance().parallelFor(outerRows(l), grainFor(l), [&](int64_t begin, int64_t end, int) {
    forRows<3>(l, begin, end, [&](const int64_t* off, int64_t n) { runInner(out + off[0], a + off[1], b + off[2], sa, sb, n, f); });
  });
}

}  // namespace

void binaryCpu(BinaryOp op, const float* a, const float* b, float* out, int rank, const int64_t* shape,
               const int64_t* aStrides, const int64_t* bStrides) {
  int64_t outStrides[kMaxRank];
  if (rank < 0 || rank > kMaxRank) throwExpected(ErrorKind::Range, "a rank in [0, " + std::to_string(kMaxRank) + "]", "rank", std::to_string(rank));
  int64_t st = 1;
  for (int d = rank - 1; d >= 0; --d) {
    outStrides[d] = st;
    st *= shape[d];
  }
  if (st == 0) return;
  const int64_t* strides[3] = {outStrides, aStrides, bStrides};
  const Layout l = collapse(rank, shape, strides, 3);
  switch (op) {
    case BinaryOp::Add: return binaryWith(a, b, out, l, [](float x, float y) { return x + y; });
    case BinaryOp::Sub: return binaryWith(a, b, out, l, [](float x, float y) { return x - y; });
    case BinaryOp::Mul: return binaryWith(a, b, out, l, [](float x, float y) { return x * y; });
    case BinaryOp::Div: return binaryWith(a, b, out, l, [](float x, float y) { return x / y; });
    case BinaryOp::Max: return binaryWith(a, b, out, l, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); });
    case BinaryOp::Min: return binaryWith(a, b, out, l, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); });
    case BinaryOp::SquaredDifference: return binaryWith(a, b, out, l, [](float x, float y) { return (x - y) * (x - y); });
  }
  throwExpected(ErrorKind::Range, "a binary op code in [0, 6]", "op", std::to_string(static_cast<int>(op)));
}

void stridedCopyCpu(const float* srcF, float* dstF, int rank, const int64_t* shape, const int64_t* srcStrides,
                    const int64_t* dstStrides) {
  for (int d = 0; d < rank; ++d)
    if (shape[d] == 0) return;
  // Copied as 32-bit words so int32 data and NaN payloads pass through bit for bit.
  const auto* src = reinterpret_cast<const uint32_t*>(srcF);
  auto* dst = reinterpret_cast<uint32_t*>(dstF);
  const int64_t* strides[2] = {dstStrides, srcStrides};
  const Layout l = collapse(rank, shape, strides, 2);
  const int last = l.rank - 1;
  const int64_t sd = l.s[0][last], ss = l.s[1][last];
  cpu::ThreadPool::instance().parallelFor(outerRows(l), grainFor(l), [&](int64_t begin, int64_t end, int) {
    forRows<2>(l, begin, end, [&](const int64_t* off, int64_t n) {
      uint32_t* o = dst + off[0];
      const uint32_t* x = src + off[1];
      if (sd == 1 && ss == 1) {
        std::memcpy(o, x, sizeof(uint32_t) * n);
      } else {
        for (int64_t i = 0; i < n; ++i) o[i * sd] = x[i * ss];
      }
    });
  });
}

void softmaxRowsCpu(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) throwRange("rows and cols >= 0", std::to_string(rows) + " x " + std::to_string(cols));
  if (cols == 0) return;
  // The fused ops' vectorized row kernels: the row's log-sum-exp, then exp(x - lse) in one pass.
  // Rows they cannot take (NaN, +inf, all -inf) go through the plain loop, which gives tfjs's
  // answers for them.
  const cpu::RowKernels& k = cpu::activeKernels();
  auto& pool = cpu::ThreadPool::instance();
  cpu::Scratch scratch(pool.threads());
  pool.parallelFor(rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end, int worker) {
    float* sc = scratch.forWorker(worker);
    for (int64_t r = begin; r < end; ++r) cpu::softmaxRow(k, x + r * cols, out + r * cols, cols, sc);
  });
}

namespace cpu {

void softmaxRow(const RowKernels& k, const float* xr, float* orow, int64_t cols, float* scratch) {
  const RowLse l = k.lseF32(xr, cols, 1.0f, false, scratch);
  if (l.finite && l.maxRaw > -INFINITY) {
    // exp(x - lse) sums to 1 only up to the rounding of lse and of the polynomial; dividing by
    // the sum the pass returns makes the row sum to 1 as the plain loop's does, which the
    // softmax gradient (y * (dy - sum(y * dy))) relies on.
    const double sum = k.backward(xr, DType::F32, cols, 1.0f, static_cast<float>(l.lse), 1.0f, orow, DType::F32, scratch);
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < cols; ++j) orow[j] *= inv;
    return;
  }
  float mx = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, xr[j]);
  if (mx == -INFINITY) mx = 0;  // an all -inf row: exp gives 0s, then 0/0 = NaN as tfjs does
  float sum = 0;
  for (int64_t j = 0; j < cols; ++j) {
    orow[j] = std::exp(xr[j] - mx);
    sum += orow[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < cols; ++j) orow[j] *= inv;
}

}  // namespace cpu

namespace {

template <typename F>
void unaryWith(const float* x, float* out, int64_t n, F f) {
  cpu::ThreadPool::instance().parallelFor(n, int64_t{1} << 14, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = f(x[i]);
  });
}

}  // namespace

void unaryCpu(UnaryOp op, const float* x, float* out, int64_t n) {
  if (n < 0) throwRange("n >= 0", std::to_string(n));
  switch (op) {
    case UnaryOp::Neg: return unaryWith(x, out, n, [](float v) { return -v; });
    case UnaryOp::Exp: return unaryWith(x, out, n, [](float v) { return std::exp(v); });
    case UnaryOp::Log: return unaryWith(x, out, n, [](float v) { return std::log(v); });
    case UnaryOp::Sigmoid: return unaryWith(x, out, n, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    case UnaryOp::Sqrt: return unaryWith(x, out, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return unaryWith(x, out, n, [](float v) { return 1.0f / std::sqrt(v); });
    case UnaryOp::Square: return unaryWith(x, out, n, [](float v) { return v * v; });
    case UnaryOp::Abs: return unaryWith(x, out, n, [](float v) { return std::fabs(v); });
    case UnaryOp::Reciprocal: return unaryWith(x, out, n, [](float v) { return 1.0f / v; });
  }
  throwExpected(ErrorKind::Range, "a unary op code in [0, 8]", "op", std::to_string(static_cast<int>(op)));
}

void sumAxisCpu(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner, double scale) {
  if (outer < 0 || reduce < 0 || inner < 0) throwRange("sizes >= 0", std::to_string(outer) + " x " + std::to_string(reduce) + " x " + std::to_string(inner));
  auto& pool = cpu::ThreadPool::instance();
  if (inner == 1) {
    // Sum of each contiguous row: eight float64 lanes, which the compiler keeps in vectors.
    pool.parallelFor(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, reduce)), [&](int64_t begin, int64_t end, int) {
      for (int64_t o = begin; o < end; ++o) {
        const float* row = x + o * reduce;
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t r = 0;
        for (; r + 8 <= reduce; r += 8)
          for (int l = 0; l < 8; ++l) lane[l] += row[r + l];
        double total = 0;
        for (; r < reduce; ++r) total += row[r];
        for (int l = 0; l < 8; ++l) total += lane[l];
        out[o] = static_cast<float>(total * scale);
      }
    });
    return;
  }
  // Columns: each task owns a block of (outer, inner) outputs and walks the reduced rows,
  // adding contiguous runs into a float64 accumulator.
  const int64_t block = 512;
  const int64_t blocksPerOuter = (inner + block - 1) / block;
  pool.parallelFor(outer * blocksPerOuter, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, reduce * block)), [&](int64_t begin, int64_t end, int) {
    double acc[block];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / blocksPerOuter;
      const int64_t i0 = (t % blocksPerOuter) * block;
      const int64_t len = std::min(block, inner - i0);
      std::fill(acc, acc + len, 0.0);
      const float* base = x + o * reduce * inner + i0;
      for (int64_t r = 0; r < reduce; ++r) {
        const float* row = base + r * inner;
        for (int64_t i = 0; i < len; ++i) acc[i] += row[i];
      }
      float* dst = out + o * inner + i0;
      for (int64_t i = 0; i < len; ++i) dst[i] = static_cast<float>(acc[i] * scale);
    }
  });
}

void gatherCpu(const float* xF, const int32_t* index, float* outF, int64_t outer, int64_t axis, int64_t inner, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    if (index[j] < 0 || index[j] >= axis) {
      throwRange("indices in [0, " + std::to_string(axis - 1) + "]", "index " + std::to_string(index[j]) + " at position " + std::to_string(j));
    }
  }
  const auto* x = reinterpret_cast<const uint32_t*>(xF);
  auto* out = reinterpret_cast<uint32_t*>(outF);
  cpu::ThreadPool::instance().parallelFor(outer * count, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)), [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / count, j = t % count;
      std::memcpy(out + t * inner, x + (o * axis + index[j]) * inner, sizeof(uint32_t) * inner);
    }
  });
}

}  // namespace rapo
