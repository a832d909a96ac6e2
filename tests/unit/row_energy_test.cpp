// Unit tests for rmsmp/model/detail/row_energy.hpp: SampleEnergy's sum_n (D X)_in^2 on
// every path this machine runs, against the same sums computed in double.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <array>
#include <random>
#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/model/detail/row_energy.hpp"

namespace {

namespace cpu = rmsmp::cpu;

Eigen::VectorXd energy_in_double(const Eigen::MatrixXf& d, const Eigen::MatrixXf& x) {
  return (d.cast<double>() * x.cast<double>()).rowwise().squaredNorm();
}

using RowMajor = rmsmp::detail::RowMajorMatrixXf;

Eigen::VectorXd energy(const Eigen::MatrixXf& d, const Eigen::MatrixXf& x, cpu::ArchId arch) {
  const Eigen::Ref<const Eigen::MatrixXf> samples(x);
  const rmsmp::detail::SampleEnergy meter(samples, arch);
  return meter(RowMajor(d));
}

/// Largest error relative to the sum of squared |d| |x| products of the row (what float
/// rounding is proportional to; it bounds the row's energy from above).
double worst_relative_error(const Eigen::VectorXd& got, const Eigen::MatrixXf& d, const Eigen::MatrixXf& x) {
  const Eigen::VectorXd want = energy_in_double(d, x);
  const Eigen::VectorXd scale = (d.cast<double>().cwiseAbs() * x.cast<double>().cwiseAbs()).rowwise().squaredNorm();
  double worst = 0.0;
  for (Eigen::Index i = 0; i < want.size(); ++i)
    if (scale[i] > 0.0) worst = std::max(worst, std::abs(got[i] - want[i]) / scale[i]);
    else CHECK(got[i] == 0.0);
  return worst;
}

}  // namespace

TEST_CASE("SampleEnergy equals the double-precision sums on every path and ragged shape") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Rows around the 6-row tile and the 96-row block, samples around the 16-sample panel,
  // depths around the 256-deep block.
  const std::array<int, 8> row_counts{1, 5, 6, 7, 95, 96, 97, 200};
  const std::array<int, 6> depths{1, 3, 255, 256, 257, 600};
  const std::array<int, 6> sample_counts{1, 15, 16, 17, 33, 64};
  for (cpu::ArchId arch : {cpu::ArchId::generic, cpu::ArchId::avx2}) {
    if (!cpu::can_run(arch)) {
      WARN("skipping the " << cpu::arch_name(arch) << " path: this machine cannot run it");
      continue;
    }
    for (std::size_t c = 0; c < row_counts.size() * 3; ++c) {
      const int m = row_counts[c % row_counts.size()], k = depths[c % depths.size()], s = sample_counts[(c / 2) % sample_counts.size()];
      INFO(cpu::arch_name(arch) << ": M = " << m << ", K = " << k << ", S = " << s);
      Eigen::MatrixXf d(m, k), x(k, s);
      for (Eigen::Index i = 0; i < d.size(); ++i) d.data()[i] = normal(rng);
      for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
      if (m > 2) d.row(m / 2).setZero();  // a row that rounds exactly
      CHECK(worst_relative_error(energy(d, x, arch), d, x) < 1e-5);
    }
  }
}

TEST_CASE("SampleEnergy handles extreme magnitudes and empty matrices") {
  for (cpu::ArchId arch : {cpu::ArchId::generic, cpu::ArchId::avx2}) {
    if (!cpu::can_run(arch)) continue;
    INFO(cpu::arch_name(arch));
    Eigen::MatrixXf d = Eigen::MatrixXf::Constant(13, 300, 1e-20f), x = Eigen::MatrixXf::Constant(300, 20, 1e15f);
    d.row(4).setConstant(-1e17f);  // products near 1e32: squares overflow float, not double
    d(7, 299) = 3e-38f;            // a lone tiny error in the last column
    d.row(7).head(299).setZero();
    CHECK(worst_relative_error(energy(d, x, arch), d, x) < 1e-5);
    CHECK(energy(Eigen::MatrixXf(0, 8), Eigen::MatrixXf::Ones(8, 3), arch).size() == 0);
    CHECK(energy(Eigen::MatrixXf::Ones(4, 8), Eigen::MatrixXf(8, 0), arch) == Eigen::VectorXd::Zero(4));
    // One meter, many blocks of rows (how quantize_layer uses it).
    Eigen::MatrixXf more = Eigen::MatrixXf::Random(100, 300);
    const Eigen::Ref<const Eigen::MatrixXf> samples(x);
    const rmsmp::detail::SampleEnergy meter(samples, arch);
    CHECK(worst_relative_error(meter(RowMajor(d)), d, x) < 1e-5);
    CHECK(worst_relative_error(meter(RowMajor(more)), more, x) < 1e-5);
  }
  const Eigen::MatrixXf x = Eigen::MatrixXf::Ones(7, 3);
  const Eigen::Ref<const Eigen::MatrixXf> samples(x);
  CHECK_THROWS_WITH(rmsmp::detail::SampleEnergy(samples)(RowMajor::Ones(4, 8)),
                    Catch::Contains("8 values") && Catch::Contains("7"));
}
