// The Backend concept (rmsmp/kernel/backend.hpp) holds for every backend and rejects what is
// not one, checked by static_assert alone: this file only has to compile.
#include <cstdint>
#include <string_view>

#include "rmsmp/rmsmp.hpp"

namespace {

using namespace rmsmp;

// The three backends, on every CPU architecture and two RTL engine configurations.
static_assert(Backend<ReferenceBackend>);
static_assert(Backend<CpuBackend<>>);
static_assert(Backend<CpuBackend<cpu::generic>>);
static_assert(Backend<CpuBackend<cpu::avx2>>);
static_assert(Backend<CpuBackend<cpu::avx512_vnni>>);
constexpr rtl::EngineParams mixed_engine{.lanes = {2, 2, 2, 2}};
constexpr rtl::EngineParams four_bit_engine{.lanes = {0, 4, 0, 0}, .act_bits = 4};
static_assert(Backend<rtl::RtlBackend<mixed_engine>>);
static_assert(Backend<rtl::RtlBackend<four_bit_engine>>);

// One return type per backend: nothing for software, cycle counts for the engine.
static_assert(std::same_as<ReferenceBackend::statistics, NoStatistics>);
static_assert(std::same_as<CpuBackend<>::statistics, NoStatistics>);
static_assert(std::same_as<rtl::RtlBackend<mixed_engine>::statistics, rtl::RunStatistics>);

// What is not a backend.
struct NoName {
  using statistics = NoStatistics;
  template <class Mix, ActivationValue T, class Pipeline>
  NoStatistics gemm(const MixedRowMatrix<Mix>&, const ActivationView<T>&, const Pipeline&,
                    const OutputView<typename Pipeline::output_type>&) const {
    return {};
  }
};
struct WrongReturnType {
  static constexpr std::string_view name = "void";
  using statistics = NoStatistics;
  template <class Mix, ActivationValue T, class Pipeline>
  void gemm(const MixedRowMatrix<Mix>&, const ActivationView<T>&, const Pipeline&,
            const OutputView<typename Pipeline::output_type>&) const {}
};
struct Uint8Only {
  static constexpr std::string_view name = "uint8 only";
  using statistics = NoStatistics;
  template <class Mix, class Pipeline>
  NoStatistics gemm(const MixedRowMatrix<Mix>&, const ActivationView<std::uint8_t>&, const Pipeline&,
                    const OutputView<typename Pipeline::output_type>&) const {
    return {};
  }
};
static_assert(!Backend<NoName>);
static_assert(!Backend<WrongReturnType>);
static_assert(!Backend<Uint8Only>);
static_assert(!Backend<int>);

// The executor takes any backend and only backends.
static_assert(requires { typename ModelExecutor<ReferenceBackend>; });
static_assert(requires { typename ModelExecutor<CpuBackend<>>; });
template <class B>
concept Executable = requires { typename ModelExecutor<B>; };
static_assert(!Executable<WrongReturnType>);

}  // namespace
