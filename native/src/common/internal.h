// Internal declarations shared by the CPU, CUDA and binding sources.
#pragma once

#include <cstdint>
#include <string>

#include "rapo/rapo.h"

namespace rapo {

// Status of one logits row after a kernel pass; the order is the order of precedence used
// when reporting (the first problem of the lowest bad row wins, logitsWith before logitsWithout).
enum RowStatus : int32_t {
  kRowOk = 0,
  kRowNonFinite = 1,   // NaN or +Infinity (or overflow after dividing by the temperature)
  kRowAllMasked = 2,   // every logit is -Infinity
  kRowTokenMasked = 3  // the sampled token's logit is -Infinity
};

// Describes the first problem of one row (host memory), or "" when there is none.
std::string describeRowProblemRaw(const void* rowData, DType dtype, int64_t v, int64_t row, int32_t token,
                                  float temperature, const char* name);

// The message for a logprobBackward row whose softmax, given lse[row], does not sum to 1.
std::string lseMismatchMessage(int64_t row, float lse, double softmaxSum);

// Throws the error for a row a kernel flagged; `rowData` is the host copy of that row.
[[noreturn]] void throwRowProblem(const MiForwardInput& in, int64_t row, bool withSide, const void* rowData);

}  // namespace rapo
