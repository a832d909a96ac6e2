// Writes the fuzz targets' seed corpus, tests/fuzz/corpus/<target>/, reproducibly:
//
//   fuzz_make_corpus <tests/data/npy> <tests/fuzz/corpus>          write the seeds
//   fuzz_make_corpus --check <tests/data/npy> <tests/fuzz/corpus>  exit 1 if any differs
//
// Per target: small valid files made by rmsmp's own writers (the .npy ones are NumPy's, the
// fixtures of tests/unit/npy_test.cpp), a few truncations, and the first damaged inputs of the
// matching Catch2 [fuzz] case — the same seeds, the same std::mt19937 seed and the same damage
// functions (tests/unit/damaged_inputs.hpp), so they are byte for byte the inputs that case
// starts with. regression_* files are inputs that crashed a reader once (found by reading the
// code; the fuzzer's own finds are kept as it wrote them, crash-* or slow-unit-*, and left
// alone here). Seed names say what the reader must do: valid_* load, refused_*, truncated_* and
// regression_* throw rmsmp::Error.
#include <unistd.h>  // getpid

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "command_line.hpp"  // examples/cli
#include "commands.hpp"
#include "fuzz_support.hpp"
#include "idx_fixtures.hpp"  // tests/unit, as are damaged_inputs.hpp
#include "rmsmp/io/array_file.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/io/serialize.hpp"
#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;
namespace fs = std::filesystem;
using rmsmp_test::Bytes;
using rmsmp_test::idx_file;
using rmsmp_test::pixels;

namespace {

/// target -> file name -> contents.
using Corpus = std::map<std::string, std::map<std::string, Bytes>>;

Bytes read_bytes(const fs::path& path) { return detail::read_file_bytes(path, "fixture"); }
Bytes text_bytes(const std::string& s) { return {s.begin(), s.end()}; }
Bytes first(const Bytes& b, std::size_t n) { return {b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)}; }

// --- .npy: NumPy's own files (tests/data/npy) ------------------------------------------------

void npy_seeds(Corpus& corpus, const fs::path& npy_dir) {
  auto& out = corpus["npy"];
  // The [fuzz] case's seeds, in its order.
  std::vector<Bytes> seeds;
  for (const std::string& name : rmsmp_test::npy_fuzz_seed_names()) {
    seeds.push_back(read_bytes(npy_dir / name));
    out["valid_" + name] = seeds.back();
  }
  out["valid_i32.npy"] = read_bytes(npy_dir / "i32.npy");
  for (const char* name : {"f32_big_endian.npy", "f32_fortran.npy", "f64.npy", "bool.npy", "structured.npy"})
    out[std::string("refused_") + name] = read_bytes(npy_dir / name);
  // A zero dimension makes the byte count 0, but NdArray::element_count() multiplied the
  // dimensions before it in int64 and overflowed (the IDX twin was the array_file fuzzer's find).
  std::string zero_dim_header = "{'descr': '|u1', 'fortran_order': False, 'shape': (4611686018427387904, 3, 0), }";
  zero_dim_header.append((64 - (10 + zero_dim_header.size() + 1) % 64) % 64, ' ');
  zero_dim_header += '\n';
  Bytes zero_dim = text_bytes("\x93NUMPY\x01");
  zero_dim.push_back(0);
  zero_dim.push_back(static_cast<std::uint8_t>(zero_dim_header.size() & 0xFF));
  zero_dim.push_back(static_cast<std::uint8_t>(zero_dim_header.size() >> 8));
  zero_dim.insert(zero_dim.end(), zero_dim_header.begin(), zero_dim_header.end());
  out["regression_zero_dim_overflow.npy"] = zero_dim;
  out["truncated_in_header"] = first(seeds[0], 40);
  out["truncated_in_data"] = first(seeds[0], seeds[0].size() - 3);

  // tests/unit/npy_test.cpp, "damaged .npy files load or throw rmsmp::Error, never crash".
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 8; ++trial)
    out["damaged_" + std::to_string(trial)] =
        rmsmp_test::damage_npy(seeds[static_cast<std::size_t>(trial) % seeds.size()], rng);
}

// --- IDX: the files tests/unit/idx_test.cpp builds ---------------------------------------------

void idx_seeds(Corpus& corpus) {
  auto& out = corpus["idx"];
  const std::vector<Bytes> seeds = rmsmp_test::idx_fuzz_seeds();
  out["valid_u8_3x9x9.idx"] = seeds[0];
  out["valid_i32_5.idx"] = seeds[1];
  out["valid_u8_3x9x9.idx.gz"] = seeds[2];
  out["valid_i32_5.idx.gz"] = seeds[3];
  out["valid_i8_2x3.idx"] = idx_file(0x09, {2, 3}, pixels(6));
  out["valid_f32_2x2.idx"] = idx_file(0x0D, {2, 2}, pixels(16));
  Bytes two_members = seeds[3];
  two_members.insert(two_members.end(), seeds[3].begin(), seeds[3].end());
  out["refused_two_gzip_members.idx.gz"] = two_members;  // decompresses to labels twice: trailing bytes
  out["regression_zero_dim_overflow.idx"] = idx_file(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0}, {});
  out["truncated_header.idx"] = first(seeds[0], 9);
  out["truncated_gzip.idx.gz"] = first(seeds[2], seeds[2].size() / 2);

  // tests/unit/idx_test.cpp, "damaged IDX files load or throw rmsmp::Error, never crash".
  std::mt19937 rng(99);
  for (int trial = 0; trial < 8; ++trial)
    out["damaged_" + std::to_string(trial)] =
        rmsmp_test::damage_idx(seeds[static_cast<std::size_t>(trial) % seeds.size()], rng);
}

// --- array files: both kinds, and bytes that start like one and are the other ----------------

void array_file_seeds(Corpus& corpus) {
  auto& out = corpus["array_file"];
  const auto& npy = corpus.at("npy");
  const auto& idx = corpus.at("idx");
  for (const char* name : {"valid_f32_v1.npy", "valid_u8.npy", "refused_f32_fortran.npy"}) out[name] = npy.at(name);
  for (const char* name : {"valid_u8_3x9x9.idx", "valid_i32_5.idx.gz"}) out[name] = idx.at(name);
  out["npy_magic_only"] = text_bytes("\x93NUMPY");
  out["gzip_magic_only"] = {0x1F, 0x8B};
}

// --- float model manifests (fuzz_support.hpp writes the weight files they name) -------------

using rmsmp_test::manifest;
using rmsmp_test::manifest_layers;

void manifest_seeds(Corpus& corpus) {
  auto& out = corpus["float_model_manifest"];
  // tests/unit/float_model_manifest_test.cpp's [fuzz] case starts from this one.
  const std::string good = manifest(manifest_layers(
      R"(, {"op": "add", "name": "a", "input": "fc", "other": "fc"}, {"op": "avg_pool2d", "name": "q", "input": "c", "kernel": [2, 3], "stride": [1, 2], "padding": 1})"));
  out["valid_all_ops.json"] = text_bytes(good);
  out["valid_base.json"] = text_bytes(manifest());
  out["valid_classes.json"] = text_bytes(manifest(manifest_layers(R"(, {"op": "global_avg_pool", "name": "g", "input": "c"})"),
                                                  R"("classes": ["w", "x", "y", "z"], )"));
  out["refused_uint8_weight.json"] = text_bytes(manifest(manifest_layers("", "u8.npy")));
  out["refused_nan_weight.json"] = text_bytes(manifest(manifest_layers("", "nan.npy")));
  out["refused_leaves_dir.json"] = text_bytes(manifest(manifest_layers("", "../fc.w.npy")));
  out["refused_repeated_key.json"] = text_bytes(manifest(manifest_layers(), R"("version": 1, )"));
  // Each side within its limit of 2^30, the product (2^90) overflowed int64 in check_float_model.
  std::string huge_input = manifest();
  huge_input.replace(huge_input.find("[1, 8, 8]"), 9, "[1073741824, 1073741824, 1073741824]");
  out["regression_input_shape_overflow.json"] = text_bytes(huge_input);

  std::mt19937 rng(31);
  for (int trial = 0; trial < 8; ++trial)
    out["damaged_" + std::to_string(trial) + ".json"] = text_bytes(rmsmp_test::damage_manifest(good, rng));
}

// --- the container: tests/unit/binary_file_test.cpp's sample ---------------------------------

void binary_file_seeds(Corpus& corpus) {
  auto& out = corpus["binary_file"];
  const Bytes good = rmsmp_test::sample_container();
  out["valid_sample.bin"] = good;
  out["valid_no_sections.bin"] = BinaryFileWriter("test-format", 1).bytes();
  out["truncated_header.bin"] = first(good, BinaryFileLayout::header_bytes - 1);
  out["truncated_section.bin"] = first(good, good.size() - 5);
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 8; ++trial)
    out["damaged_" + std::to_string(trial)] = rmsmp_test::damage_container(good, rng);
}

// --- quantized models: two tiny ones, every op and both activation widths -------------------

FloatTensor weights(std::vector<std::int64_t> shape, std::uint32_t seed) {
  FloatTensor t{std::move(shape), {}};
  t.data = rmsmp_fuzz::pattern(static_cast<std::size_t>(t.numel()), seed);
  return t;
}

FloatLayer float_layer(LayerOp op, std::string name, std::string input = {}, std::string other = {}) {
  FloatLayer l;
  l.op = op;
  l.name = std::move(name);
  l.input = std::move(input);
  l.other = std::move(other);
  return l;
}

// input [2, 6, 6] -> conv 2->4 3x3 p1 -> relu -> conv 4->4 3x3 p1 (no bias) -> add relu1 ->
// max_pool 2 -> [4, 3, 3] -> avg_pool 3 s1 p1 -> relu -> flatten -> linear 36 -> 3
FloatModel tiny_cnn() {
  FloatModel m;
  m.input.shape = {2, 6, 6};
  FloatLayer c1 = float_layer(LayerOp::conv2d, "conv1");
  c1.weight = weights({4, 2, 3, 3}, 11);
  c1.bias = weights({4}, 12);
  c1.kernel_h = c1.kernel_w = 3;
  c1.padding_h = c1.padding_w = 1;
  FloatLayer c2 = c1;
  c2.name = "conv2";
  c2.weight = weights({4, 4, 3, 3}, 13);
  c2.bias = {};
  FloatLayer max_pool = float_layer(LayerOp::max_pool2d, "max_pool");
  max_pool.kernel_h = max_pool.kernel_w = max_pool.stride_h = max_pool.stride_w = 2;
  FloatLayer avg_pool = float_layer(LayerOp::avg_pool2d, "avg_pool");
  avg_pool.kernel_h = avg_pool.kernel_w = 3;
  avg_pool.padding_h = avg_pool.padding_w = 1;
  FloatLayer fc = float_layer(LayerOp::linear, "fc");
  fc.weight = weights({3, 36}, 14);
  fc.bias = weights({3}, 15);
  m.layers = {c1, float_layer(LayerOp::relu, "relu1"), c2, float_layer(LayerOp::add, "add", "", "relu1"),
              max_pool, avg_pool, float_layer(LayerOp::relu, "relu2"), float_layer(LayerOp::flatten, "flatten"), fc};
  return m;
}

// input [8] -> linear 8->6 -> relu -> linear 6->3 (no bias): a flat input, no windows.
FloatModel tiny_mlp() {
  FloatModel m;
  m.input.shape = {8};
  m.input.scale = 0.5f;
  m.input.offset = -1.0f;
  FloatLayer fc1 = float_layer(LayerOp::linear, "fc1");
  fc1.weight = weights({6, 8}, 21);
  fc1.bias = weights({6}, 22);
  FloatLayer fc2 = float_layer(LayerOp::linear, "fc2");
  fc2.weight = weights({3, 6}, 23);
  m.layers = {fc1, float_layer(LayerOp::relu, "relu"), fc2};
  return m;
}

QuantizedModel quantized(const FloatModel& f, int activation_bits, const std::string& mix) {
  const std::size_t features = static_cast<std::size_t>(
      std::accumulate(f.input.shape.begin(), f.input.shape.end(), std::int64_t{1}, std::multiplies<>()));
  const std::vector<float> samples = rmsmp_fuzz::pattern(features * 4, 99);
  const Eigen::MatrixXf calibration =
      Eigen::Map<const Eigen::MatrixXf>(samples.data(), static_cast<Eigen::Index>(features), 4).array() * 2.0f;
  QuantizeOptions options;
  options.activation_bits = activation_bits;
  QuantizedModel q = quantize_model(f, calibration, parse_row_mix(mix), options);
  q.class_names = {"a", "b", "c"};
  q.source = "tiny";
  return q;
}

Bytes put_u32(Bytes b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  return b;
}

void quantized_model_seeds(Corpus& corpus) {
  auto& out = corpus["quantized_model_file"];
  const QuantizedModel cnn = quantized(tiny_cnn(), 8, "pot4:60,fixed4:35,fixed8:5");
  const QuantizedModel mlp = quantized(tiny_mlp(), 4, "sp2_4:50,fixed2:50");
  const Bytes good = quantized_model_bytes(cnn);
  out["valid_cnn_a8.rmsmp"] = good;
  out["valid_mlp_a4.rmsmp"] = quantized_model_bytes(mlp);
  QuantizedModel no_mix = mlp;
  no_mix.mix.clear();
  no_mix.class_names.clear();
  out["valid_mlp_no_mix.rmsmp"] = quantized_model_bytes(no_mix);

  // tests/unit/quantized_model_file_test.cpp: truncated, flipped, newer, foreign, and
  // rebuilt with valid checksums but inconsistent content.
  out["truncated_half.rmsmp"] = first(good, good.size() / 2);
  Bytes flipped = good;
  flipped[good.size() / 3] ^= 0x10;
  out["damaged_flipped.rmsmp"] = flipped;
  const Bytes newer = put_u32(good, 12, quantized_model_version + 1);
  out["refused_newer.rmsmp"] = put_u32(newer, 44, crc32(std::span<const std::uint8_t>(newer).first(44)));
  BinaryFileWriter other("something-else", 1);
  other.add_section("model").write_u32(1);
  out["refused_other_format.rmsmp"] = other.bytes();
  const auto damage = [&](auto&& edit) {
    QuantizedModel q = cnn;
    edit(q);
    return rmsmp_test::with_layers_of(cnn, q);
  };
  out["refused_forward_input.rmsmp"] = damage([](QuantizedModel& q) { q.layers[2].input = 7; });
  out["refused_short_bias.rmsmp"] = damage([](QuantizedModel& q) { q.layers[0].gemm->bias.pop_back(); });
  out["refused_output_shape.rmsmp"] = damage([](QuantizedModel& q) { q.layers[4].output_shape.channels = 3; });
  out["refused_add_shift.rmsmp"] = damage([](QuantizedModel& q) { q.layers[3].add.shift = 99; });
  out["refused_missing_layer.rmsmp"] = damage([](QuantizedModel& q) { q.layers.pop_back(); });
  // The manifest's input shape overflow again, through validate().
  out["regression_input_shape_overflow.rmsmp"] = rmsmp_test::with_cubic_input_shape(cnn, std::int64_t{1} << 30);

  // tests/unit/serialize_test.cpp's payload is a bare matrix: the serialize target's seeds.
  auto& matrices = corpus["serialize"];
  std::vector<Bytes> payloads;
  for (const QuantizedModel* q : {&cnn, &mlp})
    for (const QuantizedModelLayer& l : q->layers)
      if (l.gemm) {
        ByteWriter w;
        write(w, l.gemm->weights);
        payloads.emplace_back(w.bytes().begin(), w.bytes().end());
      }
  for (std::size_t i = 0; i < payloads.size(); ++i) matrices["valid_matrix_" + std::to_string(i)] = payloads[i];
  const Bytes& base = payloads.front();
  matrices["truncated_matrix"] = first(base, base.size() - 1);
  std::mt19937 rng(77);
  for (int trial = 0; trial < 6; ++trial) {
    auto bad = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    matrices["damaged_" + std::to_string(trial)] = bad;
  }
}

// --- row mixes ----------------------------------------------------------------------------------

void row_mix_seeds(Corpus& corpus) {
  auto& out = corpus["row_mix"];
  out["valid_paper"] = text_bytes("pot4:60,fixed4:35,fixed8:5");
  out["valid_one"] = text_bytes("fixed8:100");
  std::vector<DynamicRowMix::Entry> every;
  for (SchemeId id : all_schemes) every.push_back({id, 1});
  every.back().percent = 100 - static_cast<int>(all_schemes.size()) + 1;
  out["valid_every_scheme"] = text_bytes(to_string(DynamicRowMix(every)));
  out["refused_sum"] = text_bytes("pot4:60,fixed4:35");
  out["refused_empty_item"] = text_bytes("pot4:60,,fixed4:40");
  out["refused_unknown"] = text_bytes("fixed9:100");
  out["refused_range"] = text_bytes("pot4:-1,fixed8:101");
  out["refused_twice"] = text_bytes("pot4:50,pot4:50");
}

// --- the tool's command line: arguments after `rmsmp`, NUL-separated -------------------------

Bytes arguments(std::initializer_list<std::string> args) {
  Bytes bytes;
  for (const std::string& a : args) {
    if (!bytes.empty()) bytes.push_back(0);
    bytes.insert(bytes.end(), a.begin(), a.end());
  }
  return bytes;
}

void cli_options_seeds(Corpus& corpus) {
  auto& out = corpus["cli_options"];
  out["valid_quantize"] = arguments({"quantize", "model", "--mix", "pot4:60,fixed4:35,fixed8:5", "--calib", "c.npy", "-o",
                                     "q.rmsmp", "--calibration", "percentile:99.9", "--act-bits", "4", "--rule", "papers",
                                     "--compensate", "--calib-count=64"});
  out["valid_eval"] = arguments({"eval", "q.rmsmp", "--data", "x.npy", "--labels", "y.idx", "--backend", "reference",
                                 "--batch", "64", "--limit", "10", "--no-layers", "--json"});
  out["valid_run"] = arguments({"run", "q.rmsmp", "--data=x.npy", "--threads=2", "--output", "o.npy", "--quiet"});
  out["valid_info"] = arguments({"info", "q.rmsmp", "--json"});
  out["refused_threads_on_rtl"] = arguments({"eval", "q", "--data", "x", "--labels", "y", "--backend", "rtl", "--threads", "2"});
  out["refused_zero_threads"] = arguments({"run", "q", "--data", "x", "--threads", "0"});
  out["refused_unknown_backend"] = arguments({"run", "q", "--data", "x", "--backend", "gpu"});
  out["refused_batch_overflow"] = arguments({"eval", "q", "--data", "x", "--labels", "y", "--batch", "99999999999999999999"});
  out["refused_mix_sum"] = arguments({"quantize", "m", "--mix", "pot4:60", "--calib", "c", "-o", "o"});
  out["refused_percentile"] = arguments({"quantize", "m", "--mix", "fixed4:100", "--calib", "c", "-o", "o", "--calibration",
                                         "percentile:50"});
  out["refused_act_bits"] = arguments({"quantize", "m", "--mix", "fixed4:100", "--calib", "c", "-o", "o", "--act-bits", "6"});
  out["refused_missing_value"] = arguments({"run", "q", "--data"});
  out["refused_flag_value"] = arguments({"info", "q", "--json=1"});
  out["refused_twice"] = arguments({"info", "q", "--json", "--json"});
  out["refused_missing_model"] = arguments({"info"});
}

/// What the tool does with a seed's command line before it opens a file: true if it accepts it.
bool cli_accepts(const Bytes& bytes) {
  using namespace rmsmp_cli;
  std::vector<std::string> args(1);
  for (std::uint8_t b : bytes) {
    if (b == 0) args.emplace_back();
    else args.back().push_back(static_cast<char>(b));
  }
  for (const Command& command : {quantize_command(), eval_command(), run_command(), info_command()}) {
    if (command.spec.name != args[0]) continue;
    try {
      const std::optional<Args> parsed = parse_args(command.spec, {args.begin() + 1, args.end()});
      if (parsed) command.check_options(*parsed);
      return true;
    } catch (const UsageError&) {
      return false;
    }
  }
  return false;
}

// --- writing and checking -----------------------------------------------------------------------

/// The seeds that must load do, and the ones named refused_ do not: a seed that tests
/// nothing it claims to is a generator bug.
void check_expectations(const Corpus& corpus, const fs::path& manifest_dir) {
  int problems = 0;
  for (const auto& [target, files] : corpus)
    for (const auto& [name, bytes] : files) {
      const bool must_load = name.rfind("valid_", 0) == 0;
      const bool must_fail = name.rfind("refused_", 0) == 0 || name.rfind("truncated_", 0) == 0 ||
                             name.rfind("regression_", 0) == 0;
      if (!must_load && !must_fail) continue;
      bool loaded = true;
      try {
        if (target == "npy") (void)parse_npy(bytes, name);
        else if (target == "idx") (void)parse_idx(bytes, name);
        else if (target == "array_file") (void)parse_array_file(bytes, name);
        else if (target == "float_model_manifest")
          (void)parse_float_model(std::string(bytes.begin(), bytes.end()), manifest_dir, name);
        else if (target == "binary_file") (void)BinaryFileReader(bytes, name, "test-format", 3);
        else if (target == "quantized_model_file") (void)parse_quantized_model(bytes, name);
        else if (target == "serialize") {
          ByteReader in(bytes, name);
          (void)read_mixed_row_matrix(in);
          in.expect_end();
        } else if (target == "row_mix") (void)parse_row_mix(std::string(bytes.begin(), bytes.end()));
        else if (target == "cli_options") {
          loaded = cli_accepts(bytes);
          if (must_load && !loaded) std::cerr << target << "/" << name << " should load: the tool refuses it\n";
        }
      } catch (const Error& e) {
        loaded = false;
        if (must_load) std::cerr << target << "/" << name << " should load: " << e.what() << "\n";
      }
      if (loaded && must_fail) std::cerr << target << "/" << name << " should be refused, but loads\n";
      problems += loaded != must_load;
    }
  if (problems != 0) fail(std::to_string(problems) + " seed(s) do not do what their names say");
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 4 && std::string(argv[1]) == "--check";
  if (argc != 3 && !check) {
    std::cerr << "usage: " << argv[0] << " [--check] <tests/data/npy> <tests/fuzz/corpus>\n";
    return 2;
  }
  const fs::path npy_dir = argv[check ? 2 : 1];
  const fs::path corpus_dir = argv[check ? 3 : 2];
  const fs::path manifest_dir = fs::temp_directory_path() / ("rmsmp_fuzz_make_corpus_" + std::to_string(::getpid()));
  try {
    Corpus corpus;
    npy_seeds(corpus, npy_dir);
    idx_seeds(corpus);
    array_file_seeds(corpus);
    manifest_seeds(corpus);
    binary_file_seeds(corpus);
    quantized_model_seeds(corpus);
    row_mix_seeds(corpus);
    cli_options_seeds(corpus);

    fs::create_directories(manifest_dir);
    rmsmp_fuzz::write_manifest_weights(manifest_dir);
    check_expectations(corpus, manifest_dir);
    fs::remove_all(manifest_dir);

    int differ = 0;
    std::size_t total = 0, count = 0;
    for (const auto& [target, files] : corpus) {
      const fs::path dir = corpus_dir / target;
      if (!check) fs::create_directories(dir);
      for (const auto& [name, bytes] : files) {
        total += bytes.size();
        ++count;
        if (check) {
          std::error_code ec;
          const bool same = fs::is_regular_file(dir / name, ec) && read_bytes(dir / name) == bytes;
          if (!same) std::cerr << (dir / name).string() << " is missing or differs from what the generator writes\n";
          differ += !same;
        } else {
          detail::write_file_bytes(dir / name, bytes, "seed");
        }
      }
    }
    if (check && differ != 0) {
      std::cerr << differ << " seed(s) out of date: regenerate with " << argv[0] << " " << npy_dir.string() << " "
                << corpus_dir.string() << "\n";
      return 1;
    }
    std::cout << (check ? "checked " : "wrote ") << count << " seeds, " << total << " bytes, in " << corpus.size()
              << " targets\n";
    return 0;
  } catch (const Error& e) {
    std::error_code ec;
    fs::remove_all(manifest_dir, ec);
    std::cerr << e.what() << "\n";
    return 1;
  }
}
