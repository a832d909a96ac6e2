// expect: ActivationValue
// Compile-must-fail: float activations where int8/uint8 codes are needed.
#include "rmsmp/core/activations.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
[[maybe_unused]] constexpr int lowest = activation_min<std::uint8_t>(8);
#else
[[maybe_unused]] constexpr int lowest = activation_min<float>(8);
#endif

int main() { return 0; }
