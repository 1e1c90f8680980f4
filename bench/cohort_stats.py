#!/usr/bin/env python3
"""Figures of one `spinescreen batch` output folder: statuses, seconds per study, peak memory.

    bench/cohort_stats.py OUTDIR [--time-file FILE]

Reads OUTDIR/summary.csv (one row per finished study), OUTDIR/<case_id>/batch.json (seconds and
`max_rss_mb` of the study's analyze process, written by batch) and, with --time-file, the output
of `/usr/bin/time -v` around the batch (its elapsed time and its peak resident memory, which GNU
time takes over the batch process and every study it waited for). Prints only counts, case-free
figures and status reasons; never paths or patient data.
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys


def quantile(values, q):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(x, unit="", digits=1):
    return "-" if x is None else f"{x:.{digits}f}{unit}"


def time_file(path):
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            m = re.match(r"Maximum resident set size \(kbytes\): (\d+)", line)
            if m:
                out["max_rss_mb"] = int(m.group(1)) / 1024.0
            m = re.match(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", line)
            if m:
                parts = [float(p) for p in m.group(1).split(":")]
                secs = 0.0
                for p in parts:
                    secs = secs * 60 + p
                out["elapsed_s"] = secs
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--time-file")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args()

    rows = []
    with open(os.path.join(a.outdir, "summary.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    status = {}
    reasons = {}
    seconds = []
    for r in rows:
        status[r["status"]] = status.get(r["status"], 0) + 1
        if r["status"] != "ok":
            # grouped with their numbers left out ("found over more than N mm")
            key = r["status"] + ": " + re.sub(r"\d+(\.\d+)?", "N", r["status_reason"] or "")[:160]
            reasons[key] = reasons.get(key, 0) + 1
        if r["seconds"]:
            seconds.append(float(r["seconds"]))
    rss = []
    for r in rows:
        p = os.path.join(a.outdir, r["case_id"], "batch.json")
        try:
            with open(p, encoding="utf-8") as f:
                j = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(j.get("max_rss_mb"), (int, float)):
            rss.append(float(j["max_rss_mb"]))

    def r2(x):
        return None if x is None else round(x, 2)

    fig = {
        "studies": len(rows),
        "status": status,
        "not_ok_reasons": reasons,
        "seconds_median": r2(quantile(seconds, 0.5)),
        "seconds_p90": r2(quantile(seconds, 0.9)),
        "seconds_max": max(seconds) if seconds else None,
        "seconds_sum": sum(seconds) if seconds else None,
        "study_rss_mb_median": r2(quantile(rss, 0.5)),
        "study_rss_mb_max": max(rss) if rss else None,
        "studies_with_rss": len(rss),
    }
    if fig["seconds_median"]:
        fig["studies_per_min_from_median"] = 60.0 / fig["seconds_median"]
    # The last run's own record (analyses.jsonl): how many studies it analysed, its peak memory.
    last_run = None
    try:
        with open(os.path.join(a.outdir, "analyses.jsonl"), encoding="utf-8") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("event") == "run_end":
                    last_run = e
    except OSError:
        pass
    if last_run:
        fig["last_run_analysed"] = last_run.get("ran")
        fig["last_run_batch_max_rss_mb"] = last_run.get("max_rss_mb")
    if a.time_file and os.path.exists(a.time_file):
        t = time_file(a.time_file)
        fig["batch_elapsed_s"] = t.get("elapsed_s")
        fig["batch_and_children_max_rss_mb"] = r2(t.get("max_rss_mb"))
        ran = last_run.get("ran") if last_run else len(rows)
        if t.get("elapsed_s") and ran:
            fig["studies_per_min_wall"] = r2(ran / (t["elapsed_s"] / 60.0))

    if a.json:
        json.dump(fig, sys.stdout, indent=2)
        print()
        return
    print(f"== studies: {fig['studies']} ("
          + ", ".join(f"{v} {k}" for k, v in sorted(status.items())) + ")")
    for k, v in sorted(reasons.items()):
        print(f"   {v} x {k}")
    print(f"== seconds per study: median {fmt(fig['seconds_median'])}, "
          f"90th percentile {fmt(fig['seconds_p90'])}, max {fmt(fig['seconds_max'])}")
    print(f"== peak memory per study (analyze process): median {fmt(fig['study_rss_mb_median'], ' MB')}, "
          f"max {fmt(fig['study_rss_mb_max'], ' MB')} ({len(rss)} studies recorded)")
    if last_run:
        print(f"== last batch run: {last_run.get('ran')} studies analysed, batch process peak "
              f"memory {fmt(last_run.get('max_rss_mb'), ' MB')}")
    if "batch_elapsed_s" in fig:
        print(f"== batch (GNU time): {fmt(fig['batch_elapsed_s'], ' s')} wall, "
              f"{fmt(fig.get('studies_per_min_wall'))} studies/min analysed; peak memory of the "
              f"batch or any one study {fmt(fig['batch_and_children_max_rss_mb'], ' MB')}")


if __name__ == "__main__":
    main()
