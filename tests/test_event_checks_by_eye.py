"""The by-eye event check table (benchmarks/data/event_checks_by_eye.json): dev clips only,
well-formed verdicts, and the per-kind tally of benchmarks/event_checks_by_eye.py."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_checks_are_by_eye_on_dev_clips_only():
    doc = json.loads((REPO / "benchmarks" / "data" / "event_checks_by_eye.json").read_text())
    split = json.loads((REPO / "tests" / "data" / "wild_captions_by_eye.json").read_text())["split"]
    assert doc["judged_by"] == "eye" and doc["split"] == "dev" and sorted(doc["clips"]) == sorted(split["dev"])
    held_out = set(split["test"]) | set(split["test2"]) | {"emollama__sample_00001073"}
    for run in doc["runs"].values():
        assert run["events"]
        for e in run["events"] + run["misses"]:
            assert e["clip"] in doc["clips"] and e["clip"] not in held_out
        assert {e["verdict"] for e in run["events"]} <= {"T", "F", "U"}


def test_tally_counts_verdicts_and_misses_per_kind_group():
    mod = _load("event_checks_by_eye")
    run = {"events": [{"kind": "nose_wrinkle", "verdict": "F"}, {"kind": "gaze_is_ahead", "verdict": "T"},
                      {"kind": "gaze_left", "verdict": "U"}, {"kind": "blink", "verdict": "T"}],
           "misses": [{"kind": "gaze_is_down"}]}
    t = mod.tally(run)
    assert t["nose wrinkle"] == {"T": 0, "F": 1, "U": 0, "miss": 0}
    assert t["gaze state (start)"] == {"T": 1, "F": 0, "U": 0, "miss": 1}
    assert t["gaze shift"]["U"] == 1 and "blink" not in str(dict(t))


def test_sheets_list_timeline_changes_and_start_states_once():
    mod = _load("event_sheets")
    doc = {"events": [{"kind": "gaze_is_ahead", "start": 0.0, "end": 0.0}, {"kind": "smile", "start": 1.0, "end": 1.5},
                      {"kind": "cheeks_raise", "start": 1.0, "end": 1.4}],
           "timeline": [{"kind": "cheeks_raise", "start": 1.0, "end": 1.4}, {"kind": "nose_wrinkle", "start": 2.0, "end": 2.3}]}
    out = mod.all_events(doc, ("gaze_", "cheeks_raise", "nose_wrinkle"))
    assert [(e["kind"], e["captioned"]) for e in out] == [("gaze_is_ahead", True), ("cheeks_raise", True),
                                                           ("nose_wrinkle", False)]
