"""The by-eye wild references (tests/data/wild_captions_by_eye.json) are well formed, their splits are
the frozen seeded shuffles written in ``about``, and benchmarks/caption_quality.py reports every half."""
from __future__ import annotations

import importlib.util
import json
import random
import re
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
SPLITS = ("dev", "test", "test2")
SECTIONS = ("At the beginning of the video", "In the middle of the video", "Towards the end of the video")


def _doc() -> dict:
    return json.loads((DATA / "wild_captions_by_eye.json").read_text())


def test_by_eye_ids_files_and_marking():
    doc = _doc()
    caps = doc["captions"]
    ids = [c["id"] for c in caps]
    assert len(ids) == len(set(ids)) >= 27
    for c in caps:
        assert c["written_by"] == "eye", c["id"]
        assert re.fullmatch(r"wild/" + re.escape(c["id"]) + r"\.(mp4|mov)", c["video"]), c["id"]
        assert c["batch"] in (1, 2) and c["split"] in SPLITS
        assert c["caption"].startswith(("This video shows", "The video shows")), c["id"]
        assert all(s in c["caption"] for s in SECTIONS), c["id"]
        assert c["observations"] and all(isinstance(o, str) and o for o in c["observations"])
    assert not any("00001073" in c["video"] for c in caps)   # clip 61 is scored against its official reference


def test_by_eye_videos_exist(shared_data):
    wild = shared_data / "wild"
    if not wild.is_dir():
        pytest.skip("wild clips not present")
    missing = [c["video"] for c in _doc()["captions"] if not (shared_data / c["video"]).is_file()]
    assert not missing


def test_by_eye_split_disjoint_and_frozen():
    doc = _doc()
    split = {k: list(v) for k, v in doc["split"].items()}
    assert set(split) == set(SPLITS)
    caps = {c["id"]: c for c in doc["captions"]}
    seen = [i for v in split.values() for i in v]
    assert len(seen) == len(set(seen)) and set(seen) == set(caps)          # disjoint and complete
    for name, members in split.items():
        assert all(caps[i]["split"] == name for i in members)
    # the seeded shuffles written in `about`: batch 1 seed 11 (first 6 dev), batch 2 seed 12 (first half dev)
    for batch, seed, n_dev, held_out in ((1, 11, 6, "test"), (2, 12, None, "test2")):
        ids = sorted(i for i, c in caps.items() if c["batch"] == batch)
        random.Random(seed).shuffle(ids)
        n = n_dev if n_dev is not None else len(ids) // 2
        assert set(ids[:n]) == {i for i in split["dev"] if caps[i]["batch"] == batch}
        assert set(ids[n:]) == set(split[held_out])
        assert f"Random({seed})" in doc["about"]
    assert len(split["test"]) >= 6 and len(split["test2"]) >= 6


def test_by_eye_counts_well_formed():
    doc = _doc()
    ids = {c["id"] for c in doc["captions"]}
    clips = doc["counts_by_eye"]["clips"]
    assert len(clips) >= 10
    for cid, c in clips.items():
        assert cid in ids
        lo, hi = c.get("window", [0.0, 1e9])
        assert lo < hi
        assert c["blinks"] == sorted(c["blinks"]) and all(lo <= t <= hi for t in c["blinks"])
        assert 0 <= c["blinks_min"] <= len(c["blinks"]) <= c["blinks_max"]
        prev = -1.0
        for a, b in c["speaking"]:
            assert prev < a < b and lo <= a and b <= hi + 0.05, cid
            prev = b
