#!/usr/bin/env bash
# Lint the whole core as a hardware engineer would: verilator --lint-only
# -Wall on the register-map package and every RTL source, packages first (the
# order of hw/rtl/sources.cmake). The ctest hw_lint runs this script too.
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

mapfile -t pkgs < <(find "$root/hw/rtl/pkg" -maxdepth 1 -name '*.sv' | LC_ALL=C sort)
mapfile -t mods < <(find "$root/hw/rtl" -mindepth 2 -maxdepth 2 -name '*.sv' -not -path "$root/hw/rtl/pkg/*" |
  LC_ALL=C sort)
if ((list)); then
  printf '%s\n' "$regmap" "${pkgs[@]}" "${mods[@]}"
  exit 0
fi
exec verilator --lint-only -Wall --top-module nic_core "$regmap" "${pkgs[@]}" "${mods[@]}"
