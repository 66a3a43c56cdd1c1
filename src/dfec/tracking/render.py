"""Writing the tracking outputs: aligned face crops (PNG) and a contact sheet of the selected
frames with every track's box, landmarks and id drawn (main character in green)."""
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


def draw_frame(rgb: np.ndarray, result: TrackingResult, frame: int) -> np.ndarray:
    """A copy of ``rgb`` with every track present at ``frame`` drawn on it."""
    import cv2

    img = np.ascontiguousarray(rgb.copy())
    scale = max(1.0, max(img.shape[:2]) / 480.0)
    thick = max(1, int(round(2 * scale)))
    for t in result.tracks:
        i = t.index_of(frame)
        if i is None:
            continue
        colour = MAIN_COLOUR if t.is_main else OTHER_COLOUR
        x1, y1, x2, y2 = (int(round(v)) for v in t.boxes[i])
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick, lineType=cv2.LINE_AA)
        for x, y in t.landmarks[i]:
            cv2.circle(img, (int(round(x)), int(round(y))), thick, colour, -1, lineType=cv2.LINE_AA)
        label = f"id {t.track_id}" + (" main" if t.is_main else "") + (" (interp)" if t.interpolated[i] else "")
        _label(img, label, (x1, max(int(16 * scale), y1 - 4)), 0.5 * scale, colour, thick)
    return img


def contact_sheet(frames: dict[int, np.ndarray], result: TrackingResult, path: str | Path,
                  columns: int = 4, thumb_width: int = 320) -> Path:
    """Save a grid of the selected frames (in selection order) with the tracks drawn."""
    import cv2
    from PIL import Image

    order = result.selected_frames or sorted(frames)
    thumbs = []
    for f in order:
        if f not in frames:
            continue
        img = draw_frame(frames[f], result, f)
        h, w = img.shape[:2]
        tw = int(thumb_width)
        th = max(1, int(round(h * tw / w)))
        img = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
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
    path = Path(path)
    Image.fromarray(sheet).save(path, compress_level=1)
    return path


def write_crops(frames: dict[int, np.ndarray], result: TrackingResult, folder: str | Path,
                size: int = 224, margin: float = 0.08) -> list[str]:
    """Aligned crops of the main face at each selected frame, as ``faces/NN_fFFFFF.png``.

    At each frame the largest main-track face is used; frames without one get no crop."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, f in enumerate(result.selected_frames):
        lm = main_landmarks(result, f)
        if lm is None or f not in frames:
            continue
        crop = align_face(frames[f], lm, size=size, margin=margin)
        p = folder / f"{k:02d}_f{f:05d}.png"
        Image.fromarray(crop).save(p, compress_level=1)
        paths.append(str(p))
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
