# The register map is generated at configure time from hw/regmap/norman.json;
# CMake re-runs (and so regenerates) whenever the spec or the generator changes.
set(NORMAN_REGMAP_SPEC ${CMAKE_SOURCE_DIR}/hw/regmap/norman.json)
set(NORMAN_REGMAP_GEN ${CMAKE_SOURCE_DIR}/hw/regmap/gen_regmap.py)
set(NORMAN_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
set(NORMAN_REGMAP_SV ${NORMAN_GEN_DIR}/regmap/norman_regmap_pkg.sv)
set(NORMAN_REGMAP_HPP ${NORMAN_GEN_DIR}/include/norman/regmap.hpp)
file(MAKE_DIRECTORY ${NORMAN_GEN_DIR}/regmap ${NORMAN_GEN_DIR}/include/norman)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NORMAN_REGMAP_SPEC} ${NORMAN_REGMAP_GEN})
execute_process(
  COMMAND ${Python3_EXECUTABLE} ${NORMAN_REGMAP_GEN} ${NORMAN_REGMAP_SPEC} ${NORMAN_REGMAP_SV} ${NORMAN_REGMAP_HPP}
  RESULT_VARIABLE _regmap_rc)
if(NOT _regmap_rc EQUAL 0)
  message(FATAL_ERROR "register map generation failed")
endif()

add_library(norman_regmap INTERFACE)
target_include_directories(norman_regmap INTERFACE ${NORMAN_GEN_DIR}/include)
