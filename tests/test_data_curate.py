"""``dfec data curate``: the paper's clip filters on synthetic clips made here (and on real clips)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dfec.cli import main as cli_main
from dfec.data import curate as cur
from dfec.data.curate import CurateConfig, curate, curate_clip, face_measures
from dfec.schema import Track, TrackingResult


def _write(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    import av

    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=fps)
    h, w = frames[0].shape[:2]
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    for f in frames:
        for pk in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
            c.mux(pk)
    for pk in s.encode():
        c.mux(pk)
    c.close()
    return path


def _face(i: int) -> np.ndarray:
    """The astronaut's face (about 12 % of a 256x256 frame), drifting a few pixels per frame."""
    from skimage.data import astronaut

    a = astronaut()
    dx, dy = int(round(6 * np.sin(i / 2.0))), int(round(4 * np.cos(i / 3.0)))
    return a[40 + dy:296 + dy, 100 + dx:356 + dx]


def _texture(i: int, size: int = 256) -> np.ndarray:
    """A blocky random texture scrolling sideways: lots of motion, no face."""
    base = np.random.default_rng(0).integers(0, 255, (size // 8, size // 8, 3), dtype=np.uint8)
    return np.roll(np.kron(base, np.ones((8, 8, 1), dtype=np.uint8)), 3 * i, axis=1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    _write(d / "face.mp4", [_face(i) for i in range(16)], 8)                       # keep
    _write(d / "static.mp4", [_face(0)] * 16, 8)                                   # static
    _write(d / "faceless.mp4", [_texture(i) for i in range(16)], 8)                # no face
    _write(d / "cut.mp4", [_face(i) for i in range(15)] + [_texture(i) for i in range(15)], 10)  # one hard cut
    (d / "long").mkdir()
    _write(d / "long" / "long.mp4", [np.full((32, 32, 3), (6 * i) % 255, np.uint8) for i in range(42)], 2)  # 21 s
    (d / "notes.txt").write_text("not a video")
    (d / "broken.mp4").write_bytes(b"\x00\x01 this is not a video")
    return d


def _tracking_or_skip():
    try:
        from dfec.tracking.pipeline import track  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the face tracking module (dfec.tracking.pipeline.track) is not available yet: {exc}")


NO_FACES = dict(check_face=False, check_people=False)


def test_filters_without_tracking_parallel(clips, tmp_path):
    res = curate(clips, tmp_path / "out", CurateConfig(workers=2, **NO_FACES), progress=False)
    rows = {r["clip"]: r for r in res.rows}
    assert set(rows) == {"face.mp4", "static.mp4", "faceless.mp4", "cut.mp4", "long/long.mp4", "broken.mp4"}
    kept = {c for c, r in rows.items() if r["kept"]}
    assert kept == {"face.mp4", "faceless.mp4"}  # the face filter is off here
    assert rows["static.mp4"]["filters"]["static"]["passed"] is False
    assert rows["static.mp4"]["reasons"] == [rows["static.mp4"]["reasons"][0]] and "static" in rows["static.mp4"]["reasons"][0]
    assert rows["cut.mp4"]["filters"]["shots"] == {"passed": False, "value": 1, "limit": 0, "note": "cuts at 1.50 s"}
    assert rows["long/long.mp4"]["filters"]["duration"]["passed"] is False
    assert rows["long/long.mp4"]["filters"]["duration"]["value"] == pytest.approx(21.0, abs=0.6)
    assert rows["long/long.mp4"]["filters"]["static"]["passed"] is None  # not run after the duration drop
    assert "not run" in rows["long/long.mp4"]["filters"]["static"]["note"]
    assert rows["broken.mp4"]["error"] and rows["broken.mp4"]["reasons"][0].startswith("unreadable")
    for r in rows.values():
        assert r["filters"]["face"] == {"passed": None, "value": None, "limit": None, "note": "disabled"}
    assert rows["face.mp4"]["filters"]["static"]["value"] > 1.0 and rows["static.mp4"]["filters"]["static"]["value"] < 0.1
    # CSV, JSONL, kept list and summary agree
    with open(res.files["curation.csv"]) as fh:
        table = {r["clip"]: r for r in csv.DictReader(fh)}
    assert {c for c, r in table.items() if r["kept"] == "1"} == kept
    assert table["cut.mp4"]["shot_changes"] == "1" and "shot changes" in table["cut.mp4"]["reasons"]
    lines = Path(res.files["curation.jsonl"]).read_text().splitlines()
    assert sorted(json.loads(x)["clip"] for x in lines) == sorted(rows)
    assert Path(res.files["kept.txt"]).read_text().split() == sorted(kept)
    summary = json.loads(Path(res.files["curation_summary.json"]).read_text())
    assert summary["dropped_by_filter"] == {"static": 1, "shots": 1, "duration": 1, "unreadable": 1}


def test_run_all_reports_every_filter(clips, tmp_path):
    row = curate_clip(clips / "long" / "long.mp4", CurateConfig(run_all=True, **NO_FACES), clip="long")
    f = row["filters"]
    assert f["duration"]["passed"] is False and f["shots"]["passed"] is True and f["static"]["passed"] is True
    row = curate_clip(clips / "cut.mp4", CurateConfig(run_all=True, max_shot_changes=1, **NO_FACES))
    assert row["kept"] and row["filters"]["shots"]["value"] == 1
    row = curate_clip(clips / "static.mp4", CurateConfig(check_static=False, **NO_FACES))
    assert row["kept"] and row["filters"]["static"]["note"] == "disabled"


def test_resume_skips_judged_clips(clips, tmp_path, monkeypatch):
    cfg = CurateConfig(workers=1, check_duration=True, check_shots=False, **NO_FACES)
    first = curate(clips, tmp_path / "out", cfg, progress=False)
    assert first.n_resumed == 0

    def boom(*a, **k):
        raise AssertionError("a judged clip was measured again")

    monkeypatch.setattr(cur, "measure_motion", boom)
    again = curate(clips, tmp_path / "out", cfg, progress=False)
    assert again.n_resumed == len(first.rows) and [r["kept"] for r in again.rows] == [r["kept"] for r in first.rows]
    monkeypatch.undo()
    # an interrupted run: the last line was cut short -> only that clip is judged again
    jsonl = tmp_path / "out" / "curation.jsonl"
    lines = jsonl.read_text().splitlines()
    jsonl.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    third = curate(clips, tmp_path / "out", cfg, progress=False)
    assert third.n_resumed == len(first.rows) - 1
    assert [r["kept"] for r in third.rows] == [r["kept"] for r in first.rows]
    # other settings: nothing is reused
    fourth = curate(clips, tmp_path / "out", CurateConfig(workers=1, min_motion=0.0001, check_shots=False, **NO_FACES),
                    progress=False)
    assert fourth.n_resumed == 0


def test_face_measures_area_and_people():
    def tr(tid, frames, box, interp=None):
        return Track(tid, frames=frames, boxes=[box] * len(frames), landmarks=np.zeros((len(frames), 68, 2)),
                     scores=[1.0] * len(frames), interpolated=interp or [False] * len(frames))

    big = tr(0, list(range(10)), (0, 0, 30, 30))             # 900 / 10000 = 9 %
    small = [tr(i, list(range(10)), (0, 0, 10, 10)) for i in range(1, 4)]
    blip = tr(9, [4], (0, 0, 80, 80))                         # a one-frame false detection
    res = TrackingResult("x.mp4", 16, 10, (100, 100), tracks=[big, *small, blip])
    m = face_measures(res, min_track_frames=3)
    assert m["people"] == 4 and m["n_tracks"] == 5
    assert m["face_area"] == pytest.approx(0.09)              # the bigger one-frame blip does not count
    assert face_measures(res, min_track_frames=1)["face_area"] == pytest.approx(0.64)
    interp = tr(5, [0, 1, 2], (0, 0, 90, 90), interp=[True, True, True])
    assert face_measures(TrackingResult("x", 16, 3, (100, 100), tracks=[interp]))["n_tracks"] == 0
    assert face_measures(TrackingResult("x", 16, 3, (100, 100)))["face_area"] == 0.0


def test_face_and_people_filters_with_a_fake_analyzer(clips):
    """The filter logic with a stand-in analyzer (the real tracking module is tested below)."""
    def crowd(path, n_frames):
        tracks = [Track(i, frames=list(range(8)), boxes=[(10 * i, 0, 10 * i + 70, 70)] * 8) for i in range(5)]
        return TrackingResult(path, 16, 8, (256, 256), tracks=tracks)

    row = curate_clip(clips / "face.mp4", CurateConfig(), analyzer=crowd)
    assert not row["kept"] and row["filters"]["people"] == {"passed": False, "value": 5, "limit": 3, "note": ""}
    assert row["filters"]["face"]["passed"] is True
    row = curate_clip(clips / "face.mp4", CurateConfig(max_people=5), analyzer=crowd)
    assert row["kept"]


def test_face_filter_with_the_tracking_module(clips, tmp_path):
    _tracking_or_skip()
    cfg = CurateConfig(workers=1)
    rows = {n: curate_clip(clips / n, cfg, clip=n) for n in ("face.mp4", "faceless.mp4")}
    assert rows["face.mp4"]["kept"], rows["face.mp4"]["reasons"]
    assert 0.05 < rows["face.mp4"]["filters"]["face"]["value"] < 0.2
    assert rows["face.mp4"]["filters"]["people"]["value"] == 1
    assert not rows["faceless.mp4"]["kept"] and rows["faceless.mp4"]["reasons"] == ["no face"]
    assert rows["faceless.mp4"]["filters"]["face"]["note"] == "no face found"
    # the static clip has a face but no motion: with every filter run, only "static" fails
    row = curate_clip(clips / "static.mp4", CurateConfig(run_all=True))
    assert [k for k, v in row["filters"].items() if v["passed"] is False] == ["static"]
    # a face that is too small for a stricter threshold
    row = curate_clip(clips / "face.mp4", CurateConfig(min_face_area=0.3, check_shots=False, check_static=False))
    assert not row["kept"] and row["reasons"][0].startswith("face too small")


def test_real_clips_cli(shared_data, tmp_path, capsys):
    """Real media: the RAVDESS clip is one shot of one speaking face (kept); the Hamilton clip cuts
    between the stage and the audience three times in 9 s (dropped for shot changes)."""
    d = tmp_path / "real"
    d.mkdir()
    for name in ("01-01-08-02-01-01-19.mp4", "short_hamilton_clip.mp4"):
        if not (shared_data / name).is_file():
            pytest.skip(f"{name} not in shared data")
        (d / name).symlink_to(shared_data / name)
    try:
        from dfec.tracking.pipeline import track  # noqa: F401
        extra = []
    except ImportError:
        extra = ["--no-face", "--no-people"]
    rc = cli_main(["data", "curate", str(d), "--out", str(tmp_path / "out"), "--workers", "2", "--no-progress", *extra])
    out = capsys.readouterr().out
    assert rc == 0 and "kept 1 of 2 clips" in out
    rows = {json.loads(x)["clip"]: json.loads(x) for x in (tmp_path / "out" / "curation.jsonl").read_text().splitlines()}
    assert rows["01-01-08-02-01-01-19.mp4"]["kept"]
    ham = rows["short_hamilton_clip.mp4"]
    assert not ham["kept"] and ham["filters"]["shots"]["value"] == 3 and ham["reasons"] == ["shot changes: 3 cut(s) > 0"]
    if not extra:
        assert rows["01-01-08-02-01-01-19.mp4"]["filters"]["face"]["value"] > 0.1


def test_cli_curate_errors(tmp_path, capsys):
    assert cli_main(["data", "curate", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli_main(["data", "curate", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no video files" in capsys.readouterr().err


def test_resume_redoes_a_changed_file(clips, tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    (d / "a.mp4").write_bytes((clips / "static.mp4").read_bytes())
    cfg = CurateConfig(workers=1, **NO_FACES)
    assert not curate(d, tmp_path / "o", cfg, progress=False).rows[0]["kept"]
    (d / "a.mp4").write_bytes((clips / "face.mp4").read_bytes())  # same name, new content
    res = curate(d, tmp_path / "o", cfg, progress=False)
    assert res.n_resumed == 0 and res.rows[0]["kept"]


def test_missing_tracking_module_is_a_one_line_error(clips, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "dfec.tracking.pipeline", None)  # import now fails
    rc = cli_main(["data", "curate", str(clips), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and len(err) == 1 and "--no-face --no-people" in err[0]
    rc = cli_main(["data", "curate", str(clips), "--out", str(tmp_path / "o"), "--no-progress", "--no-face",
                   "--no-people", "--workers", "1"])
    assert rc == 0 and "kept 2 of 6 clips" in capsys.readouterr().out
