# Driver for one compile-must-fail test (run by ctest via `cmake -P`).
#
# Inputs (-D):
#   BINARY_DIR      rmsmp build tree
#   SOURCE          the test source; first line `// expect: <regex>`
#   TARGET          object target compiling SOURCE as is          -> must FAIL
#   CONTROL_TARGET  same source with RMSMP_COMPILE_FAIL_CONTROL   -> must COMPILE
#   CONFIG          build configuration (may be empty)
cmake_minimum_required(VERSION 3.22)

foreach(_var BINARY_DIR SOURCE TARGET CONTROL_TARGET)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: -D${_var}=... is required")
  endif()
endforeach()

file(STRINGS "${SOURCE}" _first_line LIMIT_COUNT 1)
if(NOT _first_line MATCHES "^// expect: (.+)$")
  message(FATAL_ERROR "${SOURCE}: first line must be `// expect: <regex>`")
endif()
string(STRIP "${CMAKE_MATCH_1}" _expect)

# Plain ASCII diagnostics (no locale-dependent quotes) for stable matching.
set(ENV{LC_ALL} C)
set(ENV{LANG} C)

set(_config_args "")
if(CONFIG)
  set(_config_args --config "${CONFIG}")
endif()

function(_rmsmp_build target out_rc out_log)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${BINARY_DIR}" --target "${target}" ${_config_args}
    RESULT_VARIABLE _rc
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _out)
  set(${out_rc} "${_rc}" PARENT_SCOPE)
  set(${out_log} "${_out}" PARENT_SCOPE)
endfunction()

# (1) Control: with RMSMP_COMPILE_FAIL_CONTROL the file must compile. This
#     proves the harness, includes and flags are fine, so that the failure
#     below is caused by the code under test.
_rmsmp_build("${CONTROL_TARGET}" _rc _log)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR
    "compile_fail control FAILED: ${SOURCE} does not compile with "
    "-DRMSMP_COMPILE_FAIL_CONTROL (target ${CONTROL_TARGET}); the control "
    "variant must be valid code.\n--- build output ---\n${_log}")
endif()

# (2) The real thing: must fail, with the expected diagnostic.
_rmsmp_build("${TARGET}" _rc _log)
if(_rc EQUAL 0)
  message(FATAL_ERROR
    "compile_fail FAILED: ${SOURCE} compiled successfully (target ${TARGET}) "
    "but was expected to fail with a diagnostic matching: ${_expect}\n"
    "--- build output ---\n${_log}")
endif()
# Match against the diagnostics only: drop the build tool's own lines and the
# compiler command line (it contains the file name and all flags).
string(REGEX REPLACE "\n[^\n]* -c [^\n]*" "" _diagnostics "\n${_log}")
string(REGEX REPLACE
  "\n(FAILED: |ninja: |g?make(\\[[0-9]+\\])?: |\\[[0-9]+/[0-9]+\\] |\\[ *[0-9]+%\\] )[^\n]*" ""
  _diagnostics "${_diagnostics}")
if(NOT _diagnostics MATCHES "${_expect}")
  message(FATAL_ERROR
    "compile_fail FAILED: ${SOURCE} failed to compile as expected, but no "
    "diagnostic matched the regex: ${_expect}\n--- build output ---\n${_log}")
endif()

message(STATUS "compile_fail OK: ${SOURCE} failed with a diagnostic matching `${_expect}`; control compiled")
