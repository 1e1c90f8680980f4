#!/usr/bin/env python3
"""Signed height error of the vertebrae the truth grades 0, by the phantoms' slice spacing:
mean (predicted - truth) of the anterior, middle and posterior heights, and their mean
absolute error. Then the same for the vertebrae the truth grades 2 or 3, by their shape
(wedge, biconcave, crush), with medians: a fracture's grade rests on its shortest height
against its posterior one. Only vertebrae whose predicted label lies within 20 mm of the
truth's whole-vertebra centroid are counted (the identification rule).

    bench/height_bias.py PHANTOMS RESULTS

PHANTOMS holds phantom_*/truth.json (as `spinescreen phantom` writes them); RESULTS holds
phantom_*/report.json (as `spinescreen batch` writes them), e.g. for bench/phantom_eval.sh:

    bench/height_bias.py out/dev3/phantoms out/dev3/results
"""
import json
import math
import os
import statistics
import sys

PARTS = ("anterior", "middle", "posterior")
BANDS = ((1.0, "<= 1 mm"), (2.0, "1-2 mm"), (3.0, "2-3 mm"), (math.inf, "> 3 mm"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    phantoms, results = sys.argv[1], sys.argv[2]
    errors = {name: [[], [], []] for _, name in BANDS}
    fractured = {}  # (shape, band) -> three lists
    for case in sorted(os.listdir(phantoms)):
        truth_path = os.path.join(phantoms, case, "truth.json")
        report_path = os.path.join(results, case, "report.json")
        if not (os.path.isfile(truth_path) and os.path.isfile(report_path)):
            continue
        with open(truth_path) as f:
            truth = json.load(f)
        with open(report_path) as f:
            report = json.load(f)
        spacing = truth["spacing_mm"][2]
        band = next(name for edge, name in BANDS if spacing <= edge)
        predicted = {v["label"]: v for v in report.get("vertebrae", [])}
        for t in truth["vertebrae"]:
            grade = t.get("genant_grade")
            if grade not in (0, 2, 3) or not t.get("heights_mm"):
                continue
            p = predicted.get(t["label"])
            if not p or not p.get("heights_mm"):
                continue
            if math.dist(p["centroid_lps_mm"], t["centroid_lps_mm"]) > 20.0:
                continue
            if grade == 0:
                target = errors[band]
            else:
                target = fractured.setdefault((t.get("morphology", "?"), band), [[], [], []])
            for i, part in enumerate(PARTS):
                target[i].append(p["heights_mm"][part] - t["heights_mm"][part])
    print("slices   n     signed error Ha / Hm / Hp (mm)    mean absolute Ha / Hm / Hp (mm)")
    for _, name in BANDS:
        e = errors[name]
        if not e[0]:
            continue
        signed = " / ".join("%+.2f" % (sum(x) / len(x)) for x in e)
        absolute = " / ".join("%.2f" % (sum(abs(v) for v in x) / len(x)) for x in e)
        print("%-8s %-5d %-33s %s" % (name, len(e[0]), signed, absolute))
    print()
    print("grade 2-3  slices   n    signed error Ha / Hm / Hp (mm)   median Ha / Hm / Hp (mm)")
    order = [name for _, name in BANDS]
    for (shape, name), e in sorted(fractured.items(), key=lambda k: (k[0][0], order.index(k[0][1]))):
        signed = " / ".join("%+.2f" % (sum(x) / len(x)) for x in e)
        medians = " / ".join("%+.2f" % statistics.median(x) for x in e)
        print("%-10s %-8s %-4d %-32s %s" % (shape, name, len(e[0]), signed, medians))


if __name__ == "__main__":
    main()
