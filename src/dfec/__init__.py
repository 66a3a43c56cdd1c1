"""dfec: Dynamic Facial Expression Captioning.

The reference implementation of the FaceTrack-MM paper's system: the face tracking module
(``dfec.track``), the FaceTrack-MM model (``dfec.model``), FDA data tooling (``dfec.data``), the
FEC-Bench metrics (``dfec.metrics``) and harness (``dfec.bench``), and a training-free landmark
captioner (``dfec.dynamics``). Heavy packages (torch, transformers) are imported lazily.
"""
from __future__ import annotations

from .errors import DfecError
from .schema import Detection, Event, Track, TrackingResult

__version__ = "0.1.0"
__all__ = ["DfecError", "Detection", "Event", "Track", "TrackingResult", "track", "__version__"]


def track(path, **kwargs) -> TrackingResult:
    """Run the face tracking module on one video; see :func:`dfec.tracking.pipeline.track`."""
    from .tracking.pipeline import track as _track

    return _track(path, **kwargs)
