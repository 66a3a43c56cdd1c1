"""dfec.video.reader on the videos researchers actually have: phone clips with a display rotation
(and mirror), anamorphic pixels, slow and variable frame rates, missing timestamps, an audio
stream first, a non-zero start time, B-frames, and clips of one or two frames."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from dfec.video import iter_frames, probe, read_frames

av = pytest.importorskip("av")


def _marker(w=128, h=64):
    """White band on the left (columns < 32), red band on top (rows < 8, right of the white)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :32] = 255
    img[:8, 32:, 0] = 255
    return img


def _write(path, frames, fps=30, times=None, rotation=None, hflip=False, sar=None, fmt=None,
           audio_first=False, bframes=False, start=0):
    tb = Fraction(1, 1000)
    with av.open(str(path), "w", format=fmt) as c:
        if audio_first:
            a = c.add_stream("aac", rate=16000)
            a.layout = "mono"
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"bf": "3" if bframes else "0"}
        if rotation is not None:
            s.set_display_rotation(rotation, hflip=hflip)
        if sar is not None:
            s.codec_context.sample_aspect_ratio = Fraction(sar)
        if times is not None:
            s.codec_context.time_base = tb
        apts = 0
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            if times is not None:
                vf.pts, vf.time_base = int(round(times[i] / tb)), tb
            elif start:
                vf.pts = i + start
            if audio_first and i % 2 == 0:
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 16000, apts
                apts += 1024
                for p in a.encode(af):
                    c.mux(p)
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        if audio_first:
            for p in a.encode():
                c.mux(p)
    return path


def _ramp(n, w=96, h=64):
    return [np.full((h, w, 3), 4 * k, np.uint8) for k in range(n)]


def _bands(rgb):
    """Bounding boxes (y0, y1, x0, x1) of the white and the red band."""
    white = rgb.min(2) > 200
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 80)
    out = []
    for m in (white, red):
        ys, xs = np.nonzero(m)
        out.append((ys.min(), ys.max(), xs.min(), xs.max()))
    return out


@pytest.mark.parametrize("rotation,hflip,shape,white,red", [
    # counter-clockwise 90 (phone held one way): left band -> bottom, top band -> left
    (90, False, (128, 64), (96, 127, 0, 63), (0, 95, 0, 7)),
    # clockwise 90 (the usual portrait phone clip, "rotation -90"): left -> top, top -> right
    (-90, False, (128, 64), (0, 31, 0, 63), (32, 127, 56, 63)),
    (180, False, (64, 128), (0, 63, 96, 127), (56, 63, 0, 95)),
    (0, True, (64, 128), (0, 63, 96, 127), (0, 7, 0, 95)),        # front camera mirror
    (90, True, (128, 64), (96, 127, 0, 63), (0, 95, 56, 63)),     # rotation and mirror
])
def test_display_matrix_is_applied(tmp_path, rotation, hflip, shape, white, red):
    path = _write(tmp_path / "rot.mp4", [_marker()] * 3, fps=16, rotation=rotation, hflip=hflip)
    frames, _ = read_frames(path, fps=None)
    assert frames.shape[1:3] == shape
    w, r = _bands(frames[0])
    assert w == pytest.approx(white, abs=1) and r == pytest.approx(red, abs=1)
    info = probe(path)
    assert (info.height, info.width) == shape  # probe reports the displayed size
    if not hflip:
        assert info.rotation == rotation % 360


def test_display_transform_of_matrices():
    from dfec.video.reader import display_transform, to_display

    assert display_transform(None) == (False, False, False)
    assert display_transform((65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)) == (False, False, False)
    img = np.arange(6).reshape(2, 3, 1).repeat(3, 2).astype(np.uint8)
    ccw = display_transform((0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30))  # av_display_rotation_set(90)
    assert np.array_equal(to_display(img, ccw), np.rot90(img))
    cw = display_transform((0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30))
    assert np.array_equal(to_display(img, cw), np.rot90(img, -1))


def test_anamorphic_pixels_are_made_square(tmp_path):
    path = _write(tmp_path / "sar.mp4", [np.zeros((64, 64, 3), np.uint8)] * 3, fps=16, sar=2)
    rgb = next(iter_frames(path))[2]
    assert rgb.shape == (64, 128, 3)
    info = probe(path)
    assert (info.width, info.height) == (128, 64)


def test_slow_source_fill_keeps_index_on_the_16fps_clock(tmp_path):
    """An 8 fps clip: without fill each source frame once (10), with fill every 16 fps slot (20),
    and slot k shows the source frame nearest to k/16 s."""
    path = _write(tmp_path / "slow.mp4", _ramp(10), fps=8)
    assert len(list(iter_frames(path, 16))) == 10
    out = list(iter_frames(path, 16, fill=True))
    assert [i for i, _, _ in out] == list(range(20))
    for k, t, rgb in out:
        assert abs(t - k / 16) <= 0.5 / 8 + 1e-6
        assert round(rgb.mean() / 4) == round(t * 8)
    assert out[1][2] is out[0][2]  # a repeated frame is the same array (callers can reuse work)


def test_variable_frame_rate_freeze(tmp_path):
    """30 fps, then nothing for 0.5 s, then 10 fps: with fill, index k is still time k/16."""
    times = list(np.arange(30) / 30) + list(1.5 + np.arange(10) / 10)
    path = _write(tmp_path / "vfr.mp4", _ramp(40), times=times)
    out = list(iter_frames(path, 16, fill=True))
    assert len(out) >= 39  # 2.5 s at 16 fps (the last frame's length is the muxer's guess)
    for k, t, rgb in out:
        assert abs(t - k / 16) <= 0.26  # at most half the freeze
        assert round(rgb.mean() / 4) == int(np.argmin(np.abs(np.array(times) - t)))


def test_missing_timestamps_are_still_resampled(tmp_path):
    """A raw H.264 stream has no timestamps (frame.time is None): frames are timed by the
    stream's rate, not all kept."""
    path = _write(tmp_path / "raw.h264", _ramp(60), fmt="h264")
    with av.open(str(path)) as c:
        assert next(c.decode(video=0)).time is None
        rate = float(c.streams.video[0].average_rate)
    out = list(iter_frames(path, 16))
    assert abs(len(out) - 60 / rate * 16) <= 1
    levels = [round(rgb.mean() / 4) for _, _, rgb in out]
    assert np.all(np.diff(levels) > 0) and levels[-1] >= 57


@pytest.mark.parametrize("kw", [dict(audio_first=True), dict(start=150), dict(bframes=True)])
def test_audio_first_start_time_and_bframes(tmp_path, kw):
    path = _write(tmp_path / "clip.mp4", _ramp(60), **kw)
    out = list(iter_frames(path, 16))
    assert len(out) == 32 and out[0][1] == 0.0
    levels = np.array([rgb.mean() / 4 for _, _, rgb in out])
    times = np.array([t for _, t, _ in out])
    assert np.all(np.abs(times - np.arange(32) / 16) <= 0.5 / 30 + 1e-6)
    assert np.all(np.abs(levels - times * 30) < 1.5)


@pytest.mark.parametrize("n,expected,last", [(1, 1, 0), (2, 1, 0), (3, 2, 2), (4, 2, 2)])
def test_very_short_clips(tmp_path, n, expected, last):
    """1-4 frames at 30 fps: round(duration * 16) slots, at least one, each the nearest frame."""
    path = _write(tmp_path / "short.mp4", _ramp(n))
    out = list(iter_frames(path, 16))
    assert len(out) == expected
    assert round(out[-1][2].mean() / 4) == last  # slot 1 (0.0625 s) shows the frame nearest to it


def test_main_video_stream_is_chosen(tmp_path):
    """A small one-frame picture stream before the video (cover art, a thumbnail): the video is
    decoded, not the picture."""
    path = tmp_path / "cover.mkv"
    with av.open(str(path), "w") as c:
        cover = c.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        v = c.add_stream("libx264", rate=16)
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        for p in cover.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), format="rgb24")):
            c.mux(p)
        for p in cover.encode():
            c.mux(p)
        for f in _ramp(16):
            for p in v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    out = list(iter_frames(path))
    assert len(out) == 16 and out[0][2].shape == (64, 96, 3)
    assert (probe(path).width, probe(path).height) == (96, 64)
