# Checks that the headers under INCLUDE_DIR/rmsmp include only along the data path:
#
#   core (error.hpp, version.hpp, detail/, core/)
#     -> scheme -> quantize -> pack -> output -> kernel -> layers -> model -> io -> rmsmp.hpp
#
# A header may include headers of its own stage or of earlier stages, never of a later one; so
# each stage can be read, tested and reused knowing only what comes before it. Two more rules
# keep the internals internal: a `detail/` folder below a stage is included only from that
# stage's folder (the top-level rmsmp/detail/ serves everyone), and the backends inside kernel/
# (cpu/, rtl/) never include each other.
#
#   cmake -DINCLUDE_DIR=<dir containing rmsmp/> -P include_order.cmake
#
# Fails (exit code 1) with one line per offending include.

if(NOT DEFINED INCLUDE_DIR OR NOT IS_DIRECTORY "${INCLUDE_DIR}/rmsmp")
  message(FATAL_ERROR "include_order.cmake: pass -DINCLUDE_DIR=<directory that contains rmsmp/>")
endif()

get_filename_component(INCLUDE_DIR "${INCLUDE_DIR}" ABSOLUTE)
set(_stages scheme quantize pack output kernel layers model io)

# Stage number of a path relative to INCLUDE_DIR ("rmsmp/pack/x.hpp" -> 3); -1 if unknown.
function(_stage_of path out)
  if(path MATCHES "^rmsmp/(error|version)\\.hpp$" OR path MATCHES "^rmsmp/(detail|core)/")
    set(${out} 0 PARENT_SCOPE)
    return()
  endif()
  if(path STREQUAL "rmsmp/rmsmp.hpp")
    list(LENGTH _stages n)
    math(EXPR umbrella "${n} + 1")
    set(${out} ${umbrella} PARENT_SCOPE)
    return()
  endif()
  if(path MATCHES "^rmsmp/([a-z_]+)/")
    list(FIND _stages "${CMAKE_MATCH_1}" i)
    if(i GREATER_EQUAL 0)
      math(EXPR stage "${i} + 1")
      set(${out} ${stage} PARENT_SCOPE)
      return()
    endif()
  endif()
  set(${out} -1 PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE _headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/rmsmp/*.hpp" "${INCLUDE_DIR}/rmsmp/*.inc")
list(SORT _headers)
if(NOT _headers)
  message(FATAL_ERROR "include order: no headers under ${INCLUDE_DIR}/rmsmp")
endif()
set(_problems "")
set(_checked 0)
foreach(header IN LISTS _headers)
  _stage_of("${header}" from)
  if(from EQUAL -1)
    list(APPEND _problems "${header}: lies in no stage folder (add its folder to the data path in include_order.cmake)")
    continue()
  endif()
  file(STRINGS "${INCLUDE_DIR}/${header}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"rmsmp/")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*$" "\\1" target "${line}")
    math(EXPR _checked "${_checked} + 1")
    _stage_of("${target}" to)
    if(to EQUAL -1)
      list(APPEND _problems "${header}: includes ${target}, which lies in no stage folder")
    elseif(to GREATER from)
      list(APPEND _problems "${header}: includes ${target}, a later stage of the data path")
    endif()
    if(target MATCHES "^(rmsmp/.+)/detail/")
      if(NOT header MATCHES "^${CMAKE_MATCH_1}/")
        list(APPEND _problems "${header}: includes ${target}, an internal header of another folder")
      endif()
    endif()
    if(header MATCHES "^rmsmp/kernel/(cpu|rtl)/" AND target MATCHES "^rmsmp/kernel/(cpu|rtl)/")
      if(NOT header MATCHES "^rmsmp/kernel/${CMAKE_MATCH_1}/")
        list(APPEND _problems "${header}: includes ${target}, another backend")
      endif()
    endif()
  endforeach()
endforeach()

list(LENGTH _headers _header_count)
if(_problems)
  list(JOIN _problems "\n  " text)
  message(FATAL_ERROR "include order: headers that include against the data path:\n  ${text}")
endif()
message(STATUS "include order: ${_header_count} headers, ${_checked} rmsmp includes, all along the data path")
