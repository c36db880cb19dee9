# runtime_bench: host-side cost of libnorman (runtime/) with a software NIC;
# prints JSON. Included from bench/CMakeLists.txt. See bench/README.md.
if(TARGET norman AND TARGET norman_testing)
  add_executable(runtime_bench ${CMAKE_CURRENT_LIST_DIR}/runtime_bench.cpp)
  target_link_libraries(runtime_bench PRIVATE norman norman_testing norman_warnings)

  # CI smoke: `runtime_bench --quick` must run and print JSON with every section.
  add_test(NAME runtime_bench_smoke
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/runtime_smoke_check.py $<TARGET_FILE:runtime_bench>)
  set_tests_properties(runtime_bench_smoke PROPERTIES TIMEOUT 120 LABELS bench)
endif()
