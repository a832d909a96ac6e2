// The rmsmp command-line tool, run as a program: quantize -> info -> eval -> run on a small
// saved model and .npy data (results checked against the library run in this process), the
// --json reports, --version, the --threads default and the progress lines written when stderr
// is not a terminal, help for every command, and a clean non-zero exit for every bad argument
// or file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "model_test_support.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"

#ifndef RMSMP_CLI
// examples/cli/CMakeLists.txt defines RMSMP_CLI when it builds the tool (examples on, zlib found).
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
  std::string out;     ///< stdout
  std::string err;     ///< stderr
  std::string output;  ///< stdout, then stderr
};

std::string read_and_remove(const fs::path& path) {
  std::stringstream text;
  {
    std::ifstream in(path);
    text << in.rdbuf();
  }
  fs::remove(path);
  return text.str();
}

/// Runs the tool with stdout and stderr in files: neither is a terminal, as in CI or a pipe.
Result run_cli(const std::string& args) {
  const fs::path out = scratch_path("rmsmp_cli_test_stdout.txt"), err = scratch_path("rmsmp_cli_test_stderr.txt");
  const std::string command = std::string(RMSMP_CLI) + " " + args + " > " + out.string() + " 2> " + err.string();
  const int raw = std::system(command.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_and_remove(out);
  r.err = read_and_remove(err);
  r.output = r.out + r.err;
  return r;
}

/// stdout as one JSON object, or a test failure that shows what the tool printed.
nlohmann::json parse_json_output(const Result& r) {
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status == 0);
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(r.out));
  REQUIRE(j.is_object());
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
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

TEST_CASE("rmsmp --version names the library version and the CPU kernels dispatch chooses from", "[cli]") {
  const Result r = run_cli("--version");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == std::string("rmsmp ") + version_string);
  // The second line lists exactly the kernels compiled in, and the one dispatch takes here.
  std::string compiled;
  for (cpu::ArchId arch : cpu::all_archs)
    if (cpu::kernel_compiled(arch)) compiled += (compiled.empty() ? "" : ", ") + std::string(cpu::arch_name(arch));
  CHECK(lines[1] == "cpu kernels: " + compiled + "; dispatch picks " + std::string(cpu::arch_name(cpu::best_available_arch())) +
                        " on this machine");
  const Result extra = run_cli("--version now");
  CHECK(extra.status == 2);
  CHECK_THAT(extra.err, Catch::Contains("--version takes no arguments"));
}

TEST_CASE("eval, run and info --json print one JSON object on stdout", "[cli]") {
  const Workspace ws;
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix pot4:60,fixed4:35,fixed8:5 --calib " + ws.path("images.npy") +
                  " -o " + ws.path("m.rmsmp")).status == 0);
  const QuantizedModel loaded = load_quantized_model(ws.path("m.rmsmp"));
  const FloatModel fm = load_float_model(ws.path("model"));
  const Eigen::MatrixXf x = preprocess_input(ws.raw, fm.input);
  const std::vector<int> labels(ws.labels.begin(), ws.labels.end());
  const std::string data = " --data " + ws.path("images.npy");

  SECTION("info") {
    const nlohmann::json j = parse_json_output(run_cli("info " + ws.path("m.rmsmp") + " --json"));
    CHECK(j.at("command") == "info");
    CHECK(j.at("row_mix") == "pot4:60,fixed4:35,fixed8:5");
    CHECK(j.at("row_mix_name") == "PoT-4 60%, Fixed-4 35%, Fixed-8 5%");
    CHECK(j.at("input").at("shape") == nlohmann::json({3, 12, 12}));
    CHECK(j.at("input").at("quantized").at("bits") == loaded.input_params.bits);
    REQUIRE(j.at("layers").size() == loaded.layers.size());
    std::size_t weights = 0;
    for (std::size_t i = 0; i < loaded.layers.size(); ++i) {
      const nlohmann::json& layer = j.at("layers")[i];
      const QuantizedModelLayer& l = loaded.layers[i];
      INFO(layer.dump());
      CHECK(layer.at("name") == l.name);
      CHECK(layer.at("op") == std::string(layer_op_name(l.op)));
      CHECK(layer.at("output_shape") == nlohmann::json({l.output_shape.channels, l.output_shape.height, l.output_shape.width}));
      CHECK(layer.at("weights").is_null() == !l.gemm.has_value());
      if (l.gemm) {
        CHECK(layer.at("weights").at("rows") == l.gemm->weights.rows());
        CHECK(layer.at("weights").at("cols") == l.gemm->weights.cols());
        CHECK(layer.at("weights").at("rows_per_scheme").at("pot4") > 0);
        CHECK(layer.at("float_output") == l.gemm->float_output());
        weights += static_cast<std::size_t>(l.gemm->weights.rows() * l.gemm->weights.cols());
      }
    }
    CHECK(j.at("weights") == weights);
  }

  SECTION("eval") {
    const Evaluation e = evaluate(ModelExecutor<>(loaded), x, labels);
    for (const char* backend : {"cpu", "reference"}) {
      const nlohmann::json j = parse_json_output(
          run_cli("eval " + ws.path("m.rmsmp") + data + " --labels " + ws.path("labels.npy") + " --json --backend " + backend));
      INFO(j.dump());
      CHECK(j.at("command") == "eval");
      CHECK(j.at("backend") == backend);
      CHECK(j.contains("cpu") == (std::string(backend) == "cpu"));
      CHECK(j.at("samples") == e.samples);
      CHECK(j.at("correct") == e.correct);
      CHECK(j.at("accuracy").get<double>() == Approx(e.accuracy()));
      CHECK(j.at("float_accuracy").is_number());
      CHECK(j.at("layer_samples") == 40);
      const std::vector<LayerError> errors = compare_layers(fm, ModelExecutor<>(loaded), x);
      REQUIRE(j.at("layers").size() == errors.size());
      for (std::size_t i = 0; i < errors.size(); ++i) {
        CHECK(j.at("layers")[i].at("name") == errors[i].name);
        CHECK(j.at("layers")[i].at("relative_rms_error").get<double>() == Approx(errors[i].relative()));
      }
    }
    // Without the float comparison the fields are there, and null.
    const nlohmann::json j = parse_json_output(
        run_cli("eval " + ws.path("m.rmsmp") + data + " --labels " + ws.path("labels.npy") + " --json --no-layers"));
    CHECK(j.at("layers").is_null());
    CHECK(j.at("float_accuracy").is_null());
  }

  SECTION("run") {
    const std::vector<int> expected = predicted_classes(run(loaded, x));
    const nlohmann::json j = parse_json_output(run_cli("run " + ws.path("m.rmsmp") + data + " --json"));
    CHECK(j.at("command") == "run");
    CHECK(j.at("samples") == 40);
    CHECK(j.at("outputs") == 10);
    CHECK(j.at("output_file").is_null());
    CHECK(j.at("predicted_classes").get<std::vector<int>>() == expected);
    // With --output the file is written as without --json.
    const nlohmann::json with_file =
        parse_json_output(run_cli("run " + ws.path("m.rmsmp") + data + " --json --output " + ws.path("out.npy")));
    CHECK(with_file.at("output_file") == ws.path("out.npy"));
    CHECK(read_npy(ws.path("out.npy")).shape == std::vector<std::int64_t>{40, 10});
  }
}

TEST_CASE("eval and run use one thread per hardware thread unless --threads says otherwise", "[cli]") {
  const Workspace ws;
  REQUIRE(run_cli("quantize " + ws.path("model") + " --mix fixed8:100 --calib " + ws.path("images.npy") + " -o " +
                  ws.path("m.rmsmp")).status == 0);
  const std::string eval = "eval " + ws.path("m.rmsmp") + " --data " + ws.path("images.npy") + " --labels " +
                           ws.path("labels.npy") + " --no-layers --json";
  const int hardware = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 256u));
  const nlohmann::json by_default = parse_json_output(run_cli(eval));
  CHECK(by_default.at("cpu").at("threads") == hardware);
  CHECK(by_default.at("cpu").at("arch") == std::string(cpu::arch_name(cpu::best_available_arch())));
  const nlohmann::json three = parse_json_output(run_cli(eval + " --threads 3"));
  CHECK(three.at("cpu").at("threads") == 3);
  CHECK(three.at("accuracy") == by_default.at("accuracy"));
  CHECK_THAT(run_cli("eval --help").out, Catch::Contains("one per hardware thread, " + std::to_string(hardware) + " here"));
}

TEST_CASE("progress is plain lines on stderr when stderr is not a terminal", "[cli]") {
  const Workspace ws;
  const Result q = run_cli("quantize " + ws.path("model") + " --mix fixed8:100 --calib " + ws.path("images.npy") + " -o " +
                           ws.path("m.rmsmp"));
  INFO(q.output);
  REQUIRE(q.status == 0);
  CHECK_THAT(q.err, Catch::Contains("quantize: 100% (") && !Catch::Contains("\r"));
  CHECK_THAT(q.out, !Catch::Contains("quantize: "));

  // 40 samples in batches of 4: one line per tenth, on stderr only.
  const std::string eval = "eval " + ws.path("m.rmsmp") + " --data " + ws.path("images.npy") + " --labels " +
                           ws.path("labels.npy") + " --no-layers --batch 4";
  const Result e = run_cli(eval);
  INFO(e.output);
  REQUIRE(e.status == 0);
  std::vector<std::string> expected;
  for (int done = 4; done <= 40; done += 4) expected.push_back("eval: " + std::to_string(done * 100 / 40) + "% (" + std::to_string(done) + "/40)");
  CHECK(lines_of(e.err) == expected);
  CHECK_THAT(e.out, !Catch::Contains("eval: "));

  // Batches of 3 do not end on tenths: still one line per tenth passed, the last at 100%.
  const Result r = run_cli("run " + ws.path("m.rmsmp") + " --data " + ws.path("images.npy") + " --batch 3");
  INFO(r.output);
  const std::vector<std::string> run_lines = lines_of(r.err);
  CHECK(run_lines.size() == 10);
  REQUIRE_FALSE(run_lines.empty());
  CHECK(run_lines.back() == "run: 100% (40/40)");

  const Result quiet = run_cli(eval + " --quiet");
  CHECK(quiet.status == 0);
  CHECK(quiet.err.empty());

  // On a terminal (util-linux `script` gives the tool one): the bar, redrawn in place. A
  // machine without `script` or without pseudo-terminals cannot show it.
  if (std::system("script -qec true /dev/null > /dev/null 2>&1") != 0) {
    WARN("`script` cannot open a pseudo-terminal here: the terminal progress bar is not checked");
    return;
  }
  const fs::path typescript = scratch_path("rmsmp_cli_test_terminal.txt");
  const std::string on_terminal = "script -qec '" + std::string(RMSMP_CLI) + " " + eval + "' /dev/null > " + typescript.string();
  REQUIRE(std::system(on_terminal.c_str()) == 0);
  const std::string terminal = read_and_remove(typescript);
  INFO(terminal);
  CHECK_THAT(terminal, Catch::Contains("\reval       [###") && Catch::Contains("] 100% (40/40)") &&
                           !Catch::Contains("eval: 10% (4/40)"));
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
      {"info " + ws.path("m.rmsmp") + " --json=yes", 2, "takes no value"},
      {"quantize " + model + " --mix fixed4:100 --calib " + images + " -o x --json", 2, "unknown option --json"},
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
      // Every option value is checked before a file is opened: the usage error, not the
      // missing file, is what the user hears about.
      {"run " + ws.path("missing.rmsmp") + " --data " + images + " --threads 0", 2, "--threads"},
      {"run " + ws.path("missing.rmsmp") + " --data " + images + " --backend reference --threads 2", 2, "cpu backend only"},
      {"eval " + ws.path("missing.rmsmp") + " --data " + images + " --labels " + labels + " --backend fpga", 2, "unknown backend"},
      {"quantize " + ws.path("nothing") + " --mix fixed4:100 --calib " + images + " -o x --calib-count 0", 2, "--calib-count"},
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

TEST_CASE("NaN or infinity in the images is an error, and nothing is written", "[cli]") {
  const Workspace ws;
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> pixels(ws.raw.data(), ws.raw.data() + ws.raw.size());
    pixels[3 * 432 + 7] = bad;  // sample 3
    write_npy(ws.path("bad_images.npy"), NdArray::from_values<float>({40, 3, 12, 12}, pixels));
    const std::string out = ws.path("from_bad.rmsmp");
    const Result q = run_cli("quantize " + ws.path("model") + " --mix fixed4:100 --calib " + ws.path("bad_images.npy") +
                             " -o " + out);
    INFO(q.output);
    CHECK(q.status == 1);
    CHECK_THAT(q.output, Catch::Contains("sample 3"));
    CHECK_FALSE(fs::exists(out));

    REQUIRE(run_cli("quantize " + ws.path("model") + " --mix fixed4:100 --calib " + ws.path("images.npy") + " -o " +
                    ws.path("m.rmsmp"))
                .status == 0);
    const Result r = run_cli("run " + ws.path("m.rmsmp") + " --data " + ws.path("bad_images.npy") + " --output " +
                             ws.path("out.npy"));
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Catch::Contains("sample 3"));
    CHECK_FALSE(fs::exists(ws.path("out.npy")));
  }
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
  // --json: the same statistics, taken before eval's float comparison runs the engine again.
  const nlohmann::json j = parse_json_output(run_cli("eval " + ws.path("m8.rmsmp") + " --data " + images + " --labels " + labels +
                                                     " --limit 8 --backend rtl --json"));
  CHECK(j.at("backend") == "rtl");
  CHECK(j.at("layers").is_array());
  CHECK(j.at("rtl").at("gemm_calls") == 7);
  CHECK(j.at("rtl").at("stall_cycles") == 0);
  CHECK(j.at("rtl").at("streaming_cycles") == j.at("rtl").at("predicted_cycles"));
  CHECK_THAT(j.at("rtl").at("engine").get<std::string>(), Catch::StartsWith("4 PoT / 3 SP2"));
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
