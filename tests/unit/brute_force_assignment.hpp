// Test helper: the least total cost of assigning rows to schemes with exact per-scheme counts,
// by trying every assignment. The independent check for min_cost_assignment and the rules
// built on it; only for small cases (it is exponential).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <limits>
#include <vector>

namespace rmsmp_test {

/// Least sum of costs(row, scheme) over every assignment that gives column j exactly room[j]
/// of the rows from `row` on.
inline double brute_force_min(const Eigen::MatrixXd& costs, std::vector<int> room, int row = 0) {
  if (row == costs.rows()) return 0.0;
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < room.size(); ++j) {
    if (room[j] == 0) continue;
    --room[j];
    best = std::min(best, costs(row, static_cast<Eigen::Index>(j)) + brute_force_min(costs, room, row + 1));
    ++room[j];
  }
  return best;
}

}  // namespace rmsmp_test
