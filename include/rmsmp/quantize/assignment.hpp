// rmsmp/quantize/assignment.hpp — which scheme each row uses.
//
// Choosing the rows well (Hessian sensitivity, distribution shape) is the row-assignment
// algorithm's job; this header only defines the assignment and checks it against a mix.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

/// The scheme of every row, in the layer's original row order.
using RowAssignment = std::vector<SchemeId>;

/// Throws unless `assignment` gives every scheme of `mix` exactly its row count and uses no
/// other scheme.
inline void check_assignment(const RowAssignment& assignment, const DynamicRowMix& mix) {
  const int rows = static_cast<int>(assignment.size());
  const std::vector<int> wanted = mix.row_counts(rows);
  std::vector<int> got(mix.scheme_count(), 0);
  for (std::size_t r = 0; r < assignment.size(); ++r) {
    const std::size_t i = mix.index_of(assignment[r]);
    if (i >= mix.scheme_count())
      fail("row assignment: row " + std::to_string(r) + " uses " + display_name(assignment[r]) +
                   ", which the mix (" + display_name(mix) + ") does not contain");
    ++got[i];
  }
  for (std::size_t i = 0; i < mix.scheme_count(); ++i)
    require(got[i] == wanted[i], "row assignment: " + std::to_string(got[i]) + " of " +
                                             std::to_string(rows) + " rows use " + display_name(mix.scheme(i)) +
                                             ", but the mix (" + display_name(mix) + ") needs exactly " +
                                             std::to_string(wanted[i]));
}

/// The simplest valid assignment: the first rows to the first scheme of the mix, and so on.
/// Meant for tests and for layers whose rows are interchangeable.
inline RowAssignment assign_in_order(const DynamicRowMix& mix, int rows) {
  const std::vector<int> counts = mix.row_counts(rows);
  RowAssignment assignment;
  assignment.reserve(static_cast<std::size_t>(rows));
  for (std::size_t i = 0; i < counts.size(); ++i) assignment.insert(assignment.end(), static_cast<std::size_t>(counts[i]), mix.scheme(i));
  return assignment;
}

template <class Mix>
  requires Mix::is_static
RowAssignment assign_in_order(int rows) {
  return assign_in_order(DynamicRowMix::from<Mix>(), rows);
}

}  // namespace rmsmp
