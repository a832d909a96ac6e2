// expect: the row mix uses a scheme this engine has no lanes for
// Compile-must-fail: a static SP2 mix on an engine configuration without SP2 lanes.
#include <cstdint>

#include "rmsmp/kernel/rtl/backend.hpp"

using namespace rmsmp;

inline constexpr rtl::EngineParams no_sp2_lanes{{6, 0, 4, 1}, 4, 8, 32, 64, 64, 64};

#ifdef RMSMP_COMPILE_FAIL_CONTROL
using Mix = Mix60_35_5;
#else
using Mix = RowMix<Share<SP2<4>, 60>, Share<Fixed<4>, 40>>;
#endif

rtl::RunStatistics run(const rtl::RtlBackend<no_sp2_lanes>& engine, const MixedRowMatrix<Mix>& w,
                       const Activations<std::uint8_t>& x, Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic>& y) {
  return engine.gemm(w, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(y));
}

int main() { return 0; }
