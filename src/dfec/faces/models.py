"""Locating the dlib model files shipped by ``face-recognition-models``.

The package's ``__init__`` imports ``pkg_resources`` (absent on recent setuptools), so it is never
imported here: its folder is found with :func:`importlib.util.find_spec` and the ``models/`` files
are read from there. ``DFEC_FACE_MODELS`` points at another folder holding the same file names.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import MissingDependencyError

#: short name -> file name inside face_recognition_models/models/
MODEL_FILES = {
    "shape_predictor_68": "shape_predictor_68_face_landmarks.dat",
    "shape_predictor_5": "shape_predictor_5_face_landmarks.dat",
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "mmod": "mmod_human_face_detector.dat",
}


def models_dir() -> Path:
    """The folder holding the dlib ``.dat`` model files."""
    env = os.environ.get("DFEC_FACE_MODELS")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "face-recognition-models", "pip install face-recognition-models (or set DFEC_FACE_MODELS)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def model_path(name: str) -> str:
    """Path of the model file ``name`` (a key of :data:`MODEL_FILES`); raises when missing."""
    path = models_dir() / MODEL_FILES[name]
    if not path.is_file():
        raise MissingDependencyError(f"dlib model {path.name}", f"expected at {path}")
    return str(path)


def import_dlib():
    """Import dlib, turning its absence into a one-line :class:`MissingDependencyError`."""
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError("dlib", "pip install dlib-bin") from None
    return dlib
