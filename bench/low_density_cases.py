#!/usr/bin/env python3
"""Prints the indices of phantoms of one seed whose column is osteoporotic: the first COUNT
cases among 0..SCAN-1 in which some vertebra's trabecular bone is at most MAX_HU. Reads the
truth of a `spinescreen phantom --truth-only` run (fast: nothing is rendered).

    bench/low_density_cases.py SPINESCREEN SEED SCAN MAX_HU COUNT

Used with bench/phantom_eval.sh, e.g. the low-density development set:

    CASE_LIST="$(bench/low_density_cases.py build/apps/spinescreen/spinescreen 7007 400 80 24)" \\
      bench/phantom_eval.sh 24 7007 out/lowdensity_24_7007
"""
import glob
import json
import os
import subprocess
import sys
import tempfile


def main() -> int:
    if len(sys.argv) != 6:
        print("usage: bench/low_density_cases.py SPINESCREEN SEED SCAN MAX_HU COUNT",
              file=sys.stderr)
        return 2
    exe, seed, scan, max_hu, count = sys.argv[1:]
    try:
        seed_i, scan_i, count_i = int(seed), int(scan), int(count)
        max_hu_f = float(max_hu)
    except ValueError:
        print("SEED, SCAN and COUNT must be integers, MAX_HU a number", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([exe, "phantom", "-o", tmp, "--cases", str(scan_i), "--seed",
                              str(seed_i), "--truth-only"], capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return 1
        chosen = []
        for path in sorted(glob.glob(os.path.join(tmp, "*", "truth.json"))):
            with open(path, encoding="utf-8") as f:
                truth = json.load(f)
            hus = [v["trabecular_hu"] for v in truth["vertebrae"]
                   if v.get("trabecular_hu") is not None]
            if hus and min(hus) <= max_hu_f:
                chosen.append(int(truth["case_id"].rsplit("_", 1)[1]))
            if len(chosen) == count_i:
                break
    if len(chosen) < count_i:
        print(f"only {len(chosen)} of {scan_i} cases have trabecular bone <= {max_hu} HU",
              file=sys.stderr)
        return 1
    print(" ".join(str(c) for c in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
