"""Second-round review of the landmark captioner: short tracks, landmark noise, interpolated
frames, stale tracks.json, the left/right convention, head-turn confounds and face presence."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from dfec.cli import main
from dfec.dynamics import synthetic as syn
from dfec.dynamics.captioner import NO_FACE, caption_video, describe
from dfec.dynamics.events import DynamicsConfig, detect_events, load_config
from dfec.dynamics.signals import landmark_jitter, smooth, track_signals
from dfec.errors import DfecError
from dfec.schema import TrackingResult
from dfec.tracking.config import TrackConfig


def kinds(tr, cfg=None):
    cfg = cfg or DynamicsConfig()
    return [e.kind for e in detect_events(track_signals(tr, cfg.signals), cfg)]


# ------------------------------------------------------------------------------ short tracks
def test_smooth_keeps_the_length_of_short_series():
    for n in (1, 2, 3, 4):
        x = np.arange(n, dtype=float)
        assert smooth(x, 5).shape == (n,) and smooth(x, 3).shape == (n,)
    assert np.allclose(smooth(np.array([1.0, 3.0]), 5), [2.0, 2.0])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_track_of_a_few_frames_gives_a_caption(n):
    r = caption_video("x.mp4", tracking=syn.sequence(n / 16, noise_px=0.5))
    assert r.caption.startswith("The video shows") and "their eyes are open" in r.caption
    # a glimpse of a few frames is no evidence that nothing changed
    assert "no obvious change" not in r.caption


# ------------------------------------------------------------------------------ noise
def test_jitter_estimate_ignores_head_motion():
    moving = syn.sequence(4.0, yaw=lambda t: 30 * syn.bump(t, 1.0, 2.0, 0.4), roll=lambda t: 10 * np.sin(t))
    assert landmark_jitter(moving.tracks[0].landmarks) < 0.1
    for px in (0.5, 1.5):
        noisy = syn.sequence(4.0, noise_px=px, seed=3, yaw=lambda t: 30 * syn.bump(t, 1.0, 2.0, 0.4))
        assert landmark_jitter(noisy.tracks[0].landmarks) == pytest.approx(px, rel=0.2)


def test_noise_floor_removes_jitter_events_on_a_small_face():
    # a 48 px inter-ocular face with 1 px of landmark jitter: still, a blink, a head turn
    cases = [({}, []), ({"eyes": lambda t: 1 - syn.bump(t, 1.5, 1.62, 0.06)}, ["blink"]),
             ({"yaw": lambda t: 25 * np.clip((t - 1.5) / 0.5, 0, 1)}, ["head_turn_left"])]
    false_with, false_without = 0, 0
    for curves, truth in cases:
        for seed in range(3):
            tr = syn.sequence(4.0, frame_size=(320, 240), noise_px=1.0, seed=seed, **curves)
            got = kinds(tr)
            assert all(k in got for k in truth), (curves, seed, got)
            false_with += len(got) - len(truth)
            false_without += len(kinds(tr, DynamicsConfig(noise_k=0, noise_k_speech=0))) - len(truth)
    # the configured thresholds alone fire on jitter; the per-video floor leaves ~0.3 per sequence
    assert false_without >= 30 and false_with <= 3, (false_without, false_with)  # measured: 112 and 3


def test_noise_estimate_is_in_events_json(tmp_path):
    r = caption_video("x.mp4", tracking=syn.sequence(2.0, noise_px=1.0), out_dir=tmp_path)
    sig = json.loads((tmp_path / "events.json").read_text())["signals"]
    assert sig["jitter_px"] == pytest.approx(1.0, rel=0.25) and sig["noise"]["eye_open"] > 0
    assert r.signals.noise_level("yaw") > 0


# ------------------------------------------------------------------------------ interpolated
def test_interpolated_entries_are_not_measured():
    tr = syn.sequence(4.0, noise_px=0.3)
    t = tr.tracks[0]
    fake = syn.sequence(4.0, noise_px=0.3, eyes=lambda s: 1 - syn.bump(s, 2.0, 2.1, 0.06)).tracks[0].landmarks
    gap = (np.arange(len(t.frames)) >= 30) & (np.arange(len(t.frames)) <= 36)  # 2.0-2.25 s filled by the tracker
    t.landmarks[gap] = fake[gap]  # whatever the filler put there (here: a "blink")
    assert "blink" in kinds(tr)
    t.interpolated = list(gap)
    assert "blink" not in kinds(tr)
    assert not track_signals(tr).valid[gap].any()


# ------------------------------------------------------------------------------ tracks.json
def test_bad_landmarks_give_one_line_error():
    tr = syn.sequence(1.0)
    tr.tracks[0].landmarks = np.zeros((len(tr.tracks[0].frames), 5, 2))
    with pytest.raises(DfecError, match="not 68"):
        caption_video("x.mp4", tracking=tr)


def _write_video(path, n=16, size=64):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=16)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((size, size, 3), 8 * i, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.mark.parametrize("problem", ["old_format", "other_duration", "one_mesh_read", "other_flip_size", "usable"])
def test_unusable_tracks_json_is_tracked_again(tmp_path, monkeypatch, capsys, problem):
    video = tmp_path / "clip.mp4"
    _write_video(video, n=16)  # 1 s
    out = tmp_path / "out"
    out.mkdir()
    cached = syn.sequence(10.0 if problem == "other_duration" else 1.0)
    cached.video = str(video)
    d = cached.to_json()
    if problem == "old_format":
        for t in d["tracks"]:
            t["landmarks"] = [[0.0, 0.0]] * len(t["frames"])  # e.g. box centres only
    if problem == "one_mesh_read":  # written before the flip-averaged mesh (no such key)
        d["config"] = {"detector": "mediapipe", "with_iris": True}
    if problem == "other_flip_size":  # flip-averaged on every face (before the size gate)
        d["config"] = {"detector": "mediapipe", "with_iris": True, "mesh_flip_average": True}
    if problem == "usable":
        d["config"] = {"detector": "mediapipe", "with_iris": True, "mesh_flip_average": True,
                       "mesh_flip_min_face_px": TrackConfig().mesh_flip_min_face_px}
    (out / "tracks.json").write_text(json.dumps(d))
    calls = []

    def fake_track(path, out_dir=None, progress=False, **kw):
        calls.append(path)
        return TrackingResult(video=str(path), fps=16, n_frames=16, frame_size=(64, 64))

    import dfec.tracking.pipeline as pipeline

    monkeypatch.setattr(pipeline, "track", fake_track)
    assert main(["caption", str(video), "--out", str(out), "--quiet"]) == 0
    io = capsys.readouterr()
    if problem == "usable":
        assert not calls and "not reused" not in io.err
        return
    assert calls, "the unusable tracks.json was reused"
    assert io.out.strip() == NO_FACE
    if problem == "one_mesh_read":
        assert "one FaceMesh read each" in io.err
    assert re.search(r"tracks\.json: not reused \(.+\); tracking", io.err) and "Traceback" not in io.err


# ------------------------------------------------------------------------------ left / right
def test_left_right_is_the_persons_own_by_default():
    to_image_right = syn.sequence(3.0, yaw=lambda t: 25 * np.clip((t - 1.0) / 0.5, 0, 1))
    assert kinds(to_image_right) == ["head_turn_left"]
    assert kinds(to_image_right, DynamicsConfig(left_right="viewer")) == ["head_turn_right"]
    tilt = syn.sequence(3.0, roll=lambda t: 12 * np.clip((t - 1.0) / 0.5, 0, 1))
    assert kinds(tilt) == ["head_tilt_left"] and kinds(tilt, DynamicsConfig(left_right="viewer")) == ["head_tilt_right"]
    text, _, _ = describe(track_signals(to_image_right), to_image_right.duration)
    assert "their head turns to the left" in text


def test_left_right_setting_in_config_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("left_right: viewer\nnoise_k: 4\n")
    cfg = load_config(f)
    assert cfg.left_right == "viewer" and cfg.noise_k == 4.0
    f.write_text("noise_kk: 4\n")
    with pytest.raises(DfecError, match=re.escape("unknown setting 'noise_kk' (did you mean 'noise_k'?)")):
        load_config(f)
    f.write_text("left_right: mirror\n")
    with pytest.raises(DfecError, match="'left_right' must be"):
        load_config(f)


def test_reference_file_uses_the_persons_own_side():
    refs = json.loads((__import__("pathlib").Path(__file__).parent / "data" / "reference_captions_by_eye.json").read_text())
    assert "person's own left and right" in refs["about"]


# ------------------------------------------------------------------------------ confounds
def test_inner_brow_change_during_a_head_turn_is_not_a_furrow():
    furrow = lambda t: 4 * np.clip((t - 1.0) / 0.5, 0, 1)
    turn = lambda t: 30 * np.clip((t - 0.9) / 0.8, 0, 1)
    alone = syn.sequence(3.0, furrow=furrow)
    assert "brows_furrow" in kinds(alone)
    both = syn.sequence(3.0, furrow=furrow, yaw=turn)
    assert "brows_furrow" not in kinds(both)
    assert "brows_furrow" in kinds(both, DynamicsConfig(turn_masks_horizontal=False))


# ------------------------------------------------------------------------------ presence
def test_face_leaving_early_is_said_and_no_end_state_is_claimed():
    tr = syn.sequence(2.0, eyes=lambda t: 1 + 0.5 * np.clip((t - 1.0) / 0.3, 0, 1))
    tr.n_frames = 96  # the video lasts 6 s; the face is seen for the first 2 s
    r = caption_video("x.mp4", tracking=tr)
    # it leaves at 2 s of 6 s ("as the video progresses"); nothing is claimed about the end
    assert "As the video progresses, their face is no longer visible." in r.caption
    assert "stay" not in r.caption and "Towards the end" not in r.caption
    tr.n_frames = 40  # a 2.5 s video: the face is there until 0.5 s before the end
    r = caption_video("x.mp4", tracking=tr)
    assert "no longer visible" not in r.caption and "their eyes stay wide open" in r.caption
    events_mod = pytest.importorskip("dfec.metrics.events")
    assert events_mod.extract_events(r.caption) == [e.text.lower() for e in r.events]
    late = syn.sequence(3.0)
    late.tracks[0].frames = [f + 32 for f in late.tracks[0].frames]
    late.n_frames = 80
    r = caption_video("x.mp4", tracking=late)
    assert "their face comes into view" in r.caption


def test_profile_face_does_not_break_and_claims_no_detail():
    # a near-profile face (yaw 80-85 degrees) with jitter: solvePnP may fail on some frames
    tr = syn.sequence(3.0, noise_px=1.0, yaw=lambda t: 80 + 5 * np.sin(t))
    r = caption_video("x.mp4", tracking=tr)
    assert r.caption.startswith("The video shows")
    assert not [e for e in r.timeline if e.region in ("eyes", "mouth", "brows")]
