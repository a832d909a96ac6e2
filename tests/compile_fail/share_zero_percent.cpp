// expect: Percent must be 1..100
// Compile-must-fail: a share of 0%.
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr auto count = RowMix<Share<PoT<4>, 99>, Share<Fixed<8>, 1>>::scheme_count;
#else
[[maybe_unused]] constexpr auto count = RowMix<Share<PoT<4>, 100>, Share<Fixed<8>, 0>>::scheme_count;
#endif

int main() { return 0; }
