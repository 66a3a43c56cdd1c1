"""``landmark``: the training-free landmark captioner (:func:`dfec.dynamics.captioner.caption_video`).

Paper-free baseline: face tracking -> per-frame landmark signals -> a facial-event timeline ->
template text. No model and no GPU. With ``options.out_dir`` it also writes ``events.json``,
``caption.txt`` and ``timeline.png`` there (and reuses a ``tracks.json`` written for the same video).
"""
from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import MissingDependencyError
from ..schema import Caption, TrackingResult
from .base import CaptionerOptions


class LandmarkCaptioner:
    """The landmark captioner behind the :class:`~dfec.captioners.base.Captioner` interface."""

    name = "landmark"

    def __init__(self, options: CaptionerOptions | None = None):
        self.options = options or CaptionerOptions()
        self._config = None

    def requires(self) -> list[str]:
        return ["the dfec.dynamics module (face tracking + landmark dynamics)", "dlib"]

    def check(self) -> None:
        try:
            importlib.import_module("dfec.dynamics.captioner")
        except ImportError as exc:
            raise MissingDependencyError("the landmark captioner (dfec.dynamics.captioner)",
                                         f"import failed: {exc}") from None
        self.config()  # a bad --config file fails here, before any video

    def config(self):
        """The :class:`~dfec.dynamics.events.DynamicsConfig` (paper-free defaults + the options' file)."""
        if self._config is None:
            if self.options.dynamics_config:
                from ..dynamics.events import load_config

                self._config = load_config(self.options.dynamics_config)
            else:
                from ..dynamics.events import DynamicsConfig

                self._config = DynamicsConfig()
        return self._config

    def caption(self, video: str | Path, tracking: TrackingResult | None = None) -> Caption:
        from ..dynamics import captioner as dyn

        out_dir = self.options.out_dir
        result = dyn.caption_video(video, self.config(), out_dir=out_dir, tracking=tracking,
                                   progress=self.options.progress)
        meta = {"n_events": len(result.timeline), "n_described": len(result.events)}
        if out_dir is not None:
            out = Path(out_dir)
            meta["files"] = {"events": str(out / "events.json"), "caption": str(out / "caption.txt"),
                             "timeline": str(out / "timeline.png")}
        return Caption(text=result.caption, captioner=self.name, video=str(video), metadata=meta)
