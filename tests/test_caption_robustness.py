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


def _clip(path: Path, n: int = 24, fps: int = 12, audio: bool = True) -> np.ndarray:
    """A 96x64 clip whose left half is bright and right half dark (a gradient inside each), with
    a 440 Hz tone; returns the first frame."""
    import av

    x = np.linspace(0, 1, 96)[None, :, None]
    img = np.where(np.arange(96)[None, :, None] < 48, 200 - 60 * x, 40 + 20 * x) * np.ones((64, 96, 3))
    img = img.astype(np.uint8)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        a = None
        if audio:
            a = c.add_stream("aac", rate=16000)
            a.layout = "mono"
        for i in range(n):
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a is not None:
            t = np.arange(int(16000 * n / fps)) / 16000
            pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            for k in range(0, len(pcm), 1024):
                fr = av.AudioFrame.from_ndarray(pcm[None, k:k + 1024], format="s16", layout="mono")
                fr.sample_rate, fr.pts = 16000, k
                for p in a.encode(fr):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
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
