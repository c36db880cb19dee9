#!/usr/bin/env bash
# Configure and build with a CMake preset (default: ci, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${NORMAN_PRESET:-ci}
scripts/setup-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/norman-ccache}
# Let a fresh clone (as CI makes) reuse objects compiled in another checkout.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake --preset "$preset" -G Ninja >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@"
