// The rmsmp tool's commands. Each lives in its own file and brings its CommandSpec, so that
// main.cpp's help, dispatch and error handling cover every command the same way.
#pragma once

#include "command_line.hpp"

namespace rmsmp_cli {

struct Command {
  CommandSpec spec;
  /// Runs the command on parsed arguments whose values check_options has accepted, and returns
  /// the exit status. Throws UsageError (exit status 2) or any std::exception for a refused
  /// file or model (exit status 1).
  int (*run)(const Args&);
  /// Checks every option's value without touching a file: UsageError for the first bad one.
  /// main.cpp calls it before run, so a typo fails at once, not after a model and its data are
  /// loaded; the CLI's fuzz target (tests/fuzz/cli_options_fuzz.cpp) calls it the same way.
  void (*check_options)(const Args&);
};

Command quantize_command();  // quantize_command.cpp
Command eval_command();      // inference_commands.cpp
Command run_command();       // inference_commands.cpp
Command info_command();      // info_command.cpp

/// The --json flag of eval, run and info.
inline const OptionSpec json_option{"--json", "", "print the result as one JSON object on stdout (fields: docs/cli.md)"};

}  // namespace rmsmp_cli
