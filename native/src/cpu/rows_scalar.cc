// Portable row kernels: plain C++ with std::exp, float64 accumulation. Used where AVX2 is not
// available, and in tests as a second implementation beside the vectorized one.
#include <cfloat>
#include <cmath>

#include "common/bf16.h"
#include "cpu/rows.h"

namespace rapo::cpu {

namespace {

template <typename Load>
RowLse lseRow(Load load, int64_t v, float temperature, bool wantEntropy) {
  const double invT = 1.0 / double(temperature);
  double maxRaw = -INFINITY;
  bool bad = false;
  for (int64_t j = 0; j < v; ++j) {
    const float x = load(j);
    if (std::isnan(x) || x == INFINITY || float(x / temperature) == INFINITY) bad = true;
    if (x > maxRaw) maxRaw = x;
  }
  RowLse r{NAN, NAN, maxRaw, !bad};
  if (bad || maxRaw == -INFINITY) return r;
  double s = 0, tz = 0;
  for (int64_t j = 0; j < v; ++j) {
    const double d = (double(load(j)) - maxRaw) * invT;  // <= 0, -inf for masked entries
    if (d == -INFINITY) continue;
    const double e = std::exp(d);
    s += e;
    tz += e * d;
  }
  r.lse = maxRaw * invT + std::log(s);
  r.entropy = wantEntropy ? std::log(s) - tz / s : 0.0;
  return r;
}

RowLse lseF32(const float* row, int64_t v, float temperature, bool wantEntropy, float*) {
  return lseRow([row](int64_t j) { return row[j]; }, v, temperature, wantEntropy);
}

RowLse lseBf16(const uint16_t* row, int64_t v, float temperature, bool wantEntropy, float*) {
  return lseRow([row](int64_t j) { return bf16ToFloat(row[j]); }, v, temperature, wantEntropy);
}

double backward(const void* row, DType inDtype, int64_t v, float temperature, float lse, float scale, void* out,
                DType outDtype, float*) {
  const double invT = 1.0 / double(temperature);
  double sum = 0;
  for (int64_t j = 0; j < v; ++j) {
    const float x = inDtype == DType::F32 ? static_cast<const float*>(row)[j]
                                          : bf16ToFloat(static_cast<const uint16_t*>(row)[j]);
    const double d = double(x) * invT - double(lse);
    const double e = d < kZeroBelowLog2 * M_LN2 ? 0.0 : std::exp(d);
    sum += e;
    const float g = static_cast<float>(e * scale);
    if (outDtype == DType::F32) {
      static_cast<float*>(out)[j] = g;
    } else {
      static_cast<uint16_t*>(out)[j] = floatToBf16(g);
    }
  }
  return sum;
}

double streamRead(const float* data, int64_t count) {
  double s = 0;
  for (int64_t i = 0; i < count; ++i) s += data[i];
  return s;
}

void sigmoid(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

}  // namespace

const RowKernels& scalarKernels() {
  static const RowKernels k{"scalar", lseF32, lseBf16, backward, streamRead, sigmoid};
  return k;
}

}  // namespace rapo::cpu
