"""Resources and LUT depth of a netlist mapped by synth_xilinx (write_json).

Depth: the most LUT levels on any combinational path between timing
endpoints. Endpoints are the module's ports and every sequential element:
flip-flops (FD*), block RAM (RAMB18E2/RAMB36E2), UltraRAM (URAM288) and DSP
slices (DSP48E2, counted as registered). Each LUT1..LUT6 counts one level;
the asynchronous read of a distributed RAM (RAM32M, RAM64X1D, ...) or shift
register (SRL16E, SRLC32E) counts one level from its address inputs; the
in-slice wide multiplexers (MUXF7/8/9) and carry chains (CARRY8) count zero,
as they sit in the same slice as the LUT that feeds them.
"""

SEQUENTIAL_PREFIXES = ("FD", "LD", "RAMB", "URAM", "DSP48", "FIFO")
LUTRAM_LUTS = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
}
SRL = ("SRL16E", "SRLC16E", "SRLC32E")


def resources(cells):
    """Counts from `stat -json` num_cells_by_type."""
    n = lambda *types: sum(cells.get(t, 0) for t in types)  # noqa: E731
    luts = n("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2")
    lutram = sum(cells.get(t, 0) * k for t, k in LUTRAM_LUTS.items())
    srl = n(*SRL)
    return {
        "luts_total": luts + lutram + srl,
        "luts_logic": luts,
        "lutram_luts": lutram,
        "srl_luts": srl,
        "ffs": n("FDRE", "FDSE", "FDCE", "FDPE"),
        "latches": n("LDCE", "LDPE"),
        "bram36": n("RAMB36E2"),
        "bram18": n("RAMB18E2"),
        "uram": n("URAM288", "URAM288_BASE"),
        "dsp": n("DSP48E2"),
        "carry8": n("CARRY8"),
        "muxf": n("MUXF7", "MUXF8", "MUXF9"),
    }


def _weight(ctype):
    if ctype.startswith("LUT"):
        return 1
    if ctype in LUTRAM_LUTS or ctype in SRL:
        return 1
    return 0


def _comb_inputs(ctype, conns, dirs):
    """Input bits a combinational output depends on."""
    ins = [p for p, d in dirs.items() if d == "input"]
    if ctype in LUTRAM_LUTS:
        ins = [p for p in ins if p.startswith(("ADDR", "A", "DPRA"))]
    elif ctype in SRL:
        ins = [p for p in ins if p.startswith("A")]
    return [b for p in ins for b in conns.get(p, []) if isinstance(b, int)]


def longest_path(module):
    """(levels, [cell names along the deepest path]) of one flattened module."""
    cells = module["cells"]
    driver = {}
    comb = {}
    for name, c in cells.items():
        ctype = c["type"]
        if ctype.startswith(SEQUENTIAL_PREFIXES):
            continue
        dirs = c.get("port_directions", {})
        for p, d in dirs.items():
            if d == "output":
                for b in c["connections"].get(p, []):
                    if isinstance(b, int):
                        driver[b] = name
        comb[name] = (_weight(ctype), _comb_inputs(ctype, c["connections"], dirs))

    level, via = {}, {}
    for start in comb:
        if start in level:
            continue
        stack = [(start, False)]
        on_stack = set()
        while stack:
            name, done = stack.pop()
            if done:
                on_stack.discard(name)
                w, ins = comb[name]
                best, arg = 0, None
                for b in ins:
                    d = driver.get(b)
                    if d is not None and level.get(d, 0) > best:
                        best, arg = level[d], d
                level[name] = w + best
                via[name] = arg
                continue
            if name in level or name in on_stack:
                continue  # a combinational loop is broken here
            on_stack.add(name)
            stack.append((name, True))
            for b in comb[name][1]:
                d = driver.get(b)
                if d is not None and d not in level and d not in on_stack:
                    stack.append((d, False))
    if not level:
        return 0, []
    end = max(level, key=lambda k: level[k])
    path = []
    while end is not None:
        path.append(end)
        end = via[end]
    return level[path[0]], list(reversed(path))


def path_sources(module, path):
    """Source locations along a path, where Yosys kept them (registers and
    carry chains keep theirs; LUTs from ABC do not)."""
    cells = module["cells"]
    srcs = []
    for name in path:
        src = cells[name].get("attributes", {}).get("src", "")
        if src and (not srcs or srcs[-1] != src):
            srcs.append(src)
    return {"cells": len(path), "src": srcs[:8]}
