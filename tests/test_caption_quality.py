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


# ------------------------------------------------------------------ benchmarks/caption_quality.py
def _bench():
    spec = importlib.util.spec_from_file_location("caption_quality", REPO / "benchmarks" / "caption_quality.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_halves_reports_each_split_and_all_test():
    cq = _bench()
    split = {"a": "dev", "b": "test", "c": "test2", "d": "dev", "e": "test2"}
    batch = {"a": 1, "b": 1, "c": 2, "d": 2, "e": 2}
    got = dict(cq.halves(split, batch))
    assert got == {"test half": ["b"], "test2 half": ["c", "e"], "all test (test + test2)": ["b", "c", "e"],
                   "dev half (all batches)": ["a", "d"], "dev batch 1": ["a"]}
    # one batch only: an empty test2 is left out, and groups repeating an earlier one ("all test" =
    # "test half", "dev batch 1" = "dev half") are printed once
    one = dict(cq.halves({"a": "dev", "b": "test"}, {"a": 1, "b": 1}))
    assert one == {"test half": ["b"], "dev half (all batches)": ["a"]}


def test_counts_table_counts_inside_the_window_only(capsys):
    from types import SimpleNamespace as E

    cq = _bench()
    doc = {"captions": [{"id": "x", "split": "test2"}, {"id": "y", "split": "dev"}],
           "counts_by_eye": {"clips": {
               "x": {"blinks": [0.3], "blinks_min": 1, "blinks_max": 1, "speaking": [[0.0, 0.6]], "window": [0.0, 2.0]},
               "y": {"blinks": [], "blinks_min": 0, "blinks_max": 0, "speaking": []},
               "z": {"blinks": [], "blinks_min": 0, "blinks_max": 0, "speaking": []}}}}
    timeline = [E(kind="blink", start=0.31, end=0.4), E(kind="blink", start=2.3, end=2.4),   # 2.3: after the cut
                E(kind="speaking", start=0.0, end=0.7), E(kind="speaking_resume", start=2.2, end=2.4),
                E(kind="head_turn", start=1.0, end=1.5)]
    rows = cq.counts_table(doc, {"x": E(timeline=timeline), "y": E(timeline=[E(kind="blink", start=1.0, end=1.1)])})
    assert set(rows) == {"x", "y"}                                   # z was not run
    assert rows["x"]["blinks_found"] == [0.31] and rows["x"]["speaking_found"] == [[0.0, 0.7]]
    assert rows["y"]["blinks_found"] == [1.0] and rows["x"]["split"] == "test2"
    assert rows["x"]["blinks_matched"] == 1 and rows["x"]["speech_iou"] == pytest.approx(0.6 / 0.7, abs=0.02)
    assert rows["y"]["blinks_matched"] == 0 and rows["y"]["speech_iou"] is None
    out = capsys.readouterr().out
    assert "| x | test2 | 1 | 1 (0.31) | 1 of 1 | 1 (0.0-0.6) | 1 (0.0-0.7) | 0.857 |" in out
    # one summary line per group: dev and held out are never mixed
    assert "dev: blink count within the by-eye range: 0 of 1 clips" in out
    assert "held out (test + test2): blink count within the by-eye range: 1 of 1 clips" in out
    assert "mean speech IoU: - over 0 clips" in out and "mean speech IoU: 0.857 over 1 clips" in out
    assert "matched within 0.25 s: 1 of 1 (found 1, 0 unmatched)" in out and "0 of 0 (found 1, 1 unmatched)" in out


def test_blink_matching_and_speech_overlap():
    cq = _bench()
    # each found blink is used once, the nearest pair first; 0.3 s away is no match
    assert cq.matched_blinks([1.0, 1.2, 3.0], [1.1, 3.3]) == 1
    assert cq.matched_blinks([1.0, 1.2], [1.05, 1.25]) == 2
    assert cq.matched_blinks([], [1.0]) == 0
    assert cq.speech_iou([[0.0, 1.0]], [[0.5, 1.5]], (0.0, 9.0)) == pytest.approx(1 / 3, abs=0.01)
    assert cq.speech_iou([[0.0, 1.0]], [], (0.0, 9.0)) == 0.0
    assert cq.speech_iou([], [[2.5, 3.0]], (0.0, 2.0)) is None          # outside the window: nothing to compare


def test_main_fixed_system_reports_every_half(tmp_path, capsys):
    cq = _bench()
    media = tmp_path / "media"
    (media / "wild").mkdir(parents=True)
    caps = []
    for cid, split, b in (("a", "dev", 1), ("b", "test", 1), ("c", "test2", 2), ("d", "dev", 2)):
        (media / "wild" / f"{cid}.mp4").write_bytes(b"")
        caps.append({"id": cid, "video": f"wild/{cid}.mp4", "split": split, "batch": b, "written_by": "eye",
                     "caption": "The video shows a man.\nAt the beginning of the video, his eyes are open and he "
                                "speaks. In the middle of the video, he blinks. Towards the end of the video, "
                                "his mouth closes."})
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps({"captions": caps}))
    out = tmp_path / "res.json"
    assert cq.main(["--refs", str(refs), "--media", str(media), "--work", str(tmp_path / "w"),
                    "--systems", "fixed", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for title in ("test half (1 clips)", "test2 half (1 clips)", "all test (test + test2) (2 clips)",
                  "dev half (all batches) (2 clips)", "dev batch 1 (1 clips)"):
        assert f"### {title}" in printed
    res = json.loads(out.read_text())
    assert res["halves"]["all test (test + test2)"]["ids"] == ["b", "c"]
    tem = res["halves"]["all test (test + test2)"]["fixed"]["tem"]
    assert tem == pytest.approx((res["scores"]["fixed"]["b"]["tem"] + res["scores"]["fixed"]["c"]["tem"]) / 2)
    # --splits dev runs the dev clips only
    assert cq.main(["--refs", str(refs), "--media", str(media), "--systems", "fixed", "--splits", "dev",
                    "--out", str(out)]) == 0
    assert set(json.loads(out.read_text())["split"]) == {"a", "d"}
    with pytest.raises(SystemExit):
        cq.main(["--refs", str(refs), "--media", str(media), "--systems", "fixed", "--splits", "tst"])
