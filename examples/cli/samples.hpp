// Images and labels for the rmsmp tool: .npy arrays or IDX files, told apart by content.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "rmsmp/model/float_model.hpp"

namespace rmsmp_cli {

/// Samples as preprocessed columns: the file holds [N, ...] with C*H*W values per sample (the
/// raw values, float32, uint8 or int8); the first `limit` samples when limit > 0.
Eigen::MatrixXf load_samples(const std::string& path, const rmsmp::InputSpec& spec, long limit);

/// Class labels: a 1-D array of uint8, int32 or int64; the first `limit` when limit > 0.
std::vector<int> load_labels(const std::string& path, long limit);

}  // namespace rmsmp_cli
