// rmsmp/io/idx.hpp — IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
//
// IDX: two zero bytes, a type code, the number of dimensions, each dimension as a big-endian
// u32, then the elements in C order, big-endian. rmsmp reads the types datasets use — uint8
// (0x08), int8 (0x09), int32 (0x0C), float32 (0x0D) — into an NdArray (little-endian like
// every NdArray). A file starting with the gzip magic is decompressed first, as Debian's
// dataset-fashion-mnist ships it. Anything malformed, truncated or followed by extra bytes is
// rejected with an rmsmp::Error naming the file.
//
// This header needs zlib. rmsmp's CMake package links ZLIB::ZLIB into rmsmp::rmsmp when
// CMake finds zlib; without zlib, everything but this header still works.
#pragma once

#if !__has_include(<zlib.h>)
#error "rmsmp/io/idx.hpp needs zlib (zlib.h; Debian: apt-get install zlib1g-dev) and linking with zlib (-lz, or ZLIB::ZLIB, which rmsmp::rmsmp links when CMake found zlib)"
#endif

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/ndarray.hpp"

namespace rmsmp {

namespace detail {

inline bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
}

/// Decompresses a gzip file (all its members, as gzip -d does). Fails instead of producing
/// more than `max_bytes`, so a tiny file cannot claim gigabytes.
inline std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> compressed, const std::string& source,
                                        std::uint64_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) fail(source + ": cannot start gzip decompression");
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&stream};

  std::vector<std::uint8_t> out;
  std::size_t consumed = 0;
  constexpr std::size_t chunk = std::size_t{1} << 20;
  while (true) {
    // zlib counts in 32-bit uInt: feed and drain at most a chunk at a time.
    const std::size_t input = std::min(compressed.size() - consumed, chunk);
    stream.next_in = const_cast<Bytef*>(compressed.data() + consumed);
    stream.avail_in = static_cast<uInt>(input);
    const std::size_t before = out.size();
    out.resize(before + chunk);
    stream.next_out = out.data() + before;
    stream.avail_out = static_cast<uInt>(chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = chunk - stream.avail_out;
    const std::size_t used = input - stream.avail_in;
    out.resize(before + produced);
    consumed += used;
    if (out.size() > max_bytes) fail(source + ": decompresses to more than " + std::to_string(max_bytes) + " bytes");
    if (status == Z_STREAM_END) {
      if (consumed == compressed.size()) return out;
      if (inflateReset(&stream) != Z_OK) fail(source + ": cannot continue with the next gzip member");
      continue;
    }
    if (status != Z_OK && status != Z_BUF_ERROR)
      fail(source + ": corrupted gzip data (" +
           (stream.msg != nullptr ? std::string(stream.msg) : "zlib status " + std::to_string(status)) + ")");
    if (produced == 0 && used == 0)
      fail(source + (consumed == compressed.size() ? ": the gzip data is truncated" : ": corrupted gzip data"));
  }
}

}  // namespace detail

/// Decompressed IDX files larger than this are refused, as files larger than it are
/// (Fashion-MNIST's largest is 47 MB).
inline constexpr std::uint64_t idx_max_bytes = detail::max_file_bytes;

/// Parses an IDX file held in memory, gzip-compressed or not; `source` names it in errors.
inline NdArray parse_idx(std::span<const std::uint8_t> file, const std::string& source) {
  if (detail::is_gzip(file)) {
    const std::vector<std::uint8_t> plain = detail::gunzip(file, source, idx_max_bytes);
    return parse_idx(plain, source + " (decompressed)");
  }
  const auto fail = [&](const std::string& problem) { rmsmp::fail(source + ": " + problem); };
  if (file.size() < 4 || file[0] != 0 || file[1] != 0) fail("not an IDX file (bad magic)");
  NdArray array;
  switch (file[2]) {
    case 0x08:
      array.type = ElementType::uint8;
      break;
    case 0x09:
      array.type = ElementType::int8;
      break;
    case 0x0C:
      array.type = ElementType::int32;
      break;
    case 0x0D:
      array.type = ElementType::float32;
      break;
    default:
      fail("unsupported IDX element type 0x" + std::string(1, "0123456789ABCDEF"[file[2] >> 4]) +
           "0123456789ABCDEF"[file[2] & 15] + " (rmsmp reads 0x08 uint8, 0x09 int8, 0x0C int32, 0x0D float32)");
  }
  const std::size_t dims = file[3];
  if (dims == 0) fail("an IDX file needs at least one dimension");
  const std::size_t header = 4 + 4 * dims;
  if (file.size() < header) fail("truncated: the header of " + std::to_string(dims) + " dimensions does not fit");
  const std::uint64_t element_bytes = element_size(array.type);
  for (std::size_t d = 0; d < dims; ++d) {
    const std::uint8_t* p = file.data() + 4 + 4 * d;
    const std::uint64_t dim = std::uint64_t{p[0]} << 24 | std::uint64_t{p[1]} << 16 | std::uint64_t{p[2]} << 8 | p[3];
    array.shape.push_back(static_cast<std::int64_t>(dim));
  }
  const std::optional<std::uint64_t> count = detail::checked_element_count(array.shape, element_bytes);
  if (!count) fail("the shape " + shape_string(array.shape) + " is too large (its element or byte count overflows)");
  const std::uint64_t data_bytes = *count * element_bytes;
  const std::uint64_t available = file.size() - header;
  if (data_bytes != available)
    fail(data_bytes > available
             ? "truncated: shape " + shape_string(array.shape) + " of " + std::string(element_type_name(array.type)) +
                   " needs " + std::to_string(data_bytes) + " data bytes, the file has " + std::to_string(available)
             : "the file has " + std::to_string(available - data_bytes) + " bytes after the data of shape " +
                   shape_string(array.shape));
  array.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(header), file.end());
  // IDX is big-endian, NdArray little-endian.
  const std::size_t width = static_cast<std::size_t>(element_bytes);
  for (std::size_t i = 0; width > 1 && i < array.bytes.size(); i += width)
    std::reverse(array.bytes.begin() + static_cast<std::ptrdiff_t>(i),
                 array.bytes.begin() + static_cast<std::ptrdiff_t>(i + width));
  return array;
}

inline NdArray read_idx(const std::filesystem::path& path) {
  return parse_idx(detail::read_file_bytes(path, "IDX file"), path.string());
}

}  // namespace rmsmp
