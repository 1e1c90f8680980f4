#!/usr/bin/env bash
# Runs `spinescreen analyze` on the bundled sample CT and prints a short human summary.
set -uo pipefail
bin="$1"; input="$2"; out="$3"
mkdir -p "$out"
"$bin" analyze "$input" -o "$out"
rc=$?
echo
echo "spinescreen analysed $input (exit code $rc)"
python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["patient"]
print(f"  status: {r['status']} ({r.get('status_reason', '')})")
levels = [v["label"] for v in r["vertebrae"]]
print(f"  vertebrae found: {', '.join(levels) if levels else 'none'}")
for v in r["vertebrae"]:
    h = v.get("heights_mm")
    hs = f"Ha/Hm/Hp {h['anterior']:.1f}/{h['middle']:.1f}/{h['posterior']:.1f} mm" if h else "heights n/a"
    g = v.get("genant_grade")
    hu = v.get("trabecular_hu")
    if not v.get("measurable", True):
        print(f"    {v['label']:>4}: not measured ({v.get('not_measurable_reason', 'no reason given')})")
        continue
    print(f"    {v['label']:>4}: {hs}, Genant grade {g if g is not None else 'n/a'}, "
          f"trabecular {hu if hu is not None else 'n/a'} HU")
print(f"  fracture detected: {p['fracture_detected']} (max grade {p.get('max_genant_grade')})")
print(f"  bone density: {p.get('bone_density_category')} ({p.get('density_hu')} HU at {p.get('density_level')})")
print(f"  referral recommended: {p['referral_recommended']}" +
      (f" — {'; '.join(p.get('referral_reasons', []))}" if p.get('referral_reasons') else ""))
PY
echo "  outputs in $out/ (open report.html to see the annotated sagittal picture):"
ls -1 "$out" | sed 's/^/    /'
exit $rc
