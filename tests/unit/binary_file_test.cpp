// The binary container: encodings checked against the byte layout written out by hand,
// checksums against a bit-by-bit CRC-32, and every truncation and bit flip rejected.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "damaged_inputs.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"

using namespace rmsmp;

namespace {

// CRC-32 the slow way, straight from the definition (reflected polynomial 0xEDB88320).
std::uint32_t bitwise_crc32(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
         std::uint32_t{b[at + 3]} << 24;
}
std::uint64_t le64(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint64_t{le32(b, at)} | std::uint64_t{le32(b, at + 4)} << 32;
}

using rmsmp_test::sample_container;

BinaryFileReader open_bytes(std::vector<std::uint8_t> bytes, std::uint32_t max_version = 3) {
  return BinaryFileReader(std::move(bytes), "sample.bin", "test-format", max_version);
}

}  // namespace

TEST_CASE("crc32 matches the published check value and a bitwise implementation", "[binary_file]") {
  const std::string check = "123456789";
  const std::vector<std::uint8_t> digits(check.begin(), check.end());
  CHECK(crc32(digits) == 0xCBF43926u);  // the standard CRC-32 check value
  CHECK(crc32(std::span<const std::uint8_t>{}) == 0u);

  std::mt19937 rng(7);
  for (int n : {1, 2, 3, 17, 256, 1000}) {
    std::vector<std::uint8_t> data(static_cast<std::size_t>(n));
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    CHECK(crc32(data) == bitwise_crc32(data));
    // Continuing a running checksum equals one pass over the concatenation.
    const std::size_t half = data.size() / 2;
    const std::span<const std::uint8_t> all(data);
    CHECK(crc32(all.subspan(half), crc32(all.first(half))) == crc32(data));
  }
}

TEST_CASE("ByteWriter writes little-endian IEEE-754 bytes", "[binary_file]") {
  ByteWriter w;
  w.write_u32(0x01020304u);
  w.write_i32(-2);
  w.write_f32(1.0f);   // 0x3F800000
  w.write_f64(-2.0);   // 0xC000000000000000
  w.write_u16(0xABCDu);
  w.write_string("ab");
  const std::vector<std::uint8_t> expected = {4, 3, 2, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x3F,
                                              0, 0, 0, 0, 0, 0, 0, 0xC0, 0xCD, 0xAB, 2, 0, 0, 0, 'a', 'b'};
  CHECK(std::vector<std::uint8_t>(w.bytes().begin(), w.bytes().end()) == expected);
}

TEST_CASE("ByteReader reads back every value bit for bit", "[binary_file]") {
  ByteWriter w;
  const float nan_payload = std::bit_cast<float>(0x7FC01234u);
  w.write_u8(255);
  w.write_u16(65535);
  w.write_u32(std::numeric_limits<std::uint32_t>::max());
  w.write_u64(std::numeric_limits<std::uint64_t>::max());
  w.write_i32(std::numeric_limits<std::int32_t>::min());
  w.write_i64(std::numeric_limits<std::int64_t>::min());
  w.write_f32(nan_payload);
  w.write_f32(-0.0f);
  w.write_f64(std::numeric_limits<double>::denorm_min());
  w.write_string("");
  w.write_string("name with spaces");
  w.write_f32_array(std::vector<float>{3.25f, -1e-40f});
  w.write_i32_array(std::vector<std::int32_t>{-7, 9});

  ByteReader r(w.bytes(), "test");
  CHECK(r.read_u8() == 255);
  CHECK(r.read_u16() == 65535);
  CHECK(r.read_u32() == std::numeric_limits<std::uint32_t>::max());
  CHECK(r.read_u64() == std::numeric_limits<std::uint64_t>::max());
  CHECK(r.read_i32() == std::numeric_limits<std::int32_t>::min());
  CHECK(r.read_i64() == std::numeric_limits<std::int64_t>::min());
  CHECK(std::bit_cast<std::uint32_t>(r.read_f32()) == 0x7FC01234u);
  CHECK(std::bit_cast<std::uint32_t>(r.read_f32()) == 0x80000000u);
  CHECK(r.read_f64() == std::numeric_limits<double>::denorm_min());
  CHECK(r.read_string().empty());
  CHECK(r.read_string() == "name with spaces");
  CHECK(r.read_f32_array() == std::vector<float>{3.25f, -1e-40f});
  CHECK(r.read_i32_array() == std::vector<std::int32_t>{-7, 9});
  CHECK(r.at_end());
  CHECK_NOTHROW(r.expect_end());
  CHECK_THROWS_WITH(r.read_u8(), Catch::Contains("test: truncated"));
}

TEST_CASE("ByteReader refuses counts and strings longer than the data", "[binary_file]") {
  ByteWriter w;
  w.write_u64(std::numeric_limits<std::uint64_t>::max());
  w.write_u32(0);
  ByteReader counts(w.bytes(), "ctx");
  CHECK_THROWS_WITH(counts.read_f32_array(), Catch::Contains("ctx: count"));

  ByteWriter s;
  s.write_u32(1000);
  s.write_u8('x');
  ByteReader strings(s.bytes(), "ctx");
  CHECK_THROWS_AS(strings.read_string(), Error);

  ByteWriter extra;
  extra.write_u32(1);
  ByteReader trailing(extra.bytes(), "ctx");
  trailing.read_u16();
  CHECK_THROWS_WITH(trailing.expect_end(), Catch::Contains("2 unexpected bytes"));
}

TEST_CASE("container header and sections follow the documented layout", "[binary_file]") {
  const std::vector<std::uint8_t> b = sample_container();
  const std::vector<std::uint8_t> magic = {0x89, 'R', 'M', 'S', 'M', 'P', '\r', '\n'};
  CHECK(std::vector<std::uint8_t>(b.begin(), b.begin() + 8) == magic);
  CHECK(le32(b, 8) == 1);   // container version
  CHECK(le32(b, 12) == 3);  // format version
  CHECK(std::string(b.begin() + 16, b.begin() + 27) == "test-format");
  for (std::size_t i = 27; i < 32; ++i) CHECK(b[i] == 0);
  CHECK(le64(b, 32) == b.size());
  CHECK(le32(b, 40) == 3);  // sections
  CHECK(le32(b, 44) == bitwise_crc32({b.begin(), b.begin() + 44}));

  // First section: u32 name length, name, u64 payload length, payload, CRC of all of it.
  std::size_t at = 48;
  CHECK(le32(b, at) == 5);
  CHECK(std::string(b.begin() + 52, b.begin() + 57) == "alpha");
  const std::uint64_t payload = le64(b, 57);
  CHECK(payload == 4 + 4 + 5 + 8 + 3 * 4);
  CHECK(le32(b, 65) == 0xDEADBEEFu);
  const std::size_t end = 65 + payload;
  CHECK(le32(b, end) == bitwise_crc32({b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(end)}));
}

TEST_CASE("container round-trips its sections", "[binary_file]") {
  const auto path = std::filesystem::temp_directory_path() / "rmsmp_binary_file_test.bin";
  {
    BinaryFileWriter w("test-format", 2);
    w.add_section("b").write_i64(-42);
    w.add_section("a").write_string("payload");
    w.save(path);
  }
  const BinaryFileReader r = BinaryFileReader::open(path, "test-format", 3);
  std::filesystem::remove(path);
  CHECK(r.format_version() == 2);
  CHECK(r.section_names() == std::vector<std::string>{"b", "a"});
  CHECK(r.has_section("a"));
  CHECK_FALSE(r.has_section("c"));
  ByteReader b = r.section("b");
  CHECK(b.read_i64() == -42);
  CHECK(b.at_end());
  ByteReader a = r.section("a");
  CHECK(a.read_string() == "payload");
  CHECK_THROWS_WITH(r.section("c"), Catch::Contains("has no section 'c'"));
  CHECK_THROWS_WITH(a.read_u8(), Catch::Contains("section 'a': truncated"));
}

TEST_CASE("container writer refuses bad names", "[binary_file]") {
  CHECK_THROWS_AS(BinaryFileWriter("", 1), Error);
  CHECK_THROWS_AS(BinaryFileWriter("a-format-name-longer-than-16", 1), Error);
  CHECK_THROWS_AS(BinaryFileWriter("with space", 1), Error);
  BinaryFileWriter w("f", 1);
  w.add_section("x");
  CHECK_THROWS_WITH(w.add_section("x"), Catch::Contains("added twice"));
  CHECK_THROWS_AS(w.add_section(""), Error);
  CHECK_THROWS_AS(w.add_section(std::string(256, 'n')), Error);
}

TEST_CASE("container reader rejects foreign, newer and damaged files with a clear message", "[binary_file]") {
  const std::vector<std::uint8_t> good = sample_container();
  CHECK_NOTHROW(open_bytes(good));

  auto bad = good;
  bad[1] = 'X';
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("sample.bin: not an rmsmp binary file (bad magic)"));
  CHECK_THROWS_WITH(open_bytes({}), Catch::Contains("bad magic"));

  bad = good;
  bad[8] = 2;
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("container version 2 is not supported"));

  CHECK_THROWS_WITH(open_bytes(good, 2), Catch::Contains("'test-format' version 3 is not supported (this build reads 1 to 2)"));
  CHECK_THROWS_WITH(BinaryFileReader(good, "sample.bin", "other-format", 9),
                    Catch::Contains("is a 'test-format' file, expected 'other-format'"));

  bad = good;
  bad[40] ^= 1;  // section count, covered by the header checksum
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("header is corrupted"));

  bad = good;
  bad.push_back(0);
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("1 bytes after its declared end"));
  bad = good;
  bad.pop_back();
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("truncated"));

  bad = good;
  bad[70] ^= 0x10;  // inside the first payload
  CHECK_THROWS_WITH(open_bytes(bad), Catch::Contains("section 'alpha' is corrupted (checksum mismatch)"));

  CHECK_THROWS_WITH(BinaryFileReader::open("/nonexistent/dir/x.bin", "test-format", 1), Catch::Contains("cannot open"));
}

TEST_CASE("container reader rejects a repeated section name", "[binary_file]") {
  BinaryFileWriter w("test-format", 1);
  w.add_section("aa").write_u8(1);
  w.add_section("ab").write_u8(2);
  std::vector<std::uint8_t> b = w.bytes();
  // Rename the second section to "aa" and repair its checksum: only the name check can object.
  const std::size_t second = 48 + 4 + 2 + 8 + 1 + 4;
  b[second + 5] = 'a';
  const std::uint32_t crc = bitwise_crc32({b.begin() + static_cast<std::ptrdiff_t>(second), b.end() - 4});
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
  CHECK_THROWS_WITH(BinaryFileReader(b, "dup.bin", "test-format", 1), Catch::Contains("section 'aa' appears twice"));
}

TEST_CASE("container reader rejects every truncation and every single bit flip", "[binary_file][fuzz]") {
  const std::vector<std::uint8_t> good = sample_container();
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    CHECK_THROWS_AS(open_bytes({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)}), Error);
  }
  // CRC-32 detects every single-bit error; the size fields and magic catch the rest.
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    INFO("bit " << bit << " flipped");
    CHECK_THROWS_AS(open_bytes(std::move(bad)), Error);
  }
}

TEST_CASE("container reader survives random damage", "[binary_file][fuzz]") {
  const std::vector<std::uint8_t> good = sample_container();
  std::mt19937 rng(12345);
  int rejected = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    const auto bad = rmsmp_test::damage_container(good, rng);
    try {
      const BinaryFileReader r = open_bytes(bad);
      for (const std::string& name : r.section_names()) (void)r.section(name).remaining();
    } catch (const Error&) {
      ++rejected;
    }
  }
  // A random edit that happens to write the byte already there leaves a valid file.
  CHECK(rejected > 4000);
}

TEST_CASE("files larger than max_file_bytes are refused before they are read", "[binary_file]") {
  // A sparse file: its size is what the readers see, without using that much disk or memory.
  const auto path = std::filesystem::temp_directory_path() / ("rmsmp_huge_" + std::to_string(::getpid()) + ".npy");
  {
    std::ofstream create(path, std::ios::binary);
  }
  std::filesystem::resize_file(path, detail::max_file_bytes + 1);
  REQUIRE_THROWS_WITH(read_npy(path), Catch::Contains("4294967297 bytes, more than the 4294967296 rmsmp reads"));
  REQUIRE_THROWS_WITH(load_quantized_model(path), Catch::Contains("more than the 4294967296 rmsmp reads"));
  std::filesystem::resize_file(path, 16);  // just below the cap: read, and refused for its content
  REQUIRE_THROWS_WITH(read_npy(path), !Catch::Contains("rmsmp reads"));
  std::filesystem::remove(path);
}
