#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
# Tests that need root or network namespaces skip with a message elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${NORMAN_PRESET:-ci}
scripts/build.sh
ctest --preset "$preset" -j "$(nproc)" --timeout 600 "$@"
