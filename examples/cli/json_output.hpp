// Machine-readable results of the rmsmp tool (--json): one JSON object on stdout.
#pragma once

#include <iostream>

#include <nlohmann/json.hpp>

#include "rmsmp/core/tensor.hpp"

namespace rmsmp_cli {

/// On one line, so that a log of several runs is one JSON document per line. Layer and class
/// names come from model files, which may hold any bytes: invalid UTF-8 is replaced (U+FFFD)
/// rather than aborting the whole report.
inline void print_json(const nlohmann::json& report) {
  std::cout << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

inline nlohmann::json shape_json(const rmsmp::TensorShape& s) { return {s.channels, s.height, s.width}; }

}  // namespace rmsmp_cli
