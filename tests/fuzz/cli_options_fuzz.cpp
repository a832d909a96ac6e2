// libFuzzer target: the rmsmp tool's command line (examples/cli/command_line.hpp) and every
// command's option checks (Command::check_options), which run before a command opens a file.
// The input is the arguments after `rmsmp`, separated by NUL bytes; the first one names the
// command. A bad command line must end in a UsageError (the tool's exit status 2), never in
// another exception, a crash or a sanitizer report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "fuzz_support.hpp"

namespace {

std::vector<std::string> split_arguments(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) args.emplace_back();
    else args.back().push_back(static_cast<char>(data[i]));
  }
  return args;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rmsmp_cli;
  static const std::vector<Command> commands = {quantize_command(), eval_command(), run_command(), info_command()};
  const std::vector<std::string> args = split_arguments(data, size);
  for (const Command& command : commands) {
    if (command.spec.name != args[0]) continue;
    try {
      const std::optional<Args> parsed = parse_args(command.spec, {args.begin() + 1, args.end()});
      if (!parsed) return 0;  // --help
      rmsmp_fuzz::check(parsed->positional.size() == command.spec.positional.size());
      for (const auto& option : parsed->options)
        rmsmp_fuzz::check(std::ranges::any_of(command.spec.options, [&](const OptionSpec& o) { return o.name == option.first; }));
      command.check_options(*parsed);
    } catch (const UsageError&) {
    }
  }
  return 0;
}
