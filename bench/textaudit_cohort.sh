#!/usr/bin/env bash
# Times `spinescreen textaudit` on a synthetic cohort: N reports (default 1000) joined with a
# batch output folder of N cases, writing reports.csv, cases.csv, worklist.csv and audit.json.
# Prints the wall time (median of RUNS, default 5) and compares the rates the tool computes with
# the rates the generator drew (bench/textaudit_cohort.py).
#
#   bench/textaudit_cohort.sh [N] [SEED] [OUTDIR]
# Environment: SPINESCREEN (default build/apps/spinescreen/spinescreen), RUNS (default 5).
set -euo pipefail

N="${1:-1000}"
SEED="${2:-1}"
OUT="${3:-out/textaudit_cohort_${N}_${SEED}}"
BIN="${SPINESCREEN:-build/apps/spinescreen/spinescreen}"
RUNS="${RUNS:-5}"
HERE="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x "$BIN" ]; then
  echo "no spinescreen executable at $BIN (build first, or set SPINESCREEN)" >&2
  exit 2
fi
rm -rf "$OUT"
python3 "$HERE/textaudit_cohort.py" "$OUT" "$N" "$SEED"

times=()
for i in $(seq 1 "$RUNS"); do
  rm -rf "$OUT/audit"
  start=$(date +%s.%N)
  "$BIN" textaudit --reports "$OUT/reports.jsonl" --results "$OUT/results" -o "$OUT/audit" 2>"$OUT/log.txt"
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
cat "$OUT/log.txt"
echo "runs (s): ${times[*]}"
echo "median wall time for $N reports + $N batch cases: ${median} s"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = json.load(open(out + "/truth.json"))
a = json.load(open(out + "/audit/audit.json"))
print("generator drew: flagged %d, named %d (%.1f%%), referred %d (%.1f%%)" % (
    t["flagged"], t["named"], 100.0 * t["named"] / t["flagged"], t["referred"],
    100.0 * t["referred"] / t["flagged"]))
ir, rr = a["identification_rate"], a["referral_rate"]
print("textaudit found: flagged %d, identification rate %.1f%% [%.1f, %.1f], referral rate %.1f%% [%.1f, %.1f], worklist %d" % (
    ir["denominator"], 100 * ir["value"], 100 * ir["ci95"][0], 100 * ir["ci95"][1],
    100 * rr["value"], 100 * rr["ci95"][0], 100 * rr["ci95"][1], a["worklist"]))
PY
