// expect: shares must add up to 100 percent
// Compile-must-fail: a mix whose shares add up to 90%.
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr auto count = RowMix<Share<PoT<4>, 60>, Share<Fixed<4>, 40>>::scheme_count;
#else
[[maybe_unused]] constexpr auto count = RowMix<Share<PoT<4>, 60>, Share<Fixed<4>, 30>>::scheme_count;
#endif

int main() { return 0; }
