# normand, the daemon: process view, owner registry, port rules, connection
# manager, sessions and the server (library normand_daemon, also linked by
# the tests), and the executable (<build>/kernel/normand/normand).
# Included from kernel/CMakeLists.txt after normand/CMakeLists.txt, which
# defines normand_core_net (TAP, neighbor table, fallback bridge).
set(_nd ${CMAKE_CURRENT_LIST_DIR})
add_library(normand_daemon STATIC
  ${_nd}/log.cpp
  ${_nd}/process_info.cpp
  ${_nd}/owner_registry.cpp
  ${_nd}/port_registry.cpp
  ${_nd}/request_args.cpp
  ${_nd}/quota.cpp
  ${_nd}/conn_manager.cpp
  ${_nd}/link_watch.cpp
  ${_nd}/filter_installer.cpp
  ${_nd}/filter_service.cpp
  ${_nd}/host_netfilter.cpp
  ${_nd}/reject_reply.cpp
  ${_nd}/filter_log.cpp
  ${_nd}/policy_store.cpp
  ${_nd}/capture_args.cpp
  ${_nd}/capture_hw.cpp
  ${_nd}/capture_service.cpp
  ${_nd}/sets_service.cpp
  ${_nd}/session.cpp
  ${_nd}/server.cpp)
target_include_directories(normand_daemon PUBLIC ${_nd})
target_link_libraries(normand_daemon
  PUBLIC normand_core_net normand_proto norman_nsim_backend norman_pci_backend norman_filter norman_capture norman_sets nlohmann_json::nlohmann_json Boost::headers
  # nfw_syntax: the boot-time rules file is an nfw-save file.
  PRIVATE nfw_syntax norman_warnings)

add_executable(normand ${_nd}/main.cpp)
target_link_libraries(normand PRIVATE normand_daemon norman_warnings)
set_target_properties(normand PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/kernel/normand)
install(TARGETS normand RUNTIME DESTINATION bin)
install(FILES ${_nd}/normand.service DESTINATION lib/systemd/system)
unset(_nd)
