"""Writing frames to a video file with PyAV (used to build test clips and demo outputs)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 16.0, codec: str = "libx264",
                crf: int = 20) -> Path:
    """Encode RGB uint8 frames (all the same HxW; odd sizes are cropped to even) into ``path``.

    ``codec`` falls back to ``mpeg4`` when the FFmpeg build has no ``libx264``.
    """
    import av

    path = Path(path)
    if codec not in av.codecs_available:
        codec = "mpeg4"
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = None
        for rgb in frames:
            rgb = np.asarray(rgb, dtype=np.uint8)
            h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
            rgb = np.ascontiguousarray(rgb[:h, :w, :3])
            if stream is None:
                stream = container.add_stream(codec, rate=rate)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "preset": "veryfast"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path
