# Norman on Stratix 10 MX: clocks and clock-domain crossings. The hard IP
# variants bring their own SDC (coreclkout_hip, the MAC clocks, their
# transceiver clocks); this file adds the board's reference clocks and
# Norman's crossings.
create_clock -name pcie_refclk -period 10.000 [get_ports pcie_refclk]
create_clock -name clk_100m -period 10.000 [get_ports clk_100m]
create_clock -name eth_refclk0 -period 1.552 [get_ports {eth_refclk[0]}]
create_clock -name eth_refclk1 -period 1.552 [get_ports {eth_refclk[1]}]
derive_clock_uncertainty

# The core runs on coreclkout_hip (250 MHz); each MAC on its own 390.625 MHz
# clocks. They meet only in board_async_fifo (Gray pointers through two
# flops) and board_reset_sync.
set_clock_groups -asynchronous \
  -group [get_clocks -nocase {*coreclkout_hip*}] \
  -group [get_clocks -nocase {*g_eth[0]*clk_txmac* *g_eth[0]*clk_rxmac*}] \
  -group [get_clocks -nocase {*g_eth[1]*clk_txmac* *g_eth[1]*clk_rxmac*}] \
  -group [get_clocks clk_100m]

# Keep each Gray pointer's bits within one destination period of each
# other (asynchronous groups are not timed otherwise).
set_max_skew -from [get_registers {*|wgray_q[*]}] -to [get_registers {*|wgray_r1_q[*]}] 2.0
set_max_skew -from [get_registers {*|rgray_q[*]}] -to [get_registers {*|rgray_w1_q[*]}] 2.0
set_net_delay -max 2.5 -from [get_registers {*|wgray_q[*]}] -to [get_registers {*|wgray_r1_q[*]}]
set_net_delay -max 2.5 -from [get_registers {*|rgray_q[*]}] -to [get_registers {*|rgray_w1_q[*]}]

# Resets: asserted asynchronously, released through board_reset_sync.
set_false_path -from [get_ports pcie_perst_n]
set_false_path -to [get_registers {*|u_rst*|sync_q[*]}]
