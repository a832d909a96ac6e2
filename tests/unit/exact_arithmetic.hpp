// Exact integer arithmetic for tests: an independent spelling of the requantization rounding.
#pragma once

#include <cstdint>

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

}  // namespace rmsmp_test
