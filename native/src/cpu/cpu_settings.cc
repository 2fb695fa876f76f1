// What the CPU kernels share and what configures them: which row kernels run (the widest
// instruction set this CPU supports, or the one setCpuIsa chose), the thread count, cpuInfo,
// and streamReadCpu, the benchmark's ceiling: a multi-threaded streaming read of N floats that
// returns their sum, so the fused ops' speed can be stated as a fraction of what memory allows.
// The two fused ops live in mi_forward.cc and logprob_backward.cc.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "cpu/op_helpers.h"
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

std::vector<std::string> availableIsas() {
  std::vector<std::string> out;
  if (cpu::avx512Supported()) out.push_back("avx512");
  if (cpu::avx2Supported()) out.push_back("avx2");
  out.push_back("scalar");
  return out;
}

}  // namespace

namespace cpu {

const RowKernels& activeKernels() {
  const RowKernels* forced = gForced.load();
  return forced ? *forced : best();
}

}  // namespace cpu

CpuInfo cpuInfo() {
  CpuInfo info;
  info.avx2 = cpu::avx2Supported();
  info.available = availableIsas();
  info.threads = cpu::ThreadPool::instance().threads();
  info.hardwareThreads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  info.simd = cpu::activeKernels().name;
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

double streamReadCpu(const float* data, int64_t count) {
  const cpu::RowKernels& k = cpu::activeKernels();
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
