// libFuzzer target: rmsmp::BinaryFileReader (io/binary_file.hpp), the checksummed container
// of named sections. Each input is opened as it is (the magic, size and checksum checks) and
// again with its size and checksums made right (fuzz_support.hpp), which the section walk
// behind the checksums needs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "rmsmp/io/binary_file.hpp"

namespace {

void open_every_section(std::vector<std::uint8_t> bytes) {
  // The format name and versions of tests/unit/binary_file_test.cpp's sample, which seeds
  // the corpus.
  const rmsmp::BinaryFileReader file(std::move(bytes), "fuzz.bin", "test-format", 3);
  for (const std::string& name : file.section_names()) {
    rmsmp::ByteReader section = file.section(name);
    (void)section.read_bytes(section.remaining());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  rmsmp_fuzz::expect_parse_or_error([&] { open_every_section(bytes); });
  const std::vector<std::uint8_t> fixed = rmsmp_fuzz::with_valid_checksums(bytes);
  if (fixed != bytes) rmsmp_fuzz::expect_parse_or_error([&] { open_every_section(fixed); });
  return 0;
}
