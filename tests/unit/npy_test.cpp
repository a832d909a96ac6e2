// The .npy reader and writer against files written by NumPy itself (tests/data/npy, made by
// make_fixtures.py there; the values are recomputed here from the same formulas), hand-made
// malformed headers, and thousands of damaged files.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "damaged_inputs.hpp"
#include "rmsmp/io/npy.hpp"

using namespace rmsmp;

namespace {

const std::filesystem::path fixtures = std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "npy";

std::vector<std::uint8_t> fixture_bytes(const std::string& name) {
  return detail::read_file_bytes(fixtures / name, "fixture");
}

// The fixture formulas of make_fixtures.py.
std::vector<float> f32_values() {
  std::vector<float> v;
  for (int i = 0; i < 24; ++i) v.push_back(static_cast<float>(i) * 0.25f - 2.0f);
  return v;
}
std::vector<std::uint8_t> u8_values() {
  std::vector<std::uint8_t> v;
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<std::uint8_t>(i * 7 % 256));
  return v;
}
std::vector<std::int8_t> i8_values() {
  std::vector<std::int8_t> v;
  for (int i = -128; i < 128; ++i) v.push_back(static_cast<std::int8_t>(i));
  return v;
}
std::vector<std::int32_t> i32_values() {
  std::vector<std::int32_t> v;
  for (int i = 0; i < 10; ++i) v.push_back(i - 3);
  return v;
}
std::vector<std::int64_t> i64_values() {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < 6; ++i) v.push_back((i - 2) * 1000000000000);
  return v;
}

// A .npy file with the given header text (padded like NumPy does) and data bytes.
std::vector<std::uint8_t> npy_with_header(std::string header, std::size_t data_bytes, int version = 1) {
  header += '\n';
  const std::size_t n = header.size();
  // Reserved at once: with the vector growing from its first 8 bytes, GCC 12 at
  // -march=icelake-server reports a false -Wstringop-overflow in the inserts below.
  std::vector<std::uint8_t> b;
  b.reserve(12 + n + data_bytes);
  b.insert(b.end(), {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(version), 0});
  b.push_back(static_cast<std::uint8_t>(n));
  b.push_back(static_cast<std::uint8_t>(n >> 8));
  if (version > 1) {
    b.push_back(static_cast<std::uint8_t>(n >> 16));
    b.push_back(static_cast<std::uint8_t>(n >> 24));
  }
  b.insert(b.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<std::uint8_t>(i));
  return b;
}

NdArray parse(const std::vector<std::uint8_t>& b) { return parse_npy(b, "test.npy"); }

}  // namespace

TEST_CASE("reads float32 files of every .npy version written by NumPy", "[npy]") {
  for (const char* name : {"f32_v1.npy", "f32_v2.npy", "f32_v3.npy"}) {
    INFO(name);
    const NdArray a = read_npy(fixtures / name);
    CHECK(a.type == ElementType::float32);
    CHECK(a.shape == std::vector<std::int64_t>{2, 3, 4});
    CHECK(a.values<float>() == f32_values());
  }
}

TEST_CASE("reads uint8, int8, int32, int64, scalar and empty files written by NumPy", "[npy]") {
  const NdArray u8 = read_npy(fixtures / "u8.npy");
  CHECK(u8.shape == std::vector<std::int64_t>{10, 10});
  CHECK(u8.values<std::uint8_t>() == u8_values());
  const NdArray i8 = read_npy(fixtures / "i8.npy");
  CHECK(i8.shape == std::vector<std::int64_t>{256});
  CHECK(i8.values<std::int8_t>() == i8_values());
  CHECK(read_npy(fixtures / "i32.npy").values<std::int32_t>() == i32_values());
  CHECK(read_npy(fixtures / "i64.npy").values<std::int64_t>() == i64_values());

  const NdArray scalar = read_npy(fixtures / "scalar.npy");
  CHECK(scalar.shape.empty());
  CHECK(scalar.element_count() == 1);
  CHECK(scalar.values<float>() == std::vector<float>{3.5f});

  const NdArray empty = read_npy(fixtures / "empty.npy");
  CHECK(empty.shape == std::vector<std::int64_t>{0, 5});
  CHECK(empty.values<float>().empty());

  CHECK_THROWS_WITH(u8.values<float>(), Catch::Contains("holds uint8 elements, not float32"));
}

TEST_CASE("the writer produces the same bytes as NumPy", "[npy]") {
  const NdArray f32 = NdArray::from_values<float>({2, 3, 4}, f32_values());
  CHECK(npy_bytes(f32) == fixture_bytes("f32_v1.npy"));
  CHECK(npy_bytes(f32, 2) == fixture_bytes("f32_v2.npy"));
  CHECK(npy_bytes(f32, 3) == fixture_bytes("f32_v3.npy"));
  CHECK(npy_bytes(NdArray::from_values<std::uint8_t>({10, 10}, u8_values())) == fixture_bytes("u8.npy"));
  CHECK(npy_bytes(NdArray::from_values<std::int8_t>({256}, i8_values())) == fixture_bytes("i8.npy"));
  CHECK(npy_bytes(NdArray::from_values<std::int32_t>({10}, i32_values())) == fixture_bytes("i32.npy"));
  CHECK(npy_bytes(NdArray::from_values<std::int64_t>({6}, i64_values())) == fixture_bytes("i64.npy"));
  CHECK(npy_bytes(NdArray::from_values<float>({}, std::vector<float>{3.5f})) == fixture_bytes("scalar.npy"));
  CHECK(npy_bytes(NdArray::from_values<float>({0, 5}, std::vector<float>{})) == fixture_bytes("empty.npy"));
}

TEST_CASE("write_npy and read_npy round-trip arrays of every type", "[npy]") {
  std::mt19937 rng(4);
  const auto path = std::filesystem::temp_directory_path() / "rmsmp_npy_test.npy";
  std::vector<float> f(3 * 5 * 7);
  for (float& x : f) x = std::normal_distribution<float>()(rng);
  const NdArray a = NdArray::from_values<float>({3, 5, 7}, f);
  write_npy(path, a);
  const NdArray b = read_npy(path);
  CHECK(b.shape == a.shape);
  CHECK(b.values<float>() == f);

  std::vector<std::int64_t> labels(1000);
  for (auto& x : labels) x = static_cast<std::int64_t>(rng()) - (1ll << 31);
  write_npy(path, NdArray::from_values<std::int64_t>({1000}, labels));
  CHECK(read_npy(path).values<std::int64_t>() == labels);
  std::filesystem::remove(path);

  CHECK_THROWS_AS(NdArray::from_values<float>({2, 2}, std::vector<float>{1.0f}), Error);
  CHECK_THROWS_AS(NdArray::from_values<float>({-1}, std::vector<float>{}), Error);
}

TEST_CASE("files NumPy writes but rmsmp does not read are rejected with the reason", "[npy]") {
  const auto message = [](const char* name) {
    try {
      read_npy(fixtures / name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK_THAT(message("f32_big_endian.npy"), Catch::Contains("f32_big_endian.npy: big-endian data ('>f4')"));
  CHECK_THAT(message("f32_fortran.npy"), Catch::Contains("f32_fortran.npy: Fortran-order arrays are not supported"));
  CHECK_THAT(message("f64.npy"), Catch::Contains("f64.npy: unsupported dtype '<f8'"));
  CHECK_THAT(message("bool.npy"), Catch::Contains("unsupported dtype '|b1'"));
  CHECK_THAT(message("structured.npy"), Catch::Contains("structured.npy: malformed header"));
  CHECK_THAT(message("does_not_exist.npy"), Catch::Contains("cannot open .npy file"));
}

TEST_CASE("the header parser accepts NumPy's dict in any spelling Python allows here", "[npy]") {
  const NdArray a = parse(npy_with_header("{\"shape\": (2,3) ,'fortran_order':False,\n 'descr':'<u1'}", 6));
  CHECK(a.type == ElementType::uint8);
  CHECK(a.shape == std::vector<std::int64_t>{2, 3});
  CHECK(parse(npy_with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (4,), }", 4, 2)).element_count() == 4);
  CHECK(parse(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, 3)).shape.empty());
}

TEST_CASE("malformed files are rejected with a message naming the problem", "[npy]") {
  const auto rejects = [](const std::vector<std::uint8_t>& b, const std::string& text) {
    INFO(text);
    CHECK_THROWS_WITH(parse(b), Catch::StartsWith("rmsmp: test.npy: ") && Catch::Contains(text));
  };
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK_NOTHROW(parse(npy_with_header(good, 24)));

  auto b = npy_with_header(good, 24);
  b[0] = 0x92;
  rejects(b, "not a .npy file (bad magic)");
  rejects({0x93, 'N', 'U'}, "bad magic");
  rejects({0x93, 'N', 'U', 'M', 'P', 'Y', 1}, "truncated .npy header");
  b = npy_with_header(good, 24);
  b[6] = 4;
  rejects(b, ".npy format version 4.0 is not supported");
  b = npy_with_header(good, 24);
  b[7] = 1;
  rejects(b, "version 1.1");
  b = npy_with_header(good, 24);
  b[9] = 0x7F;  // header length high byte
  rejects(b, "runs past the end of the file");
  rejects(npy_with_header(good, 23), "truncated: shape (2, 3) of float32 needs 24 data bytes, the file has 23");
  rejects(npy_with_header(good, 25), "1 bytes after the data");

  rejects(npy_with_header("{'descr': '<f4', 'shape': (2, 3), }", 24), "lacks 'fortran_order'");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, }", 24), "lacks 'shape'");
  rejects(npy_with_header("{'fortran_order': False, 'shape': (2, 3), }", 24), "lacks 'descr'");
  rejects(npy_with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24),
          "names 'descr' twice");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", 24),
          "unexpected key 'x'");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", 24), "written '(n,)'");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", 24), "negative dimension");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", 24), "True or False");
  rejects(npy_with_header("{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", 24), "malformed header");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", 24), "text after the closing");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", 24), "malformed header");
  rejects(npy_with_header("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (6,)}", 24), "unsupported character");
  rejects(npy_with_header("{'descr': '=f4', 'fortran_order': False, 'shape': (6,)}", 24), "unsupported dtype '=f4'");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 24),
          "absurdly large");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16)}", 24),
          "too large (its element or byte count overflows)");
  rejects(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536)}", 24),
          "truncated: shape (65536, 65536) of float32 needs 17179869184 data bytes");
  std::string many = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 33; ++i) many += "1, ";
  rejects(npy_with_header(many + ")}", 4), "more than 32 dimensions");
}

TEST_CASE("a shape whose non-zero dimensions overflow is refused even when it holds no element", "[npy]") {
  // The fuzzer found this in IDX files (tests/fuzz/corpus/array_file/crash-6128...); .npy shared
  // the check. A zero dimension makes the count 0 whatever comes before it, so the byte count
  // check passed, but NdArray::element_count() multiplies from the left in int64 and
  // overflowed on (2^62, 3, 0) before it reached the 0.
  const auto header = [](const std::string& shape) {
    return "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + "}";
  };
  CHECK_THROWS_WITH(parse(npy_with_header(header("(4611686018427387904, 3, 0)"), 0)),
                    Catch::Contains("test.npy: the shape (4611686018427387904, 3, 0) is too large"));
  CHECK_THROWS_WITH(parse(npy_with_header(header("(0, 4611686018427387904, 3)"), 0)), Catch::Contains("too large"));
  // Up to int64's range it is an empty array like any other.
  const NdArray empty = parse(npy_with_header(header("(4611686018427387904, 0)"), 0));
  CHECK(empty.element_count() == 0);
  CHECK(empty.bytes.empty());
}

TEST_CASE("damaged .npy files load or throw rmsmp::Error, never crash", "[npy][fuzz]") {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const std::string& name : rmsmp_test::npy_fuzz_seed_names()) seeds.push_back(fixture_bytes(name));

  int loaded = 0, rejected = 0;
  for (const auto& good : seeds) {
    CHECK_NOTHROW(parse(good));
    for (std::size_t n = 0; n < good.size(); ++n) {  // every truncation is incomplete
      INFO("truncated to " << n);
      CHECK_THROWS_AS(parse({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)}), Error);
    }
  }
  // Mutations aimed at the header (with characters its grammar uses) and anywhere in the file.
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 6000; ++trial) {
    const auto bad = rmsmp_test::damage_npy(seeds[static_cast<std::size_t>(trial) % seeds.size()], rng);
    try {
      const NdArray a = parse(bad);
      CHECK(a.bytes.size() == static_cast<std::size_t>(a.element_count()) * element_size(a.type));
      ++loaded;
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
  CHECK(loaded > 0);  // edits in the data or the header padding leave a valid file
}
