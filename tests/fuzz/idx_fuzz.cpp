// libFuzzer target: rmsmp::parse_idx (io/idx.hpp) on arbitrary bytes, plain IDX or gzip
// (the corpus has both, so mutations of a gzip seed reach the decompressor).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rmsmp/io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rmsmp_fuzz::expect_parse_or_error([&] {
    const rmsmp::NdArray a = rmsmp::parse_idx({data, size}, "fuzz.idx");
    rmsmp_fuzz::check(a.bytes.size() == static_cast<std::size_t>(a.element_count()) * rmsmp::element_size(a.type));
  });
  return 0;
}
