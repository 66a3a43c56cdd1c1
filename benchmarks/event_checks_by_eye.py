"""Per-kind precision and recall of the mesh / iris events, judged BY EYE on the dev clips.

Reads ``benchmarks/data/event_checks_by_eye.json``: for each run (``before`` / ``after`` a fix),
every event of issue 11's new kinds that the landmark captioner found on the 13 dev clips of
``tests/data/wild_captions_by_eye.json`` (the ``timeline`` and start states of ``events.json``,
captioned or not), with a verdict written by a person who looked at face crops before, at, in the
middle of, at the end of and after the event (``benchmarks/event_sheets.py``): ``T`` the event is
there, ``F`` it is not, ``U`` unsure; and the clear events of these kinds seen in the clips but not
reported (``misses``). Test clips were never looked at.

    python benchmarks/event_checks_by_eye.py [--data FILE]

A run may list ``groups``: the kind groups it checked (a re-check of some kinds only); its
table shows those alone.

Precision = T / (T + F) over the checked events (unsure ones left out); recall = T / (T + misses),
an estimate: misses are only those a person noticed on the contact sheets.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "event_checks_by_eye.json"

#: issue 11's event kinds, grouped as the issue names them (prefix -> group)
GROUPS = (
    ("gaze_is_", "gaze state (start)"),
    ("gaze_", "gaze shift"),
    ("eyes_are_half_open", "half-open eyes"), ("eyes_stay_half_open", "half-open eyes"),
    ("eyes_half_close", "half-open eyes"),
    ("eyes_narrow", "squint (eyes narrow)"),
    ("lids_tighten", "lid tightening"),
    ("teeth_", "teeth showing"),
    ("lips_press", "lip press"), ("lips_pucker", "lip pucker / round"), ("lips_round", "lip pucker / round"),
    ("lips_stretch", "lip stretch"),
    ("jaw", "jaw drop"), ("chin_raise", "chin raise"),
    ("cheeks_raise", "cheek raise"), ("nose_wrinkle", "nose wrinkle"),
    ("head_lower", "head bow / lift"), ("head_lift", "head bow / lift"), ("head_is_lowered", "head bow / lift"),
    ("head_is_raised", "head bow / lift"), ("head_stays_lowered", "head bow / lift"),
)
ORDER = list(dict.fromkeys(g for _, g in GROUPS))


def group(kind: str) -> str | None:
    for prefix, name in GROUPS:
        if kind.startswith(prefix):
            return name
    return None


def tally(run: dict) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"T": 0, "F": 0, "U": 0, "miss": 0})
    for e in run["events"]:
        g = group(e["kind"])
        if g:
            out[g][e["verdict"]] += 1
    for m in run.get("misses", []):
        g = group(m["kind"])
        if g:
            out[g]["miss"] += 1
    return out


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    doc = json.loads(args.data.read_text())
    print(f"judged by {doc['judged_by']} on the {doc['split']} clips only ({len(doc['clips'])} clips)")
    runs = doc["runs"]
    tallies = {name: tally(run) for name, run in runs.items()}
    for name, run in runs.items():
        print(f"\n### {name}: {run['what']}\n")
        print("| kind | checked | true | false | unsure | precision | missed | recall |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        tot = {"T": 0, "F": 0, "U": 0, "miss": 0}
        for g in ORDER:
            if not any(g in t for t in tallies.values()):
                continue  # a kind no run found or missed
            if "groups" in run and g not in run["groups"]:
                continue  # a run that re-checked only some kinds
            c = tallies[name][g]
            for k in tot:
                tot[k] += c[k]
            n = c["T"] + c["F"] + c["U"]
            print(f"| {g} | {n} | {c['T']} | {c['F']} | {c['U']} | {_ratio(c['T'], c['T'] + c['F'])} | "
                  f"{c['miss']} | {_ratio(c['T'], c['T'] + c['miss'])} |")
        n = tot["T"] + tot["F"] + tot["U"]
        print(f"| **all** | {n} | {tot['T']} | {tot['F']} | {tot['U']} | {_ratio(tot['T'], tot['T'] + tot['F'])} | "
              f"{tot['miss']} | {_ratio(tot['T'], tot['T'] + tot['miss'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
