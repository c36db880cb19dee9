# Create, compile and check the Quartus Prime Pro project of Norman on a
# Stratix 10 MX card.
#
#   quartus_sh -t hw/boards/s10mx/s10mx_project.tcl -out DIR -ip_dir IPDIR \
#       -pins PINS.tcl [-device 1SM21BHU2F53E1VG] [-compile 1]
#
# Steps (docs/boards.md explains each):
#  1. Check the arguments: the two IP variants (IPDIR/s10_pcie_htile.ip,
#     IPDIR/s10_eth_100g.ip, generated in Platform Designer with the
#     settings docs/boards.md lists) and the board's pin assignments (a Tcl
#     file of set_location_assignment/set_instance_assignment lines for
#     pcie_*, eth_*, clk_100m and led, from the card's reference design).
#  2. Write the file list from the tree's source lists (filelist.cmake,
#     which also generates the register-map package from norman.json).
#  3. Create the project: device, top, sources, IP, SDC, pins, settings.
#  4. Compile (synthesis, fit, assembler) unless -compile 0.
#  5. Timing: refuse to deliver a .sof whose worst setup or hold slack is
#     negative; write the fitter's resource summary and timing reports.
#  6. Copy the .sof and a build-info file (BUILD_ID, tree revision) to DIR.
# Never run on this project's CI machine: Quartus is not installed there.
package require ::quartus::project
package require ::quartus::flow

proc norman_fail {msg} {
  puts stderr "s10mx_project.tcl: $msg"
  exit 1
}

# ---- 1. arguments
set here [file dirname [file normalize [info script]]]
set root [file normalize $here/../../..]
array set opt [list -out $root/build/s10mx -ip_dir "" -pins "" -device 1SM21BHU2F53E1VG -compile 1]
if {[llength $quartus(args)] % 2 != 0} { norman_fail "arguments come in pairs: -name value" }
foreach {k v} $quartus(args) {
  if {![info exists opt($k)]} { norman_fail "unknown option $k (known: [array names opt])" }
  set opt($k) $v
}
foreach ip {s10_pcie_htile s10_eth_100g} {
  if {$opt(-ip_dir) eq "" || ![file exists $opt(-ip_dir)/$ip.ip]} {
    norman_fail "-ip_dir must hold $ip.ip (Platform Designer variant, settings in docs/boards.md)"
  }
}
if {$opt(-pins) eq "" || ![file exists $opt(-pins)]} {
  norman_fail "-pins must name the card's pin-assignment Tcl file (docs/boards.md, step 3)"
}
set out [file normalize $opt(-out)]
file mkdir $out

# ---- 2. file list
if {[catch {exec cmake -DBOARD=s10mx -DOUT_DIR=$out -P $root/hw/boards/filelist.cmake} msg]} {
  norman_fail "filelist.cmake failed: $msg"
}
set fh [open $out/sources.f r]
set sources {}
set incdirs {}
foreach line [split [read $fh] "\n"] {
  set line [string trim $line]
  if {$line eq ""} { continue }
  if {[string match "+incdir+*" $line]} {
    lappend incdirs [string range $line 8 end]
  } else {
    lappend sources $line
  }
}
close $fh

# ---- 3. project
cd $out
project_new norman_s10mx -overwrite
set_global_assignment -name FAMILY "Stratix 10"
set_global_assignment -name DEVICE $opt(-device)
set_global_assignment -name TOP_LEVEL_ENTITY norman_s10mx_top
set_global_assignment -name PROJECT_OUTPUT_DIRECTORY output_files
foreach f $sources { set_global_assignment -name SYSTEMVERILOG_FILE $f }
foreach d $incdirs { set_global_assignment -name SEARCH_PATH $d }
foreach ip {s10_pcie_htile s10_eth_100g} {
  set_global_assignment -name IP_FILE [file normalize $opt(-ip_dir)/$ip.ip]
}
set_global_assignment -name SDC_FILE $here/norman_s10mx.sdc
set_global_assignment -name VERILOG_INPUT_VERSION SYSTEMVERILOG_2009
# Timing-driven settings for a 250 MHz core with large RAM tables.
set_global_assignment -name OPTIMIZATION_MODE "SUPERIOR PERFORMANCE"
set_global_assignment -name ALLOW_REGISTER_RETIMING ON
set_global_assignment -name MIN_CORE_JUNCTION_TEMP 0
set_global_assignment -name MAX_CORE_JUNCTION_TEMP 100
source $opt(-pins)
export_assignments
if {!$opt(-compile)} {
  project_close
  puts "s10mx_project.tcl: project created in $out (not compiled)"
  exit 0
}

# ---- 4. compile
if {[catch {execute_flow -compile} msg]} {
  project_close
  norman_fail "compilation failed: see $out/output_files/*.rpt"
}
project_close

# ---- 5. timing and resources
set sta_script $out/norman_sta.tcl
set fh [open $sta_script w]
puts $fh {
  project_open norman_s10mx
  create_timing_netlist
  read_sdc
  update_timing_netlist
  set setup [lindex [report_timing -setup -npaths 20 -detail full_path -file reports/timing_setup.rpt] 1]
  set hold [lindex [report_timing -hold -npaths 20 -detail full_path -file reports/timing_hold.rpt] 1]
  report_clock_transfers -file reports/clock_transfers.rpt
  set fh [open reports/slack.txt w]
  puts $fh "$setup $hold"
  close $fh
  delete_timing_netlist
  project_close
}
close $fh
file mkdir $out/reports
if {[catch {exec quartus_sta -t $sta_script} msg]} { norman_fail "timing analysis failed: $msg" }
set fh [open $out/reports/slack.txt r]
lassign [read $fh] setup hold
close $fh
file copy -force $out/output_files/norman_s10mx.fit.summary $out/reports/fit_summary.txt
puts "s10mx_project.tcl: worst setup slack $setup ns, hold $hold ns"
if {$setup < 0 || $hold < 0} {
  norman_fail "timing not met: no .sof delivered; see $out/reports"
}

# ---- 6. deliver
file copy -force $out/output_files/norman_s10mx.sof $out/norman_s10mx.sof
set fh [open $out/gen/norman_regmap_pkg.sv r]
regexp {BUILD_ID = 64'h([0-9A-Fa-f_]+)} [read $fh] -> build_id
close $fh
set rev unknown
catch {set rev [exec git -C $root describe --always --dirty]}
set fh [open $out/build_info.txt w]
puts $fh "board s10mx"
puts $fh "bitstream $out/norman_s10mx.sof"
puts $fh "build_id 0x$build_id"
puts $fh "tree $rev"
puts $fh "setup_slack_ns $setup"
close $fh
puts "s10mx_project.tcl: wrote $out/norman_s10mx.sof (BUILD_ID 0x$build_id)"
puts "program it with: nflash -b s10mx -d <PCI function> $out/norman_s10mx.sof"
