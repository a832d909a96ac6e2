// rmsmp/pack/mixed_row_matrix.hpp — a weight matrix whose rows use different schemes.
//
// Rows are stored grouped by scheme (one RowGroup per scheme of the mix, in the mix's order),
// so a kernel runs each group with one code book and the hardware feeds each group to its own
// lanes. Every group remembers the original index of each of its rows: outputs are always
// produced in the layer's original row order.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rmsmp/detail/row_major.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/pack/packed_codes.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

/// The rows of one scheme: packed codes, one scale per row, and where each row came from.
class RowGroup {
 public:
  RowGroup(SchemeId scheme, std::size_t columns)
      : book_(make_codebook(scheme)), columns_(columns), row_bytes_(rmsmp::row_bytes(scheme.bits, columns)) {}

  SchemeId scheme() const { return book_.id; }
  const CodeBook& codebook() const { return book_; }
  std::size_t rows() const { return original_rows_.size(); }
  std::size_t columns() const { return columns_; }
  std::size_t row_bytes() const { return row_bytes_; }

  int original_row(std::size_t i) const { return original_rows_[i]; }
  float scale(std::size_t i) const { return scales_[i]; }
  std::span<const std::uint8_t> packed_row(std::size_t i) const {
    return {codes_.data() + i * row_bytes_, row_bytes_};
  }
  std::uint8_t code(std::size_t i, std::size_t k) const { return unpack_code(book_.bits(), codes_.data() + i * row_bytes_, k); }
  int level(std::size_t i, std::size_t k) const { return book_.level[code(i, k)]; }

  std::span<const int> original_rows() const { return original_rows_; }
  std::span<const float> scales() const { return scales_; }
  std::span<const std::uint8_t> packed_codes() const { return codes_; }

  /// Appends a row from unpacked codes (one per byte).
  void append(int original_row, float scale, std::span<const std::uint8_t> codes) {
    require(codes.size() == columns_, "row group: a row has the wrong number of codes");
    if (!(std::isnormal(scale) && scale > 0.0f))
      fail("row group: row " + std::to_string(original_row) + " has scale " + std::to_string(scale) +
                   "; scales must be positive normal floats");
    original_rows_.push_back(original_row);
    scales_.push_back(scale);
    codes_.resize(codes_.size() + row_bytes_);
    pack_row(book_.bits(), codes, {codes_.data() + codes_.size() - row_bytes_, row_bytes_});
  }

 private:
  CodeBook book_;
  std::size_t columns_;
  std::size_t row_bytes_;
  std::vector<int> original_rows_;
  std::vector<float> scales_;
  std::vector<std::uint8_t> codes_;
};

/// Where a row of the original matrix lives: its group and its index inside the group.
struct RowLocation {
  std::size_t group = 0;
  std::size_t index = 0;
};

/// Footprint of one scheme group.
struct GroupFootprint {
  SchemeId scheme;
  std::size_t rows = 0;
  std::size_t code_bytes = 0;
};

/// A mixed-row quantized matrix of `rows() x cols()` weights. `Mix` is a compile-time RowMix
/// (the assignment must then match its exact row counts) or DynamicRowMix (the schemes are
/// known only at run time). Both share this one interface.
template <class Mix = DynamicRowMix>
class MixedRowMatrix {
 public:
  using mix_type = Mix;
  using CodeMatrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;
  /// The same codes stored row after row (what quantize_layer produces): read without a transpose.
  using RowMajorCodeMatrix = detail::RowMajorMatrix<std::uint8_t>;

  /// Quantizes `weights` (rows = output channels) row by row with the assigned schemes; the
  /// assignment must give each scheme of the compile-time mix exactly its row count.
  MixedRowMatrix(const Eigen::Ref<const Eigen::MatrixXf>& weights, const RowAssignment& assignment,
                 ScaleMethod method = ScaleMethod::min_squared_error)
    requires Mix::is_static
      : MixedRowMatrix(schemes_checked_against(DynamicRowMix::from<Mix>(), assignment), weights, assignment, method) {}

  /// Run-time mix: the assignment must give each scheme of `mix` exactly its row count.
  MixedRowMatrix(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                 const RowAssignment& assignment, ScaleMethod method = ScaleMethod::min_squared_error)
    requires(!Mix::is_static)
      : MixedRowMatrix(schemes_checked_against(mix, assignment), weights, assignment, method) {}

  /// Run-time schemes, no mix: any supported scheme per row; groups in all_schemes order.
  MixedRowMatrix(const Eigen::Ref<const Eigen::MatrixXf>& weights, const RowAssignment& assignment,
                 ScaleMethod method = ScaleMethod::min_squared_error)
    requires(!Mix::is_static)
      : MixedRowMatrix(schemes_present_in(assignment), weights, assignment, method) {}

  /// Rebuilds a matrix from codes and scales (a saved model, a test's extreme values).
  /// `codes` is rows x cols (a CodeMatrix, a RowMajorCodeMatrix or any uint8 expression), one
  /// code per element, each < 2^bits of its row's scheme. A static mix checks the assignment
  /// against its row counts; a dynamic matrix accepts any supported schemes (groups in
  /// all_schemes order).
  template <class Codes>
    requires std::same_as<typename Codes::Scalar, std::uint8_t>
  static MixedRowMatrix from_codes(const RowAssignment& assignment, const std::vector<float>& scales,
                                   const Eigen::MatrixBase<Codes>& codes) {
    if constexpr (Mix::is_static)
      return from_codes(schemes_checked_against(DynamicRowMix::from<Mix>(), assignment), assignment, scales, codes);
    else
      return from_codes(schemes_present_in(assignment), assignment, scales, codes);
  }

  /// The same for a run-time mix: checked against its row counts, groups in its order.
  template <class Codes>
    requires(!Mix::is_static && std::same_as<typename Codes::Scalar, std::uint8_t>)
  static MixedRowMatrix from_codes(const DynamicRowMix& mix, const RowAssignment& assignment,
                                   const std::vector<float>& scales, const Eigen::MatrixBase<Codes>& codes) {
    return from_codes(schemes_checked_against(mix, assignment), assignment, scales, codes);
  }

  int rows() const { return static_cast<int>(locations_.size()); }
  int cols() const { return static_cast<int>(columns_); }

  std::size_t group_count() const { return groups_.size(); }
  const RowGroup& group(std::size_t g) const {
    if (g >= groups_.size()) fail("mixed-row matrix: group " + std::to_string(g) + " does not exist");
    return groups_[g];
  }
  std::span<const RowGroup> groups() const { return groups_; }

  RowLocation location(int row) const {
    if (row < 0 || row >= rows())
      fail("mixed-row matrix: row " + std::to_string(row) + " is outside [0, " + std::to_string(rows()) + ")");
    return locations_[static_cast<std::size_t>(row)];
  }
  SchemeId scheme_of_row(int row) const { return groups_[location(row).group].scheme(); }
  float scale_of_row(int row) const {
    const RowLocation l = location(row);
    return groups_[l.group].scale(l.index);
  }
  int level(int row, int col) const {
    if (col < 0 || col >= cols())
      fail("mixed-row matrix: column " + std::to_string(col) + " is outside [0, " + std::to_string(cols()) + ")");
    const RowLocation l = location(row);
    return groups_[l.group].level(l.index, static_cast<std::size_t>(col));
  }

  /// Row scales in original row order.
  std::vector<float> row_scales() const {
    std::vector<float> scales(locations_.size());
    for (const RowGroup& g : groups_)
      for (std::size_t i = 0; i < g.rows(); ++i) scales[static_cast<std::size_t>(g.original_row(i))] = g.scale(i);
    return scales;
  }

  /// The scheme of every row, original order (the assignment the matrix was built with).
  RowAssignment assignment() const {
    RowAssignment a(locations_.size());
    for (std::size_t r = 0; r < a.size(); ++r) a[r] = groups_[locations_[r].group].scheme();
    return a;
  }

  /// Integer levels, rows x cols, original row order.
  Eigen::MatrixXi levels() const {
    Eigen::MatrixXi out(rows(), cols());
    for (int r = 0; r < rows(); ++r)
      for (int k = 0; k < cols(); ++k) out(r, k) = level(r, k);
    return out;
  }

  /// Float weights the codes stand for: scale * level, original row order.
  Eigen::MatrixXf dequantize() const {
    Eigen::MatrixXf out(rows(), cols());
    for (int r = 0; r < rows(); ++r) {
      const float s = scale_of_row(r);
      for (int k = 0; k < cols(); ++k) out(r, k) = s * static_cast<float>(level(r, k));
    }
    return out;
  }

  /// Code bits per weight, averaged over the matrix (4 for all-4-bit, 4.2 for 60/35/5).
  double bits_per_weight() const {
    if (rows() == 0) return 0.0;
    double bits = 0.0;
    for (const RowGroup& g : groups_) bits += static_cast<double>(g.rows()) * g.scheme().bits;
    return bits / rows();
  }

  /// Bytes actually held: packed codes (with nibble padding), one float scale and one int32
  /// original-row index per row.
  std::size_t storage_bytes() const {
    std::size_t bytes = 0;
    for (const RowGroup& g : groups_) bytes += g.packed_codes().size() + g.rows() * (sizeof(float) + sizeof(int));
    return bytes;
  }

  /// storage_bytes() in bits per weight: what a model file or the weight memory costs.
  double storage_bits_per_weight() const {
    const double weights = static_cast<double>(rows()) * cols();
    return weights == 0.0 ? 0.0 : 8.0 * static_cast<double>(storage_bytes()) / weights;
  }

  std::vector<GroupFootprint> footprint() const {
    std::vector<GroupFootprint> out;
    for (const RowGroup& g : groups_) out.push_back({g.scheme(), g.rows(), g.packed_codes().size()});
    return out;
  }

 private:
  MixedRowMatrix() = default;

  MixedRowMatrix(const std::vector<SchemeId>& group_schemes, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                 const RowAssignment& assignment, ScaleMethod method) {
    require(weights.rows() == static_cast<Eigen::Index>(assignment.size()),
                    "mixed-row matrix: the weights have " + std::to_string(weights.rows()) +
                        " rows but the assignment names " + std::to_string(assignment.size()));
    init(group_schemes, static_cast<std::size_t>(weights.cols()), assignment);
    std::vector<float> row(columns_);
    std::vector<std::uint8_t> codes(columns_);
    for (std::size_t r = 0; r < assignment.size(); ++r) {
      for (std::size_t k = 0; k < columns_; ++k) row[k] = weights(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k));
      detail::require_finite_row(row, "mixed-row matrix: row " + std::to_string(r));
      RowGroup& group = groups_[locations_[r].group];
      group.append(static_cast<int>(r), detail::quantize_finite_row(group.codebook(), row, codes, method), codes);
    }
  }

  template <class Codes>
  static MixedRowMatrix from_codes(const std::vector<SchemeId>& group_schemes, const RowAssignment& assignment,
                                   const std::vector<float>& scales, const Eigen::MatrixBase<Codes>& codes) {
    require(scales.size() == assignment.size() && codes.rows() == static_cast<Eigen::Index>(assignment.size()),
                    "mixed-row matrix: assignment, scales and codes disagree on the number of rows");
    MixedRowMatrix m;
    m.init(group_schemes, static_cast<std::size_t>(codes.cols()), assignment);
    const auto append_rows = [&](const RowMajorCodeMatrix& rows) {
      for (std::size_t r = 0; r < assignment.size(); ++r)
        m.groups_[m.locations_[r].group].append(static_cast<int>(r), scales[r], {rows.data() + r * m.columns_, m.columns_});
    };
    if constexpr (std::same_as<Codes, RowMajorCodeMatrix>)
      append_rows(codes.derived());
    else
      append_rows(detail::to_row_major(codes.derived()));
    return m;
  }

  static std::vector<SchemeId> schemes_checked_against(const DynamicRowMix& mix, const RowAssignment& assignment) {
    check_assignment(assignment, mix);
    std::vector<SchemeId> schemes;
    for (const auto& e : mix.entries()) schemes.push_back(e.scheme);
    return schemes;
  }

  static std::vector<SchemeId> schemes_present_in(const RowAssignment& assignment) {
    for (std::size_t r = 0; r < assignment.size(); ++r)
      if (!is_supported(assignment[r]))
        fail("row assignment: row " + std::to_string(r) + " uses " + display_name(assignment[r]) +
                     ", which rmsmp does not support (Fixed-2..8, PoT-2..4, SP2-3..5)");
    std::vector<SchemeId> schemes;
    for (SchemeId id : all_schemes)
      if (std::find(assignment.begin(), assignment.end(), id) != assignment.end()) schemes.push_back(id);
    return schemes;
  }

  void init(const std::vector<SchemeId>& schemes, std::size_t columns, const RowAssignment& assignment) {
    require(columns > 0, "mixed-row matrix: K (the number of columns) must be at least 1");
    columns_ = columns;
    groups_.clear();
    for (SchemeId s : schemes) groups_.emplace_back(s, columns);
    std::vector<std::size_t> next(schemes.size(), 0);
    locations_.resize(assignment.size());
    for (std::size_t r = 0; r < assignment.size(); ++r) {
      const auto it = std::find(schemes.begin(), schemes.end(), assignment[r]);
      if (it == schemes.end())
        fail("row assignment: row " + std::to_string(r) + " uses " + display_name(assignment[r]) +
                     ", which is not in the mix");
      const auto g = static_cast<std::size_t>(it - schemes.begin());
      locations_[r] = {g, next[g]++};
    }
  }

  std::size_t columns_ = 0;
  std::vector<RowGroup> groups_;
  std::vector<RowLocation> locations_;
};

}  // namespace rmsmp
