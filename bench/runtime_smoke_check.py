#!/usr/bin/env python3
"""ctest runtime_bench_smoke: run `runtime_bench --quick`, check that it exits 0,
that its stdout is one JSON document with every section, and that every
measurement is a positive number (no performance thresholds: CI machines vary)."""
import json
import subprocess
import sys

bench = sys.argv[1]
proc = subprocess.run([bench, "--quick"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=110)
sys.stderr.write(proc.stderr)
errors = []
if proc.returncode != 0:
    errors.append(f"runtime_bench exit {proc.returncode}")
try:
    doc = json.loads(proc.stdout)
except json.JSONDecodeError as e:
    print("FAIL: stdout is not JSON:", e)
    sys.exit(1)
for key in ("assumptions", "rx", "tx", "pipelined", "wakeup_latency", "linux_loopback", "comparison", "goals"):
    if key not in doc:
        errors.append(f"missing section {key}")
for sec in ("rx", "tx", "linux_loopback"):
    rows = doc.get(sec, [])
    if not rows:
        errors.append(f"{sec}: no results")
    for r in rows:
        if not r.get("ns_per_packet", 0) > 0:
            errors.append(f"{sec}: no measurement in {r}")
for r in doc.get("rx", []):
    if r.get("dropped", 0) != 0:
        errors.append(f"rx dropped frames: {r}")
for r in doc.get("pipelined", []):
    if not r.get("mpps", 0) > 0:
        errors.append(f"pipelined: {r}")
w = doc.get("wakeup_latency", {})
if not w.get("samples", 0) > 0 or not w.get("median_us", 0) > 0:
    errors.append(f"wakeup_latency: {w}")
if "doorbell_transport" not in doc.get("assumptions", {}):
    errors.append("assumptions lack the doorbell transport")
for e in errors:
    print("FAIL:", e)
print(f"rx {len(doc.get('rx', []))} tx {len(doc.get('tx', []))} points, {len(errors)} errors")
sys.exit(1 if errors else 0)
