// The demo's trained Fashion-MNIST models (examples/models) on the real data set:
//  - the float executor reproduces the test accuracy that examples/models/README.md documents
//    (an independent evaluation: the PyTorch training script's printout), read from that README;
//  - on every Linear/Conv2d layer of both models, with the layer's real calibration columns,
//    error compensation lowers the layer-output error ||(W - Q) X||^2, recomputed here in
//    double from the dequantized matrices.
// Both skip with a message when Fashion-MNIST (Debian package dataset-fashion-mnist) is absent.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/rmsmp.hpp"

#ifndef RMSMP_EXAMPLES_DIR
#error "tests/CMakeLists.txt defines RMSMP_EXAMPLES_DIR (the source tree's examples/) for this test"
#endif

using namespace rmsmp;
namespace fs = std::filesystem;

namespace {

const fs::path models_dir = fs::path(RMSMP_EXAMPLES_DIR) / "models";
const fs::path data_dir = "/usr/share/datasets/fashion-mnist";

struct Images {
  Eigen::MatrixXf pixels;  // raw 0..255, one image per column
  std::vector<int> labels;
};

/// The first `limit` (0: all) images of a Fashion-MNIST split, or nothing when the files are absent.
std::optional<Images> fashion_mnist(const std::string& split, std::int64_t limit) {
  const fs::path images = data_dir / (split + "-images-idx3-ubyte.gz"), labels = data_dir / (split + "-labels-idx1-ubyte.gz");
  if (!fs::exists(images) || !fs::exists(labels)) {
    WARN("skipped: Fashion-MNIST not found in " << data_dir.string() << " (Debian package dataset-fashion-mnist)");
    return std::nullopt;
  }
  const NdArray x = read_idx(images), y = read_idx(labels);
  const std::int64_t n = limit > 0 ? std::min(limit, x.shape[0]) : x.shape[0];
  const std::vector<std::uint8_t> pixels = x.values<std::uint8_t>(), classes = y.values<std::uint8_t>();
  Images out;
  out.pixels = Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>(pixels.data(), 784, n).cast<float>();
  out.labels.assign(classes.begin(), classes.begin() + n);
  return out;
}

/// The "float test accuracy" cell of `model`'s row in examples/models/README.md, in percent.
double documented_accuracy(const std::string& model) {
  std::ifstream in(models_dir / "README.md");
  REQUIRE(in);
  const std::regex row("^\\| `" + model + "` \\|.*\\| ([0-9]+\\.[0-9]+)% \\|\\s*$");
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, row)) return std::stod(m[1].str());
  FAIL("examples/models/README.md has no table row for " << model << " ending in its accuracy");
  return 0.0;
}

}  // namespace

TEST_CASE("the demo's float models reach the test accuracy examples/models/README.md documents", "[slow][fashion]") {
  const std::optional<Images> test = fashion_mnist("t10k", 0);
  if (!test) return;
  REQUIRE(test->labels.size() == 10000);
  for (const char* name : {"fashion_cnn", "fashion_mlp"}) {
    const FloatModel model = load_float_model(models_dir / name);
    const Eigen::MatrixXf x = preprocess_input(test->pixels, model.input);
    long correct = 0;
    for (Eigen::Index first = 0; first < x.cols(); first += 1000) {
      const std::vector<int> predicted = predicted_classes(run_float(model, x.middleCols(first, 1000)));
      for (Eigen::Index n = 0; n < 1000; ++n) correct += predicted[static_cast<std::size_t>(n)] == test->labels[static_cast<std::size_t>(first + n)];
    }
    const double documented = documented_accuracy(name);
    std::printf("%s: float executor %.2f%% on the 10,000 test images, README %.2f%%\n", name, static_cast<double>(correct) / 100.0, documented);
    INFO(name);
    CHECK(correct == std::lround(documented * 100.0));  // 10,000 images: two decimals are exact
  }
}

TEST_CASE("error compensation lowers the output error of every layer of the demo's models on calibration data", "[slow][fashion]") {
  const std::optional<Images> train = fashion_mnist("train", 1024);
  if (!train) return;
  const Eigen::MatrixXf calibration = train->pixels.leftCols(512);  // the demo's calibration set
  const Eigen::MatrixXf held_out = train->pixels.rightCols(512);     // for the printout only
  for (const char* shift : {"pot4", "sp2_4"}) {
    const DynamicRowMix mix({{*parse_scheme(shift), 60}, {*parse_scheme("fixed4"), 35}, {*parse_scheme("fixed8"), 5}});
    for (const char* name : {"fashion_cnn", "fashion_mlp"}) {
      const FloatModel model = load_float_model(models_dir / name);
      // Every layer's input columns on the held-out images: compensation fits the calibration
      // columns, and a layer with more inputs (K) than calibration columns can overfit them.
      std::map<std::string, Eigen::MatrixXf> held_out_inputs;
      QuantizeOptions record;
      record.weights = [&](const LayerContext& ctx) {
        held_out_inputs[std::string(ctx.layer)] = ctx.inputs;
        return MixedRowMatrix<>(ctx.mix, ctx.weights, assign_rows_in_order(ctx));
      };
      quantize_model(model, preprocess_input(held_out, model.input), mix, record);
      int layers = 0;
      QuantizeOptions options;
      options.weights = [&](const LayerContext& ctx) {
        LayerQuantizerOptions layer;
        const QuantizedLayer<DynamicRowMix> plain = quantize_layer(ctx.mix, ctx.weights, ctx.inputs, layer);
        layer.compensate = true;
        const QuantizedLayer<DynamicRowMix> compensated = quantize_layer(ctx.mix, ctx.weights, ctx.inputs, layer);
        auto output_error = [&](const MixedRowMatrix<>& q, const Eigen::MatrixXf& x) {
          return ((ctx.weights.cast<double>() - q.dequantize().cast<double>()) * x.cast<double>()).squaredNorm();
        };
        const double before = output_error(plain.matrix, ctx.inputs), after = output_error(compensated.matrix, ctx.inputs);
        const Eigen::MatrixXf& other = held_out_inputs.at(std::string(ctx.layer));
        const double held_out_factor = output_error(plain.matrix, other) / output_error(compensated.matrix, other);
        const double energy = (ctx.weights.cast<double>() * ctx.inputs.cast<double>()).squaredNorm();
        std::printf("%s layer %s (%ld x %ld, %ld calibration columns), 60/35/5 mix with %s: output error %.3g%% -> %.3g%% of the "
                    "output energy (%.2fx lower; on 512 held-out images %.2fx)\n",
                    name, std::string(ctx.layer).c_str(), static_cast<long>(ctx.weights.rows()), static_cast<long>(ctx.weights.cols()),
                    static_cast<long>(ctx.inputs.cols()), display_name(mix.scheme(0)).c_str(), 100.0 * before / energy, 100.0 * after / energy,
                    before / after, held_out_factor);
        INFO(name << " layer " << ctx.layer << " mix " << display_name(mix.scheme(0)));
        CHECK(after < before);
        ++layers;
        return plain.matrix;
      };
      quantize_model(model, preprocess_input(calibration, model.input), mix, options);
      CHECK(layers == (std::string(name) == "fashion_cnn" ? 4 : 3));
    }
  }
}
