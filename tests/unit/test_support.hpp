// Shared by the unit tests: exact integer arithmetic (an independent spelling of the
// requantization rounding) and printing of floats that reproduces them exactly.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace rmsmp_test {

__extension__ typedef __int128 int128;  // GCC extension; exact for every product we form

/// floor((v * m + 2^(s-1)) / 2^s): requantization's round half toward +infinity.
inline std::int64_t round_half_up_shift(int128 v, std::int64_t m, int s) {
  const int128 num = v * m + (s > 0 ? (static_cast<int128>(1) << (s - 1)) : 0);
  const int128 den = static_cast<int128>(1) << s;
  int128 q = num / den;
  if (num % den != 0 && num < 0) --q;
  return static_cast<std::int64_t>(q);
}

constexpr float inf_f = std::numeric_limits<float>::infinity();
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

/// "%.17g [%a]": enough to reproduce a failing value exactly.
inline std::string num(double v) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%.17g [%a]", v, v);
  return buf;
}

}  // namespace rmsmp_test
