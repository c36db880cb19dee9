# Helpers to verilate RTL from hw/rtl into C++ targets.
#
# All RTL is listed once, in hw/rtl/sources.cmake (packages first); a model is
# any module of it chosen as the top, with optional parameter overrides.

include(${CMAKE_SOURCE_DIR}/hw/rtl/sources.cmake)

set(NORMAN_VERILATOR_ARGS -Wall -O3 --x-assign fast --x-initial fast
  -Wno-fatal)
if(NORMAN_WERROR)
  list(REMOVE_ITEM NORMAN_VERILATOR_ARGS -Wno-fatal)
endif()

# norman_verilate(TARGET TOP <module> [PREFIX <name>] [PARAMS K=V ...] [TRACE])
# Adds the verilated model of <module> to an existing TARGET.
function(norman_verilate target)
  cmake_parse_arguments(V "TRACE" "TOP;PREFIX" "PARAMS" ${ARGN})
  if(NOT V_PREFIX)
    set(V_PREFIX V${V_TOP})
  endif()
  set(args ${NORMAN_VERILATOR_ARGS})
  foreach(p IN LISTS V_PARAMS)
    list(APPEND args -G${p})
  endforeach()
  set(trace_arg)
  if(V_TRACE)
    set(trace_arg TRACE_FST)
  endif()
  verilate(${target}
    SOURCES ${NORMAN_REGMAP_SV} ${NORMAN_RTL_SOURCES}
    TOP_MODULE ${V_TOP}
    PREFIX ${V_PREFIX}
    ${trace_arg}
    VERILATOR_ARGS ${args}
    OPT_FAST -O2)
endfunction()

# norman_add_rtl_test(NAME <exe> TOP <module> SOURCES <cpp...> [PARAMS ...] [PREFIX ...])
# A GoogleTest executable driving a verilated module; registered with ctest.
function(norman_add_rtl_test)
  cmake_parse_arguments(T "" "NAME;TOP;PREFIX" "SOURCES;PARAMS;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main norman_regmap norman_warnings ${T_LIBS})
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/tests/rtl/common)
  set(extra)
  if(T_PREFIX)
    set(extra PREFIX ${T_PREFIX})
  endif()
  norman_verilate(${T_NAME} TOP ${T_TOP} PARAMS ${T_PARAMS} ${extra})
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60)
endfunction()
