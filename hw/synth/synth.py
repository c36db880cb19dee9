#!/usr/bin/env python3
"""Synthesise the core with open-source Yosys for UltraScale+ and report.

Runs `synth_xilinx -family xcup` (no place and route) on the RTL exactly as
Verilator reads it, at a geometry of hw/synth/rules.json, and prints JSON:
per module (once per parameter set it is instantiated with) and for the
whole core (nic_core, flattened): LUTs, FFs, BRAM36/18, URAM, DSP,
distributed-RAM LUTs and the longest register-to-register path in LUT levels
(lut_depth.py says exactly what is counted). With --check it enforces the
rules of rules.json; violations listed there as known_failing are reported
but do not fail, any other one does.

Usage:
  synth.py [--geometry ci|reduced|full] [--module NAME] [--out FILE] [--check] [--work DIR]

Yosys is the pinned WebAssembly build in hw/synth/node_modules (run
scripts/setup-deps.sh, or `npm ci` in hw/synth).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lut_depth  # noqa: E402

RTL = os.path.join(ROOT, "hw", "rtl")
REGMAP_GEN = os.path.join(ROOT, "hw", "regmap", "gen_regmap.py")
REGMAP_SPEC = os.path.join(ROOT, "hw", "regmap", "norman.json")
RUNNER = os.path.join(HERE, "run_yosys.mjs")
RULES = os.path.join(HERE, "rules.json")
CORE = "nic_core"

# Warnings during elaboration (before synth_xilinx maps anything) that mean
# the netlist is not what the RTL says. Mapping to Xilinx primitives later
# resizes primitive ports on purpose; those are not checked.
FATAL_WARNINGS = [
    (r"is implicitly declared", "implicit net"),
    (r"Resizing cell port", "port width mismatch"),
    (r"out of bounds|out-of-bounds", "out-of-range select"),
    (r"conflicting drivers|multiple drivers", "multiple drivers"),
    (r"is used but has no driver", "undriven net"),
    (r"Found and reported [1-9]\d* problems", "check found problems"),
    (r"Latch inferred|\$dlatch", "latch"),
    (r"Replacing memory .* with list of registers", None),  # judged by the table rule
]


def rtl_sources():
    """hw/rtl/sources.cmake's list (packages first, then modules sorted), as
    the build, nsim and the ctest hw_lint use it."""
    out = subprocess.run(["cmake", "-P", os.path.join(HERE, "rtl-sources.cmake")],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    srcs = [line for line in out.splitlines() if line.strip()]
    if not srcs:
        raise SystemExit("synth: hw/rtl/sources.cmake lists no sources")
    pkgs = [p for p in srcs if os.path.dirname(p) == os.path.join(RTL, "pkg")]
    mods = [p for p in srcs if p not in pkgs]
    return pkgs, mods


def module_names(paths):
    names = []
    for p in paths:
        with open(p) as f:
            names += re.findall(r"^\s*module\s+(\w+)", f.read(), re.M)
    return names


def gen_regmap(constants, out_sv):
    """The register-map package at the given geometry (constant overrides)."""
    with open(REGMAP_SPEC) as f:
        spec = json.load(f)
    for name, value in constants.items():
        if name not in spec["constants"]:
            raise SystemExit(f"synth: geometry names unknown constant {name}")
        spec["constants"][name]["value"] = value
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        subprocess.run([sys.executable, REGMAP_GEN, spec_path, out_sv, os.path.join(tmp, "x.hpp")],
                       check=True)


TOPS = "norman_synth_tops"  # generated in the work directory, never in hw/rtl


def top_modules(files):
    """Modules no other file names: the design's tops (nic_core, and the
    scheduler's modules not yet in it)."""
    texts = {f: re.sub(r"//[^\n]*|/\*.*?\*/", "", open(f).read(), flags=re.S) for f in files}
    tops = []
    for f in files:
        for n in module_names([f]):
            pat = re.compile(r"\b" + n + r"\b")
            if not any(pat.search(t) for g, t in texts.items() if g != f):
                tops.append(n)
    return sorted(tops)


def write_tops(work, files):
    """A wrapper instantiating every top, so that `hierarchy -top` keeps each
    module once per parameter set it is used with, not also at defaults
    nobody instantiates (a second filter, connection table, ...). It is
    deleted right after elaboration."""
    path = os.path.join(work, TOPS + ".sv")
    with open(path, "w") as f:
        f.write(f"module {TOPS};\n")
        for n in top_modules(files):
            f.write(f"  {n} u_{n} ();\n")
        f.write("endmodule\n")
    return path


def read_script(files, top=None, params=None):
    """Read every file; set the geometry's module parameters (chparam: the
    module's defaults, which instances without overrides take); elaborate."""
    names = set(module_names(files))
    top_arg = f" -top {top}" if top else (f" -top {TOPS}" if TOPS in names else "")
    lines = ["read_verilog -sv " + " ".join(os.path.basename(f) for f in files)]
    for mod, values in sorted((params or {}).items()):
        if mod not in names:
            continue
        sets = " ".join(f"-set {k} {v}" for k, v in sorted(values.items()))
        lines.append(f"chparam {sets} {mod}")
    lines.append(f"hierarchy -check{top_arg}")
    if not top and TOPS in names:
        lines.append(f"delete {TOPS}")
    return "\n".join(lines) + "\n"


def synth_script(files, core, top=None, params=None):
    """Every module at once, hierarchically (a figure per module as
    instantiated, once per parameter set); then the core flattened from the
    mapped netlist for the paths that cross module boundaries."""
    synth = "synth_xilinx -family xcup -noiopad -noclkbuf"
    lines = [
        read_script(files, top, params).strip(),
        "proc",
        "check",
        "log ==== end of elaboration ====",
        # synth_xilinx's own first step, without the -auto-top that would
        # keep one module only.
        "read_verilog -lib -specify +/xilinx/cells_sim.v",
        "read_verilog -lib +/xilinx/cells_xtra.v",
        f"{synth} -run prepare:map_memory",
        "tee -q -o mems.il dump t:$mem_v2",
        f"{synth} -run map_memory:",
        "tee -q -o stat.json stat -json",
        "select *",  # the design's own modules, not the primitive library
        "write_json -selected hier.json",
        # Depth is measured with every module's submodules flattened into
        # it: a submodule instance is not a timing endpoint, and treating it
        # as one box joins paths that do not meet.
        "flatten",
        "write_json -selected flat.json",
    ]
    lines += ["select -clear", ""]
    return "\n".join(lines)


def run_yosys(work, script, log, timeout):
    with open(os.path.join(work, "run.ys"), "w") as f:
        f.write(script)
    start = time.monotonic()
    proc = subprocess.run(["node", RUNNER, work, "-q", "-l", log, "-s", "run.ys"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    path = os.path.join(work, log)
    text = open(path).read() if os.path.exists(path) else ""
    return proc.returncode, text + "\n" + proc.stdout, time.monotonic() - start


def readable_files(work, regmap, pkgs, mods, timeout, params=None):
    """Drop, one at a time, each module file Yosys cannot read or elaborate
    (and the files that instantiate its modules). Returns (files, {file: error})."""
    files = list(mods)
    bad = {}
    while files:
        rc, out, _ = run_yosys(work, read_script([regmap] + pkgs + files, params=params), "read.log",
                               timeout)
        errors = re.findall(r"^(?:(\S+?\.sv):\d+: )?ERROR: (.*)$", out, re.M)
        if rc == 0 and not errors:
            return files, bad
        culprit = None
        for fname, msg in errors:
            m = re.search(r"Module `\\?(\w+)' referenced in module `\\?(\w+)'", msg)
            if m:
                culprit = next((f for f in files if m.group(2) in module_names([f])), None)
            elif fname:
                culprit = next((f for f in files if os.path.basename(f) == fname), None)
            if culprit:
                bad[culprit] = (fname + ": " if fname else "") + msg
                break
        if culprit is None:
            raise SystemExit("synth: Yosys failed outside any module file:\n" + out[-3000:])
        files.remove(culprit)
    return files, bad


def parse_memories(path):
    """$mem_v2 cells before memory mapping: {(module, memory): (depth, width)}."""
    mems = {}
    if not os.path.exists(path):
        return mems
    module = None
    for block in re.split(r"\n(?=\s*(?:module|cell) )", open(path).read()):
        m = re.match(r"\s*module (\S+)", block)
        if m:
            module = m.group(1).lstrip("\\")
            continue
        memid = re.search(r'parameter \\MEMID "\\\\([^"]*)"', block)
        size = re.search(r"parameter \\SIZE (\d+)", block)
        width = re.search(r"parameter \\WIDTH (\d+)", block)
        if memid and size and width:
            mems[(module, memid.group(1))] = (int(size.group(1)), int(width.group(1)))
    return mems


def pretty(name):
    """$paramod$<hash>\\sync_fifo\\Width=8 -> sync_fifo(Width=8)."""
    if not name.startswith("$paramod"):
        return name
    parts = name.split("\\")

    def value(p):
        k, _, v = p.partition("=")
        m = re.fullmatch(r"s?\d+'([01]+)", v)
        return f"{k}={int(m.group(1), 2)}" if m else p
    return parts[1] + "(" + ",".join(value(p) for p in parts[2:]) + ")"


def base_name(name):
    return name.split("\\")[1] if name.startswith("$paramod") else name


def kind_of(libmap_cell):
    if "BLOCKRAM" in libmap_cell:
        return "bram"
    if "HUGERAM" in libmap_cell:
        return "uram"
    if "LUTRAM" in libmap_cell:
        return "lutram"
    return "ff"


def totals(name, stat_mods, memo):
    """Cell counts of a module with its submodules, recursively."""
    if name in memo:
        return memo[name]
    own = stat_mods.get("\\" + name, stat_mods.get(name, {})).get("num_cells_by_type", {})
    acc = {}
    for ctype, n in own.items():
        sub = ctype[1:] if ctype.startswith("\\") else ctype
        if "\\" + sub in stat_mods or (sub.startswith("$paramod") and sub in stat_mods):
            for t, k in totals(sub, stat_mods, memo).items():
                acc[t] = acc.get(t, 0) + n * k
        else:
            acc[ctype] = acc.get(ctype, 0) + n
    memo[name] = acc
    return acc


def warnings_of(log):
    """({module: [fatal warnings]}, {module: [arrays kept in FFs]}, [others])."""
    fatal, ff_arrays, other = {}, {}, []
    in_elab = True
    for line in log.splitlines():
        if "==== end of elaboration ====" in line:
            in_elab = False
        if not re.search(r"Warning|Latch inferred|problems", line):
            continue
        m = (re.search(r"(\w+)\.sv:\d+", line)
             or re.search(r"(?:port|Wire|memory|cell) \\?(?:\$paramod\S*?\\)?(\w+)[\\.]", line))
        where = m.group(1) if m else "?"
        for pat, what in FATAL_WARNINGS:
            if re.search(pat, line):
                if what is None:
                    mm = re.search(r"Replacing memory \\?(\S+) with list of registers", line)
                    ff_arrays.setdefault(where, []).append(mm.group(1) if mm else line.strip())
                elif in_elab or what == "latch":
                    fatal.setdefault(where, []).append(f"{what}: {line.strip()}")
                break
        else:
            if "Warning" in line and in_elab:
                other.append(line.strip())
    return fatal, ff_arrays, other


def files_of(top, mods):
    """The module files `top` needs: its own and, transitively, those of the
    modules its text names (a superset is harmless: unused modules go)."""
    defines = {f: set(module_names([f])) for f in mods}
    texts = {f: re.sub(r"//[^\n]*|/\*.*?\*/", "", open(f).read(), flags=re.S) for f in mods}
    todo = [f for f in mods if top in defines[f]]
    need = set(todo)
    while todo:
        f = todo.pop()
        words = set(re.findall(r"\b\w+\b", texts[f]))
        for g in mods:
            if g not in need and defines[g] & words:
                need.add(g)
                todo.append(g)
    return [f for f in mods if f in need]


def synthesise(work, regmap, pkgs, mods, timeout, top=None, params=None):
    """One Yosys process when every file elaborates (its fixed cost, reading
    the sources and the Xilinx cell libraries, is paid once); only when that
    run fails are the files that do not elaborate found, one run each, and
    the rest synthesised again."""
    if top:
        mods = files_of(top, mods)  # reading every file costs a minute a pass
    files, bad = list(mods), {}
    tops = [] if top else [write_tops(work, mods)]
    rc, log, seconds = run_yosys(work, synth_script([regmap] + pkgs + files + tops, CORE, top, params),
                                 "yosys.log", timeout)
    if rc != 0 and "==== end of elaboration ====" not in log:
        files, bad = readable_files(work, regmap, pkgs, mods, timeout, params)
        if top and top not in module_names(files):
            raise SystemExit(f"synth: module {top} not found or does not elaborate")
        tops = [] if top else [write_tops(work, files)]
        rc, log, more = run_yosys(work, synth_script([regmap] + pkgs + files + tops, CORE, top, params),
                                  "yosys.log", timeout)
        seconds += more
    if rc != 0:
        raise SystemExit("synth: Yosys failed:\n" + log[-3000:])
    names = module_names(files)
    core = CORE if CORE in names and top in (None, CORE) else None
    cpu = re.findall(r"End of script\..*CPU: user ([\d.]+)s", log)
    fatal, ff_arrays, other = warnings_of(log)
    stat = json.load(open(os.path.join(work, "stat.json")))["modules"]
    hier = json.load(open(os.path.join(work, "hier.json")))["modules"]
    flat_all = json.load(open(os.path.join(work, "flat.json")))["modules"]
    mems = parse_memories(os.path.join(work, "mems.il"))
    mapped = {}
    for mod, mem, via in re.findall(r"mapping memory (\S+?)\.([^.\s]+) via (\S+)", log):
        mapped[(mod.lstrip("\\"), mem)] = kind_of(via)

    memo, modules = {}, {}
    for name, m in sorted(hier.items()):
        base = base_name(name)
        levels, path = lut_depth.longest_path(flat_all.get(name, m))
        entry = {"module": base, "instance_of": pretty(name)}
        entry.update(lut_depth.resources(totals(name, stat, memo)))
        entry["lut_levels"] = levels
        entry["deepest_path_src"] = lut_depth.path_sources(flat_all.get(name, m), path)
        entry["memories"] = {
            mem: {"depth": d, "width": w, "bits": d * w, "mapped_to": mapped.get((mod, mem), "ff")}
            for (mod, mem), (d, w) in sorted(mems.items()) if mod == name
        }
        entry["ff_arrays"] = sorted(set(ff_arrays.get(base, [])))
        entry["fatal_warnings"] = sorted(set(fatal.get(base, [])))[:20]
        modules[pretty(name)] = entry
    for f, err in bad.items():
        for n in module_names([f]):
            modules[n] = {"module": n, "elaborates": False, "error": err}
    result = {"seconds": round(seconds, 1), "cpu_seconds": float(cpu[-1]) if cpu else None,
              "modules": modules,
              "unattributed_warnings": sorted(set(fatal.get("?", [])))[:20], "other_warnings": other[:20]}
    if core:
        flat = flat_all[core]
        levels, path = lut_depth.longest_path(flat)
        result["core"] = dict(lut_depth.resources(totals(core, stat, memo)), module=core,
                              lut_levels=levels, deepest_path_src=lut_depth.path_sources(flat, path))
    else:
        result["core"] = {"module": CORE, "elaborates": False,
                          "error": "a module it instantiates does not elaborate"}
    return result


def check(report, rules):
    """Violations of the rules, as (module, rule, detail)."""
    out = []
    budget = rules["max_lut_levels"]
    min_bits = rules["table_min_bits"]
    for r in list(report["modules"].values()) + [dict(report["core"], module="core")]:
        m = r["module"]
        if r.get("elaborates") is False:
            out.append((m, "elaborates", r.get("error", "")))
            continue
        for w in r.get("fatal_warnings", []):
            out.append((m, "no_fatal_warnings", w))
        if r.get("latches"):
            out.append((m, "no_fatal_warnings", f"{r.get('instance_of', m)}: {r['latches']} latch cells"))
        if r["lut_levels"] > budget:
            out.append((m, "lut_levels", f"{r.get('instance_of', m)}: {r['lut_levels']} > {budget}"))
        for name, mem in r.get("memories", {}).items():
            if mem["bits"] >= min_bits and mem["mapped_to"] not in ("bram", "uram"):
                out.append((m, "tables_in_block_ram",
                            f"{name}: {mem['depth']}x{mem['width']} in {mem['mapped_to']}"))
        for name in r.get("ff_arrays", []):
            if name not in rules["ff_arrays_allowed"]:
                out.append((m, "tables_in_block_ram", f"{name}: array in flip-flops"))
    for w in report.get("unattributed_warnings", []):
        out.append(("?", "no_fatal_warnings", w))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--geometry", default="ci", help="a geometry of rules.json (ci, reduced, full)")
    ap.add_argument("--out", help="write the JSON report here too")
    ap.add_argument("--check", action="store_true", help="enforce rules.json; exit 1 on a new violation")
    ap.add_argument("--work", help="work directory, kept (default: a temporary one)")
    ap.add_argument("--module", help="synthesise only this module and its submodules (quick)")
    ap.add_argument("--timeout", type=int, default=6 * 3600, help="seconds per Yosys run")
    args = ap.parse_args()

    rules = json.load(open(RULES))
    geometry = rules["geometries"][args.geometry]
    pkgs, mods = rtl_sources()
    work = args.work or tempfile.mkdtemp(prefix="norman-synth-")
    os.makedirs(work, exist_ok=True)
    regmap = os.path.join(work, "norman_regmap_pkg.sv")
    gen_regmap(geometry["constants"], regmap)
    for f in pkgs + mods:
        shutil.copy(f, work)
    try:
        result = synthesise(work, regmap, pkgs, mods, args.timeout, args.module,
                            geometry.get("parameters"))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "tool": "Yosys 0.55 (@yowasp/yosys 0.55.944), synth_xilinx -family xcup, no place and route",
        "geometry": args.geometry,
        "constants": geometry["constants"],
    }
    report.update(result)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    for name, r in sorted(report["modules"].items()):
        print(f"synth: {name}: " + (
            f"{r['luts_total']} LUTs ({r['lutram_luts']} as RAM), {r['ffs']} FFs, "
            f"{r['bram36']} BRAM36 + {r['bram18']} BRAM18, {r['uram']} URAM, {r['dsp']} DSP, "
            f"{r['lut_levels']} LUT levels" if r.get("elaborates") is not False
            else f"does not elaborate: {r.get('error')}"), file=sys.stderr)
    if not args.check:
        return 0

    return judge(check(report, rules), report, rules, args.geometry, args.module)


def judge(violations, report, rules, geometry, module=None):
    """0 when the violations are exactly the known-failing list of this
    geometry: a violation not listed, a depth deeper than its recorded
    figure, a listed table no longer (or another one now) outside block RAM,
    and a listed failure that no longer occurs all fail the check, so the
    list stays what the RTL is."""
    known = {}
    for k in rules["known_failing"]:
        if geometry in k.get("geometries", [geometry]):
            known[(k["module"], k["rule"])] = k
    seen = {}
    for m, rule, detail in violations:
        seen.setdefault((m, rule), []).append(detail)
    problems = []
    for (m, rule), details in sorted(seen.items()):
        k = known.get((m, rule))
        for d in details:
            print(f"synth-check: {'known' if k else 'NEW'}: {m}: {rule}: {d}", file=sys.stderr)
        if k is None:
            problems.append(f"{m}: {rule}: not in known_failing")
            continue
        want = k.get("measured")
        if rule == "lut_levels" and want is not None:
            got = max(int(re.search(r": (\d+) > ", d).group(1)) for d in details)
            if got > want:
                problems.append(f"{m}: lut_levels: {got}, deeper than the {want} recorded")
            elif got < want:
                print(f"synth-check: note: {m}: lut_levels {got}, better than the {want} recorded: "
                      "update measured in rules.json", file=sys.stderr)
        elif isinstance(want, list):
            for d in sorted(set(details) - set(want)):
                problems.append(f"{m}: {rule}: not recorded: {d}")
            for d in sorted(set(want) - set(details)):
                problems.append(f"{m}: {rule}: recorded but gone (remove it from measured): {d}")
    measured = {r["module"] for r in report["modules"].values()} | {"core"}
    for (m, rule) in sorted(set(known) - set(seen)):
        if m not in measured or (m == "core" and module not in (None, CORE)):
            continue  # not synthesised in this run (--module)
        problems.append(f"{m}: {rule}: now passes, remove it from known_failing")
    for p in problems:
        print(f"synth-check: FAIL: {p}", file=sys.stderr)
    if problems:
        print(f"synth-check: FAILED: {len(problems)} difference(s) from the known-failing list of "
              f"geometry {geometry} (hw/synth/rules.json)", file=sys.stderr)
        return 1
    print(f"synth-check: passed: every rule holds outside the known-failing list of geometry "
          f"{geometry}, and every entry of that list still fails as recorded", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
