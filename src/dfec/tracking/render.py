"""Writing the tracking outputs: aligned face crops (PNG) and a contact sheet of the selected
frames with every track's box, landmarks and id drawn (main character in green).

PNGs are written by :func:`save_png` (lossless, fast settings: zlib level 1, the "up" row filter
and run-length matching), which is 2-3x faster than Pillow's default encoder at a similar file size;
the contact sheet draws on each frame after shrinking it to the thumbnail, not before."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..faces.align import align_face
from ..schema import TrackingResult

MAIN_COLOUR = (40, 220, 60)
OTHER_COLOUR = (255, 140, 0)


def _label(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thick: int) -> None:
    """Text on a dark box, readable on any background."""
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    cv2.rectangle(img, (x - 2, y - h - 3), (x + w + 2, y + base), (0, 0, 0), -1)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an HxWx3 RGB (or HxW grey) uint8 image as a lossless PNG, fast (see the module doc)."""
    import cv2

    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.11
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    ok, buf = cv2.imencode(".png", img, params)
    if not ok:
        raise OSError(f"cannot encode {path} as PNG")
    path = Path(path)
    path.write_bytes(buf.tobytes())
    return path


def shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to ``size`` (w, h) for display: an area average by the whole factor (the
    last few rows/columns that do not fill a block are dropped), then bilinear for the rest
    (OpenCV's area resize is ~5x slower at a fractional factor)."""
    import cv2

    w, h = size
    f = min(rgb.shape[1] // max(1, w), rgb.shape[0] // max(1, h))
    if f >= 2:
        bh, bw = rgb.shape[0] // f, rgb.shape[1] // f
        rgb = cv2.resize(rgb[:bh * f, :bw * f], (bw, bh), interpolation=cv2.INTER_AREA)
    if (rgb.shape[1], rgb.shape[0]) == (w, h):
        return rgb
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)


def draw_frame(rgb: np.ndarray, result: TrackingResult, frame: int, width: int | None = None) -> np.ndarray:
    """A copy of ``rgb`` with every track present at ``frame`` drawn on it; with ``width``, the
    frame is first shrunk to that width (aspect kept) and the tracks are drawn at that scale."""
    import cv2

    k = 1.0
    if width is not None and int(width) != rgb.shape[1]:
        k = int(width) / rgb.shape[1]
        size = (int(width), max(1, int(round(rgb.shape[0] * k))))
        img = shrink(rgb, size)
    else:
        img = np.ascontiguousarray(rgb.copy())
    scale = max(1.0, max(img.shape[:2]) / 480.0)
    thick = max(1, int(round(2 * scale))) if k == 1.0 else 1
    for t in result.tracks:
        i = t.index_of(frame)
        if i is None:
            continue
        colour = MAIN_COLOUR if t.is_main else OTHER_COLOUR
        x1, y1, x2, y2 = (int(round(v * k)) for v in t.boxes[i])
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick, lineType=cv2.LINE_AA)
        for x, y in t.landmarks[i]:
            cv2.circle(img, (int(round(x * k)), int(round(y * k))), thick, colour, -1, lineType=cv2.LINE_AA)
        label = f"id {t.track_id}" + (" main" if t.is_main else "") + (" (interp)" if t.interpolated[i] else "")
        _label(img, label, (x1, max(int(16 * scale), y1 - 4)), 0.5 * scale if k == 1.0 else 0.35, colour, thick)
    return img


def contact_sheet(frames: dict[int, np.ndarray], result: TrackingResult, path: str | Path,
                  columns: int = 4, thumb_width: int = 320) -> Path:
    """Save a grid of the selected frames (in selection order) with the tracks drawn."""
    order = result.selected_frames or sorted(frames)
    thumbs = []
    for f in order:
        if f not in frames:
            continue
        img = draw_frame(frames[f], result, f, width=int(thumb_width))
        th = img.shape[0]
        _label(img, f"frame {f}  t={f / result.fps:.2f}s", (4, th - 6), 0.45, (255, 255, 255), 1)
        thumbs.append(img)
    if not thumbs:
        thumbs = [np.zeros((int(thumb_width * 9 / 16), int(thumb_width), 3), np.uint8)]
    th = max(t.shape[0] for t in thumbs)
    cols = max(1, min(columns, len(thumbs)))
    rows = (len(thumbs) + cols - 1) // cols
    sheet = np.zeros((rows * th, cols * thumbs[0].shape[1], 3), np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, cols)
        sheet[r * th:r * th + t.shape[0], c * t.shape[1]:(c + 1) * t.shape[1]] = t
    return save_png(path, sheet)


def write_crops(frames: dict[int, np.ndarray], result: TrackingResult, folder: str | Path,
                size: int = 224, margin: float = 0.08) -> list[str]:
    """Aligned crops of the main face at each selected frame, as ``faces/NN_fFFFFF.png``; crops
    of that name left by an earlier run into the folder are removed.

    At each frame the largest main-track face is used; frames without one get no crop."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, f in enumerate(result.selected_frames):
        lm = main_landmarks(result, f)
        if lm is None or f not in frames:
            continue
        crop = align_face(frames[f], lm, size=size, margin=margin)
        p = folder / f"{k:02d}_f{f:05d}.png"
        save_png(p, crop)
        paths.append(str(p))
    # a folder written before (another --frames, another video) keeps only this run's crops
    import re

    keep = {Path(p).name for p in paths}
    for old in folder.glob("*.png"):
        if re.fullmatch(r"\d{2}_f\d{5}\.png", old.name) and old.name not in keep:
            old.unlink(missing_ok=True)
    return paths


def main_landmarks(result: TrackingResult, frame: int) -> np.ndarray | None:
    """The 68x2 landmarks of the largest main face detected at ``frame`` (None when there is
    none; gap-filled entries do not count)."""
    best, best_area = None, -1.0
    for t in result.main_tracks:
        i = t.index_of(frame)
        if i is None or t.interpolated[i]:
            continue
        x1, y1, x2, y2 = t.boxes[i]
        area = (x2 - x1) * (y2 - y1)
        if area > best_area:
            best, best_area = t.landmarks[i], area
    return best
