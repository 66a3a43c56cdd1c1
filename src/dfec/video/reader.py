"""Video decoding with PyAV, resampled to the analysis frame rate.

Paper, Sec. 3.1 (face tracking module): the video is first decoded at 16 fps. Frames are picked by
presentation time, so a 30 fps source gives the frames nearest to t = 0, 1/16, 2/16, ... seconds;
sources slower than the target rate are not upsampled (each source frame is used once).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DfecError

DEFAULT_FPS = 16.0


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream."""

    path: str
    width: int
    height: int
    fps: float          # the source's average frame rate
    duration: float     # seconds (0.0 when the container does not say)
    n_frames: int       # source frames (0 when the container does not say)


def _open(path: str | Path):
    import av

    p = Path(path)
    if not p.exists():
        raise DfecError("no such file", p)
    if p.is_dir():
        raise DfecError("is a directory, not a video file", p)
    if p.stat().st_size == 0:
        raise DfecError("empty file (0 bytes), not a video", p)
    try:
        container = av.open(str(p))
    except Exception as exc:  # PyAV raises several error classes for bad input
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise DfecError(f"not a readable video ({why}; truncated, corrupt or not a video file)", p) from None
    if not container.streams.video:
        container.close()
        raise DfecError("no video stream", p)
    return container


def probe(path: str | Path) -> VideoInfo:
    """Read the stream header of ``path`` without decoding frames."""
    container = _open(path)
    try:
        s = container.streams.video[0]
        fps = float(s.average_rate) if s.average_rate else 0.0
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        return VideoInfo(str(path), s.codec_context.width, s.codec_context.height, fps, duration, int(s.frames or 0))
    finally:
        container.close()


def iter_frames(path: str | Path, fps: float | None = DEFAULT_FPS) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, rgb)`` for frames resampled to ``fps`` (None keeps every frame).

    ``index`` counts output frames from 0; ``rgb`` is an HxWx3 uint8 array. Raises
    :class:`DfecError` when the file cannot be opened, has no video stream, is corrupt before any
    frame decodes, or holds no frame at all.
    """
    import av

    container = _open(path)
    out_index = 0
    next_t = 0.0
    step = None if not fps else 1.0 / float(fps)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t0 = None
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else out_index * (step or 1 / 30)
                if t0 is None:
                    t0 = t
                t -= t0
                if step is not None:
                    # half a source-frame tolerance: each output slot k*step takes the first
                    # source frame at or just before it, so 30 -> 16 fps keeps the nearest frames
                    if t + 1e-6 < next_t - 0.5 * _src_step(stream):
                        continue
                    next_t += step
                    while next_t + 1e-6 < t:  # source slower than target: never repeat a frame
                        next_t += step
                yield out_index, t, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                out_index += 1
        except av.error.FFmpegError as exc:
            if out_index == 0:
                raise DfecError(f"corrupt video: no frame could be decoded ({exc.strerror or type(exc).__name__})", path) from None
            # a truncated tail: keep what decoded
        if out_index == 0:
            raise DfecError("video has no frames", path)
    finally:
        container.close()


def _src_step(stream) -> float:
    rate = stream.average_rate or stream.base_rate
    return 1.0 / float(rate) if rate else 0.0


def read_frames(path: str | Path, fps: float | None = DEFAULT_FPS) -> tuple[np.ndarray, list[float]]:
    """Decode the whole video at ``fps``; returns ``(frames[T,H,W,3] uint8, times)``."""
    frames, times = [], []
    for _, t, rgb in iter_frames(path, fps):
        frames.append(rgb)
        times.append(t)
    return np.stack(frames), times


def uniform_indices(n_total: int, n: int) -> list[int]:
    """N indices spread uniformly over ``range(n_total)`` (centres of N equal segments).

    Used for the paper's uniform sampling of N frames; when ``n >= n_total`` every frame is used.
    """
    if n_total <= 0 or n <= 0:
        return []
    if n >= n_total:
        return list(range(n_total))
    seg = n_total / n
    return [min(n_total - 1, int(seg * i + seg / 2)) for i in range(n)]
