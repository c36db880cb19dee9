# Norman's constraints inside the OpenNIC shell (added after the shell's
# pins/timing/general .xdc by build_alveo.tcl). The shell constrains its own
# clocks: axis_aclk (250 MHz, from the QDMA) and axil_aclk (125 MHz, divided
# from it). Norman adds only its clock-domain crossings.

# board_async_fifo in axil_csr_bridge: Gray-coded pointers cross through two
# flops; bound the pointer bits' skew to one fast period (a pointer is never
# seen mid-change), and the storage read to the destination period.
foreach fifo {u_csr/u_req u_csr/u_rsp} {
  set base [get_cells -quiet -hier -filter "NAME =~ */norman_box_inst/$fifo"]
  if {[llength $base] != 1} {
    puts "CRITICAL WARNING: norman_alveo.xdc: no unique */norman_box_inst/$fifo ([llength $base] found)"
    continue
  }
  set_max_delay -datapath_only 4.000 \
    -from [get_cells -hier -filter "NAME =~ $base/wgray_q_reg*"] \
    -to [get_cells -hier -filter "NAME =~ $base/wgray_r1_q_reg*"]
  set_max_delay -datapath_only 4.000 \
    -from [get_cells -hier -filter "NAME =~ $base/rgray_q_reg*"] \
    -to [get_cells -hier -filter "NAME =~ $base/rgray_w1_q_reg*"]
  set_max_delay -datapath_only 4.000 -from [get_cells -hier -filter "NAME =~ $base/mem_q_reg*"]
}

# board_reset_sync: the reset asserts asynchronously into each domain; only
# its release (the synchroniser's output) is timed.
set_false_path -to [get_pins -quiet -hier -filter {NAME =~ */norman_box_inst/u_rst_*/sync_q_reg[*]/CLR}]
