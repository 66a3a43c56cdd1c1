"""Aligned face crops for the selected frames (paper: the main character's face is
cropped from each of the N selected frames and fed to the model).

The crop is a similarity transform of the frame: rotated so the two eye centres are level, scaled
so the square around the 68 landmarks plus ``margin`` on each side fills ``size`` pixels.
"""
from __future__ import annotations

import numpy as np

#: iBUG-68 index ranges: the eye on the image left (subject's right eye) and the other one
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)


def alignment_matrix(landmarks68: np.ndarray, size: int = 224, margin: float = 0.08) -> np.ndarray:
    """2x3 affine matrix mapping frame pixels to crop pixels (see :func:`align_face`)."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 68:
        raise ValueError(f"expected 68 landmarks, got {pts.shape[0]}")
    left, right = pts[LEFT_EYE].mean(0), pts[RIGHT_EYE].mean(0)
    dx, dy = right - left
    angle = np.arctan2(dy, dx)
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    centre0 = pts.mean(0)
    rp = (pts - centre0) @ rot.T
    lo, hi = rp.min(0), rp.max(0)
    side = max(float((hi - lo).max()), 1.0) * (1.0 + 2.0 * margin)
    scale = size / side
    mid = (lo + hi) / 2.0  # centre of the landmark box in rotated coordinates
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = size / 2.0 - scale * (rot @ centre0 + mid)
    return m


def align_face(rgb: np.ndarray, landmarks68: np.ndarray, size: int = 224, margin: float = 0.08) -> np.ndarray:
    """Crop the face with eyes level: a ``size`` x ``size`` x 3 uint8 image.

    ``landmarks68`` are the frame's iBUG-68 points (x, y); ``margin`` is the fraction of the
    landmark box added on each side (0.05-0.10 keeps the jaw and brows with a little context).
    Pixels outside the frame repeat the border.
    """
    import cv2

    m = alignment_matrix(landmarks68, size, margin)
    return cv2.warpAffine(np.ascontiguousarray(rgb), m, (int(size), int(size)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine ``matrix`` to (N, 2) points."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return p @ matrix[:, :2].T + matrix[:, 2]
