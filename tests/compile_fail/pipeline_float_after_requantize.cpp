// expect: cannot follow Requantize
// Compile-must-fail: float output of an already requantized value.
#include "rmsmp/output/pipeline.hpp"

using namespace rmsmp;

#ifdef RMSMP_COMPILE_FAIL_CONTROL
using Good = OutputPipeline<BiasAdd, ToFloat>; [[maybe_unused]] constexpr auto size = sizeof(Good);
#else
using Bad = OutputPipeline<Requantize, ToFloat>; [[maybe_unused]] constexpr auto size = sizeof(Bad);
#endif

int main() { return 0; }
