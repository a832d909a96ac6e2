// rmsmp/kernel/rtl/detail/row_slots.hpp — which matrix row each lane computes, and the order
// in which the engine returns a column's results: the map between the engine's result index
// (which also addresses the row parameters) and the original row.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "rmsmp/kernel/rtl/detail/gemm_schedule.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"

namespace rmsmp::rtl::detail {

/// One row as the engine sees it: which lane type, which group row.
struct RowSlot {
  std::size_t group = 0;
  std::size_t index = 0;
  int original_row = 0;
};

/// Per lane type, the rows it computes, in the order they are dealt to its lanes.
using RowsByLaneType = std::array<std::vector<RowSlot>, lane_type_count>;

/// Every row of the matrix under the lane type of its scheme, group by group.
template <class Mix>
RowsByLaneType rows_by_lane_type(const MixedRowMatrix<Mix>& weights) {
  RowsByLaneType rows;
  for (std::size_t g = 0; g < weights.group_count(); ++g) {
    const RowGroup& group = weights.group(g);
    auto& list = rows[static_cast<std::size_t>(lane_type_of(group.scheme()))];
    for (std::size_t i = 0; i < group.rows(); ++i) list.push_back({g, i, group.original_row(i)});
  }
  return rows;
}

inline std::array<int, lane_type_count> row_counts(const RowsByLaneType& rows) {
  std::array<int, lane_type_count> counts{};
  for (std::size_t t = 0; t < lane_type_count; ++t) counts[t] = static_cast<int>(rows[t].size());
  return counts;
}

/// The rows one weight load computes.
inline RowsByLaneType rows_of_load(const RowsByLaneType& rows, const WeightLoad& load) {
  RowsByLaneType selected;
  for (std::size_t t = 0; t < lane_type_count; ++t) {
    const auto first = rows[t].begin() + load.first_row[t];
    selected[t].assign(first, first + load.rows[t]);
  }
  return selected;
}

/// The order the engine emits one column's results in: pass, lane type, lane.
inline std::vector<RowSlot> output_order(const EngineParams& p, const RowsByLaneType& rows) {
  std::vector<RowSlot> order;
  for (int pass = 0;; ++pass) {
    bool any = false;
    for (std::size_t t = 0; t < lane_type_count; ++t) {
      const std::size_t lanes = static_cast<std::size_t>(p.lanes[t]);
      for (std::size_t l = 0; l < lanes; ++l) {
        const std::size_t r = static_cast<std::size_t>(pass) * lanes + l;
        if (r < rows[t].size()) {
          order.push_back(rows[t][r]);
          any = true;
        }
      }
    }
    if (!any) return order;
  }
}

}  // namespace rmsmp::rtl::detail
