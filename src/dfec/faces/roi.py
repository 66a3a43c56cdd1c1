"""Rotated square regions of interest, as MediaPipe's face graphs use them.

A :class:`Roi` is a square of side ``size`` pixels centred at ``(cx, cy)`` and rotated by
``angle`` radians (image coordinates, y down: the ROI's x axis points along
``(cos angle, sin angle)``). A model input of ``n`` x ``n`` pixels is the ROI resampled, and a
point ``(u, v)`` of that input maps back to ``centre + R(angle) ((u / n - 0.5) size, (v / n - 0.5) size)``.

The angle makes the line between two reference points level: the BlazeFace eye keypoints for the
first frame of a face, the mesh's outer eye corners (33, 263) afterwards, the two corners of one
eye for the iris model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roi:
    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def matrix(self, n: int) -> np.ndarray:
        """2x3 affine map from model-input pixels (``n`` x ``n``) to frame pixels."""
        k = self.size / n
        c, s = np.cos(self.angle) * k, np.sin(self.angle) * k
        h = n / 2.0
        return np.array([[c, -s, self.cx - (c - s) * h], [s, c, self.cy - (s + c) * h]])

    def crop(self, rgb: np.ndarray, n: int, flip: bool = False, border: int | None = None) -> np.ndarray:
        """The ROI resampled to ``n`` x ``n`` (mirrored left-right with ``flip``)."""
        import cv2

        m = self.matrix(n)
        if flip:  # input column u reads the ROI at n - u
            m = m @ np.array([[-1.0, 0.0, n], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return cv2.warpAffine(rgb, m, (n, n), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT if border is None else border, borderValue=0)

    def to_frame(self, pts: np.ndarray, n: int, flip: bool = False) -> np.ndarray:
        """Model-input points ``(..., 2 or 3)`` -> frame pixels; z (when present) is scaled like x."""
        p = np.array(pts, dtype=np.float32, copy=True)
        if flip:
            p[..., 0] = n - p[..., 0]
        m = self.matrix(n).astype(np.float32)
        xy = p[..., :2] @ m[:, :2].T + m[:, 2]
        out = p
        out[..., :2] = xy
        if p.shape[-1] > 2:
            out[..., 2] = p[..., 2] * np.float32(self.size / n)
        return out

    @property
    def box(self) -> np.ndarray:
        """The axis-aligned box around the rotated square (x1, y1, x2, y2)."""
        half = 0.5 * self.size * (abs(np.cos(self.angle)) + abs(np.sin(self.angle)))
        return np.array([self.cx - half, self.cy - half, self.cx + half, self.cy + half])


def level_angle(p0, p1) -> float:
    """Angle that makes the line from ``p0`` to ``p1`` horizontal (p0 on the left afterwards)."""
    return float(np.arctan2(p1[1] - p0[1], p1[0] - p0[0]))


def roi_around(points: np.ndarray, p0, p1, scale: float) -> Roi:
    """The square ROI around ``points`` (N, 2) in the frame rotated to level ``p0 -> p1``: the
    box of the points in that frame, its longer side times ``scale`` (MediaPipe's
    ``square_long`` rect transformation)."""
    angle = level_angle(p0, p1)
    c, s = np.cos(angle), np.sin(angle)
    pts = np.asarray(points, dtype=np.float64)[:, :2]
    local = pts @ np.array([[c, -s], [s, c]])  # frame -> ROI axes (R^T applied to row vectors)
    lo, hi = local.min(0), local.max(0)
    mid = (lo + hi) / 2.0
    centre = np.array([[c, -s], [s, c]]) @ mid
    side = float(max(hi - lo)) * scale
    return Roi(float(centre[0]), float(centre[1]), max(side, 1.0), angle)
