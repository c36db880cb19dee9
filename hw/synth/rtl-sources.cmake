# Prints the RTL source list of hw/rtl/sources.cmake (the list the Verilator
# models, the ctest hw_lint and the board file lists use), one absolute path
# per line, packages first:
#   cmake -P hw/synth/rtl-sources.cmake
# scripts/hw-lint.sh and hw/synth/synth.py read it, so the commands the
# README prints check exactly what the build compiles.
cmake_minimum_required(VERSION 3.20)
get_filename_component(_root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
# sources.cmake globs with CONFIGURE_DEPENDS, which script mode refuses:
# evaluate its text without that keyword, in its own directory.
file(READ ${_root}/hw/rtl/sources.cmake _rtl_list)
string(REPLACE "CONFIGURE_DEPENDS" "" _rtl_list "${_rtl_list}")
string(REPLACE "\${CMAKE_CURRENT_LIST_DIR}" "${_root}/hw/rtl" _rtl_list "${_rtl_list}")
cmake_language(EVAL CODE "${_rtl_list}")
list(JOIN NORMAN_RTL_SOURCES "\n" _text)
execute_process(COMMAND ${CMAKE_COMMAND} -E echo "${_text}")
