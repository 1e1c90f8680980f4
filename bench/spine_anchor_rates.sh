#!/usr/bin/env bash
# Per-level detection rates of the spine model's labelling anchors (rib sides, iliac contact,
# sacral alae) on phantoms with known truth: runs `analyze` with SPINESCREEN_SPINE_DEBUG=1 on
# every phantom in PHANTOMS and matches each segment to the truth vertebra whose body centroid
# is within 12 mm ('?' when none).
#   bench/spine_anchor_rates.sh PHANTOMS [WORKDIR]
# PHANTOMS is a folder written by `spinescreen phantom` (e.g. out/phantom_eval_40_2026/phantoms).
set -euo pipefail
PH="$1"
WORK="${2:-$(mktemp -d)}"
BIN="${SPINESCREEN:-build/apps/spinescreen/spinescreen}"
mkdir -p "$WORK/logs"
for d in "$PH"/*/; do
  c=$(basename "$d")
  [ -f "$d/truth.json" ] || continue
  SPINESCREEN_SPINE_DEBUG=1 "$BIN" analyze "$d/ct.nii.gz" -o "$WORK/out_$c" 2>&1 >/dev/null |
    grep '^segment [0-9]* ribs' > "$WORK/logs/$c.txt" || true
  rm -rf "$WORK/out_$c"
done
python3 - "$PH" "$WORK/logs" <<'PY'
import collections, glob, json, math, os, re, sys
ph, logs = sys.argv[1], sys.argv[2]
rib = collections.defaultdict(lambda: [0, 0])
pel = collections.defaultdict(lambda: [0, 0])
sac = collections.defaultdict(lambda: [0, 0])
pat = re.compile(r'segment \d+ ribs (\d) at (\S+) (\S+) (\S+) pelvis (\d) sacral (\d)')
for f in sorted(glob.glob(os.path.join(logs, '*.txt'))):
    case = os.path.basename(f)[:-4]
    truth = json.load(open(os.path.join(ph, case, 'truth.json')))
    bodies = [(v['label'], v['body_centroid_lps_mm']) for v in truth['vertebrae']
              if v.get('body_centroid_lps_mm')]
    for line in open(f):
        m = pat.match(line)
        if not m or not bodies:
            continue
        p = [float(m.group(i)) for i in (2, 3, 4)]
        label, c = min(bodies, key=lambda b: math.dist(b[1], p))
        if math.dist(c, p) > 12.0:
            label = '?'
        bits = int(m.group(1))
        rib[label][0] += 2
        rib[label][1] += (bits & 1) + (bits >> 1 & 1)
        pel[label][0] += 1
        pel[label][1] += int(m.group(5))
        sac[label][0] += 1
        sac[label][1] += int(m.group(6))
order = ['C7'] + [f'T{i}' for i in range(1, 14)] + [f'L{i}' for i in range(1, 7)] + ['S1', '?']
print('level,rib_sides_found,rib_sides,iliac_contact,segments,sacral_alae')
for l in order:
    if l in rib:
        print(f'{l},{rib[l][1]},{rib[l][0]},{pel[l][1]},{pel[l][0]},{sac[l][1]}')
PY
