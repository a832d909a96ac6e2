// rmsmp/quantize/row_quantizer.hpp — float row -> (row scale, one code per weight).
//
// The rounding rule is the same for every scheme: take x = w / scale in double precision and
// pick the level nearest to x; a tie between two levels goes to the larger magnitude (for
// Fixed this is round-half-away-from-zero); |x| beyond the largest level saturates to it.
// A row that is all zero, or whose scale would underflow float, becomes scale 1 with all
// codes 0: it then needs no special case anywhere downstream (bias, requantization).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

enum class ScaleMethod {
  max_abs,            ///< clip at max|w|: no weight saturates
  min_squared_error,  ///< clip searched on a grid; minimises sum (w - scale*level)^2
  /// The same grid; minimises sum h_k (w_k - scale*level_k)^2 with h = diag(H), the Hessian
  /// of the layer's inputs. Needs that Hessian: only quantize_layer and
  /// choose_row_scale_weighted (quantize/weighted_scale_search.hpp) accept it.
  min_hessian_error,
};

/// Number of clipping points min_squared_error tries: clip = max|w| * (G - i) / G, i < G.
inline constexpr int mse_clip_candidates = 100;

namespace detail {

/// The non-negative levels of a code book in ascending order, each with its canonical code
/// (the smallest code giving it), and the midpoints that separate them.
struct RoundingTable {
  int count = 0;
  std::array<int, 128> magnitude{};
  std::array<std::uint8_t, 128> code{};
  std::array<double, 127> midpoint{};  ///< midpoint[i] between magnitude[i] and magnitude[i+1]
  std::uint8_t sign_bit = 0;
  bool consecutive = false;  ///< magnitudes are 0, 1, ..., count-1 (Fixed)
  static constexpr int small_count = 8;  ///< up to this many magnitudes: branch-free count

  explicit RoundingTable(const CodeBook& book) : sign_bit(book.sign_bit()) {
    for (int c = 0; c < book.code_count / 2; ++c) {
      const int m = book.level[static_cast<std::size_t>(c)];
      bool seen = false;
      for (int i = 0; i < count; ++i) seen = seen || magnitude[static_cast<std::size_t>(i)] == m;
      if (!seen) {
        magnitude[static_cast<std::size_t>(count)] = m;
        code[static_cast<std::size_t>(count)] = static_cast<std::uint8_t>(c);
        ++count;
      }
    }
    // Insertion sort by magnitude; canonical codes travel with their magnitudes.
    for (int i = 1; i < count; ++i)
      for (int j = i; j > 0 && magnitude[static_cast<std::size_t>(j - 1)] > magnitude[static_cast<std::size_t>(j)]; --j) {
        std::swap(magnitude[static_cast<std::size_t>(j - 1)], magnitude[static_cast<std::size_t>(j)]);
        std::swap(code[static_cast<std::size_t>(j - 1)], code[static_cast<std::size_t>(j)]);
      }
    for (int i = 0; i + 1 < count; ++i)
      midpoint[static_cast<std::size_t>(i)] =
          0.5 * (magnitude[static_cast<std::size_t>(i)] + magnitude[static_cast<std::size_t>(i + 1)]);
    for (int i = count - 1; i < static_cast<int>(midpoint.size()); ++i)
      midpoint[static_cast<std::size_t>(i)] = std::numeric_limits<double>::infinity();
    consecutive = true;
    for (int i = 0; i < count; ++i) consecutive = consecutive && magnitude[static_cast<std::size_t>(i)] == i;
  }

  /// Index into magnitude[] of the level nearest to |x| (ties to the larger one): the number
  /// of midpoints at or below |x|. Midpoints of small integers are exact in double, so the
  /// comparisons are exact too.
  int nearest_index(double abs_x) const {
    int i = 0;
    nearest_indices(std::span<const double>(&abs_x, 1), std::span<int>(&i, 1));
    return i;
  }

  /// nearest_index of many values. Rounding every weight of a layer for every candidate
  /// scheme makes this hot, so each case is a loop the compiler vectorises: small code books
  /// count midpoints, Fixed code books (levels 0..L) round directly, only the rest (none of
  /// the supported schemes today) binary-search.
  void nearest_indices(std::span<const double> abs_x, std::span<int> index) const {
    const std::size_t n = abs_x.size();
    if (count <= small_count) {
      for (std::size_t i = 0; i < n; ++i) index[i] = 0;
      for (int m = 0; m + 1 < count; ++m) {
        const double bound = midpoint[static_cast<std::size_t>(m)];
        for (std::size_t i = 0; i < n; ++i) index[i] += bound <= abs_x[i] ? 1 : 0;
      }
    } else if (consecutive) {
      const double last = count - 1;
      for (std::size_t i = 0; i < n; ++i) {
        const double a = abs_x[i] < last ? abs_x[i] : last;  // NaN and beyond the top: the top level
        const int whole = static_cast<int>(a);               // floor: a >= 0
        index[i] = whole + (a - whole >= 0.5 ? 1 : 0);       // a - whole is exact below 2^52
      }
    } else {
      for (std::size_t i = 0; i < n; ++i)
        index[i] = static_cast<int>(std::upper_bound(midpoint.begin(), midpoint.begin() + (count - 1), abs_x[i]) -
                                    midpoint.begin());
    }
  }

  std::uint8_t encode(double x) const {
    const int i = nearest_index(std::fabs(x));
    const std::uint8_t c = code[static_cast<std::size_t>(i)];
    return (x < 0 && magnitude[static_cast<std::size_t>(i)] != 0) ? static_cast<std::uint8_t>(c | sign_bit) : c;
  }
};

inline void require_finite_row(std::span<const float> weights, const std::string& where) {
  for (std::size_t k = 0; k < weights.size(); ++k)
    if (!std::isfinite(weights[k]))
      fail(where + ": weight at column " + std::to_string(k) + " is " + (std::isnan(weights[k]) ? "NaN" : "infinite") +
           "; quantization needs finite weights");
}

/// Row scale for a clipping point: clip / max_level rounded to float, nudged down if
/// scale * max_level would overflow float. 0 means "the row is zero" (caller maps it to 1).
inline float scale_for_clip(double clip, int max_level) {
  const float scale = static_cast<float>(clip / max_level);
  if (!(scale > 0.0f) || !std::isnormal(scale)) return 0.0f;
  if (static_cast<double>(scale) * max_level > std::numeric_limits<float>::max())
    return std::nextafter(scale, 0.0f);
  return scale;
}

inline double squared_error(const RoundingTable& table, const CodeBook& book, std::span<const float> weights,
                            float scale) {
  const double s = scale;
  double error = 0.0;
  for (float w : weights) {
    const std::uint8_t code = table.encode(static_cast<double>(w) / s);
    const double d = static_cast<double>(w) - s * book.level[code];
    error += d * d;
  }
  return error;
}

// The *_finite_* functions assume the caller has checked the weights (once, with the context
// for its error message) and share one RoundingTable between the scale search and the codes.

inline void encode_finite_row(const RoundingTable& table, std::span<const float> weights, float scale,
                              std::span<std::uint8_t> codes) {
  const double s = scale;
  for (std::size_t k = 0; k < weights.size(); ++k) codes[k] = table.encode(static_cast<double>(weights[k]) / s);
}

inline float choose_finite_row_scale(const CodeBook& book, const RoundingTable& table, std::span<const float> weights,
                                     ScaleMethod method) {
  if (method == ScaleMethod::min_hessian_error)
    fail("ScaleMethod::min_hessian_error needs the layer's Hessian: use quantize_layer "
         "(rmsmp/model/layer_quantizer.hpp) or choose_row_scale_weighted");
  double max_abs = 0.0;
  for (float w : weights) max_abs = std::max(max_abs, static_cast<double>(std::fabs(w)));
  const float max_abs_scale = scale_for_clip(max_abs, book.max_level);
  if (max_abs_scale == 0.0f) return 1.0f;
  if (method == ScaleMethod::max_abs) return max_abs_scale;

  float best_scale = max_abs_scale;
  double best_error = squared_error(table, book, weights, max_abs_scale);
  for (int i = 1; i < mse_clip_candidates; ++i) {
    const double clip = max_abs * (mse_clip_candidates - i) / mse_clip_candidates;
    const float scale = scale_for_clip(clip, book.max_level);
    if (scale == 0.0f) break;
    const double error = squared_error(table, book, weights, scale);
    if (error < best_error) {  // strict: ties keep the larger clip
      best_error = error;
      best_scale = scale;
    }
  }
  return best_scale;
}

inline float quantize_finite_row(const CodeBook& book, std::span<const float> weights, std::span<std::uint8_t> codes,
                                 ScaleMethod method) {
  require(codes.size() == weights.size(), "quantize_row: codes and weights differ in length");
  const RoundingTable table(book);
  const float scale = choose_finite_row_scale(book, table, weights, method);
  encode_finite_row(table, weights, scale, codes);
  return scale;
}

}  // namespace detail

/// Writes the code of every weight for a given row scale (the rounding rule above).
inline void encode_row(const CodeBook& book, std::span<const float> weights, float scale,
                       std::span<std::uint8_t> codes) {
  require(codes.size() == weights.size(), "encode_row: codes and weights differ in length");
  require(std::isfinite(scale) && scale > 0.0f, "encode_row: scale must be finite and positive");
  detail::require_finite_row(weights, "encode_row");
  detail::encode_finite_row(detail::RoundingTable(book), weights, scale, codes);
}

/// Chooses the row scale by `method`. Never returns 0, NaN or Inf (see the header comment).
inline float choose_row_scale(const CodeBook& book, std::span<const float> weights, ScaleMethod method) {
  detail::require_finite_row(weights, "choose_row_scale");
  return detail::choose_finite_row_scale(book, detail::RoundingTable(book), weights, method);
}

/// Quantizes one row: chooses the scale, writes the codes, returns the scale.
inline float quantize_row(const CodeBook& book, std::span<const float> weights, std::span<std::uint8_t> codes,
                          ScaleMethod method) {
  detail::require_finite_row(weights, "quantize_row");
  return detail::quantize_finite_row(book, weights, codes, method);
}

/// Compile-time-scheme spelling of the same: quantize_row<PoT<4>>(weights, codes, method).
template <Scheme S>
float quantize_row(std::span<const float> weights, std::span<std::uint8_t> codes,
                   ScaleMethod method = ScaleMethod::min_squared_error) {
  return quantize_row(S::codebook, weights, codes, method);
}

/// The weight a code stands for: scale * level, rounded once to float.
inline float dequantize_code(const CodeBook& book, float scale, std::uint8_t code) {
  return scale * static_cast<float>(book.level[code]);
}

}  // namespace rmsmp
