"""dfec.video: resampling to 16 fps, uniform indices, writing, and one-line errors on bad files."""
from __future__ import annotations

import numpy as np
import pytest

from dfec.errors import DfecError
from dfec.video import iter_frames, probe, read_frames, uniform_indices, write_video


def _ramp_clip(path, n=60, fps=30.0, w=96, h=64):
    """Frame k is a flat image of grey level 4k, so decoded frames reveal their source index."""
    frames = [np.full((h, w, 3), 4 * k, np.uint8) for k in range(n)]
    return write_video(path, frames, fps=fps)


@pytest.fixture(scope="module")
def clip30(tmp_path_factory):
    return _ramp_clip(tmp_path_factory.mktemp("v") / "ramp30.mp4")


def test_probe_reads_header(clip30):
    info = probe(clip30)
    assert (info.width, info.height) == (96, 64)
    assert info.fps == pytest.approx(30.0, rel=1e-3)
    assert info.duration == pytest.approx(2.0, abs=0.1)


def test_resample_30_to_16_fps(clip30):
    out = list(iter_frames(clip30, fps=16))
    assert len(out) == 32  # 2 s at 16 fps
    idx = [i for i, _, _ in out]
    times = np.array([t for _, t, _ in out])
    assert idx == list(range(32))
    # each output frame is the source frame nearest to k/16 s (within half a source frame)
    assert np.all(np.abs(times - np.arange(32) / 16) <= 0.5 / 30 + 1e-6)
    levels = np.array([rgb.mean() for _, _, rgb in out]) / 4
    assert np.all(np.abs(levels - times * 30) < 1.5)  # the grey ramp agrees with the timestamps


def test_no_upsampling_and_native_rate(tmp_path, clip30):
    slow = _ramp_clip(tmp_path / "slow.mp4", n=10, fps=8.0)
    assert len(list(iter_frames(slow, fps=16))) == 10  # each source frame used once
    frames, times = read_frames(clip30, fps=None)
    assert frames.shape == (60, 64, 96, 3) and len(times) == 60


def test_uniform_indices():
    assert uniform_indices(64, 16) == [2, 6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46, 50, 54, 58, 62]
    assert uniform_indices(5, 16) == [0, 1, 2, 3, 4]
    assert uniform_indices(0, 16) == [] and uniform_indices(10, 0) == []


def _bad_files(tmp_path, clip30):
    data = clip30.read_bytes()
    (tmp_path / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    rng = np.random.default_rng(0)
    corrupt = bytearray(data)  # header and index intact, every coded frame overwritten by noise
    start, end = data.index(b"mdat") + 4, data.index(b"moov") - 4
    corrupt[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    (tmp_path / "corrupt.mp4").write_bytes(bytes(corrupt))
    return {
        "missing.mp4": "no such file",
        "notes.mp4": "not a readable video",
        "empty.mp4": "empty file",
        "truncated.mp4": "not a readable video",
        "corrupt.mp4": "corrupt video",
    }


def test_bad_files_raise_one_line_errors(tmp_path, clip30):
    for name, reason in _bad_files(tmp_path, clip30).items():
        with pytest.raises(DfecError) as err:
            list(iter_frames(tmp_path / name))
        msg = err.value.message
        assert name in msg and reason in msg and "\n" not in msg
    with pytest.raises(DfecError, match="directory"):
        probe(tmp_path)


def test_truncated_tail_keeps_decoded_frames(tmp_path):
    """A file whose index is at the front (faststart) and whose tail is cut still gives the frames
    before the cut."""
    import av

    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("mpeg4", rate=16)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        rng = np.random.default_rng(1)
        for k in range(40):
            img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    n = len(list(iter_frames(cut, fps=16)))
    assert 5 <= n < 40


def test_only_yields_the_wanted_indices(clip30):
    full = {i: rgb for i, _, rgb in iter_frames(clip30, fps=16, fill=True)}
    want = {0, 7, 31}
    some = {i: rgb for i, _, rgb in iter_frames(clip30, fps=16, fill=True, only=want)}
    assert set(some) == want
    assert all(np.array_equal(some[i], full[i]) for i in want)
    native = list(iter_frames(clip30, fps=None, only={3}))
    assert [i for i, _, _ in native] == [3]


@pytest.mark.parametrize("fps,fill", [(16, False), (16, True), (None, False)])
def test_only_never_returns_a_stale_frame(clip30, fps, fill):
    """Frames that ``only`` skips are freed unconverted; a later frame may reuse their id(), which
    once made the reader hand back the previous picture (FaceTrack-MM got wrong frames)."""
    full = {i: rgb for i, _, rgb in iter_frames(clip30, fps=fps, fill=fill)}
    for want in (set(range(0, len(full), 3)), set(range(0, len(full), 5)), set(uniform_indices(len(full), 16))):
        some = {i: rgb for i, _, rgb in iter_frames(clip30, fps=fps, fill=fill, only=want)}
        assert set(some) == want
        assert all(np.array_equal(some[i], full[i]) for i in want), sorted(
            i for i in want if not np.array_equal(some[i], full[i]))
