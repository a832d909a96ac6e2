// The rmsmp command-line tool, run as a program: quantize -> info -> eval -> run on a small
// saved model and .npy data (results checked against the library run in this process), help
// for every command, and a clean non-zero exit for every bad argument or file.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "model_test_support.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"

#ifndef RMSMP_CLI
// examples/CMakeLists.txt defines RMSMP_CLI when it builds the tool (examples on, zlib found).
TEST_CASE("the rmsmp tool is not part of this build", "[cli]") { WARN("rmsmp_cli not built: the CLI tests are skipped"); }
#else

using namespace rmsmp;
namespace fs = std::filesystem;

namespace {

/// ctest runs the test cases of this file as parallel processes: every path is per process.
fs::path scratch_path(const std::string& name) {
  return fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

struct Result {
  int status = -1;
  std::string output;  ///< stdout and stderr
};

Result run_cli(const std::string& args) {
  const fs::path out = scratch_path("rmsmp_cli_test_output.txt");
  const std::string command = std::string(RMSMP_CLI) + " " + args + " > " + out.string() + " 2>&1";
  const int raw = std::system(command.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  r.output = text.str();
  in.close();
  fs::remove(out);
  return r;
}

/// A directory with a small float model (the test CNN) and uint8 images and labels.
struct Workspace {
  fs::path dir = scratch_path("rmsmp_cli_test");
  FloatModel model = rmsmp_test::small_cnn();
  Eigen::MatrixXf raw;  // uint8 values as floats, one column per sample
  std::vector<std::uint8_t> labels;

  Workspace() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    model.input.scale = 1.0f / 255.0f;
    save_float_model(model, dir / "model");
    const int n = 40;
    raw = (rmsmp_test::random_inputs(3 * 12 * 12, n, 0.0f, 255.0f).array().floor()).matrix();
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(raw.size()));
    for (Eigen::Index i = 0; i < raw.size(); ++i) pixels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(raw.data()[i]);
    write_npy(dir / "images.npy", NdArray::from_values<std::uint8_t>({n, 3, 12, 12}, pixels));
    for (int i = 0; i < n; ++i) labels.push_back(static_cast<std::uint8_t>(i % 10));
    write_npy(dir / "labels.npy", NdArray::from_values<std::uint8_t>({n}, labels));
  }
  ~Workspace() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

TEST_CASE("quantize, info, eval and run work end to end", "[cli]") {
  const Workspace ws;
  const Result q = run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --calib " +
                           ws.path("images.npy") + " --calibration percentile:99.9 -o " + ws.path("m.rmsmp"));
  INFO(q.output);
  REQUIRE(q.status == 0);

  // The file holds what quantize_model makes in process from the same data.
  const QuantizedModel loaded = load_quantized_model(ws.path("m.rmsmp"));
  QuantizeOptions options;
  options.calibration.method = CalibrationMethod::percentile;
  options.calibration.percentile = 99.9;
  const FloatModel fm = load_float_model(ws.path("model"));
  const Eigen::MatrixXf x = preprocess_input(ws.raw, fm.input);
  QuantizedModel expected = quantize_model(fm, x, DynamicRowMix::from<Mix60_35_5>(), options);
  expected.source = loaded.source;
  CHECK(quantized_model_bytes(loaded) == quantized_model_bytes(expected));

  const Result info = run_cli("info " + ws.path("m.rmsmp"));
  CHECK(info.status == 0);
  CHECK_THAT(info.output, Catch::Contains("PoT-4 60%") && Catch::Contains("conv1") && Catch::Contains("float output"));

  const Evaluation e = evaluate(ModelExecutor<>(loaded), x, std::vector<int>(ws.labels.begin(), ws.labels.end()));
  char accuracy[64];
  std::snprintf(accuracy, sizeof accuracy, "accuracy: %.2f%%", 100.0 * e.accuracy());
  for (const char* backend : {"cpu", "reference"}) {
    const Result ev = run_cli("eval " + ws.path("m.rmsmp") + " --data " + ws.path("images.npy") + " --labels " +
                              ws.path("labels.npy") + " --backend " + backend);
    INFO(ev.output);
    CHECK(ev.status == 0);
    CHECK_THAT(ev.output, Catch::Contains(accuracy) && Catch::Contains("per-layer error") && Catch::Contains("relu5"));
  }

  const Result r = run_cli("run " + ws.path("m.rmsmp") + " --data " + ws.path("images.npy") + " --output " + ws.path("out.npy"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  const std::vector<float> out = read_npy(ws.path("out.npy")).values<float>();
  const Eigen::MatrixXf y = run(loaded, x);
  REQUIRE(out.size() == static_cast<std::size_t>(y.size()));
  CHECK(std::equal(out.begin(), out.end(), y.data()));  // [N, 10] C order = column-major 10 x N
}

TEST_CASE("quantize --rule, --compensate and --act-bits reach the layer quantizer", "[cli]") {
  const Workspace ws;
  const FloatModel fm = load_float_model(ws.path("model"));
  const Eigen::MatrixXf x = preprocess_input(ws.raw, fm.input);
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  struct Case {
    std::string args;
    AssignmentRule rule;
    bool compensate;
    int activation_bits;
  };
  for (const Case& c : {Case{"--rule papers", AssignmentRule::papers, false, 8},
                        Case{"--rule optimal --compensate --act-bits 4", AssignmentRule::optimal, true, 4},
                        Case{"--compensate --rule papers", AssignmentRule::papers, true, 8}}) {
    const Result q = run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --calib " + ws.path("images.npy") +
                             " " + c.args + " -o " + ws.path("m.rmsmp"));
    INFO("rmsmp quantize ... " << c.args << "\n" << q.output);
    REQUIRE(q.status == 0);
    QuantizeOptions options;
    LayerQuantizerOptions layer_options;
    layer_options.rule = c.rule;
    layer_options.compensate = c.compensate;
    options.weights = hessian_weight_quantizer(layer_options);
    options.activation_bits = c.activation_bits;
    const QuantizedModel loaded = load_quantized_model(ws.path("m.rmsmp"));
    QuantizedModel expected = quantize_model(fm, x, mix, options);
    expected.source = loaded.source;
    CHECK(quantized_model_bytes(loaded) == quantized_model_bytes(expected));
    // The options change the result: the same model with the defaults differs.
    QuantizedModel defaults = quantize_model(fm, x, mix);
    defaults.source = loaded.source;
    CHECK(quantized_model_bytes(loaded) != quantized_model_bytes(defaults));
  }
  const Result help = run_cli("quantize --help");
  CHECK_THAT(help.output, Catch::Contains("--rule <rule>") && Catch::Contains("papers") && Catch::Contains("--compensate") &&
                              Catch::Contains("--act-bits <bits>"));
}

TEST_CASE("every command explains itself with --help", "[cli]") {
  for (const char* command : {"quantize", "eval", "run", "info"}) {
    const Result r = run_cli(std::string(command) + " --help");
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains(std::string("usage: rmsmp ") + command));
  }
  const Result top = run_cli("--help");
  CHECK(top.status == 0);
  CHECK_THAT(top.output, Catch::Contains("quantize") && Catch::Contains("eval"));
}

TEST_CASE("bad arguments and files exit non-zero with a message", "[cli]") {
  const Workspace ws;
  const std::string model = ws.path("model"), images = ws.path("images.npy"), labels = ws.path("labels.npy");
  REQUIRE(run_cli("quantize " + model + " --mix fixed8:100 --calib " + images + " -o " + ws.path("m.rmsmp")).status == 0);
  struct Case {
    std::string args;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", 2, "usage"},
      {"frobnicate", 2, "unknown command"},
      {"info", 2, "missing <model.rmsmp>"},
      {"info a b", 2, "unexpected argument"},
      {"quantize " + model + " --calib " + images + " -o x", 2, "missing --mix"},
      {"quantize " + model + " --mix pot4:50,fixed4:40 --calib " + images + " -o x", 2, "100%"},
      {"quantize " + model + " --mix pot9:100 --calib " + images + " -o x", 2, "unknown scheme"},
      {"quantize " + model + " --mix fixed4 --calib " + images + " -o x", 2, "<scheme>:<percent>"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --act-bits 5", 2, "8 or 4"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --calibration median", 2, "unknown method"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --rule greedy", 2, "unknown rule 'greedy'"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --compensate=yes", 2, "takes no value"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --bogus", 2, "unknown option --bogus"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o", 2, "needs a value"},
      {"quantize " + ws.path("nothing") + " --mix fixed4:100 --calib " + images + " -o x", 1, "nothing"},
      {"quantize " + model + " --mix fixed4:100 --calib " + labels + " -o x", 1, "values per sample"},
      {"eval " + ws.path("m.rmsmp") + " --data " + images, 2, "missing --labels"},
      {"eval " + ws.path("m.rmsmp") + " --data " + images + " --labels " + labels + " --backend gpu", 2, "unknown backend"},
      {"eval " + ws.path("m.rmsmp") + " --data " + images + " --labels " + labels + " --threads 0", 2, "--threads"},
      {"eval " + ws.path("m.rmsmp") + " --data " + images + " --labels " + images, 1, "1-D"},
      {"eval " + images + " --data " + images + " --labels " + labels, 1, "not an rmsmp binary file"},
      {"run " + ws.path("missing.rmsmp") + " --data " + images, 1, "missing.rmsmp"},
      {"run " + ws.path("m.rmsmp") + " --data " + ws.path("missing.npy"), 1, "missing.npy"},
  };
  for (const Case& c : cases) {
    const Result r = run_cli(c.args);
    INFO("rmsmp " << c.args << "\n" << r.output);
    CHECK(r.status == c.status);
    CHECK_THAT(r.output, Catch::Contains(c.message));
  }
  // A damaged model file.
  std::vector<char> bytes;
  {
    std::ifstream in(ws.path("m.rmsmp"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
  {
    std::ofstream out(ws.path("bad.rmsmp"), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const Result r = run_cli("info " + ws.path("bad.rmsmp"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("corrupted"));
}

TEST_CASE("the rtl backend runs the model on a Verilated engine or says why it cannot", "[cli]") {
  const Workspace ws;
  const std::string images = ws.path("images.npy"), labels = ws.path("labels.npy");
  const std::string data = " --data " + images + " --labels " + labels + " --limit 8 --no-layers";
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --calib " + images + " -o " +
                  ws.path("m8.rmsmp")).status == 0);
#ifdef RMSMP_CLI_WITH_RTL
  // The same accuracy and outputs as the CPU backend, then the engine's statistics.
  const Result cpu = run_cli("eval " + ws.path("m8.rmsmp") + data + " --backend cpu");
  const Result rtl = run_cli("eval " + ws.path("m8.rmsmp") + data + " --backend rtl");
  INFO(cpu.output << "\n" << rtl.output);
  REQUIRE(cpu.status == 0);
  REQUIRE(rtl.status == 0);
  const std::string accuracy = cpu.output.substr(cpu.output.find("accuracy:"), cpu.output.find('\n', cpu.output.find("accuracy:")) - cpu.output.find("accuracy:"));
  CHECK_THAT(rtl.output, Catch::Contains(accuracy) && Catch::Contains("rtl engine: 4 PoT / 3 SP2") &&
                             Catch::Contains("streaming cycles") && Catch::Contains("gemm calls: 7"));
  for (const char* backend : {"cpu", "rtl"})
    REQUIRE(run_cli("run " + ws.path("m8.rmsmp") + " --data " + images + " --limit 8 --backend " + backend + " --output " +
                    ws.path(std::string(backend) + ".npy")).status == 0);
  CHECK(read_npy(ws.path("rtl.npy")).values<float>() == read_npy(ws.path("cpu.npy")).values<float>());

  // 4-bit activations run on b4; an 8-bit input into 4-bit layers, or SP2 rows with 4-bit
  // activations, run on no engine of the build.
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --act-bits 4 --input-bits 4 --calib " +
                  images + " -o " + ws.path("m4.rmsmp")).status == 0);
  const Result b4 = run_cli("eval " + ws.path("m4.rmsmp") + data + " --backend rtl");
  INFO(b4.output);
  CHECK(b4.status == 0);
  CHECK_THAT(b4.output, Catch::Contains("rtl engine: 6 PoT / 0 SP2"));
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --act-bits 4 --calib " + images +
                  " -o " + ws.path("m48.rmsmp")).status == 0);
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix sp2_4:60,fixed4:40 --act-bits 4 --input-bits 4 --calib " + images +
                  " -o " + ws.path("sp2.rmsmp")).status == 0);
  const Result widths = run_cli("eval " + ws.path("m48.rmsmp") + data + " --backend rtl");
  CHECK(widths.status == 1);
  CHECK_THAT(widths.output, Catch::Contains("no RTL engine") && Catch::Contains("reads 8-bit activations"));
  const Result sp2 = run_cli("run " + ws.path("sp2.rmsmp") + " --data " + images + " --backend rtl");
  CHECK(sp2.status == 1);
  CHECK_THAT(sp2.output, Catch::Contains("no RTL engine") && Catch::Contains("SP2-4 rows"));
  const Result threads = run_cli("eval " + ws.path("m8.rmsmp") + data + " --backend rtl --threads 2");
  CHECK(threads.status == 2);
  CHECK_THAT(threads.output, Catch::Contains("--threads applies to the cpu backend only"));
#else
  const Result r = run_cli("eval " + ws.path("m8.rmsmp") + data + " --backend rtl");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("built without the RTL engines"));
#endif
}

#endif  // RMSMP_CLI
