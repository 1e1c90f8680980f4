#!/usr/bin/env python3
"""Checks a batch output folder after a killed run and a rerun: every study analysed exactly once.

    bench/cohort_check.py --cases CASES.txt --done-after-kill DONE.txt OUTDIR

CASES.txt lists the cohort's case ids (one a line); DONE.txt the case ids whose report.json was
complete right after the kill, before the rerun. OUTDIR/analyses.jsonl is batch's append-only
record of every study it started (`start`) and finished (`end`) in each run. Exits 1 when any
check fails, and says which, with the case ids concerned (at most 10 of each).

A study counts as analysed once when exactly one analyze process ran to completion for it:
  - finished before the kill: one `start` in the killed run, none in the rerun; normally with an
    `end` in the killed run, or none when the kill came between the study's end and batch's
    record of it (its report was already complete, so the rerun rightly skipped it);
  - not finished at the kill: exactly one `start` and one `end` in the rerun; at most one
    `start` without an `end` in the killed run (the study the kill cut off).
Also: summary.csv has one row per case and no other; every case has a complete report.json
(valid JSON with status ok, not_applicable or failed); no `.tmp.*` file is left.
"""
import argparse
import csv
import json
import os
import sys


def complete_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(j, dict) or j.get("status") not in ("ok", "not_applicable", "failed"):
        return None
    return j


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--done-after-kill", required=True)
    ap.add_argument("--json-out")
    a = ap.parse_args()

    cases = read_lines(a.cases)
    case_set = set(cases)
    done_before = set(read_lines(a.done_after_kill))
    problems = []

    def problem(what, ids):
        ids = sorted(ids)
        if ids:
            problems.append(f"{what}: {len(ids)} ({', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''})")

    # summary.csv
    with open(os.path.join(a.outdir, "summary.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [r["case_id"] for r in rows]
    seen, dups = set(), set()
    for i in ids:
        (dups if i in seen else seen).add(i)
    problem("summary.csv rows repeated", dups)
    problem("summary.csv rows missing", case_set - seen)
    problem("summary.csv rows not in the cohort", seen - case_set)

    # reports
    no_report, leftovers, status = [], [], {}
    for c in cases:
        d = os.path.join(a.outdir, c)
        rep = complete_report(os.path.join(d, "report.json"))
        if rep is None:
            no_report.append(c)
        else:
            status[rep["status"]] = status.get(rep["status"], 0) + 1
        if os.path.isdir(d) and any(n.startswith(".tmp.") for n in os.listdir(d)):
            leftovers.append(c)
    problem("cases without a complete report.json", no_report)
    problem("cases with leftover .tmp.* files", leftovers)

    # analyses.jsonl
    events = []
    with open(os.path.join(a.outdir, "analyses.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                problems.append(f"analyses.jsonl line {n} is not JSON")
    runs = []
    for e in events:
        if e.get("event") == "run_start":
            runs.append(e["run"])
    if len(runs) != 2:
        problems.append(f"expected 2 runs in analyses.jsonl (killed, rerun), found {len(runs)}")
        killed, rerun = (runs + [None, None])[:2]
    else:
        killed, rerun = runs
    run_end = {e["run"]: e for e in events if e.get("event") == "run_end"}
    if killed in run_end:
        problems.append("the killed run has a run_end record: it was not killed")
    if rerun not in run_end:
        problems.append("the rerun has no run_end record")
    elif run_end[rerun].get("interrupted"):
        problems.append("the rerun was interrupted")

    count = {}  # (case, run, event) -> n
    for e in events:
        if e.get("event") in ("start", "end", "stopped"):
            k = (e.get("case_id"), e.get("run"), e["event"])
            count[k] = count.get(k, 0) + 1

    def n(c, run, ev):
        return count.get((c, run, ev), 0)

    bad_before, bad_after, twice = [], [], []
    cut_off, end_unrecorded = [], []
    for c in cases:
        s1, e1, s2, e2 = n(c, killed, "start"), n(c, killed, "end"), n(c, rerun, "start"), n(c, rerun, "end")
        if c in done_before:
            if not (s1 == 1 and e1 <= 1 and s2 == 0 and e2 == 0):
                bad_before.append(c)
            if e1 == 0:
                end_unrecorded.append(c)
            # its report was complete after the kill: one completed analysis even without an end
            completed = max(e1, 1) + e2
        else:
            if not (s1 <= 1 and e1 == 0 and s2 == 1 and e2 == 1):
                bad_after.append(c)
            if s1 == 1:
                cut_off.append(c)
            completed = e1 + e2
        if completed != 1:
            twice.append(c)
    unknown = {e.get("case_id") for e in events if e.get("case_id") is not None} - case_set
    problem("finished before the kill but analysed again or oddly recorded", bad_before)
    problem("unfinished at the kill but not analysed exactly once in the rerun", bad_after)
    problem("cases not completed exactly once", twice)
    problem("analyses.jsonl names cases outside the cohort", unknown)

    out = {
        "cases": len(cases),
        "summary_rows": len(rows),
        "status": status,
        "finished_before_kill": len(done_before),
        "analysed_in_rerun": sum(1 for c in cases if n(c, rerun, "start") > 0),
        "cut_off_by_kill_and_redone": len(cut_off),
        "finished_before_kill_without_end_record": len(end_unrecorded),
        "killed_run": killed,
        "rerun": rerun,
        "rerun_record": run_end.get(rerun),
        "problems": problems,
        "exactly_once": not problems,
    }
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    print(f"== exact-once check: {len(cases)} cases, {len(rows)} summary rows; "
          f"{len(done_before)} finished before the kill, {out['analysed_in_rerun']} analysed in "
          f"the rerun, {len(cut_off)} cut off by the kill and redone")
    if end_unrecorded:
        print(f"   {len(end_unrecorded)} finished just before the kill without batch's end record "
              f"(report complete, skipped by the rerun)")
    if problems:
        for p in problems:
            print("   FAIL " + p)
        sys.exit(1)
    print("   PASS: every study has exactly one complete report and was analysed to completion "
          "exactly once; no finished study was analysed again")


if __name__ == "__main__":
    main()
