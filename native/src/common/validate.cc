// Validation shared by every backend: shapes, index arrays, parameters, and the description
// of a bad logits row once a kernel has flagged it. Never reads a whole logits tensor.
#include <cfloat>
#include <cmath>

#include "common/bf16.h"
#include "common/errors.h"
#include "rapo/rapo.h"

namespace rapo {

const char* dtypeName(DType d) { return d == DType::F32 ? "f32" : "bf16"; }

namespace {

void checkPositiveFinite(double x, const char* arg) {
  if (!(std::isfinite(x) && x > 0)) throwExpected(ErrorKind::Range, "a finite number > 0", arg, jsNumber(x));
}

void checkUnitInterval(double x, const char* arg) {
  if (!(x >= 0 && x <= 1)) throwExpected(ErrorKind::Range, "a number in [0, 1]", arg, jsNumber(x));
}

void checkShape(int64_t n, int64_t v) {
  if (n < 1) throwExpected(ErrorKind::Range, "at least one response token", "tokens", "an empty array");
  if (v < 1) throwExpected(ErrorKind::Range, "an integer >= 1", "vocabSize", jsNumber(double(v)));
}

void checkTokens(const int32_t* tokens, int64_t n, int64_t v) {
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= v) {
      throwRange("tokens[" + std::to_string(i) + "] in [0, vocabSize) = [0, " + std::to_string(v) + ")",
                 std::to_string(tokens[i]));
    }
  }
}

void checkFiniteArray(const float* a, int64_t len, const char* name) {
  for (int64_t i = 0; i < len; ++i) {
    if (!std::isfinite(a[i])) {
      throwRange(std::string(name) + "[" + std::to_string(i) + "] to be finite", jsNumber(a[i]));
    }
  }
}

}  // namespace

void validateMiForward(const MiForwardInput& in) {
  checkShape(in.n, in.v);
  if (in.numSeqs < 1) {
    throwExpected(ErrorKind::Range, "at least one sequence (length >= 2)", "seqOffsets",
                  "length " + std::to_string(in.numSeqs + 1));
  }
  checkTokens(in.tokens, in.n, in.v);
  if (in.mask) {
    for (int64_t i = 0; i < in.n; ++i) {
      if (in.mask[i] > 1) throwRange("mask[" + std::to_string(i) + "] to be 0 or 1", std::to_string(in.mask[i]));
    }
  }
  const int32_t* off = in.seqOffsets;
  if (off[0] != 0) throwRange("seqOffsets[0] = 0", std::to_string(off[0]));
  for (int64_t s = 1; s <= in.numSeqs; ++s) {
    if (off[s] < off[s - 1]) {
      throwRange("seqOffsets[" + std::to_string(s) + "] >= seqOffsets[" + std::to_string(s - 1) +
                     "] = " + std::to_string(off[s - 1]),
                 std::to_string(off[s]));
    }
  }
  if (off[in.numSeqs] != in.n) {
    throwRange("seqOffsets[" + std::to_string(in.numSeqs) + "] = N = " + std::to_string(in.n),
               std::to_string(off[in.numSeqs]));
  }
  checkFiniteArray(in.advantages, in.advantagePerToken ? in.n : in.numSeqs, "advantages");
  if (in.neutral) {
    for (int64_t i = 0; i < in.n; ++i) {
      if (in.neutral[i] > 1) throwRange("neutral[" + std::to_string(i) + "] to be 0 or 1", std::to_string(in.neutral[i]));
    }
  }
  if (in.scores) {
    for (int64_t i = 0; i < in.n; ++i) {
      if (!(in.scores[i] >= -1.0f && in.scores[i] <= 1.0f)) {
        throwRange("scores[" + std::to_string(i) + "] in [-1, 1]", jsNumber(in.scores[i]));
      }
    }
  }
  const RapoParams& p = in.params;
  if (p.groupSize < 0) throwExpected(ErrorKind::Range, "an integer >= 1", "groupSize", std::to_string(p.groupSize));
  if (p.groupSize > 0 && in.numSeqs % p.groupSize != 0) {
    throwRange("groupSize dividing the number of sequences S = " + std::to_string(in.numSeqs), std::to_string(p.groupSize));
  }
  if (p.variant == Variant::Bounded && p.renorm != Renorm::None) {
    throwRange("renorm \"none\" with variant \"bounded\" (it rescales each sign's weights itself)",
               std::string("renorm \"") + (p.renorm == Renorm::Sequence ? "sequence" : "batch") + "\"");
  }
  checkPositiveFinite(p.temperature, "temperature");
  checkPositiveFinite(p.scale, "scale");
  checkUnitInterval(p.lamPos, "lamPos");
  checkUnitInterval(p.lamNeg, "lamNeg");
  if (!(std::isfinite(p.cap) && p.cap >= 0)) throwExpected(ErrorKind::Range, "a finite number >= 0", "cap", jsNumber(p.cap));
}

void validateLogprobBackward(const LogprobBackwardInput& in) {
  checkShape(in.n, in.v);
  checkTokens(in.tokens, in.n, in.v);
  checkFiniteArray(in.lse, in.n, "lse");
  checkFiniteArray(in.coef, in.n, "coef");
  checkPositiveFinite(in.temperature, "temperature");
}

std::string describeRowProblemRaw(const void* rowData, DType dtype, int64_t v, int64_t row, int32_t token,
                                  float temperature, const char* name) {
  const float invT = 1.0f / temperature;
  auto at = [&](int64_t j) -> float {
    return dtype == DType::F32 ? static_cast<const float*>(rowData)[j]
                               : bf16ToFloat(static_cast<const uint16_t*>(rowData)[j]);
  };
  auto where = [&](int64_t j) {
    return std::string(name) + "[" + std::to_string(row) + ", " + std::to_string(j) + "]";
  };
  bool anyAbove = false;
  for (int64_t j = 0; j < v; ++j) {
    const float x = at(j);
    if (std::isnan(x) || x == INFINITY) {
      return "Expected finite values or -Infinity in " + std::string(name) + " but received " + jsNumber(x) +
             " at " + where(j);
    }
    const float z = x * invT;
    if (z == INFINITY) {
      return "Expected finite values in " + std::string(name) + " after dividing by temperature " +
             jsNumber(temperature) + " but received " + where(j) + " = " + jsNumber(x) +
             ", which overflows float32";
    }
    if (z > -FLT_MAX) anyAbove = true;
  }
  if (!anyAbove) {
    return "Expected at least one value above -Infinity in " + std::string(name) + " row " + std::to_string(row) +
           " but received a row of only -Infinity";
  }
  if (!(at(token) * invT > -FLT_MAX)) {
    return "Expected a finite logit for the sampled token tokens[" + std::to_string(row) +
           "] = " + std::to_string(token) + " but received " + where(token) + " = -Infinity";
  }
  return "";
}

}  // namespace rapo
