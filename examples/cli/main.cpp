// rmsmp — the command-line tool: quantize a float model directory, evaluate, run, inspect.
//
//   rmsmp quantize <model-dir> --mix pot4:60,fixed4:35,fixed8:5 --calib <images> -o model.rmsmp
//   rmsmp eval model.rmsmp --data <images> --labels <labels> [--float <model-dir>] [--json]
//   rmsmp run model.rmsmp --data <images> [--json]
//   rmsmp info model.rmsmp [--json]
//   rmsmp --version
//
// Images and labels are .npy arrays or IDX files (gzip or not). Exit status: 0 success,
// 1 a file or model was refused, 2 bad command line.
#include <algorithm>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/version.hpp"

namespace {

using namespace rmsmp_cli;

void print_main_help(const std::vector<Command>& commands, std::ostream& out) {
  out << "usage: rmsmp <command> [arguments]\n"
         "       rmsmp --version\n\n"
         "Row-wise mixed-scheme, multi-precision quantization and integer-only inference.\n\ncommands:\n";
  for (const Command& c : commands) out << "  " << c.spec.synopsis << "\n";
  out << "\n'rmsmp <command> --help' explains a command.\n";
}

/// The library version, then the CPU kernels this binary has and the one dispatch runs here
/// (what a bug report needs to reproduce a result).
void print_version(std::ostream& out) {
  namespace cpu = rmsmp::cpu;
  out << "rmsmp " << rmsmp::version_string << "\n";
  std::string compiled;
  for (cpu::ArchId arch : cpu::all_archs)
    if (cpu::kernel_compiled(arch)) compiled += (compiled.empty() ? "" : ", ") + std::string(cpu::arch_name(arch));
  out << "cpu kernels: " << compiled << "; dispatch picks " << cpu::arch_name(cpu::best_available_arch())
      << " on this machine\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<Command> commands = {quantize_command(), eval_command(), run_command(), info_command()};
  if (args.empty()) {
    print_main_help(commands, std::cerr);
    return 2;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_main_help(commands, std::cout);
    return 0;
  }
  if (args[0] == "--version") {
    if (args.size() > 1) {
      std::cerr << "rmsmp: --version takes no arguments, got '" << args[1] << "'\n";
      return 2;
    }
    print_version(std::cout);
    return 0;
  }
  const auto command = std::find_if(commands.begin(), commands.end(), [&](const Command& c) { return c.spec.name == args[0]; });
  if (command == commands.end()) {
    std::cerr << "rmsmp: unknown command '" << args[0] << "'\n\n";
    print_main_help(commands, std::cerr);
    return 2;
  }
  try {
    const std::optional<Args> parsed = parse_args(command->spec, {args.begin() + 1, args.end()});
    if (!parsed) return 0;
    command->check_options(*parsed);  // every value, before run opens a file
    return command->run(*parsed);
  } catch (const UsageError& e) {
    std::cerr << "rmsmp " << command->spec.name << ": " << e.what() << "\n(see 'rmsmp " << command->spec.name << " --help')\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
