// The configuration-space fields the TLP engines need, captured from the
// H-tile's time-multiplexed tl_cfg bus (PF0 only). Which index carries
// which field is a parameter: the defaults follow the layout Intel
// documents for its Avalon-ST PCIe cores (index 0: device control with bus
// master enable, extended tag enable, max read request, max payload; index
// 1: bus and device number); confirm them against the H-tile user guide of
// the Quartus version used (docs/boards.md lists this as unverified).
module s10_cfg_decode #(
  parameter logic [3:0] DevCtlIndex = 4'h0,
  parameter logic [3:0] BusDevIndex = 4'h1
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic [3:0]  tl_cfg_add_i,
  input  logic [31:0] tl_cfg_ctl_i,
  input  logic [1:0]  tl_cfg_func_i,
  output logic        bus_master_en_o,
  output logic        ext_tag_en_o,
  output logic [2:0]  max_payload_o,   // 0: 128 B, 1: 256 B, ...
  output logic [2:0]  max_read_req_o,  // 0: 128 B, 1: 256 B, 2: 512 B, ...
  output logic [15:0] requester_id_o   // {bus, device, function 0}
);
  logic [7:0] bus_q;
  logic [4:0] dev_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bus_master_en_o <= 1'b0;
      ext_tag_en_o <= 1'b0;
      max_payload_o <= '0;
      max_read_req_o <= '0;
      bus_q <= '0;
      dev_q <= '0;
    end else if (tl_cfg_func_i == 2'b00) begin
      if (tl_cfg_add_i == DevCtlIndex) begin
        bus_master_en_o <= tl_cfg_ctl_i[7];
        ext_tag_en_o <= tl_cfg_ctl_i[6];
        max_read_req_o <= tl_cfg_ctl_i[5:3];
        max_payload_o <= tl_cfg_ctl_i[2:0];
      end
      if (tl_cfg_add_i == BusDevIndex) begin
        dev_q <= tl_cfg_ctl_i[12:8];
        bus_q <= tl_cfg_ctl_i[7:0];
      end
    end
  end

  assign requester_id_o = {bus_q, dev_q, 3'b000};

  logic unused_ctl;
  assign unused_ctl = ^{tl_cfg_ctl_i[31:13]};
endmodule
