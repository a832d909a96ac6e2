// expect: PoT<Bits>: Bits must be 2..4
// Compile-must-fail: PoT-5 (level 2^14 beyond int8).
#include "rmsmp/scheme/scheme.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr int bits = PoT<4>::bits;
#else
[[maybe_unused]] constexpr int bits = PoT<5>::bits;
#endif

int main() { return 0; }
