// expect: may appear only once
// Compile-must-fail: the same scheme twice in a mix.
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr auto count = RowMix<Share<Fixed<4>, 50>, Share<Fixed<8>, 50>>::scheme_count;
#else
[[maybe_unused]] constexpr auto count = RowMix<Share<Fixed<4>, 50>, Share<Fixed<4>, 50>>::scheme_count;
#endif

int main() { return 0; }
