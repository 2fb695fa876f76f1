// CPU drivers of the two ops: validation, the row loop over the thread pool, the per-row
// checks, then stage 2 (common/finalize.cc). The row work itself is in rows_*.cc.
//
// miForward reads each unmasked row of both logits tensors exactly once; masked rows are not
// read at all. Bad rows are recorded while the threads run and the lowest one is reported
// after, so the error does not depend on the thread count.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "common/bf16.h"
#include "common/errors.h"
#include "common/internal.h"
#include "cpu/rows.h"
#include "cpu/thread_pool.h"

namespace rapo {

namespace {

// The row kernels in use: the widest this CPU supports unless setCpuIsa chose another.
std::atomic<const cpu::RowKernels*> gForced{nullptr};

const cpu::RowKernels& best() {
  if (cpu::avx512Supported()) return cpu::avx512Kernels();
  if (cpu::avx2Supported()) return cpu::avx2Kernels();
  return cpu::scalarKernels();
}

const cpu::RowKernels& kernels() {
  const cpu::RowKernels* forced = gForced.load();
  return forced ? *forced : best();
}

std::vector<std::string> availableIsas() {
  std::vector<std::string> out;
  if (cpu::avx512Supported()) out.push_back("avx512");
  if (cpu::avx2Supported()) out.push_back("avx2");
  out.push_back("scalar");
  return out;
}

// Grows a per-worker scratch area of kChunk floats (32-byte aligned).
struct Scratch {
  std::vector<float> data;
  float* forWorker(int worker) { return data.data() + static_cast<std::size_t>(worker) * (cpu::kChunk + 8); }
  explicit Scratch(int workers) : data(static_cast<std::size_t>(workers) * (cpu::kChunk + 8)) {}
};

float rawAt(const void* base, DType dtype, int64_t index) {
  return dtype == DType::F32 ? static_cast<const float*>(base)[index]
                             : bf16ToFloat(static_cast<const uint16_t*>(base)[index]);
}

void atomicMin(std::atomic<int64_t>& target, int64_t value) {
  int64_t cur = target.load();
  while (value < cur && !target.compare_exchange_weak(cur, value)) {
  }
}

}  // namespace

CpuInfo cpuInfo() {
  CpuInfo info;
  info.avx2 = cpu::avx2Supported();
  info.available = availableIsas();
  info.threads = cpu::ThreadPool::instance().threads();
  info.hardwareThreads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  info.simd = kernels().name;
  return info;
}

void setCpuThreads(int threads) {
  if (threads < 0 || threads > 1024) {
    throwExpected(ErrorKind::Range, "an integer in [0, 1024] (0: one per hardware thread)", "threads",
                  std::to_string(threads));
  }
  cpu::ThreadPool::instance().setThreads(threads);
}

void setCpuIsa(const std::string& isa) {
  if (isa == "auto") {
    gForced.store(nullptr);
    return;
  }
  const std::vector<std::string> ok = availableIsas();
  std::string expected = "one of \"auto\"";
  for (const std::string& name : ok) expected += ", \"" + name + "\"";
  if (std::find(ok.begin(), ok.end(), isa) == ok.end()) {
    throwExpected(ErrorKind::Range, expected + " (what this CPU supports)", "isa", "\"" + isa + "\"");
  }
  gForced.store(isa == "avx512" ? &cpu::avx512Kernels() : isa == "avx2" ? &cpu::avx2Kernels() : &cpu::scalarKernels());
}

void miForwardCpu(const MiForwardInput& in, const MiForwardOutput& out) {
  validateMiForward(in);
  const cpu::RowKernels& k = kernels();
  const int64_t v = in.v;
  const float T = in.params.temperature;
  auto& pool = cpu::ThreadPool::instance();
  Scratch scratch(pool.threads());
  std::atomic<int64_t> badRow{INT64_MAX};
  // Rows per block: enough to amortize the atomic, few enough to balance masked rows.
  const int64_t grain = std::max<int64_t>(1, 65536 / v);

  pool.parallelFor(in.n, grain, [&](int64_t begin, int64_t end, int worker) {
    float* buf = scratch.forWorker(worker);
    for (int64_t i = begin; i < end; ++i) {
      if (in.mask && !in.mask[i]) {
        out.logpWith[i] = out.logpWithout[i] = out.lseWith[i] = out.entropyWith[i] = 0.0f;
        continue;
      }
      const int32_t tok = in.tokens[i];
      cpu::RowLse a, b;
      if (in.dtype == DType::F32) {
        a = k.lseF32(static_cast<const float*>(in.logitsWith) + i * v, v, T, true, buf);
        b = k.lseF32(static_cast<const float*>(in.logitsWithout) + i * v, v, T, false, buf);
      } else {
        a = k.lseBf16(static_cast<const uint16_t*>(in.logitsWith) + i * v, v, T, true, buf);
        b = k.lseBf16(static_cast<const uint16_t*>(in.logitsWithout) + i * v, v, T, false, buf);
      }
      const double za = double(rawAt(in.logitsWith, in.dtype, i * v + tok)) / T;
      const double zb = double(rawAt(in.logitsWithout, in.dtype, i * v + tok)) / T;
      const bool ok = a.finite && b.finite && a.maxRaw != -INFINITY && b.maxRaw != -INFINITY &&
                      float(za) > -FLT_MAX && float(zb) > -FLT_MAX;
      if (!ok) {
        atomicMin(badRow, i);
        continue;
      }
      out.lseWith[i] = static_cast<float>(a.lse);
      out.logpWith[i] = static_cast<float>(za - a.lse);
      out.logpWithout[i] = static_cast<float>(zb - b.lse);
      out.entropyWith[i] = static_cast<float>(std::max(0.0, a.entropy));
    }
  });

  const int64_t bad = badRow.load();
  if (bad != INT64_MAX) {
    const std::size_t rowBytes = static_cast<std::size_t>(v) * dtypeSize(in.dtype);
    const char* w = static_cast<const char*>(in.logitsWith) + bad * rowBytes;
    const char* wo = static_cast<const char*>(in.logitsWithout) + bad * rowBytes;
    if (!describeRowProblemRaw(w, in.dtype, v, bad, in.tokens[bad], T, "logitsWith").empty()) {
      throwRowProblem(in, bad, true, w);
    }
    throwRowProblem(in, bad, false, wo);
  }
  miFinalize(in, out);
}

void logprobBackwardCpu(const LogprobBackwardInput& in) {
  validateLogprobBackward(in);
  const cpu::RowKernels& k = kernels();
  const int64_t v = in.v;
  const float T = in.temperature;
  const std::size_t inRow = static_cast<std::size_t>(v) * dtypeSize(in.dtype);
  const std::size_t outRow = static_cast<std::size_t>(v) * dtypeSize(in.outDtype);
  auto& pool = cpu::ThreadPool::instance();
  Scratch scratch(pool.threads());
  std::atomic<int64_t> badRow{INT64_MAX};
  std::vector<double> sums(static_cast<std::size_t>(in.n), 1.0);

  pool.parallelFor(in.n, std::max<int64_t>(1, 65536 / v), [&](int64_t begin, int64_t end, int worker) {
    for (int64_t i = begin; i < end; ++i) {
      char* dst = static_cast<char*>(in.dlogits) + i * outRow;
      if (in.coef[i] == 0.0f) {  // masked or zero-gradient row: logits are not read
        std::fill(dst, dst + outRow, 0);
        continue;
      }
      const char* src = static_cast<const char*>(in.logits) + i * inRow;
      const float scale = in.coef[i] / T;
      const double sum = k.backward(src, in.dtype, v, T, in.lse[i], scale, dst, in.outDtype, scratch.forWorker(worker));
      sums[i] = sum;
      if (!(std::fabs(sum - 1.0) <= 1e-3)) {
        atomicMin(badRow, i);
        continue;
      }
      // The sampled token's entry: scale * (p - 1), computed in float64.
      const int32_t tok = in.tokens[i];
      const double p = std::exp(double(rawAt(src, in.dtype, tok)) / T - double(in.lse[i]));
      const float g = static_cast<float>(double(scale) * (p - 1.0));
      if (in.outDtype == DType::F32) {
        reinterpret_cast<float*>(dst)[tok] = g;
      } else {
        reinterpret_cast<uint16_t*>(dst)[tok] = floatToBf16(g);
      }
    }
  });

  const int64_t bad = badRow.load();
  if (bad != INT64_MAX) {
    const char* src = static_cast<const char*>(in.logits) + bad * inRow;
    std::string msg = describeRowProblemRaw(src, in.dtype, v, bad, in.tokens[bad], T, "logits");
    // A row with only -inf is fine for the backward pass as long as lse matches; the mismatch
    // message is the useful one unless a value is NaN or +inf.
    if (msg.empty() || msg.find("finite values") == std::string::npos) {
      msg = lseMismatchMessage(bad, in.lse[bad], sums[bad]);
    }
    throw Error(ErrorKind::Range, msg);
  }
}

double streamReadCpu(const float* data, int64_t count) {
  const cpu::RowKernels& k = kernels();
  auto& pool = cpu::ThreadPool::instance();
  const int threads = pool.threads();
  std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
  const int64_t block = 1 << 16;
  const int64_t blocks = (count + block - 1) / block;
  pool.parallelFor(blocks, 1, [&](int64_t begin, int64_t end, int worker) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t start = b * block;
      partial[worker] += k.streamRead(data + start, std::min(block, count - start));
    }
  });
  double s = 0;
  for (double p : partial) s += p;
  return s;
}

}  // namespace rapo
