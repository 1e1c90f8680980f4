#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, from seeds (fuzz/seeds and generated ones)
# plus a corpus kept in FUZZ_DIR; first replays the kept regression inputs in fuzz/regressions.
# Exits non-zero on any crash; crashing inputs land in FUZZ_DIR/crashes/.
#   scripts/run-fuzz.sh FUZZ_DIR SECONDS
set -euo pipefail
dir="$1"; seconds="$2"
targets=(nifti dicom_series manifest_csv report_text report_json)
mkdir -p "$dir/seeds" "$dir/crashes"
"$dir/fuzz/fuzz_make_seeds" "$dir/seeds"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
for t in "${targets[@]}"; do
  bin="$dir/fuzz/fuzz_$t"
  corpus="$dir/corpus/$t"
  mkdir -p "$corpus" "$dir/seeds/$t"
  [ -d "fuzz/seeds/$t" ] && cp -n fuzz/seeds/$t/* "$dir/seeds/$t/" 2>/dev/null || true
  if [ -d "fuzz/regressions/$t" ] && ls "fuzz/regressions/$t"/* >/dev/null 2>&1; then
    echo "== fuzz_$t: replaying regressions"
    "$bin" "fuzz/regressions/$t"/* >"$dir/fuzz_$t.regressions.log" 2>&1 || {
      echo "fuzz_$t: a kept regression input fails again"; tail -30 "$dir/fuzz_$t.regressions.log"; status=1; }
  fi
  echo "== fuzz_$t: ${seconds}s"
  if "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=1048576 \
      -artifact_prefix="$dir/crashes/${t}-" -print_final_stats=1 "$corpus" "$dir/seeds/$t" \
      >"$dir/fuzz_$t.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|cov:" "$dir/fuzz_$t.log" | tail -3
  else
    echo "fuzz_$t FAILED:"; tail -40 "$dir/fuzz_$t.log"; status=1
  fi
done
exit $status
