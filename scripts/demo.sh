#!/usr/bin/env bash
# The main demo: the simulated NIC (nsim), the control plane (normand), a
# kernel-bypass UDP echo server running as an unprivileged user, and a Linux
# peer in a network namespace that pings it and talks UDP to it; every step
# is explained and checked. Needs root (it creates a namespace and TAP
# devices), installs what is missing, builds, and removes everything it
# created on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: needs root: it creates a network namespace and TAP devices" >&2
  exit 1
fi
preset=${NORMAN_PRESET:-ci}
echo "Building nsim, normand, the echo server and normanctl (the first time takes several minutes) ..."
scripts/build.sh --target nsim normand norman-echo-server normanctl >/dev/null
exec scripts/run-demo.sh "build/$preset"
