// libFuzzer target: rmsmp::parse_row_mix (scheme/row_mix.hpp), the row-mix text the CLI's
// --mix option and model files carry. An accepted mix must print back to text that parses
// to the same mix.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "rmsmp/scheme/row_mix.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rmsmp_fuzz::expect_parse_or_error([&] {
    const rmsmp::DynamicRowMix mix = rmsmp::parse_row_mix(text);
    const rmsmp::DynamicRowMix again = rmsmp::parse_row_mix(rmsmp::to_string(mix));
    rmsmp_fuzz::check(rmsmp::to_string(again) == rmsmp::to_string(mix));
  });
  return 0;
}
