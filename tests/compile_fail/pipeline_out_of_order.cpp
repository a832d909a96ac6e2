// expect: in the order BiasAdd, Requantize
// Compile-must-fail: output stages out of the hardware's order.
#include "rmsmp/output/pipeline.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
using Good = OutputPipeline<BiasAdd, Clamp>; [[maybe_unused]] constexpr auto size = sizeof(Good);
#else
using Bad = OutputPipeline<Clamp, BiasAdd>; [[maybe_unused]] constexpr auto size = sizeof(Bad);
#endif

int main() { return 0; }
