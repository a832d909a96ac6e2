// libFuzzer target: rmsmp::parse_array_file (io/array_file.hpp), the sniffer that sends
// bytes to the .npy or the IDX reader by their first byte.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rmsmp/io/array_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rmsmp_fuzz::expect_parse_or_error([&] {
    const rmsmp::NdArray a = rmsmp::parse_array_file({data, size}, "fuzz.array");
    rmsmp_fuzz::check(a.bytes.size() == static_cast<std::size_t>(a.element_count()) * rmsmp::element_size(a.type));
  });
  return 0;
}
