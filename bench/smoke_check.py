#!/usr/bin/env python3
"""ctest nic_bench_smoke: run `nic_bench --quick`, check that the JSON parses,
that every point's NIC counters balance (every injected frame has exactly one
fate and was delivered, no ring-full or overflow drops) and that the host-side
checks passed."""
import json
import subprocess
import sys

bench = sys.argv[1]
proc = subprocess.run([bench, "--quick"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=55)
sys.stderr.write(proc.stderr)
doc = json.loads(proc.stdout)
errors = []
if not doc.get("results"):
    errors.append("no results")
for r in doc["results"]:
    name = f'{r["frame_bytes"]}B conns={r["active_conns"]} {r["pacing"]} {r["pcie"]}'
    c = r["counters"]
    injected = r["frames_warmup"] + r["frames_measured"]
    fates = sum(c[k] for k in c if k.startswith("rx_delivered") or k.startswith("rx_drop"))
    if c["rx_frames"] != injected or fates != c["rx_frames"]:
        errors.append(f"{name}: rx_frames {c['rx_frames']} fates {fates} injected {injected}")
    if c["rx_delivered_conn"] + c["rx_delivered_fallback"] != injected:
        errors.append(f"{name}: not every frame delivered")
    if c["rx_drop_ring_full"] != 0 or c["rx_drop_overflow"] != 0:
        errors.append(f"{name}: ring-full/overflow drops")
    if not r["checks"]["ok"]:
        errors.append(f"{name}: checks failed: {r['checks']}")
    if not r["packets_per_cycle"] > 0:
        errors.append(f"{name}: no throughput")
if not doc["summary"]["all_checks_ok"] or proc.returncode != 0:
    errors.append(f"nic_bench exit {proc.returncode}, all_checks_ok {doc['summary']['all_checks_ok']}")
for e in errors:
    print("FAIL:", e)
print(f"{len(doc['results'])} points, {len(errors)} errors")
sys.exit(1 if errors else 0)
