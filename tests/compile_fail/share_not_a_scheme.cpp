// expect: S must be a scheme type
// Compile-must-fail: a share of something that is not a scheme.
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr int percent = Share<SP2<4>, 100>::percent;
#else
[[maybe_unused]] constexpr int percent = Share<int, 100>::percent;
#endif

int main() { return 0; }
