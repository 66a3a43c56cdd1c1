"""``facetrack``: FaceTrack-MM (the paper's model) from a local weight folder (:mod:`dfec.model.inference`).

Paper: the face tracking module picks the main character and its aligned face crops, FaceTrack-MM
reads the 16 frames + crops with the instruction and decodes the caption greedily. The weight
folder is checked (:func:`dfec.model.loading.resolve_layout`) before any video is touched: a missing
folder, pickle-only weights or a non-FaceTrack config is one line, never one failure per video.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DfecError, FatalRunError, MissingDependencyError
from ..schema import Caption, TrackingResult
from .base import CaptionerOptions, need_dir, need_module


class FaceTrackCaptioner:
    """FaceTrack-MM loaded once (lazily) through :func:`dfec.model.inference.load_captioner`."""

    name = "facetrack"

    def __init__(self, options: CaptionerOptions | None = None):
        self.options = options or CaptionerOptions()
        self._model = None

    def requires(self) -> list[str]:
        return ["a local FaceTrack-MM weight folder (--model-path / dfec caption --model)", "torch", "transformers"]

    def check(self) -> None:
        if not self.options.model_path:
            need_dir(None, "the FaceTrack-MM weight folder")
        need_module("torch", "install torch")
        try:
            from ..model.loading import resolve_layout
        except ImportError as exc:
            raise MissingDependencyError("FaceTrack-MM inference (dfec.model)", f"import failed: {exc}") from None
        # safetensors + config present, or one DfecError naming the folder and how to get its weights
        resolve_layout(self.options.model_path)

    def _load(self):
        if self._model is None:
            from ..model import inference  # looked up at call time, so tests can replace load_captioner

            try:
                self._model = inference.load_captioner(self.options.model_path, device=self.options.device,
                                                       dtype=self.options.dtype)
            except FatalRunError:
                raise
            except DfecError as exc:  # broken weights: stop a list run once, not once per video
                raise FatalRunError.from_error(exc) from None
        return self._model

    def caption(self, video: str | Path, tracking: TrackingResult | None = None) -> Caption:
        text = self._load().caption(str(video), instruction=self.options.instruction, tracking=tracking,
                                    max_new_tokens=self.options.max_new_tokens)
        return Caption(text=text, captioner=self.name, video=str(video),
                       metadata={"model_path": str(self.options.model_path)})
