// rmsmp/quantize/weighted_scale_search.hpp — the row-scale search of ScaleMethod::min_hessian_error.
//
// The candidates are those of min_squared_error (clip = max|w| * (100 - i) / 100, i < 100, a tie
// keeps the larger clip); the error of a candidate is sum_k h_k (w_k - scale * level_k)^2 with
// h_k >= 0 one weight per column (quantize_layer passes h = diag(H)).
//
// Why not brute force: encoding a 4096-wide row 100 times per scheme costs 400k roundings per
// row, i.e. seconds for a 4096 x 4096 layer. Rounding to the nearest level splits the sorted
// |w| into one bin per level, so with prefix sums of h, h|w| and h w^2 over the sorted row the
// error of a candidate is a sum over bins. The candidates come in decreasing order, so every bin
// end only moves down the sorted row: each is walked from where the previous candidate left it
// (a few steps, predictable branches). That is one radix sort per row (shared by all schemes)
// plus O(bins + steps walked) per candidate, and the search stops as soon as clipping alone
// costs more than the best candidate so far.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {
namespace detail {

/// One row's |w| in ascending order with prefix sums of h, h|w| and h w^2.
class SortedRow {
 public:
  /// `weights` must be finite (checked by the caller, which knows the row for the message) and
  /// `importance` non-negative and finite, one per weight.
  void assign(std::span<const float> weights, std::span<const double> importance) {
    const std::size_t n = weights.size();
    sort_by_magnitude(weights);
    abs_.resize(n);
    p0_.assign(n + 1, 0.0);
    p1_.assign(n + 1, 0.0);
    p2_.assign(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = static_cast<std::size_t>(keys_[i] & 0xffffffffu);
      const double a = std::fabs(static_cast<double>(weights[k]));
      const double h = importance[k];
      abs_[i] = a;
      p0_[i + 1] = p0_[i] + h;
      p1_[i + 1] = p1_[i] + h * a;
      p2_[i + 1] = p2_[i] + h * a * a;
    }
  }

  double max_abs() const { return abs_.empty() ? 0.0 : abs_.back(); }
  std::size_t size() const { return abs_.size(); }

  /// The number of |w| below `value`, walking from `guess` (an earlier answer for a nearby
  /// value): the candidate scales come in small steps, so the walks are short and their
  /// branches predictable, where a binary search per bin mispredicts every other step.
  std::size_t count_below(double value, std::size_t guess) const {
    while (guess > 0 && abs_[guess - 1] >= value) --guess;
    while (guess < abs_.size() && abs_[guess] < value) ++guess;
    return guess;
  }

  /// sum over the sorted positions [lo, hi) of h (|w| - level)^2.
  double bin_error(std::size_t lo, std::size_t hi, double level) const {
    const double s0 = p0_[hi] - p0_[lo], s1 = p1_[hi] - p1_[lo], s2 = p2_[hi] - p2_[lo];
    return s2 - 2.0 * level * s1 + level * level * s0;
  }

 private:
  /// keys_ = (bits of |w|) << 32 | column, ascending: a least-significant-digit radix sort
  /// (|w| as float bits is monotonic in |w|; finite weights need 31 bits, three 11-bit digits).
  void sort_by_magnitude(std::span<const float> weights) {
    const std::size_t n = weights.size();
    keys_.resize(n);
    scratch_.resize(n);
    for (std::size_t k = 0; k < n; ++k)
      keys_[k] = (static_cast<std::uint64_t>(std::bit_cast<std::uint32_t>(std::fabs(weights[k]))) << 32) | k;
    constexpr int digit_bits = 11;
    constexpr std::size_t buckets = std::size_t{1} << digit_bits;
    for (int shift = 32; shift < 64; shift += digit_bits) {
      count_.assign(buckets + 1, 0);
      for (std::uint64_t key : keys_) ++count_[((key >> shift) & (buckets - 1)) + 1];
      if (count_[((keys_[0] >> shift) & (buckets - 1)) + 1] == n) continue;  // one digit value: already in order
      for (std::size_t b = 1; b <= buckets; ++b) count_[b] += count_[b - 1];
      for (std::uint64_t key : keys_) scratch_[count_[(key >> shift) & (buckets - 1)]++] = key;
      keys_.swap(scratch_);
    }
  }

  std::vector<std::uint64_t> keys_, scratch_;
  std::vector<std::size_t> count_;
  std::vector<double> abs_, p0_, p1_, p2_;
};

/// One code book's rounding bins over a sorted row, for the scales of a search. Bin j holds
/// the |w| that round to level j: those with exactly j midpoints (times the scale) at or below
/// them. The bin ends are kept from one scale to the next and moved by SortedRow::count_below.
class RoundingBins {
 public:
  RoundingBins(const RoundingTable& table, const SortedRow& row) : table_(table), row_(row), top_start_(row.size()) {}

  /// sum h (|w| - scale * level(|w|))^2 with level() the rounding of the table at `scale`.
  /// A weight exactly on a rounding midpoint may land in the neighbouring bin (the products
  /// midpoint * scale are rounded); that moves the ranking of candidates by at most one
  /// ulp-sized term, and the codes themselves are always computed by RoundingTable::encode.
  double weighted_error(double scale) {
    const int last = table_.count - 1;
    for (int j = 0; j < last; ++j) {
      const auto u = static_cast<std::size_t>(j);
      // The first scale places the ends in one pass over the row (the bounds ascend).
      const std::size_t guess = placed_ ? end_[u] : (j == 0 ? 0 : end_[u - 1]);
      end_[u] = row_.count_below(table_.midpoint[u] * scale, guess);
    }
    placed_ = true;
    double error = 0.0;
    std::size_t lo = 0;
    for (int j = 0; j <= last; ++j) {
      const auto u = static_cast<std::size_t>(j);
      const std::size_t hi = j < last ? end_[u] : row_.size();
      if (hi > lo) error += row_.bin_error(lo, hi, scale * table_.magnitude[u]);
      lo = hi;
    }
    return error;
  }

  /// Lower bound of weighted_error: the error of the weights at or beyond the largest level,
  /// sum over |w| >= scale * max_level of h (|w| - scale * max_level)^2. It only grows as the
  /// scale shrinks, which lets the search stop early.
  double clipping_error(double scale, int max_level) {
    const double top = scale * max_level;
    top_start_ = row_.count_below(top, top_start_);
    return row_.bin_error(top_start_, row_.size(), top);
  }

 private:
  const RoundingTable& table_;
  const SortedRow& row_;
  std::array<std::size_t, 127> end_{};  // end_[j]: one past the last position of bin j
  bool placed_ = false;
  std::size_t top_start_;  // the searches start at the largest clip: the top bin is near the end
};

/// The min_hessian_error scale of a sorted row (same candidates and tie rule as min_squared_error).
/// Candidates are visited from the largest clip down; once the clipping error alone exceeds the
/// best error found (with a margin for rounding), no smaller clip can win and the search stops.
inline float choose_weighted_scale(const CodeBook& book, const RoundingTable& table, const SortedRow& row) {
  const double max_abs = row.max_abs();
  const float max_abs_scale = scale_for_clip(max_abs, book.max_level);
  if (max_abs_scale == 0.0f) return 1.0f;
  RoundingBins bins(table, row);
  float best_scale = max_abs_scale;
  double best_error = bins.weighted_error(max_abs_scale);
  for (int i = 1; i < mse_clip_candidates; ++i) {
    const double clip = max_abs * (mse_clip_candidates - i) / mse_clip_candidates;
    const float scale = scale_for_clip(clip, book.max_level);
    if (scale == 0.0f) break;
    if (bins.clipping_error(scale, book.max_level) > best_error * (1.0 + 1e-9)) break;
    const double error = bins.weighted_error(scale);
    if (error < best_error) {  // strict: ties keep the larger clip
      best_error = error;
      best_scale = scale;
    }
  }
  return best_scale;
}

inline void require_column_weights(std::span<const double> column_weights, std::size_t columns, const std::string& where) {
  require(column_weights.size() == columns, where + ": " + std::to_string(column_weights.size()) +
                                                " column weights for a row of " + std::to_string(columns));
  for (std::size_t k = 0; k < column_weights.size(); ++k)
    if (!(std::isfinite(column_weights[k]) && column_weights[k] >= 0.0))
      fail(where + ": column weight " + std::to_string(k) + " is " + std::to_string(column_weights[k]) +
           "; column weights must be finite and non-negative");
}

}  // namespace detail

/// The row scale minimising sum_k column_weights[k] * (w_k - scale * level_k)^2 over the
/// min_squared_error candidates (ScaleMethod::min_hessian_error with column_weights = diag(H)).
/// With all column weights 1 it ranks candidates like ScaleMethod::min_squared_error.
inline float choose_row_scale_weighted(const CodeBook& book, std::span<const float> weights,
                                       std::span<const double> column_weights) {
  require(is_supported(book.id), "choose_row_scale_weighted: unsupported scheme " + display_name(book.id));
  detail::require_finite_row(weights, "choose_row_scale_weighted");
  detail::require_column_weights(column_weights, weights.size(), "choose_row_scale_weighted");
  detail::SortedRow row;
  row.assign(weights, column_weights);
  return detail::choose_weighted_scale(book, detail::RoundingTable(book), row);
}

}  // namespace rmsmp
