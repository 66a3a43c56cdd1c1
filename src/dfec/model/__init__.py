"""FaceTrack-MM: the video + face multimodal captioner (paper).

Light to import: the torch/transformers modules load on first attribute access.

* :func:`load_captioner` / :func:`caption_list` (``dfec.model.inference``): captioning from local weights;
* :func:`resolve_layout`, :func:`load_base_model`, :func:`load_trained` (``loading``): the local weight layouts;
* :class:`FaceTrackConfig`, :func:`paper_config` (``configuration_facetrack``);
* :class:`FaceTrackForCausalLM` (``modeling_facetrack``), registered with the transformers Auto classes;
* :class:`FaceTrackProcessor` (``processor``); :class:`STCConnector` (``stc_connector``);
* :func:`budget_report` (``budget``): parameters, visual tokens, training memory.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "load_captioner": "inference", "caption_list": "inference", "Captioner": "inference",
    "resolve_layout": "loading", "build_model": "loading", "load_base_model": "loading", "load_trained": "loading",
    "FaceTrackConfig": "configuration_facetrack", "paper_config": "configuration_facetrack",
    "tiny_config": "configuration_facetrack",
    "FaceTrackForCausalLM": "modeling_facetrack", "FaceTrackProcessor": "processor", "ProcessorConfig": "processor",
    "STCConnector": "stc_connector", "stc_token_count": "stc_connector", "budget_report": "budget",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
