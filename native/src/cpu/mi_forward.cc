// miForward on the CPU. Inputs: two logits matrices [N, V] (under the full and the
// profile-ablated prompt; float32 or bf16 bits), the sampled tokens [N], an optional mask [N],
// sequence offsets [S + 1] and advantages [S] or [N]. Outputs, each [N] floats: both
// log-probabilities of the sampled token, the log-sum-exp and entropy under the full prompt, the
// PMI (their difference), the normalized score, RAPO's weight and the weighted advantage.
//
// The driver validates, hands blocks of rows to the thread pool (the per-row work is the row
// kernels of rows_*.cc), checks each row, then runs stage 2 (common/finalize.cc: scores,
// weights). Each unmasked row of both tensors is read exactly once; masked rows are not read at
// all. Bad rows are recorded while the threads run and the lowest one is reported after, so
// the error does not depend on the thread count. The CUDA twin is cuda/mi_forward.cu.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "common/bf16.h"
#include "common/errors.h"
#include "common/internal.h"
#include "cpu/op_helpers.h"
#include "cpu/rows.h"
#include "cpu/thread_pool.h"

namespace rapo {

void miForwardCpu(const MiForwardInput& in, const MiForwardOutput& out) {
  validateMiForward(in);
  const cpu::RowKernels& k = cpu::activeKernels();
  const int64_t v = in.v;
  const float T = in.params.temperature;
  auto& pool = cpu::ThreadPool::instance();
  cpu::Scratch scratch(pool.threads());
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
      const double za = double(cpu::rawAt(in.logitsWith, in.dtype, i * v + tok)) / T;
      const double zb = double(cpu::rawAt(in.logitsWithout, in.dtype, i * v + tok)) / T;
      const bool ok = a.finite && b.finite && a.maxRaw != -INFINITY && b.maxRaw != -INFINITY &&
                      float(za) > -FLT_MAX && float(zb) > -FLT_MAX;
      if (!ok) {
        cpu::atomicMin(badRow, i);
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

}  // namespace rapo
