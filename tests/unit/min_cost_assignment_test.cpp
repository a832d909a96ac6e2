// Unit tests for rmsmp/quantize/min_cost_assignment.hpp: every answer is compared with a brute
// force over all assignments with the exact row counts.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "brute_force_assignment.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/quantize/min_cost_assignment.hpp"

namespace {

using rmsmp_test::brute_force_min;

void check_against_brute_force(const Eigen::MatrixXd& costs, const std::vector<int>& counts) {
  const std::vector<int> got = rmsmp::min_cost_assignment(costs, counts);
  REQUIRE(got.size() == static_cast<std::size_t>(costs.rows()));
  std::vector<int> used(counts.size(), 0);
  double total = 0.0;
  for (Eigen::Index r = 0; r < costs.rows(); ++r) {
    const int j = got[static_cast<std::size_t>(r)];
    REQUIRE(j >= 0);
    REQUIRE(j < static_cast<int>(counts.size()));
    ++used[static_cast<std::size_t>(j)];
    total += costs(r, j);
  }
  CHECK(used == counts);
  const double best = brute_force_min(costs, counts);
  INFO("costs:\n" << costs);
  CHECK(total == Approx(best).epsilon(1e-12).margin(1e-12));
}

std::vector<int> random_counts(std::mt19937& rng, int rows, int schemes) {
  std::vector<int> counts(static_cast<std::size_t>(schemes), 0);
  std::uniform_int_distribution<int> pick(0, schemes - 1);
  for (int r = 0; r < rows; ++r) ++counts[static_cast<std::size_t>(pick(rng))];
  return counts;
}

}  // namespace

TEST_CASE("min_cost_assignment is optimal for random real costs") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> cost(0.0, 1.0);
  for (int trial = 0; trial < 150; ++trial) {
    const int schemes = 2 + trial % 3;
    const int rows = 1 + trial % 9;
    Eigen::MatrixXd costs(rows, schemes);
    for (Eigen::Index i = 0; i < costs.size(); ++i) costs.data()[i] = cost(rng);
    check_against_brute_force(costs, random_counts(rng, rows, schemes));
  }
}

TEST_CASE("min_cost_assignment is optimal with ties and degenerate costs") {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> small(0, 2);  // many exact ties
  for (int trial = 0; trial < 150; ++trial) {
    const int schemes = 2 + trial % 3;
    const int rows = 2 + trial % 8;
    Eigen::MatrixXd costs(rows, schemes);
    for (Eigen::Index i = 0; i < costs.size(); ++i) costs.data()[i] = small(rng);
    check_against_brute_force(costs, random_counts(rng, rows, schemes));
  }
  // All costs equal; one column dominating; rows identical; negative costs.
  check_against_brute_force(Eigen::MatrixXd::Constant(7, 3, 4.0), {3, 3, 1});
  Eigen::MatrixXd dominated = Eigen::MatrixXd::Random(8, 3);
  dominated.col(1).array() -= 10.0;
  check_against_brute_force(dominated, {2, 5, 1});
  Eigen::MatrixXd same_rows(6, 3);
  same_rows.rowwise() = Eigen::RowVector3d(1.0, -2.0, 0.5);
  check_against_brute_force(same_rows, {1, 2, 3});
  check_against_brute_force(-Eigen::MatrixXd::Random(9, 4).cwiseAbs(), {0, 4, 0, 5});
}

TEST_CASE("min_cost_assignment needs chains of moves") {
  // Placing the last row cheaply forces row 0 from scheme 0 to 1 and row 1 from 1 to 2.
  Eigen::MatrixXd costs(3, 3);
  costs << 0, 1, 9,  //
      9, 0, 1,       //
      0, 9, 9;
  check_against_brute_force(costs, {1, 1, 1});
  CHECK(rmsmp::min_cost_assignment(costs, std::vector<int>{1, 1, 1}) == std::vector<int>{1, 2, 0});
}

TEST_CASE("min_cost_assignment on a large layer equals a greedy bound where greedy is optimal") {
  // With room for every row in its cheapest column the optimum is the row-wise minimum.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> cost(0.0, 1.0);
  Eigen::MatrixXd costs(2000, 3);
  for (Eigen::Index i = 0; i < costs.size(); ++i) costs.data()[i] = cost(rng);
  std::vector<int> counts(3, 0);
  for (Eigen::Index r = 0; r < costs.rows(); ++r) {
    Eigen::Index j = 0;
    costs.row(r).minCoeff(&j);
    ++counts[static_cast<std::size_t>(j)];
  }
  const std::vector<int> got = rmsmp::min_cost_assignment(costs, counts);
  double total = 0.0;
  for (Eigen::Index r = 0; r < costs.rows(); ++r) total += costs(r, got[static_cast<std::size_t>(r)]);
  CHECK(total == Approx(costs.rowwise().minCoeff().sum()).epsilon(1e-12));
}

TEST_CASE("min_cost_assignment refuses bad input") {
  const Eigen::MatrixXd costs = Eigen::MatrixXd::Ones(4, 2);
  CHECK_THROWS_WITH(rmsmp::min_cost_assignment(costs, std::vector<int>{4}), Catch::Contains("1 row counts for 2"));
  CHECK_THROWS_WITH(rmsmp::min_cost_assignment(costs, std::vector<int>{2, 1}), Catch::Contains("add up to 3"));
  CHECK_THROWS_WITH(rmsmp::min_cost_assignment(costs, std::vector<int>{5, -1}), Catch::Contains("negative"));
  Eigen::MatrixXd bad = costs;
  bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(rmsmp::min_cost_assignment(bad, std::vector<int>{2, 2}), Catch::Contains("finite"));
  CHECK(rmsmp::min_cost_assignment(Eigen::MatrixXd(0, 2), std::vector<int>{0, 0}).empty());
}
