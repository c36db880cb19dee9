#!/usr/bin/env python3
"""Fails when the verilated filter model copies a wide vector on every clock.

Two shapes make Verilator do work on every clock edge, with or without a key,
in proportion to a vector's width:

- a shadow (`__Vdly__x`) of a register written by non-blocking assignment
  where the scheduler cannot update it in place: stages sharing one vector
  (each writing its slice, reading another's) or a shift register held in one
  vector. The shadow is copied in and out of the register on every clock.
- a wide temporary of a function called from clocked logic (`__Vfunc_..`):
  declared, and zeroed, at the top of the evaluation function on every clock,
  even when the code calling the function does not run.

Usage: model_copies.py MODEL_DIR [MAX_BITS]; MODEL_DIR is the directory of
the verilated model's C++ (the root header and its DepSet files).
"""
import glob
import os
import re
import sys


def wide(decl_re, text, max_bits):
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(decl_re, text, re.M)
            if int(m.group(1)) > max_bits]


def main():
    model = sys.argv[1]
    max_bits = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    roots = glob.glob(os.path.join(model, "*___024root.h"))
    evals = [p for p in glob.glob(os.path.join(model, "*___024root__DepSet_*.cpp"))
             if not p.endswith("__Slow.cpp")]
    if not roots or not evals:
        print(f"model_copies: no verilated model in {model}", file=sys.stderr)
        return 2
    bad = []
    for p in roots:
        text = open(p).read()
        for bits, name in wide(r"VlWide<\d+>/\*(\d+):0\*/\s+(__Vdly__\w+);", text, max_bits - 1):
            bad.append(f"shadow copied on every clock: {name} ({bits + 1} bits)")
    for p in evals:
        text = open(p).read()
        for bits, name in wide(r"^\s+VlWide<\d+>/\*(\d+):0\*/\s+(__Vfunc_\w+);", text,
                               max_bits - 1):
            bad.append(f"function temporary zeroed on every clock: {name} ({bits + 1} bits)")
    for line in sorted(set(bad)):
        print("model_copies: " + line, file=sys.stderr)
    if bad:
        print(f"model_copies: FAILED: {len(set(bad))} vector(s) over {max_bits} bits", file=sys.stderr)
        return 1
    print(f"model_copies: no per-clock copy over {max_bits} bits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
