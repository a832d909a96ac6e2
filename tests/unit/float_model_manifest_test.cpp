// Float model manifests: save/load round trip, the data flow worked out for a small ResNet-like
// model (shapes derived by hand below), every kind of bad manifest rejected with a message
// naming layer and field, and damaged manifest text never crashing the loader.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "damaged_inputs.hpp"
#include "rmsmp/io/float_model_manifest.hpp"

using namespace rmsmp;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("rmsmp_manifest_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

FloatTensor tensor(std::vector<std::int64_t> shape, unsigned seed) {
  FloatTensor t;
  t.shape = std::move(shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  t.data.resize(static_cast<std::size_t>(t.numel()));
  for (float& x : t.data) x = normal(rng);
  return t;
}

FloatLayer layer(LayerOp op, std::string name) {
  FloatLayer l;
  l.op = op;
  l.name = std::move(name);
  return l;
}

FloatLayer conv(std::string name, std::int64_t out, std::int64_t in, int k, int stride, int padding, unsigned seed) {
  FloatLayer l = layer(LayerOp::conv2d, std::move(name));
  l.weight = tensor({out, in, k, k}, seed);
  l.bias = tensor({out}, seed + 1);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding_h = l.padding_w = padding;
  return l;
}

// A small ResNet-like network on 1 x 28 x 28 inputs with a downsampling residual block.
FloatModel resnet_like() {
  FloatModel m;
  m.input = {{1, 28, 28}, 1.0f / 255.0f, -0.5f};
  m.class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  m.layers.push_back(conv("stem", 8, 1, 3, 1, 1, 1));
  m.layers.push_back(layer(LayerOp::relu, "stem.relu"));
  FloatLayer pool = layer(LayerOp::max_pool2d, "pool");
  pool.kernel_h = pool.kernel_w = 2;
  pool.stride_h = pool.stride_w = 2;
  m.layers.push_back(pool);
  m.layers.push_back(conv("block.conv1", 16, 8, 3, 2, 1, 3));
  m.layers.push_back(layer(LayerOp::relu, "block.relu"));
  m.layers.push_back(conv("block.conv2", 16, 16, 3, 1, 1, 5));
  FloatLayer down = conv("block.down", 16, 8, 1, 2, 0, 7);
  down.input = "pool";
  down.bias = {};
  m.layers.push_back(down);
  FloatLayer add = layer(LayerOp::add, "block.add");
  add.input = "block.conv2";
  add.other = "block.down";
  m.layers.push_back(add);
  FloatLayer avg = layer(LayerOp::avg_pool2d, "avg");
  avg.kernel_h = 3;
  avg.kernel_w = 2;
  avg.stride_h = 2;
  avg.stride_w = 1;
  avg.padding_h = 1;
  m.layers.push_back(avg);
  m.layers.push_back(layer(LayerOp::flatten, "flat"));
  FloatLayer fc = layer(LayerOp::linear, "fc");
  fc.weight = tensor({10, 16 * 4 * 6}, 9);
  fc.bias = tensor({10}, 10);
  m.layers.push_back(fc);
  return m;
}

void require_same(const FloatTensor& a, const FloatTensor& b) {
  CHECK(a.shape == b.shape);
  CHECK(a.data == b.data);
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A directory with a valid LeNet-like manifest's weight files, for hand-written manifests.
struct ManifestDir {
  TempDir dir;
  ManifestDir() {
    write_npy(dir.path() / "c.w.npy", NdArray::from_values<float>({4, 1, 3, 3}, tensor({4, 1, 3, 3}, 1).data));
    write_npy(dir.path() / "c.b.npy", NdArray::from_values<float>({4}, tensor({4}, 2).data));
    write_npy(dir.path() / "fc.w.npy", NdArray::from_values<float>({3, 4 * 4 * 4}, tensor({3, 64}, 3).data));
    write_npy(dir.path() / "u8.npy", NdArray::from_values<std::uint8_t>({3, 64}, std::vector<std::uint8_t>(192, 1)));
    std::vector<float> with_nan = tensor({3, 64}, 4).data;
    with_nan[70] = std::numeric_limits<float>::quiet_NaN();
    write_npy(dir.path() / "nan.npy", NdArray::from_values<float>({3, 64}, with_nan));
  }
  static std::string layers(const std::string& extra_layer = "", const std::string& fc_weight = "fc.w.npy") {
    return rmsmp_test::manifest_layers(extra_layer, fc_weight);
  }
  static std::string manifest(const std::string& layer_list = layers(), const std::string& top = "") {
    return rmsmp_test::manifest(layer_list, top);
  }
  FloatModel load(const std::string& text) const {
    write_text(dir.path() / "model.json", text);
    return load_float_model(dir.path());
  }
};

}  // namespace

TEST_CASE("save_float_model and load_float_model round-trip a model", "[float_model_manifest]") {
  const FloatModel m = resnet_like();
  TempDir dir;
  save_float_model(m, dir.path() / "model");
  const FloatModel back = load_float_model(dir.path() / "model" / "model.json");
  CHECK(back.input.shape == m.input.shape);
  CHECK(back.input.scale == m.input.scale);
  CHECK(back.input.offset == m.input.offset);
  CHECK(back.class_names == m.class_names);
  REQUIRE(back.layers.size() == m.layers.size());
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const FloatLayer& a = m.layers[i];
    const FloatLayer& b = back.layers[i];
    INFO("layer " << a.name);
    CHECK(a.op == b.op);
    CHECK(a.name == b.name);
    CHECK(a.input == b.input);
    CHECK(a.other == b.other);
    require_same(a.weight, b.weight);
    require_same(a.bias, b.bias);
    CHECK((a.kernel_h == b.kernel_h && a.kernel_w == b.kernel_w));
    CHECK((a.stride_h == b.stride_h && a.stride_w == b.stride_w));
    CHECK((a.padding_h == b.padding_h && a.padding_w == b.padding_w));
  }
}

TEST_CASE("check_float_model works out sources and shapes", "[float_model_manifest]") {
  const std::vector<LayerLinks> flow = check_float_model(resnet_like());
  REQUIRE(flow.size() == 11);
  // By hand, out = floor((in + 2p - k) / s) + 1:
  //  stem 3x3 s1 p1: 28 -> 28; pool 2 s2: 28 -> 14; conv1 3x3 s2 p1: (14 + 2 - 3) / 2 + 1 = 7;
  //  down 1x1 s2: (14 - 1) / 2 + 1 = 7; avg 3x2 s(2,1) p(1,0): h (7 + 2 - 3) / 2 + 1 = 4,
  //  w (7 - 2) / 1 + 1 = 6; flatten 16 * 4 * 6 = 384; fc 10.
  const std::vector<TensorShape> expected = {{8, 28, 28}, {8, 28, 28}, {8, 14, 14}, {16, 7, 7}, {16, 7, 7}, {16, 7, 7},
                                                 {16, 7, 7},  {16, 7, 7},  {16, 4, 6},  {384, 1, 1}, {10, 1, 1}};
  for (std::size_t i = 0; i < flow.size(); ++i) {
    INFO("layer " << i);
    CHECK(flow[i].output_shape == expected[i]);
  }
  CHECK(flow[0].input == model_input);
  CHECK(flow[0].input_shape == TensorShape{1, 28, 28});
  CHECK(flow[6].input == 2);  // block.down reads pool
  CHECK(flow[7].input == 5);  // add: block.conv2 + block.down
  CHECK(flow[7].other == 6);
  CHECK(flow[8].input == 7);
}

TEST_CASE("a hand-written manifest loads with defaults filled in", "[float_model_manifest]") {
  ManifestDir d;
  const FloatModel m = d.load(ManifestDir::manifest(ManifestDir::layers(
      R"(, {"op": "add", "name": "twice", "input": "fc", "other": "fc"}, {"op": "relu", "name": "end"})"),
      R"("classes": ["x", "y", "z"], )"));
  CHECK(m.input.scale == 0.5f);
  CHECK(m.input.offset == 0.0f);
  REQUIRE(m.layers.size() == 7);
  CHECK((m.layers[0].kernel_h == 3 && m.layers[0].stride_w == 1 && m.layers[0].padding_h == 1));
  CHECK((m.layers[2].kernel_w == 2 && m.layers[2].stride_h == 2 && m.layers[2].padding_w == 0));  // stride = kernel
  CHECK(m.layers[4].bias.shape.empty());
  CHECK(m.layers[5].other == "fc");
  CHECK(m.layers[0].weight.data == tensor({4, 1, 3, 3}, 1).data);
  CHECK(m.class_names == std::vector<std::string>{"x", "y", "z"});
}

TEST_CASE("bad manifests are rejected naming the layer and field", "[float_model_manifest]") {
  ManifestDir d;
  const auto rejects = [&](const std::string& text, const std::string& message) {
    INFO(message);
    CHECK_THROWS_WITH(d.load(text), Catch::Contains("model.json: ") && Catch::Contains(message));
  };
  const auto with_layer = [](const std::string& extra) { return ManifestDir::manifest(ManifestDir::layers(", " + extra)); };
  const auto fc_from = [](const std::string& weight) { return ManifestDir::manifest(ManifestDir::layers("", weight)); };
  const std::string base = ManifestDir::manifest();
  REQUIRE_NOTHROW(d.load(base));

  rejects("{\"format\": ", "invalid JSON");
  rejects("[1, 2]", "must be a JSON object");
  rejects(R"({"format": "rmsmp-float-model", "format": "x"})", "\"format\" appears twice");
  rejects(ManifestDir::manifest(ManifestDir::layers(), R"("extra": 1, )"), "unknown key \"extra\"");
  rejects(R"({"format": "onnx", "version": 1})", "\"format\" must be \"rmsmp-float-model\"");
  rejects(R"({"format": "rmsmp-float-model", "version": 2})", "manifest version 2 is newer");
  rejects(R"({"format": "rmsmp-float-model", "version": "1"})", "\"version\" must be an integer");
  rejects(R"({"format": "rmsmp-float-model", "version": 1, "layers": []})", "\"input\" is missing");
  rejects(R"({"format": "rmsmp-float-model", "version": 1, "input": {"shape": [8, 8]}, "layers": []})",
          "must be [C, H, W] or [N]");
  std::string huge_input = base;  // each side allowed, the product overflowed (see check_float_model's test)
  huge_input.replace(huge_input.find("[1, 8, 8]"), 9, "[1073741824, 1073741824, 1073741824]");
  rejects(huge_input, "model input: output shape [1073741824, 1073741824, 1073741824] is too large");
  rejects(R"({"format": "rmsmp-float-model", "version": 1, "input": {"shape": [1, 8, 8], "scale": 0}, "layers": [1]})",
          "\"scale\" must not be 0");
  rejects(R"({"format": "rmsmp-float-model", "version": 1, "input": {"shape": [1, 8, 8]}, "layers": []})",
          "\"layers\" must be a non-empty array");
  rejects(ManifestDir::manifest(ManifestDir::layers(), R"("classes": ["a", "b"], )"),
          "lists 2 classes but its output is [3, 1, 1]");

  rejects(with_layer(R"({"op": "softmax", "name": "s"})"), "layer 5 's': unknown op \"softmax\"");
  rejects(with_layer(R"({"op": "relu"})"), "layer 5: \"name\" must be a non-empty string");
  rejects(with_layer(R"({"op": "relu", "name": "r2", "kernel": 2})"), "layer 5 'r2': unknown key \"kernel\"");
  rejects(with_layer(R"({"op": "relu", "name": "r"})"), "layer 5 'r' (relu): the name is also used by layer 1");
  rejects(with_layer(R"({"op": "relu", "name": "input"})"), "reserved for the model input");
  rejects(with_layer(R"({"op": "relu", "name": "r2", "input": "later"}, {"op": "relu", "name": "later"})"),
          "input 'later' is not an earlier layer");
  rejects(with_layer(R"({"op": "relu", "name": "r2", "input": "nobody"})"), "input 'nobody' names no layer");
  rejects(with_layer(R"({"op": "add", "name": "a", "input": "fc", "other": "p"})"),
          "layer 5 'a' (add): operands have different shapes [3, 1, 1] and [4, 4, 4]");
  rejects(with_layer(R"({"op": "add", "name": "a"})"), "layer 5 'a': \"other\" is missing");
  rejects(with_layer(R"({"op": "max_pool2d", "name": "m", "input": "p", "kernel": 3, "padding": 2})"),
          "padding must be at most half the kernel");
  rejects(with_layer(R"({"op": "max_pool2d", "name": "m", "input": "p", "kernel": 5})"),
          "kernel 5 is larger than the padded input height 4");
  rejects(with_layer(R"({"op": "avg_pool2d", "name": "m", "input": "p", "kernel": [2, 2], "stride": 0})"),
          "\"stride\" is 0, must be in [1, 65536]");
  rejects(with_layer(R"({"op": "avg_pool2d", "name": "m", "input": "p", "kernel": [2, 2], "stride": 1.5})"),
          "\"stride\" must be an integer");
  rejects(with_layer(R"({"op": "avg_pool2d", "name": "m", "input": "p", "kernel": [2]})"),
          "\"kernel\" must be an integer or [height, width]");
  rejects(with_layer(R"({"op": "avg_pool2d", "name": "m", "input": "p"})"), "\"kernel\" is missing");

  rejects(fc_from("missing.npy"), "layer 4 'fc': \"weight\" 'missing.npy' does not exist");
  rejects(fc_from("../fc.w.npy"), "must not leave the manifest's directory");
  rejects(fc_from("/etc/passwd"), "must be a path relative to the manifest's directory");
  rejects(fc_from("u8.npy"), "holds uint8 values; weights must be float32");
  rejects(fc_from("nan.npy"), "layer 4 'fc' (linear): weight value 70 is nan (weights must be finite)");
  rejects(fc_from("c.b.npy"), "layer 4 'fc' (linear): weight shape [4] must be [out, in]");
  rejects(fc_from("c.w.npy"), "weight shape [4, 1, 3, 3] must be [out, in]");
  write_npy(d.dir.path() / "fc_wide.npy", NdArray::from_values<float>({3, 65}, tensor({3, 65}, 5).data));
  rejects(fc_from("fc_wide.npy"), "weight shape [3, 65] expects 65 inputs but its input has 64");
  write_text(d.dir.path() / "broken.npy", "not npy");
  rejects(fc_from("broken.npy"), "\"weight\": " + (d.dir.path() / "broken.npy").string() + ": not a .npy file");

  rejects(with_layer(R"({"op": "linear", "name": "l", "input": "p", "weight": "fc.w.npy"})"),
          "input [4, 4, 4] is not a vector; add a flatten layer before it");
  rejects(with_layer(R"({"op": "conv2d", "name": "c2", "input": "p", "weight": "c.w.npy"})"),
          "expects 1 input channels but its input [4, 4, 4] has 4");
  rejects(with_layer(R"({"op": "conv2d", "name": "c2", "input": "input", "weight": "c.w.npy", "bias": "fc.w.npy"})"),
          "layer 5 'c2' (conv2d): bias shape [3, 64] must be [4]");
  rejects(with_layer(R"({"op": "conv2d", "name": "c2", "input": "input", "weight": "c.w.npy", "kernel": [3, 2]})"),
          "layer 5 'c2' (conv2d): kernel 3x2 disagrees with the weight shape [4, 1, 3, 3]");
  rejects(with_layer(R"({"op": "conv2d", "name": "c2", "input": "input", "weight": "c.w.npy", "padding": [0, -1]})"),
          "\"padding\"[1] is -1");

  // A symbolic link inside the directory that points outside it.
  TempDir outside;
  write_npy(outside.path() / "fc.w.npy", NdArray::from_values<float>({3, 64}, tensor({3, 64}, 3).data));
  fs::create_symlink(outside.path() / "fc.w.npy", d.dir.path() / "link.npy");
  rejects(fc_from("link.npy"), "outside the manifest's directory");

  CHECK_THROWS_WITH(load_float_model(d.dir.path() / "nothing"), Catch::Contains("cannot open model manifest"));
}

TEST_CASE("check_float_model rejects models built in code", "[float_model_manifest]") {
  FloatModel m = resnet_like();
  m.layers[0].kernel_h = 5;
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("layer 0 'stem' (conv2d): kernel 5x3 disagrees"));
  m = resnet_like();
  m.layers[1].weight = tensor({2}, 1);
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("layer 1 'stem.relu' (relu): this op has no weight"));
  m = resnet_like();
  m.layers[1].other = "stem";
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("only add takes 'other'"));
  m = resnet_like();
  m.layers[10].weight.data.pop_back();
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("weight has 3839 values but shape [10, 384]"));
  m = resnet_like();
  m.input.shape = {1, 28, 0};
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("model input: output shape [1, 28, 0] is empty"));
  // Each side within its own limit of 2^30: their product (2^90) overflowed int64 before it
  // was compared (found reading the code the fuzzers reach; corpus regression_input_shape_overflow).
  m.input.shape = {1 << 30, 1 << 30, 1 << 30};
  CHECK_THROWS_WITH(check_float_model(m),
                    Catch::Contains("model input: output shape [1073741824, 1073741824, 1073741824] is too large"));
  m.input.shape = {1 << 30, 1 << 30, 1};
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("is too large"));
  m = resnet_like();
  m.layers.clear();
  CHECK_THROWS_WITH(check_float_model(m), Catch::Contains("no layers"));
}

TEST_CASE("damaged manifests load or throw rmsmp::Error, never crash", "[float_model_manifest][fuzz]") {
  ManifestDir d;
  const std::string good = ManifestDir::manifest(ManifestDir::layers(
      R"(, {"op": "add", "name": "a", "input": "fc", "other": "fc"}, {"op": "avg_pool2d", "name": "q", "input": "c", "kernel": [2, 3], "stride": [1, 2], "padding": 1})"));
  REQUIRE_NOTHROW(d.load(good));
  std::mt19937 rng(31);
  int rejected = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    const std::string bad = rmsmp_test::damage_manifest(good, rng);
    try {
      const FloatModel m = parse_float_model(bad, d.dir.path(), "fuzz.json");
      CHECK(check_float_model(m).size() == m.layers.size());
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 500);
}
