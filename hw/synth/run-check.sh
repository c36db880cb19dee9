#!/usr/bin/env bash
# ctest hw_synth: the synthesis check at the reduced geometry (exit 77 = skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-python3}
if ! command -v node >/dev/null || [[ ! -d $here/node_modules/@yowasp/yosys ]]; then
  echo "hw_synth: SKIPPED: the pinned Yosys is not installed (run scripts/setup-deps.sh)" >&2
  exit 77
fi
exec "$python" "$here/synth.py" --geometry reduced --check >/dev/null
