// The rmsmp tool's command line: each command declares its options once (CommandSpec), and the
// same declaration drives parsing, --help and the checks that reject a bad argument.
#pragma once

#include <initializer_list>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmsmp_cli {

/// A command-line mistake: printed with the command's usage hint, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string name;   ///< "--mix"
  std::string value;  ///< "" for a flag, else the value's placeholder
  std::string help;
};

struct CommandSpec {
  std::string name;
  std::string synopsis;
  std::string description;
  std::vector<std::string> positional;  ///< names of required positional arguments
  std::vector<OptionSpec> options;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool has(const std::string& option) const { return options.count(option) != 0; }
  std::string get(const std::string& option, const std::string& fallback = {}) const {
    const auto it = options.find(option);
    return it == options.end() ? fallback : it->second;
  }
};

void print_help(const CommandSpec& command, std::ostream& out);

/// Parses argv against the spec; returns nullopt after printing --help.
std::optional<Args> parse_args(const CommandSpec& command, const std::vector<std::string>& argv);

/// A whole number in [lo, hi], or a UsageError naming the option.
long parse_int(const std::string& option, const std::string& text, long lo, long hi);
/// A finite number, or a UsageError naming the option.
double parse_real(const std::string& option, const std::string& text);

/// Every option that names a required value, or a UsageError for the first one missing.
void require_options(const Args& args, std::initializer_list<const char*> names);

}  // namespace rmsmp_cli
