"""Video decoding (PyAV) at the analysis frame rate, and writing clips."""
from .reader import DEFAULT_FPS, VideoInfo, iter_frames, probe, read_frames, uniform_indices
from .writer import write_video

__all__ = ["DEFAULT_FPS", "VideoInfo", "iter_frames", "probe", "read_frames", "uniform_indices", "write_video"]
