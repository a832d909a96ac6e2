// The IDX reader: hand-built files (the format written out byte by byte), gzip made here with
// zlib's deflate, Debian's Fashion-MNIST files checked against published facts and against
// zlib's own gzread, and thousands of damaged files.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "idx_fixtures.hpp"
#include "rmsmp/io/array_file.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/io/npy.hpp"

using namespace rmsmp;

namespace {

using rmsmp_test::gzip;
using rmsmp_test::idx_file;
using rmsmp_test::pixels;

NdArray parse(const std::vector<std::uint8_t>& b) { return parse_idx(b, "test.idx"); }

const std::filesystem::path fashion_mnist = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_CASE("reads uint8, int8, int32 and float32 IDX files", "[idx]") {
  const std::vector<std::uint8_t> img = pixels(3 * 4 * 5);
  const NdArray u8 = parse(idx_file(0x08, {3, 4, 5}, img));
  CHECK(u8.type == ElementType::uint8);
  CHECK(u8.shape == std::vector<std::int64_t>{3, 4, 5});
  CHECK(u8.values<std::uint8_t>() == img);

  const NdArray i8 = parse(idx_file(0x09, {2}, {0x80, 0x7F}));
  CHECK(i8.values<std::int8_t>() == std::vector<std::int8_t>{-128, 127});

  // Big-endian elements: 0x01020304 and -2; 1.0f is 0x3F800000, -0.5f is 0xBF000000.
  const NdArray i32 = parse(idx_file(0x0C, {2}, {1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE}));
  CHECK(i32.values<std::int32_t>() == std::vector<std::int32_t>{0x01020304, -2});
  const NdArray f32 = parse(idx_file(0x0D, {1, 2}, {0x3F, 0x80, 0, 0, 0xBF, 0, 0, 0}));
  CHECK(f32.values<float>() == std::vector<float>{1.0f, -0.5f});

  CHECK(parse(idx_file(0x08, {0, 28}, {})).element_count() == 0);
}

TEST_CASE("gzip-compressed IDX gives the same array as the plain file", "[idx]") {
  const std::vector<std::uint8_t> plain = idx_file(0x08, {7, 28, 28}, pixels(7 * 28 * 28));
  const NdArray a = parse(plain);
  const NdArray b = parse(gzip(plain));
  CHECK(b.shape == a.shape);
  CHECK(b.bytes == a.bytes);

  // Two gzip members one after the other decompress to their concatenation (as gzip -d).
  const std::vector<std::uint8_t> head(plain.begin(), plain.begin() + 100);
  const std::vector<std::uint8_t> tail(plain.begin() + 100, plain.end());
  std::vector<std::uint8_t> two = gzip(head);
  const std::vector<std::uint8_t> second = gzip(tail);
  two.insert(two.end(), second.begin(), second.end());
  CHECK(parse(two).bytes == a.bytes);

  const auto path = std::filesystem::temp_directory_path() / "rmsmp_idx_test.idx.gz";
  detail::write_file_bytes(path, gzip(plain), "test file");
  CHECK(read_idx(path).bytes == a.bytes);
  std::filesystem::remove(path);
}

TEST_CASE("malformed IDX files are rejected with a message naming the problem", "[idx]") {
  const auto rejects = [](const std::vector<std::uint8_t>& b, const std::string& text) {
    INFO(text);
    CHECK_THROWS_WITH(parse(b), Catch::StartsWith("rmsmp: test.idx") && Catch::Contains(text));
  };
  rejects({}, "not an IDX file (bad magic)");
  rejects({0, 1, 8, 1, 0, 0, 0, 0}, "bad magic");
  rejects(idx_file(0x0B, {2}, {0, 1, 0, 2}), "unsupported IDX element type 0x0B");
  rejects(idx_file(0x0E, {1}, std::vector<std::uint8_t>(8)), "unsupported IDX element type 0x0E");
  rejects(idx_file(0x08, {}, {}), "at least one dimension");
  rejects({0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, "truncated: the header of 3 dimensions");
  rejects(idx_file(0x08, {2, 3}, pixels(5)), "truncated: shape (2, 3) of uint8 needs 6 data bytes, the file has 5");
  rejects(idx_file(0x08, {2, 3}, pixels(7)), "1 bytes after the data");
  rejects(idx_file(0x0C, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}), "too large");
  rejects(idx_file(0x08, {60000, 28, 28}, pixels(10)), "truncated");

  const std::vector<std::uint8_t> gz = gzip(idx_file(0x08, {4, 4}, pixels(16)));
  rejects({gz.begin(), gz.end() - 3}, "gzip data is truncated");  // inside the trailer
  rejects({gz.begin(), gz.begin() + 12}, "gzip data is truncated");
  auto bad = gz;
  bad[bad.size() - 6] ^= 0xFF;  // CRC-32 in the gzip trailer
  rejects(bad, "corrupted gzip data (incorrect data check)");
  CHECK_THROWS_WITH(read_idx("/nonexistent/train.idx"), Catch::Contains("cannot open IDX file"));
}

TEST_CASE("read_array_file tells .npy from IDX by content", "[idx]") {
  const std::vector<std::uint8_t> img = pixels(2 * 3 * 4);
  const std::vector<std::uint8_t> idx = idx_file(0x08, {2, 3, 4}, img);
  const std::vector<std::uint8_t> npy = npy_bytes(NdArray::from_values<std::uint8_t>({2, 3, 4}, img));
  for (const auto& file : {idx, gzip(idx), npy}) {
    const NdArray a = parse_array_file(file, "data");
    CHECK(a.shape == std::vector<std::int64_t>{2, 3, 4});
    CHECK(a.values<std::uint8_t>() == img);
  }
  const auto path = std::filesystem::temp_directory_path() / "rmsmp_array_file_test.idx";  // a .npy, whatever the name
  detail::write_file_bytes(path, npy, "test file");
  CHECK(read_array_file(path).values<std::uint8_t>() == img);
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(parse_array_file(std::vector<std::uint8_t>{1, 2, 3}, "data"), Catch::Contains("data: not an IDX file"));
}

TEST_CASE("reads Debian's Fashion-MNIST files", "[idx]") {
  if (!std::filesystem::exists(fashion_mnist / "t10k-labels-idx1-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: " << fashion_mnist << " missing, test not run");
    return;
  }
  // Published facts: 10 000 test images of 28 x 28, 1 000 of each of the 10 classes.
  const NdArray labels = read_idx(fashion_mnist / "t10k-labels-idx1-ubyte.gz");
  CHECK(labels.type == ElementType::uint8);
  CHECK(labels.shape == std::vector<std::int64_t>{10000});
  std::array<int, 10> per_class{};
  for (std::uint8_t l : labels.values<std::uint8_t>()) {
    REQUIRE(l < 10);
    ++per_class[l];
  }
  for (int c : per_class) CHECK(c == 1000);

  const NdArray images = read_idx(fashion_mnist / "t10k-images-idx3-ubyte.gz");
  CHECK(images.shape == std::vector<std::int64_t>{10000, 28, 28});
  // zlib's gzread (another decompression path than ours) gives the same bytes after the
  // 16-byte header.
  gzFile f = gzopen((fashion_mnist / "t10k-images-idx3-ubyte.gz").c_str(), "rb");
  REQUIRE(f != nullptr);
  std::vector<std::uint8_t> plain(16 + 10000 * 28 * 28 + 1);
  const int n = gzread(f, plain.data(), static_cast<unsigned>(plain.size()));
  gzclose(f);
  REQUIRE(n == 16 + 10000 * 28 * 28);
  CHECK(std::equal(images.bytes.begin(), images.bytes.end(), plain.begin() + 16));
}

TEST_CASE("a shape whose non-zero dimensions overflow is refused even when it holds no element", "[idx]") {
  // Found by the array_file fuzzer (tests/fuzz/corpus/array_file/crash-6128...): nine dimensions,
  // one of them 0, so the file needs no data byte and passed the size check, but
  // NdArray::element_count() multiplies from the left in int64 and overflowed before the 0.
  CHECK_THROWS_WITH(parse(idx_file(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0}, {})),
                    Catch::Contains("test.idx: the shape (4294967295, 4294967295, 0) is too large"));
  CHECK_THROWS_WITH(parse_array_file(idx_file(0x0C, {0, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}), "test.idx"),
                    Catch::Contains("too large"));
  const NdArray empty = parse(idx_file(0x08, {0xFFFFFFFFu, 0x7FFFFFFFu, 0}, {}));  // (2^32-1)(2^31-1) < 2^63: fits
  CHECK(empty.element_count() == 0);
  CHECK(empty.shape == std::vector<std::int64_t>{0xFFFFFFFF, 0x7FFFFFFF, 0});
}

TEST_CASE("damaged IDX files load or throw rmsmp::Error, never crash", "[idx][fuzz]") {
  const std::vector<std::vector<std::uint8_t>> seeds = rmsmp_test::idx_fuzz_seeds();
  for (const auto& good : seeds) {
    CHECK_NOTHROW(parse(good));
    for (std::size_t n = 0; n < good.size(); ++n) {
      INFO("truncated to " << n);
      CHECK_THROWS_AS(parse({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)}), Error);
    }
  }
  std::mt19937 rng(99);
  int rejected = 0;
  for (int trial = 0; trial < 6000; ++trial) {
    const auto bad = rmsmp_test::damage_idx(seeds[static_cast<std::size_t>(trial) % seeds.size()], rng);
    try {
      const NdArray a = parse(bad);
      CHECK(a.bytes.size() == static_cast<std::size_t>(a.element_count()) * element_size(a.type));
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 1000);
}
