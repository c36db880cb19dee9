#!/usr/bin/env bash
# The full-geometry run (64K connections, the register map's filter sizes):
# writes hw/synth/report.json. Hours of CPU and several GB of memory; not a
# CI test. Figures go to docs/hardware.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${NORMAN_SYNTH_WORK:-$(mktemp -d /tmp/norman-synth-full.XXXXXX)}
"${PYTHON:-python3}" "$here/synth.py" --geometry full --work "$work" --out "$here/report.json" >/dev/null
echo "synth: report in $here/report.json, logs and netlists in $work" >&2
