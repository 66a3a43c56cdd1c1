"""Small protocols for the three per-frame face models, so other backends can be plugged in.

Paper: for every decoded frame the tracking module detects faces, fits the 68-point
landmarks P_t and computes an identity embedding used for association and for S_k (Eq. 3).
Any object with the right method works; the dlib implementations live next to this file.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in one RGB frame."""

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Return ``[(box, confidence), ...]``: ``box`` is ``(x1, y1, x2, y2)`` in pixels of ``rgb``
        and ``confidence`` lies in [0, 1] (it scales the NSA Kalman measurement noise)."""
        ...


@runtime_checkable
class LandmarkPredictor(Protocol):
    """Fits the 68 iBUG landmarks inside a face box."""

    def predict(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Return a (68, 2) float array of (x, y) pixel positions."""
        ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Maps a face to an identity vector (compared by cosine similarity)."""

    dim: int

    def embed(self, rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Return a 1-D float vector for the face at ``box`` with ``landmarks``."""
        ...


def sigmoid_confidence(score: float, gain: float = 2.0) -> float:
    """Map a detector margin (dlib HOG/MMOD score, 0 at the decision threshold) into (0, 1)."""
    return float(1.0 / (1.0 + np.exp(-gain * float(score))))
