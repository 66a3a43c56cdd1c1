"""Fixes from the by-eye audit of clips in no split (eyecheck 3): the start's mouth state is read on
the first frames even where the eyes blink there, and a widening of the mouth is a smile only with
its corners lifted by half a smile's lift. Synthetic sequences with known truth."""
from __future__ import annotations

import numpy as np

from dfec.dynamics import synthetic as syn
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.signals import track_signals
from dfec.dynamics.states import initial_state

CFG = DynamicsConfig(left_right="viewer")


def test_the_start_mouth_is_read_on_the_first_frames_though_the_eyes_blink_there():
    # lips parted for the first 0.6 s, then closed; a blink covers the first 0.5 s
    parted = lambda t: 4.0 * (t < 0.6)
    sig = track_signals(syn.sequence(3.0, noise_px=0.1, mouth=parted), CFG.signals)
    kinds = [e.kind for e in initial_state(sig, CFG, blinks=[(0.0, 0.5)])]
    # before: the mouth was read on the first frames after the blink (0.6 s on: closed)
    assert "mouth_is_closed" not in kinds
    assert any(k in ("mouth_is_slightly_open", "mouth_is_open") for k in kinds)
    # without the lips parted the start is closed, blink or not
    still = track_signals(syn.sequence(3.0, noise_px=0.1), CFG.signals)
    assert "mouth_is_closed" in [e.kind for e in initial_state(still, CFG, blinks=[(0.0, 0.5)])]


def _smiles(corners_down: float) -> list[str]:
    # the corners move out by 3.6 mm (a widening) and up by 6 - corners_down mm
    tr = syn.sequence(4.0, noise_px=0.1, smile=lambda t: 6 * syn.bump(t, 1.2, 2.8, 0.3),
                      corners_down=lambda t: corners_down * syn.bump(t, 1.2, 2.8, 0.3))
    return [e.kind for e in detect_events(track_signals(tr, CFG.signals), CFG) if e.kind == "smile"]


def test_a_widening_with_the_corners_barely_lifted_is_no_smile():
    # pressed, stretched lips: wider, corners hardly up (dev 338 by eye: "smiles broadly" over
    # lips pressed together)
    assert _smiles(5.6) == []
    # corners lifted by a smile's lift: a smile, as before
    assert _smiles(0.0) == ["smile"]
