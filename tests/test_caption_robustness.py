"""benchmarks/caption_robustness.py: the transformed videos keep their frame times and sound, the
mirror really mirrors, and the side-swapped reference is the mirror's reference."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rob():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("caption_robustness", REPO / "benchmarks" / "caption_robustness.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_swap_sides_exchanges_whole_words_only(rob):
    text = "Their head turns to the left, then Right; leftover RIGHT bright left-handed."
    assert rob.swap_sides(text) == "Their head turns to the right, then Left; leftover LEFT bright right-handed."
    assert rob.swap_sides(rob.swap_sides(text)) == text
    assert rob.reference_for("mirror", "looks left") == "looks right"
    assert rob.reference_for("half", "looks left") == "looks left"


def _write(path: Path, frames, fps: int, audio: bool = True) -> None:
    """A 96x64 H.264 clip of ``frames`` (RGB uint8 arrays) at ``fps``, with a 440 Hz tone."""
    import av

    frames = list(frames)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        a = None
        if audio:
            a = c.add_stream("aac", rate=16000)
            a.layout = "mono"
        for img in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a is not None:
            t = np.arange(int(16000 * len(frames) / fps)) / 16000
            pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            for k in range(0, len(pcm), 1024):
                fr = av.AudioFrame.from_ndarray(pcm[None, k:k + 1024], format="s16", layout="mono")
                fr.sample_rate, fr.pts = 16000, k
                for p in a.encode(fr):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)


def _clip(path: Path, n: int = 24, fps: int = 12, audio: bool = True) -> np.ndarray:
    """A 96x64 clip whose left half is bright and right half dark (a gradient inside each), with
    a 440 Hz tone; returns the first frame."""
    x = np.linspace(0, 1, 96)[None, :, None]
    img = np.where(np.arange(96)[None, :, None] < 48, 200 - 60 * x, 40 + 20 * x) * np.ones((64, 96, 3))
    img = img.astype(np.uint8)
    _write(path, [img] * n, fps, audio)
    return img


@pytest.mark.parametrize("name", ["mirror", "half", "dark", "crf40", "reencode"])
def test_transformed_video_keeps_times_and_sound(rob, tmp_path, name):
    import av

    from dfec.video.reader import iter_frames

    src = tmp_path / "src.mp4"
    img = _clip(src)
    dst = rob.make_video(src, tmp_path / f"{name}.mp4", name)
    before = [(t, rgb) for _, t, rgb in iter_frames(src, fps=None)]
    after = [(t, rgb) for _, t, rgb in iter_frames(dst, fps=None)]
    assert [round(t, 3) for t, _ in after] == [round(t, 3) for t, _ in before]
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert b.streams.audio and b.streams.audio[0].codec_context.name == a.streams.audio[0].codec_context.name
        assert sum(1 for _ in b.demux(b.streams.audio[0])) == sum(1 for _ in a.demux(a.streams.audio[0]))
    frame = after[0][1].astype(float)
    third = frame.shape[1] // 3
    left, right = frame[:, :third].mean(), frame[:, -third:].mean()
    if name == "mirror":
        assert left < 80 < 120 < right                   # the bright half moved to the image right
    elif name == "half":
        assert frame.shape[:2] == (32, 48) and left > 120 > 80 > right
    elif name == "dark":
        assert abs(left - 0.4 * img[:, :third].mean()) < 8
    else:
        assert np.abs(frame - img).mean() < (6 if name == "crf40" else 2)
    stamp = dst.stat().st_mtime_ns
    assert rob.make_video(src, tmp_path / f"{name}.mp4", name) == dst
    assert dst.stat().st_mtime_ns == stamp                                    # reused, not rewritten
    assert not list(tmp_path.glob("*.part*"))


def test_a_video_without_sound_is_transformed_too(rob, tmp_path):
    import av

    src = tmp_path / "mute.mp4"
    _clip(src, audio=False)
    dst = rob.make_video(src, tmp_path / "m.mp4", "mirror")
    with av.open(str(dst)) as c:
        assert not c.streams.audio and c.streams.video[0].frames == 24


def test_a_failed_write_leaves_no_part_file(rob, tmp_path, monkeypatch):
    src = tmp_path / "src.mp4"
    _clip(src)

    def broken(name, rgb, rng):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rob, "transform_frame", broken)
    with pytest.raises(RuntimeError):
        rob.make_video(src, tmp_path / "out" / "x.mp4", "mirror")
    assert not list((tmp_path / "out").iterdir())


def test_unknown_transform_is_refused(rob, tmp_path):
    with pytest.raises(ValueError, match="unknown transform"):
        rob.transform_frame("blur", np.zeros((4, 4, 3), np.uint8), np.random.default_rng(0))
    assert rob.main(["--work", str(tmp_path), "--transforms", "mirror", "--media", str(tmp_path / "none")]) == 1
    with pytest.raises(SystemExit):
        rob.main(["--work", str(tmp_path), "--transforms", "blur"])


def _ramp_clip(path: Path, n: int = 24, fps: int = 12) -> None:
    """A 96x64 clip whose frame i is grey level 8 * i (so a decoded frame names its source frame),
    with a 440 Hz tone."""
    _write(path, [np.full((64, 96, 3), 8 * i, np.uint8) for i in range(n)], fps)


def _audio_packets(path: Path) -> list[tuple]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return [(float(p.pts * s.time_base), bytes(p)) for p in c.demux(s) if p.dts is not None]


def test_phase_starts_half_a_16fps_frame_later_with_the_sound_aligned(rob, tmp_path):
    from dfec.video.audio import video_t0
    from dfec.video.reader import iter_frames

    src = tmp_path / "src.mp4"
    _ramp_clip(src, fps=30, n=30)                       # frames every 33 ms: the first is dropped
    dst = rob.make_video(src, tmp_path / "phase.mp4", "phase")
    before = [(t, rgb) for _, t, rgb in iter_frames(src, fps=None)]
    after = [(t, rgb) for _, t, rgb in iter_frames(dst, fps=None)]
    shift = rob.time_shift("phase", src, dst)
    assert rob.PHASE_S <= shift < 2 * rob.PHASE_S and abs(shift - before[1][0]) < 1e-3
    assert len(after) == len(before) - 1                             # only the frame at 0 s is gone
    assert np.allclose([t + shift for t, _ in after], [t for t, _ in before[1:]], atol=1e-3)
    assert abs(after[0][1].mean() - 8) < 3                          # the first frame now is source frame 1
    # the sound is copied as it was, so on the container clock it keeps its place against the pictures
    assert _audio_packets(dst) == _audio_packets(src)
    assert abs((video_t0(dst) - video_t0(src)) - shift) < 1e-6
    # and the 16-fps samples fall on other source frames than on the untouched clip
    s16 = [round(t, 2) for _, t, _ in iter_frames(src)]
    d16 = [round(t + shift, 2) for _, t, _ in iter_frames(dst)]
    assert len(set(s16) ^ set(d16)) > len(s16) // 2
    assert rob.time_shift("mirror", src, dst) == 0.0
    assert not list(tmp_path.glob("*.part*"))


@pytest.mark.parametrize("name,rate", [("fps25", 25), ("fps30", 30)])
def test_retimed_video_has_the_new_rate_the_same_duration_and_the_nearest_frames(rob, tmp_path, name, rate):
    import av

    from dfec.video.reader import iter_frames, probe

    src = tmp_path / "src.mp4"
    _ramp_clip(src, fps=12, n=24)                                   # 2 s at 12 fps
    dst = rob.make_video(src, tmp_path / f"{name}.mp4", name)
    after = [(t, rgb) for _, t, rgb in iter_frames(dst, fps=None)]
    assert len(after) == 2 * rate and abs(probe(dst).fps - rate) < 0.01
    assert [round(t, 3) for t, _ in after] == [round(k / rate, 3) for k in range(2 * rate)]
    for t, rgb in after:                         # each frame is the source frame nearest to it
        nearest = min(range(24), key=lambda i: (abs(i / 12 - t), i))
        assert abs(rgb.mean() - 8 * nearest) < 3, (t, rgb.mean(), nearest)
    assert _audio_packets(dst) == _audio_packets(src)
    assert rob.time_shift(name, src, dst) == 0.0
    with av.open(str(dst)) as c:
        assert c.streams.audio


def test_retime_passes_other_transforms_through(rob):
    frames = [(0.0, "a"), (0.1, "b"), (0.2, "c")]
    assert list(rob.retime("mirror", iter(frames))) == frames
    assert list(rob.retime("phase", iter(frames))) == frames[1:]


def test_zoom_enlarges_the_crop_around_the_face_and_keeps_the_size(rob, tmp_path):
    import json

    src = tmp_path / "src.mp4"
    _clip(src)                                                        # 96x64, horizontal gradients
    dst = rob.make_video(src, tmp_path / "zoom.mp4", "zoom")
    from dfec.video.reader import iter_frames

    img = next(iter_frames(src, fps=None))[2].astype(float)
    out = next(iter_frames(dst, fps=None))[2].astype(float)
    assert out.shape == img.shape
    # the centre crop: output column x shows source column 9.6 + 0.8 x (bright half now 60 px wide)
    row_in, row_out = img[32, :, 0], out[32, :, 0]
    assert abs(row_out[10] - row_in[int(round(9.6 + 8))]) < 6
    assert (row_out > 100).sum() == pytest.approx((48 - 9.6) / 0.8, abs=3)
    # with a track, the crop is centred on the face and grown until the face (plus margin) fits
    lm = np.zeros((3, 68, 2))
    lm[..., 0] = np.linspace(60, 90, 68)                              # a face at the right edge
    lm[..., 1] = np.linspace(10, 40, 68)
    tracks = tmp_path / "tracks.json"
    tracks.write_text(json.dumps({"frame_size": [96, 64], "tracks": [
        {"is_main": False, "landmarks": np.zeros((3, 68, 2)).tolist()},
        {"is_main": True, "landmarks": lm.tolist()}]}))
    x0, y0, x1, y1 = rob.zoom_crop(tracks)
    assert x1 == pytest.approx(1.0) and x1 - x0 == pytest.approx(y1 - y0) == pytest.approx(rob.ZOOM)
    assert x0 * 96 <= 60 - 3 and y0 * 64 <= 10 - 3 and y1 * 64 >= 40 + 3
    big = lm.copy()
    big[..., 0] = np.linspace(2, 94, 68)                              # a close-up wider than 80 %
    tracks.write_text(json.dumps({"frame_size": [96, 64], "tracks": [{"is_main": True, "landmarks": big.tolist()}]}))
    assert rob.zoom_crop(tracks) == pytest.approx((0.0, 0.0, 1.0, 1.0))
    assert rob.zoom_crop(None) == pytest.approx((0.1, 0.1, 0.9, 0.9))
    # the longest main track decides (TrackingResult.main_track), its missing points ignored
    short = np.zeros((1, 68, 2))
    short[..., 0], short[..., 1] = np.linspace(2, 30, 68), np.linspace(10, 40, 68)
    holed = lm.copy()
    holed[0, :5] = np.nan
    tracks.write_text(json.dumps({"frame_size": [96, 64], "tracks": [
        {"is_main": True, "frames": [0], "landmarks": short.tolist()},
        {"is_main": True, "frames": [0, 1, 2], "landmarks": np.where(np.isnan(holed), None, holed).tolist()}]}))
    assert rob.zoom_crop(tracks) == pytest.approx((x0, y0, x1, y1))
    tracks.write_text(json.dumps({"frame_size": [96, 64], "tracks": [{"is_main": True, "frames": [], "landmarks": []}]}))
    assert rob.zoom_crop(tracks) == pytest.approx((0.1, 0.1, 0.9, 0.9))


def test_a_clip_with_no_frame_after_the_phase_cut_is_refused_and_leaves_nothing(rob, tmp_path):
    src = tmp_path / "one.mp4"
    _clip(src, n=1, fps=40)                                           # one frame, at t = 0 < 1/32 s
    with pytest.raises(ValueError, match="no video frame left"):
        rob.make_video(src, tmp_path / "phase.mp4", "phase")
    assert not list(tmp_path.glob("phase*"))


def test_shifted_counts_move_the_by_eye_times(rob):
    doc = {"counts_by_eye": {"clips": {"a": {"blinks": [0.02, 1.0], "speaking": [[0.0, 2.0]], "window": [0.5, 3.0]},
                                       "b": {"blinks": [1.0], "speaking": []}}}}
    out = rob.shift_counts(doc, {"a": 0.04})
    a = out["counts_by_eye"]["clips"]["a"]
    assert a["blinks"] == pytest.approx([0.0, 0.96]) and a["speaking"][0] == pytest.approx([0.0, 1.96])
    assert a["window"] == pytest.approx([0.46, 2.96])
    assert out["counts_by_eye"]["clips"]["b"] == doc["counts_by_eye"]["clips"]["b"]
    assert doc["counts_by_eye"]["clips"]["a"]["blinks"] == [0.02, 1.0]          # the input is left as it was


@pytest.mark.parametrize("name", ["phase", "fps30", "zoom"])
def test_a_failed_time_or_framing_write_leaves_no_part_file(rob, tmp_path, monkeypatch, name):
    src = tmp_path / "src.mp4"
    _clip(src)

    def broken(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rob, "transform_frame", broken)
    with pytest.raises(RuntimeError):
        rob.make_video(src, tmp_path / "out" / "x.mp4", name)
    assert not list((tmp_path / "out").iterdir())


def test_time_and_framing_versions_are_opt_in(rob):
    assert set(rob.OPT_IN).isdisjoint(rob.TRANSFORMS)
    assert rob.TRANSFORMS == ("reencode", "mirror", "half", "crf40", "dark")   # the published table
