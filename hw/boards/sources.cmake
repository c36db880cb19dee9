# SystemVerilog of the board shells, per board, in compile order after the
# core (hw/rtl/sources.cmake) and the generated register-map package.
# Read by hw/boards/CMakeLists.txt (the lint tests) and by filelist.cmake
# (the vendor project scripts), so lint and vendor builds see the same files.
#   NORMAN_BOARD_<B>_SOURCES   design files the vendor tool compiles
#   NORMAN_BOARD_<B>_INCDIRS   include directories (Verilog headers)
#   NORMAN_BOARD_<B>_BLACKBOX  interface declarations of vendor cores and the
#                              lint harness: Verilator only, never synthesised
#   NORMAN_BOARD_<B>_LINT_TOP  the harness module
set(NORMAN_BOARDS alveo s10mx)
# CONFIGURE_DEPENDS re-globs at build time in a configured tree; script mode
# (filelist.cmake run by a vendor script) does not accept it.
if(CMAKE_SCRIPT_MODE_FILE)
  set(_norman_cd "")
else()
  set(_norman_cd CONFIGURE_DEPENDS)
endif()
file(GLOB NORMAN_BOARD_COMMON_SOURCES ${_norman_cd} ${CMAKE_CURRENT_LIST_DIR}/common/*.sv)
list(SORT NORMAN_BOARD_COMMON_SOURCES)
foreach(_b IN LISTS NORMAN_BOARDS)
  string(TOUPPER ${_b} _B)
  file(GLOB _rtl ${_norman_cd} ${CMAKE_CURRENT_LIST_DIR}/${_b}/rtl/*.sv)
  file(GLOB _bb ${_norman_cd} ${CMAKE_CURRENT_LIST_DIR}/${_b}/blackbox/*.sv)
  list(SORT _rtl)
  list(SORT _bb)
  set(NORMAN_BOARD_${_B}_SOURCES ${NORMAN_BOARD_COMMON_SOURCES} ${_rtl})
  set(NORMAN_BOARD_${_B}_BLACKBOX ${_bb})
endforeach()
set(NORMAN_BOARD_ALVEO_INCDIRS ${CMAKE_CURRENT_LIST_DIR}/alveo/onic_plugin/box_250mhz)
set(NORMAN_BOARD_ALVEO_LINT_TOP alveo_lint_top)
set(NORMAN_BOARD_S10MX_INCDIRS "")
set(NORMAN_BOARD_S10MX_LINT_TOP norman_s10mx_top)
