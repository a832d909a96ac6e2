// rmsmp/quantize/min_cost_assignment.hpp — the cheapest assignment of rows to schemes with
// exact per-scheme row counts (a transportation problem with few sinks).
//
// Method: successive shortest paths, one row at a time. After each step the rows placed so
// far are assigned at minimum cost under the capacities. Placing the next row r costs the
// cheapest chain "r joins scheme s1, one row of s1 moves to s2, ..., one row moves to a
// scheme t with room left". A move j -> k costs min over rows i in j of c[i][k] - c[i][j],
// kept in one lazy min-heap per scheme pair, so the chain is a shortest path on the few
// scheme nodes (Bellman-Ford: the move costs can be negative, but an optimal partial
// assignment has no negative cycle). O(M n^2 log M + M n^3) for M rows and n schemes.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <functional>
#include <limits>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"

namespace rmsmp {

/// Row r gets column result[r] of `costs` (M rows x n columns); column j is given to exactly
/// counts[j] rows and the sum of the chosen costs is minimal (up to floating-point rounding of
/// cost differences; exact for integer-valued costs). Ties keep the lower column for the
/// earlier row where no cheaper choice exists.
inline std::vector<int> min_cost_assignment(const Eigen::Ref<const Eigen::MatrixXd>& costs, std::span<const int> counts) {
  const Eigen::Index rows = costs.rows();
  const int n = static_cast<int>(costs.cols());
  require(static_cast<Eigen::Index>(counts.size()) == costs.cols(),
                  "min_cost_assignment: " + std::to_string(counts.size()) + " row counts for " + std::to_string(n) +
                      " cost columns");
  long long total = 0;
  for (std::size_t j = 0; j < counts.size(); ++j) {
    require(counts[j] >= 0, "min_cost_assignment: row count " + std::to_string(j) + " is negative");
    total += counts[j];
  }
  require(total == rows, "min_cost_assignment: the row counts add up to " + std::to_string(total) + ", not to the " +
                                     std::to_string(rows) + " rows");
  require(costs.allFinite(), "min_cost_assignment: every cost must be finite");
  if (rows == 0) return {};

  using Entry = std::pair<double, int>;  // (move cost, row)
  using MinHeap = std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>>;
  std::vector<MinHeap> moves(static_cast<std::size_t>(n * n));  // moves[j * n + k]: rows of j that could go to k
  std::vector<int> assigned(static_cast<std::size_t>(rows), -1);
  std::vector<int> room(counts.begin(), counts.end());

  const auto place = [&](int row, int scheme) {
    assigned[static_cast<std::size_t>(row)] = scheme;
    for (int k = 0; k < n; ++k)
      if (k != scheme) moves[static_cast<std::size_t>(scheme * n + k)].emplace(costs(row, k) - costs(row, scheme), row);
  };
  // Cheapest row of j that could move to k (dropping rows that left j), or -1.
  const auto best_mover = [&](int j, int k) {
    MinHeap& heap = moves[static_cast<std::size_t>(j * n + k)];
    while (!heap.empty() && assigned[static_cast<std::size_t>(heap.top().second)] != j) heap.pop();
    return heap.empty() ? -1 : heap.top().second;
  };

  constexpr double unreachable = std::numeric_limits<double>::infinity();
  std::vector<double> dist(static_cast<std::size_t>(n));
  std::vector<int> from(static_cast<std::size_t>(n));
  std::vector<int> mover(static_cast<std::size_t>(n * n));
  for (int r = 0; r < static_cast<int>(rows); ++r) {
    for (int k = 0; k < n; ++k) {
      dist[static_cast<std::size_t>(k)] = counts[static_cast<std::size_t>(k)] > 0 ? costs(r, k) : unreachable;
      from[static_cast<std::size_t>(k)] = -1;
    }
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) mover[static_cast<std::size_t>(j * n + k)] = j == k ? -1 : best_mover(j, k);
    // Bellman-Ford on the scheme nodes; relaxing only on a strict improvement keeps `from`
    // acyclic even where floating-point rounding leaves a zero-cost cycle.
    for (int round = 0; round + 1 < n; ++round) {
      bool changed = false;
      for (int j = 0; j < n; ++j) {
        if (dist[static_cast<std::size_t>(j)] == unreachable) continue;
        for (int k = 0; k < n; ++k) {
          const int i = mover[static_cast<std::size_t>(j * n + k)];
          if (i < 0) continue;
          const double through = dist[static_cast<std::size_t>(j)] + (costs(i, k) - costs(i, j));
          if (through < dist[static_cast<std::size_t>(k)]) {
            dist[static_cast<std::size_t>(k)] = through;
            from[static_cast<std::size_t>(k)] = j;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    int target = -1;
    for (int k = 0; k < n; ++k)
      if (room[static_cast<std::size_t>(k)] > 0 &&
          (target < 0 || dist[static_cast<std::size_t>(k)] < dist[static_cast<std::size_t>(target)]))
        target = k;
    // Walk the chain back from the target; each edge moves one row one step along it.
    std::vector<std::pair<int, int>> chain;  // (row, new scheme)
    int k = target;
    for (int steps = 0; from[static_cast<std::size_t>(k)] >= 0; ++steps) {
      if (steps >= n) fail("min_cost_assignment: internal error (cycle in the shortest-path tree)");
      const int j = from[static_cast<std::size_t>(k)];
      chain.emplace_back(mover[static_cast<std::size_t>(j * n + k)], k);
      k = j;
    }
    for (const auto& [row, scheme] : chain) place(row, scheme);
    place(r, k);
    --room[static_cast<std::size_t>(target)];
  }
  return assigned;
}

}  // namespace rmsmp
