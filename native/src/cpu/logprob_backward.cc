// logprobBackward on the CPU. Inputs: logits [N, V] (float32 or bf16 bits), the sampled
// tokens [N], the log-sums-exp [N] that miForward saved, per-row coefficients [N] and the
// temperature. Output: dlogits [N, V] in float32 or bf16, the gradient of
// -sum_n coef[n] * logp[n], that is coef[n] * (softmax(z[n]) - onehot(tokens[n])) / T with
// z = logits / T, rebuilt from the saved lse without storing a softmax.
//
// Rows go to the thread pool in blocks; each is streamed once by the row kernel, which also
// returns the softmax's sum: a sum off 1 by more than 1e-3 means the lse belongs to other
// logits, and the lowest such row is reported. Rows with coef = 0 are zeroed without reading
// the logits. The CUDA twin is cuda/logprob_backward.cu.
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

void logprobBackwardCpu(const LogprobBackwardInput& in) {
  validateLogprobBackward(in);
  const cpu::RowKernels& k = cpu::activeKernels();
  const int64_t v = in.v;
  const float T = in.temperature;
  const std::size_t inRow = static_cast<std::size_t>(v) * dtypeSize(in.dtype);
  const std::size_t outRow = static_cast<std::size_t>(v) * dtypeSize(in.outDtype);
  auto& pool = cpu::ThreadPool::instance();
  cpu::Scratch scratch(pool.threads());
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
        cpu::atomicMin(badRow, i);
        continue;
      }
      // The sampled token's entry: scale * (p - 1), computed in float64.
      const int32_t tok = in.tokens[i];
      const double p = std::exp(double(cpu::rawAt(src, in.dtype, tok)) / T - double(in.lse[i]));
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

}  // namespace rapo
