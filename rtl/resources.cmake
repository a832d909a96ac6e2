# rtl_resources: synthesizes each lane type and one configured engine with Yosys
# (`synth_xilinx -family xc7 -flatten`) and prints a LUT / FF / DSP / BRAM table.
#   cmake -DYOSYS=yosys -DRTL_DIR=<rmsmp>/rtl -DWORK_DIR=<dir> -P rtl/resources.cmake
# (the build target rtl_resources runs exactly this). See docs/rtl.md for the numbers.
cmake_minimum_required(VERSION 3.22)

foreach(_var YOSYS RTL_DIR WORK_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "resources.cmake: -D${_var}=... is required")
  endif()
endforeach()
file(MAKE_DIRECTORY "${WORK_DIR}")

set(_all rmsmp_pkg rmsmp_memory rmsmp_term_pot rmsmp_term_sp2 rmsmp_term_fixed rmsmp_lane_accumulator rmsmp_lane
         rmsmp_activation_buffer rmsmp_result_queue rmsmp_output_pipeline rmsmp_engine)
set(_sources "")
foreach(_m IN LISTS _all)
  list(APPEND _sources "${RTL_DIR}/${_m}.sv")
endforeach()
list(JOIN _sources " " _source_text)

# name | top | parameters (Yosys reads every file and elaborates only the top)
set(_designs
  "PoT lane, 4-bit act|rmsmp_lane|KIND 0 K_PAR 4 A_W 5"
  "SP2 lane, 4-bit act|rmsmp_lane|KIND 1 K_PAR 4 A_W 5"
  "Fixed-4 lane, 4-bit act|rmsmp_lane|KIND 2 K_PAR 4 A_W 5"
  "Fixed-8 lane, 4-bit act|rmsmp_lane|KIND 3 K_PAR 4 A_W 5"
  "PoT lane, 8-bit act|rmsmp_lane|KIND 0 K_PAR 4 A_W 9"
  "SP2 lane, 8-bit act|rmsmp_lane|KIND 1 K_PAR 4 A_W 9"
  "Fixed-4 lane, 8-bit act|rmsmp_lane|KIND 2 K_PAR 4 A_W 9"
  "Fixed-8 lane, 8-bit act|rmsmp_lane|KIND 3 K_PAR 4 A_W 9"
  "output pipeline|rmsmp_output_pipeline|INDEX_W 9"
  "engine 12 PoT / 7 Fixed-4 / 1 Fixed-8, K_PAR 4, 4-bit act|rmsmp_engine|POT_LANES 12 SP2_LANES 0 FIX4_LANES 7 FIX8_LANES 1 K_PAR 4 ACT_BITS 4 ACC_BITS 32 WEIGHT_DEPTH 256 ACT_DEPTH 128 PARAM_DEPTH 512")

set(_table "| design | LUT | FF | DSP48E1 | RAMB18E1 + 2 x RAMB36E1 | LUTRAM/SRL cells | CARRY4 |\n|---|---|---|---|---|---|---|\n")
set(_index 0)
foreach(_design IN LISTS _designs)
  string(REPLACE "|" ";" _fields "${_design}")
  list(GET _fields 0 _name)
  list(GET _fields 1 _top)
  list(GET _fields 2 _params)
  string(REPLACE " " ";" _params "${_params}")
  set(_chparam "")
  list(LENGTH _params _n)
  math(EXPR _last "${_n} - 1")
  foreach(_i RANGE 0 ${_last} 2)
    math(EXPR _j "${_i} + 1")
    list(GET _params ${_i} _p)
    list(GET _params ${_j} _v)
    string(APPEND _chparam " -set ${_p} ${_v}")
  endforeach()
  set(_stat "${WORK_DIR}/stat_${_index}.txt")
  set(_script "read_verilog -sv ${_source_text}; chparam${_chparam} ${_top}; synth_xilinx -family xc7 -flatten -top ${_top}; tee -q -o ${_stat} stat")
  message(STATUS "yosys: ${_name}")
  execute_process(COMMAND "${YOSYS}" -q -l "${WORK_DIR}/yosys_${_index}.log" -p "${_script}"
                  RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "yosys failed on ${_name}; see ${WORK_DIR}/yosys_${_index}.log")
  endif()
  file(READ "${_stat}" _text)
  set(_lut 0)
  set(_ff 0)
  set(_dsp 0)
  set(_bram 0)
  set(_lutram 0)
  set(_carry 0)
  string(REGEX MATCHALL "\n +[A-Z0-9_]+ +[0-9]+" _cells "${_text}")
  foreach(_cell IN LISTS _cells)
    string(REGEX MATCH "([A-Z0-9_]+) +([0-9]+)" _ "${_cell}")
    set(_type "${CMAKE_MATCH_1}")
    set(_count "${CMAKE_MATCH_2}")
    if(_type MATCHES "^LUT[1-6]$")
      math(EXPR _lut "${_lut} + ${_count}")
    elseif(_type MATCHES "^FD[RSCP]E$")
      math(EXPR _ff "${_ff} + ${_count}")
    elseif(_type STREQUAL "DSP48E1")
      math(EXPR _dsp "${_dsp} + ${_count}")
    elseif(_type STREQUAL "RAMB18E1")
      math(EXPR _bram "${_bram} + ${_count}")
    elseif(_type STREQUAL "RAMB36E1")
      math(EXPR _bram "${_bram} + 2 * ${_count}")
    elseif(_type MATCHES "^(RAM[0-9]+[MXSD0-9]*|SRL16E|SRLC32E)$")
      math(EXPR _lutram "${_lutram} + ${_count}")
    elseif(_type STREQUAL "CARRY4")
      math(EXPR _carry "${_carry} + ${_count}")
    endif()
  endforeach()
  string(APPEND _table "| ${_name} | ${_lut} | ${_ff} | ${_dsp} | ${_bram} | ${_lutram} | ${_carry} |\n")
  math(EXPR _index "${_index} + 1")
endforeach()

file(WRITE "${WORK_DIR}/resources.md" "${_table}")
message("\nYosys synth_xilinx -family xc7 -flatten (weight memories: 256 words per lane)\n\n${_table}")
