"""The Dynamic Video Face Tracking Module (paper): StrongSORT on dlib faces, GSI gap
filling, main-character selection (Eq. 3) and frame selection. Entry point: :func:`track`."""
from .config import TrackConfig

__all__ = ["TrackConfig", "track"]


def track(path, **kwargs):
    """See :func:`dfec.tracking.pipeline.track`."""
    from .pipeline import track as _track

    return _track(path, **kwargs)
