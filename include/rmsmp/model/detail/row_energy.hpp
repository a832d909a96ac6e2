// rmsmp/model/detail/row_energy.hpp — the output energy ||d_i X||^2 of rows of an error
// matrix D (rows of K values) over calibration samples X (K x S).
//
// quantize_layer needs it for every row and candidate scheme: three M x K x S products, the
// largest part of quantizing a layer without compensation. It hands over blocks of rows as it
// rounds them (row-major, still in cache), and X is packed once per layer. Eigen's float
// product reaches about half of the FMA peak on the project machine (AMD Zen 3; bm_cost_product
// in bench/assign_bench.cpp, docs/assignment.md section 6); the AVX2 path below is a
// register-blocked product (6 rows x 16 samples held in 12 accumulators, both operands packed
// so every load is contiguous) that squares and sums its tiles as it finishes them, so the
// M x S product is never written out. Both paths multiply in float and sum squares in double; they agree to float
// rounding, not bit for bit (the order of the float sums differs), which is all the costs need.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "rmsmp/detail/row_major.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/detail/target_region.hpp"

namespace rmsmp::detail {

using RowMajorMatrixXf = RowMajorMatrix<float>;

}  // namespace rmsmp::detail

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

RMSMP_CPU_TARGET_BEGIN("avx2,fma")

namespace rmsmp::detail::avx2_row_energy {

inline constexpr Eigen::Index tile_rows = 6;        // broadcast operands
inline constexpr Eigen::Index tile_samples = 16;    // two 8-float vectors
inline constexpr Eigen::Index depth_block = 256;    // a 16 KiB sample panel stays in L1 ...
inline constexpr Eigen::Index row_block = 96;       // ... while 16 row tiles pass over it

/// acc (6 x 16 floats, row-major) += D tile (6 x depth, packed [k][6]) * X panel (depth x 16,
/// packed [k][16]).
inline void tile_product(const float* d, const float* x, Eigen::Index depth, float* acc) {
  __m256 c00 = _mm256_loadu_ps(acc), c01 = _mm256_loadu_ps(acc + 8), c10 = _mm256_loadu_ps(acc + 16),
         c11 = _mm256_loadu_ps(acc + 24), c20 = _mm256_loadu_ps(acc + 32), c21 = _mm256_loadu_ps(acc + 40),
         c30 = _mm256_loadu_ps(acc + 48), c31 = _mm256_loadu_ps(acc + 56), c40 = _mm256_loadu_ps(acc + 64),
         c41 = _mm256_loadu_ps(acc + 72), c50 = _mm256_loadu_ps(acc + 80), c51 = _mm256_loadu_ps(acc + 88);
  for (Eigen::Index k = 0; k < depth; ++k, d += tile_rows, x += tile_samples) {
    const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
    __m256 a = _mm256_broadcast_ss(d);
    c00 = _mm256_fmadd_ps(a, x0, c00), c01 = _mm256_fmadd_ps(a, x1, c01);
    a = _mm256_broadcast_ss(d + 1);
    c10 = _mm256_fmadd_ps(a, x0, c10), c11 = _mm256_fmadd_ps(a, x1, c11);
    a = _mm256_broadcast_ss(d + 2);
    c20 = _mm256_fmadd_ps(a, x0, c20), c21 = _mm256_fmadd_ps(a, x1, c21);
    a = _mm256_broadcast_ss(d + 3);
    c30 = _mm256_fmadd_ps(a, x0, c30), c31 = _mm256_fmadd_ps(a, x1, c31);
    a = _mm256_broadcast_ss(d + 4);
    c40 = _mm256_fmadd_ps(a, x0, c40), c41 = _mm256_fmadd_ps(a, x1, c41);
    a = _mm256_broadcast_ss(d + 5);
    c50 = _mm256_fmadd_ps(a, x0, c50), c51 = _mm256_fmadd_ps(a, x1, c51);
  }
  _mm256_storeu_ps(acc, c00), _mm256_storeu_ps(acc + 8, c01), _mm256_storeu_ps(acc + 16, c10);
  _mm256_storeu_ps(acc + 24, c11), _mm256_storeu_ps(acc + 32, c20), _mm256_storeu_ps(acc + 40, c21);
  _mm256_storeu_ps(acc + 48, c30), _mm256_storeu_ps(acc + 56, c31), _mm256_storeu_ps(acc + 64, c40);
  _mm256_storeu_ps(acc + 72, c41), _mm256_storeu_ps(acc + 80, c50), _mm256_storeu_ps(acc + 88, c51);
}

/// Sum of squares of 16 floats, in double.
inline double squared_norm16(const float* v) {
  const __m256 a = _mm256_loadu_ps(v), b = _mm256_loadu_ps(v + 8);
  __m256d sum = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
  sum = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), sum);
  sum = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(b)), _mm256_cvtps_pd(_mm256_castps256_ps128(b)), sum);
  sum = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)), sum);
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(sum), _mm256_extractf128_pd(sum, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

/// X as panels of 16 samples, [panel][k][16], the last panel padded with zero samples.
inline std::vector<float> pack_samples(const Eigen::Ref<const Eigen::MatrixXf>& x) {
  const Eigen::Index depth = x.rows(), samples = x.cols();
  const Eigen::Index panels = (samples + tile_samples - 1) / tile_samples;
  std::vector<float> packed(static_cast<std::size_t>(panels * depth * tile_samples), 0.0f);
  for (Eigen::Index n = 0; n < samples; ++n) {
    float* panel = packed.data() + (n / tile_samples) * depth * tile_samples + n % tile_samples;
    for (Eigen::Index k = 0; k < depth; ++k) panel[k * tile_samples] = x(k, n);
  }
  return packed;
}

/// out[i] = sum_n (D X)_in^2 for the rows of d, X given packed.
inline void row_energy(const Eigen::Ref<const RowMajorMatrixXf>& d, const std::vector<float>& packed_x, Eigen::Index samples,
                       Eigen::Ref<Eigen::VectorXd> out) {
  const Eigen::Index rows = d.rows(), depth = d.cols();
  const Eigen::Index panels = (samples + tile_samples - 1) / tile_samples;
  constexpr Eigen::Index tiles_per_block = row_block / tile_rows;
  constexpr Eigen::Index tile_floats = tile_rows * tile_samples;
  // The rows of one block as tiles of 6, [tile][k][6] (the last tile padded with zero rows),
  // and the block's products, [tile][panel][6 x 16], accumulated over the depth blocks.
  std::vector<float> packed_d(static_cast<std::size_t>(tiles_per_block * depth * tile_rows));
  std::vector<float> product(static_cast<std::size_t>(tiles_per_block * panels * tile_floats));
  for (Eigen::Index first = 0; first < rows; first += row_block) {
    const Eigen::Index block = std::min(row_block, rows - first);
    const Eigen::Index tiles = (block + tile_rows - 1) / tile_rows;
    for (Eigen::Index t = 0; t < tiles; ++t) {
      float* tile = packed_d.data() + t * depth * tile_rows;
      for (Eigen::Index r = 0; r < tile_rows; ++r) {
        const Eigen::Index i = t * tile_rows + r;
        if (i < block) {
          const float* row = d.data() + (first + i) * d.outerStride();
          for (Eigen::Index k = 0; k < depth; ++k) tile[k * tile_rows + r] = row[k];
        } else {
          for (Eigen::Index k = 0; k < depth; ++k) tile[k * tile_rows + r] = 0.0f;
        }
      }
    }
    std::fill(product.begin(), product.end(), 0.0f);
    for (Eigen::Index k0 = 0; k0 < depth; k0 += depth_block) {
      const Eigen::Index span = std::min(depth_block, depth - k0);
      for (Eigen::Index p = 0; p < panels; ++p) {
        const float* panel = packed_x.data() + (p * depth + k0) * tile_samples;
        for (Eigen::Index t = 0; t < tiles; ++t)
          tile_product(packed_d.data() + (t * depth + k0) * tile_rows, panel, span, product.data() + (t * panels + p) * tile_floats);
      }
    }
    for (Eigen::Index i = 0; i < block; ++i) {
      const float* tile_row = product.data() + ((i / tile_rows) * panels * tile_rows + i % tile_rows) * tile_samples;
      double sum = 0.0;
      for (Eigen::Index p = 0; p < panels; ++p) sum += squared_norm16(tile_row + p * tile_floats);
      out[first + i] = sum;
    }
  }
}

}  // namespace rmsmp::detail::avx2_row_energy

RMSMP_CPU_TARGET_END

#endif  // RMSMP_CPU_X86_KERNELS

namespace rmsmp::detail {

/// sum_n (D X)_in^2 for blocks of rows D, over samples X fixed for the object's lifetime.
/// Products in float, squares summed in double. The path (generic: Eigen; avx2) is chosen
/// once; tests force each.
class SampleEnergy {
 public:
  /// `samples` (K x S) must outlive this object.
  SampleEnergy(const Eigen::Ref<const Eigen::MatrixXf>& samples, cpu::ArchId arch) : samples_(&samples) {
    cpu::require_runnable(arch);
#if RMSMP_CPU_X86_KERNELS
    packed_ = arch != cpu::ArchId::generic && samples.cols() > 0 && samples.rows() > 0;  // AVX-512 machines run AVX2
    if (packed_) packed_samples_ = avx2_row_energy::pack_samples(samples);
#endif
  }

  /// On the best path this machine runs.
  explicit SampleEnergy(const Eigen::Ref<const Eigen::MatrixXf>& samples)
      : SampleEnergy(samples, cpu::can_run(cpu::ArchId::avx2) ? cpu::ArchId::avx2 : cpu::ArchId::generic) {}

  /// One value per row of `d` (rows x K).
  Eigen::VectorXd operator()(const Eigen::Ref<const RowMajorMatrixXf>& d) const {
    require(d.cols() == samples_->rows(), "row energy: the rows have " + std::to_string(d.cols()) + " values but the samples have " +
                                              std::to_string(samples_->rows()));
    Eigen::VectorXd out = Eigen::VectorXd::Zero(d.rows());
#if RMSMP_CPU_X86_KERNELS
    if (packed_) {
      avx2_row_energy::row_energy(d, packed_samples_, samples_->cols(), out);
      return out;
    }
#endif
    constexpr Eigen::Index chunk = 256;  // bounds the temporary to chunk x S floats
    Eigen::MatrixXf product;
    for (Eigen::Index first = 0; first < d.rows(); first += chunk) {
      const Eigen::Index count = std::min(chunk, d.rows() - first);
      product.noalias() = d.middleRows(first, count) * *samples_;
      out.segment(first, count) = product.cast<double>().rowwise().squaredNorm();
    }
    return out;
  }

 private:
  const Eigen::Ref<const Eigen::MatrixXf>* samples_;
  bool packed_ = false;
  std::vector<float> packed_samples_;
};

}  // namespace rmsmp::detail
