"""Facial dynamics without a GPU: landmark signals, a facial-event timeline and a training-free
captioner (the offline default of ``dfec caption``).

    from dfec.dynamics import caption_video
    result = caption_video("clip.mp4", out_dir="out/")   # events.json, caption.txt, timeline.png
    print(result.caption)

Stages: :mod:`.signals` (per-frame eye openness, mouth, lip corners, brows, head pose by solvePnP),
:mod:`.events` (onsets, offsets, intensities; thresholds in :class:`DynamicsConfig`),
:mod:`.captioner` (FEC-Bench-style text), :mod:`.plot` (timeline PNG), :mod:`.synthetic`
(landmark sequences with known events).
"""
from __future__ import annotations

from .captioner import CaptionResult, LandmarkCaptioner, caption_video
from .events import DynamicsConfig, detect_events
from .signals import FaceSignals, SignalConfig, compute_signals, track_signals

__all__ = [
    "CaptionResult", "DynamicsConfig", "FaceSignals", "LandmarkCaptioner", "SignalConfig", "caption_video",
    "compute_signals", "detect_events", "track_signals",
]
