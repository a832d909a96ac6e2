// rmsmp/detail/row_major.hpp — a column-major matrix copied into row-major order.
//
// The quantizer and the packer work row by row, but weights and codes arrive column-major.
// Walking one row of a large column-major matrix touches one cache line and one page per
// element, and copying a few rows at a time still visits every page of the matrix for a few
// hundred bytes. So the copy goes in strips of one cache line's worth of columns: every row of
// the strip is read from columns that are streamed in order, and written as one cache line.
#pragma once

#include <Eigen/Core>
#include <algorithm>

namespace rmsmp::detail {

template <class Scalar>
using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class Derived>
RowMajorMatrix<typename Derived::Scalar> to_row_major(const Eigen::DenseBase<Derived>& source) {
  using Scalar = typename Derived::Scalar;
  RowMajorMatrix<Scalar> out(source.rows(), source.cols());
  constexpr Eigen::Index strip = 64 / sizeof(Scalar);
  for (Eigen::Index k0 = 0; k0 < source.cols(); k0 += strip) {
    const Eigen::Index k1 = std::min(source.cols(), k0 + strip);
    for (Eigen::Index r = 0; r < source.rows(); ++r)
      for (Eigen::Index k = k0; k < k1; ++k) out(r, k) = source(r, k);
  }
  return out;
}

}  // namespace rmsmp::detail
