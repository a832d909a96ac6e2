// libFuzzer target: rmsmp::parse_float_model (io/float_model_manifest.hpp) on arbitrary
// manifest text. The weight files it may name are a fixed set (fuzz_support.hpp) written once
// into a private temporary directory: the JSON is what is fuzzed, not the .npy files (the npy
// target does those).
#include <stdlib.h>  // mkdtemp

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "fuzz_support.hpp"
#include "rmsmp/io/float_model_manifest.hpp"

namespace {

std::filesystem::path& weights_dir() {
  static std::filesystem::path dir;
  return dir;
}

void remove_weights_dir() {
  std::error_code ec;
  std::filesystem::remove_all(weights_dir(), ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string templ = (std::filesystem::temp_directory_path() / "rmsmp_fuzz_manifest_XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("float_model_manifest_fuzz: mkdtemp");
    std::abort();
  }
  weights_dir() = templ;
  rmsmp_fuzz::write_manifest_weights(weights_dir());
  std::atexit(remove_weights_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rmsmp_fuzz::expect_parse_or_error([&] {
    const rmsmp::FloatModel m = rmsmp::parse_float_model(text, weights_dir(), "fuzz.json");
    // A model the reader accepts has passed check_float_model: checking it again must agree.
    rmsmp_fuzz::check(rmsmp::check_float_model(m).size() == m.layers.size());
  });
  return 0;
}
