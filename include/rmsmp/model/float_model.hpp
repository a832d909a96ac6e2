// rmsmp/model/float_model.hpp — a trained float network as plain data: the common currency
// between the importers (io/), the quantizer (quantize/, model/) and the runtime.
//
// Layouts follow PyTorch so exported tensors need no transposition: Linear weights are
// [out, in], Conv2d weights [out, in, kh, kw], activations are [C, H, W] per sample (C = 1,
// H = W = 1 for vectors). The on-disk form (model.json + .npy files) is in docs/model-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rmsmp {

/// Dense float32 tensor, C order.
struct FloatTensor {
    std::vector<std::int64_t> shape;
    std::vector<float> data;

    [[nodiscard]] std::int64_t numel() const noexcept {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
};

enum class LayerOp {
    linear,          // weight [out, in], optional bias [out]
    conv2d,          // weight [out, in, kh, kw], optional bias [out]; stride, padding
    relu,
    max_pool2d,      // kernel, stride, padding
    avg_pool2d,      // kernel, stride, padding (padding counts as zeros, divisor kh*kw)
    global_avg_pool, // [C, H, W] -> [C, 1, 1]
    flatten,         // [C, H, W] -> [C*H*W, 1, 1] (C order, as torch.flatten)
    add,             // residual: output of `input` (or the previous layer) plus output of `other`
};

/// One layer of a FloatModel. By default a layer reads the previous layer's output (the model
/// input for the first layer); `input` names an earlier layer to read from instead, which with
/// `add` expresses ResNet-style blocks, including a downsampling path.
struct FloatLayer {
    LayerOp op = LayerOp::relu;
    std::string name;
    std::string input; // empty: previous layer
    std::string other; // add only: the second operand
    FloatTensor weight; // linear, conv2d
    FloatTensor bias;   // linear, conv2d; empty shape = no bias
    int kernel_h = 1, kernel_w = 1;   // conv2d (from weight), pools
    int stride_h = 1, stride_w = 1;   // conv2d, pools
    int padding_h = 0, padding_w = 0; // conv2d, pools
};

/// How raw input samples become the float tensor the first layer reads:
/// float_value = raw_value * scale + offset (e.g. uint8 pixels with scale 1/255).
struct InputSpec {
    std::vector<std::int64_t> shape; // per sample, [C, H, W]
    float scale = 1.0f;
    float offset = 0.0f;
};

struct FloatModel {
    InputSpec input;
    std::vector<FloatLayer> layers;
    std::vector<std::string> class_names; // optional
};

} // namespace rmsmp
