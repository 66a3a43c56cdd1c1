"""The bench's names for the captioners of :mod:`dfec.captioners` (kept so older code still imports).

``dfec bench run --model NAME`` resolves NAME through the one registry
(:mod:`dfec.captioners.registry`): ``landmark``, ``facetrack``, ``openai``, ``qwen2-vl``,
``llava-onevision`` or ``package.module:ClassName``. ``AdapterOptions`` is
:class:`~dfec.captioners.base.CaptionerOptions`; the ``*Adapter`` classes are the registry's
captioners; ``load_adapter`` / ``check_adapter`` / ``resolve_adapter_class`` are its ``load`` /
``check`` / ``resolve_class``.
"""
from __future__ import annotations

from ..captioners.base import DEFAULT_INSTRUCTION, DEFAULT_N_FRAMES, Captioner  # noqa: F401
from ..captioners.base import CaptionerOptions as AdapterOptions
from ..captioners.facetrack import FaceTrackCaptioner as FaceTrackAdapter
from ..captioners.frames import jpeg_base64, sample_frames  # noqa: F401
from ..captioners.hf import LlavaOneVisionCaptioner as LlavaOneVisionAdapter
from ..captioners.hf import Qwen2VLCaptioner as Qwen2VLAdapter
from ..captioners.landmark import LandmarkCaptioner as LandmarkAdapter
from ..captioners.openai_chat import OpenAICaptioner as OpenAIAdapter
from ..captioners.registry import check as check_adapter
from ..captioners.registry import load as load_adapter
from ..captioners.registry import resolve_class as resolve_adapter_class

ENTRY_POINT_GROUP = "dfec.bench.adapters"

BUILTIN: dict[str, type] = {
    "landmark": LandmarkAdapter,
    "facetrack": FaceTrackAdapter,
    "openai": OpenAIAdapter,
    "qwen2-vl": Qwen2VLAdapter,
    "llava-onevision": LlavaOneVisionAdapter,
}

__all__ = ["AdapterOptions", "BUILTIN", "Captioner", "DEFAULT_INSTRUCTION", "DEFAULT_N_FRAMES", "ENTRY_POINT_GROUP",
           "FaceTrackAdapter", "LandmarkAdapter", "LlavaOneVisionAdapter", "OpenAIAdapter", "Qwen2VLAdapter",
           "check_adapter", "jpeg_base64", "load_adapter", "resolve_adapter_class", "sample_frames"]
