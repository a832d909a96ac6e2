// libFuzzer target: rmsmp::parse_npy (io/npy.hpp) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rmsmp/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rmsmp_fuzz::expect_parse_or_error([&] {
    const rmsmp::NdArray a = rmsmp::parse_npy({data, size}, "fuzz.npy");
    // What every caller relies on: the bytes are exactly the shape's elements.
    rmsmp_fuzz::check(a.bytes.size() == static_cast<std::size_t>(a.element_count()) * rmsmp::element_size(a.type));
  });
  return 0;
}
