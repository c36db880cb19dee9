#!/usr/bin/env bash
# ctest hw_synth_ci / hw_synth: the synthesis check at a geometry of
# rules.json (exit 77 = skip). Usage: run-check.sh [ci|reduced] [PYTHON]
# The JSON report goes to $NORMAN_SYNTH_REPORT when set (else nowhere);
# the check's verdict and one line per module go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
geometry=${1:-ci}
python=${2:-python3}
if ! command -v node >/dev/null || [[ ! -d $here/node_modules/@yowasp/yosys ]]; then
  echo "hw_synth: SKIPPED: the pinned Yosys is not installed (run scripts/setup-deps.sh)" >&2
  exit 77
fi
args=(--geometry "$geometry" --check)
[[ -n ${NORMAN_SYNTH_REPORT:-} ]] && args+=(--out "$NORMAN_SYNTH_REPORT")
# Yosys is one process on one core; nice keeps it from crowding the rest of
# the suite that ctest runs beside it.
exec nice -n 10 "$python" "$here/synth.py" "${args[@]}" >/dev/null
