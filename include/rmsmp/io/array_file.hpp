// rmsmp/io/array_file.hpp — one entry point for array files whose kind the user chose: a
// .npy file or an IDX file (plain or gzip), told apart by their first bytes, not their names.
// Needs zlib, like io/idx.hpp.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/io/ndarray.hpp"
#include "rmsmp/io/npy.hpp"

namespace rmsmp {

/// Parses .npy (magic \x93NUMPY) or IDX / gzip-compressed IDX held in memory.
inline NdArray parse_array_file(std::span<const std::uint8_t> file, const std::string& source) {
  const std::string_view npy = detail::npy_magic;
  if (file.size() >= 1 && file[0] == static_cast<std::uint8_t>(npy[0])) return parse_npy(file, source);
  return parse_idx(file, source);
}

inline NdArray read_array_file(const std::filesystem::path& path) {
  return parse_array_file(detail::read_file_bytes(path, "array file"), path.string());
}

}  // namespace rmsmp
