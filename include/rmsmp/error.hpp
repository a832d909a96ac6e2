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

/// Throws rmsmp::Error when a precondition does not hold. A function, not a macro, so the
/// message is always built from values the caller names explicitly.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace detail
}  // namespace rmsmp
