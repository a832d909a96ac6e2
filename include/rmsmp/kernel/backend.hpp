// rmsmp/kernel/backend.hpp — the interface every backend (reference, CPU, RTL) shares, as a
// concept: code written against Backend runs on any of them and gets the same bits.
//
//   B::name                               "reference", "cpu", "rtl"
//   typename B::statistics                what a call reports: NoStatistics for the software
//                                         backends, rtl::RunStatistics for the RTL engine
//   b.gemm(weights, x, pipeline, y)       checks (check_gemm_arguments), then
//                                         y = pipeline(W x); returns B::statistics
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include "rmsmp/core/activations.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp {

/// The statistics of a backend that counts nothing: a gemm call on the CPU or the reference
/// kernel costs time, which the benchmarks measure, not cycles a model could predict.
struct NoStatistics {
  friend bool operator==(NoStatistics, NoStatistics) = default;
};

/// A backend: gemm on a mixed-row matrix of any mix, with uint8 or int8 activations, into int32
/// accumulators or through a requantizing pipeline. Checked on a dynamic mix and on the two
/// pipelines every model uses; a backend's gemm is a template, so these stand for the rest.
template <class B>
concept Backend =
    requires {
      { B::name } -> std::convertible_to<std::string_view>;
      typename B::statistics;
    } &&
    requires(const B& backend, const MixedRowMatrix<>& weights, const ActivationView<std::uint8_t>& u8,
             const ActivationView<std::int8_t>& s8, const OutputPipeline<>& raw,
             const OutputPipeline<BiasAdd, Requantize, SaturatingCast<std::uint8_t>>& requantize,
             const OutputView<std::int32_t>& acc, const OutputView<std::uint8_t>& codes) {
      { backend.gemm(weights, u8, raw, acc) } -> std::same_as<typename B::statistics>;
      { backend.gemm(weights, s8, raw, acc) } -> std::same_as<typename B::statistics>;
      { backend.gemm(weights, u8, requantize, codes) } -> std::same_as<typename B::statistics>;
    };

}  // namespace rmsmp
