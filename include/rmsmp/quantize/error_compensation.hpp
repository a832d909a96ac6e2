// rmsmp/quantize/error_compensation.hpp — error-compensating quantization (GPTQ / OBQ style)
// with a different grid (scheme and scale) on every row.
//
// Columns are quantized left to right. The error a column leaves in each row is spread over
// the row's columns not yet quantized so as to minimise the row's output error d^T H d: with
// U the upper Cholesky factor of H^-1 (U^T U = H^-1), quantizing column j changes the later
// columns by -(w_j - q_j) / U_jj * U_j,(j+1..). The updates are applied lazily: inside a block
// of columns as rank-1 updates, to the columns right of the block as one matrix product.
// Rows never mix (H acts along a row), so every row can keep its own grid. docs/assignment.md
// has the derivation.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

struct CompensationOptions {
  /// Added to H's diagonal before inverting, relative to the mean of that diagonal (GPTQ's
  /// "percdamp"): lambda = damping * mean(diag H). Keeps H^-1 bounded when calibration inputs
  /// are correlated or fewer than K; larger values spread less error (0 is allowed for a
  /// well-conditioned H).
  double damping = 0.01;
  /// Columns per block of lazy updates: larger blocks move more work into matrix products.
  int block_size = 128;
};

namespace detail {

/// H + lambda I with lambda = damping * mean(diag H); an input that is always zero (H_kk = 0)
/// gets H_kk = 1 first, so its weights are rounded on their own and push no error elsewhere.
inline Eigen::MatrixXd damped_hessian(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double damping) {
  Eigen::MatrixXd h = hessian;
  for (Eigen::Index k = 0; k < h.rows(); ++k)
    if (h(k, k) == 0.0) h(k, k) = 1.0;
  h.diagonal().array() += damping * h.diagonal().mean();
  return h;
}

/// Upper-triangular U with U^T U = h^-1 (h symmetric positive definite). With J the reversal
/// permutation and J h J = L L^T, h = R R^T for the upper-triangular R = J L J, so
/// h^-1 = (R^-1)^T R^-1 and U = R^-1 = J L^-1 J: one Cholesky and one triangular inverse
/// (about 2K^3/3 flops in double, where inverting h and factoring again would take 2K^3).
inline Eigen::MatrixXd inverse_cholesky_upper(const Eigen::Ref<const Eigen::MatrixXd>& h) {
  const Eigen::Index k = h.rows();
  const Eigen::MatrixXd reversed = h.reverse();  // J h J
  const Eigen::LLT<Eigen::MatrixXd> llt(reversed);
  if (llt.info() != Eigen::Success)
    fail("error compensation: the damped Hessian is not positive definite; increase CompensationOptions::damping");
  // L^-1 is lower triangular: block column [first, first + width) is zero above row `first`
  // and solves the trailing block of L against the identity, K^3/3 flops instead of the
  // K^3 of solving against the whole identity.
  const Eigen::MatrixXd l = llt.matrixL();
  Eigen::MatrixXd l_inverse = Eigen::MatrixXd::Zero(k, k);
  constexpr Eigen::Index width = 128;
  for (Eigen::Index first = 0; first < k; first += width) {
    const Eigen::Index cols = std::min(width, k - first), tail = k - first;
    auto block = l_inverse.block(first, first, tail, cols);
    block.topRows(cols).setIdentity();
    l.bottomRightCorner(tail, tail).triangularView<Eigen::Lower>().solveInPlace(block);
  }
  Eigen::MatrixXd u = l_inverse.reverse();
  u.triangularView<Eigen::StrictlyLower>().setZero();
  return u;
}

}  // namespace detail

/// Codes (M x K, one per weight) of `weights` quantized with error compensation. Row r uses
/// the scheme assignment[r] at scale scales[r] throughout (its grid is fixed beforehand, e.g.
/// by quantize_layer's scale search on the uncompensated row); `hessian` is the K x K input
/// second moment (LayerHessian::matrix()). The codes fit their rows' schemes, so together with
/// the assignment and scales they make a valid MixedRowMatrix.
inline Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic> compensated_codes(
    const Eigen::Ref<const Eigen::MatrixXf>& weights, const Eigen::Ref<const Eigen::MatrixXd>& hessian,
    const RowAssignment& assignment, std::span<const float> scales, const CompensationOptions& options = {}) {
  const Eigen::Index rows = weights.rows(), depth = weights.cols();
  require(depth >= 1, "compensated_codes: the weights have no columns");
  require(hessian.rows() == depth && hessian.cols() == depth,
                  "compensated_codes: the Hessian is " + std::to_string(hessian.rows()) + " x " +
                      std::to_string(hessian.cols()) + " but the weights have K = " + std::to_string(depth));
  require(static_cast<Eigen::Index>(assignment.size()) == rows && static_cast<Eigen::Index>(scales.size()) == rows,
                  "compensated_codes: assignment, scales and weights disagree on the number of rows");
  require(std::isfinite(options.damping) && options.damping >= 0.0,
                  "compensated_codes: damping must be finite and non-negative");
  require(options.block_size >= 1, "compensated_codes: block_size must be at least 1");
  require(hessian.allFinite(), "compensated_codes: the Hessian contains NaN or infinity");
  for (Eigen::Index k = 0; k < depth; ++k)
    if (!(hessian(k, k) >= 0.0)) fail("compensated_codes: the Hessian has a negative diagonal entry at " + std::to_string(k));
  if (!weights.allFinite()) fail("compensated_codes: the weights contain NaN or infinity");

  // One rounding table per scheme; each row points at its own.
  std::vector<SchemeId> schemes;
  std::vector<CodeBook> books;
  std::vector<detail::RoundingTable> tables;
  std::vector<std::size_t> table_of_row(static_cast<std::size_t>(rows));
  for (Eigen::Index r = 0; r < rows; ++r) {
    const SchemeId id = assignment[static_cast<std::size_t>(r)];
    require(is_supported(id), "compensated_codes: row " + std::to_string(r) + " uses unsupported scheme " + display_name(id));
    const float s = scales[static_cast<std::size_t>(r)];
    if (!(std::isnormal(s) && s > 0.0f))
      fail("compensated_codes: row " + std::to_string(r) + " has scale " + std::to_string(s) +
                   "; scales must be positive normal floats");
    auto it = std::find(schemes.begin(), schemes.end(), id);
    if (it == schemes.end()) {
      schemes.push_back(id);
      books.push_back(make_codebook(id));
      tables.emplace_back(books.back());
      it = schemes.end() - 1;
    }
    table_of_row[static_cast<std::size_t>(r)] = static_cast<std::size_t>(it - schemes.begin());
  }

  const Eigen::MatrixXf u = detail::inverse_cholesky_upper(detail::damped_hessian(hessian, options.damping)).cast<float>();
  Eigen::MatrixXf w = weights;  // column-major: a column of all rows is contiguous
  Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic> codes(rows, depth);
  const Eigen::Index block = options.block_size;
  Eigen::MatrixXf block_error(rows, block);
  Eigen::VectorXf column_error(rows);
  for (Eigen::Index first = 0; first < depth; first += block) {
    const Eigen::Index end = std::min(depth, first + block);
    for (Eigen::Index j = first; j < end; ++j) {
      const float pivot = u(j, j);
      for (Eigen::Index r = 0; r < rows; ++r) {
        const std::size_t t = table_of_row[static_cast<std::size_t>(r)];
        const float scale = scales[static_cast<std::size_t>(r)];
        const std::uint8_t code = tables[t].encode(static_cast<double>(w(r, j)) / static_cast<double>(scale));
        codes(r, j) = code;
        column_error[r] = (w(r, j) - scale * static_cast<float>(books[t].level[code])) / pivot;
      }
      block_error.col(j - first) = column_error;
      if (j + 1 < end) w.middleCols(j + 1, end - j - 1).noalias() -= column_error * u.row(j).segment(j + 1, end - j - 1);
    }
    if (end < depth)
      w.rightCols(depth - end).noalias() -= block_error.leftCols(end - first) * u.block(first, end, end - first, depth - end);
  }
  return codes;
}

}  // namespace rmsmp
