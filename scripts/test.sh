#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs each fuzz
# target briefly (scripts/fuzz.sh), then every test.
# Tests that need root or network namespaces skip with a message elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${NORMAN_PRESET:-ci}
scripts/build.sh
# A short run of every fuzz target (FUZZ_SECONDS each, 25 by default);
# NORMAN_SKIP_FUZZ=1 skips it.
if [[ ${NORMAN_SKIP_FUZZ:-0} != 1 ]]; then
  scripts/fuzz.sh
fi
ctest --preset "$preset" -j "$(nproc)" --timeout 600 "$@"
