# Sourced by the OpenNIC shell's script/build.tcl (cwd = this directory)
# when it is run with -user_plugin <this directory>: reads Norman's
# SystemVerilog from the file list that hw/boards/filelist.cmake wrote
# (build_alveo.tcl runs it first and sets ::norman_filelist).
if {![info exists ::norman_filelist] || ![file exists $::norman_filelist]} {
  error "norman: no file list; run hw/boards/alveo/build_alveo.tcl, not the shell's build.tcl alone"
}
set fh [open $::norman_filelist r]
set norman_sources {}
foreach line [split [read $fh] "\n"] {
  set line [string trim $line]
  if {$line eq "" || [string match "+incdir+*" $line]} { continue }
  lappend norman_sources $line
}
close $fh
read_verilog -sv $norman_sources
