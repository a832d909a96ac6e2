// The values of rmsmp_pkg (rtl/rmsmp_pkg.sv) as the Verilated probe module reports them
// (tests/cosim/rmsmp_pkg_probe.sv), by package name. Link rmsmp_rtl_package_probe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace rmsmp::rtl::testing {

std::map<std::string, std::uint32_t> rtl_package_values();

}  // namespace rmsmp::rtl::testing
