# Programs an Alveo card's FPGA over JTAG; run by nflash as
#   vivado_lab -mode batch -source program_xilinx.tcl -tclargs BITSTREAM PART [TARGET]
# BITSTREAM: the .bit file; PART: the FPGA's part prefix (xcu250, xcu280);
# TARGET: an hw_server target filter (the card's JTAG serial), default every
# target. Exactly one FPGA of PART must be found, else nothing is programmed.
# Exits 0 only when the device reports DONE.
if {[llength $argv] < 2} {
  puts stderr "usage: program_xilinx.tcl BITSTREAM PART \[TARGET\]"
  exit 2
}
set bitfile [lindex $argv 0]
set part [lindex $argv 1]
set filter [expr {[llength $argv] > 2 ? [lindex $argv 2] : "*"}]

open_hw_manager
connect_hw_server -allow_non_jtag

# Find the one target whose chain holds a device of this part.
set found {}
foreach target [get_hw_targets -quiet $filter] {
  open_hw_target -quiet $target
  foreach dev [get_hw_devices -quiet ${part}*] {
    lappend found [list $target $dev]
  }
  close_hw_target -quiet $target
}
if {[llength $found] != 1} {
  puts stderr "program_xilinx.tcl: [llength $found] devices of part $part on targets '$filter'; name the card's JTAG target with --cable"
  exit 1
}
lassign [lindex $found 0] target dev

open_hw_target $target
current_hw_device $dev
refresh_hw_device -update_hw_probes false $dev
set_property PROBES.FILE {} $dev
set_property FULL_PROBES.FILE {} $dev
set_property PROGRAM.FILE $bitfile $dev
program_hw_devices $dev
refresh_hw_device -update_hw_probes false $dev
if {[get_property REGISTER.CONFIG_STATUS.BIT14_DONE_PIN $dev] != 1} {
  puts stderr "program_xilinx.tcl: $dev did not report DONE after programming"
  exit 1
}
close_hw_target $target
close_hw_manager
exit 0
