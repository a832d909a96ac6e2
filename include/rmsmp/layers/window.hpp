// rmsmp/layers/window.hpp — the sliding window of Conv2d and the 2-D pools: kernel size,
// stride and zero padding, and the output size they give (PyTorch's floor rule).
#pragma once

#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/core/tensor.hpp"

namespace rmsmp {

struct Window2d {
  static constexpr int max_extent = 1 << 16;  ///< keeps every size computation far inside int

  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int padding_h = 0, padding_w = 0;

  /// Throws unless the window fits an input of `in` ([C, H, W]): positive kernel and stride,
  /// non-negative padding, at least one output position. `what` names the layer.
  void check(TensorShape in, const std::string& what) const {
    require(kernel_h >= 1 && kernel_w >= 1,
                    what + ": kernel " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) + " must be at least 1x1");
    require(stride_h >= 1 && stride_w >= 1, what + ": stride must be at least 1");
    require(padding_h >= 0 && padding_w >= 0, what + ": padding must not be negative");
    require(kernel_h <= max_extent && kernel_w <= max_extent && stride_h <= max_extent && stride_w <= max_extent &&
                        padding_h <= max_extent && padding_w <= max_extent && in.height <= max_extent && in.width <= max_extent,
                    what + ": kernel, stride, padding and input height and width must be at most 65536");
    require(in.height + 2 * padding_h >= kernel_h && in.width + 2 * padding_w >= kernel_w,
                    what + ": kernel " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
                        " is larger than the padded input " + in.str());
  }

  int output_height(int height) const { return (height + 2 * padding_h - kernel_h) / stride_h + 1; }
  int output_width(int width) const { return (width + 2 * padding_w - kernel_w) / stride_w + 1; }

  /// Output shape for an input of `in` producing `channels` channels.
  TensorShape output(TensorShape in, int channels) const {
    return {channels, output_height(in.height), output_width(in.width)};
  }
};

/// The window that reduces a whole [C, H, W] map to [C, 1, 1] (global average pooling).
inline Window2d global_window(TensorShape in) { return {in.height, in.width, 1, 1, 0, 0}; }

}  // namespace rmsmp
