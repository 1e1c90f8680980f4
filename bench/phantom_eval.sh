#!/usr/bin/env bash
# Measures the engine on synthetic phantoms with known truth: generates N phantoms, analyses
# them with `spinescreen batch`, scores them with `spinescreen evaluate` and prints metrics.json.
#
#   bench/phantom_eval.sh [N] [SEED] [OUTDIR]
#
# N defaults to 50. SEED defaults to 20270101, the held-out seed: figures reported for the
# engine come from it, and nothing is tuned on it (develop on other seeds, e.g. 1..100).
# OUTDIR defaults to out/phantom_eval_<N>_<SEED>. Reruns reuse the phantoms and resume the batch;
# delete OUTDIR/results to analyse again after changing the engine.
# Environment: SPINESCREEN (the executable; default build/apps/spinescreen/spinescreen),
# JOBS (studies at a time; default 1 on 2 cores, so that each study gets both),
# GEN_JOBS (phantom generators at a time, each one a contiguous range of cases; default 1;
# the phantoms do not depend on it), TIMEOUT_S (per study; default 600),
# EXTRA_PHANTOM_ARGS (e.g. "--fov chest" or "--small"), CASE_LIST (space-separated case
# indices of SEED to render instead of 0..N-1, N of them; e.g. from
# bench/low_density_cases.py for a set of osteoporotic columns).
# After the metrics it prints the run's figures (bench/cohort_stats.py): statuses, seconds per
# study, peak resident memory per study and of the whole batch (GNU time, when installed).
set -euo pipefail

N="${1:-50}"
SEED="${2:-20270101}"
OUT="${3:-out/phantom_eval_${N}_${SEED}}"
BIN="${SPINESCREEN:-build/apps/spinescreen/spinescreen}"
JOBS="${JOBS:-1}"
GEN_JOBS="${GEN_JOBS:-1}"
TIMEOUT_S="${TIMEOUT_S:-600}"

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
need_uint N "$N" 1 "usage: $0 [N>=1] [SEED] [OUTDIR]"
need_uint SEED "$SEED" 0 "SEED must be a non-negative integer"
need_uint GEN_JOBS "$GEN_JOBS" 1 "GEN_JOBS must be a positive integer"
need_bin "$BIN"

mkdir -p "$OUT"
PHANTOMS="$OUT/phantoms"
RESULTS="$OUT/results"
EVAL="$OUT/eval"

# 1. Phantoms (once per N, SEED and EXTRA_PHANTOM_ARGS; a marker says they are complete).
MARK="$N $SEED${EXTRA_PHANTOM_ARGS:+ $EXTRA_PHANTOM_ARGS}${CASE_LIST:+ cases $CASE_LIST}"
if [ -n "${CASE_LIST:-}" ]; then
  read -r -a CASES <<< "$CASE_LIST"
  for c in "${CASES[@]}"; do
    if ! [[ "$c" =~ ^[0-9]+$ ]]; then
      echo "CASE_LIST must hold case indices (non-negative integers)" >&2
      exit 2
    fi
  done
  if [ "${#CASES[@]}" -ne "$N" ]; then
    echo "CASE_LIST holds ${#CASES[@]} cases, N is $N" >&2
    exit 2
  fi
fi
if [ ! -f "$PHANTOMS/.complete" ] || [ "$(cat "$PHANTOMS/.complete")" != "$MARK" ]; then
  rm -rf "$PHANTOMS"
  echo "== generating $N phantoms, seed $SEED" >&2
  t0=$(date +%s.%N)
  if [ "$GEN_JOBS" -gt "$N" ]; then GEN_JOBS="$N"; fi
  pids=()
  for ((g = 0; g < GEN_JOBS; g++)); do
    first=$((N * g / GEN_JOBS))
    count=$((N * (g + 1) / GEN_JOBS - first))
    if [ -n "${CASE_LIST:-}" ]; then
      # This generator's share of the listed cases, one at a time.
      (
        for ((i = first; i < first + count; i++)); do
          # shellcheck disable=SC2086
          "$BIN" phantom -o "$PHANTOMS" --cases 1 --first "${CASES[$i]}" --seed "$SEED" \
            ${EXTRA_PHANTOM_ARGS:-} >&2
        done
      ) &
    else
      # shellcheck disable=SC2086
      "$BIN" phantom -o "$PHANTOMS" --cases "$count" --first "$first" --seed "$SEED" \
        ${EXTRA_PHANTOM_ARGS:-} >&2 &
    fi
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    if ! wait "$p"; then
      echo "phantom generation failed" >&2
      exit 1
    fi
  done
  t1=$(date +%s.%N)
  echo "$MARK" > "$PHANTOMS/.complete"
  awk -v a="$t0" -v b="$t1" -v n="$N" \
    'BEGIN { printf "== phantoms: %.1f s (%.2f s each)\n", b - a, (b - a) / n }' >&2
fi

# 2. Analysis (resumable).
echo "== batch: $N studies, $JOBS at a time, timeout $TIMEOUT_S s" >&2
t0=$(date +%s.%N)
TIME=()
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -v -o "$OUT/batch_time.txt"); fi
"${TIME[@]}" "$BIN" batch "$PHANTOMS" -o "$RESULTS" --jobs "$JOBS" --timeout-s "$TIMEOUT_S" >&2
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v n="$N" \
  'BEGIN { printf "== batch wall time: %.1f s (%.1f studies/min, this run)\n", b - a, n / ((b - a) / 60) }' >&2

# 3. Evaluation.
echo "== evaluate" >&2
"$BIN" evaluate --truth "$PHANTOMS" --pred "$RESULTS" -o "$EVAL" >&2
cat "$EVAL/metrics.json"

# 4. The run's figures (to stderr, so stdout stays metrics.json).
python3 "$(dirname "$0")/cohort_stats.py" "$RESULTS" ${TIME:+--time-file "$OUT/batch_time.txt"} >&2
