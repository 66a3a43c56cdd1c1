"""The one captioner interface and registry (above ``dynamics/`` and ``model/``).

    from dfec.captioners import CaptionerOptions, load
    cap = load("landmark")                       # or facetrack, openai, qwen2-vl, llava-onevision,
    print(cap.caption("clip.mp4").text)          # or "package.module:Class"

:mod:`.base` (the :class:`Captioner` protocol, :class:`CaptionerOptions`), :mod:`.registry` (names
-> classes, batch work items), one module per built-in (:mod:`.landmark`, :mod:`.facetrack`,
:mod:`.openai_chat`, :mod:`.hf`), :mod:`.frames` (uniform frame sampling), :mod:`.cli` (the options
``dfec caption`` and ``dfec bench run`` share) and :mod:`.command` (``dfec caption``).
Light to import: the built-ins load on first use.
"""
from __future__ import annotations

from ..schema import Caption
from .base import DEFAULT_INSTRUCTION, DEFAULT_N_FRAMES, Captioner, CaptionerOptions, call_captioner
from .registry import BUILTIN, check, load, requires, resolve_class

__all__ = ["BUILTIN", "Caption", "Captioner", "CaptionerOptions", "DEFAULT_INSTRUCTION", "DEFAULT_N_FRAMES",
           "call_captioner", "check", "load", "requires", "resolve_class"]
