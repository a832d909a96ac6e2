// rmsmp/kernel/cpu/prepared_matrix.hpp — a matrix packed once for the CPU kernels, kept
// beside the matrix it came from (CpuBackend::prepare returns one).
#pragma once

#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"

namespace rmsmp::cpu {

/// A matrix and its packed form. Holds a pointer to the matrix (for the argument checks),
/// so the matrix must outlive it and must not be modified (like a std::string_view).
template <class Mix>
class PreparedMatrix {
 public:
  /// Packed for the kernel of best_available_arch().
  explicit PreparedMatrix(const MixedRowMatrix<Mix>& matrix) : matrix_(&matrix), packed_(matrix) {}
  PreparedMatrix(const MixedRowMatrix<Mix>& matrix, WeightLayout layout) : matrix_(&matrix), packed_(matrix, layout) {}
  /// Lane tiles in a chosen order (by_scheme: the smaller weights, for a matrix streamed from
  /// memory; by_row: the faster stores, for one that stays in cache).
  PreparedMatrix(const MixedRowMatrix<Mix>& matrix, WeightLayout layout, LaneOrder order)
      : matrix_(&matrix), packed_(matrix, layout, order) {}
  explicit PreparedMatrix(const MixedRowMatrix<Mix>&&) = delete;  // would dangle
  PreparedMatrix(const MixedRowMatrix<Mix>&&, WeightLayout) = delete;
  PreparedMatrix(const MixedRowMatrix<Mix>&&, WeightLayout, LaneOrder) = delete;

  const MixedRowMatrix<Mix>& matrix() const { return *matrix_; }
  const PackedWeights& packed() const { return packed_; }

 private:
  const MixedRowMatrix<Mix>* matrix_;
  PackedWeights packed_;
};

}  // namespace rmsmp::cpu
