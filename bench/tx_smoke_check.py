#!/usr/bin/env python3
"""ctest nic_tx_bench_smoke: run `nic_tx_bench --quick`, check that the JSON
parses, that every posted descriptor was sent once with status SENT and the
exact frame bytes (TX_SENT = TX_FETCHED = frames), that no point sends faster
than the line allows, and that the simulator-speed figures are present."""
import json
import subprocess
import sys

bench = sys.argv[1]
proc = subprocess.run([bench, "--quick"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=175)
sys.stderr.write(proc.stderr)
doc = json.loads(proc.stdout)
errors = []
if not doc.get("results"):
    errors.append("no results")
for r in doc["results"]:
    name = f'{r["frame_bytes"]}B conns={r["conns"]} {r["pacing"]} {r["pcie"]}'
    if not r["checks"]["ok"]:
        errors.append(f"{name}: checks failed: {r['checks']}")
    if not r["packets_per_cycle"] > 0:
        errors.append(f"{name}: no throughput")
    if r["pacing"] == "line_rate_100g" and r["line_rate_pct"] > 100.5:
        errors.append(f"{name}: faster than the line ({r['line_rate_pct']}%)")
speed = doc["summary"]["sim_speed"]
if not speed["idle_cycles_per_s"] > 0 or not speed["traffic_cycles_per_s"] > 0:
    errors.append(f"missing simulator speed: {speed}")
if not doc["summary"]["all_checks_ok"] or proc.returncode != 0:
    errors.append(f"nic_tx_bench exit {proc.returncode}, all_checks_ok {doc['summary']['all_checks_ok']}")
for e in errors:
    print("FAIL:", e)
print(f"{len(doc['results'])} points, {len(errors)} errors")
sys.exit(1 if errors else 0)
