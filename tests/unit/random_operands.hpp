// Test helper: random mixed-row matrices and activations for the kernel tests, each drawn from
// the caller's generator so every test file keeps its own reproducible sequence.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp_test {

using CodeMatrix = rmsmp::MixedRowMatrix<>::CodeMatrix;

inline int uniform(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

/// Uniformly random codes (including the "negative zero" code), each within its row's width;
/// the middle row is all zero codes when there are more than two rows.
inline CodeMatrix random_codes(std::mt19937& rng, const rmsmp::RowAssignment& a, int K) {
  CodeMatrix codes(static_cast<Eigen::Index>(a.size()), K);
  for (std::size_t r = 0; r < a.size(); ++r)
    for (int k = 0; k < K; ++k)
      codes(static_cast<Eigen::Index>(r), k) = static_cast<std::uint8_t>(uniform(rng, 0, (1 << a[r].bits) - 1));
  if (a.size() > 2) codes.row(static_cast<Eigen::Index>(a.size() / 2)).setZero();
  return codes;
}

inline std::vector<float> random_scales(std::mt19937& rng, std::size_t M) {
  std::vector<float> s(M);
  for (auto& v : s) v = std::uniform_real_distribution<float>(1e-3f, 1e-1f)(rng);
  return s;
}

/// The mix's exact row counts in shuffled rows.
template <class Mix>
rmsmp::MixedRowMatrix<Mix> random_static(std::mt19937& rng, int M, int K) {
  rmsmp::RowAssignment a = rmsmp::assign_in_order<Mix>(M);
  std::shuffle(a.begin(), a.end(), rng);
  return rmsmp::MixedRowMatrix<Mix>::from_codes(a, random_scales(rng, a.size()), random_codes(rng, a, K));
}

/// Every row an independently drawn supported scheme.
inline rmsmp::MixedRowMatrix<> random_dynamic(std::mt19937& rng, int M, int K) {
  rmsmp::RowAssignment a(static_cast<std::size_t>(M));
  for (auto& s : a)
    s = rmsmp::all_schemes[static_cast<std::size_t>(uniform(rng, 0, static_cast<int>(rmsmp::all_schemes.size()) - 1))];
  return rmsmp::MixedRowMatrix<>::from_codes(a, random_scales(rng, a.size()), random_codes(rng, a, K));
}

/// Codes uniform over the activation type's range for p.bits.
template <rmsmp::ActivationValue T>
rmsmp::Activations<T> random_activations(std::mt19937& rng, int K, int N, rmsmp::ActivationParams p) {
  rmsmp::Activations<T> x{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(K, N), p};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k)
      x.values(k, n) = static_cast<T>(uniform(rng, rmsmp::activation_min<T>(p.bits), rmsmp::activation_max<T>(p.bits)));
  return x;
}

/// Same shape and the same bytes.
template <class Out>
bool bit_equal(const Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic>& a,
               const Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  return a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(Out) * static_cast<std::size_t>(a.size())) == 0;
}

}  // namespace rmsmp_test
