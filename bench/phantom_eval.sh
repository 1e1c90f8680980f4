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
# TIMEOUT_S (per study; default 600), EXTRA_PHANTOM_ARGS (e.g. "--fov chest").
set -euo pipefail

N="${1:-50}"
SEED="${2:-20270101}"
OUT="${3:-out/phantom_eval_${N}_${SEED}}"
BIN="${SPINESCREEN:-build/apps/spinescreen/spinescreen}"
JOBS="${JOBS:-1}"
TIMEOUT_S="${TIMEOUT_S:-600}"

if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ]; then
  echo "usage: $0 [N>=1] [SEED] [OUTDIR]" >&2
  exit 2
fi
if ! [[ "$SEED" =~ ^[0-9]+$ ]]; then
  echo "SEED must be a non-negative integer" >&2
  exit 2
fi
if [ ! -x "$BIN" ]; then
  echo "no spinescreen executable at $BIN (build first, or set SPINESCREEN)" >&2
  exit 2
fi

mkdir -p "$OUT"
PHANTOMS="$OUT/phantoms"
RESULTS="$OUT/results"
EVAL="$OUT/eval"

# 1. Phantoms (once per N and SEED; a marker says they are complete).
if [ ! -f "$PHANTOMS/.complete" ] || [ "$(cat "$PHANTOMS/.complete")" != "$N $SEED" ]; then
  rm -rf "$PHANTOMS"
  echo "== generating $N phantoms, seed $SEED" >&2
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$BIN" phantom -o "$PHANTOMS" --cases "$N" --seed "$SEED" ${EXTRA_PHANTOM_ARGS:-} >&2
  t1=$(date +%s.%N)
  echo "$N $SEED" > "$PHANTOMS/.complete"
  awk -v a="$t0" -v b="$t1" -v n="$N" \
    'BEGIN { printf "== phantoms: %.1f s (%.2f s each)\n", b - a, (b - a) / n }' >&2
fi

# 2. Analysis (resumable).
echo "== batch: $N studies, $JOBS at a time, timeout $TIMEOUT_S s" >&2
t0=$(date +%s.%N)
"$BIN" batch "$PHANTOMS" -o "$RESULTS" --jobs "$JOBS" --timeout-s "$TIMEOUT_S" >&2
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v n="$N" \
  'BEGIN { printf "== batch wall time: %.1f s (%.1f studies/min, this run)\n", b - a, n / ((b - a) / 60) }' >&2

# 3. Evaluation.
echo "== evaluate" >&2
"$BIN" evaluate --truth "$PHANTOMS" --pred "$RESULTS" -o "$EVAL" >&2
cat "$EVAL/metrics.json"
