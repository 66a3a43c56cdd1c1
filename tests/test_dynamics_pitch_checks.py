"""Head lift / lower guards (mesh 3-D pitch, turns, shot cuts) and the mouth-event fixes of the
by-eye checks (a relaxing grin is no lip rounding, a widening smile no stretch, teeth seen from
the first frame are a start state), on synthetic faces whose truth is known."""
from __future__ import annotations

import numpy as np
import pytest

from dfec.dynamics import synthetic as syn
from dfec.dynamics.captioner import describe
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.headpose import shot_cuts
from dfec.dynamics.signals import mesh_pitch, track_signals
from dfec.dynamics.synthetic import bump
from dfec.dynamics.synthetic_mesh import mesh_sequence
from dfec.schema import Event

CFG = DynamicsConfig(left_right="viewer")
LIFT = (lambda t: 15 * np.clip((t - 1.0) / 0.5, 0, 1))


def kinds(sig, cfg=CFG):
    return [e.kind for e in detect_events(sig, cfg)]


def test_mesh_pitch_follows_a_lift_and_ignores_a_turn():
    lift = track_signals(mesh_sequence(3.0, pitch=LIFT))
    assert np.nanmax(lift["pitch3d"]) - np.nanmin(lift["pitch3d"]) == pytest.approx(15, abs=3)
    turn = track_signals(mesh_sequence(3.0, yaw=lambda t: 30 * np.clip((t - 1.0) / 0.5, 0, 1)))
    assert np.nanmax(turn["pitch3d"]) - np.nanmin(turn["pitch3d"]) < 2.0
    assert mesh_pitch(np.zeros((0, 468, 3))).shape == (0,)


def test_lift_needs_the_mesh_to_agree():
    sig = track_signals(mesh_sequence(3.0, pitch=LIFT))
    assert "head_lift" in kinds(sig)                 # both pitches rise: a lift
    # the 2-D fit says the head lifts, the mesh's 3-D pose does not move: no lift
    sig.values["pitch3d"] = np.full(len(sig), float(np.nanmedian(sig["pitch3d"])))
    assert "head_lift" not in kinds(sig)
    assert "head_lift" in kinds(sig, DynamicsConfig(left_right="viewer", pitch_mesh_agree=0.0))


def test_pitch_change_during_a_larger_turn_is_not_a_lift():
    # 68-point tracks (no mesh): a 12-degree pitch rise while the head turns by 30 degrees
    both = syn.sequence(3.0, yaw=lambda t: 30 * np.clip((t - 1.0) / 0.6, 0, 1),
                        pitch=lambda t: 12 * np.clip((t - 1.0) / 0.6, 0, 1))
    k = kinds(track_signals(both))
    assert "head_lift" not in k and "head_turn_right" in k
    off = DynamicsConfig(left_right="viewer", pitch_max_yaw_ratio=0.0)
    assert "head_lift" in kinds(track_signals(both), off)
    # the same yaw change as a slow drift (5 deg/s over 6 s) beside a slow lift: a lift
    slow = syn.sequence(8.0, yaw=lambda t: 30 * np.clip((t - 1.0) / 6.0, 0, 1),
                        pitch=lambda t: 12 * np.clip((t - 1.0) / 6.0, 0, 1))
    assert "head_lift" in kinds(track_signals(slow))
    # a lift with a small turn beside it is still a lift
    small = syn.sequence(3.0, yaw=lambda t: 4 * np.clip((t - 1.0) / 0.6, 0, 1), pitch=LIFT)
    assert "head_lift" in kinds(track_signals(small))


def test_no_lift_across_a_shot_cut():
    sig = track_signals(syn.sequence(3.0, pitch=LIFT))
    assert "head_lift" in kinds(sig) and len(shot_cuts(sig, CFG)) == 0
    # the face's scale jumps 1.6x at 1.25 s (another shot of the same person)
    cut = int(round(1.25 * sig.fps))
    sig.iod_px = np.asarray(sig.iod_px, float).copy()
    sig.iod_px[cut:] *= 1.6
    assert shot_cuts(sig, CFG) == pytest.approx([1.25 - 0.5 / sig.fps])
    assert "head_lift" not in kinds(sig)
    # a slow zoom (the same change over the whole clip) is no cut
    sig.iod_px = np.linspace(60.0, 100.0, len(sig))
    assert len(shot_cuts(sig, CFG)) == 0 and "head_lift" in kinds(sig)


def test_relaxing_grin_is_not_lips_round():
    # a smile held, then released: the mouth narrows below its neutral width as the corners drop
    tr = syn.sequence(4.0, noise_px=0.2, smile=lambda t: 8 * bump(t, -1.0, 2.8, 0.4))
    sig = track_signals(tr)
    k = kinds(sig)
    assert "lips_round" not in k and "lips_pucker" not in k
    # a rounding with the corners level is still one: the narrowing alone
    sig.values["corner_lift"] = np.full(len(sig), float(np.nanmedian(sig["corner_lift"])))
    sig.values["mouth_width"] = sig["mouth_width"] * np.where(sig.times > 2.8, 0.8, 1.0)
    assert {"lips_round", "lips_pucker"} & set(kinds(sig))


def _with_events(monkeypatch, extra):
    """detect_events with ``extra`` events added by the mesh detector."""
    import dfec.dynamics.events as ev

    real = ev.mesh_events
    monkeypatch.setattr(ev, "mesh_events", lambda *a, **k: real(*a, **k) + extra)


def test_stretch_inside_a_smile_is_the_smile(monkeypatch):
    sig = track_signals(syn.sequence(4.0, noise_px=0.2, smile=lambda t: 6 * bump(t, 1.5, 3.5, 0.3)))
    smile = next(e for e in detect_events(sig, CFG) if e.kind == "smile")
    _with_events(monkeypatch, [Event("lips_stretch", smile.start, smile.end + 0.1, 0.15, "mouth"),
                               Event("lips_stretch", 0.1, 0.6, 0.15, "mouth")])
    stretches = [e for e in detect_events(sig, CFG) if e.kind == "lips_stretch"]
    assert [e.start for e in stretches] == [0.1]      # only the one away from the smile stays


def test_lids_tightening_inside_an_eye_narrowing_is_that_narrowing(monkeypatch):
    # both are said "their eyes narrow": one narrowing must not be said twice in a phase
    sig = track_signals(syn.sequence(4.0, noise_px=0.2, eyes=lambda t: 1 - 0.25 * np.clip((t - 1.5) / 0.4, 0, 1)))
    narrow = next(e for e in detect_events(sig, CFG) if e.kind == "eyes_narrow")
    _with_events(monkeypatch, [Event("lids_tighten", narrow.start, narrow.end + 0.1, 0.2, "eyes"),
                               Event("lids_tighten", 3.5, 3.9, 0.2, "eyes")])
    tight = [e for e in detect_events(sig, CFG) if e.kind == "lids_tighten"]
    assert [e.start for e in tight] == [3.5]          # only the one away from the narrowing stays


def test_teeth_seen_from_the_start_are_a_start_state():
    # teeth area 0.4 on the first frames (just under teeth_show 0.5), 1.5 from 0.5 s on
    tr = mesh_sequence(3.0, noise_px=0.2)
    sig = track_signals(tr)
    t = sig.times
    sig.values["teeth"] = np.where(t < 0.5, 0.4, 1.5)
    evs = detect_events(sig, CFG)
    k = [e.kind for e in evs]
    assert "teeth_are_visible" in k and "teeth_show" not in k
    assert next(e for e in evs if e.kind == "teeth_are_visible").start == t[0]
    # closed lips on the first frames (no teeth): the teeth appear later, a change
    sig.values["teeth"] = np.where(t < 0.5, 0.02, 1.5)
    k = kinds(sig)
    assert "teeth_show" in k and "teeth_are_visible" not in k


def test_teeth_start_state_is_said_showing():
    tr = mesh_sequence(3.0, noise_px=0.2, mouth=lambda t: 8 + 0 * t)
    sig = track_signals(tr)
    sig.values["teeth"] = np.where(sig.times < 0.5, 0.4, 1.5)
    text = describe(sig, 3.0, CFG)[0]
    assert "showing their teeth" in text and "shows their teeth" not in text
