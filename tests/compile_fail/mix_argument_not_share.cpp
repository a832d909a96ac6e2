// expect: every argument must be rmsmp::Share
// Compile-must-fail: a bare scheme where a Share belongs.
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr auto count = RowMix<Share<Fixed<4>, 100>>::scheme_count;
#else
[[maybe_unused]] constexpr auto count = RowMix<Share<Fixed<4>, 100>, Fixed<8>>::scheme_count;
#endif

int main() { return 0; }
