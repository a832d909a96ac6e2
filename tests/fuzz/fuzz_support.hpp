// Shared by the fuzz targets and the corpus generator (make_corpus.cpp): the checksum fix-up
// for rmsmp's binary container and the fixed .npy files the manifest target's JSON names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/ndarray.hpp"
#include "rmsmp/io/npy.hpp"

namespace rmsmp_fuzz {

/// Calls the parser; an rmsmp::Error is the expected way to refuse bad input, anything else
/// escapes to libFuzzer (an uncaught exception aborts, which it reports as a crash).
template <class Parse>
void expect_parse_or_error(Parse&& parse) {
  try {
    parse();
  } catch (const rmsmp::Error&) {
  }
}

/// A broken invariant on an accepted input: a crash libFuzzer reports with the input.
inline void check(bool holds) {
  if (!holds) std::abort();
}

namespace detail {

inline void put_u32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_u64(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t get(const std::vector<std::uint8_t>& bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t{bytes[at + i]} << (8 * i);
  return v;
}

}  // namespace detail

/// The container with its declared size, header CRC and every section CRC it can find made
/// right (the layout of rmsmp/io/binary_file.hpp, docs/model-format.md). A mutation almost
/// never keeps a CRC-32 valid, so without this the fuzzer would only ever meet the checksum
/// checks; with it, it reaches the section walk and the payload readers behind them. Bytes
/// too short for a header, and a section walk that runs off the end, are left as they are.
inline std::vector<std::uint8_t> with_valid_checksums(std::vector<std::uint8_t> bytes) {
  using Layout = rmsmp::BinaryFileLayout;
  constexpr std::size_t size_at = 8 + 4 + 4 + Layout::format_name_bytes;  // after magic, versions, name
  constexpr std::size_t count_at = size_at + 8;
  constexpr std::size_t crc_at = count_at + 4;
  static_assert(crc_at + 4 == Layout::header_bytes);
  if (bytes.size() < Layout::header_bytes) return bytes;
  detail::put_u64(bytes, size_at, bytes.size());
  detail::put_u32(bytes, crc_at, rmsmp::crc32(std::span<const std::uint8_t>(bytes).first(crc_at)));
  const std::uint64_t sections = detail::get(bytes, count_at, 4);
  std::size_t at = Layout::header_bytes;
  for (std::uint64_t i = 0; i < sections; ++i) {
    const std::size_t start = at;
    if (bytes.size() - at < 4) break;
    const std::uint64_t name = detail::get(bytes, at, 4);
    at += 4;
    if (bytes.size() - at < name || bytes.size() - at - name < 8) break;
    at += static_cast<std::size_t>(name);
    const std::uint64_t payload = detail::get(bytes, at, 8);
    at += 8;
    if (bytes.size() - at < payload || bytes.size() - at - payload < 4) break;
    at += static_cast<std::size_t>(payload);
    detail::put_u32(bytes, at, rmsmp::crc32(std::span<const std::uint8_t>(bytes).subspan(start, at - start)));
    at += 4;
  }
  return bytes;
}

/// Deterministic float32 values in [-0.5, 0.5): the same on every standard library
/// (std::normal_distribution is not).
inline std::vector<float> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t x = seed * 2654435761u + 1u;
  for (float& f : v) {
    x = x * 1664525u + 1013904223u;
    f = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

/// The weight files the manifest corpus names (the set tests/unit/float_model_manifest_test.cpp
/// uses): a conv 4x1x3x3 with bias, a linear 3x64, a uint8 file and a float file with a NaN.
inline void write_manifest_weights(const std::filesystem::path& dir) {
  using rmsmp::NdArray;
  rmsmp::write_npy(dir / "c.w.npy", NdArray::from_values<float>({4, 1, 3, 3}, pattern(36, 1)));
  rmsmp::write_npy(dir / "c.b.npy", NdArray::from_values<float>({4}, pattern(4, 2)));
  rmsmp::write_npy(dir / "fc.w.npy", NdArray::from_values<float>({3, 64}, pattern(192, 3)));
  rmsmp::write_npy(dir / "u8.npy", NdArray::from_values<std::uint8_t>({3, 64}, std::vector<std::uint8_t>(192, 1)));
  std::vector<float> with_nan = pattern(192, 4);
  with_nan[70] = std::numeric_limits<float>::quiet_NaN();
  rmsmp::write_npy(dir / "nan.npy", NdArray::from_values<float>({3, 64}, with_nan));
}

}  // namespace rmsmp_fuzz
