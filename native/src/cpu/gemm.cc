// Batched matmul on the CPU. With OpenBLAS (RAPO_HAVE_OPENBLAS), each task is one sgemm on a
// block of rows of one batch entry, OpenBLAS itself single-threaded, and the tasks are spread
// over the kernel thread pool: small per-head matrices and big projections both keep every
// core busy without two thread pools fighting. Without a BLAS, a blocked loop does the same.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/errors.h"
#include "cpu/blas.h"
#include "cpu/thread_pool.h"
#include "rapo/rapo.h"

#ifdef RAPO_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace rapo {

namespace {

// C[m0:m1, :] = op(A)[m0:m1, :] * op(B) for one batch entry, portable.
void gemmBlocked(const float* a, const float* b, float* c, int64_t m0, int64_t m1, const MatmulShape& s,
                 std::vector<float>& packedB) {
  const int64_t n = s.n, k = s.k, m = s.m;
  // B as [k, n] rows, so the inner loop runs along contiguous memory.
  const float* bk = b;
  if (s.transB) {
    packedB.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) packedB[p * n + j] = b[j * k + p];
    bk = packedB.data();
  }
  constexpr int64_t KB = 256, NB = 512;
  for (int64_t i = m0; i < m1; ++i) std::memset(c + i * n, 0, sizeof(float) * n);
  for (int64_t p0 = 0; p0 < k; p0 += KB) {
    const int64_t p1 = std::min(k, p0 + KB);
    for (int64_t j0 = 0; j0 < n; j0 += NB) {
      const int64_t j1 = std::min(n, j0 + NB);
      for (int64_t i = m0; i < m1; ++i) {
        float* ci = c + i * n;
        for (int64_t p = p0; p < p1; ++p) {
          const float aip = s.transA ? a[p * m + i] : a[i * k + p];
          const float* bp = bk + p * n;
          for (int64_t j = j0; j < j1; ++j) ci[j] += aip * bp[j];
        }
      }
    }
  }
}

#ifdef RAPO_HAVE_OPENBLAS
void gemmBlas(const float* a, const float* b, float* c, int64_t m0, int64_t m1, const MatmulShape& s) {
  const int64_t rows = m1 - m0;
  // Row block of op(A): with transA, A is [k, m] and the block is columns m0..m1 (lda = m).
  const float* ablock = s.transA ? a + m0 : a + m0 * s.k;
  cpu::gemmOnThread(s.transA, s.transB, rows, s.n, s.k, 1.0f, ablock, s.transA ? s.m : s.k, b, s.transB ? s.k : s.n, 0.0f,
                    c + m0 * s.n, s.n);
}

#endif

std::atomic<bool> gBlocked{false};

void checkShape(const MatmulShape& s) {
  auto positive = [](int64_t v, const char* name, int64_t min) {
    if (v < min) throwExpected(ErrorKind::Range, "an integer >= " + std::to_string(min), name, std::to_string(v));
  };
  positive(s.batchA, "batchA", 1);
  positive(s.batchB, "batchB", 1);
  positive(s.m, "m", 0);
  positive(s.n, "n", 0);
  positive(s.k, "k", 0);
  constexpr int64_t kMax = int64_t{1} << 31;
  if (s.m >= kMax || s.n >= kMax || s.k >= kMax) throwRange("matrix sides below 2^31", "a larger one");
}

}  // namespace

void matmulCpu(const float* a, const float* b, float* c, const MatmulShape& s) {
  checkShape(s);
  const int64_t batch = std::max(s.batchA, s.batchB);
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {
    std::memset(c, 0, sizeof(float) * static_cast<size_t>(batch * s.m * s.n));
    return;
  }
  auto& pool = cpu::ThreadPool::instance();
  // Row blocks: enough tasks for every thread twice over, none smaller than 16 rows (or than
  // ~32k multiply-adds) so per-call overhead stays small.
  const int64_t flopsPerRow = s.n * s.k;
  const int64_t minRows = std::max<int64_t>(16, (int64_t{1} << 15) / std::max<int64_t>(1, flopsPerRow));
  const int64_t wantBlocks = std::max<int64_t>(1, (2 * pool.threads() + batch - 1) / batch);
  const int64_t blocks = std::max<int64_t>(1, std::min(wantBlocks, (s.m + minRows - 1) / minRows));
  const int64_t rowsPerBlock = (s.m + blocks - 1) / blocks;
  const int64_t tasks = batch * blocks;
  const int64_t aStride = s.m * s.k, bStride = s.k * s.n, cStride = s.m * s.n;
#ifdef RAPO_HAVE_OPENBLAS
  const bool useBlocked = !cpu::blasForTasks();
#endif
  pool.parallelFor(tasks, 1, [&](int64_t begin, int64_t end, int) {
    std::vector<float> packed;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bi = t / blocks, blk = t % blocks;
      const int64_t m0 = blk * rowsPerBlock, m1 = std::min(s.m, m0 + rowsPerBlock);
      if (m0 >= m1) continue;
      const float* ab = a + (bi % s.batchA) * aStride;
      const float* bb = b + (bi % s.batchB) * bStride;
      float* cb = c + bi * cStride;
#ifdef RAPO_HAVE_OPENBLAS
      if (!useBlocked) {
        gemmBlas(ab, bb, cb, m0, m1, s);
        continue;
      }
#endif
      gemmBlocked(ab, bb, cb, m0, m1, s, packed);
    }
  });
}

void cpu::gemmOnThread(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#ifdef RAPO_HAVE_OPENBLAS
  if (cpu::blasForTasks()) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
    return;
  }
#endif
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), 0.0f);
    for (int64_t p = 0; p < k; ++p) {
      const float aip = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
      if (tb) {
        for (int64_t j = 0; j < n; ++j) row[j] += aip * b[j * ldb + p];
      } else {
        const float* bp = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) row[j] += aip * bp[j];
      }
    }
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      std::copy(row.begin(), row.end(), ci);
    } else {
      for (int64_t j = 0; j < n; ++j) ci[j] = beta * ci[j] + row[j];
    }
  }
}

bool cpu::blasForTasks() {
#ifdef RAPO_HAVE_OPENBLAS
  // OpenBLAS runs single-threaded inside our tasks; set once, before the first call.
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
  return !gBlocked.load();
#else
  return false;
#endif
}

void setMatmulImpl(const std::string& impl) {
  if (impl == "auto") {
    gBlocked.store(false);
  } else if (impl == "blocked") {
    gBlocked.store(true);
  } else {
    throwExpected(ErrorKind::Range, "\"auto\" or \"blocked\"", "impl", "\"" + impl + "\"");
  }
}

BlasInfo blasInfo() {
  BlasInfo info;
  info.blas = false;
#ifdef RAPO_HAVE_OPENBLAS
  info.blas = true;
  const char* config = openblas_get_config();
  std::string version = config ? config : "";
  // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." -> "openblas 0.3.21"
  const auto space = version.find(' ', 9);
  info.library = "openblas " + (version.rfind("OpenBLAS ", 0) == 0 ? version.substr(9, space == std::string::npos ? std::string::npos : space - 9) : version);
  const char* core = openblas_get_corename();
  info.core = core ? core : "unknown";
#else
  info.library = "none";
  info.core = "none";
#endif
  info.impl = info.blas && !gBlocked.load() ? "blas" : "blocked";
  info.threads = cpu::ThreadPool::instance().threads();
  return info;
}

double timeSgemmDirect(int64_t m, int64_t n, int64_t k, int iterations, int threads) {
  checkShape(MatmulShape{1, 1, m, n, k, false, false});
  if (iterations < 1) throwExpected(ErrorKind::Range, "an integer >= 1", "iterations", std::to_string(iterations));
  std::vector<float> a(static_cast<size_t>(m * k), 0.5f), b(static_cast<size_t>(k * n), 0.25f), c(static_cast<size_t>(m * n));
  std::vector<double> times;
#ifdef RAPO_HAVE_OPENBLAS
  openblas_set_num_threads(std::max(1, threads));
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0f, a.data(), static_cast<blasint>(k), b.data(), static_cast<blasint>(n), 0.0f,
                c.data(), static_cast<blasint>(n));
  };
#else
  (void)threads;
  auto run = [&] { matmulCpu(a.data(), b.data(), c.data(), MatmulShape{1, 1, m, n, k, false, false}); };
#endif
  run();
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
#ifdef RAPO_HAVE_OPENBLAS
  openblas_set_num_threads(1);  // back to single-threaded tasks inside matmulCpu
#endif
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace rapo
