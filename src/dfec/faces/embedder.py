"""128-d identity embeddings with dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``).

The network takes a 150x150 chip aligned from the landmarks; it costs ~70-110 ms per face on one
CPU core (this dlib build has no BLAS), so the tracker computes it only every few frames per track
(``TrackConfig.embed_every``), and with the MediaPipe stack only when faces meet or for tracklet
linking, once per tracklet (lazy identity, :mod:`dfec.tracking.strongsort`).
"""
from __future__ import annotations

import numpy as np

from .landmarks import _rect
from .models import import_dlib, model_path


class DlibResNetEmbedder:
    """dlib's face-recognition ResNet-34 (LFW 99.38%); returns a 128-d float vector."""

    dim = 128

    def __init__(self, path: str | None = None, jitter: int = 0):
        self._dlib = import_dlib()
        self._net = self._dlib.face_recognition_model_v1(path or model_path("resnet"))
        self.jitter = int(jitter)

    def embed(self, rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        dlib = self._dlib
        pts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in np.asarray(landmarks)])
        shape = dlib.full_object_detection(_rect(dlib, box), pts)
        return np.asarray(self._net.compute_face_descriptor(rgb, shape, self.jitter), dtype=np.float64)
