#include "command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace rmsmp_cli {

void print_help(const CommandSpec& command, std::ostream& out) {
  out << "usage: rmsmp " << command.synopsis << "\n\n" << command.description << "\n";
  if (!command.options.empty()) out << "\noptions:\n";
  constexpr std::size_t help_column = 28;
  for (const OptionSpec& o : command.options) {
    std::string left = "  " + o.name + (o.value.empty() ? "" : " " + o.value);
    if (left.size() < help_column) left.resize(help_column, ' ');
    else left += "\n" + std::string(help_column, ' ');
    out << left << o.help << "\n";
  }
  out << "  -h, --help                print this help\n";
}

std::optional<Args> parse_args(const CommandSpec& command, const std::vector<std::string>& argv) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "-h" || s == "--help") {
      print_help(command, std::cout);
      return std::nullopt;
    }
    if (s.size() > 1 && s[0] == '-') {
      std::string name = s, value;
      const auto eq = s.find('=');
      if (eq != std::string::npos) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
      }
      const auto spec = std::find_if(command.options.begin(), command.options.end(),
                                     [&](const OptionSpec& o) { return o.name == name; });
      if (spec == command.options.end()) throw UsageError("unknown option " + name);
      if (a.has(name)) throw UsageError("option " + name + " given twice");
      if (spec->value.empty()) {
        if (eq != std::string::npos) throw UsageError("option " + name + " takes no value");
      } else if (eq == std::string::npos) {
        if (i + 1 >= argv.size()) throw UsageError("option " + name + " needs a value " + spec->value);
        value = argv[++i];
      }
      a.options[name] = value;
    } else {
      a.positional.push_back(s);
    }
  }
  if (a.positional.size() < command.positional.size())
    throw UsageError("missing " + command.positional[a.positional.size()]);
  if (a.positional.size() > command.positional.size())
    throw UsageError("unexpected argument '" + a.positional[command.positional.size()] + "'");
  return a;
}

long parse_int(const std::string& option, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw UsageError(option + ": '" + text + "' is not a whole number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return v;
}

double parse_real(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw UsageError(option + ": '" + text + "' is not a number");
  return v;
}

void require_options(const Args& args, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (!args.has(name)) throw UsageError(std::string("missing ") + name);
}

}  // namespace rmsmp_cli
