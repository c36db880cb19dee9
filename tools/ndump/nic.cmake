# ndump's live-capture path (the NIC through normand): included by
# tools/ndump/CMakeLists.txt, linked into ndump as ndump_nic.
#   nic_source.cpp      open_nic_capture / nic_capture_stats (nic_source.hpp)
#   nic_host_filter.cpp the exact cBPF program on the host for the frames the
#                       NIC captured as a superset (docs/capture.md)
#   nic_ring.cpp        the capture ring's records (CAPTURE_REC)
add_library(ndump_nic STATIC
  ${CMAKE_CURRENT_LIST_DIR}/nic_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/nic_host_filter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/nic_ring.cpp)
target_include_directories(ndump_nic PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ndump_nic PUBLIC norman_capture normand_proto PRIVATE norman_warnings)
