// rmsmp/error.hpp — the one exception type rmsmp throws for bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace rmsmp {

/// Thrown for every rejected input: wrong shapes, out-of-range parameters, non-finite
/// weights, accumulations that could overflow, malformed files. Deriving from
/// std::invalid_argument lets callers that do not know rmsmp still catch it sensibly.
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument("rmsmp: " + what) {}
};

namespace detail {

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

/// Throws rmsmp::Error when a precondition does not hold. The message is built before the
/// call, so per-element checks in loops use `if (!ok) fail(...)` instead: building a string
/// per element would cost more than the work it guards.
inline void require(bool condition, const std::string& message) {
  if (!condition) fail(message);
}

}  // namespace detail
}  // namespace rmsmp
