"""Video decoding (PyAV) at the analysis frame rate."""
from .reader import DEFAULT_FPS, VideoInfo, iter_frames, probe, read_frames, uniform_indices

__all__ = ["DEFAULT_FPS", "VideoInfo", "iter_frames", "probe", "read_frames", "uniform_indices"]
