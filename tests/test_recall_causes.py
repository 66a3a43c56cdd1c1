"""benchmarks/recall_causes.py: each missed reference event put in the bucket where it was lost,
on a synthetic 68-point head turn whose truth is known."""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _module():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("recall_causes", BENCH / "recall_causes.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # its dataclasses look their module up
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def turn():
    """8 s; the head turns 25 degrees to the (subject's) left at 2.4-3.0 s (phase 1) and stays."""
    from dfec.dynamics.events import DynamicsConfig
    from dfec.dynamics.signals import track_signals
    from dfec.dynamics.synthetic import sequence

    cfg = DynamicsConfig()
    tr = sequence(8.0, yaw=lambda t: 25 * np.clip((t - 2.4) / 0.6, 0, 1))
    return track_signals(tr, cfg.signals), cfg


def _inputs(mod, turn, **changes):
    from dfec.dynamics.events import detect_events

    sig, cfg = turn
    cfg = replace(cfg, **changes)
    return mod.ClipInputs(sig, 8.0, None, detect_events(sig, cfg), cfg)


REF = ("At the beginning of the video, his eyes are open. As the video progresses, his head turns to the left, "
       "and he raises his hand to his face.")


def test_said_turn_matches_and_a_hand_is_nothing_measurable(turn):
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    caption, misses, n_ref, _ = mod.attribute(OfflineJudge(), _inputs(mod, turn), REF)
    assert "their head turns to the left" in caption
    assert [(m.event, m.cause, m.detail) for m in misses] == [("he raises his hand to his face", "c", "hand")]
    assert misses[0].phase == 1


def test_turn_dropped_by_the_strength_floor_is_a(turn):
    """Detected at 25 deg (over 2x its threshold), kept out by a floor of 50x: (a) strength floor."""
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    caption, misses, _, _ = mod.attribute(OfflineJudge(), _inputs(mod, turn, min_strength=50.0), REF)
    assert "turns" not in caption
    got = {m.event: (m.cause, m.detail) for m in misses}
    assert got["his head turns to the left"] == ("a", "strength floor")


def test_turn_under_its_threshold_is_b_with_the_ratio(turn):
    """The threshold raised to 40 deg: the 25-degree turn is not detected; the ratio to the
    threshold in force is 25 / 40."""
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    caption, misses, _, _ = mod.attribute(OfflineJudge(), _inputs(mod, turn, yaw_deg=40.0), REF)
    assert "turns" not in caption
    m = next(m for m in misses if m.event == "his head turns to the left")
    assert m.cause == "b"
    assert m.ratio == pytest.approx(25 / 40, abs=0.05)


def test_opposite_direction_is_not_a_rewording(turn):
    """The reference says a turn to the right, the caption a turn to the left: no rewording (d)
    (one cell "head turn", two stated directions that differ); nothing measured turns right."""
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    ref = REF.replace("turns to the left", "turns to the right")
    caption, misses, _, _ = mod.attribute(OfflineJudge(), _inputs(mod, turn), ref)
    assert "their head turns to the left" in caption
    m = next(m for m in misses if m.event == "his head turns to the right")
    assert (m.cause, m.detail) == ("c", "no signal")


def test_reference_phases():
    mod = _module()
    ref = ("A man in a suit. At the beginning of the video, he blinks. As the video progresses, his mouth opens. "
           "Then he smiles.\nIn the middle of the video, he nods.\nTowards the end of the video, he frowns.")
    from dfec.metrics.judge import OfflineJudge

    ev = OfflineJudge().reference_events(ref)
    assert mod.reference_phases(ref, ev) == [0, 1, 1, 2, 3]


def test_mouth_change_under_a_speaking_run_is_the_runs():
    """A lip press the reference names: in a phase a detected talk covers, the speech detector owns
    the mouth ("inside a speaking run"); in the last phase, after the talk has ended, nothing
    moved ("no signal")."""
    from dfec.dynamics.events import DynamicsConfig, detect_events
    from dfec.dynamics.signals import track_signals
    from dfec.dynamics.synthetic import sequence
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    cfg = DynamicsConfig()
    # talking from the first frame to 4.6 s (phases 0-2 of 8 s), the mouth still after it
    talk = sequence(8.0, mouth=lambda t: np.where(t < 4.6, 5 + 5 * np.sin(2 * np.pi * 4 * t), 0))
    sig = track_signals(talk, cfg.signals)
    inp = mod.ClipInputs(sig, 8.0, None, detect_events(sig, cfg), cfg)
    caption, _, _, _ = mod.attribute(OfflineJudge(), inp, "At the beginning of the video, he speaks.")
    assert "speaking" in caption and "closes" not in caption and "press" not in caption
    for phrase, cause in (("As the video progresses", "inside a speaking run"),
                          ("Towards the end of the video", "no signal")):
        ref = f"At the beginning of the video, he speaks. {phrase}, his lips press together."
        _, misses, _, _ = mod.attribute(OfflineJudge(), inp, ref)
        assert [(m.event, m.cause, m.detail) for m in misses] == [("his lips press together", "c", cause)], caption


def test_a_state_is_no_rewording_of_a_change(turn):
    """The caption states the held turn ("their head is turned to the left" after a turn at the
    start); the reference's return towards the front is a change of the same cell that nothing
    measured: not (d)."""
    from dfec.dynamics.events import DynamicsConfig, detect_events
    from dfec.dynamics.signals import track_signals
    from dfec.dynamics.synthetic import sequence
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    cfg = DynamicsConfig()
    held = sequence(8.0, yaw=lambda t: 25 + 0 * t)
    sig = track_signals(held, cfg.signals)
    inp = mod.ClipInputs(sig, 8.0, None, detect_events(sig, cfg), cfg)
    ref = "At the beginning of the video, his head is turned to the left. As the video progresses, he turns a little towards the front."
    caption, misses, _, _ = mod.attribute(OfflineJudge(), inp, ref)
    assert "their head is turned to the left" in caption
    assert [(m.event, m.cause) for m in misses] == [("he turns a little towards the front", "c")]
