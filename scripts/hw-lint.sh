#!/usr/bin/env bash
# Lint the whole core as a hardware engineer would: verilator --lint-only
# -Wall on the register-map package and every RTL source of
# hw/rtl/sources.cmake, packages first (read through
# hw/synth/rtl-sources.cmake). The ctest hw_lint runs this script too.
#
# Usage: scripts/hw-lint.sh [REGMAP_PKG_SV]   (--list: print the sources only)
# Without REGMAP_PKG_SV the package is generated from hw/regmap/norman.json
# into a temporary directory, so no build is needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

list=0
if [[ ${1:-} == --list ]]; then
  list=1
  shift
fi
regmap=${1:-}
if [[ -z $regmap ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  regmap=$tmp/norman_regmap_pkg.sv
  python3 "$root/hw/regmap/gen_regmap.py" "$root/hw/regmap/norman.json" "$regmap" "$tmp/norman_regmap.hpp"
fi

# The list of hw/rtl/sources.cmake itself (the one the models are built from).
mapfile -t srcs < <(cmake -P "$root/hw/synth/rtl-sources.cmake")
if ((${#srcs[@]} == 0)); then
  echo "hw-lint: no RTL sources from hw/rtl/sources.cmake (is cmake installed?)" >&2
  exit 1
fi
if ((list)); then
  printf '%s\n' "$regmap" "${srcs[@]}"
  exit 0
fi
exec verilator --lint-only -Wall --top-module nic_core "$regmap" "${srcs[@]}"
