// expect: this engine takes 4-bit activations
// Compile-must-fail: int8 activations on an engine built for 4-bit (uint8 0..15) activations.
#include <cstdint>

#include "rmsmp/kernel/rtl/backend.hpp"

using namespace rmsmp;

inline constexpr rtl::EngineParams four_bit{{6, 0, 4, 1}, 4, 4, 32, 64, 64, 64};

#ifdef RMSMP_COMPILE_FAIL_CONTROL
using Act = std::uint8_t;
#else
using Act = std::int8_t;
#endif

rtl::RunStatistics run(const rtl::RtlBackend<four_bit>& engine, const MixedRowMatrix<Mix60_35_5>& w,
                       const Activations<Act>& x, Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic>& y) {
  return engine.gemm(w, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(y));
}

int main() { return 0; }
