# Downstream-consumer checks, run as `cmake -P` (ctest: consumer.*).
#
# Inputs (-D):
#   RMSMP_SOURCE_DIR  rmsmp source tree
#   RMSMP_BINARY_DIR  configured rmsmp build tree (installed with cmake --install)
#   WORK_DIR          scratch directory (wiped)
#   MODES             any of package;subdirectory;pkgconfig (default: all three)
#   GENERATOR         CMake generator for the consumer (default: CMake's default)
#   CXX_COMPILER      C++ compiler (default: c++)
#   CONFIG            build type for the consumer (default: Release)
#   CLI_INSTALLED     1 when the build tree installs the rmsmp tool (examples built with zlib,
#                     install rules on), else 0; required in package mode
#   RMSMP_VERSION     package mode, required: the version `rmsmp --version` must print
#   INSTALL_BINDIR    where under the prefix the tool is installed (default: bin)
#
#   package       cmake --install into WORK_DIR/prefix, find_package(rmsmp 0.1); with
#                 CLI_INSTALLED, <prefix>/bin/rmsmp --version must name RMSMP_VERSION
#   subdirectory  add_subdirectory(RMSMP_SOURCE_DIR): rmsmp must not build its
#                 own tests/bench/examples there
#   pkgconfig     cmake --install, then compile main.cpp with
#                 `pkg-config --cflags --libs rmsmp` using only the compiler
cmake_minimum_required(VERSION 3.22)

foreach(_var RMSMP_SOURCE_DIR RMSMP_BINARY_DIR WORK_DIR)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT MODES)
  set(MODES package subdirectory pkgconfig)
endif()
if(NOT CXX_COMPILER)
  set(CXX_COMPILER c++)
endif()
if(NOT CONFIG)
  set(CONFIG Release)
endif()
if(NOT INSTALL_BINDIR)
  set(INSTALL_BINDIR bin)
endif()
set(_generator_args "")
if(GENERATOR)
  set(_generator_args -G "${GENERATOR}")
endif()

set(CONSUMER_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(PREFIX "${WORK_DIR}/prefix")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# run(<step description> COMMAND ...): run, fail loudly with the output.
function(run step)
  cmake_parse_arguments(PARSE_ARGV 1 R "" "OUTPUT_VAR" "COMMAND")
  string(REPLACE ";" " " _pretty "${R_COMMAND}")
  message(STATUS "[consumer] ${step}: ${_pretty}")
  execute_process(COMMAND ${R_COMMAND}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR
      "[consumer] step '${step}' FAILED (exit ${_rc})\n"
      "command: ${_pretty}\n--- output ---\n${_out}")
  endif()
  if(R_OUTPUT_VAR)
    set(${R_OUTPUT_VAR} "${_out}" PARENT_SCOPE)
  endif()
endfunction()

function(expect_consumer_ok step output)
  if(NOT output MATCHES "consumer ok")
    message(FATAL_ERROR
      "[consumer] step '${step}': program did not print 'consumer ok'\n--- output ---\n${output}")
  endif()
endfunction()

set(_installed FALSE)
macro(install_rmsmp)
  if(NOT _installed)
    # The install copies the built tool: build it first (a no-op after a full build), so that
    # `ctest -R consumer` works on a tree where only some targets were built.
    if(CLI_INSTALLED)
      run("build the rmsmp tool"
        COMMAND "${CMAKE_COMMAND}" --build "${RMSMP_BINARY_DIR}" --target rmsmp_cli --config "${CONFIG}")
    endif()
    run("install rmsmp"
      COMMAND "${CMAKE_COMMAND}" --install "${RMSMP_BINARY_DIR}" --prefix "${PREFIX}"
              --config "${CONFIG}")
    foreach(_f
        "${PREFIX}/include/rmsmp/rmsmp.hpp"
        "${PREFIX}/share/rmsmp/cmake/rmsmpConfig.cmake"
        "${PREFIX}/share/rmsmp/cmake/rmsmpConfigVersion.cmake"
        "${PREFIX}/share/rmsmp/cmake/rmsmpTargets.cmake"
        "${PREFIX}/share/pkgconfig/rmsmp.pc")
      if(NOT EXISTS "${_f}")
        message(FATAL_ERROR "[consumer] install step: expected file missing: ${_f}")
      endif()
    endforeach()
    set(_installed TRUE)
  endif()
endmacro()

foreach(_mode IN LISTS MODES)
  set(_build "${WORK_DIR}/build-${_mode}")
  if(_mode STREQUAL "package")
    # Required rather than defaulted: a test registration that forgot them would otherwise
    # skip the installed tool's check without a word.
    foreach(_var CLI_INSTALLED RMSMP_VERSION)
      if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
        message(FATAL_ERROR "run.cmake: package mode needs -D${_var}=...")
      endif()
    endforeach()
    install_rmsmp()
    if(CLI_INSTALLED)
      run("package: installed rmsmp --version"
        COMMAND "${PREFIX}/${INSTALL_BINDIR}/rmsmp" --version OUTPUT_VAR _version_out)
      string(REGEX REPLACE "\\." "\\\\." _version_regex "${RMSMP_VERSION}")
      if(NOT _version_out MATCHES "^rmsmp ${_version_regex}\n")
        message(FATAL_ERROR
          "[consumer] package: <prefix>/${INSTALL_BINDIR}/rmsmp --version does not start with 'rmsmp ${RMSMP_VERSION}'\n"
          "--- output ---\n${_version_out}")
      endif()
      message(STATUS "[consumer] package: installed tool says ${_version_out}")
    else()
      message(STATUS "[consumer] package: this build installs no rmsmp tool (examples off, no zlib, "
                     "or RMSMP_INSTALL off): its check is not run")
    endif()
    run("package: configure"
      COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${_build}" ${_generator_args}
              "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${CONFIG}"
              -DCONSUMER_MODE=package "-DCMAKE_PREFIX_PATH=${PREFIX}"
              -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
    # Make sure the installed package was used, not some other copy.
    file(STRINGS "${_build}/CMakeCache.txt" _dir REGEX "^rmsmp_DIR:")
    string(FIND "${_dir}" "${PREFIX}/share/rmsmp/cmake" _pos)
    if(_pos EQUAL -1)
      message(FATAL_ERROR "[consumer] package: found the wrong rmsmp: ${_dir}")
    endif()
  elseif(_mode STREQUAL "subdirectory")
    run("subdirectory: configure"
      COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${_build}" ${_generator_args}
              "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${CONFIG}"
              -DCONSUMER_MODE=subdirectory "-DRMSMP_SOURCE_DIR=${RMSMP_SOURCE_DIR}")
    # Not top level => rmsmp must not add its tests, benchmarks or examples.
    foreach(_sub tests bench examples rtl)
      if(EXISTS "${_build}/rmsmp-build/${_sub}")
        message(FATAL_ERROR
          "[consumer] subdirectory: rmsmp configured '${_sub}' although it is not the top-level project")
      endif()
    endforeach()
  elseif(_mode STREQUAL "pkgconfig")
    install_rmsmp()
    find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
    if(NOT PKG_CONFIG_EXECUTABLE)
      message(FATAL_ERROR "[consumer] pkgconfig: pkg-config not found (apt-get install pkg-config)")
    endif()
    # As README says: compile and link flags, in one command.
    run("pkgconfig: pkg-config --cflags --libs rmsmp"
      COMMAND "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${PREFIX}/share/pkgconfig"
              "${PKG_CONFIG_EXECUTABLE}" --cflags --libs rmsmp
      OUTPUT_VAR _cflags)
    string(STRIP "${_cflags}" _cflags)
    message(STATUS "[consumer] pkgconfig: cflags and libs = ${_cflags}")
    separate_arguments(_cflags UNIX_COMMAND "${_cflags}")
    file(MAKE_DIRECTORY "${_build}")
    run("pkgconfig: compile"
      COMMAND "${CXX_COMPILER}" "${CONSUMER_SOURCE_DIR}/main.cpp" ${_cflags}
              -o "${_build}/consumer")
    run("pkgconfig: run" COMMAND "${_build}/consumer" OUTPUT_VAR _out)
    expect_consumer_ok("pkgconfig: run" "${_out}")
    message(STATUS "[consumer] pkgconfig OK")
    continue()
  else()
    message(FATAL_ERROR "[consumer] unknown mode '${_mode}' (package, subdirectory, pkgconfig)")
  endif()

  run("${_mode}: build" COMMAND "${CMAKE_COMMAND}" --build "${_build}" --config "${CONFIG}")
  set(_exe "${_build}/consumer")
  if(NOT EXISTS "${_exe}" AND EXISTS "${_build}/${CONFIG}/consumer")
    set(_exe "${_build}/${CONFIG}/consumer")
  endif()
  run("${_mode}: run" COMMAND "${_exe}" OUTPUT_VAR _out)
  expect_consumer_ok("${_mode}: run" "${_out}")
  message(STATUS "[consumer] ${_mode} OK")
endforeach()
