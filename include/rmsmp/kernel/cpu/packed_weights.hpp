// rmsmp/kernel/cpu/packed_weights.hpp — a MixedRowMatrix rearranged once for the CPU kernels.
//
// Per scheme group: the codes in the order the kernels read them, K padded with zero codes to
// a multiple of `block` (64), every row 64-byte aligned; the 16-entry int8 level table of a
// <= 4-bit scheme; the sum of each row's levels (for the zero-point correction); the
// original row indices. Layout and arithmetic: docs/cpu-kernels.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp::cpu {

namespace detail {

/// A zero-initialised, 64-byte aligned byte array (copyable, unlike a unique_ptr).
class AlignedBytes {
 public:
  static constexpr std::size_t alignment = 64;

  /// Tag: leave the bytes unset, for a buffer whose every byte is written before it is read.
  struct Uninitialized {};

  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t size) : AlignedBytes(size, Uninitialized{}) {
    if (size_ != 0) std::memset(data_.get(), 0, size_);
  }
  AlignedBytes(std::size_t size, Uninitialized) : size_(size) {
    if (size_ != 0) data_.reset(static_cast<std::uint8_t*>(::operator new(size_, std::align_val_t{alignment})));
  }
  AlignedBytes(const AlignedBytes& other) : AlignedBytes(other.size_) {
    if (size_ != 0) std::memcpy(data_.get(), other.data_.get(), size_);
  }
  AlignedBytes& operator=(const AlignedBytes& other) {
    if (this != &other) *this = AlignedBytes(other);
    return *this;
  }
  AlignedBytes(AlignedBytes&&) noexcept = default;
  AlignedBytes& operator=(AlignedBytes&&) noexcept = default;

  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::uint8_t* p) const { ::operator delete(p, std::align_val_t{alignment}); }
  };
  std::unique_ptr<std::uint8_t, Free> data_;
  std::size_t size_ = 0;
};

/// How a micro-kernel computes one scheme group in one call: `rows` rows per work item (a
/// register tile's rows), as inner-product tiles (a horizontal sum per output) or as
/// outer-product tiles (one row per lane). Either way the kernel writes a tile's raw dot
/// products column by column: out[n * rows + r].
struct GroupTiling {
  std::size_t rows = 4;
  bool outer = false;
  std::size_t quads = 0;  ///< outer: the quads of 4 columns that cover K (the padding is zero)
};

/// The rows of every outer-product GroupTiling (the inner-product ones have 4).
inline constexpr std::size_t max_tile_rows = 16;

}  // namespace detail

/// One scheme group in kernel order.
///
/// Nibble groups (schemes of <= 4 bits; 2- and 3-bit codes are widened to 4-bit nibbles):
/// each block of 64 columns of a row is 32 bytes, byte j holding the code of column j in its
/// low nibble and of column j + 32 in its high nibble, so one 32-byte load, a mask and a
/// shift give the codes of 32 consecutive columns twice over. `table[code]` is the int8
/// level (entries >= 2^bits stay 0, never read).
/// Byte groups (schemes of 5..8 bits): one int8 level per column, 64 per block.
struct PackedGroup {
  SchemeId scheme{};
  int max_level = 0;
  bool nibbles = false;
  std::array<std::int8_t, 16> table{};
  std::size_t rows = 0;
  std::size_t row_stride = 0;          ///< bytes from one row to the next (a multiple of 32)
  detail::AlignedBytes data;           ///< rows * row_stride bytes
  std::vector<std::int64_t> row_sums;  ///< sum_k level[i][k] (padding contributes 0)
  std::vector<int> original_rows;

  const std::uint8_t* row(std::size_t i) const { return data.data() + i * row_stride; }

  /// The level of row i at (padded) column k, decoded from the kernel layout.
  int level(std::size_t i, std::size_t k, std::size_t block) const {
    const std::uint8_t* r = row(i);
    if (!nibbles) return static_cast<std::int8_t>(r[k]);
    const std::size_t b = k / block, j = k % block, half = block / 2;
    const std::uint8_t byte = r[b * half + j % half];
    return table[j < half ? (byte & 0x0F) : (byte >> 4)];
  }
};

/// The whole matrix in kernel order; build it once per matrix, reuse it for every call.
class PackedWeights {
 public:
  /// Columns per kernel block: K is padded with zero codes to a multiple of this.
  static constexpr std::size_t block = 64;

  PackedWeights() = default;

  template <class Mix>
  explicit PackedWeights(const MixedRowMatrix<Mix>& matrix)
      : rows_(matrix.rows()),
        cols_(matrix.cols()),
        padded_cols_((static_cast<std::size_t>(matrix.cols()) + block - 1) / block * block) {
    groups_.reserve(matrix.group_count());
    for (const RowGroup& g : matrix.groups()) groups_.push_back(pack_group(g));
  }

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  std::size_t padded_cols() const { return padded_cols_; }
  std::span<const PackedGroup> groups() const { return groups_; }

  /// Bytes held for codes (with padding), row sums and row indices.
  std::size_t storage_bytes() const {
    std::size_t bytes = 0;
    for (const PackedGroup& g : groups_)
      bytes += g.data.size() + g.rows * (sizeof(std::int64_t) + sizeof(int));
    return bytes;
  }

 private:
  PackedGroup pack_group(const RowGroup& src) const {
    PackedGroup g;
    const CodeBook& book = src.codebook();
    const std::size_t K = src.columns();
    g.scheme = src.scheme();
    g.max_level = book.max_level;
    g.nibbles = book.bits() <= 4;
    if (g.nibbles)
      for (int c = 0; c < book.code_count; ++c)
        g.table[static_cast<std::size_t>(c)] = book.level[static_cast<std::size_t>(c)];
    g.rows = src.rows();
    g.row_stride = g.nibbles ? padded_cols_ / 2 : padded_cols_;
    g.data = detail::AlignedBytes(g.rows * g.row_stride);
    g.row_sums.assign(g.rows, 0);
    g.original_rows.assign(src.original_rows().begin(), src.original_rows().end());
    constexpr std::size_t half = block / 2;
    for (std::size_t i = 0; i < g.rows; ++i) {
      std::uint8_t* out = g.data.data() + i * g.row_stride;
      std::int64_t sum = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const std::uint8_t code = src.code(i, k);
        sum += book.level[code];
        if (g.nibbles) {
          const std::size_t b = k / block, j = k % block;
          out[b * half + j % half] |= static_cast<std::uint8_t>(j < half ? code : code << 4);
        } else {
          out[k] = static_cast<std::uint8_t>(book.level[code]);
        }
      }
      g.row_sums[i] = sum;
    }
    return g;
  }

  int rows_ = 0;
  int cols_ = 0;
  std::size_t padded_cols_ = 0;
  std::vector<PackedGroup> groups_;
};

}  // namespace rmsmp::cpu
