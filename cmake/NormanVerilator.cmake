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

# norman_verilate(TARGET TOP <module> [PREFIX <name>] [PARAMS K=V ...]
#                 [EXTRA_SOURCES <sv...>] [ARGS <verilator args...>] [TRACE])
# Adds the verilated model of <module> to TARGET, which should be a library
# of its own: our strict warnings are for our code, not Verilator's, so the
# model's include directories reach its users as system includes.
function(norman_verilate target)
  cmake_parse_arguments(V "TRACE" "TOP;PREFIX" "PARAMS;EXTRA_SOURCES;ARGS" ${ARGN})
  if(NOT V_PREFIX)
    set(V_PREFIX V${V_TOP})
  endif()
  set(args ${NORMAN_VERILATOR_ARGS} ${V_ARGS})
  foreach(p IN LISTS V_PARAMS)
    list(APPEND args -G${p})
  endforeach()
  set(trace_arg)
  if(V_TRACE)
    set(trace_arg TRACE_FST)
  endif()
  verilate(${target}
    SOURCES ${NORMAN_REGMAP_SV} ${NORMAN_RTL_SOURCES} ${V_EXTRA_SOURCES}
    TOP_MODULE ${V_TOP}
    PREFIX ${V_PREFIX}
    ${trace_arg}
    VERILATOR_ARGS ${args}
    OPT_FAST -O2)
  set_target_properties(${target} PROPERTIES
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES $<TARGET_PROPERTY:${target},INTERFACE_INCLUDE_DIRECTORIES>)
endfunction()

# norman_add_rtl_test(NAME <exe> TOP <module> SOURCES <cpp...> [PARAMS ...] [PREFIX ...]
#                     [EXTRA_SOURCES <test-only sv...>] [ARGS ...] [LIBS ...])
# A GoogleTest executable driving a verilated module (built as <exe>_model);
# registered with ctest, one entry per test case.
function(norman_add_rtl_test)
  cmake_parse_arguments(T "" "NAME;TOP;PREFIX" "SOURCES;PARAMS;LIBS;EXTRA_SOURCES;ARGS" ${ARGN})
  set(extra)
  if(T_PREFIX)
    set(extra PREFIX ${T_PREFIX})
  endif()
  add_library(${T_NAME}_model STATIC)
  norman_verilate(${T_NAME}_model TOP ${T_TOP} PARAMS ${T_PARAMS} EXTRA_SOURCES ${T_EXTRA_SOURCES}
    ARGS ${T_ARGS} ${extra})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_NAME}_model GTest::gtest_main norman_regmap norman_warnings
    ${T_LIBS})
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/tests/rtl/common
    ${CMAKE_SOURCE_DIR}/tests/common)
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60)
endfunction()
