// libFuzzer target: rmsmp::read_mixed_row_matrix (io/serialize.hpp) straight on a payload,
// with no container and no checksum in front, as tests/unit/serialize_test.cpp's [fuzz] case
// does: the matrix reader's own checks must hold on their own.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rmsmp/io/serialize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rmsmp_fuzz::expect_parse_or_error([&] {
    rmsmp::ByteReader in({data, size}, "fuzz.matrix");
    const rmsmp::MixedRowMatrix<> m = rmsmp::read_mixed_row_matrix(in);
    rmsmp_fuzz::check(m.rows() >= 0 && m.cols() >= 1);
  });
  return 0;
}
