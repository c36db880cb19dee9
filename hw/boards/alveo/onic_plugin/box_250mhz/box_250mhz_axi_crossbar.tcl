# Norman needs no AXI crossbar IP inside the 250 MHz box (the shell's
# build.tcl sources this file from every user plugin).
