// Unit tests for rmsmp/quantize/assignment_rules.hpp. The papers' rule is checked against its
// definition computed here independently (sensitivity ranking, normalized variance ranking);
// the optimal rule against a brute force over all assignments with the exact row counts.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "brute_force_assignment.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/assignment_rules.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace {

using rmsmp::AssignmentRule;
using rmsmp::DynamicRowMix;
using rmsmp::SchemeId;

const SchemeId pot4 = rmsmp::PoT<4>::id;
const SchemeId sp2_4 = rmsmp::SP2<4>::id;
const SchemeId fixed4 = rmsmp::Fixed<4>::id;
const SchemeId fixed8 = rmsmp::Fixed<8>::id;

double total_cost(const DynamicRowMix& mix, const Eigen::MatrixXd& costs, const rmsmp::RowAssignment& a) {
  double t = 0.0;
  for (std::size_t r = 0; r < a.size(); ++r) t += costs(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(mix.index_of(a[r])));
  return t;
}

using rmsmp_test::brute_force_min;

/// Rows of three shapes: Laplace-like (bell), Gaussian, uniform (flat); the shape index of row
/// r is r % 3 so the expected split is known.
Eigen::MatrixXf shaped_rows(int rows, int k, std::mt19937& rng) {
  std::exponential_distribution<float> expo(1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::bernoulli_distribution sign(0.5);
  Eigen::MatrixXf w(rows, k);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < k; ++c)
      w(r, c) = r % 3 == 0 ? (sign(rng) ? 1.0f : -1.0f) * expo(rng) : r % 3 == 1 ? normal(rng) : uniform(rng);
  return w;
}

}  // namespace

TEST_CASE("high_precision_scheme finds the unique widest scheme") {
  CHECK(rmsmp::high_precision_scheme(DynamicRowMix::from<rmsmp::Mix60_35_5>()) == 2);
  CHECK(rmsmp::high_precision_scheme(DynamicRowMix({{sp2_4, 60}, {fixed4, 40}})) == 2);  // none: a tie
  CHECK(rmsmp::high_precision_scheme(DynamicRowMix({{fixed8, 100}})) == 1);              // none: one scheme
  CHECK(rmsmp::high_precision_scheme(DynamicRowMix({{fixed8, 10}, {pot4, 90}})) == 0);
}

TEST_CASE("normalized_variance compares shapes, not scales") {
  std::mt19937 rng(4);
  const Eigen::MatrixXf w = shaped_rows(3, 4000, rng);
  const double bell = rmsmp::normalized_variance(w.row(0).transpose());
  const double flat = rmsmp::normalized_variance(w.row(2).transpose());
  CHECK(bell < flat);
  CHECK(flat == Approx(1.0 / 3.0).epsilon(0.05));  // uniform on [-1, 1]: variance 1/3
  CHECK(rmsmp::normalized_variance((1e-3f * w.row(0)).transpose()) == Approx(bell).epsilon(1e-5));
  CHECK(rmsmp::normalized_variance(Eigen::VectorXf::Zero(5)) == 0.0);
}

TEST_CASE("row_normalized_variances: every row's variance of w / max|w|, zero rows 0") {
  std::mt19937 rng(5);
  Eigen::MatrixXf w = shaped_rows(7, 301, rng);
  w.row(3).setZero();
  w(5, 17) = -4.0f;  // the largest magnitude negative
  const std::vector<double> all = rmsmp::row_normalized_variances(w);
  REQUIRE(all.size() == 7);
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    CAPTURE(r);
    // One row at a time, written out here: the same operations in the same order.
    const double max_abs = static_cast<double>(w.row(r).cwiseAbs().maxCoeff());
    double sum = 0.0, sum_sq = 0.0;
    for (Eigen::Index k = 0; k < w.cols(); ++k) {
      const double v = max_abs > 0.0 ? w(r, k) / max_abs : 0.0;
      sum += v;
      sum_sq += v * v;
    }
    const double mean = sum / static_cast<double>(w.cols());
    const double expected = std::max(0.0, sum_sq / static_cast<double>(w.cols()) - mean * mean);
    CHECK(all[static_cast<std::size_t>(r)] == expected);
    CHECK(rmsmp::normalized_variance(w.row(r).transpose()) == expected);
  }
  CHECK(all[3] == 0.0);
  CHECK(rmsmp::row_normalized_variances(Eigen::MatrixXf(4, 0)) == std::vector<double>(4, 0.0));
}

TEST_CASE("The papers' rule follows its definition with exact row counts") {
  std::mt19937 rng(7);
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  const int rows = 90;
  const Eigen::MatrixXf w = shaped_rows(rows, 200, rng);
  Eigen::MatrixXd costs = Eigen::MatrixXd::Random(rows, 3).cwiseAbs();
  const rmsmp::RowAssignment a = rmsmp::assign_rows(AssignmentRule::papers, mix, costs, w);
  REQUIRE_NOTHROW(rmsmp::check_assignment(a, mix));
  const std::vector<int> counts = mix.row_counts(rows);  // 54 / 32 / 4

  // Fixed-8: the rows whose cheaper of PoT-4 and Fixed-4 costs is largest.
  std::vector<std::pair<double, int>> sensitivity;
  for (int r = 0; r < rows; ++r) sensitivity.push_back({-std::min(costs(r, 0), costs(r, 1)), r});
  std::sort(sensitivity.begin(), sensitivity.end());
  std::set<int> want_high, got_high;
  for (int i = 0; i < counts[2]; ++i) want_high.insert(sensitivity[static_cast<std::size_t>(i)].second);
  for (int r = 0; r < rows; ++r)
    if (a[static_cast<std::size_t>(r)] == fixed8) got_high.insert(r);
  CHECK(got_high == want_high);

  // Every PoT-4 row is at least as bell-shaped as every Fixed-4 row.
  double most_pot = 0.0, least_fixed = std::numeric_limits<double>::infinity();
  int bell_rows_on_pot = 0;
  for (int r = 0; r < rows; ++r) {
    const double v = rmsmp::normalized_variance(w.row(r).transpose());
    if (a[static_cast<std::size_t>(r)] == pot4) {
      most_pot = std::max(most_pot, v);
      bell_rows_on_pot += r % 3 == 0;
    }
    if (a[static_cast<std::size_t>(r)] == fixed4) least_fixed = std::min(least_fixed, v);
  }
  CHECK(most_pot <= least_fixed);
  CHECK(bell_rows_on_pot >= 28);  // of the 30 Laplace rows, only Fixed-8 picks may be missing
}

TEST_CASE("The papers' rule without a high-precision scheme splits by shape only") {
  std::mt19937 rng(8);
  const DynamicRowMix mix({{fixed4, 67}, {sp2_4, 33}});
  const Eigen::MatrixXf w = shaped_rows(30, 3000, rng);
  const rmsmp::RowAssignment a = rmsmp::assign_rows(AssignmentRule::papers, mix, Eigen::MatrixXd::Zero(30, 2), w);
  REQUIRE_NOTHROW(rmsmp::check_assignment(a, mix));
  for (int r = 0; r < 30; ++r) CHECK((a[static_cast<std::size_t>(r)] == sp2_4) == (r % 3 == 0));
}

TEST_CASE("The optimal rule is optimal and never worse than the papers' rule") {
  std::mt19937 rng(9);
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  for (int trial = 0; trial < 20; ++trial) {
    const int rows = 5 + trial % 5;
    const Eigen::MatrixXf w = shaped_rows(rows, 16, rng);
    const Eigen::MatrixXd costs = Eigen::MatrixXd::Random(rows, 3).cwiseAbs();
    const rmsmp::RowAssignment best = rmsmp::assign_rows(AssignmentRule::optimal, mix, costs, w);
    const rmsmp::RowAssignment papers = rmsmp::assign_rows(AssignmentRule::papers, mix, costs, w);
    REQUIRE_NOTHROW(rmsmp::check_assignment(best, mix));
    CHECK(total_cost(mix, costs, best) == Approx(brute_force_min(costs, mix.row_counts(rows))).epsilon(1e-12));
    CHECK(total_cost(mix, costs, best) <= total_cost(mix, costs, papers) + 1e-12);
  }
}

TEST_CASE("assign_rows refuses bad input") {
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  const Eigen::MatrixXf w = Eigen::MatrixXf::Ones(10, 4);
  CHECK_THROWS_WITH(rmsmp::assign_rows(AssignmentRule::optimal, mix, Eigen::MatrixXd::Ones(10, 2), w),
                    Catch::Contains("2 columns") && Catch::Contains("3 schemes"));
  CHECK_THROWS_WITH(rmsmp::assign_rows(AssignmentRule::papers, mix, Eigen::MatrixXd::Ones(9, 3), w),
                    Catch::Contains("9 rows"));
  Eigen::MatrixXd nan_costs = Eigen::MatrixXd::Ones(10, 3);
  nan_costs(3, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(rmsmp::assign_rows(AssignmentRule::papers, mix, nan_costs, w), Catch::Contains("finite"));
}
