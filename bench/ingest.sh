#!/usr/bin/env bash
# Ingestion benchmark: `spinescreen convert DIR out.nii` against `dcm2niix -z n` on the same
# uncompressed CT series (512x512x400 by default), each timed as a whole process; one warm-up
# each, then RUNS interleaved pairs; reports each median and the median of the pair ratios.
#
#   bench/ingest.sh [BUILD_DIR] [WORK_DIR]
#   env: RUNS (5), SIZE ("512 512 400"), KEEP=1 keeps WORK_DIR
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
work="${2:-$(mktemp -d /tmp/spinescreen-ingest.XXXXXX)}"
runs="${RUNS:-5}"
read -r nx ny nz <<< "${SIZE:-512 512 400}"
spinescreen="$build/apps/spinescreen/spinescreen"
generator="$build/bench/ingest_make_series"

for exe in "$spinescreen" "$generator"; do
  [ -x "$exe" ] || { echo "missing $exe (build targets spinescreen and ingest_make_series)" >&2; exit 2; }
done
command -v dcm2niix > /dev/null || { echo "dcm2niix not installed" >&2; exit 2; }
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

series="$work/series"
mkdir -p "$work/out"
if [ ! -d "$series" ]; then
  echo "writing a ${nx}x${ny}x${nz} CT series to $series" >&2
  "$generator" "$series" "$nx" "$ny" "$nz"
fi

# Runs a command once; prints "wall_seconds cpu_seconds peak_rss_kb" of that process.
measure() {
  python3 - "$@" << 'PY'
import resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {r.ru_utime + r.ru_stime:.3f} {r.ru_maxrss}")
PY
}
run_spinescreen() { measure "$spinescreen" convert "$series" "$work/out/spinescreen.nii"; }
run_dcm2niix() {
  rm -f "$work"/out/dcm2niix*
  measure dcm2niix -z n -b n -f dcm2niix -o "$work/out" "$series"
}

run_spinescreen > /dev/null; run_dcm2niix > /dev/null  # warm-up (page cache, libraries)
ours=(); theirs=(); ratios=(); ours_cpu=(); theirs_cpu=()
for ((i = 0; i < runs; i++)); do
  read -r a a_cpu a_rss < <(run_spinescreen)
  read -r b b_cpu b_rss < <(run_dcm2niix)
  ours+=("$a"); theirs+=("$b"); ours_cpu+=("$a_cpu"); theirs_cpu+=("$b_cpu")
  ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')")
  printf 'run %d: spinescreen %.3f s (cpu %.3f s, rss %d MB), dcm2niix %.3f s (cpu %.3f s, rss %d MB), ratio %.2f\n' \
    "$((i + 1))" "$a" "$a_cpu" "$((a_rss / 1024))" "$b" "$b_cpu" "$((b_rss / 1024))" "${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf 'series %dx%dx%d (%s), %d runs after a warm-up\n' "$nx" "$ny" "$nz" "$(du -shL "$series" | cut -f1)" "$runs"
printf 'median spinescreen convert: %.3f s\n' "$(median "${ours[@]}")"
printf 'median dcm2niix -z n:       %.3f s\n' "$(median "${theirs[@]}")"
printf 'median pairwise ratio:      %.2f (target <= 1.5)\n' "$(median "${ratios[@]}")"
printf 'median cpu (user+sys):      spinescreen %.3f s, dcm2niix %.3f s\n' \
  "$(median "${ours_cpu[@]}")" "$(median "${theirs_cpu[@]}")"
printf 'load average while measuring: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
