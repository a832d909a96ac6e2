// libFuzzer target: rmsmp::parse_quantized_model (io/quantized_model_file.hpp), which reads
// the container, every field of every section (io/serialize.hpp) and validates the model.
// Each input is parsed as it is and again with its size and checksums made right
// (fuzz_support.hpp): without that, mutations would almost never get past the CRCs.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "rmsmp/io/quantized_model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  rmsmp_fuzz::expect_parse_or_error([&] { (void)rmsmp::parse_quantized_model(bytes, "fuzz.rmsmp"); });
  std::vector<std::uint8_t> fixed = rmsmp_fuzz::with_valid_checksums(bytes);
  if (fixed != bytes)
    rmsmp_fuzz::expect_parse_or_error([&] { (void)rmsmp::parse_quantized_model(std::move(fixed), "fuzz.rmsmp"); });
  return 0;
}
