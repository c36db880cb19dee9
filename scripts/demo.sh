#!/usr/bin/env bash
# The main demo: a Linux peer in a network namespace talks UDP to a
# kernel-bypass application through the simulated NIC (nsim), and every step
# is explained. Needs root (it creates a namespace and a TAP device), installs
# what is missing, builds, and removes everything it created on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: needs root: it creates a network namespace and a TAP device" >&2
  exit 1
fi
preset=${NORMAN_PRESET:-ci}
echo "Building nsim and the demo (the first time takes several minutes) ..."
scripts/build.sh --target nsim norman-demo >/dev/null
exec scripts/run-demo.sh "build/$preset"
