#!/usr/bin/env bash
# A cohort run with a crash in the middle: generates N small phantoms, runs `spinescreen batch`
# over them, kills the batch's process group with SIGKILL once about half of the studies are
# done, reruns the same command, and checks that every study was analysed exactly once
# (bench/cohort_check.py). Prints throughput, peak memory and failures.
#
#   bench/cohort_kill_resume.sh [N] [SEED] [OUTDIR]
#
# N defaults to 1000, SEED to 20271202, OUTDIR to out/cohort/kill_resume_<N>_<SEED>.
# The phantoms are generated once per N, SEED and PHANTOM_ARGS (a marker says they are
# complete); the results folder OUTDIR/results is emptied at every start, so each run of this
# script is a whole experiment.
# Environment: SPINESCREEN (the executable; default build/apps/spinescreen/spinescreen),
# JOBS (studies at a time; default 2), GEN_JOBS (phantom generators at a time; default 1),
# KILL_AT (the fraction of studies done when the batch is killed; default 0.5),
# TIMEOUT_S (per study; default 600), PHANTOM_ARGS (default "--small").
# Writes OUTDIR/figures.json (throughput, memory, statuses, the check) and the logs of both runs.
set -euo pipefail

N="${1:-1000}"
SEED="${2:-20271202}"
OUT="${3:-out/cohort/kill_resume_${N}_${SEED}}"
BIN="${SPINESCREEN:-build/apps/spinescreen/spinescreen}"
JOBS="${JOBS:-2}"
GEN_JOBS="${GEN_JOBS:-1}"
KILL_AT="${KILL_AT:-0.5}"
TIMEOUT_S="${TIMEOUT_S:-600}"
PHANTOM_ARGS="${PHANTOM_ARGS:---small}"
HERE="$(cd "$(dirname "$0")" && pwd)"

if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 4 ]; then
  echo "usage: $0 [N>=4] [SEED] [OUTDIR]" >&2
  exit 2
fi
if ! [[ "$SEED" =~ ^[0-9]+$ ]]; then
  echo "SEED must be a non-negative integer" >&2
  exit 2
fi
if ! [[ "$GEN_JOBS" =~ ^[0-9]+$ ]] || [ "$GEN_JOBS" -lt 1 ]; then
  echo "GEN_JOBS must be a positive integer" >&2
  exit 2
fi
KILL_N=$(awk -v n="$N" -v f="$KILL_AT" 'BEGIN { k = int(n * f + 0.5); if (f <= 0 || f >= 1 || k < 1 || k >= n) print "bad"; else print k }')
if [ "$KILL_N" = "bad" ]; then
  echo "KILL_AT must leave at least one study on each side of the kill" >&2
  exit 2
fi
if [ ! -x "$BIN" ]; then
  echo "no spinescreen executable at $BIN (build first, or set SPINESCREEN)" >&2
  exit 2
fi
for tool in python3 setsid; do
  command -v "$tool" > /dev/null || { echo "$tool is needed" >&2; exit 2; }
done

mkdir -p "$OUT"
PHANTOMS="$OUT/phantoms"
RESULTS="$OUT/results"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# 1. Phantoms.
MARK="$N $SEED $PHANTOM_ARGS"
if [ ! -f "$PHANTOMS/.complete" ] || [ "$(cat "$PHANTOMS/.complete")" != "$MARK" ]; then
  rm -rf "$PHANTOMS"
  echo "== generating $N phantoms, seed $SEED, $PHANTOM_ARGS, $GEN_JOBS at a time" >&2
  t0=$(now)
  if [ "$GEN_JOBS" -gt "$N" ]; then GEN_JOBS="$N"; fi
  pids=()
  for ((g = 0; g < GEN_JOBS; g++)); do
    first=$((N * g / GEN_JOBS))
    count=$((N * (g + 1) / GEN_JOBS - first))
    # shellcheck disable=SC2086
    "$BIN" phantom -o "$PHANTOMS" --cases "$count" --first "$first" --seed "$SEED" \
      $PHANTOM_ARGS 2>> "$OUT/generate.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    wait "$p" || { echo "phantom generation failed (see $OUT/generate.log)" >&2; exit 1; }
  done
  t1=$(now)
  echo "$MARK" > "$PHANTOMS/.complete"
  elapsed "$t0" "$t1" > "$OUT/generate_seconds.txt"
  echo "== phantoms: $(cat "$OUT/generate_seconds.txt") s" >&2
fi
find "$PHANTOMS" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort > "$OUT/cases.txt"
if [ "$(wc -l < "$OUT/cases.txt")" -ne "$N" ]; then
  echo "expected $N phantom folders in $PHANTOMS" >&2
  exit 1
fi

rm -rf "$RESULTS"
CMD=("$BIN" batch "$PHANTOMS" -o "$RESULTS" --jobs "$JOBS" --timeout-s "$TIMEOUT_S")
ends() {
  local c
  c=$(grep -c '"event":"end"' "$RESULTS/analyses.jsonl" 2> /dev/null) || true
  echo "${c:-0}"
}

# 2. First run, killed with SIGKILL (the whole process group) after KILL_N studies.
echo "== run 1: batch of $N, $JOBS at a time; kill -9 after $KILL_N studies" >&2
t0=$(now)
setsid "${CMD[@]}" > "$OUT/run1.log" 2>&1 &
BPID=$!
sleep 0.2
PGID=$(ps -o pgid= -p "$BPID" | tr -d ' ')
if [ "$PGID" != "$BPID" ]; then
  echo "the batch is not the leader of its own process group" >&2
  kill -9 "$BPID"
  exit 1
fi
HWM_KB=0
while kill -0 "$BPID" 2> /dev/null; do
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BPID/status" 2> /dev/null || true)
  if [ -n "$hwm" ] && [ "$hwm" -gt "$HWM_KB" ]; then HWM_KB=$hwm; fi
  if [ "$(ends)" -ge "$KILL_N" ]; then break; fi
  sleep 0.5
done
if ! kill -0 "$BPID" 2> /dev/null; then
  echo "run 1 ended by itself before the kill (see $OUT/run1.log)" >&2
  exit 1
fi
kill -9 -- "-$PGID"
t1=$(now)
wait "$BPID" 2> /dev/null || true
DONE1=$(ends)
RUN1_S=$(elapsed "$t0" "$t1")
echo "== killed after $RUN1_S s with $DONE1 studies recorded" >&2
# The studies' own processes die with the batch (PR_SET_PDEATHSIG): wait until none is left.
for _ in $(seq 1 100); do
  if ! pgrep -f -- "analyze .* -o $RESULTS/" > /dev/null; then break; fi
  sleep 0.1
done
ORPHANS=$(pgrep -f -- "analyze .* -o $RESULTS/" | wc -l || true)

# What the kill left: the studies whose report.json is complete.
python3 - "$RESULTS" "$OUT/cases.txt" > "$OUT/done_after_kill.txt" << 'PY'
import json, os, sys
out, cases = sys.argv[1], sys.argv[2]
for c in open(cases).read().split():
    try:
        j = json.load(open(os.path.join(out, c, "report.json")))
    except (OSError, ValueError):
        continue
    if isinstance(j, dict) and j.get("status") in ("ok", "not_applicable", "failed"):
        print(c)
PY
echo "== $(wc -l < "$OUT/done_after_kill.txt") complete reports after the kill; orphans: $ORPHANS" >&2

# 3. The same command again.
echo "== run 2: the same command" >&2
TIME=()
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -v -o "$OUT/run2_time.txt"); fi
t0=$(now)
RC2=0
"${TIME[@]}" "${CMD[@]}" > "$OUT/run2.log" 2>&1 || RC2=$?
t1=$(now)
RUN2_S=$(elapsed "$t0" "$t1")
echo "== run 2: exit $RC2, $RUN2_S s; $(tail -1 "$OUT/run2.log")" >&2

# 4. Checks and figures.
CHECK_RC=0
python3 "$HERE/cohort_check.py" "$RESULTS" --cases "$OUT/cases.txt" \
  --done-after-kill "$OUT/done_after_kill.txt" --json-out "$OUT/check.json" || CHECK_RC=$?
python3 "$HERE/cohort_stats.py" "$RESULTS" ${TIME:+--time-file "$OUT/run2_time.txt"} --json \
  > "$OUT/stats.json"
python3 - "$OUT" "$RUN1_S" "$DONE1" "$RUN2_S" "$RC2" "$HWM_KB" "$ORPHANS" "$N" "$JOBS" \
  "$(cat "$OUT/generate_seconds.txt" 2> /dev/null || echo null)" << 'PY'
import json, os, sys
out, run1_s, done1, run2_s, rc2, hwm_kb, orphans, n, jobs, gen_s = sys.argv[1:]
stats = json.load(open(os.path.join(out, "stats.json")))
check = json.load(open(os.path.join(out, "check.json")))
run1_s, run2_s, done1, n = float(run1_s), float(run2_s), int(done1), int(n)
rerun = check.get("rerun_record") or {}
fig = {
    "studies": n,
    "jobs": int(jobs),
    "generate_seconds": None if gen_s == "null" else float(gen_s),
    "run1_seconds_until_kill": run1_s,
    "run1_studies_recorded": done1,
    "run1_studies_per_min": round(done1 / (run1_s / 60.0), 1),
    "run2_seconds": run2_s,
    "run2_exit_code": int(rc2),
    "run2_studies": check["analysed_in_rerun"],
    "run2_studies_per_min": round(check["analysed_in_rerun"] / (run2_s / 60.0), 1),
    "overall_studies_per_min": round(n / ((run1_s + run2_s) / 60.0), 1),
    "seconds_per_study_median": stats.get("seconds_median"),
    "seconds_per_study_p90": stats.get("seconds_p90"),
    "seconds_per_study_max": stats.get("seconds_max"),
    "study_peak_rss_mb_median": stats.get("study_rss_mb_median"),
    "study_peak_rss_mb_max": stats.get("study_rss_mb_max"),
    "batch_peak_rss_mb_run1": round(int(hwm_kb) / 1024.0, 1),
    "batch_peak_rss_mb_run2": rerun.get("max_rss_mb"),
    "run2_peak_rss_mb_batch_or_any_study": stats.get("batch_and_children_max_rss_mb"),
    "status": stats.get("status"),
    "not_ok_reasons": stats.get("not_ok_reasons"),
    "orphans_after_kill": int(orphans),
    "check": check,
}
json.dump(fig, open(os.path.join(out, "figures.json"), "w"), indent=2)
f = fig
print(f"== {n} studies, {jobs} at a time: {f['status']}")
print(f"== run 1: {done1} studies in {run1_s:.0f} s ({f['run1_studies_per_min']} studies/min), then kill -9")
print(f"== run 2: {f['run2_studies']} studies in {run2_s:.0f} s ({f['run2_studies_per_min']} studies/min), exit {rc2}")
print(f"== overall {f['overall_studies_per_min']} studies/min; per study median {f['seconds_per_study_median']} s, "
      f"90th percentile {f['seconds_per_study_p90']} s, max {f['seconds_per_study_max']} s")
print(f"== peak memory: per study median {f['study_peak_rss_mb_median']} MB, max {f['study_peak_rss_mb_max']} MB; "
      f"batch process {f['batch_peak_rss_mb_run1']} MB (run 1), {f['batch_peak_rss_mb_run2']} MB (run 2)")
for k, v in sorted((f["not_ok_reasons"] or {}).items()):
    print(f"   {v} x {k}")
print(f"== figures in {os.path.join(out, 'figures.json')}")
PY
if [ "$RC2" -ne 0 ] || [ "$CHECK_RC" -ne 0 ] || [ "$ORPHANS" -ne 0 ]; then
  echo "== FAILED (rerun exit $RC2, check exit $CHECK_RC, orphans $ORPHANS)" >&2
  exit 1
fi
