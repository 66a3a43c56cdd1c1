"""Caption text from events: FEC-Bench layout, time order, measured facts only, TEM round trip,
and the ``dfec caption`` command (tracking reuse, model dispatch, resumable lists)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dfec.cli import main
from dfec.dynamics import synthetic as syn
from dfec.dynamics.captioner import (
    CLAUSES, NO_FACE, CaptionResult, caption_video, describe, group_events, segment_of,
)
from dfec.dynamics.events import DynamicsConfig
from dfec.dynamics.signals import track_signals
from dfec.schema import Event, TrackingResult

#: words a caption built from landmarks must never use (emotions, appearance, identity)
FORBIDDEN = re.compile(
    r"\b(happy|happiness|sad|sadness|angry|anger|surpris\w*|fear\w*|disgust\w*|contempt|emotion\w*|joy\w*|"
    r"hair|beard|glasses|skin|man|woman|boy|girl|young|old|middle-aged|he|she|his|her|wearing|wears)\b", re.I)


def demo_sequence():
    """A blink at the beginning, a head turn in the progression, a smile in the middle, brows at the end."""
    return syn.sequence(
        8.0, noise_px=0.2,
        eyes=lambda t: 1 - syn.bump(t, 0.8, 0.9, 0.06),
        # the face turns towards the image right: the person's own left (the default convention)
        yaw=lambda t: 22 * np.clip((t - 2.5) / 0.5, 0, 1),
        smile=lambda t: 6 * np.clip((t - 4.4) / 0.4, 0, 1),
        brows=lambda t: 7 * syn.bump(t, 6.6, 7.4, 0.2),
    )


def test_caption_layout_and_order():
    tr = demo_sequence()
    text, events, timeline = describe(track_signals(tr), tr.duration)
    assert [e.kind for e in timeline] == ["blink", "head_turn_left", "smile", "brows_raise", "brows_relax"]
    lines = text.split("\n")
    assert lines[0].startswith("The video shows")
    # the starting states make one sentence, the changes of the first phase the next
    assert lines[1].startswith("At the beginning of the video, their eyes are open, and their mouth is closed. "
                               "Then the person blinks.")
    assert "As the video progresses, their head turns to the left." in lines[1]
    assert lines[2].startswith("In the middle of the video,") and "smile" in lines[2]
    assert lines[3].startswith("Towards the end of the video, their eyebrows raise")
    # caption events are in time order and each carries its clause
    assert [e.start for e in events] == sorted(e.start for e in events)
    assert all(e.text and e.text in text for e in events)


def test_caption_never_names_emotions_or_attributes():
    for clauses in CLAUSES.values():
        for c in clauses:
            assert not FORBIDDEN.search(c), c
    tr = demo_sequence()
    text, _, _ = describe(track_signals(tr), tr.duration)
    assert not FORBIDDEN.search(text)
    assert not FORBIDDEN.search(NO_FACE)


def test_segments_and_grouping():
    cfg = DynamicsConfig(min_strength=0)  # a slight turn is said (min_strength: tests/test_caption_selection.py)
    assert [segment_of(t, 8.0, cfg.segments) for t in (0, 1.99, 2.0, 4.1, 6.0, 8.0)] == [0, 0, 1, 2, 3, 3]
    evs = [Event("blink", 0.2, 0.3, 0.5, "eyes"), Event("blink", 0.9, 1.0, 0.5, "eyes"),
           Event("blink", 1.5, 1.6, 0.5, "eyes"), Event("head_turn_left", 1.0, 1.4, 12.0, "head")]
    phases = group_events(evs, 8.0, cfg)
    assert [e.text for e in phases[0]] == ["the person blinks several times", "their head turns slightly to the left"]
    assert phases[1] == phases[2] == phases[3] == []
    many = [Event("head_turn_left" if i % 2 else "head_turn_right", 0.1 * i, 0.1 * i + 0.05, 10 + i, "head")
            for i in range(3)] + [Event(k, 0.5, 0.6, 1.0, r) for k, r in
                                  (("brows_raise", "brows"), ("smile", "mouth"), ("eyes_widen", "eyes"),
                                   ("mouth_open", "mouth"))]
    kept = group_events(many, 8.0, DynamicsConfig(max_clauses_per_segment=3))[0]
    assert len(kept) == 3 and [e.start for e in kept] == sorted(e.start for e in kept)


def test_blinks_kept_first_under_the_clause_cap():
    # four strong, often-named changes and a just-detected blink in one phase: the blink stays
    evs = [Event(k, 0.5 + 0.1 * i, 0.6 + 0.1 * i, 100.0, r) for i, (k, r) in enumerate(
        (("head_turn_left", "head"), ("brows_raise", "brows"), ("smile", "mouth"), ("mouth_open", "mouth")))]
    evs.append(Event("blink", 1.5, 1.6, 0.12, "eyes"))
    kept = [e.kind for e in group_events(evs, 8.0, DynamicsConfig(max_clauses_per_segment=3))[0]]
    assert len(kept) == 3 and "blink" in kept


def test_clauses_read_as_fecbench_events():
    """Speech is said as the mouth opening to speak (both readable by the judge's parser), a
    pause and the head's starting pose each as one event."""
    canonical = pytest.importorskip("dfec.metrics.canonical", reason="offline judge's parser not present")
    read = lambda kind: canonical.describe(CLAUSES[kind][0])
    assert "mouth open" in read("speaking") and "speech speak" in read("speaking")
    assert "speech speak" in read("speaking_resume") and "NOT speech speak" in read("speaking_pause")
    assert read("head_is_turned_left").startswith("head turn left [state")
    assert read("head_is_tilted_right").startswith("head tilt right [state")
    assert read("head_is_lowered").startswith("head down [state")
    assert read("lips_meet").startswith("mouth close") and read("lips_part").startswith("mouth open")
    assert read("eyes_stay_half_open").startswith("eyes close [state")
    assert read("lips_stretch").startswith("corners stretch")  # "their lips stretch" was unreadable
    assert read("head_turn_center").startswith("head ahead") and read("head_tilt_center").startswith("head ahead")


def test_no_face_caption():
    tr = TrackingResult(video="none.mp4", fps=16, n_frames=32, frame_size=(64, 64))
    r = caption_video("none.mp4", tracking=tr)
    assert r.caption == NO_FACE and r.events == [] and r.signals is None


def test_round_trip_through_tem_event_extractor():
    events_mod = pytest.importorskip("dfec.metrics.events", reason="metrics module (TEM extractor) not present")
    tr = demo_sequence()
    r = caption_video("synthetic.mp4", tracking=tr)
    extracted = events_mod.extract_events(r.caption)
    assert len(extracted) == len(r.events) >= 6
    assert extracted == [e.text.lower() for e in r.events]


def test_round_trip_for_every_clause_kind():
    events_mod = pytest.importorskip("dfec.metrics.events", reason="metrics module (TEM extractor) not present")
    cfg = DynamicsConfig(max_clauses_per_segment=100)
    kinds = [k for k in CLAUSES]
    evs = [Event(k, 0.01 * i, 0.01 * i, 1.0, "") for i, k in enumerate(kinds)]
    from dfec.dynamics.captioner import compose

    text, used = compose(group_events(evs, 100.0, cfg), [True] * 4)
    assert events_mod.extract_events(text) == [e.text.lower() for e in used]


def _fake_video(tmp_path: Path) -> Path:
    v = tmp_path / "clip.mp4"
    v.write_bytes(b"not decoded: the cached tracks.json is reused")
    return v


def _video_with_cached_tracks(tmp_path: Path) -> tuple[Path, Path]:
    """A fake video and an output folder holding the demo sequence's tracks.json for it."""
    video = _fake_video(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    tr = demo_sequence()
    tr.video = str(video)
    tr.save(out / "tracks.json")
    return video, out


def test_cli_reuses_tracks_json_and_writes_outputs(tmp_path, capsys):
    video, out = _video_with_cached_tracks(tmp_path)
    assert main(["caption", str(video), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "At the beginning of the video" in printed
    data = json.loads((out / "events.json").read_text())
    assert data["caption"] == (out / "caption.txt").read_text().strip()
    assert [e["kind"] for e in data["timeline"]][:2] == ["blink", "head_turn_left"]
    assert data["config"]["blink_depth"] == DynamicsConfig().blink_depth
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_stale_tracks_json_is_not_reused(tmp_path, monkeypatch):
    from dfec.dynamics import captioner

    video = _fake_video(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    other = demo_sequence()
    other.video = str(tmp_path / "another.mp4")
    other.save(out / "tracks.json")
    calls = []

    def fake_track(path, out_dir=None, progress=False, **kw):
        calls.append(path)
        return TrackingResult(video=str(path), fps=16, n_frames=16, frame_size=(64, 64))

    import dfec.tracking.pipeline as pipeline

    monkeypatch.setattr(pipeline, "track", fake_track)
    r = captioner.caption_video(video, out_dir=out)
    assert calls and r.caption == NO_FACE


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["caption", str(tmp_path / "missing.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error:") and "missing.mp4: no such file" in err and "\n" not in err
    assert main(["caption"]) == 2
    assert main(["caption", "--list", str(tmp_path / "nolist.txt"), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "no such video list file" in capsys.readouterr().err


def test_cli_list_is_resumable(tmp_path, monkeypatch):
    from dfec.dynamics import captioner

    seen = []

    def fake_caption(path, config=None, out_dir=None, tracking=None, progress=False):
        seen.append(Path(path).name)
        if Path(path).name == "bad.mp4":
            from dfec.errors import DfecError

            raise DfecError("not a readable video", path)
        return CaptionResult(caption=f"caption of {Path(path).name}", events=[], tracking=None)

    monkeypatch.setattr(captioner, "caption_video", fake_caption)
    lst = tmp_path / "videos.txt"
    lst.write_text("# clips\na.mp4\nsecond\tb.mp4\nbad.mp4\n")
    out = tmp_path / "preds.jsonl"
    out.write_text(json.dumps({"id": "a", "video": "a.mp4", "caption": "old"}) + "\n{\"id\": \"tor")  # torn line
    assert main(["caption", "--list", str(lst), "--out", str(out), "--quiet"]) == 1  # one failure
    recs = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{\"id\": \"") and
            line.endswith("}")]
    assert [r["id"] for r in recs] == ["a", "second"]
    assert recs[1] == {"id": "second", "video": str(tmp_path / "b.mp4"), "caption": "caption of b.mp4"}
    assert seen == ["b.mp4", "bad.mp4"]  # "a" was already done


def test_cli_model_dispatch(tmp_path, monkeypatch, capsys):
    inference = pytest.importorskip("dfec.model.inference", reason="model module not present")
    video = _fake_video(tmp_path)
    calls = {}

    class FakeCaptioner:
        def caption(self, video_path, instruction=None, tracking=None, max_new_tokens=256):
            calls["video"] = video_path
            return "At the beginning of the video, their eyes are open."

    monkeypatch.setattr(inference, "load_captioner", lambda path, device=None, dtype=None: FakeCaptioner())
    out = tmp_path / "m"
    assert main(["caption", str(video), "--model", str(tmp_path / "ckpt"), "--out", str(out)]) == 0
    assert calls["video"] == str(video)
    assert (out / "caption.txt").read_text().startswith("At the beginning")

    # --list with --model goes through the one registry and the batch runner: the weight folder is
    # checked once (resolve_layout), then every listed video is captioned by the loaded model
    from dfec.model import loading

    checked = []
    monkeypatch.setattr(loading, "resolve_layout", lambda path: checked.append(str(path)) or {"kind": "full"})
    (tmp_path / "ckpt").mkdir()
    lst = tmp_path / "v.txt"
    lst.write_text(f"{video}\n")
    preds = tmp_path / "p.jsonl"
    assert main(["caption", "--list", str(lst), "--model", str(tmp_path / "ckpt"), "--out", str(preds), "--quiet"]) == 0
    assert checked == [str(tmp_path / "ckpt")]
    assert [json.loads(x) for x in preds.read_text().splitlines()] == [
        {"id": video.stem, "video": str(video), "caption": "At the beginning of the video, their eyes are open."}]


def test_landmark_captioner_interface():
    from dfec.dynamics.captioner import LandmarkCaptioner

    tr = demo_sequence()
    text = LandmarkCaptioner().caption("synthetic.mp4", instruction="ignored", tracking=tr)
    assert text.startswith("The video shows") and "their head turns to the left" in text


@pytest.mark.parametrize("module", [
    "dfec.captioners.command",
    "dfec.report.caption",   # what `dfec caption` runs (the registry's command plus --html)
    "dfec.report.demo",      # `dfec demo`: gradio is imported only when the app is built
    "dfec.tracking.command",
    "dfec.report.bench",     # what `dfec bench` runs (dfec.bench.command plus table --html)
    "dfec.cli",
])
def test_command_module_imports_light(module):
    import os
    import subprocess
    import sys

    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('torch', 'cv2', 'dlib', 'transformers', 'matplotlib', 'gradio') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1] / "src"),
                                                                  os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]", f"{module} imports {out.strip()}"


def test_cli_on_a_video_without_a_face(tmp_path, capsys):
    av = pytest.importorskip("av")
    video = tmp_path / "blank.mp4"
    with av.open(str(video), "w") as c:
        s = c.add_stream("mpeg4", rate=16)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        for i in range(16):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 8 * i, np.uint8), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out = tmp_path / "out"
    assert main(["caption", str(video), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == NO_FACE
    data = json.loads((out / "events.json").read_text())
    assert data["events"] == [] and data["timeline"] == [] and data["signals"] is None
    assert (out / "timeline.png").stat().st_size > 0


def test_cli_rejects_non_video_in_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["caption", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dfec: error: {bad}") and "\n" not in err


def test_config_file_overrides_and_errors(tmp_path, capsys):
    from dfec.dynamics.events import load_config
    from dfec.errors import DfecError

    good = tmp_path / "t.yaml"
    good.write_text("blink_depth: 0.2\nspeak_min_peaks: 4\nsegments: [0.2, 0.5, 0.8]\nsignals:\n  smooth_frames: 7\n")
    cfg = load_config(good)
    assert (cfg.blink_depth, cfg.speak_min_peaks, cfg.segments, cfg.signals.smooth_frames) == (0.2, 4, (0.2, 0.5, 0.8), 7)
    for text, msg in (("blink_dept: 0.2", "unknown setting 'blink_dept'"), ("blink_depth: high", "must be a number"),
                      ("speak_min_peaks: 2.5", "whole number"), ("signals: {foo: 1}", "bad 'signals'"),
                      ("segments: [0.5, 0.2, 0.8]", "increasing"), ("[1, 2]", "mapping"), ("a: [", "not valid")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(DfecError, match=re.escape(msg)):
            load_config(bad)
    video, out = _video_with_cached_tracks(tmp_path)
    assert main(["caption", str(video), "--out", str(out), "--config", str(good), "--quiet"]) == 0
    assert json.loads((out / "events.json").read_text())["config"]["blink_depth"] == 0.2
    assert main(["caption", str(video), "--out", str(out), "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "no such config file" in capsys.readouterr().err
