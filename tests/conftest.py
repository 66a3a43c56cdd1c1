"""Shared test fixtures.

Real media live in ``../shared/data`` next to the repository (never committed here); tests that
need them take the ``shared_data`` fixture and are skipped cleanly when the folder is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(os.environ.get("DFEC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared test media not found at {SHARED}")
    return SHARED


def mediapipe_missing() -> str | None:
    """Why the MediaPipe face stack (``dfec.faces.tflite``: the runtime and its models) cannot run
    here, or None when it can; without it the tracker would fall back to dlib."""
    from dfec.errors import MissingDependencyError

    try:
        from dfec.faces import tflite

        tflite.check_available()
    except (ImportError, MissingDependencyError) as exc:  # no runtime, or the models are not installed
        return f"MediaPipe stack not installed: {exc}"
    return None


@pytest.fixture(scope="session")
def mediapipe_stack() -> None:
    """Skips the test when the MediaPipe face stack is not installed (:func:`mediapipe_missing`)."""
    why = mediapipe_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def test_data() -> Path:
    return TEST_DATA


#: dlib HOG's box (x1, y1, x2, y2) of the face in scikit-image's astronaut picture
ASTRONAUT_FACE = (175, 76, 265, 166)


@pytest.fixture(scope="session")
def astronaut():
    """scikit-image's astronaut picture (RGB uint8, one frontal face at :data:`ASTRONAUT_FACE`)."""
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if any("gpu" in item.keywords for item in items) and not _has_cuda():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
