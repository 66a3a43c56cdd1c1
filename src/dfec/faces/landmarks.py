"""68-point landmarks P_t with dlib's shape predictor (``shape_predictor_68_face_landmarks.dat``)."""
from __future__ import annotations

import numpy as np

from .models import import_dlib, model_path


def _rect(dlib, box: np.ndarray):
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return dlib.rectangle(x1, y1, max(x1 + 1, x2 - 1), max(y1 + 1, y2 - 1))


class DlibLandmarks:
    """The iBUG-68 ensemble-of-regression-trees predictor (~1 ms per face)."""

    n_points = 68

    def __init__(self, path: str | None = None):
        self._dlib = import_dlib()
        self._sp = self._dlib.shape_predictor(path or model_path("shape_predictor_68"))

    def predict(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        shape = self._sp(rgb, _rect(self._dlib, box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
