"""Video decoding with PyAV, resampled to the analysis frame rate, in display orientation.

Paper (face tracking module): the video is first decoded at 16 fps. Output slot k stands
for time t = k / fps (measured from the first video frame, whatever the container's start time or
an audio stream before it): it gets the source frame nearest to t (the earlier one on a tie).
``fill=False`` (the default) yields each chosen source frame once, so a source slower than the
target is not upsampled; ``fill=True`` repeats a frame for every slot it covers (a slow or
variable-rate source, a freeze), so that output index k always is the picture at k / fps, which
is what the tracker's frame indices mean. A clip of duration D gives about round(D * fps) slots
(as FFmpeg's ``fps`` filter does).

A truncated file (cut short after its header) decodes only its first part: the reader compares
the duration it could decode with the declared one, warns once per file on stderr when much less
was analysed, and reports both (the ``coverage`` dict of :func:`iter_frames`, recorded in
``tracks.json`` and ``events.json``).

Frames come out as they are displayed: the container's display matrix (phone videos shot in
portrait carry a 90-degree rotation; front cameras may add a mirror) is applied, and anamorphic
video (sample aspect ratio other than 1:1) is resized to square pixels, as players do.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DfecError

DEFAULT_FPS = 16.0
#: a video counts as truncated when less than this share of its declared duration decodes ...
TRUNCATED_SHARE = 0.9
#: ... and at least this many seconds are missing
TRUNCATED_MIN_S = 0.25
_warned: set[str] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream.

    ``width`` and ``height`` are the displayed size (after rotation and the sample aspect ratio,
    i.e. the size of the arrays :func:`iter_frames` yields); ``rotation`` is the counter-clockwise
    display rotation in degrees (0, 90, 180 or 270) read from the first frame's display matrix.
    """

    path: str
    width: int
    height: int
    fps: float          # the source's average frame rate
    duration: float     # seconds (0.0 when the container does not say)
    n_frames: int       # source frames (0 when the container does not say)
    rotation: int = 0


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


def video_stream(container):
    """The container's main video stream: cover art and thumbnails (attached pictures) are
    skipped, and among the rest the largest picture wins (the first on a tie)."""
    import av

    streams = list(container.streams.video)
    skip = 0
    for name in ("attached_pic", "timed_thumbnails", "still_image"):
        skip |= int(getattr(av.stream.Disposition, name, 0))
    real = [s for s in streams if not (int(s.disposition or 0) & skip)] or streams

    def size(s) -> int:
        cc = s.codec_context
        return int(cc.width or 0) * int(cc.height or 0)

    return max(real, key=lambda s: (size(s), -s.index))


# --------------------------------------------------------------------------- display geometry
def display_transform(matrix) -> tuple[bool, bool, bool]:
    """``(transpose, flip_x, flip_y)`` that turn a decoded image into the displayed one, for an
    FFmpeg display matrix (9 int32 values, ``AV_FRAME_DATA_DISPLAYMATRIX`` layout; None = identity).

    FFmpeg maps a source pixel (p, q) to the displayed (a p + c q, b p + d q) + offset with
    a, b, c, d = m[0], m[1], m[3], m[4] (image coordinates, y down). Only the axis-aligned part is
    kept: the eight orientations of EXIF and of phones (other angles are rounded to the nearest).
    Applied as: transpose first (when set), then mirror the columns / rows.
    """
    if matrix is None:
        return False, False, False
    m = np.asarray(matrix, dtype=np.float64).reshape(-1)
    if m.size < 5:
        return False, False, False
    a, b, c, d = m[0], m[1], m[3], m[4]
    if abs(a) + abs(d) >= abs(b) + abs(c):     # x' = a p, y' = d q
        return False, bool(a < 0), bool(d < 0)
    return True, bool(c < 0), bool(b < 0)       # x' = c q, y' = b p


def _rotation_degrees(transform: tuple[bool, bool, bool]) -> int:
    """Counter-clockwise display rotation of a transform (mirrors ignored), for :class:`VideoInfo`."""
    tr, fx, fy = transform
    if not tr:
        return 180 if (fx and fy) else 0
    return 90 if fy else 270  # transpose + row flip = np.rot90; + column flip = clockwise


def _matrix_of(frame, stream=None):
    """The display matrix of ``frame`` (frame side data; else the stream's legacy ``rotate``
    metadata, clockwise degrees), or None."""
    try:
        from av.sidedata.sidedata import Type

        sd = frame.side_data.get(Type.DISPLAYMATRIX)
        if sd is not None:
            raw = bytes(sd)
            if len(raw) >= 36:
                return tuple(int(v) for v in np.frombuffer(raw[:36], dtype="<i4"))
    except Exception:  # an older PyAV without side data access: fall back below
        pass
    rot = None
    try:
        rot = int(getattr(frame, "rotation", 0) or 0)  # counter-clockwise degrees
    except Exception:
        rot = None
    if not rot and stream is not None:
        try:
            rot = -int(float(stream.metadata.get("rotate", 0)))  # legacy tag: clockwise
        except (TypeError, ValueError):
            rot = 0
    if not rot:
        return None
    th = np.deg2rad(rot)
    c, s = int(round(np.cos(th))), int(round(np.sin(th)))
    return (c, -s, 0, s, c, 0, 0, 0, 1)   # av_display_rotation_set layout (unit scale)


def _sar(stream) -> Fraction | None:
    for obj in (stream, getattr(stream, "codec_context", None)):
        try:
            sar = obj.sample_aspect_ratio if obj is not None else None
        except Exception:
            sar = None
        if sar and float(sar) > 0 and abs(float(sar) - 1.0) > 1e-3:
            return Fraction(sar)
    return None


def to_display(rgb: np.ndarray, transform: tuple[bool, bool, bool], sar: Fraction | None = None) -> np.ndarray:
    """Apply the sample aspect ratio (to square pixels) and the display transform to a decoded
    HxWx3 image; returns a C-contiguous array."""
    if sar is not None:
        import cv2

        h, w = rgb.shape[:2]
        if sar > 1:
            size = (max(1, int(round(w * sar))), h)
        else:
            size = (w, max(1, int(round(h / sar))))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if sar < 1 else cv2.INTER_LINEAR)
    tr, fx, fy = transform
    if tr:
        rgb = rgb.transpose(1, 0, 2)
    if fx:
        rgb = rgb[:, ::-1]
    if fy:
        rgb = rgb[::-1]
    return np.ascontiguousarray(rgb)


# --------------------------------------------------------------------------- probing
def probe(path: str | Path) -> VideoInfo:
    """Read the stream header of ``path`` and decode its first frame (for the display matrix)."""
    container = _open(path)
    try:
        s = video_stream(container)
        fps = float(s.average_rate) if s.average_rate else 0.0
        w, h = s.codec_context.width, s.codec_context.height
        transform = (False, False, False)
        try:
            for frame in container.decode(s):
                transform = display_transform(_matrix_of(frame, s))
                w, h = frame.width, frame.height
                break
        except Exception:  # a corrupt first frame: iter_frames reports it
            pass
        duration = _declared_duration(container, s)
        sar = _sar(s)
        if sar is not None:
            w, h = (int(round(w * sar)), h) if sar > 1 else (w, int(round(h / sar)))
        if transform[0]:
            w, h = h, w
        return VideoInfo(str(path), int(w), int(h), fps, duration, int(s.frames or 0), _rotation_degrees(transform))
    finally:
        container.close()


def _declared_duration(container, stream) -> float:
    """The duration the container declares for ``stream`` in seconds (0.0 when it says nothing)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0


def video_coverage(declared_s: float, analysed_s: float) -> dict:
    """``{declared_duration_s, analysed_duration_s, truncated}`` (``declared`` None when unknown)."""
    declared = float(declared_s) if declared_s and declared_s > 0 else None
    truncated = bool(declared and analysed_s < TRUNCATED_SHARE * declared and declared - analysed_s >= TRUNCATED_MIN_S)
    return {"declared_duration_s": None if declared is None else round(declared, 3),
            "analysed_duration_s": round(float(analysed_s), 3), "truncated": truncated}


def _report_coverage(path, coverage: dict, out: dict | None) -> None:
    if out is not None:
        out.update(coverage)
    if coverage["truncated"]:
        with _warned_lock:
            first = str(path) not in _warned
            _warned.add(str(path))
        if first:
            print(f"dfec: warning: {path}: truncated video: only {coverage['analysed_duration_s']:.2f} s of the "
                  f"declared {coverage['declared_duration_s']:.2f} s could be decoded; the rest is not analysed",
                  file=sys.stderr)


# --------------------------------------------------------------------------- decoding
def _source_frames(container, stream, path) -> Iterator[tuple[float, float, object]]:
    """``(t, duration, frame)`` of every decodable source frame in presentation order; ``t`` in
    seconds from the first frame. Timestamps that are missing or go backwards are replaced by the
    previous one plus one source frame. A decoding error ends the stream (a truncated tail) or,
    before any frame, raises :class:`DfecError`."""
    import av

    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    src_step = 1.0 / float(rate) if rate else 1.0 / 25.0
    t0 = None
    prev = None
    n = 0
    try:
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else None
            if t is not None:
                if t0 is None:
                    t0 = t
                t -= t0
            if t is None or (prev is not None and t <= prev + 1e-9):
                t = 0.0 if prev is None else prev + src_step
                if t0 is None:
                    t0 = 0.0
            dur = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else src_step
            prev = t
            n += 1
            yield t, dur, frame
    except av.error.FFmpegError as exc:
        if n == 0:
            raise DfecError(f"corrupt video: no frame could be decoded ({exc.strerror or type(exc).__name__})", path) from None
        # a truncated tail: keep what decoded


def iter_frames(path: str | Path, fps: float | None = DEFAULT_FPS, fill: bool = False,
                coverage: dict | None = None, only=None) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, rgb)`` for frames resampled to ``fps`` (None keeps every frame).

    ``index`` counts output frames from 0; ``time_s`` is the chosen source frame's time from the
    first frame; ``rgb`` is an HxWx3 uint8 array in display orientation. With ``fill`` a source
    frame is repeated (the same array object) for every slot it is nearest to, so ``index`` is
    always the slot at ``index / fps`` seconds. Raises :class:`DfecError` when the file cannot be
    opened, has no video stream, is corrupt before any frame decodes, or holds no frame at all.
    Once every frame is read, ``coverage`` (when given) receives :func:`video_coverage` of the
    declared and the decoded duration; a truncated video is warned about once on stderr.
    ``only`` (a set of output indices) yields just those frames: the others are decoded but not
    converted to RGB (the costlier half of a frame when few are wanted); the iterator still runs
    to the end of the video unless the caller stops.
    """
    container = _open(path)
    out_index = 0
    try:
        stream = video_stream(container)
        stream.thread_type = "AUTO"
        sar = _sar(stream)
        transforms: dict = {}
        # the last converted frame and its rgb (a frame repeated by the resampler is converted
        # once). Held by identity, not by id(): with ``only``, frames that are not converted are
        # freed and a later frame may get the same id(), which returned a stale picture
        converted: list = [None, None]

        def rgb_of(frame) -> np.ndarray:
            if converted[0] is not frame:
                # the display matrix is read from the first frame only: touching a frame's side
                # data keeps the frame alive in a PyAV reference cycle until the garbage collector
                # runs (+300 MB RSS on a 720p clip when read on every frame)
                if not transforms:
                    m = _matrix_of(frame, stream)
                    transforms[None] = display_transform(m)
                tf = transforms[None]
                converted[:] = [frame, to_display(frame.to_ndarray(format="rgb24"), tf, sar)]
            return converted[1]

        end = [0.0]  # the end time of the last decoded source frame

        def source():
            for t, dur, frame in _source_frames(container, stream, path):
                end[0] = t + max(dur, 0.0)
                yield t, dur, frame

        if not fps:
            for t, _, frame in source():
                if only is None or out_index in only:
                    yield out_index, t, rgb_of(frame)
                out_index += 1
        else:
            step = 1.0 / float(fps)
            eps = 1e-6
            k = 0
            prev = None          # (t, dur, frame) of the previous source frame
            last_emitted = None  # the source frame yielded last
            for cur in source():
                t = cur[0]
                while k * step <= t + eps:
                    s = k * step
                    chosen = prev if prev is not None and s - prev[0] <= t - s + eps else cur
                    if fill or chosen[2] is not last_emitted:
                        i = k if fill else out_index
                        if only is None or i in only:
                            yield i, chosen[0], rgb_of(chosen[2])
                        out_index += 1
                        last_emitted = chosen[2]
                    k += 1
                prev = cur
            if prev is not None:  # the slots the last frame still covers, up to round(duration * fps)
                n_slots = int(np.floor((prev[0] + max(prev[1], 0.0)) / step + 0.5))
                while k < n_slots:
                    if fill or prev[2] is not last_emitted:
                        i = k if fill else out_index
                        if only is None or i in only:
                            yield i, prev[0], rgb_of(prev[2])
                        out_index += 1
                        last_emitted = prev[2]
                    k += 1
        if out_index == 0:
            raise DfecError("video has no frames", path)
        _report_coverage(path, video_coverage(_declared_duration(container, stream), end[0]), coverage)
    finally:
        container.close()


def read_frames(path: str | Path, fps: float | None = DEFAULT_FPS, fill: bool = False) -> tuple[np.ndarray, list[float]]:
    """Decode the whole video at ``fps``; returns ``(frames[T,H,W,3] uint8, times)``."""
    frames, times = [], []
    for _, t, rgb in iter_frames(path, fps, fill=fill):
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
