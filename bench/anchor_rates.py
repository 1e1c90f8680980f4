#!/usr/bin/env python3
"""How often the labelling anchors are seen, level by level, on phantoms with known truth.

    bench/anchor_rates.py SPINESCREEN PHANTOM_DIR [JOBS]

Runs `SPINESCREEN analyze` on every phantom_*/ct.nii.gz under PHANTOM_DIR with
SPINESCREEN_SPINE_DEBUG set, reads the spine stage's segment listing (ribs found per segment,
rib sides in view, iliac contact, sacral alae) and gives each segment the truth label of the
nearest truth body centroid (within 12 mm; below S1, the next segment "S2" and the rest
"S3-S5"; "?" otherwise). Prints, per truth level, the share of rib sides found among the sides
in view, how many segments seen on both sides show ribs on none, one or both, and the shares
of segments with sacral alae and with iliac contact: the detection rates the labelling's
likelihoods stand for.
Standard library only.
"""
import collections
import concurrent.futures
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile

SEGMENT = re.compile(
    r"segment (\d+) ribs (\d) at (\S+) (\S+) (\S+) pelvis (\d) sacral (\d) .* seen (\d)")


def run(binary, case_dir):
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, SPINESCREEN_SPINE_DEBUG="1")
        proc = subprocess.run([binary, "analyze", os.path.join(case_dir, "ct.nii.gz"), "-o", out],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, check=False)
    return case_dir, proc.stderr


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, root = sys.argv[1], sys.argv[2]
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    cases = sorted(d for d in glob.glob(os.path.join(root, "phantom_*"))
                   if os.path.isfile(os.path.join(d, "truth.json")))
    if not cases:
        sys.exit(f"no phantom_*/truth.json under {root}")
    ribs = collections.defaultdict(lambda: [0, 0])  # sides found, sides in view
    pairs = collections.defaultdict(lambda: [0, 0, 0])  # both sides in view: 0, 1, 2 found
    sacral = collections.defaultdict(lambda: [0, 0])
    pelvis = collections.defaultdict(lambda: [0, 0])
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for case_dir, log in pool.map(lambda d: run(binary, d), cases):
            truth = json.load(open(os.path.join(case_dir, "truth.json")))
            centres = [(v["label"], v.get("body_centroid_lps_mm") or v["centroid_lps_mm"])
                       for v in truth["vertebrae"]]
            below_s1 = 0  # sacral segments met below S1 (the listing runs caudally)
            for line in log.splitlines():
                m = SEGMENT.match(line)
                if not m or not centres:
                    continue
                p = [float(m.group(i)) for i in (3, 4, 5)]
                label, c = min(centres, key=lambda lc: math.dist(lc[1], p))
                if math.dist(c, p) <= 12.0:
                    below_s1 = 0
                elif label == "S1" and p[2] < c[2]:
                    # Below S1 lie the fused sacral segments, which the truth does not list.
                    below_s1 += 1
                    label = "S2" if below_s1 == 1 else "S3-S5"
                else:
                    label = "?"
                ribs[label][0] += int(m.group(2))
                ribs[label][1] += int(m.group(8))
                if int(m.group(8)) == 2:
                    pairs[label][int(m.group(2))] += 1
                sacral[label][0] += int(m.group(7))
                sacral[label][1] += 1
                pelvis[label][0] += int(m.group(6))
                pelvis[label][1] += 1
    order = (["C7"] + [f"T{i}" for i in range(1, 14)] + [f"L{i}" for i in range(1, 7)] +
             ["S1", "S2", "S3-S5", "?"])
    print(f"{len(cases)} phantoms under {root}")
    print("level  rib sides found/in view   both sides in view: 0/1/2 found   sacral alae   "
          "iliac contact")
    for label in order:
        if label not in sacral:
            continue
        r, s, q, b = ribs[label], sacral[label], pelvis[label], pairs[label]
        share = f"{r[0] / r[1]:.2f}" if r[1] else "  - "
        print(f"{label:5}  {r[0]:4}/{r[1]:<4} = {share}      {b[0]:4} / {b[1]:3} / {b[2]:4}"
              f"                {s[0]:3}/{s[1]:<4}    {q[0]:3}/{q[1]:<4}")


if __name__ == "__main__":
    main()
