// Message helpers: every error names the argument, what was expected and what came.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "rapo/rapo.h"

namespace rapo {

// Formats a number the way JavaScript prints it for the values that appear in messages
// (integers exactly, NaN and Infinity by name, other values with up to 9 significant digits).
inline std::string jsNumber(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", x);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", x);
  }
  return buf;
}

[[noreturn]] inline void throwExpected(ErrorKind kind, const std::string& expected,
                                       const std::string& arg, const std::string& received) {
  throw Error(kind, "Expected " + expected + " for " + arg + " but received " + received);
}

// "Expected <what> but received <what>" for messages where the argument is part of the
// expectation (an element of an array, a row).
[[noreturn]] inline void throwRange(const std::string& expected, const std::string& received) {
  throw Error(ErrorKind::Range, "Expected " + expected + " but received " + received);
}

}  // namespace rapo
