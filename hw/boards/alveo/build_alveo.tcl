# Build Norman for an Alveo U250 or U280 inside the AMD OpenNIC shell.
#
#   vivado -mode batch -source hw/boards/alveo/build_alveo.tcl -tclargs \
#       -shell /path/to/open-nic-shell -board au250 [-jobs 8] [-out DIR] \
#       [-csr_window_bits 20]
#
# Steps (docs/boards.md explains each):
#  1. Check the arguments, the shell checkout and its Norman patch.
#  2. Write the file list from the tree's own source lists
#     (hw/boards/filelist.cmake: register-map package generated from
#     hw/regmap/norman.json, hw/rtl/sources.cmake, hw/boards/sources.cmake).
#  3. Let the shell's script/build.tcl create the project (its IP, its
#     constraints, our plugin hw/boards/alveo/onic_plugin) without running it.
#  4. Add Norman's constraints and defines.
#  5. Synthesise, implement, write the bitstream.
#  6. Reports: utilisation (per hierarchy), timing summary, logic levels,
#     clock interaction, CDC. Refuse to deliver a bitstream that misses timing.
#  7. Copy the bitstream and a build-info file (BUILD_ID, tree revision) to -out.
# Never run on this project's CI machine: vendor tools are not installed there.

proc norman_fail {msg} {
  puts stderr "build_alveo.tcl: $msg"
  exit 1
}

# ---- 1. arguments
set here [file dirname [file normalize [info script]]]
set root [file normalize $here/../../..]
array set opt [list -shell "" -board au250 -jobs 8 -out $root/build/alveo -csr_window_bits 20]
if {[llength $argv] % 2 != 0} { norman_fail "arguments come in pairs: -name value" }
foreach {k v} $argv {
  if {![info exists opt($k)]} { norman_fail "unknown option $k (known: [array names opt])" }
  set opt($k) $v
}
if {$opt(-board) ni {au250 au280}} { norman_fail "-board must be au250 or au280" }
if {$opt(-csr_window_bits) ni {20 30}} { norman_fail "-csr_window_bits must be 20 or 30" }
set shell [file normalize $opt(-shell)]
if {$opt(-shell) eq "" || ![file exists $shell/script/build.tcl]} {
  norman_fail "-shell must name an open-nic-shell checkout (no script/build.tcl in '$shell')"
}
set fh [open $shell/src/box_250mhz/box_250mhz.sv r]
set box_src [read $fh]
close $fh
if {[string first "m_axib_awvalid" $box_src] < 0 || [string first "usr_irq_in_vld" $box_src] < 0} {
  norman_fail "the shell lacks the Norman patch: box_250mhz has no m_axib_*/usr_irq_* ports (docs/boards.md, step 2)"
}
set out [file normalize $opt(-out)]
file mkdir $out

# ---- 2. file list
if {[catch {exec cmake -DBOARD=alveo -DOUT_DIR=$out -P $root/hw/boards/filelist.cmake} msg]} {
  norman_fail "filelist.cmake failed: $msg"
}
set ::norman_filelist $out/sources.f

# ---- 3. the shell creates the project (it cd's relative to its script dir)
set saved_argv $argv
set argv [list -board $opt(-board) -tag norman -overwrite 1 -jobs $opt(-jobs) \
          -impl 0 -post_impl 0 -user_plugin $here/onic_plugin \
          -num_phys_func 1 -num_qdma 1 -num_cmac_port 2 -num_queue 512]
set argc [llength $argv]
set cwd [pwd]
cd $shell/script
source build.tcl
cd $cwd
set argv $saved_argv

# ---- 4. Norman's constraints and defines
add_files -fileset constrs_1 -norecurse $here/constr/norman_alveo.xdc
set defs [get_property verilog_define [current_fileset]]
lappend defs "NORMAN_CSR_WINDOW_BITS=$opt(-csr_window_bits)"
set_property verilog_define $defs [current_fileset]
# The core is written to infer block RAM and UltraRAM; keep hierarchy names
# for the reports and the constraints above.
set_property STEPS.SYNTH_DESIGN.ARGS.FLATTEN_HIERARCHY rebuilt [get_runs synth_1]

# ---- 5. synthesis, implementation, bitstream
update_compile_order -fileset sources_1
launch_runs impl_1 -to_step write_bitstream -jobs $opt(-jobs)
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
  norman_fail "implementation did not finish: see [get_property DIRECTORY [get_runs impl_1]]"
}

# ---- 6. reports
open_run impl_1
set rep $out/reports
file mkdir $rep
report_utilization -hierarchical -hierarchical_depth 4 -file $rep/utilization_hier.rpt
report_utilization -file $rep/utilization.rpt
report_timing_summary -max_paths 20 -report_unconstrained -file $rep/timing_summary.rpt
report_design_analysis -logic_level_distribution -logic_level_dist_paths 5000 -file $rep/logic_levels.rpt
report_clock_interaction -file $rep/clock_interaction.rpt
report_cdc -details -file $rep/cdc.rpt
set wns [get_property STATS.WNS [get_runs impl_1]]
set whs [get_property STATS.WHS [get_runs impl_1]]
puts "build_alveo.tcl: WNS $wns ns, WHS $whs ns"
if {$wns < 0 || $whs < 0} {
  norman_fail "timing not met (WNS $wns, WHS $whs): no bitstream delivered; see $rep/timing_summary.rpt"
}

# ---- 7. deliver
set top [get_property TOP [current_fileset]]
set bit [get_property DIRECTORY [get_runs impl_1]]/$top.bit
file copy -force $bit $out/norman_$opt(-board).bit
set fh [open $out/gen/norman_regmap_pkg.sv r]
regexp {BUILD_ID = 64'h([0-9A-Fa-f_]+)} [read $fh] -> build_id
close $fh
set rev unknown
catch {set rev [exec git -C $root describe --always --dirty]}
set fh [open $out/build_info.txt w]
puts $fh "board $opt(-board)"
puts $fh "bitstream $out/norman_$opt(-board).bit"
puts $fh "build_id 0x$build_id"
puts $fh "tree $rev"
puts $fh "wns_ns $wns"
close $fh
puts "build_alveo.tcl: wrote $out/norman_$opt(-board).bit (BUILD_ID 0x$build_id)"
puts "program it with: nflash -b [string range $opt(-board) 1 end] -d <PCI function> $out/norman_$opt(-board).bit"
