// expect: Fixed<Bits>: Bits must be 2..8
// Compile-must-fail: Fixed-9 (levels beyond int8).
#include "rmsmp/scheme/scheme.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr int bits = Fixed<8>::bits;
#else
[[maybe_unused]] constexpr int bits = Fixed<9>::bits;
#endif

int main() { return 0; }
