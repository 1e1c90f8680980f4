#!/usr/bin/env bash
# Runs the benchmarks (make bench): ingestion against dcm2niix, whole-program analyze timing on
# the bundled sample and on a 512x512x400 synthetic CT at 0.8 mm, and the report-text reader.
# Long cohort measurements (bench/phantom_eval.sh) are run on their own.
#   bench/run_all.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
bin="$build/apps/spinescreen/spinescreen"
work="$(mktemp -d /tmp/spinescreen-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== ingestion: spinescreen convert vs dcm2niix -z n (512x512x400)"
"$here/ingest.sh" "$build" "$work/ingest"

echo "== analyze: bundled sample (3 mm abdomen-pelvis)"
"$here/analyze_timing.sh" "$bin" "$here/../data/sample/example_ct.nii.gz" 5

echo "== analyze: synthetic thoracolumbar CT at 0.8 mm slices (about 512x512x400)"
"$bin" phantom -o "$work/big" --cases 1 --seed 424242 --slice-mm 0.8 --fov thoracolumbar \
  >/dev/null
"$here/analyze_timing.sh" "$bin" "$(ls -d "$work"/big/*/ct.nii.gz | head -1)" 5

echo "== report-text reader"
"$build/bench/textaudit_bench" --benchmark_min_time=0.5
