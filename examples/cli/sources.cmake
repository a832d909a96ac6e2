# The tool's sources other than main.cpp: the command-line parser and the commands. The tool
# (examples/cli/CMakeLists.txt) and the CLI options fuzz target (tests/fuzz/CMakeLists.txt)
# both compile this list, so a new command file is fuzzed as soon as the tool has it.
set(RMSMP_CLI_COMMAND_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/command_line.cpp
  ${CMAKE_CURRENT_LIST_DIR}/progress.cpp
  ${CMAKE_CURRENT_LIST_DIR}/samples.cpp
  ${CMAKE_CURRENT_LIST_DIR}/quantize_command.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inference_commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/info_command.cpp)
