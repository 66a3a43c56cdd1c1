"""Per-frame face models (paper): detection, 68-point landmarks, identity embeddings,
and aligned crops. Backends sit behind the protocols in :mod:`dfec.faces.base`: the MediaPipe
stack (BlazeFace + FaceMesh + Iris on ai-edge-litert, :mod:`.facemesh`, the default) and dlib
(HOG / CNN detectors, 68-point predictor, ResNet embedder); each is imported only when built."""
from .align import align_face, alignment_matrix
from .base import FaceDetector, FaceEmbedder, LandmarkPredictor, sigmoid_confidence

__all__ = ["FaceDetector", "FaceEmbedder", "LandmarkPredictor", "align_face", "alignment_matrix",
           "sigmoid_confidence", "make_detector", "HogDetector", "CnnDetector", "DlibLandmarks",
           "DlibResNetEmbedder", "MediaPipeFaces"]


def __getattr__(name):  # lazy: these import dlib-backed modules only when asked for
    if name in ("make_detector", "HogDetector", "CnnDetector"):
        from . import detector

        return getattr(detector, name)
    if name == "MediaPipeFaces":
        from .facemesh import MediaPipeFaces

        return MediaPipeFaces
    if name == "DlibLandmarks":
        from .landmarks import DlibLandmarks

        return DlibLandmarks
    if name == "DlibResNetEmbedder":
        from .embedder import DlibResNetEmbedder

        return DlibResNetEmbedder
    raise AttributeError(name)
