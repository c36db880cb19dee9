// Norman takes the box's whole AXI4-Lite window: no address map inside the
// box (included by box_250mhz.sv before user_plugin_250mhz_inst.vh).
