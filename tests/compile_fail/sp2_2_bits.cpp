// expect: SP2<Bits>: Bits must be 3..5
// Compile-must-fail: SP2-2 (no room for two terms).
#include "rmsmp/scheme/scheme.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr int bits = SP2<3>::bits;
#else
[[maybe_unused]] constexpr int bits = SP2<2>::bits;
#endif

int main() { return 0; }
