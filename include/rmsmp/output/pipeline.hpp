// rmsmp/output/pipeline.hpp — what happens to each int32 accumulator after the dot product.
//
// A pipeline is a short list of small stage types, applied in order to the accumulator of
// output (row, sample). The order is fixed because the hardware implements exactly this chain
// (any stage may be left out):
//   BiasAdd -> Requantize -> Clamp -> SaturatingCast<int8_t|uint8_t>   (integer output)
//   BiasAdd -> Clamp -> ToFloat                                        (float output)
// Per-row parameters are indexed by the layer's original row. See docs/integer-contract.md.
#pragma once

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp {

/// Adds a per-row int32 bias (in accumulator units: bias_real / (row_scale * input_scale)).
struct BiasAdd {
  std::vector<std::int32_t> bias;

  std::int32_t apply(std::int32_t acc, int row) const {
    // The kernel's depth check counts |bias| into the accumulator bound, so this cannot wrap.
    return static_cast<std::int32_t>(static_cast<std::int64_t>(acc) + bias[static_cast<std::size_t>(row)]);
  }
  void check(int rows) const {
    require(bias.size() == static_cast<std::size_t>(rows), [&] {
      return "BiasAdd: " + std::to_string(bias.size()) + " biases for " + std::to_string(rows) + " rows";
    });
  }
};

/// Per-row fixed-point rescaling to the output's scale, then the output zero point; the
/// result saturates to int32.
struct Requantize {
  std::vector<FixedPointMultiplier> multipliers;
  std::int32_t output_zero_point = 0;

  std::int32_t apply(std::int32_t acc, int row) const {
    const std::int64_t v = multipliers[static_cast<std::size_t>(row)].apply(acc) + output_zero_point;
    constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
    constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
    return static_cast<std::int32_t>(v < lo ? lo : v > hi ? hi : v);
  }
  void check(int rows) const {
    require(multipliers.size() == static_cast<std::size_t>(rows), [&] {
      return "Requantize: " + std::to_string(multipliers.size()) + " multipliers for " + std::to_string(rows) + " rows";
    });
    for (const auto& m : multipliers)
      require(m.multiplier >= 0 && m.shift >= 0 && m.shift <= FixedPointMultiplier::max_shift,
                      "Requantize: multiplier out of range (multiplier in [0, 2^31), shift in [0, 62])");
  }
};

/// Clamps to [lo, hi]; with lo = the output zero point this is ReLU.
struct Clamp {
  std::int32_t lo = std::numeric_limits<std::int32_t>::min();
  std::int32_t hi = std::numeric_limits<std::int32_t>::max();

  std::int32_t apply(std::int32_t v, int) const { return v < lo ? lo : v > hi ? hi : v; }
  void check(int) const {
    require(lo <= hi, [&] { return "Clamp: lo " + std::to_string(lo) + " is above hi " + std::to_string(hi); });
  }
};

/// Saturates to the range of T (int8 or uint8) and narrows.
template <ActivationValue T>
struct SaturatingCast {
  using output_type = T;
  T apply(std::int32_t v, int) const {
    constexpr std::int32_t lo = std::numeric_limits<T>::min();
    constexpr std::int32_t hi = std::numeric_limits<T>::max();
    return static_cast<T>(v < lo ? lo : v > hi ? hi : v);
  }
  void check(int) const {}
};

/// Float output: float(acc) * scale[row], where scale[row] = row_scale * input_scale rounded
/// once to float. float(acc) is exact for |acc| < 2^24 and rounds to nearest-even above.
struct ToFloat {
  using output_type = float;
  std::vector<float> scale;

  float apply(std::int32_t v, int row) const { return static_cast<float>(v) * scale[static_cast<std::size_t>(row)]; }
  void check(int rows) const {
    require(scale.size() == static_cast<std::size_t>(rows), [&] {
      return "ToFloat: " + std::to_string(scale.size()) + " scales for " + std::to_string(rows) + " rows";
    });
  }
};

namespace detail {

// Position of each stage type in the fixed chain; the pipeline checks they ascend.
template <class S>
inline constexpr int stage_rank = -1;
template <>
inline constexpr int stage_rank<BiasAdd> = 0;
template <>
inline constexpr int stage_rank<Requantize> = 1;
template <>
inline constexpr int stage_rank<Clamp> = 2;
template <class T>
inline constexpr int stage_rank<SaturatingCast<T>> = 3;
template <>
inline constexpr int stage_rank<ToFloat> = 3;

template <class... S>
constexpr bool strictly_ascending() {
  constexpr int ranks[] = {stage_rank<S>..., 4};
  for (std::size_t i = 0; i + 1 < sizeof(ranks) / sizeof(int); ++i)
    if (ranks[i] >= ranks[i + 1]) return false;
  return true;
}

template <class... S>
struct last_output {
  using type = std::int32_t;
};
template <class First, class... Rest>
struct last_output<First, Rest...> {
  using type = typename last_output<Rest...>::type;
};
template <class Last>
  requires requires { typename Last::output_type; }
struct last_output<Last> {
  using type = typename Last::output_type;
};

}  // namespace detail

/// The chain of stages for one GEMM call. OutputPipeline<> passes raw int32 accumulators.
template <class... Stages>
class OutputPipeline {
  static_assert(((detail::stage_rank<Stages> >= 0) && ...),
                "rmsmp::OutputPipeline: stages must be BiasAdd, Requantize, Clamp, SaturatingCast<T> or ToFloat");
  static_assert(detail::strictly_ascending<Stages...>(),
                "rmsmp::OutputPipeline: stages must appear at most once each, in the order BiasAdd, Requantize, "
                "Clamp, then SaturatingCast<T> or ToFloat last");
  static_assert(!((std::is_same_v<Stages, Requantize> || ...) && (std::is_same_v<Stages, ToFloat> || ...)),
                "rmsmp::OutputPipeline: ToFloat converts the accumulator itself; it cannot follow Requantize");

 public:
  using output_type = typename detail::last_output<Stages...>::type;

  explicit OutputPipeline(Stages... stages) : stages_(std::move(stages)...) {}

  /// Throws unless every per-row parameter vector has `rows` entries and values are in range.
  void check(int rows) const {
    std::apply([rows](const auto&... s) { (s.check(rows), ...); }, stages_);
  }

  /// Largest |bias| of a row: it adds to the accumulator bound.
  std::int64_t bias_bound(int row) const {
    if constexpr ((std::is_same_v<Stages, BiasAdd> || ...)) {
      const std::int64_t b = std::get<BiasAdd>(stages_).bias[static_cast<std::size_t>(row)];
      return b < 0 ? -b : b;
    } else {
      return 0;
    }
  }

  output_type apply(std::int32_t acc, int row) const {
    return std::apply([&](const auto&... s) { return run(acc, row, s...); }, stages_);
  }

  template <class S>
  static constexpr bool has_stage = (std::is_same_v<S, Stages> || ...);

  template <class S>
    requires has_stage<S>
  const S& stage() const {
    return std::get<S>(stages_);
  }

 private:
  template <class V>
  static auto run(V v, int) {
    return v;
  }
  template <class V, class S, class... Rest>
  static auto run(V v, int row, const S& s, const Rest&... rest) {
    return run(s.apply(v, row), row, rest...);
  }

  std::tuple<Stages...> stages_;
};

template <class... Stages>
OutputPipeline(Stages...) -> OutputPipeline<Stages...>;

// ----- Building stages from real-valued scales --------------------------------------------

/// multiplier[row] = row_scale[row] * input_scale / output_scale.
inline Requantize requantize_from_scales(std::span<const float> row_scales, float input_scale, float output_scale,
                                         std::int32_t output_zero_point) {
  require(std::isfinite(output_scale) && output_scale > 0.0f, "requantize: output scale must be finite and positive");
  Requantize r{{}, output_zero_point};
  r.multipliers.reserve(row_scales.size());
  for (float s : row_scales)
    r.multipliers.push_back(FixedPointMultiplier::from_real(static_cast<double>(s) * input_scale / output_scale));
  return r;
}

/// The largest |bias| in accumulator units: half of int32, so that the bias leaves the other
/// half to the products (check_gemm_arguments bounds K with it).
inline constexpr double max_bias_units = 1073741823.0;

/// bias_int[row] = round_half_away(bias[row] / (row_scale[row] * input_scale)); throws when a
/// bias exceeds max_bias_units (a row with tiny weights and a large bias; quantize_model widens
/// such a row's scale first).
inline BiasAdd bias_from_real(std::span<const float> bias, std::span<const float> row_scales, float input_scale) {
  require(bias.size() == row_scales.size(), "bias: one bias per row is needed");
  BiasAdd b;
  b.bias.reserve(bias.size());
  for (std::size_t r = 0; r < bias.size(); ++r) {
    require(std::isfinite(bias[r]), "bias of row " + std::to_string(r) + " is not finite");
    const double q = std::round(static_cast<double>(bias[r]) / (static_cast<double>(row_scales[r]) * input_scale));
    require(std::abs(q) <= max_bias_units,
                    "bias of row " + std::to_string(r) + " is " + std::to_string(q) +
                        " accumulator units, beyond the +-2^30 rmsmp allows (row scale too small for this bias?)");
    b.bias.push_back(static_cast<std::int32_t>(q));
  }
  return b;
}

/// scale[row] = row_scale[row] * input_scale, rounded once to float.
inline ToFloat to_float_from_scales(std::span<const float> row_scales, float input_scale) {
  ToFloat t;
  t.scale.reserve(row_scales.size());
  for (float s : row_scales) t.scale.push_back(s * input_scale);
  return t;
}

/// ReLU for a quantized output: clamp below at its zero point, above at T's maximum.
template <ActivationValue T>
Clamp relu_for(std::int32_t output_zero_point) {
  return Clamp{output_zero_point, std::numeric_limits<T>::max()};
}

}  // namespace rmsmp
