// rmsmp/quantize/detail/row_energy.hpp — the output energy ||d_i X||^2 of every row of an error
// matrix D (M x K) over calibration samples X (K x S).
//
// quantize_layer needs it once per candidate scheme: three M x K x S products, the largest part
// of quantizing a layer without compensation. Eigen's float product reaches about half of the
// FMA peak on the project machine (AMD Zen 3); the AVX2 path below is a register-blocked product
// (6 rows x 16 samples held in 12 accumulators, both operands packed so every load is
// contiguous) that squares and sums its tiles as it finishes them, so the M x S product is never
// written out. Both paths multiply in float and sum squares in double; they agree to float
// rounding, not bit for bit (the order of the float sums differs), which is all the costs need.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/cpu/arch.hpp"
#include "rmsmp/kernel/cpu/detail/target_region.hpp"

namespace rmsmp::detail {

/// Eigen's product in chunks of rows (the chunk bounds the temporary to chunk x S floats).
inline Eigen::VectorXd row_output_energy_generic(const Eigen::MatrixXf& d, const Eigen::Ref<const Eigen::MatrixXf>& x) {
  Eigen::VectorXd out(d.rows());
  constexpr Eigen::Index chunk = 256;
  Eigen::MatrixXf product;
  for (Eigen::Index first = 0; first < d.rows(); first += chunk) {
    const Eigen::Index count = std::min(chunk, d.rows() - first);
    product.noalias() = d.middleRows(first, count) * x;
    out.segment(first, count) = product.cast<double>().rowwise().squaredNorm();
  }
  return out;
}

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

inline Eigen::VectorXd row_output_energy(const Eigen::MatrixXf& d, const Eigen::Ref<const Eigen::MatrixXf>& x) {
  const Eigen::Index rows = d.rows(), depth = d.cols(), samples = x.cols();
  const Eigen::Index panels = (samples + tile_samples - 1) / tile_samples;
  // X as panels of 16 samples, [panel][k][16], the last panel padded with zero samples.
  std::vector<float> packed_x(static_cast<std::size_t>(panels * depth * tile_samples), 0.0f);
  for (Eigen::Index n = 0; n < samples; ++n) {
    float* panel = packed_x.data() + (n / tile_samples) * depth * tile_samples + n % tile_samples;
    for (Eigen::Index k = 0; k < depth; ++k) panel[k * tile_samples] = x(k, n);
  }
  Eigen::VectorXd out = Eigen::VectorXd::Zero(rows);
  // The rows of one block as tiles of 6, [tile][k][6] (the last tile padded with zero rows),
  // and the block's products, [tile][panel][6][2] vectors, accumulated over the depth blocks.
  // A tile's stride is padded by a cache line: with K a multiple of 1024 it would otherwise be
  // a multiple of 4 KiB, and packing (which writes every tile for each k) would hit one L1 set.
  constexpr Eigen::Index tiles_per_block = row_block / tile_rows;
  const Eigen::Index tile_stride = depth * tile_rows + 16;
  std::vector<float> packed_d(static_cast<std::size_t>(tiles_per_block * tile_stride));
  constexpr Eigen::Index tile_floats = tile_rows * tile_samples;
  std::vector<float> product(static_cast<std::size_t>(tiles_per_block * panels * tile_floats));
  for (Eigen::Index first = 0; first < rows; first += row_block) {
    const Eigen::Index block = std::min(row_block, rows - first);
    const Eigen::Index tiles = (block + tile_rows - 1) / tile_rows;
    if (block % tile_rows != 0) std::fill(packed_d.begin(), packed_d.end(), 0.0f);  // zero rows pad the last tile
    for (Eigen::Index k = 0; k < depth; ++k) {
      const float* column = d.data() + k * rows + first;
      for (Eigen::Index i = 0; i < block; ++i)
        packed_d[static_cast<std::size_t>((i / tile_rows) * tile_stride + k * tile_rows + i % tile_rows)] = column[i];
    }
    std::fill(product.begin(), product.end(), 0.0f);
    for (Eigen::Index k0 = 0; k0 < depth; k0 += depth_block) {
      const Eigen::Index span = std::min(depth_block, depth - k0);
      for (Eigen::Index p = 0; p < panels; ++p) {
        const float* panel = packed_x.data() + (p * depth + k0) * tile_samples;
        for (Eigen::Index t = 0; t < tiles; ++t)
          tile_product(packed_d.data() + t * tile_stride + k0 * tile_rows, panel, span,
                       product.data() + (t * panels + p) * tile_floats);
      }
    }
    for (Eigen::Index i = 0; i < block; ++i) {
      const float* tile_row = product.data() + ((i / tile_rows) * panels * tile_rows + i % tile_rows) * tile_samples;
      double sum = 0.0;
      for (Eigen::Index p = 0; p < panels; ++p) sum += squared_norm16(tile_row + p * tile_floats);
      out[first + i] = sum;
    }
  }
  return out;
}

}  // namespace rmsmp::detail::avx2_row_energy

RMSMP_CPU_TARGET_END

#endif  // RMSMP_CPU_X86_KERNELS

namespace rmsmp::detail {

/// sum_n (D X)_{in}^2 for every row i, on `arch` (generic or avx2; tests force each).
inline Eigen::VectorXd row_output_energy(const Eigen::MatrixXf& d, const Eigen::Ref<const Eigen::MatrixXf>& x,
                                         cpu::ArchId arch) {
  require(d.cols() == x.rows(), "row_output_energy: D has " + std::to_string(d.cols()) + " columns but X has " +
                                    std::to_string(x.rows()) + " rows");
  cpu::require_runnable(arch);
#if RMSMP_CPU_X86_KERNELS
  if (arch != cpu::ArchId::generic && d.rows() > 0 && d.cols() > 0 && x.cols() > 0)
    return avx2_row_energy::row_output_energy(d, x);  // AVX-512 machines run AVX2 too
#endif
  return row_output_energy_generic(d, x);
}

/// The same on the best path this machine runs.
inline Eigen::VectorXd row_output_energy(const Eigen::MatrixXf& d, const Eigen::Ref<const Eigen::MatrixXf>& x) {
  return row_output_energy(d, x, cpu::can_run(cpu::ArchId::avx2) ? cpu::ArchId::avx2 : cpu::ArchId::generic);
}

}  // namespace rmsmp::detail
