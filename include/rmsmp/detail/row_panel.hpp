// rmsmp/detail/row_panel.hpp — rows of a column-major matrix copied out a panel at a time.
//
// Walking one row of a large column-major matrix touches one cache line and one page per
// element; the quantizer and the packer read every row of 4096 x 4096 matrices that way. A
// panel of a few rows is filled column by column instead, so the source is read in order.
// The panel's rows are one cache line longer than needed: with a row length of a multiple of
// 4 KiB, the panel's rows would all fall in the same L1 set and evict each other on every
// column.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace rmsmp::detail {

template <class Scalar>
class RowPanel {
 public:
  /// Rows [first, first + count) of `source` (count clipped at the end of the matrix).
  template <class Derived>
  void copy_from(const Eigen::DenseBase<Derived>& source, Eigen::Index first, Eigen::Index count) {
    rows_ = static_cast<std::size_t>(std::min(count, source.rows() - first));
    cols_ = static_cast<std::size_t>(source.cols());
    stride_ = cols_ + 64 / sizeof(Scalar);
    data_.resize(rows_ * stride_);
    for (std::size_t k = 0; k < cols_; ++k)
      for (std::size_t i = 0; i < rows_; ++i)
        data_[i * stride_ + k] = source(first + static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
  }

  std::size_t rows() const { return rows_; }
  std::span<const Scalar> row(std::size_t i) const { return {data_.data() + i * stride_, cols_}; }

 private:
  std::vector<Scalar> data_;
  std::size_t rows_ = 0, cols_ = 0, stride_ = 0;
};

}  // namespace rmsmp::detail
