"""GSI-style post-processing of finished tracks (StrongSORT's Gaussian-smoothed interpolation).

1. Gaps of at most ``max_gap`` frames inside a track are filled by linear interpolation of the
   box, the 68 landmarks and the score (the filled entries are flagged ``interpolated``); the
   mesh and iris rows of filled entries stay NaN (not measured).
2. The box trajectory is smoothed with a local-linear Gaussian kernel over time (``sigma``
   frames). StrongSORT fits a Gaussian-process regressor per track; a kernel smoother is the same
   kind of linear smoother at linear cost, which matters for long videos. Landmarks are never smoothed,
   so fast events such as blinks keep their shape for the dynamics stage.
"""
from __future__ import annotations

import numpy as np

from ..schema import Track
from .rows import nan_rows


def gap_sources(frames, max_gap: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The plan of :func:`interpolate_gaps` for a track seen at ``frames`` (increasing):
    ``(out_frames, left, right, w)``, one entry per output row: the row is ``(1 - w) * left + w
    * right`` of the input rows; an input row has ``left == right`` and ``w == 0``. Vectorised:
    no per-frame Python objects, so it costs little on an hour-long track."""
    f = np.asarray(frames, dtype=np.int64).reshape(-1)
    n = len(f)
    if n < 2 or max_gap <= 0:
        idx = np.arange(n)
        return f.copy(), idx, idx.copy(), np.zeros(n)
    gap = np.diff(f) - 1
    counts = np.append(1 + np.where((gap > 0) & (gap <= max_gap), gap, 0), 1)
    left = np.repeat(np.arange(n), counts)
    step = np.arange(len(left)) - np.repeat(np.cumsum(counts) - counts, counts)  # 0 on input rows
    filled = step > 0
    right = np.where(filled, np.minimum(left + 1, n - 1), left)
    w = np.zeros(len(left))
    w[filled] = step[filled] / (f[right[filled]] - f[left[filled]])
    return f[left] + step, left, right, w


def _blend(a: np.ndarray, left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rows ``(1 - w) * a[left] + w * a[right]``; input rows (w == 0) copied exactly."""
    out = a[left]
    k = np.flatnonzero(w > 0)
    if len(k):
        ww = w[k].reshape((-1,) + (1,) * (a.ndim - 1))
        out[k] = (1 - ww) * a[left[k]] + ww * a[right[k]]
    return out


def _take_rows(a: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Rows ``a[src]``, NaN where ``src`` is -1 (an all-NaN broadcast input stays one)."""
    if not len(a) or (a.strides[0] == 0 and np.isnan(a[0]).all()):
        return nan_rows(len(src), a.shape[1:])
    out = np.full((len(src), *a.shape[1:]), np.nan, dtype=np.float32)
    out[src >= 0] = a[src[src >= 0]]
    return out


def interpolate_gaps(track: Track, max_gap: int = 20) -> Track:
    """Fill gaps of 1..``max_gap`` missing frames by linear interpolation; returns a new Track."""
    if len(track) < 2 or max_gap <= 0:
        return track
    frames, left, right, w = gap_sources(track.frames, max_gap)
    filled = w > 0
    src = np.where(filled, -1, left)
    interp = np.asarray(track.interpolated, dtype=bool)[left] | filled
    return Track(track.track_id, frames.tolist(), _blend(track.boxes, left, right, w),
                 _blend(track.landmarks, left, right, w), _blend(track.scores, left, right, w), interp.tolist(),
                 track.mean_area, track.mean_similarity, track.is_main,
                 mesh=_take_rows(track.mesh, src), iris=_take_rows(track.iris, src))


def gaussian_smooth(t: np.ndarray, y: np.ndarray, sigma: float) -> np.ndarray:
    """Local-linear Gaussian kernel smoothing of rows ``y`` (T, D) sampled at times ``t`` (T,).

    Each point is replaced by a weighted straight-line fit of its neighbours (Gaussian weights of
    width ``sigma``, neighbours within 4 sigma), so straight motion is kept exactly, including at
    the ends of a track where a plain moving average would lag."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if sigma <= 0 or len(t) < 3:
        return y.copy()
    out = np.empty_like(y)
    reach = 4.0 * sigma
    lo = np.searchsorted(t, t - reach, side="left")
    hi = np.searchsorted(t, t + reach, side="right")
    for i in range(len(t)):
        d = t[lo[i]:hi[i]] - t[i]
        w = np.exp(-0.5 * (d / sigma) ** 2)
        yy = y[lo[i]:hi[i]]
        s0, s1, s2 = w.sum(), w @ d, w @ (d * d)
        det = s0 * s2 - s1 * s1
        if det <= 1e-12 * max(s0 * s2, 1e-300):
            out[i] = w @ yy / s0
        else:
            out[i] = (s2 * (w @ yy) - s1 * ((w * d) @ yy)) / det
    return out


def gsi(track: Track, max_gap: int = 20, sigma: float = 1.5) -> Track:
    """Interpolate short gaps, then smooth the boxes (see the module docstring)."""
    out = interpolate_gaps(track, max_gap)
    if sigma > 0 and len(out) > 2:
        out.boxes = gaussian_smooth(np.array(out.frames, dtype=np.float64), out.boxes, sigma)
    return out
