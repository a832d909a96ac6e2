// rmsmp/kernel/cpu/packed_weights.hpp — a MixedRowMatrix rearranged once for the CPU kernels.
//
// Two layouts (WeightLayout), one per kind of kernel:
//   rows        per scheme group: the codes row by row in the order the generic and AVX2
//               kernels read them, K padded with zero codes to a multiple of `block` (64),
//               every row 64-byte aligned; the 16-entry int8 level table of a <= 4-bit scheme;
//   lane_tiles  for the AVX-512 VNNI kernel: tiles of 16 or 32 rows, one row per int32 lane,
//               every tile one contiguous stream (LaneTiles).
// Both keep the sum of each row's levels (for the zero-point correction) and the original row
// indices. Layout and arithmetic: docs/cpu-kernels.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/core/cpu_arch.hpp"
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

/// How PackedWeights arranges the codes: for the generic and AVX2 kernels (`rows`) or for the
/// AVX-512 VNNI kernel (`lane_tiles`). A kernel runs only on its own layout.
enum class WeightLayout { rows, lane_tiles };

constexpr std::string_view layout_name(WeightLayout l) { return l == WeightLayout::rows ? "rows" : "lane_tiles"; }

/// The layout the kernel of `arch` reads.
constexpr WeightLayout layout_for(ArchId arch) {
  return arch == ArchId::avx512_vnni ? WeightLayout::lane_tiles : WeightLayout::rows;
}

/// Which rows share a LaneTiles tile, and in which form.
///   by_scheme  rows grouped by kind: every <= 4-bit row as 4-bit codes in nibble slices (the
///              weight stream is about half of int8's), then the byte rows; a tile's rows are
///              scattered over the output, so its results are stored one by one;
///   by_row     every row as int8 levels in byte slices, in row order: tile t holds rows
///              32 t .. 32 t + 31, so its results are stored as contiguous vectors and no
///              lane is spent on padding. Twice the bytes of by_scheme's nibbles, which only
///              costs where the weights are streamed from memory.
enum class LaneOrder { by_scheme, by_row };

constexpr std::string_view lane_order_name(LaneOrder o) { return o == LaneOrder::by_scheme ? "by_scheme" : "by_row"; }

/// Largest int8 size (rows x padded K bytes) of a matrix whose lane tiles are packed by_row
/// by default. A GEMM on a matrix up to this size (every ResNet-18 convolution) is bound by
/// its vpdpbusd and its output stores, where the decode of nibbles and the scattered stores
/// of by_scheme only cost time; a larger matrix is mostly the weight stream of a GEMV or a
/// GEMM of few columns, where the nibbles' halved traffic pays. A GEMV on a matrix below the
/// size is faster by_scheme too: PreparedMatrix takes a LaneOrder for that case. Measured in
/// docs/cpu-kernels.md.
inline constexpr std::size_t by_row_max_bytes = std::size_t{4} << 20;

/// The lane order PackedWeights uses for a rows x padded_cols matrix unless told otherwise.
constexpr LaneOrder lane_order_for(std::size_t rows, std::size_t padded_cols) {
  return rows * padded_cols <= by_row_max_bytes ? LaneOrder::by_row : LaneOrder::by_scheme;
}

/// The weights in the AVX-512 VNNI kernel's layout: every row is an int32 lane of a 512-bit
/// accumulator, so the kernel needs no horizontal sums, and every tile of rows is one
/// contiguous stream, so a GEMV reads the whole matrix front to back.
///
/// Rows are cut into slices of 16 lanes (`slice_lanes`), in one of two orders (LaneOrder).
/// by_scheme: nibble rows (schemes of <= 4 bits, of
/// every such group) fill nibble slices, in groups of 4 rows (`quartet`): the 4 rows of a
/// quartet are one 128-bit lane of the vector, and vpshufb looks codes up in a table per
/// 128-bit lane, so each quartet has its own scheme's table and a slice may hold rows of up
/// to 4 schemes. A group's last quartet is padded with unused lanes. Byte rows (5..8 bits)
/// fill byte slices, 16 rows of any byte scheme each. A tile is 2 consecutive slices of one
/// kind (1 for the kind's last odd slice). by_row: byte slices only, lane l of tile t is row
/// 32 t + l.
///
/// K is covered in `steps` of 8 columns (two quads of 4 columns, one vpdpbusd each). A tile's
/// bytes are step after step, each step the tile's slices one after another:
///   nibble slice, 64 bytes: byte 4r + j holds row r's code of column 8s + j in its low
///     nibble and of column 8s + 4 + j in its high nibble;
///   byte slice, 128 bytes: byte 4r + j is row r's level of column 8s + j, byte 64 + 4r + j
///     of column 8s + 4 + j.
/// Columns past K and unused lanes hold code 0 (level 0 in byte slices).
struct LaneTiles {
  static constexpr std::size_t slice_lanes = 16;
  static constexpr std::size_t max_slices = 2;
  static constexpr std::size_t tile_lanes = slice_lanes * max_slices;
  static constexpr std::size_t quartet = 4;
  static constexpr std::size_t step_columns = 8;
  /// Activation columns of one register block of the kernel: RV * C accumulators of the 32
  /// zmm registers, beside RV level vectors, RV raw nibble vectors, RV tables, the mask and
  /// the broadcast quad.
  static constexpr int block_columns = 8;

  struct Tile {
    bool nibbles = false;
    std::size_t slices = 0;  // 1 or 2
    std::size_t offset = 0;  // of its first byte in `data`
  };

  LaneOrder order = LaneOrder::by_scheme;
  std::size_t steps = 0;
  std::vector<Tile> tiles;
  detail::AlignedBytes data;
  /// Per tile, tile_lanes entries (lane = slice * 16 + r): the original row, -1 for an unused
  /// lane; the row's sum of levels.
  std::vector<int> lane_rows;
  std::vector<std::int64_t> lane_sums;
  /// Per tile, max_slices * 64 bytes: each slice's four 16-byte level tables, one per quartet
  /// (nibble tiles; zero for byte tiles).
  detail::AlignedBytes tables;

  const std::uint8_t* tile_data(std::size_t t) const { return data.data() + tiles[t].offset; }
  const std::uint8_t* tile_tables(std::size_t t) const { return tables.data() + t * max_slices * 64; }
  std::span<const int> rows_of(std::size_t t) const { return {lane_rows.data() + t * tile_lanes, tile_lanes}; }
  std::span<const std::int64_t> sums_of(std::size_t t) const { return {lane_sums.data() + t * tile_lanes, tile_lanes}; }

  /// The level of lane `lane` of tile t at column k (< steps * 8), decoded from the layout.
  int level(std::size_t t, std::size_t lane, std::size_t k) const {
    const Tile& tile = tiles[t];
    const std::size_t slice = lane / slice_lanes, r = lane % slice_lanes;
    const std::size_t s = k / step_columns, half = k % step_columns / 4, j = k % 4;
    const std::size_t slice_bytes = tile.nibbles ? 64 : 128;
    const std::uint8_t* step = tile_data(t) + (s * tile.slices + slice) * slice_bytes;
    if (!tile.nibbles) return static_cast<std::int8_t>(step[half * 64 + 4 * r + j]);
    const std::uint8_t byte = step[4 * r + j];
    const std::uint8_t code = half == 0 ? byte & 0x0F : byte >> 4;
    return static_cast<std::int8_t>(tile_tables(t)[slice * 64 + r / quartet * 16 + code]);
  }
};
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

/// The whole matrix in one kernel's order (WeightLayout); build it once per matrix, reuse it
/// for every call of a kernel that reads this layout.
class PackedWeights {
 public:
  /// Columns per kernel block: K is padded with zero codes to a multiple of this (the
  /// activations are padded alike, in both layouts).
  static constexpr std::size_t block = 64;

  PackedWeights() = default;

  /// Packed for the kernel of best_available_arch() (CpuBackend::prepare packs for its own).
  template <class Mix>
  explicit PackedWeights(const MixedRowMatrix<Mix>& matrix) : PackedWeights(matrix, layout_for(best_available_arch())) {}

  /// In `layout`; lane tiles in the order lane_order_for(rows, padded K).
  template <class Mix>
  PackedWeights(const MixedRowMatrix<Mix>& matrix, WeightLayout layout)
      : PackedWeights(matrix, layout,
                      lane_order_for(static_cast<std::size_t>(matrix.rows()), padded_columns(matrix.cols()))) {}

  /// In `layout`, lane tiles in `order` (which the rows layout ignores).
  template <class Mix>
  PackedWeights(const MixedRowMatrix<Mix>& matrix, WeightLayout layout, LaneOrder order)
      : layout_(layout), rows_(matrix.rows()), cols_(matrix.cols()), padded_cols_(padded_columns(matrix.cols())) {
    if (layout == WeightLayout::lane_tiles) {
      pack_lane_tiles(matrix.groups(), order);
      return;
    }
    groups_.reserve(matrix.group_count());
    for (const RowGroup& g : matrix.groups()) groups_.push_back(pack_group(g));
  }

  WeightLayout layout() const { return layout_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  std::size_t padded_cols() const { return padded_cols_; }
  /// WeightLayout::rows: the scheme groups (empty in the other layout).
  std::span<const PackedGroup> groups() const { return groups_; }
  /// WeightLayout::lane_tiles: the tiles (empty in the other layout).
  const LaneTiles& lane_tiles() const { return lane_tiles_; }

  /// Bytes held for codes (with padding), tables, row sums and row indices.
  std::size_t storage_bytes() const {
    std::size_t bytes = lane_tiles_.data.size() + lane_tiles_.tables.size() +
                        lane_tiles_.lane_rows.size() * (sizeof(std::int64_t) + sizeof(int));
    for (const PackedGroup& g : groups_)
      bytes += g.data.size() + g.rows * (sizeof(std::int64_t) + sizeof(int));
    return bytes;
  }

 private:
  static std::size_t padded_columns(int cols) { return (static_cast<std::size_t>(cols) + block - 1) / block * block; }

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

  /// LaneTiles from the groups. by_scheme: nibble lanes (each group's rows padded to whole
  /// quartets), then byte lanes; by_row: byte lanes in row order. Each kind padded to whole
  /// slices and cut into tiles of up to 2 slices.
  void pack_lane_tiles(std::span<const RowGroup> groups, LaneOrder order) {
    using L = LaneTiles;
    constexpr std::size_t no_row = static_cast<std::size_t>(-1);
    struct Lane {
      const RowGroup* group = nullptr;  // null: an unused lane of no quartet
      std::size_t row = 0;              // no_row: an unused lane of the group's quartet
    };
    std::vector<Lane> nibble_lanes, byte_lanes;
    if (order == LaneOrder::by_row) {
      byte_lanes.resize(static_cast<std::size_t>(rows_));
      for (const RowGroup& g : groups)
        for (std::size_t i = 0; i < g.rows(); ++i) byte_lanes[static_cast<std::size_t>(g.original_row(i))] = {&g, i};
    }
    for (const RowGroup& g : order == LaneOrder::by_row ? std::span<const RowGroup>{} : groups) {
      const bool nibbles = g.codebook().bits() <= 4;
      std::vector<Lane>& lanes = nibbles ? nibble_lanes : byte_lanes;
      for (std::size_t i = 0; i < g.rows(); ++i) lanes.push_back({&g, i});
      if (nibbles)
        while (lanes.size() % L::quartet != 0) lanes.push_back({&g, no_row});  // the group's table, no row
    }
    for (auto* lanes : {&nibble_lanes, &byte_lanes})
      while (lanes->size() % L::slice_lanes != 0) lanes->push_back({});

    L& out = lane_tiles_;
    out.order = order;
    const std::size_t K = static_cast<std::size_t>(cols_);
    out.steps = (K + L::step_columns - 1) / L::step_columns;
    std::size_t bytes = 0;
    for (const bool nibbles : {true, false}) {
      const std::size_t slices = (nibbles ? nibble_lanes : byte_lanes).size() / L::slice_lanes;
      for (std::size_t s = 0; s < slices; s += L::max_slices) {
        const L::Tile tile{nibbles, std::min(L::max_slices, slices - s), bytes};
        out.tiles.push_back(tile);
        bytes += out.steps * tile.slices * (nibbles ? 64 : 128);
      }
    }
    out.data = detail::AlignedBytes(bytes);
    out.tables = detail::AlignedBytes(out.tiles.size() * L::max_slices * 64);
    out.lane_rows.assign(out.tiles.size() * L::tile_lanes, -1);
    out.lane_sums.assign(out.tiles.size() * L::tile_lanes, 0);

    std::size_t t = 0;
    for (const auto* lanes : {&nibble_lanes, &byte_lanes})
      for (std::size_t first = 0; first < lanes->size(); first += L::tile_lanes, ++t) {
        const L::Tile& tile = out.tiles[t];
        const std::size_t slice_bytes = tile.nibbles ? 64 : 128;
        for (std::size_t lane = 0; lane < tile.slices * L::slice_lanes; ++lane) {
          const Lane& src = (*lanes)[first + lane];
          if (src.group == nullptr) continue;
          const CodeBook& book = src.group->codebook();
          const std::size_t slice = lane / L::slice_lanes, r = lane % L::slice_lanes;
          if (tile.nibbles && r % L::quartet == 0)
            for (int c = 0; c < book.code_count; ++c)
              out.tables.data()[t * L::max_slices * 64 + slice * 64 + r / L::quartet * 16 + static_cast<std::size_t>(c)] =
                  static_cast<std::uint8_t>(book.level[static_cast<std::size_t>(c)]);
          if (src.row == no_row) continue;
          std::int64_t sum = 0;
          for (std::size_t k = 0; k < K; ++k) {
            const std::uint8_t code = src.group->code(src.row, k);
            sum += book.level[code];
            const std::size_t step = k / L::step_columns, half = k % L::step_columns / 4, j = k % 4;
            std::uint8_t* p = out.data.data() + tile.offset + (step * tile.slices + slice) * slice_bytes;
            if (tile.nibbles)
              p[4 * r + j] |= static_cast<std::uint8_t>(code << (4 * half));
            else
              p[half * 64 + 4 * r + j] = static_cast<std::uint8_t>(book.level[code]);
          }
          out.lane_rows[t * L::tile_lanes + lane] = src.group->original_row(src.row);
          out.lane_sums[t * L::tile_lanes + lane] = sum;
        }
      }
  }

  WeightLayout layout_ = WeightLayout::rows;
  int rows_ = 0;
  int cols_ = 0;
  std::size_t padded_cols_ = 0;
  std::vector<PackedGroup> groups_;
  LaneTiles lane_tiles_;
};

}  // namespace rmsmp::cpu
