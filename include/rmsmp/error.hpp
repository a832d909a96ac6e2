// rmsmp/error.hpp — the one exception type rmsmp throws for bad input.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>

namespace rmsmp {

/// Thrown for every rejected input: wrong shapes, out-of-range parameters, non-finite
/// weights, accumulations that could overflow, malformed files. Deriving from
/// std::invalid_argument lets callers that do not know rmsmp still catch it sensibly.
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument("rmsmp: " + what) {}
};

/// Throws rmsmp::Error with `message`: code that builds on rmsmp (its own readers, layers or
/// tools) reports bad input the same way rmsmp does, so callers catch one type.
[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

/// Throws rmsmp::Error when a precondition does not hold. The message is built before the
/// call: checks made on every kernel call or every row pass a literal or a callable instead.
inline void require(bool condition, const std::string& message) {
  if (!condition) fail(message);
}

/// A literal message: no string is built unless the check fails.
inline void require(bool condition, const char* message) {
  if (!condition) fail(message);
}

/// The message built only when the check fails, by `message()`: a string built on every call
/// of a small GEMM, or for every row, would cost more than the check.
template <class Message>
  requires std::is_invocable_r_v<std::string, Message&>
void require(bool condition, Message&& message) {
  if (!condition) fail(message());
}

}  // namespace rmsmp
