# The file list a vendor project compiles, from the same lists CMake, lint
# and nsim use (no hand-kept copy):
#   cmake -DBOARD=alveo|s10mx -DOUT_DIR=DIR -P hw/boards/filelist.cmake
# writes DIR/gen/norman_regmap_pkg.sv and norman/regmap.hpp (generated from
# hw/regmap/norman.json exactly as the CMake build does, so the bitstream's
# BUILD_ID is the one software built from this tree expects), and
# DIR/sources.f: one absolute path per line in compile order (regmap
# package, core packages, core modules, board shell), then "+incdir+DIR"
# lines. Needs python3.
cmake_minimum_required(VERSION 3.20)
if(NOT DEFINED BOARD OR NOT DEFINED OUT_DIR)
  message(FATAL_ERROR "usage: cmake -DBOARD=alveo|s10mx -DOUT_DIR=DIR -P filelist.cmake")
endif()
get_filename_component(_root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
# hw/rtl/sources.cmake globs with CONFIGURE_DEPENDS, which script mode
# refuses: evaluate its text without that keyword, in its own directory.
file(READ ${_root}/hw/rtl/sources.cmake _rtl_list)
string(REPLACE "CONFIGURE_DEPENDS" "" _rtl_list "${_rtl_list}")
string(REPLACE "\${CMAKE_CURRENT_LIST_DIR}" "${_root}/hw/rtl" _rtl_list "${_rtl_list}")
cmake_language(EVAL CODE "${_rtl_list}")
include(${_root}/hw/boards/sources.cmake)
string(TOUPPER ${BOARD} _B)
if(NOT BOARD IN_LIST NORMAN_BOARDS)
  message(FATAL_ERROR "unknown BOARD '${BOARD}' (one of: ${NORMAN_BOARDS})")
endif()
find_program(_python NAMES python3 REQUIRED)
file(MAKE_DIRECTORY ${OUT_DIR}/gen/norman)
execute_process(
  COMMAND ${_python} ${_root}/hw/regmap/gen_regmap.py ${_root}/hw/regmap/norman.json
          ${OUT_DIR}/gen/norman_regmap_pkg.sv ${OUT_DIR}/gen/norman/regmap.hpp
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "register map generation failed")
endif()
set(_lines ${OUT_DIR}/gen/norman_regmap_pkg.sv ${NORMAN_RTL_SOURCES} ${NORMAN_BOARD_${_B}_SOURCES})
foreach(_d IN LISTS NORMAN_BOARD_${_B}_INCDIRS)
  list(APPEND _lines "+incdir+${_d}")
endforeach()
list(JOIN _lines "\n" _text)
file(WRITE ${OUT_DIR}/sources.f "${_text}\n")
message(STATUS "wrote ${OUT_DIR}/sources.f")
