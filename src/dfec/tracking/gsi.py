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


def interpolate_gaps(track: Track, max_gap: int = 20) -> Track:
    """Fill gaps of 1..``max_gap`` missing frames by linear interpolation; returns a new Track."""
    if len(track) < 2 or max_gap <= 0:
        return track
    frames, boxes, lms, scores, interp, rows = [], [], [], [], [], []
    for i in range(len(track)):
        rows.append(i)
        f0 = track.frames[i]
        frames.append(f0)
        boxes.append(track.boxes[i])
        lms.append(track.landmarks[i])
        scores.append(track.scores[i])
        interp.append(track.interpolated[i])
        if i + 1 < len(track):
            f1 = track.frames[i + 1]
            gap = f1 - f0 - 1
            if 0 < gap <= max_gap:
                for f in range(f0 + 1, f1):
                    w = (f - f0) / (f1 - f0)
                    frames.append(f)
                    boxes.append((1 - w) * track.boxes[i] + w * track.boxes[i + 1])
                    lms.append((1 - w) * track.landmarks[i] + w * track.landmarks[i + 1])
                    scores.append((1 - w) * track.scores[i] + w * track.scores[i + 1])
                    interp.append(True)
                    rows.append(-1)
    src = np.array(rows)
    mesh = np.full((len(frames), 468, 3), np.nan, dtype=np.float32)
    iris = np.full((len(frames), 10, 3), np.nan, dtype=np.float32)
    mesh[src >= 0], iris[src >= 0] = track.mesh, track.iris
    return Track(track.track_id, frames, np.array(boxes), np.array(lms), np.array(scores), interp,
                 track.mean_area, track.mean_similarity, track.is_main, mesh=mesh, iris=iris)


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
