"""Frames for frame-based captioners: the paper's uniform sampling of N = 16 frames, and JPEG parts."""
from __future__ import annotations

import base64
import io
from pathlib import Path


def sample_frames(path: str | Path, n: int, max_side: int | None = None):
    """The paper's uniform sampling: ``n`` frames spread evenly over the video decoded at 16 fps.

    Returns a list of HxWx3 uint8 RGB arrays (shrunk so the longer side is at most ``max_side``).
    Raises :class:`DfecError` for a missing or unreadable video.
    """
    from ..video.reader import iter_frames, uniform_indices

    # FEC-Bench clips are short (a few seconds): keep every 16-fps frame (shrunk) and pick after,
    # so the choice does not depend on a container's possibly wrong duration field.
    allf = [_shrink(rgb, max_side) for _, _, rgb in iter_frames(path, 16)]
    return [allf[i] for i in uniform_indices(len(allf), n)]


def _shrink(rgb, max_side):
    if not max_side:
        return rgb
    h, w = rgb.shape[:2]
    s = max(h, w)
    if s <= max_side:
        return rgb
    from PIL import Image

    scale = max_side / s
    img = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    import numpy as np

    return np.asarray(img)


def jpeg_base64(rgb, quality: int = 90) -> str:
    """Encode one RGB frame as a base64 JPEG string (for image parts of chat messages)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode("ascii")
