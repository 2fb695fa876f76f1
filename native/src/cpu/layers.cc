// Fused layer kernels for training on the rapo-native tfjs backend: RMSNorm and the SwiGLU
// product, forward and backward, and the embedding gradient as a scatter-add. Each replaces a
// chain of broadcasting elementwise ops (and, for RMSNorm, a reduction) with one or two passes
// over the activations. Reductions across rows (the weight gradient of RMSNorm) run over fixed
// blocks of rows whose float64 partial sums are added in block order, so results do not depend
// on the number of threads or on scheduling: training stays bit-reproducible.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "cpu/op_helpers.h"
#include "cpu/thread_pool.h"
#include "rapo/rapo.h"

namespace rapo {

namespace {

constexpr int64_t kRowBlock = 32;  // rows per block of a cross-row reduction

void checkSizes(int64_t rows, int64_t size) {
  if (rows < 0 || size < 1) throwRange("rows >= 0 and size >= 1", std::to_string(rows) + " x " + std::to_string(size));
}

}  // namespace

void rmsNormForwardCpu(const float* x, const float* weight, float* y, float* rstd, int64_t rows, int64_t size, float eps) {
  checkSizes(rows, size);
  if (!(eps >= 0.0f)) throwExpected(ErrorKind::Range, "a number >= 0", "eps", jsNumber(eps));
  cpu::ThreadPool::instance().parallelFor(rows, std::max<int64_t>(1, 8192 / size), [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * size;
      double acc = 0.0;
      for (int64_t i = 0; i < size; ++i) acc += static_cast<double>(xr[i]) * xr[i];
      const float mean = static_cast<float>(acc / static_cast<double>(size));
      const float inv = 1.0f / std::sqrt(mean + eps);
      rstd[r] = inv;
      float* yr = y + r * size;
      for (int64_t i = 0; i < size; ++i) yr[i] = (xr[i] * inv) * weight[i];
    }
  });
}

void rmsNormBackwardCpu(const float* dy, const float* x, const float* weight, const float* rstd, float* dx, float* dweight, int64_t rows,
                        int64_t size) {
  checkSizes(rows, size);
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(1, blocks) * size), 0.0);
  cpu::ThreadPool::instance().parallelFor(blocks, 1, [&](int64_t b0, int64_t b1, int) {
    std::vector<float> acc(static_cast<size_t>(size));
    for (int64_t blk = b0; blk < b1; ++blk) {
      // A block's rows add their weight gradient in float32 (at most kRowBlock terms), then the
      // block's sum goes into its float64 partial.
      std::fill(acc.begin(), acc.end(), 0.0f);
      const int64_t r1 = std::min(rows, (blk + 1) * kRowBlock);
      for (int64_t r = blk * kRowBlock; r < r1; ++r) {
        const float* xr = x + r * size;
        const float* g = dy + r * size;
        const float inv = rstd[r];
        // dx = inv * (dy * w) - x * inv^3 * mean(dy * w * x)
        double dot = 0.0;
        for (int64_t i = 0; i < size; ++i) dot += static_cast<double>(g[i] * weight[i] * xr[i]);
        const float c = static_cast<float>(static_cast<double>(inv) * inv * inv * dot / static_cast<double>(size));
        float* dxr = dx + r * size;
        for (int64_t i = 0; i < size; ++i) {
          dxr[i] = inv * (g[i] * weight[i]) - xr[i] * c;
          acc[static_cast<size_t>(i)] += g[i] * xr[i] * inv;
        }
      }
      double* pw = partial.data() + blk * size;
      for (int64_t i = 0; i < size; ++i) pw[i] = acc[static_cast<size_t>(i)];
    }
  });
  for (int64_t i = 0; i < size; ++i) {
    double sum = 0.0;
    for (int64_t blk = 0; blk < blocks; ++blk) sum += partial[static_cast<size_t>(blk * size + i)];
    dweight[i] = static_cast<float>(sum);
  }
}

void swigluForwardCpu(const float* gate, const float* up, float* y, float* sig, int64_t n) {
  if (n < 0) throwExpected(ErrorKind::Range, "a length >= 0", "n", std::to_string(n));
  // The sigmoid on the vectorized row kernels (the exponential dominates otherwise), into sig or,
  // without it, into y, which the product then overwrites in place.
  const cpu::RowKernels& k = cpu::activeKernels();
  cpu::ThreadPool::instance().parallelFor(n, int64_t{1} << 14, [&](int64_t begin, int64_t end, int) {
    float* s = (sig ? sig : y) + begin;
    k.sigmoid(gate + begin, s, end - begin);
    for (int64_t i = begin; i < end; ++i) y[i] = (gate[i] * s[i - begin]) * up[i];
  });
}

void swigluBackwardCpu(const float* dy, const float* gate, const float* up, const float* sig, float* dgate, float* dup, int64_t n) {
  if (n < 0) throwExpected(ErrorKind::Range, "a length >= 0", "n", std::to_string(n));
  cpu::ThreadPool::instance().parallelFor(n, int64_t{1} << 14, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = gate[i];
      const float s = sig ? sig[i] : 1.0f / (1.0f + std::exp(-g));
      const float silu = g * s;
      dup[i] = dy[i] * silu;
      dgate[i] = dy[i] * up[i] * (s + silu * (1.0f - s));
    }
  });
}

void rotaryCpu(const float* x, const float* cosv, const float* sinv, float* out, int64_t batch, int64_t heads, int64_t seq, int64_t headDim,
               bool inverse) {
  if (batch < 0 || heads < 0 || seq < 0 || headDim < 2 || headDim % 2 != 0) {
    throwRange("batch, heads, seq >= 0 and an even headDim >= 2",
               std::to_string(batch) + ", " + std::to_string(heads) + ", " + std::to_string(seq) + ", " + std::to_string(headDim));
  }
  const int64_t half = headDim / 2;
  const float sign = inverse ? -1.0f : 1.0f;
  cpu::ThreadPool::instance().parallelFor(batch * heads * seq, std::max<int64_t>(1, 4096 / headDim), [&](int64_t begin, int64_t end, int) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t t = row % seq, b = row / (heads * seq);
      const float* c = cosv + (b * seq + t) * headDim;
      const float* sn = sinv + (b * seq + t) * headDim;
      const float* xr = x + row * headDim;
      float* o = out + row * headDim;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = xr[i], x2 = xr[half + i];
        const float s1 = sign * sn[i], s2 = sign * sn[half + i];
        const float a = x1 * c[i], bb = -x2 * s1, d = x2 * c[half + i], e = x1 * s2;
        o[i] = a + bb;
        o[half + i] = d + e;
      }
    }
  });
}

void scatterAddRowsCpu(const float* src, const int32_t* index, float* out, int64_t count, int64_t rows, int64_t width) {
  if (count < 0 || rows < 0 || width < 0) {
    throwRange("count, rows and width >= 0", std::to_string(count) + ", " + std::to_string(rows) + ", " + std::to_string(width));
  }
  for (int64_t j = 0; j < count; ++j) {
    if (index[j] < 0 || index[j] >= rows) {
      throwRange("indices in [0, " + std::to_string(rows) + ")", "index[" + std::to_string(j) + "] = " + std::to_string(index[j]));
    }
  }
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(rows * width));
  // Columns split over threads: every output row is summed in index order by one thread.
  const int64_t grain = std::max<int64_t>(16, width / 8);
  cpu::ThreadPool::instance().parallelFor(width, grain, [&](int64_t c0, int64_t c1, int) {
    for (int64_t j = 0; j < count; ++j) {
      const float* s = src + j * width;
      float* o = out + static_cast<int64_t>(index[j]) * width;
      for (int64_t c = c0; c < c1; ++c) o[c] += s[c];
    }
  });
}

}  // namespace rapo
