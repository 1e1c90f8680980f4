#!/usr/bin/env python3
"""Writes a synthetic text-audit cohort: N report texts (reports.jsonl) and a batch output folder
(results/summary.csv and results/<case_id>/report.json) as `spinescreen batch` lays them out.

Each case draws whether spinescreen flagged it, whether its report names the fracture and
whether it recommends referral, at the rates of the hospital audit by default (77% named, 43%
referred among fracture cases); truth.json records what was drawn so that the rates the tool
computes can be checked against it. Report sentences are assembled from phrase pools, so this
cohort measures speed and the join, not reading accuracy (that is the labelled corpus's job).

  bench/textaudit_cohort.py OUTDIR [N] [SEED]
"""
import json
import os
import random
import sys

OUT = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rng = random.Random(SEED)

LEVELS = ["T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"]
EXAMS = ["CT ABDOMEN AND PELVIS WITH CONTRAST", "CT CHEST", "CTPA", "CT COLONOGRAPHY",
         "PET-CT skull base to thigh", "CT chest, abdomen and pelvis", "CT KUB"]
BACKGROUND = [
    "The liver, spleen, pancreas and adrenal glands are unremarkable.",
    "No pulmonary embolus to segmental level.",
    "Sigmoid diverticulosis without diverticulitis.",
    "Small hiatus hernia.",
    "Mild centrilobular emphysema.",
    "Simple cyst in the left kidney.",
    "No lymphadenopathy.",
    "Atheromatous calcification of the aorta.",
    "Multilevel degenerative change in the lumbar spine.",
    "Old healed right rib fractures.",
    "Schmorl's node at L3.",
]
NAMED = [
    "There is a compression fracture of {l} with approximately {p}% loss of height.",
    "Wedge fracture of {l}.",
    "Incidental {l} vertebral compression fracture.",
    "Known {l} compression fracture, unchanged.",
    "Moderate loss of height of the {l} vertebral body in keeping with an osteoporotic fracture.",
]
NOT_NAMED = [
    "Vertebral body heights are maintained.",
    "No acute bony abnormality.",
    "",
    "Possible mild wedging of {l}.",
    "No vertebral fracture.",
]
REFERRAL = [
    "Recommend referral to the Fracture Liaison Service.",
    "Suggest DXA and bone health assessment.",
    "Consider osteoporosis work-up.",
]


def report_text(named, referred):
    lines = [rng.choice(EXAMS), "Findings:"]
    lines += rng.sample(BACKGROUND, rng.randint(2, 5))
    lvl = rng.choice(LEVELS)
    phrase = rng.choice(NAMED if named else NOT_NAMED).format(l=lvl, p=rng.randint(25, 50))
    if phrase:
        lines.insert(rng.randint(2, len(lines)), phrase)
    lines.append("Impression:")
    lines.append("No acute abnormality." if not named else phrase)
    if referred:
        lines.append(rng.choice(REFERRAL))
    return "\n".join(lines)


os.makedirs(os.path.join(OUT, "results"), exist_ok=True)
header = ("case_id,status,status_reason,levels_found,max_genant_grade,fractured_levels,"
          "l1_trabecular_hu,density_hu,density_level,bone_density_category,fracture_score,"
          "referral_recommended,seconds\n")
truth = {"flagged": 0, "named": 0, "referred": 0}
with open(os.path.join(OUT, "reports.jsonl"), "w") as rep, \
        open(os.path.join(OUT, "results", "summary.csv"), "w") as summ:
    summ.write(header)
    for i in range(N):
        cid = "case%05d" % i
        status = "ok" if rng.random() > 0.04 else rng.choice(["failed", "not_applicable"])
        flagged = status == "ok" and rng.random() < 0.3
        if flagged:
            named = rng.random() < 0.77
            referred = named and rng.random() < 0.43 / 0.77
            truth["flagged"] += 1
            truth["named"] += named
            truth["referred"] += referred
        else:
            named = rng.random() < 0.05
            referred = named and rng.random() < 0.3
        grade = rng.choice([2, 2, 3]) if flagged else rng.choice([0, 0, 0, 1])
        levels = sorted(rng.sample(LEVELS, rng.randint(1, 2)), key=LEVELS.index) if flagged else []
        score = round(rng.uniform(0.5, 1.0) if flagged else rng.uniform(0.0, 0.5), 3)
        hu = round(rng.uniform(60, 220), 1)
        cat = "osteoporosis_likely" if hu <= 110 else "low" if hu <= 160 else "normal"
        rep.write(json.dumps({"case_id": cid, "text": report_text(named, referred),
                              "date": "2025-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)),
                              "accession": "ACC%07d" % rng.randint(0, 9999999)}) + "\n")
        if status != "ok":
            summ.write("%s,%s,synthetic,,,,,,,,,false,1.0\n" % (cid, status))
            continue
        summ.write("%s,ok,,T10;T11;T12;L1;L2,%d,%s,%.1f,%.1f,L1,%s,%.3f,%s,30.0\n" % (
            cid, grade, ";".join(levels), hu, hu, cat, score, "true" if flagged else "false"))
        os.makedirs(os.path.join(OUT, "results", cid), exist_ok=True)
        with open(os.path.join(OUT, "results", cid, "report.json"), "w") as f:
            json.dump({"schema_version": "1", "tool": {"name": "spinescreen", "version": "bench"},
                       "status": "ok", "input": {"path": cid + ".nii.gz"}, "vertebrae": [],
                       "patient": {"fracture_detected": flagged, "max_genant_grade": grade,
                                   "fractured_levels": levels, "fracture_score": score,
                                   "l1_trabecular_hu": hu, "density_hu": hu, "density_level": "L1",
                                   "bone_density_category": cat,
                                   "referral_recommended": flagged}}, f)
with open(os.path.join(OUT, "truth.json"), "w") as f:
    json.dump(truth, f)
