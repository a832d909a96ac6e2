// rmsmp/pack/packed_codes.hpp — how codes sit in memory.
//
// Codes of up to 4 bits share a byte two at a time (column k in byte k/2, even k in the low
// nibble); wider codes take a byte each. Every row starts on a byte boundary, so a row of K
// codes takes row_bytes(bits, K) bytes and an odd K leaves a zero high nibble at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "rmsmp/error.hpp"

namespace rmsmp {

/// Storage of a code width as a type: CodeStorage<4>::codes_per_byte == 2.
template <int Bits>
struct CodeStorage {
  static_assert(Bits >= 1 && Bits <= 8, "rmsmp::CodeStorage<Bits>: codes are 1..8 bits wide");
  static constexpr int bits = Bits;
  static constexpr int codes_per_byte = Bits <= 4 ? 2 : 1;
  static constexpr std::size_t row_bytes(std::size_t columns) {
    return (columns + codes_per_byte - 1) / codes_per_byte;
  }
};

constexpr int codes_per_byte(int bits) { return bits <= 4 ? 2 : 1; }

constexpr std::size_t row_bytes(int bits, std::size_t columns) {
  const auto per_byte = static_cast<std::size_t>(codes_per_byte(bits));
  return (columns + per_byte - 1) / per_byte;
}

/// Reads code k of a packed row.
constexpr std::uint8_t unpack_code(int bits, const std::uint8_t* row, std::size_t k) {
  if (codes_per_byte(bits) == 1) return row[k];
  const std::uint8_t byte = row[k / 2];
  return static_cast<std::uint8_t>((k % 2 == 0) ? (byte & 0x0F) : (byte >> 4));
}

/// Packs one row of codes (one per byte on input, each < 2^bits).
inline void pack_row(int bits, std::span<const std::uint8_t> codes, std::span<std::uint8_t> packed) {
  require(packed.size() == row_bytes(bits, codes.size()), "pack_row: output has the wrong size");
  const unsigned limit = 1u << bits;
  for (std::size_t k = 0; k < codes.size(); ++k)
    if (codes[k] >= limit)
      fail("pack_row: code " + std::to_string(codes[k]) + " at column " + std::to_string(k) +
                   " does not fit in " + std::to_string(bits) + " bits");
  if (codes_per_byte(bits) == 1) {
    std::copy(codes.begin(), codes.end(), packed.begin());
    return;
  }
  std::fill(packed.begin(), packed.end(), std::uint8_t{0});
  for (std::size_t k = 0; k < codes.size(); ++k)
    packed[k / 2] = static_cast<std::uint8_t>(packed[k / 2] | (codes[k] << ((k % 2) * 4)));
}

}  // namespace rmsmp
