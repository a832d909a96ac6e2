#include "samples.hpp"

#include <algorithm>
#include <cstdint>

#include "rmsmp/io/array_file.hpp"
#include "rmsmp/model/float_executor.hpp"

namespace rmsmp_cli {

using namespace rmsmp;

namespace {

std::vector<float> as_floats(const NdArray& a) {
  switch (a.type) {
    case ElementType::float32: return a.values<float>();
    case ElementType::uint8: { const auto v = a.values<std::uint8_t>(); return {v.begin(), v.end()}; }
    case ElementType::int8: { const auto v = a.values<std::int8_t>(); return {v.begin(), v.end()}; }
    default: fail("images must be float32, uint8 or int8, not " + std::string(element_type_name(a.type)));
  }
}

}  // namespace

Eigen::MatrixXf load_samples(const std::string& path, const InputSpec& spec, long limit) {
  const NdArray a = read_array_file(path);
  std::int64_t per_sample = 1;
  for (std::int64_t d : spec.shape) per_sample *= d;
  if (a.shape.empty() || a.shape[0] < 1) fail(path + ": expected an array of samples [N, ...], got shape " + shape_string(a.shape));
  const std::int64_t n = a.shape[0];
  if (a.element_count() != n * per_sample)
    fail(path + ": " + std::to_string(a.element_count() / n) + " values per sample, the model takes " +
         std::to_string(per_sample) + " (" + shape_string(spec.shape) + ")");
  const std::vector<float> values = as_floats(a);
  const std::int64_t count = limit > 0 ? std::min<std::int64_t>(n, limit) : n;
  const Eigen::Map<const Eigen::MatrixXf> raw(values.data(), per_sample, count);
  return preprocess_input(raw, spec);
}

std::vector<int> load_labels(const std::string& path, long limit) {
  const NdArray a = read_array_file(path);
  if (a.shape.size() != 1) fail(path + ": labels must be a 1-D array, got shape " + shape_string(a.shape));
  std::vector<int> labels;
  switch (a.type) {
    case ElementType::uint8: for (auto v : a.values<std::uint8_t>()) labels.push_back(v); break;
    case ElementType::int32: for (auto v : a.values<std::int32_t>()) labels.push_back(v); break;
    case ElementType::int64:
      for (auto v : a.values<std::int64_t>()) {
        if (v < 0 || v > (1 << 30)) fail(path + ": label " + std::to_string(v) + " is out of range");
        labels.push_back(static_cast<int>(v));
      }
      break;
    default: fail(path + ": labels must be uint8, int32 or int64, not " + std::string(element_type_name(a.type)));
  }
  if (limit > 0 && static_cast<long>(labels.size()) > limit) labels.resize(static_cast<std::size_t>(limit));
  return labels;
}

}  // namespace rmsmp_cli
