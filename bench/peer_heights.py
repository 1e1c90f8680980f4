#!/usr/bin/env python3
"""L1-L5 heights on the real development CT against the peer tool's spine report.

Runs `analyze` three ways on totalseg-example/example_ct.nii.gz: the built-in spine model,
TotalSegmentator's whole-vertebra mask alone (bodies cut here) and that mask with the peer's
body mask, then prints each height against spine_report/spine_report.json, the mean and
largest absolute difference per route, and how far the two mask routes differ from each other.

usage: bench/peer_heights.py BIN DATA_DIR [OUT_DIR]
  BIN       the spinescreen binary
  DATA_DIR  the development data (the folder holding totalseg-example/)
"""
import json
import os
import subprocess
import sys
import tempfile

LEVELS = ["L1", "L2", "L3", "L4", "L5"]
PARTS = ["anterior", "middle", "posterior"]


def run(binary, ct, extra, out):
    cmd = [binary, "analyze", ct, "-o", out] + extra
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"analyze failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    with open(os.path.join(out, "report.json")) as f:
        return {v["label"]: v for v in json.load(f)["vertebrae"]}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, data = sys.argv[1], os.path.join(sys.argv[2], "totalseg-example")
    out = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="peer_heights_")
    ct = os.path.join(data, "example_ct.nii.gz")
    mask = os.path.join(data, "spine_report", "totalseg.nii.gz")
    bodies = os.path.join(data, "spine_report", "totalseg_vertebrae_pp_refined.nii.gz")
    with open(os.path.join(data, "spine_report", "spine_report.json")) as f:
        peer = json.load(f)["results"]
    routes = {
        "built-in": run(binary, ct, [], os.path.join(out, "builtin")),
        "mask alone": run(binary, ct, ["--vertebrae-mask", mask], os.path.join(out, "mask")),
        "mask + bodies": run(binary, ct, ["--vertebrae-mask", mask, "--body-mask", bodies],
                             os.path.join(out, "bodies")),
    }
    print("level part      peer  " + "  ".join(f"{r:>13}" for r in routes))
    diffs = {r: [] for r in routes}
    between = []
    for level in LEVELS:
        for part in PARTS:
            ref = peer[f"vertebrae_{level}_height_{part}_mm"]
            row = f"{level:5} {part:9} {ref:5.1f}"
            values = {}
            for name, report in routes.items():
                h = report.get(level, {}).get("heights_mm")
                if not h:
                    row += f"  {'not measured':>13}"
                    continue
                values[name] = h[part]
                diffs[name].append(abs(h[part] - ref))
                row += f"  {h[part]:6.1f} ({h[part] - ref:+4.1f})"
            if "mask alone" in values and "mask + bodies" in values:
                between.append(abs(values["mask alone"] - values["mask + bodies"]))
            print(row)
    for name, d in diffs.items():
        if d:
            print(f"{name}: {len(d)} heights, mean abs difference {sum(d) / len(d):.2f} mm, "
                  f"largest {max(d):.2f} mm")
    if between:
        print(f"mask alone vs mask + bodies: mean {sum(between) / len(between):.2f} mm, "
              f"largest {max(between):.2f} mm")
    print(f"reports in {out}")


if __name__ == "__main__":
    main()
