#!/usr/bin/env bash
# Whole-program timing of `spinescreen analyze` (contracts/CLI.md, "Benchmarks"): the whole
# process on INPUT writing its default outputs, one warm-up, then the median of RUNS runs,
# with peak resident memory and the per-stage split from report.json's timing_ms.
#
#   bench/analyze_timing.sh SPINESCREEN_BIN INPUT [RUNS]
set -euo pipefail
bin="$1"; input="$2"; runs="${3:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" analyze "$input" -o "$work/warmup" >/dev/null 2>&1 || true
for i in $(seq 1 "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/time.$i" "$bin" analyze "$input" -o "$work/run$i" \
    >/dev/null 2>&1 || true
done
python3 - "$work" "$runs" "$input" <<'PY'
import json, statistics, sys, os
work, runs, inp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
secs, rss = [], []
for i in range(1, runs + 1):
    s, m = open(f"{work}/time.{i}").read().split()[-2:]
    secs.append(float(s)); rss.append(int(m) / 1024.0)
rep = json.load(open(f"{work}/run{runs}/report.json"))
print(f"input: {inp}")
print(f"status: {rep['status']} ({rep.get('status_reason','')})")
print(f"size: {rep['input'].get('size_voxels')} spacing: {rep['input'].get('spacing_mm')}")
print(f"wall seconds, {runs} runs: " + ", ".join(f"{s:.2f}" for s in secs))
print(f"median wall: {statistics.median(secs):.2f} s")
print(f"peak RSS: median {statistics.median(rss):.0f} MiB, max {max(rss):.0f} MiB")
print("timing_ms (last run): " + ", ".join(f"{k} {v:.0f}" for k, v in rep.get("timing_ms", {}).items()))
PY
