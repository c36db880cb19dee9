// Norman needs no address map inside the 250 MHz box; the shell's build.tcl
// reads this file from every user plugin, so it exists and declares nothing.
