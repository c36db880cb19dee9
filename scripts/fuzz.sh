#!/usr/bin/env bash
# The libFuzzer targets (fuzz/): builds them with the `fuzz` preset (clang,
# ASan + UBSan; nothing else of the tree) and runs each for FUZZ_SECONDS
# (default 25) from its seed corpus in fuzz/corpus/<target>, adding what it
# finds to build/fuzz/run/corpus/<target>. A crash or invariant failure stops
# the script with the failing input saved in build/fuzz/run/artifacts/.
# How to fuzz longer: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-25}
targets=(nfw_restore nfw_command ctl_request frame)
NORMAN_PRESET=fuzz scripts/build.sh --target "${targets[@]/%/_fuzz}"
run=build/fuzz/run
mkdir -p "$run/artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$run/corpus/$t"
  dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s" >&2
  "build/fuzz/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$run/artifacts/$t-" "${dict[@]}" \
    "$run/corpus/$t" "fuzz/corpus/$t" 2>"$run/$t.log" || {
    tail -40 "$run/$t.log" >&2
    echo "fuzz: $t failed; the input is in $run/artifacts/ (log: $run/$t.log)" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$run/$t.log" | tr '\n' ' ' >&2
  echo >&2
done
echo "fuzz: ${#targets[@]} passed, 0 failed"
