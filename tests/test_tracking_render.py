"""Tracking outputs (dfec.tracking.render): fast lossless PNGs, thumbnails drawn at their scale."""
from __future__ import annotations

import numpy as np
from PIL import Image

from dfec.schema import Track, TrackingResult
from dfec.tracking.render import contact_sheet, draw_frame, save_png, shrink


def _result(w=640, h=360) -> TrackingResult:
    lm = np.stack([np.linspace(200, 300, 68), np.linspace(100, 200, 68)], axis=1)
    t = Track(1, [0, 1], np.array([[200.0, 100, 300, 200]] * 2), np.array([lm, lm]), np.array([0.9, 0.9]))
    t.is_main = True
    return TrackingResult(video="x.mp4", fps=16.0, n_frames=2, frame_size=(w, h), tracks=[t], selected_frames=[0, 1])


def test_save_png_is_lossless_rgb(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    p = save_png(tmp_path / "a.png", img)
    back = np.asarray(Image.open(p))
    assert back.shape == img.shape and np.array_equal(back, img)  # RGB order kept, no loss
    grey = img[..., 0].copy()
    assert np.array_equal(np.asarray(Image.open(save_png(tmp_path / "g.png", grey))), grey)


def test_shrink_sizes_and_keeps_the_mean():
    img = np.full((720, 720, 3), 100, np.uint8)
    img[:, 360:] = 200
    out = shrink(img, (320, 320))
    assert out.shape == (320, 320, 3)
    assert abs(float(out.mean()) - float(img.mean())) < 1.0
    assert shrink(img, (360, 360)).shape == (360, 360, 3)       # whole factor only
    assert shrink(img[:100, :100], (150, 150)).shape == (150, 150, 3)  # enlarging


def test_thumbnail_is_drawn_at_its_own_scale():
    res = _result()
    rgb = np.zeros((360, 640, 3), np.uint8)
    thumb = draw_frame(rgb, res, 0, width=320)
    assert thumb.shape == (180, 320, 3)
    green = (thumb[..., 1] > 150) & (thumb[..., 0] < 100)
    ys, xs = np.nonzero(green)
    # the box (200..300, 100..200) in the frame is at (100..150, 50..100) in the half-size thumbnail
    assert 95 <= xs.min() <= 105 and 145 <= xs.max() <= 155 and ys.max() <= 105
    full = draw_frame(rgb, res, 0)
    assert full.shape == rgb.shape and not rgb.any()  # a copy: the frame itself is untouched


def test_contact_sheet_grid(tmp_path):
    res = _result()
    frames = {0: np.zeros((360, 640, 3), np.uint8), 1: np.full((360, 640, 3), 80, np.uint8)}
    p = contact_sheet(frames, res, tmp_path / "s.png", columns=4, thumb_width=320)
    sheet = np.asarray(Image.open(p))
    assert sheet.shape == (180, 640, 3)
    assert sheet[170:, 330:].mean() > sheet[170:, :310].mean()  # frame 1 (grey) is the second cell
