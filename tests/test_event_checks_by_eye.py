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


def test_gaze_sheets_draw_the_iris_where_the_model_put_it():
    """A gaze tile shows the iris model's centre (red) at its place in the crop, the eye outline
    in green: on a frame-sized grey image cropped to (100, 50)-(300, 250) and shrunk to 100 px,
    an iris centre at frame (200, 150) lands at tile (50, 50)."""
    import numpy as np

    mod = _load("event_sheets")
    img = np.full((400, 400, 3), 128, np.uint8)
    box = mod._crop_box(img, 100, 50, 300, 250)
    tile = mod._crop(img, *box, size=100)
    mesh = np.full((468, 3), 200.0)
    for ring, dx in zip(mod.EYE_RINGS, (-40, 40)):
        for j, v in enumerate(ring):
            a = 2 * np.pi * j / len(ring)
            mesh[v] = (200 + dx + 20 * np.cos(a), 150 + 8 * np.sin(a), 0)
    iris = np.full((10, 3), np.nan)
    for e in (0, 5):
        iris[e] = (200, 150, 0)
        iris[e + 1:e + 5] = [(212, 150, 0), (200, 138, 0), (188, 150, 0), (200, 162, 0)]
    drawn = mod.draw_eye_points(tile, box, mesh, iris)
    assert tuple(drawn[50, 50]) == (255, 0, 0)                        # the iris centre, in place
    assert (drawn == (0, 255, 0)).all(axis=-1).sum() > 20              # the eye outlines
    plain = mod.draw_eye_points(tile, box, mesh, None)                 # no iris measured: outlines only
    assert not (plain == (255, 0, 0)).all(axis=-1).any()
